package org.mtm.itests.faults;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Sql;

/**
 * Waiting for every node online in one generation after a fault, judged by progress rather than one deadline.
 * On this 2-core machine a node away for a minute catches up while the writers on the other gateways go on, and
 * the catch-up's rate there is not far above the write rate (README, limitations): how long it takes depends on
 * the machine's load. What must hold is that it closes in. So after {@link #FIRST} the wait goes on as long as,
 * in every {@link #WINDOW}, the lag of each node not yet back — the WAL between a peer's end and the position
 * of that node's slot on the peer, the least over the peers — shrank; never beyond {@link #CAP}.
 */
final class BackOnline {
    static final Duration FIRST = Duration.ofSeconds(120);
    static final Duration WINDOW = Duration.ofSeconds(30);
    static final Duration CAP = Duration.ofSeconds(600);

    private BackOnline() {
    }

    /** Returns how long catch-up went on past {@link #FIRST} (0 when within it); throws when it stalled or hit the cap. */
    static long await(LocalCluster cluster) {
        long start = System.nanoTime();
        AssertionError last;
        try {
            cluster.awaitAllOnline(FIRST);
            return 0;
        } catch (AssertionError e) {
            last = e;
        }
        Map<Integer, Long> before = lags(cluster);
        while (true) {
            Duration left = CAP.minus(Duration.ofNanos(System.nanoTime() - start));
            if (left.isNegative() || left.isZero()) {
                throw new AssertionError("not online within " + CAP.toSeconds() + " s; lag behind the peers "
                    + before + " bytes; " + last.getMessage(), last);
            }
            try {
                cluster.awaitAllOnline(left.compareTo(WINDOW) < 0 ? left : WINDOW);
                return Duration.ofNanos(System.nanoTime() - start).minus(FIRST).toMillis();
            } catch (AssertionError e) {
                last = e;
            }
            Map<Integer, Long> now = lags(cluster);
            for (Map.Entry<Integer, Long> lag : now.entrySet()) {
                Long earlier = before.get(lag.getKey());
                if (earlier == null || lag.getValue() >= earlier) {
                    throw new AssertionError("catch-up made no progress in " + WINDOW.toSeconds() + " s: lag behind the"
                        + " peers (bytes) was " + before + ", now " + now + "; " + last.getMessage(), last);
                }
            }
            FaultBattery.log("still catching up after %d s, lag behind the peers (bytes): %s",
                Duration.ofNanos(System.nanoTime() - start).toSeconds(), now);
            before = now;
        }
    }

    /**
     * For each node that is not online: the least, over the other nodes, of the WAL their PostgreSQL wrote past
     * the position confirmed on that node's slot ({@code mtm_slot_<id>}); {@link Long#MAX_VALUE} when none answers.
     */
    static Map<Integer, Long> lags(LocalCluster cluster) {
        Map<Integer, Long> lags = new TreeMap<>();
        for (int id = 1; id <= cluster.nodes().size(); id++) {
            try {
                if ("online".equals(LocalCluster.status(cluster.node(id)).get("status"))) {
                    continue;
                }
            } catch (java.sql.SQLException | AssertionError e) {
                // not answering: it is not back either
            }
            long least = Long.MAX_VALUE;
            for (KarafNode peer : cluster.nodes()) {
                if (peer == cluster.node(id)) {
                    continue;
                }
                try {
                    String lag = Sql.scalar(peer.postgresPort(), "SELECT pg_catalog.pg_wal_lsn_diff("
                        + "pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_catalog.pg_replication_slots"
                        + " WHERE slot_name = 'mtm_slot_" + id + "'");
                    if (lag != null) {
                        least = Math.min(least, Long.parseLong(lag));
                    }
                } catch (java.sql.SQLException e) {
                    // a peer down: the others tell
                }
            }
            lags.put(id, least);
        }
        return lags;
    }
}
