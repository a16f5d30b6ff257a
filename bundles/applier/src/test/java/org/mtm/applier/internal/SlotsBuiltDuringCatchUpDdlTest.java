package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ReplicatedDdl;
import org.mtm.api.Replication;
import org.mtm.api.ReplicationPlan;
import org.mtm.api.SlotBuildHold;
import org.mtm.testing.Await;

/**
 * The sharp edge "DDL while a node joins", on real PostgreSQL 15 servers. Node 2 stands for a node made from a base
 * backup of node 1 ({@code mtm.join_node}): it holds a copy of node 1's transaction prepared, catches up from donor 1
 * (two-phase apply, so that the interleaving is exact), and makes its own slot for node 1 while it does, as
 * {@code JoinedNodeSlots} does — through {@link SlotBuildHold#tryBuild}, retried until made.
 *
 * <p>Node 1 then runs, one after the other, what the catch-up applies in that order: a DDL unit creating table
 * {@code joined_ddl} (committed on node 2 while a slot made at once would still wait for the copy: its first phase), A
 * and W writing that table (W prepared on node 2 once the copy is finished, committed after A). A slot created while
 * all this runs is consistent only after A ends, and decodes W — begun before that, committed after — with a catalog
 * snapshot that lacks the table: {@code could not map filenode … to relation OID}, for good; node 1 would never
 * again receive node 2's writes. With the hold the slot is made only once nothing is prepared and the catch-up is at a
 * unit boundary: consistent at once, it decodes what node 2 applies next.
 */
public class SlotsBuiltDuringCatchUpDdlTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String SLOT = Replication.slotName(1);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(240);

    private ReceiverSupervisor supervisor;
    private volatile boolean stopMaker;

    @After
    public void stop() throws Exception {
        stopMaker = true;
        if (supervisor != null) {
            supervisor.deactivate();
            NODES.awaitStreamGone(2, 1);
            supervisor = null;
        }
        NODES.rollbackAllPrepared();
    }

    @Test
    public void ddlAppliedWhileTheSlotIsMadeDoesNotBreakItsDecoding() throws Exception {
        NODES.exec(1, "CREATE TABLE joined_seed (id int PRIMARY KEY)");
        NODES.exec(2, "CREATE TABLE joined_seed (id int PRIMARY KEY)");
        String copy = NODES.prepare(1, "INSERT INTO joined_seed VALUES (1)");
        prepareCopy(copy);
        // the backup ends here: join_node advances node 1's slot for node 2 past the copy's PREPARE and logs the copy
        NODES.exec(1, "SELECT pg_replication_slot_advance('" + Replication.slotName(2) + "', pg_current_wal_lsn())");
        NODES.exec(2, "INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (1, '0/1', '" + copy + "')");
        NODES.exec(2, "SELECT pg_drop_replication_slot('" + SLOT + "')"); // node 2 makes it itself

        startCatchUp();

        AtomicInteger notYet = new AtomicInteger();
        CompletableFuture<Void> maker = CompletableFuture.runAsync(() -> makeSlot(notYet));
        Await.until(WAIT, "the slot is being made or was put off", () -> notYet.get() > 0 || slotCreationWaits(null));

        String r = NODES.prepare(1, "INSERT INTO joined_seed VALUES (2)");
        Await.until(WAIT, "node 2 prepared R", () -> NODES.prepared(2, r));
        String xidR = NODES.query(2, "SELECT transaction::text FROM pg_prepared_xacts WHERE gid = '" + r + "'");
        ddl(1, "CREATE TABLE joined_ddl (id int PRIMARY KEY)");
        Await.until(WAIT, "node 2 applied the DDL", () ->
            NODES.count(2, "SELECT count(*) FROM pg_class WHERE relname = 'joined_ddl'") == 1
            && NODES.count(2, "SELECT count(*) FROM pg_prepared_xacts") == 2);
        NODES.exec(1, "COMMIT PREPARED '" + copy + "'");
        Await.until(WAIT, "node 2 finished the copy", () -> !NODES.prepared(2, copy));
        Await.until(WAIT, "a slot being made waits for R", () -> notYet.get() > 0 || slotCreationWaits(xidR));
        String w = NODES.prepare(1, "INSERT INTO joined_ddl VALUES (1)");
        Await.until(WAIT, "node 2 prepared W", () -> NODES.prepared(2, w));
        NODES.exec(1, "COMMIT PREPARED '" + r + "'");
        Await.until(WAIT, "node 2 committed R", () -> !NODES.prepared(2, r));
        Await.until(WAIT, "a slot being made is consistent", () -> notYet.get() > 0 || maker.isDone());
        NODES.exec(1, "COMMIT PREPARED '" + w + "'");
        Await.until(WAIT, "node 2 committed W", () -> NODES.count(2, "SELECT count(*) FROM joined_ddl") == 1);
        maker.get(60, TimeUnit.SECONDS);

        String later = NODES.prepare(1, "INSERT INTO joined_ddl VALUES (2)");
        NODES.exec(1, "COMMIT PREPARED '" + later + "'");
        Await.until(WAIT, "node 2 applied a later write", () -> NODES.count(2, "SELECT count(*) FROM joined_ddl") == 2);

        List<String> decoded = decode();
        assertTrue("node 2's slot for node 1 decodes the later write: " + decoded,
            decoded.stream().anyMatch(t -> t.contains(" I ")));
        assertEquals(0, NODES.count(2, "SELECT count(*) FROM pg_prepared_xacts"));
    }

    /**
     * The hold itself: a catch-up unit prepared here keeps slots from being made until its COMMIT PREPARED, and while a
     * slot maker holds the catch-up no unit begins.
     */
    @Test
    public void theCatchUpIsHeldAtAUnitBoundary() throws Exception {
        NODES.exec(1, "CREATE TABLE held (id int PRIMARY KEY)");
        NODES.exec(2, "CREATE TABLE held (id int PRIMARY KEY)");
        NODES.exec(1, "SELECT pg_replication_slot_advance('" + Replication.slotName(2) + "', pg_current_wal_lsn())");
        startCatchUp();
        String u = NODES.prepare(1, "INSERT INTO held VALUES (1)");
        Await.until(WAIT, "node 2 prepared U", () -> NODES.prepared(2, u));
        try (Connection maker = NODES.node(2).connect(); Statement st = maker.createStatement()) {
            st.execute("SET lock_timeout = 200");
            try {
                st.execute(HOLD);
                throw new AssertionError("held while unit U is prepared");
            } catch (SQLException e) {
                assertEquals("55P03", e.getSQLState());
            }
            NODES.exec(1, "COMMIT PREPARED '" + u + "'");
            Await.until(WAIT, "node 2 committed U", () -> NODES.count(2, "SELECT count(*) FROM held") == 1);
            st.execute("SET lock_timeout = 0");
            st.execute(HOLD);
            String v = NODES.prepare(1, "INSERT INTO held VALUES (2)");
            NODES.exec(1, "COMMIT PREPARED '" + v + "'");
            Await.until(WAIT, "node 2's catch-up waits for the hold", () -> NODES.count(2, "SELECT count(*) FROM pg_locks"
                + " WHERE locktype = 'advisory' AND NOT granted AND classid = " + SlotBuildHold.KEY1
                + " AND objid = " + SlotBuildHold.KEY2) == 1);
            assertEquals("nothing applied while held", 1, NODES.count(2, "SELECT count(*) FROM held"));
            assertEquals("no transaction of the catch-up open while held", 0, NODES.count(2, "SELECT count(*) FROM"
                + " pg_stat_activity WHERE backend_xid IS NOT NULL AND application_name LIKE 'mtm_apply%'"));
            st.execute("SELECT pg_advisory_unlock(" + SlotBuildHold.KEY1 + ", " + SlotBuildHold.KEY2 + ")");
        }
        Await.until(WAIT, "node 2 applied V once let go", () -> NODES.count(2, "SELECT count(*) FROM held") == 2);
    }

    /**
     * Liveness with the default catch-up (one-phase, {@code catchup_workers} 4) under a steady load with DDL: once the
     * backup's copy is finished the slot is made — the held catch-up reaches a unit boundary — and it decodes what
     * follows.
     */
    @Test
    public void theSlotIsMadeWhileTheDefaultCatchUpAppliesALoadWithDdl() throws Exception {
        NODES.exec(1, "CREATE TABLE busy (id int PRIMARY KEY, v int)");
        NODES.exec(2, "CREATE TABLE busy (id int PRIMARY KEY, v int)");
        String copy = NODES.prepare(1, "INSERT INTO busy VALUES (0, 0)");
        try (Connection c = NODES.node(2).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO busy VALUES (0, 0)");
            st.execute("PREPARE TRANSACTION '" + copy + "'");
        }
        NODES.exec(1, "SELECT pg_replication_slot_advance('" + Replication.slotName(2) + "', pg_current_wal_lsn())");
        NODES.exec(2, "INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (1, '0/2', '" + copy + "')");
        NODES.exec(2, "SELECT pg_drop_replication_slot('" + SLOT + "')");
        TestClusterState state = new TestClusterState(2);
        state.plan = ReplicationPlan.recovery(1, Long.MAX_VALUE);
        supervisor = new ReceiverSupervisor(NODES.node(2), (node, message) -> { }, new ApplierSettings(500, 4));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(2, List.of(NODES.clusterNode(1), NODES.clusterNode(2)))));
        supervisor.followPlanEvery(50);

        java.util.concurrent.atomic.AtomicBoolean loading = new java.util.concurrent.atomic.AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                for (int i = 1; loading.get(); i++) {
                    if (i % 10 == 0) {
                        ddl(1, "CREATE TABLE busy_" + i + " (id int PRIMARY KEY)");
                        String g = NODES.prepare(1, "INSERT INTO busy_" + i + " VALUES (1)");
                        NODES.exec(1, "COMMIT PREPARED '" + g + "'");
                    } else {
                        String g = NODES.prepare(1, "INSERT INTO busy VALUES (" + i + ", " + i + ")");
                        NODES.exec(1, "COMMIT PREPARED '" + g + "'");
                    }
                    written.set(i);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        AtomicInteger notYet = new AtomicInteger();
        CompletableFuture<Void> maker = CompletableFuture.runAsync(() -> makeSlot(notYet));
        Await.until(WAIT, "the load runs and the slot waits for the copy", () -> written.get() > 50 && notYet.get() > 0);
        NODES.exec(1, "COMMIT PREPARED '" + copy + "'");
        maker.get(120, TimeUnit.SECONDS);
        int at = written.get();
        Await.until(WAIT, "more of the load after the slot", () -> written.get() > at + 50);
        loading.set(false);
        load.get(60, TimeUnit.SECONDS);
        Await.until(WAIT, "node 2 caught up", () -> NODES.count(2, "SELECT count(*) FROM pg_tables WHERE tablename LIKE"
            + " 'busy_%'") == NODES.count(1, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'busy_%'")
            && NODES.md5(2, "busy").equals(NODES.md5(1, "busy")));
        List<String> decoded = decode();
        assertTrue("node 2's slot for node 1 decodes the load after it: " + decoded.size(),
            decoded.stream().filter(t -> t.contains(" I ")).count() > 10);
    }

    private static final String HOLD = "SELECT pg_advisory_lock(" + SlotBuildHold.KEY1 + ", " + SlotBuildHold.KEY2 + ")";

    /** Node 2 catches up from donor 1, two-phase (PREPARE at P, COMMIT PREPARED at K), serially. */
    private void startCatchUp() {
        TestClusterState state = new TestClusterState(2);
        state.plan = ReplicationPlan.recovery(1, Long.MAX_VALUE);
        supervisor = new ReceiverSupervisor(NODES.node(2), (node, message) -> { },
            new ApplierSettings(500, 1, DeadlockPrevention.OFF, false, false));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(2, List.of(NODES.clusterNode(1), NODES.clusterNode(2)))));
        supervisor.followPlanEvery(50);
    }

    /** JoinedNodeSlots' loop: tries until the slot is made. */
    private void makeSlot(AtomicInteger notYet) {
        try (Connection c = NODES.node(2).connect()) {
            while (!stopMaker) {
                if (SlotBuildHold.tryBuild(c, List.of(SLOT)) == SlotBuildHold.Outcome.BUILT) {
                    return;
                }
                notYet.incrementAndGet();
                Thread.sleep(20); // the slot maker's retry pace, until it builds or is stopped
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A slot's creation on node 2 waits for a transaction (for {@code xid}, when given). */
    private static boolean slotCreationWaits(String xid) throws SQLException {
        return NODES.count(2, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            + " WHERE l.locktype = 'transactionid' AND NOT l.granted AND a.query LIKE '%pg_create_logical_replication_slot%'"
            + (xid == null ? "" : " AND l.transactionid::text = '" + xid + "'")) > 0;
    }

    /** Node 2's copy of node 1's transaction, prepared as the base backup holds it: without an origin. */
    private static void prepareCopy(String gid) throws Exception {
        try (Connection c = NODES.node(2).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO joined_seed VALUES (1)");
            st.execute("PREPARE TRANSACTION '" + gid + "'");
        }
    }

    /** A global DDL statement in a 3PC transaction of {@code origin}, bracketed by its messages as the gateway does. */
    private static void ddl(int origin, String statement) throws Exception {
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement).encode());
            st.execute(statement);
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            String gid = NODES.prepareAsGateway(st, origin);
            st.execute("COMMIT PREPARED '" + gid + "'");
        }
    }

    private static void emit(Connection c, String prefix, byte[] content) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, prefix);
            ps.setBytes(2, content);
            ps.executeQuery().close();
        }
    }

    /**
     * The pgoutput message types (protocol 3, two-phase, as the receivers stream) of every transaction, prepare or
     * finish node 2's slot for node 1 decodes, e.g. "b O R I P".
     */
    private static List<String> decode() throws SQLException {
        List<String> transactions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        try (Connection c = NODES.node(2).connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT data FROM pg_logical_slot_peek_binary_changes('" + SLOT
                 + "', NULL, NULL, 'proto_version', '3', 'two_phase', 'true', 'publication_names', '"
                 + Replication.PUBLICATION + "')")) {
            while (rs.next()) {
                char type = (char) rs.getBytes(1)[0];
                current.append(current.length() == 0 ? "" : " ").append(type);
                if (type == 'C' || type == 'P' || type == 'K' || type == 'r') {
                    transactions.add(current.toString());
                    current.setLength(0);
                }
            }
        }
        return transactions;
    }
}
