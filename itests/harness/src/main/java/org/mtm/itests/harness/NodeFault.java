package org.mtm.itests.harness;

import java.sql.SQLException;
import java.time.Duration;

/**
 * The faults of shared/reference/fault-testing.md, each hitting one node and then healing it: after {@link #hit} the
 * node runs again (its cluster status is the caller's to wait for). A heal that does not happen within its bound
 * fails with an AssertionError that says what did not come back.
 */
public enum NodeFault {
    /** kill -9 of the node's Karaf; its PostgreSQL keeps running (prepared transactions included); Karaf restarted. */
    KILL_KARAF("kill-karaf") {
        @Override
        public void hit(Target t) {
            t.node().killKaraf();
            t.node().start().awaitReady(LocalCluster.BOOT);
        }
    },
    /** kill -9 of the node's PostgreSQL; its Karaf keeps running and its database supervisor must start it again. */
    KILL_POSTGRES("kill-postgres") {
        @Override
        public void hit(Target t) {
            long killed = t.node().killPostgres();
            Poll.until(t.node().name() + ": its supervisor starts PostgreSQL again after pid " + killed + " was killed",
                SUPERVISOR, Duration.ofMillis(250), () -> Postmaster.of(t.node().datadir()).map(p -> p.pid() != killed).orElse(false)
                    && answers(t.node()));
        }
    },
    /** kill -9 of both, as a crash of the machine; the node restarted (its Karaf starts its PostgreSQL). */
    KILL_BOTH("kill-both") {
        @Override
        public void hit(Target t) {
            t.node().killKaraf();
            t.node().killPostgres();
            t.node().start().awaitReady(LocalCluster.BOOT);
        }
    },
    /** Graceful stop (SIGTERM; the node stops its PostgreSQL) and start. */
    STOP_START("stop-start") {
        @Override
        public void hit(Target t) {
            t.node().stop(Duration.ofSeconds(60));
            t.node().start().awaitReady(LocalCluster.BOOT);
        }
    },
    /** SIGSTOP of the node's Karaf for the hold (a hung VM, a long GC pause), then SIGCONT. */
    FREEZE("sigstop") {
        @Override
        public void hit(Target t) {
            t.node().freeze();
            try {
                Signals.pause(t.hold()); // the fault itself: the node is frozen for this long
            } finally {
                t.node().thaw();
            }
        }
    },
    /** Both directions of the transport link between the node and {@code peer} cut for the hold, then healed. */
    CUT_LINK("cut-link") {
        @Override
        public void hit(Target t) {
            t.links().cut(t.id(), t.peer());
            try {
                Signals.pause(t.hold()); // the fault itself: the link is down for this long
            } finally {
                t.links().healAll();
            }
        }
    };

    /** A managed server that died is started again by the node's supervisor within this. */
    public static final Duration SUPERVISOR = Duration.ofSeconds(60);

    private final String label;

    NodeFault(String label) {
        this.label = label;
    }

    /**
     * What a fault hits: node {@code id} of the cluster, the {@code peer} at the other end of a link fault, and how
     * long a freeze or a cut lasts.
     */
    public record Target(LocalCluster cluster, TransportLinks links, int id, int peer, Duration hold) {
        KarafNode node() {
            return cluster.node(id);
        }
    }

    /** Injects the fault and heals the node (restart, SIGCONT, link healed). */
    public abstract void hit(Target target);

    /** Short name, e.g. "kill-karaf". */
    public String label() {
        return label;
    }

    /** "kill-karaf of node2", "cut-link node1-node3". */
    public String describe(Target target) {
        return this == CUT_LINK ? label + " node" + target.id() + "-node" + target.peer() : label + " of node" + target.id();
    }

    private static boolean answers(KarafNode node) {
        try {
            Sql.scalar(node.postgresPort(), "SELECT 1");
            return true;
        } catch (SQLException e) {
            return false;
        }
    }
}
