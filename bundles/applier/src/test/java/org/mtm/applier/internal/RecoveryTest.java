package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.GenerationMarker;
import org.mtm.api.ReceiverMode;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.ReplicatedDdl;
import org.mtm.api.ReplicationPlan;
import org.mtm.applier.internal.pgoutput.Lsn;
import org.mtm.testing.Await;

/**
 * Recovery from a donor on three real PostgreSQL 15 servers (DESIGN §3). Nodes 1 and 2 exchange committed
 * transactions while node 3 is away — cross-origin UPDATEs of one row in a known order (the final value depends on
 * it), INSERTs and DELETEs, a DDL of node 2's (ALTER TABLE ADD COLUMN, which node 1's applier logs again in its
 * WAL), a plain transaction of node 2's that bypassed 3PC — then log their generation markers. Node 3's
 * {@link ReceiverSupervisor} follows a {@link TestClusterState}'s plan: RECOVERY from the donor until its marker,
 * then NORMAL. At the end every table is identical on all three nodes, nothing is left prepared, and the INSERT-only
 * tables (one with a unique key, one without any) show that nothing was applied twice.
 *
 * <p>Node 3's normal receiver of node 1 skips the transactions node 1 applied from node 2, but holds node 1's slot
 * {@code mtm_slot_3} before the first one node 3 does not have yet ({@link ForeignHold}): the hold releases once
 * node 3's receiver of node 2 applied it, and a recovery from donor 1 that starts from the held slot brings it.
 */
