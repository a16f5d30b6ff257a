package org.mtm.admin.internal.jmx;

/**
 * When to restart Karaf's JMX connector (pure: fed the probes' results and the time, no I/O).
 *
 * <p>Karaf's management bundle starts twice on every boot (its activator starts, then Configuration Admin delivers the
 * configuration and it stops and starts again) and the second start binds the RMI registry's port while the first
 * registry's socket may still be closing: "Port already in use", logged once, and the node has no JMX until the
 * bundle starts again (seen in 1 of 53 node starts of a CI run). The same happens when another process holds the port
 * for a while. The watch asks for a restart once the registry has not answered for {@code confirmMillis} (a single
 * missed probe during a restart that is under way is normal), and not again before {@code spacingMillis} have passed
 * (a port someone else keeps taken costs one attempt per spacing, each logged).
 */
public final class RegistryWatch {
    private final long confirmMillis;
    private final long spacingMillis;
    private long failingSince = -1;
    private long lastRestart = Long.MIN_VALUE;

    public RegistryWatch(long confirmMillis, long spacingMillis) {
        if (confirmMillis < 0 || spacingMillis < 0) {
            throw new IllegalArgumentException("negative bound: confirm " + confirmMillis + " ms, spacing " + spacingMillis + " ms");
        }
        this.confirmMillis = confirmMillis;
        this.spacingMillis = spacingMillis;
    }

    /** One probe's result at {@code nowMillis} (monotonic); true when the connector should be restarted now. */
    public boolean restartAfter(boolean answered, long nowMillis) {
        if (answered) {
            failingSince = -1;
            return false;
        }
        if (failingSince < 0) {
            failingSince = nowMillis;
        }
        if (nowMillis - failingSince < confirmMillis) {
            return false;
        }
        if (lastRestart != Long.MIN_VALUE && nowMillis - lastRestart < spacingMillis) {
            return false;
        }
        lastRestart = nowMillis;
        failingSince = -1; // the restart gets its own confirmation period
        return true;
    }
}
