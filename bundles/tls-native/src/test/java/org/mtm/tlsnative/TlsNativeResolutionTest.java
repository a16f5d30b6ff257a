package org.mtm.tlsnative;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.felix.framework.Felix;
import org.junit.After;
import org.junit.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * The fragment in a Felix framework (Karaf's) told it runs on another platform (org.osgi.framework.os.name,
 * org.osgi.framework.processor): it resolves everywhere, and the host's class loader finds netty-tcnative's library
 * (by the name netty's NativeLibraryLoader asks for) exactly on Linux x86-64 and aarch64. Upstream's fragment, the
 * control, does not resolve off Linux x86-64 — the node would not start there.
 */
public class TlsNativeResolutionTest {

    private Felix felix;
    private Path storage;

    private BundleContext start(String osName, String processor) throws Exception {
        storage = Files.createTempDirectory("tls-native-felix");
        Map<String, Object> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        config.put(Constants.FRAMEWORK_OS_NAME, osName);
        config.put(Constants.FRAMEWORK_PROCESSOR, processor);
        felix = new Felix(config);
        felix.start();
        return felix.getBundleContext();
    }

    @After
    public void stop() throws Exception {
        if (felix != null) {
            felix.stop();
            felix.waitForStop(10_000);
        }
        if (storage != null) {
            try (var files = Files.walk(storage)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String jarOnClassPath(String part, String suffix) {
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (entry.contains(part) && entry.endsWith(suffix)) {
                return Path.of(entry).toUri().toString();
            }
        }
        throw new AssertionError(part + " is not on the test class path");
    }

    private Bundle host(BundleContext ctx) throws Exception {
        return ctx.installBundle(jarOnClassPath("netty-tcnative-classes", ".jar"));
    }

    private Bundle ours(BundleContext ctx) throws Exception {
        // the exploded bundle bnd wrote (what the jar plugin packs)
        return ctx.installBundle("reference:" + TlsNativeManifestTest.CLASSES.toAbsolutePath().toUri());
    }

    private Bundle upstream(BundleContext ctx) throws Exception {
        return ctx.installBundle(jarOnClassPath("netty-tcnative-boringssl-static", "-linux-x86_64.jar"));
    }

    private boolean resolve(Bundle... bundles) {
        return felix.adapt(FrameworkWiring.class).resolveBundles(List.of(bundles));
    }

    /** What the host's class loader answers netty's System.loadLibrary(name): the library's path, or null. */
    private static String findLibrary(Bundle host, String name) throws Exception {
        ClassLoader loader = host.adapt(BundleWiring.class).getClassLoader();
        for (Class<?> c = loader.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Method m = c.getDeclaredMethod("findLibrary", String.class);
                m.setAccessible(true);
                return (String) m.invoke(loader, name);
            } catch (NoSuchMethodException e) {
                // look further up
            }
        }
        throw new AssertionError("no findLibrary on " + loader.getClass());
    }

    private void assertAttached(Bundle host, Bundle fragment) {
        assertEquals(Bundle.RESOLVED, fragment.getState());
        assertEquals(1, host.adapt(BundleWiring.class).getProvidedWires("osgi.wiring.host").size());
    }

    @Test
    public void linuxX8664LoadsItsLibrary() throws Exception {
        assertLinuxLoads("x86_64", "netty_tcnative_linux_x86_64", "netty_tcnative_linux_aarch_64");
    }

    @Test
    public void linuxAarch64LoadsItsLibrary() throws Exception {
        assertLinuxLoads("aarch64", "netty_tcnative_linux_aarch_64", "netty_tcnative_linux_x86_64");
    }

    /** On Linux with {@code processor}: the fragment attaches and the host finds {@code own}, never {@code other}. */
    private void assertLinuxLoads(String processor, String own, String other) throws Exception {
        BundleContext ctx = start("linux", processor);
        Bundle host = host(ctx);
        Bundle fragment = ours(ctx);
        assertTrue(resolve(host, fragment));
        assertAttached(host, fragment);
        String lib = findLibrary(host, own);
        assertNotNull(lib);
        assertTrue(lib, lib.endsWith("lib" + own + ".so"));
        assertNull(findLibrary(host, other));
    }

    @Test
    public void macOsResolvesWithoutALibrary() throws Exception {
        BundleContext ctx = start("MacOSX", "aarch64");
        Bundle host = host(ctx);
        Bundle fragment = ours(ctx);
        assertTrue(resolve(host, fragment));
        assertAttached(host, fragment);
        assertNull(findLibrary(host, "netty_tcnative_osx_aarch_64"));
        assertNull(findLibrary(host, "netty_tcnative_linux_aarch_64"));
    }

    /** The control's control: upstream's fragment does resolve where its library runs. */
    @Test
    public void upstreamFragmentResolvesOnLinuxX8664() throws Exception {
        BundleContext ctx = start("linux", "x86_64");
        Bundle host = host(ctx);
        Bundle fragment = upstream(ctx);
        assertTrue(resolve(host, fragment));
        assertAttached(host, fragment);
    }

    @Test
    public void upstreamFragmentDoesNotResolveOffLinuxX8664() throws Exception {
        BundleContext ctx = start("linux", "aarch64");
        Bundle host = host(ctx);
        Bundle fragment = upstream(ctx);
        assertFalse(resolve(host, fragment));
        assertEquals(Bundle.INSTALLED, fragment.getState());
    }
}
