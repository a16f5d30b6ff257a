package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.Replication;
import org.mtm.testing.Await;

/**
 * {@code trans_spill_threshold} (the manual's parameter, accepted and ignored before session 18) is the peer's
 * walsender's {@code logical_decoding_work_mem} for this node's stream: a transaction larger than it is spilled to disk
 * while decoded ({@code pg_stat_replication_slots.spill_bytes} of the peer's slot for this node grows), a smaller one is
 * not. Real PostgreSQL servers (their own logical_decoding_work_mem is the default 64 MB).
 */
public class SpillThresholdTest {

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    @Test
    public void aTransactionLargerThanTheThresholdIsSpilledOnThePeer() throws Exception {
        assertTrue("spilled at a 64 kB threshold", spilledBytes("spill_small", 64) > 0);
    }

    @Test
    public void theSameTransactionStaysInMemoryUnderTheDefault() throws Exception {
        assertEquals("not spilled under the default 100 MB", 0, spilledBytes("spill_default",
            ApplierSettings.DEFAULT_TRANS_SPILL_THRESHOLD_KB));
    }

    @Test
    public void theThresholdGoesAfterTheConninfosOwnOptions() {
        assertEquals("-c logical_decoding_work_mem=64kB", Receiver.decodingOptions(null, 64));
        assertEquals("-c search_path=x -c logical_decoding_work_mem=102400kB",
            Receiver.decodingOptions("-c search_path=x", 102_400));
    }

    /** Node 1 receives a ~2.5 MB transaction of node 2 with the given threshold; the bytes node 2's slot spilled for it. */
    private long spilledBytes(String table, int thresholdKb) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY, pad text)");
        String slot = "'" + Replication.slotName(1) + "'";
        long[] before = stats(slot);
        Receiver r = new Receiver(1, NODES.clusterNode(2), NODES.node(1), new RecordedVotes(),
            new ApplierSettings(500, 1, DeadlockPrevention.OFF, false, true, false, 4, thresholdKb), () -> 0L, 1).start();
        receivers.add(r);
        NODES.exec(2, "INSERT INTO " + table + " SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
        Await.until(Duration.ofSeconds(60), "node 1 applied the 20,000 rows",
            () -> "20000".equals(NODES.query(1, "SELECT count(*) FROM " + table)));
        // the walsender reports its slot's statistics once it has decoded a transaction, all its counters at once: when
        // total_bytes counts this one (over 2 MB decoded), spill_bytes counts what spilling it took
        Await.until(Duration.ofSeconds(30), "node 2's slot statistics to count the transaction",
            () -> stats(slot)[1] - before[1] >= 2_000_000);
        return stats(slot)[0] - before[0];
    }

    /** spill_bytes and total_bytes of node 2's slot for node 1. */
    private static long[] stats(String slot) throws Exception {
        String v = NODES.query(2, "SELECT spill_bytes || ' ' || total_bytes FROM pg_stat_replication_slots WHERE slot_name = " + slot);
        if (v == null) {
            return new long[] {0, 0};
        }
        String[] f = v.split(" ");
        return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
    }
}
