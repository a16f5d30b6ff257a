package org.mtm.api;

import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test-only crash points on the commit path (issue 7), in the manner of PostgreSQL's injection points: a
 * test stops this node's Karaf and/or its PostgreSQL at one named step of a commit, as a kill -9 would.
 *
 * <p>Two system properties, both needed, neither set in a distribution:
 * <ul>
 * <li>{@value #ENABLE_PROPERTY}{@code =true} at JVM start ({@code etc/system.properties}): read once; without it
 *     {@link #reach} is an empty call the JIT removes. Logged at ERROR when the postgres bundle starts.</li>
 * <li>{@value #ARMED_PROPERTY}{@code =<POINT>[:karaf|:postgres|:both|:link]} (default {@code karaf}): the armed point,
 *     set live with the console's {@code system:property} (not persisted, so a restarted JVM is disarmed). It
 *     fires once: the property is cleared when the point is reached.</li>
 * </ul>
 * {@code karaf} halts the JVM at once ({@link Runtime#halt}, no shutdown hooks: a kill -9); {@code postgres}
 * kills the managed server's postmaster and its children (the postgres bundle's supervisor starts it again);
 * {@code both} does the second, then the first; {@code link} cuts this node's transport for a while
 * ({@link Target#LINK}).
 */
public final class CrashPoints {
    public static final String ENABLE_PROPERTY = "mtm.test.enable_crash_points";
    public static final String ARMED_PROPERTY = "mtm.test.crash_point";

    /** The steps of DESIGN §2 where a test may crash a node; the comment says which node reaches it. */
    public enum Point {
        /** Gateway (coordinator node): PREPARE TRANSACTION done locally, the coordinator not told yet. */
        AFTER_LOCAL_PREPARE,
        /** Coordinator: the first peer's PREPARED vote arrived (not counted yet), not every member prepared. */
        AFTER_SOME_PREPARED,
        /** Coordinator: every member prepared, before the precommit is asked for. */
        AFTER_ALL_PREPARED,
        /**
         * Coordinator: the first peer's acceptance of the precommit arrived, before it is counted (with 3 nodes its
         * own and this one are the commit point, so this is the last moment before it: the precommit may already
         * be chosen, and the resolver must then commit).
         */
        AFTER_SOME_PRECOMMITS,
        /** Coordinator: commit decided, before the gateway is told (so before the local COMMIT PREPARED). */
        AFTER_ALL_PRECOMMITS,
        /** Gateway: COMMIT PREPARED done locally, before the client's answer. */
        AFTER_LOCAL_COMMIT,
        /** Peer's applier: prepared a peer's transaction, before voting. */
        PEER_AFTER_PREPARE,
        /** Peer's applier: the K of a prepared transaction arrived, before COMMIT PREPARED. */
        PEER_BEFORE_COMMIT_PREPARED,
        /** Peer's applier: COMMIT PREPARED of a K done. */
        PEER_AFTER_COMMIT_PREPARED
    }

    /**
     * What a fired point crashes. {@code LINK} crashes nothing: this node's transport goes silent both ways (nothing
     * sent, nothing received, heartbeats included) for {@value #LINK_CUT_PROPERTY} ms (default
     * {@value #DEFAULT_LINK_CUT_MS}), like a cut network link at that step, then heals by itself.
     */
    public enum Target { KARAF, POSTGRES, BOTH, LINK }

    public static final String LINK_CUT_PROPERTY = "mtm.test.link_cut_millis";
    static final long DEFAULT_LINK_CUT_MS = 15_000;
    /** System.nanoTime() until which the links are cut (LINK target). */
    private static volatile long linksCutUntil;
    private static volatile boolean linksCut;

    private static final Logger LOG = LoggerFactory.getLogger(CrashPoints.class);
    /** Read once: in production false, and every {@link #reach} costs nothing. */
    private static final boolean ENABLED = Boolean.getBoolean(ENABLE_PROPERTY);
    private static volatile Runnable postgresKiller;

    static {
        if (ENABLED) {
            LOG.error("TEST ONLY: crash points are enabled ({}=true); setting {} crashes this node. Never in production.",
                ENABLE_PROPERTY, ARMED_PROPERTY);
        }
    }

    private CrashPoints() {
    }

    /** The commit of {@code gid} is at {@code point}: crashes the node if a test armed that point. */
    public static void reach(Point point, Object gid) {
        if (ENABLED) {
            fireIfArmed(point, gid);
        }
    }

    /** True while a fired {@code LINK} point keeps this node's transport silent; always false in production. */
    public static boolean linksCut() {
        if (!ENABLED || !linksCut) {
            return false;
        }
        if (System.nanoTime() - linksCutUntil < 0) {
            return true;
        }
        linksCut = false;
        LOG.error("TEST link cut over: the transport of this node talks again");
        return false;
    }

    /** The postgres bundle's way to kill -9 the managed server (nothing registered: an external server is not killed). */
    public static void killPostgresWith(Runnable killer) {
        postgresKiller = killer;
    }

    private static synchronized void fireIfArmed(Point point, Object gid) {
        String armed = System.getProperty(ARMED_PROPERTY);
        if (armed == null || armed.isBlank()) {
            return;
        }
        String[] parts = armed.trim().toUpperCase(Locale.ROOT).split(":", 2);
        Target target;
        try {
            if (Point.valueOf(parts[0]) != point) {
                return;
            }
            target = parts.length == 1 ? Target.KARAF : Target.valueOf(parts[1]);
        } catch (IllegalArgumentException e) {
            LOG.error("{}={} names no crash point and target; cleared", ARMED_PROPERTY, armed);
            System.clearProperty(ARMED_PROPERTY);
            return;
        }
        System.clearProperty(ARMED_PROPERTY); // once per arming
        String what = "TEST crash point " + point + " reached for " + gid + ": crashing " + target;
        LOG.error(what);
        System.err.println(what); // karaf.out: the log may not be flushed before halt
        if (target == Target.LINK) {
            long millis = Long.getLong(LINK_CUT_PROPERTY, DEFAULT_LINK_CUT_MS);
            linksCutUntil = System.nanoTime() + millis * 1_000_000L;
            linksCut = true;
            return;
        }
        if (target != Target.KARAF) {
            Runnable killer = postgresKiller;
            if (killer == null) {
                LOG.error("no managed PostgreSQL to kill for {}", point);
            } else {
                try {
                    killer.run();
                } catch (RuntimeException e) {
                    LOG.error("crash point {}: killing PostgreSQL failed", point, e);
                }
            }
        }
        if (target != Target.POSTGRES) {
            Runtime.getRuntime().halt(137);
        }
    }
}
