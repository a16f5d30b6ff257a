package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ReplicatedDdl;
import org.mtm.testing.Await;

/**
 * An autovacuum worker that blocks a peer's replicated DDL is cancelled by the lock watch, as PostgreSQL cancels an
 * autovacuum that blocks a lock request after deadlock_timeout — the apply's own lock wait is bounded below that, so
 * before, the DDL failed on the peer and the whole transaction with 40001 (the benchmark's {@code pgbench -i}: ALTER
 * TABLE ... ADD PRIMARY KEY right after the bulk load met the loaded table's autovacuum on a peer). Real PostgreSQL: a
 * table whose autovacuum is throttled to last minutes, then an ALTER TABLE applied on it with a 5 s lock bound (the
 * test server's deadlock_timeout is 60 s, so PostgreSQL itself would not cancel the worker in time).
 */
public class AutovacuumYieldsTest {

    @ClassRule
    // from the start: the launcher acts on a naptime lowered later only after its old one (60 s) has passed
    public static final PgNodes NODES = new PgNodes(1).with("autovacuum_naptime", "1");

    @Rule
    public final Timeout timeout = Timeout.seconds(240);

    @Test
    public void aReplicatedDdlBlockedByAnAutovacuumGoesThrough() throws Exception {
        NODES.exec(1, "CREATE TABLE av (id int PRIMARY KEY, pad text) WITH (autovacuum_vacuum_threshold = 0,"
                + " autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1,"
                + " autovacuum_analyze_threshold = 2000000000)",
            "INSERT INTO av SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g",
            "DELETE FROM av");
        // the table is not dropped: with the naptime of 1 s an autovacuum is at work on it again, and the class's server goes
        // with the class
        Await.until(Duration.ofSeconds(60), "an autovacuum worker on table av", () ->
            "1".equals(NODES.query(1, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                + " AND query LIKE '%av%'")));
        try (ApplySession s = ApplySession.open(NODES.node(1), 1, 2, 7, new ApplierSettings(5_000, 1))) {
            LockWatch watch = new LockWatch(1, 2, NODES.node(1), DeadlockPrevention.OFF, () -> List.of(s), null).start();
            try {
                s.begin("MTM-2-77-1", 0x7000, true);
                s.applying("MTM-2-77-1");
                // threw "lock not granted within 5000 ms" while the worker kept its lock
                s.executeDdl(new ReplicatedDdl("public", "", "ALTER TABLE public.av ADD COLUMN added int", null, ""));
                s.rollback();
            } finally {
                watch.stop();
            }
        }
        assertEquals("the worker was cancelled, not merely outwaited", "0", NODES.query(1,
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND query LIKE '%av%'"
                + " AND backend_start < now() - interval '5 s'"));
    }
}
