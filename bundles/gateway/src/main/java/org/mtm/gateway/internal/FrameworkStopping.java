package org.mtm.gateway.internal;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.Constants;
import org.osgi.framework.SynchronousBundleListener;

/**
 * Tells when the OSGi framework begins to shut down (the system bundle is STOPPING), before it stops any other
 * bundle: synchronous, on the thread that stops the framework.
 */
final class FrameworkStopping implements SynchronousBundleListener, AutoCloseable {
    private final BundleContext context;
    private final Runnable onStopping;

    private FrameworkStopping(BundleContext context, Runnable onStopping) {
        this.context = context;
        this.onStopping = onStopping;
    }

    /** Listens through {@code context}; without one (outside a framework) nothing is ever told. */
    static AutoCloseable listen(BundleContext context, Runnable onStopping) {
        if (context == null) {
            return () -> { };
        }
        FrameworkStopping l = new FrameworkStopping(context, onStopping);
        context.addBundleListener(l);
        return l;
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        if (event.getType() == BundleEvent.STOPPING && event.getBundle().getBundleId() == Constants.SYSTEM_BUNDLE_ID) {
            onStopping.run();
        }
    }

    @Override
    public void close() {
        try {
            context.removeBundleListener(this);
        } catch (IllegalStateException bundleStopped) {
            // the framework removed it already
        }
    }
}