public class RecoveryTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /**
     * Generations only grow: the servers are shared by the tests, and a donor's WAL still holds the markers of
     * earlier tests, which must be below the one a later test waits for.
     */
    private static final AtomicLong GENERATIONS = new AtomicLong(1);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(3);

    @Rule
    public final Timeout timeout = Timeout.seconds(180);

    private final List<Receiver> receivers = new ArrayList<>();
    private final RecordedVotes on1 = new RecordedVotes();
    private final RecordedVotes on2 = new RecordedVotes();
    private ReceiverSupervisor supervisor;

    @After
    public void stop() throws Exception {
        RecoveryApplier.afterUnit = null;
        if (supervisor != null) {
            supervisor.deactivate();
        }
        NODES.stopAll(receivers);
    }

    /** Nodes 1 and 2 apply each other's streams (node 1 with parallel workers, whose origins are mtm_node_2_k). */
    private void exchange() {
        receivers.add(new Receiver(1, NODES.clusterNode(2), NODES.node(1), on1, new ApplierSettings(500, 3), () -> 0L, 2).start());
        receivers.add(new Receiver(2, NODES.clusterNode(1), NODES.node(2), on2, new ApplierSettings(500, 1), () -> 0L, 2).start());
    }

    private RecordedVotes votesOfPeer(int origin) {
        return origin == 1 ? on2 : on1;
    }

    /** A 3PC transaction of {@code origin}, committed there once the other node prepared it, and awaited committed there. */
    private String commit(int origin, String... sql) throws Exception {
        String gid = NODES.prepare(origin, sql);
        return finish(origin, gid);
    }

    private String finish(int origin, String gid) throws Exception {
        RecordedVotes peer = votesOfPeer(origin);
        peer.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(origin, "COMMIT PREPARED '" + gid + "'");
        peer.await(Kind.COMMITTED, gid, WAIT);
        return gid;
    }

    /** A global DDL statement in a 3PC transaction of {@code origin}, bracketed by its messages as the gateway does. */
    private String ddl(int origin, String statement) throws Exception {
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement).encode());
            st.execute(statement);
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            return finish(origin, NODES.prepareAsGateway(st, origin));
        }
    }

    /** CREATE TABLE ... AS as the gateway runs it: the message names the table, whose rows are the origin's. */
    private String creating(int origin, String statement, String table) throws Exception {
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement, table).encode());
            st.execute(statement);
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            return finish(origin, NODES.prepareAsGateway(st, origin));
        }
    }

    private static void emit(Connection c, String prefix, byte[] content) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, prefix);
            ps.setBytes(2, content);
            ps.executeQuery().close();
        }
    }

    private static void createEverywhere(String t) throws SQLException {
        NODES.execEverywhere("CREATE TABLE " + t + "_acc (id int PRIMARY KEY, v int)",
                "CREATE TABLE " + t + "_log (id int PRIMARY KEY, origin int)",
                "CREATE TABLE " + t + "_nokey (n int, origin int)",
                "ALTER TABLE " + t + "_nokey REPLICA IDENTITY FULL");
    }

    /** The work of nodes 1 and 2 while node 3 is away; ids from {@code base}. */
    private void workWhileAway(String t, int base, boolean withDdl) throws Exception {
        commit(1, "INSERT INTO " + t + "_acc VALUES (" + base + ", 100)");
        // cross-origin updates of one row, in this order: 100*2 = 200, +7 = 207, *3 = 621
        commit(2, "UPDATE " + t + "_acc SET v = v * 2 WHERE id = " + base);
        commit(1, "UPDATE " + t + "_acc SET v = v + 7 WHERE id = " + base);
        commit(2, "UPDATE " + t + "_acc SET v = v * 3 WHERE id = " + base);
        for (int i = 1; i <= 6; i++) {
            int origin = i % 2 + 1;
            commit(origin, "INSERT INTO " + t + "_log VALUES (" + (base + i) + ", " + origin + ")",
                    "INSERT INTO " + t + "_nokey VALUES (" + (base + i) + ", " + origin + ")");
        }
        commit(1, "DELETE FROM " + t + "_log WHERE id = " + (base + 2));
        commit(2, "DELETE FROM " + t + "_log WHERE id = " + (base + 3), "INSERT INTO " + t + "_acc VALUES (" + (base + 1) + ", 1)");
        if (withDdl) {
            ddl(2, "ALTER TABLE " + t + "_acc ADD COLUMN note text");
            commit(1, "UPDATE " + t + "_acc SET note = 'after the DDL' WHERE id = " + base);
        }
        // a plain transaction of node 2's (a bypass of 3PC), applied on node 1 without a gid
        NODES.exec(2, "INSERT INTO " + t + "_log VALUES (" + (base + 50) + ", 2)",
                "INSERT INTO " + t + "_nokey VALUES (" + (base + 50) + ", 2)");
        Await.until(WAIT, "node 2's plain transaction on node 1",
                () -> NODES.count(1, "SELECT count(*) FROM " + t + "_log WHERE id = " + (base + 50)) == 1);
        commit(1, "UPDATE " + t + "_log SET origin = 12 WHERE id = " + (base + 50));
    }

    private void markers(long generation) throws SQLException {
        NODES.exec(1, GenerationMarker.emitSql(generation));
        NODES.exec(2, GenerationMarker.emitSql(generation));
    }

    /** Work of the new generation, after the markers: node 3 gets it in normal mode. */
    private void workAfterMarkers(String t, int base) throws Exception {
        commit(1, "INSERT INTO " + t + "_log VALUES (" + (base + 90) + ", 1)");
        commit(2, "INSERT INTO " + t + "_log VALUES (" + (base + 91) + ", 2)", "UPDATE " + t + "_acc SET v = v + 1 WHERE id = " + base);
    }

    private TestClusterState node3(ReplicationPlan plan) {
        TestClusterState state = new TestClusterState(3);
        state.plan = plan;
        supervisor = new ReceiverSupervisor(NODES.node(3), (node, message) -> { }, new ApplierSettings(500, 2));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(3,
                List.of(NODES.clusterNode(1), NODES.clusterNode(2), NODES.clusterNode(3)))));
        supervisor.followPlanEvery(50);
        lastState = state;
        return state;
    }

    private void awaitReached(long generation) throws Exception {
        Await.until(WAIT, "node 3 reached the donor's marker", () -> supervisor.recovery().reached());
        assertEquals(generation, supervisor.recovery().markerGeneration());
    }

    private static void assertIdenticalEverywhere(String t, int base) throws Exception {
        assertIdenticalEverywhere(t, base, "622");
    }

    private static void assertIdenticalEverywhere(String t, int base, String value) throws Exception {
        for (String table : List.of(t + "_acc", t + "_log", t + "_nokey")) {
            Await.until(WAIT, table + " identical on the three nodes", () -> NODES.md5(1, table).equals(NODES.md5(3, table))
                    && NODES.md5(2, table).equals(NODES.md5(3, table)));
        }
        assertEquals("the cluster's order of the cross-origin updates", value,
                NODES.query(3, "SELECT v FROM " + t + "_acc WHERE id = " + base));
        assertEquals("INSERT-only table without a key: nothing twice", "0", NODES.query(3,
                "SELECT count(*) FROM (SELECT n FROM " + t + "_nokey GROUP BY n HAVING count(*) > 1) d"));
        for (int n = 1; n <= 3; n++) {
            assertEquals("nothing left prepared on node " + n, 0, NODES.count(n, "SELECT count(*) FROM pg_prepared_xacts"));
        }
    }

    // ---- the tests -----------------------------------------------------------------------------------

    @Test
    public void recoversFromTheDonorUntilItsMarkerThenAppliesEveryPeerNormally() throws Exception {
        String t = "r1";
        createEverywhere(t);
        exchange();
        workWhileAway(t, 1000, true);
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        workAfterMarkers(t, 1000);

        node3(ReplicationPlan.recovery(1, g));
        Await.until(WAIT, "a recovery receiver for the donor only", () -> supervisor.receiver(1).get().mode() == ReceiverMode.RECOVERY);
        assertEquals(ReceiverMode.DISABLED, supervisor.receiver(2).get().mode());
        awaitReached(g);
        assertEquals("stopped at the marker: the donor's later work is not applied", "0",
                NODES.query(3, "SELECT count(*) FROM " + t + "_log WHERE id >= 1090"));
        assertEquals("everything before it is", "621", NODES.query(3, "SELECT v FROM " + t + "_acc WHERE id = 1000"));
        assertEquals("with the DDL of node 2's that node 1 applied", "after the DDL",
                NODES.query(3, "SELECT note FROM " + t + "_acc WHERE id = 1000"));
        assertEquals(1, supervisor.recovery().donor());

        stateOf().plan = ReplicationPlan.NORMAL;
        Await.until(WAIT, "normal receivers for both peers", () -> supervisor.receiver(1).get().mode() == ReceiverMode.NORMAL
                && supervisor.receiver(2).get().mode() == ReceiverMode.NORMAL);
        assertEquals(RecoveryProgress.NONE, supervisor.recovery());
        assertIdenticalEverywhere(t, 1000);
    }

    @Test
    public void recoveryCarriesTheOriginsRowsOfCreateTableAs() throws Exception {
        exchange();
        // node 1's own (rows inside the DDL bracket of the donor's WAL) and node 2's, which node 1 applied (the
        // statement in node 1's bracket, node 2's rows after it)
        creating(1, "CREATE TABLE r8_own AS SELECT g AS id, random() AS r FROM generate_series(1, 40) g WHERE random() < 0.6",
                "r8_own");
        creating(2, "CREATE TABLE r8_other AS SELECT g AS id, random() AS r FROM generate_series(1, 40) g", "r8_other");
        for (String table : List.of("r8_own", "r8_other")) {
            Await.until(WAIT, table + " on nodes 1 and 2", () -> NODES.md5(1, table).equals(NODES.md5(2, table)));
        }
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        for (String table : List.of("r8_own", "r8_other")) {
            assertEquals(table + " on node 3 as on node 1", NODES.md5(1, table), NODES.md5(3, table));
        }
    }

    /**
     * ALTER TABLE ... ADD COLUMN ... DEFAULT now() as the gateway and the mtm schema's event trigger run it on the
     * origin: the statement, then the value the rows already there took, carried as an ALTER COLUMN ... TYPE ... USING.
     */
    private String addedWithCarriedValue(int origin, String table, String column, String value) throws Exception {
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            String statement = "ALTER TABLE " + table + " ADD COLUMN " + column + " timestamptz DEFAULT now()";
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement).encode());
            st.execute(statement);
            String carried = "ALTER TABLE public." + table + " ALTER COLUMN " + column + " TYPE timestamp with time zone"
                    + " USING '" + value + "'::timestamp with time zone";
            st.execute(carried); // the origin's rows hold this value too (here: made so, for the test)
            emit(c, ReplicatedDdl.VALUE_PREFIX, carried.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            return finish(origin, NODES.prepareAsGateway(st, origin));
        }
    }

    @Test
    public void recoveryGivesAddedColumnsTheValueTheOriginCarried() throws Exception {
        NODES.execEverywhere("CREATE TABLE r9_own (id int PRIMARY KEY)", "CREATE TABLE r9_other (id int PRIMARY KEY)");
        exchange();
        commit(1, "INSERT INTO r9_own SELECT g FROM generate_series(1, 5) g");
        commit(2, "INSERT INTO r9_other SELECT g FROM generate_series(1, 5) g");
        // node 1's own (the value inside the DDL bracket of the donor's WAL) and node 2's, which node 1 applied (its
        // applier logs the value again after the bracket)
        addedWithCarriedValue(1, "r9_own", "at", "2001-02-03 04:05:06+00");
        addedWithCarriedValue(2, "r9_other", "at", "2002-03-04 05:06:07+00");
        for (String table : List.of("r9_own", "r9_other")) {
            Await.until(WAIT, table + " on nodes 1 and 2", () -> NODES.md5(1, table).equals(NODES.md5(2, table)));
        }
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        for (String table : List.of("r9_own", "r9_other")) {
            assertEquals(table + " on node 3 as on node 1", NODES.md5(1, table), NODES.md5(3, table));
        }
        assertEquals("t", NODES.query(3, "SELECT bool_and(at = '2002-03-04 05:06:07+00') FROM r9_other"));
    }

    /**
     * ALTER TABLE ... ADD COLUMN ... DEFAULT random() as the gateway and the mtm schema's event trigger run it on the
     * origin: the statement, then each row's values, carried as UPDATEs that find the rows by their other columns.
     */
    private String addedWithRowValues(int origin, String table) throws Exception {
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            String statement = "ALTER TABLE " + table + " ADD COLUMN r float8 DEFAULT random(),"
                    + " ADD COLUMN u uuid DEFAULT gen_random_uuid()";
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement).encode());
            st.execute(statement);
            st.executeQuery("SELECT mtm.carry_row_values('public." + table + "', ARRAY['r', 'u']::name[])").close();
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            return finish(origin, NODES.prepareAsGateway(st, origin));
        }
    }

    @Test
    public void recoveryGivesAddedColumnsEachRowsValuesTheOriginCarried() throws Exception {
        NODES.execEverywhere("CREATE TABLE r10_own (n int)", "ALTER TABLE r10_own REPLICA IDENTITY FULL",
                "CREATE TABLE r10_other (n int)", "ALTER TABLE r10_other REPLICA IDENTITY FULL");
        exchange();
        commit(1, "INSERT INTO r10_own SELECT g % 4 FROM generate_series(1, 40) g");
        commit(2, "INSERT INTO r10_other SELECT g % 4 FROM generate_series(1, 40) g");
        // node 1's own (the values inside the DDL bracket of the donor's WAL) and node 2's, which node 1 applied (its
        // applier logs them again after the bracket, then the rows its UPDATE changed)
        addedWithRowValues(1, "r10_own");
        addedWithRowValues(2, "r10_other");
        for (String table : List.of("r10_own", "r10_other")) {
            Await.until(WAIT, table + " on nodes 1 and 2", () -> NODES.md5(1, table).equals(NODES.md5(2, table)));
        }
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        for (String table : List.of("r10_own", "r10_other")) {
            assertEquals(table + " on node 3 as on node 1", NODES.md5(1, table), NODES.md5(3, table));
            assertEquals(table + ": each row its own values", "40:40",
                    NODES.query(3, "SELECT count(DISTINCT r) || ':' || count(DISTINCT u) FROM " + table));
        }
    }

    /**
     * ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS IDENTITY, ADD COLUMN ... serial on a table with rows, as the
     * gateway and the mtm schema's event trigger run it on the origin: the origin numbered the rows in its physical
     * order (here made another than the order they were written in), and carries each row's numbers; the identity
     * column is switched to BY DEFAULT around the carried UPDATE elsewhere, and both, which unique indexes cover, are
     * first moved out of the way of the origin's values (messages of their own).
     */
    private String addedNumbered(int origin, String table) throws Exception {
        NODES.exec(origin, "CLUSTER " + table + " USING " + table + "_v", "ALTER TABLE " + table + " SET WITHOUT CLUSTER");
        try (Connection c = NODES.node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            String statement = "ALTER TABLE " + table + " ADD COLUMN i int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    + " ADD COLUMN s serial UNIQUE";
            emit(c, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "mtmuser", statement).encode());
            st.execute(statement);
            st.executeQuery("SELECT mtm.carry_row_values('public." + table + "', ARRAY['i', 's']::name[])").close();
            emit(c, ReplicatedDdl.END_PREFIX, new byte[0]);
            return finish(origin, NODES.prepareAsGateway(st, origin));
        }
    }

    @Test
    public void recoveryNumbersAddedIdentityColumnsAsTheOriginCarried() throws Exception {
        for (String table : List.of("r11_own", "r11_other")) {
            NODES.execEverywhere("CREATE TABLE " + table + " (n int, v text)", "ALTER TABLE " + table + " REPLICA IDENTITY FULL",
                    "CREATE INDEX " + table + "_v ON " + table + " (v)");
        }
        exchange();
        commit(1, "INSERT INTO r11_own SELECT g % 4, 'v' || g FROM generate_series(1, 40) g");
        commit(2, "INSERT INTO r11_other SELECT g % 4, 'v' || g FROM generate_series(1, 40) g");
        addedNumbered(1, "r11_own");
        addedNumbered(2, "r11_other");
        for (String table : List.of("r11_own", "r11_other")) {
            Await.until(WAIT, table + " on nodes 1 and 2", () -> NODES.md5(1, table).equals(NODES.md5(2, table)));
        }
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        for (String table : List.of("r11_own", "r11_other")) {
            assertEquals(table + " on node 3 as on node 1", NODES.md5(1, table), NODES.md5(3, table));
            assertEquals(table + ": numbered in the origin's row order (v's text order), ALWAYS again", "1:v1,2:v10,40:v9:a",
                    NODES.query(3, "SELECT string_agg(i || ':' || v, ',' ORDER BY i) FILTER (WHERE i IN (1, 2, 40)) || ':'"
                            + " || (SELECT attidentity::text FROM pg_attribute WHERE attrelid = '" + table + "'::regclass"
                            + " AND attname = 'i') FROM " + table));
            assertEquals(table + ": the serial too", "40", NODES.query(3, "SELECT count(*) FROM " + table + " WHERE s = i"));
        }
    }

    @Test
    public void recoveryStoppedAfterPreparesCommitsAndPlainCommitsResumesExactlyOnce() throws Exception {
        String t = "r2";
        createEverywhere(t);
        exchange();
        workWhileAway(t, 2000, true);
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        workAfterMarkers(t, 2000);

        AtomicInteger restarts = new AtomicInteger();
        AtomicInteger seen = new AtomicInteger();
        RecoveryApplier.afterUnit = point -> {
            if (seen.incrementAndGet() % 3 == 0) { // after a PREPARE, a COMMIT PREPARED or a COMMIT it just made durable
                restarts.incrementAndGet();
                throw new IllegalStateException("test: the recovery receiver stops right after " + point);
            }
        };
        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        assertTrue("restarted several times: " + restarts.get(), restarts.get() >= 4);
        RecoveryApplier.afterUnit = null;
        stateOf().plan = ReplicationPlan.NORMAL;
        assertIdenticalEverywhere(t, 2000);
    }

    @Test
    public void aDonorReplacedMidRecoveryIsFollowedByTheNextWithoutApplyingTwice() throws Exception {
        String t = "r3";
        createEverywhere(t);
        exchange();
        workWhileAway(t, 3000, false);
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        workAfterMarkers(t, 3000);

        AtomicInteger commits = new AtomicInteger();
        TestClusterState[] state = new TestClusterState[1];
        RecoveryApplier.afterUnit = point -> {
            if (point.startsWith("K ") && commits.incrementAndGet() == 5) {
                state[0].plan = ReplicationPlan.recovery(2, g); // donor 1 "died": node 2 is the donor now
            }
        };
        state[0] = node3(ReplicationPlan.recovery(1, g));
        Await.until(WAIT, "the recovery from donor 2", () -> supervisor.recovery().donor() == 2);
        assertEquals(ReceiverMode.DISABLED, supervisor.receiver(1).get().mode());
        awaitReached(g);
        state[0].plan = ReplicationPlan.NORMAL;
        assertIdenticalEverywhere(t, 3000);
    }

    @Test
    public void catchUpFollowsTheDonorWithoutEndAndReportsItsLag() throws Exception {
        String t = "r4";
        createEverywhere(t);
        exchange();
        TestClusterState state = node3(ReplicationPlan.recovery(1, Long.MAX_VALUE));
        AtomicLong maxLag = new AtomicLong(-1);
        for (int round = 0; round < 3; round++) {
            workWhileAway(t, 4000 + round * 100, round == 0);
            maxLag.accumulateAndGet(supervisor.recovery().lagBytes(), Math::max);
        }
        long g = GENERATIONS.incrementAndGet();
        markers(g);
        Await.until(WAIT, "node 3 applied the marker", () -> supervisor.recovery().markerGeneration() == g);
        assertFalse("catch-up never ends", supervisor.recovery().reached());
        for (String table : List.of(t + "_acc", t + "_log", t + "_nokey")) {
            Await.until(WAIT, table + " caught up from the donor", () -> NODES.md5(1, table).equals(NODES.md5(3, table)));
        }
        assertTrue("a lag was reported while the donor was written: " + maxLag.get(), maxLag.get() >= 0);
        Await.until(WAIT, "the lag falls once the donor is idle", () -> {
            long lag = supervisor.recovery().lagBytes();
            return lag >= 0 && lag < 64 * 1024;
        });
        assertEquals(ReceiverMode.RECOVERY, supervisor.receiver(1).get().mode());
        state.plan = ReplicationPlan.NORMAL;
        assertIdenticalEverywhere(t, 4000, "621");
    }

    // ---- node 3's normal receivers and the hold of node 1's slot mtm_slot_3 (ForeignHold) -----------------

    private final RecordedVotes on3 = new RecordedVotes();

    /** Node 3's NORMAL receiver for {@code peer}, outside a supervisor, so that it can be stopped alone. */
    private Receiver normalOn3(int peer) {
        Receiver r = new Receiver(3, NODES.clusterNode(peer), NODES.node(3), on3, new ApplierSettings(500, 2), () -> 0L, 2).start();
        receivers.add(r);
        return r;
    }

    private void stopOn3(Receiver r) throws Exception {
        r.stop();
        receivers.remove(r);
        NODES.awaitStreamGone(3, r.peer().id());
    }

    /** A 3PC transaction of node 1's, committed there and on node 2, then awaited committed on node 3 too. */
    private String commitSeenBy3(String... sql) throws Exception {
        String gid = commit(1, sql);
        on3.await(Kind.COMMITTED, gid, WAIT);
        return gid;
    }

    /** {@code confirmed_flush_lsn} of node 1's slot for node 3. */
    private static long confirmedFor3On1() throws SQLException {
        return NODES.count(1, "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots"
                + " WHERE slot_name = 'mtm_slot_3'");
    }

    private static long walInsertOn1() throws SQLException {
        return NODES.count(1, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint");
    }

    /**
     * While node 3 does not receive node 2's stream: three transactions of node 2's (node 1 applies them, so they
     * are units of origin {@code mtm_node_2} in node 1's WAL, which node 3's receiver of node 1 skips), then three
     * of node 1's own, awaited finished by node 3's receiver of node 1, which confirms them only up to the first
     * foreign one. Node 1's work touches no row of node 2's: node 3, not voting on node 2's transactions here, could
     * not keep their order. Returns where that first foreign unit's PREPARE starts in node 1's WAL (pg_walinspect):
     * a PREPARE is decoded again only if it starts at or after the slot's confirmed position.
     */
    private long foreignUnitsWhileNode2IsHeldBack(String t, int base) throws Exception {
        NODES.exec(1, "CREATE EXTENSION IF NOT EXISTS pg_walinspect");
        long from = walInsertOn1();
        commit(2, "INSERT INTO " + t + "_log VALUES (" + (base + 10) + ", 2)",
                "INSERT INTO " + t + "_nokey VALUES (" + (base + 10) + ", 2)");
        commit(2, "UPDATE " + t + "_acc SET v = v * 2 WHERE id = " + base);
        commit(2, "INSERT INTO " + t + "_log VALUES (" + (base + 11) + ", 2)");
        long firstForeign = NODES.count(1, "SELECT (min(start_lsn) - '0/0')::bigint FROM"
                + " pg_get_wal_records_info_till_end_of_wal('0/0'::pg_lsn + " + from + ")"
                + " WHERE resource_manager = 'Transaction' AND record_type = 'PREPARE'");
        commitSeenBy3("INSERT INTO " + t + "_log VALUES (" + (base + 20) + ", 1)");
        commitSeenBy3("INSERT INTO " + t + "_acc VALUES (" + (base + 1) + ", 7)");
        commitSeenBy3("INSERT INTO " + t + "_log VALUES (" + (base + 21) + ", 1)",
                "INSERT INTO " + t + "_nokey VALUES (" + (base + 21) + ", 1)");
        assertEquals("node 3 skipped node 2's transactions in node 1's stream", 0,
                NODES.count(3, "SELECT count(*) FROM " + t + "_log WHERE origin = 2"));
        return firstForeign;
    }

    /** Node 3's receiver of node 1 had several status intervals (1 s) to confirm node 1's later transactions. */
    private static void assertSlotHeldBefore(long firstForeign) {
        long[] confirmed = {0};
        try {
            Await.holds(3000, "mtm_slot_3 on node 1 confirmed below node 2's first transaction there",
                    () -> (confirmed[0] = confirmedFor3On1()) < firstForeign);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": confirmed " + Lsn.format(confirmed[0]) + ", its PREPARE at "
                    + Lsn.format(firstForeign), e);
        }
    }

    private static void assertNode2sRowsOn3(String t, int base) throws SQLException {
        assertEquals("node 2's rows on node 3", List.of("2", "1", "1"), List.of(
                NODES.query(3, "SELECT count(*) FROM " + t + "_log WHERE id IN (" + (base + 10) + ", " + (base + 11) + ")"),
                NODES.query(3, "SELECT count(*) FROM " + t + "_nokey WHERE n = " + (base + 10)),
                NODES.query(3, "SELECT count(*) FROM " + t + "_acc WHERE id = " + base + " AND v = 200")));
    }

    @Test
    public void aPeersSlotStaysConfirmedBeforeAnotherOriginsTransactionUntilThisNodeHasIt() throws Exception {
        String t = "r5";
        int base = 5000;
        createEverywhere(t);
        exchange();
        normalOn3(1);
        Receiver from2 = normalOn3(2);
        commitSeenBy3("INSERT INTO " + t + "_acc VALUES (" + base + ", 100)");
        long own = walInsertOn1();
        commitSeenBy3("INSERT INTO " + t + "_log VALUES (" + (base + 1) + ", 1)");
        Await.until(WAIT, "node 3 confirms node 1's own transactions", () -> confirmedFor3On1() > own);
        stopOn3(from2);

        long firstForeign = foreignUnitsWhileNode2IsHeldBack(t, base);
        assertSlotHeldBefore(firstForeign);

        normalOn3(2); // node 3 gets node 2's transactions from their origin: the hold releases
        Await.until(WAIT, "node 2's transactions on node 3",
                () -> NODES.count(3, "SELECT count(*) FROM " + t + "_log WHERE origin = 2") == 2);
        // node 1 is idle now: the released hold's position must reach it without waiting for a message of node 1's
        // (with wal_sender_timeout = 0 only its bgwriter's snapshot record every 15 s woke the stream up)
        Await.until(Duration.ofSeconds(8), "mtm_slot_3 on node 1 confirmed past node 2's first transaction, node 1 idle",
                () -> confirmedFor3On1() > firstForeign);
        long later = walInsertOn1();
        commitSeenBy3("INSERT INTO " + t + "_log VALUES (" + (base + 30) + ", 1)");
        Await.until(WAIT, "mtm_slot_3 on node 1 confirmed up to node 1's latest transaction",
                () -> confirmedFor3On1() >= later);
        assertNode2sRowsOn3(t, base);
        assertIdenticalEverywhere(t, base, "200");
    }

    @Test
    public void recoveryFromADonorGetsTheTransactionsOfAnotherOriginItsNormalReceiverSkipped() throws Exception {
        String t = "r6";
        int base = 6000;
        createEverywhere(t);
        exchange();
        Receiver from1 = normalOn3(1);
        Receiver from2 = normalOn3(2);
        commitSeenBy3("INSERT INTO " + t + "_acc VALUES (" + base + ", 100)");
        stopOn3(from2); // node 2's receiver on node 3 does not run again until the recovery is over

        long firstForeign = foreignUnitsWhileNode2IsHeldBack(t, base);
        assertSlotHeldBefore(firstForeign);
        stopOn3(from1);
        assertTrue("still held when node 3's receiver of node 1 stopped", confirmedFor3On1() < firstForeign);
        long g = GENERATIONS.incrementAndGet();
        markers(g);

        node3(ReplicationPlan.recovery(1, g));
        awaitReached(g);
        assertEquals(ReceiverMode.DISABLED, supervisor.receiver(2).get().mode());
        assertNode2sRowsOn3(t, base);
        for (String table : List.of(t + "_acc", t + "_log", t + "_nokey")) {
            assertEquals(table + " recovered from donor 1", NODES.md5(1, table), NODES.md5(3, table));
        }
        assertEquals("nothing prepared on node 3", 0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts"));

        stateOf().plan = ReplicationPlan.NORMAL;
        assertIdenticalEverywhere(t, base, "200");
    }

    /**
     * Nodes 1 and 2 stream each other's slots: each stream carries the streaming node's own transactions as units of
     * another origin (the peer applied them from it). Once the writes stop, both slots are confirmed past every unit:
     * a node's own transaction is never one it may still need from the peer, whether or not it is still prepared
     * here when the peer's copy arrives.
     */
    @Test
    public void theSlotsNodesOneAndTwoStreamToEachOtherAreConfirmedPastEachOthersTransactions() throws Exception {
        String t = "r7";
        int base = 7000;
        createEverywhere(t);
        exchange();
        normalOn3(1); // node 3 keeps up, so that the tests after this one find it not behind
        normalOn3(2);
        for (int i = 0; i < 20; i++) {
            int origin = i % 2 + 1;
            commit(origin, "INSERT INTO " + t + "_log VALUES (" + (base + i) + ", " + origin + ")");
        }
        long end1 = NODES.count(1, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint");
        long end2 = NODES.count(2, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint");
        try {
            Await.until(WAIT, "mtm_slot_2 on node 1 and mtm_slot_1 on node 2 confirmed past the last transaction",
                    () -> confirmed(1, 2) >= end1 && confirmed(2, 1) >= end2);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": mtm_slot_2 on node 1 at " + Lsn.format(confirmed(1, 2)) + " of "
                    + Lsn.format(end1) + ", mtm_slot_1 on node 2 at " + Lsn.format(confirmed(2, 1)) + " of "
                    + Lsn.format(end2), e);
        }
        Await.until(WAIT, t + "_log identical on the three nodes", () -> NODES.md5(1, t + "_log").equals(NODES.md5(3, t + "_log"))
                && NODES.md5(2, t + "_log").equals(NODES.md5(3, t + "_log")));
    }

    /** {@code confirmed_flush_lsn} of node {@code on}'s slot for node {@code receiver}. */
    private static long confirmed(int on, int receiver) throws SQLException {
        return NODES.count(on, "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots"
                + " WHERE slot_name = 'mtm_slot_" + receiver + "'");
    }

    private TestClusterState stateOf() {
        return lastState;
    }

    private TestClusterState lastState;
}
