package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.CommitMessage;
import org.mtm.api.LocalDatabase;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.ReceiverInfo;
import org.mtm.api.ReceiverMode;
import org.mtm.api.ReplicatedDdl;
import org.mtm.testing.Await;

/**
 * The applier on real PostgreSQL 15 servers: node 1 (A) is the origin, where the test runs transactions
 * with plain JDBC as the gateway would; node 2 (B) runs a {@link Receiver} streaming from A's slot
 * {@code mtm_slot_2} and applying into B. Votes are recorded.
 */
public class ReplicationApplyTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final long LOCK_BOUND_MS = 500;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final RecordedVotes votes = new RecordedVotes();
    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    private Receiver startReceiver(int self, int peer, RecordedVotes sink, long lockBoundMs) {
        Receiver r = new Receiver(self, NODES.clusterNode(peer), NODES.node(self), sink,
                new ApplierSettings(lockBoundMs, 1)).start();
        receivers.add(r);
        return r;
    }

    private Receiver startReceiverOnB() {
        return startReceiver(B, A, votes, LOCK_BOUND_MS);
    }

    /** BEGIN; statements; PREPARE TRANSACTION 'MTM-1-<xid>-1' on A, as the gateway does; returns the gid. */
    private static String prepareOnA(String... statements) throws SQLException {
        return NODES.prepare(A, statements);
    }

    interface Work {
        void run(Statement st) throws SQLException;
    }

    /** BEGIN; work; PREPARE TRANSACTION 'MTM-1-<xid>-1' on A; returns the gid. */
    private static String prepareOnA(Work work) throws SQLException {
        try (Connection c = NODES.node(A).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            work.run(st);
            return NODES.prepareAsGateway(st, A);
        }
    }

    /** B votes for gid, A commits it, B applies the commit. */
    private void commitThroughB(String gid) throws Exception {
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        votes.await(Kind.COMMITTED, gid, WAIT);
    }

    private static void createOnBoth(String... ddl) throws SQLException {
        NODES.execEverywhere(ddl);
    }

    /** Rows written on A only (a plain transaction, replicated), then awaited on B. */
    private static void seedOnA(String table, String... sql) throws Exception {
        NODES.exec(A, sql);
        assertSameOnBoth(table);
    }

    private static void assertSameOnBoth(String table) throws Exception {
        Await.until(WAIT, table + " identical on A and B", () -> NODES.md5(A, table).equals(NODES.md5(B, table)));
        assertEquals(NODES.md5(A, table), NODES.md5(B, table));
    }

    // ---- apply lag (metrics) ---------------------------------------------------------------------------

    @Test
    public void applyLagShowsWhatWasReceivedButNotAppliedYet() throws Exception {
        createOnBoth("CREATE TABLE lagged (id int PRIMARY KEY)");
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(LOCK_BOUND_MS, 1));
        com.codahale.metrics.Meter applied = new com.codahale.metrics.Meter();
        r.lag().countTo(applied);
        receivers.add(r.start());
        seedOnA("lagged", "INSERT INTO lagged VALUES (1)");
        Await.until(WAIT, "nothing left to apply", () -> r.lag().bytes() == 0);
        assertEquals(0.0, r.lag().seconds(System.nanoTime()), 0.0);
        long before = applied.getCount();
        assertTrue("A's commit counted", before >= 1);

        try (Connection blocker = NODES.node(B).connect(); Statement st = blocker.createStatement()) {
            st.execute("BEGIN");
            st.execute("LOCK TABLE lagged IN ACCESS EXCLUSIVE MODE"); // B cannot apply A's next insert meanwhile
            NODES.exec(A, "INSERT INTO lagged VALUES (2)");
            Await.until(WAIT, "B received A's commit and is behind for a while",
                () -> r.lag().bytes() > 0 && r.lag().seconds(System.nanoTime()) > 0.3);
            st.execute("COMMIT");
        }
        Await.until(WAIT, "nothing left to apply once the lock is gone", () -> r.lag().bytes() == 0);
        assertSameOnBoth("lagged");
        assertEquals(0.0, r.lag().seconds(System.nanoTime()), 0.0);
        assertTrue("the second commit counted", applied.getCount() > before);
    }

    // ---- two-phase commit ------------------------------------------------------------------------------

    @Test
    public void preparedOnOriginIsPreparedHereWithTheSameGidThenCommitted() throws Exception {
        createOnBoth("CREATE TABLE tp (id int PRIMARY KEY, v text)");
        startReceiverOnB();
        seedOnA("tp", "INSERT INTO tp VALUES (1, 'one'), (2, 'two'), (3, 'three')");
        String gid = prepareOnA("INSERT INTO tp VALUES (4, 'four')", "UPDATE tp SET v = 'TWO' WHERE id = 2",
                "DELETE FROM tp WHERE id = 3", "UPDATE tp SET id = 10 WHERE id = 1");

        RecordedVotes.Sent vote = votes.await(Kind.PREPARED, gid, WAIT);
        assertEquals("the vote goes to the origin", A, vote.node());
        assertTrue("B holds a prepared transaction with the same gid", NODES.prepared(B, gid));
        assertEquals("nothing visible on B before the commit", "3", NODES.query(B, "SELECT count(*) FROM tp"));

        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        votes.await(Kind.COMMITTED, gid, WAIT);
        assertFalse(NODES.prepared(B, gid));
        assertSameOnBoth("tp");
        assertEquals("{2,4,10}", NODES.query(B, "SELECT array_agg(id ORDER BY id)::text FROM tp"));
        assertEquals(1, votes.count(Kind.PREPARED, gid));
        assertEquals(1, votes.count(Kind.COMMITTED, gid));
    }

    @Test
    public void rollbackPreparedOnOriginRollsBackHere() throws Exception {
        createOnBoth("CREATE TABLE rb (id int PRIMARY KEY)");
        startReceiverOnB();
        String gid = prepareOnA("INSERT INTO rb VALUES (1)");
        votes.await(Kind.PREPARED, gid, WAIT);
        assertTrue(NODES.prepared(B, gid));

        NODES.exec(A, "ROLLBACK PREPARED '" + gid + "'", "INSERT INTO rb VALUES (2)");
        Await.until(WAIT, "prepared copy rolled back on B", () -> !NODES.prepared(B, gid));
        assertSameOnBoth("rb");
        assertEquals("2", NODES.query(B, "SELECT string_agg(id::text, ',') FROM rb"));
        assertEquals(0, votes.count(Kind.COMMITTED, gid));
    }

    @Test
    public void theServersDeadlockTimeoutCapsTheLockBound() throws Exception {
        createOnBoth("CREATE TABLE dt (id int PRIMARY KEY, n int)");
        NODES.exec(B, "ALTER DATABASE mydb SET deadlock_timeout = '300ms'"); // read by the apply sessions opened next
        try {
            startReceiver(B, A, votes, 30_000);
            seedOnA("dt", "INSERT INTO dt VALUES (1, 0)");
            try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
                st.execute("BEGIN");
                st.execute("UPDATE dt SET n = 100 WHERE id = 1");
                String gid = prepareOnA("UPDATE dt SET n = n + 1 WHERE id = 1");
                // with the configured 30 s bound this vote would take 15-30 s
                CommitMessage m = votes.await(Kind.ABORTED, gid, Duration.ofSeconds(10)).message();
                java.util.regex.Matcher within = java.util.regex.Pattern.compile("not granted within (\\d+) ms").matcher(m.message());
                assertTrue(m.message(), within.find());
                long bound = Long.parseLong(within.group(1));
                assertTrue("bound " + bound + " ms: the upper half of deadlock_timeout", bound >= 150 && bound <= 300);
                st.execute("ROLLBACK");
                NODES.exec(A, "ROLLBACK PREPARED '" + gid + "'");
            }
        } finally {
            NODES.exec(B, "ALTER DATABASE mydb RESET deadlock_timeout");
        }
    }

    @Test
    public void lockHeldHereEndsInBoundedAbortVoteNamingTheRelation() throws Exception {
        createOnBoth("CREATE TABLE lk (id int PRIMARY KEY, n int)", "CREATE TABLE lk_log (id int)");
        Receiver r = startReceiverOnB();
        seedOnA("lk", "INSERT INTO lk VALUES (1, 0), (2, 0)");
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("UPDATE lk SET n = n + 100 WHERE id = 1"); // a local writer on B holds the row

            long start = System.nanoTime();
            // the wait happens when the UPDATE's batch runs, at the next statement: it still names lk
            String gid = prepareOnA("UPDATE lk SET n = n + 1 WHERE id = 1", "INSERT INTO lk_log VALUES (1)");
            RecordedVotes.Sent vote = votes.await(Kind.ABORTED, gid, Duration.ofMillis(LOCK_BOUND_MS + 10_000));
            long waitedMs = (vote.atNanos() - start) / 1_000_000;
            CommitMessage m = vote.message();
            assertEquals(A, vote.node());
            assertEquals("40P01", m.sqlState());
            assertTrue(m.message(), m.message().startsWith("[multimaster] node 2 could not apply transaction " + gid));
            assertTrue(m.message(), m.message().contains("relation public.lk not granted"));
            assertTrue(m.message(), m.message().endsWith("conflicting with a concurrent transaction; retry"));
            assertTrue("waited for (the upper half of) the lock bound, got " + waitedMs + " ms", waitedMs >= LOCK_BOUND_MS / 2);
            assertTrue("bounded wait, got " + waitedMs + " ms", waitedMs < LOCK_BOUND_MS + 9000);
            assertFalse("nothing prepared on B", NODES.prepared(B, gid));
            assertEquals(0, votes.count(Kind.PREPARED, gid));

            NODES.exec(A, "ROLLBACK PREPARED '" + gid + "'");
            st.execute("ROLLBACK");
        }
        // the stream goes on: the next transaction applies
        String next = prepareOnA("UPDATE lk SET n = n + 1 WHERE id = 2");
        votes.await(Kind.PREPARED, next, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + next + "'");
        assertSameOnBoth("lk");
        assertEquals("a conflict is a vote, never a receiver failure", 0, r.failures());
    }

    /**
     * A cancellation the receiver did not ask for (deadlock prevention's cancel landing a moment late, on the
     * next transaction's lock wait; an administrator's pg_cancel_backend) is a conflict: a no-vote that the
     * client retries, not a failure of the receiver and of everything it was applying.
     */
    @Test
    public void aCancelledApplyVotesDownInsteadOfFailingTheReceiver() throws Exception {
        createOnBoth("CREATE TABLE sc (id int PRIMARY KEY, n int)");
        Receiver r = startReceiver(B, A, votes, 30_000);
        seedOnA("sc", "INSERT INTO sc VALUES (1, 0)");
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM sc FOR UPDATE");
            String gid = prepareOnA("UPDATE sc SET n = n + 1");
            Await.until(WAIT, "the apply waits for the row", () -> NODES.count(B, "SELECT count(*) FROM pg_stat_activity"
                    + " WHERE application_name = 'mtm_apply_1' AND wait_event_type = 'Lock'") == 1);
            NODES.exec(B, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'mtm_apply_1'");
            CommitMessage no = votes.await(Kind.ABORTED, gid, Duration.ofSeconds(15)).message();
            assertEquals("40P01", no.sqlState());
            NODES.exec(A, "ROLLBACK PREPARED '" + gid + "'");
            st.execute("ROLLBACK");
        }
        String next = prepareOnA("UPDATE sc SET n = n + 10");
        votes.await(Kind.PREPARED, next, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + next + "'");
        assertSameOnBoth("sc");
        assertEquals("10", NODES.query(B, "SELECT n FROM sc"));
        assertEquals("the receiver did not fail", 0, r.failures());
    }

    // ---- DDL, TRUNCATE, column kinds, replica identity -------------------------------------------------

    private static void emit(Statement st, String prefix, byte[] content) throws SQLException {
        try (PreparedStatement ps = st.getConnection().prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, prefix);
            ps.setBytes(2, content);
            ps.execute();
        }
    }

    /** The gateway's way of running a global DDL statement inside the transaction. */
    private static void ddl(Statement st, String searchPath, String role, String statement) throws SQLException {
        emit(st, ReplicatedDdl.PREFIX, new ReplicatedDdl(searchPath, role, statement).encode());
        st.execute("SET LOCAL search_path = " + searchPath);
        st.execute("SET LOCAL ROLE " + role);
        st.execute(statement);
        st.execute("RESET ROLE");
        st.execute("RESET search_path");
        emit(st, ReplicatedDdl.END_PREFIX, new byte[0]);
    }

    @Test
    public void ddlRunsHereOnceWithTheOriginsSearchPathAndRoleAndItsRowsAreNotAppliedTwice() throws Exception {
        createOnBoth("DO $$BEGIN CREATE ROLE ddl_owner; EXCEPTION WHEN duplicate_object THEN NULL; END$$",
                "CREATE SCHEMA ddl_s AUTHORIZATION ddl_owner");
        startReceiverOnB();
        commitThroughB(prepareOnA(st -> {
            ddl(st, "ddl_s, public", "ddl_owner",
                    "CREATE TABLE made AS SELECT g AS id, 'row ' || g AS v FROM generate_series(1, 5) g");
            st.execute("INSERT INTO ddl_s.made VALUES (6, 'row 6')");
            ddl(st, "ddl_s", "ddl_owner", "ALTER TABLE made ADD PRIMARY KEY (id)");
            st.execute("UPDATE ddl_s.made SET v = 'six' WHERE id = 6");
        }));

        assertEquals("6", NODES.query(B, "SELECT count(*) FROM ddl_s.made"));
        assertEquals("ddl_owner", NODES.query(B, "SELECT tableowner FROM pg_tables WHERE schemaname = 'ddl_s' AND tablename = 'made'"));
        assertEquals("made_pkey", NODES.query(B, "SELECT conname FROM pg_constraint WHERE conrelid = 'ddl_s.made'::regclass"));
        assertSameOnBoth("ddl_s.made");

        // later changes to the new table go by its new relation description
        NODES.exec(A, "UPDATE ddl_s.made SET v = 'one' WHERE id = 1", "DELETE FROM ddl_s.made WHERE id = 2");
        assertSameOnBoth("ddl_s.made");
    }

    @Test
    public void rowsAfterAColumnChangedTypeAreAppliedWithTheNewType() throws Exception {
        // the regression file plpgsql: UPDATE, ALTER COLUMN name TYPE int, UPDATE again. The second UPDATE's text was the
        // first one's, and pgjdbc handed back the statement the server had prepared with its parameter typed text: it
        // failed here ("column "name" is of type integer but expression is of type text"), the commit refused. In the
        // cluster another apply worker's session runs the ALTER; here it runs beside the receiver's session
        createOnBoth("CREATE TABLE retyped (id int PRIMARY KEY, name text)");
        startReceiverOnB();
        seedOnA("retyped", "INSERT INTO retyped VALUES (1, '1'), (2, '2'), (3, '3')",
                "UPDATE retyped SET name = name || name", "UPDATE retyped SET name = name || '0'");
        NODES.execEverywhere("ALTER TABLE retyped ALTER COLUMN name TYPE int USING name::integer");
        commitThroughB(prepareOnA("UPDATE retyped SET name = name * 2", "INSERT INTO retyped VALUES (4, 44)"));
        assertEquals("1:220,2:440,3:660,4:44", NODES.query(B, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM retyped"));
        assertSameOnBoth("retyped");
    }

    @Test
    public void rowsAnEventTriggerWroteDuringDdlAreAppliedFromTheOrigin() throws Exception {
        // a DDL audit log: the trigger fires on the origin only (appliers run as replica), so its rows, with the
        // origin's sequence values and times, must come from the origin (they were skipped: a silent divergence)
        createOnBoth("CREATE TABLE ddl_audit (id serial PRIMARY KEY, tag text, at timestamptz DEFAULT clock_timestamp())",
                "CREATE FUNCTION audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN"
                        + " INSERT INTO public.ddl_audit (tag) VALUES (tg_tag); END $f$",
                "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit_ddl()");
        startReceiverOnB();
        commitThroughB(prepareOnA(st -> {
            ddl(st, "public", "none", "CREATE TABLE audited (id int PRIMARY KEY)");
            ddl(st, "public", "none", "ALTER TABLE audited ADD COLUMN v text");
        }));
        assertEquals("2", NODES.query(B, "SELECT count(*) FROM ddl_audit"));
        assertSameOnBoth("ddl_audit");
        assertEquals("v", NODES.query(B, "SELECT attname FROM pg_attribute WHERE attrelid = 'audited'::regclass AND attnum = 2"));
    }

    @Test
    public void ddlRunsWithTheOriginSessionsVolkswagenModeAndTheApplierGoesBackToOff() throws Exception {
        // mtm.volkswagen_mode travels with the DDL text (the stride trigger reads it on every node): a statement of a
        // session with the mode on runs with it on here, and the applier's own session is off again afterwards
        createOnBoth("CREATE TABLE vw_a (id int PRIMARY KEY)", "CREATE TABLE vw_b (id int PRIMARY KEY)");
        startReceiverOnB();
        String note = "DO $d$BEGIN EXECUTE pg_catalog.format('COMMENT ON TABLE public.%s IS %L', '%T',"
                + " pg_catalog.current_setting('mtm.volkswagen_mode', true)); END$d$";
        commitThroughB(prepareOnA(st -> {
            String on = note.replace("%T", "vw_a");
            emit(st, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "", on, "",
                    "{\"DateStyle\": \"ISO, MDY\", \"" + ReplicatedDdl.VOLKSWAGEN_MODE + "\": \"on\"}").encode());
            st.execute("SET LOCAL mtm.volkswagen_mode = on");
            st.execute(on);
            st.execute("SET LOCAL mtm.volkswagen_mode = off");
            emit(st, ReplicatedDdl.END_PREFIX, new byte[0]);
            ddl(st, "public", "none", note.replace("%T", "vw_b"));
        }));
        assertEquals("on", NODES.query(B, "SELECT obj_description('public.vw_a'::regclass, 'pg_class')"));
        assertEquals("off", NODES.query(B, "SELECT obj_description('public.vw_b'::regclass, 'pg_class')"));
    }

    /** The gateway's way of running CREATE TABLE ... AS / SELECT ... INTO: the message names the table created. */
    private static void creatingDdl(Statement st, String searchPath, String statement, String created) throws SQLException {
        emit(st, ReplicatedDdl.PREFIX, new ReplicatedDdl(searchPath, "", statement, created).encode());
        st.execute("SET LOCAL search_path = " + searchPath);
        st.execute(statement);
        st.execute("RESET search_path");
        emit(st, ReplicatedDdl.END_PREFIX, new byte[0]);
    }

    @Test
    public void createTableAsAndSelectIntoCarryTheOriginsRows() throws Exception {
        createOnBoth("CREATE TABLE ctas_existing (id int PRIMARY KEY)");
        startReceiverOnB();
        seedOnA("ctas_existing", "INSERT INTO ctas_existing VALUES (1)");
        commitThroughB(prepareOnA(st -> {
            // each node would compute other values, and another number of rows
            creatingDdl(st, "public", "CREATE TABLE ctas_random AS SELECT g AS id, random() AS r FROM generate_series(1,"
                    + " 50) g WHERE random() < 0.7", "ctas_random");
            creatingDdl(st, "public", "SELECT g AS id, clock_timestamp() AS at INTO TABLE ctas_into"
                    + " FROM generate_series(1, 20) g", "ctas_into");
            // IF NOT EXISTS on a table that exists: nothing is created, nothing emptied
            creatingDdl(st, "public", "CREATE TABLE IF NOT EXISTS ctas_existing AS SELECT 2 AS id", "ctas_existing");
            st.execute("INSERT INTO ctas_random VALUES (100, 0.5)");
        }));
        assertSameOnBoth("ctas_random");
        assertSameOnBoth("ctas_into");
        assertEquals("20", NODES.query(B, "SELECT count(*) FROM ctas_into"));
        assertEquals("1", NODES.query(B, "SELECT string_agg(id::text, ',') FROM ctas_existing"));
        assertEquals(NODES.query(A, "SELECT count(*) FROM ctas_random"), NODES.query(B, "SELECT count(*) FROM ctas_random"));
    }

    @Test
    public void aCarriedValueGivesTheRowsAlreadyThereTheOriginsValue() throws Exception {
        // ALTER TABLE ... ADD COLUMN ... DEFAULT now(): each node would keep its own now() for the rows already there;
        // the origin carries its value (the mtm schema's event trigger, made here by hand)
        createOnBoth("CREATE TABLE carried (id int PRIMARY KEY)");
        startReceiverOnB();
        seedOnA("carried", "INSERT INTO carried VALUES (1), (2)");
        String carried = "ALTER TABLE public.carried ALTER COLUMN at TYPE timestamp with time zone"
                + " USING '2001-02-03 04:05:06.789+00'::timestamp with time zone";
        commitThroughB(prepareOnA(st -> {
            String statement = "ALTER TABLE carried ADD COLUMN at timestamptz DEFAULT now(), ADD COLUMN d date"
                    + " DEFAULT CURRENT_DATE";
            emit(st, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "", statement).encode());
            st.execute(statement);
            st.execute(carried);
            emit(st, ReplicatedDdl.VALUE_PREFIX, carried.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            emit(st, ReplicatedDdl.END_PREFIX, new byte[0]);
            st.execute("INSERT INTO carried VALUES (3, '2003-01-01 00:00:00+00')");
        }));
        assertSameOnBoth("carried");
        assertEquals("1|true,2|true,3|false", NODES.query(B, "SELECT string_agg(id || '|' || (at = '2001-02-03 04:05:06.789+00'),"
                + " ',' ORDER BY id) FROM carried"));
    }

    @Test
    public void aDdlStatementTheOriginMarksNodeLocalIsNotRunHere() throws Exception {
        // CREATE FUNCTION ... RETURNS SETOF <a temporary table's stand-in>: the type is on the origin only
        createOnBoth("CREATE TABLE local_ddl (id int PRIMARY KEY)");
        startReceiverOnB();
        NODES.exec(A, "CREATE SCHEMA local_ddl_only", "CREATE TABLE local_ddl_only.t (a int)");
        commitThroughB(prepareOnA(st -> {
            String statement = "CREATE FUNCTION local_ddl_f() RETURNS SETOF local_ddl_only.t LANGUAGE sql AS $$ SELECT 1 $$";
            emit(st, ReplicatedDdl.PREFIX, new ReplicatedDdl("public", "", statement).encode());
            st.execute(statement);
            emit(st, ReplicatedDdl.LOCAL_PREFIX, new byte[0]);
            emit(st, ReplicatedDdl.END_PREFIX, new byte[0]);
            ddl(st, "public", "none", "COMMENT ON TABLE local_ddl IS 'on both'");
            st.execute("INSERT INTO local_ddl VALUES (1)");
        }));
        assertSameOnBoth("local_ddl");
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM pg_proc WHERE proname = 'local_ddl_f'"));
        assertEquals("on both", NODES.query(B, "SELECT obj_description('local_ddl'::regclass, 'pg_class')"));
    }

    @Test
    public void anUnchangedDomainValueUnderANotValidConstraintIsNotCheckedAgain() throws Exception {
        createOnBoth("CREATE DOMAIN nv_pos AS int", "CREATE DOMAIN nv_flag AS boolean",
                "CREATE TABLE nv (id int PRIMARY KEY, v nv_pos, f nv_flag, w text)");
        startReceiverOnB();
        seedOnA("nv", "INSERT INTO nv VALUES (1, -1, true, 'a'), (2, 5, NULL, 'b'), (3, NULL, false, 'c')");
        NODES.exec(A, "ALTER DOMAIN nv_pos ADD CONSTRAINT nv_positive CHECK (VALUE > 0) NOT VALID");
        NODES.exec(B, "ALTER DOMAIN nv_pos ADD CONSTRAINT nv_positive CHECK (VALUE > 0) NOT VALID");
        // the origin checks only what the UPDATE assigns; the peer receives every column
        commitThroughB(prepareOnA("UPDATE nv SET w = w || '!'", "UPDATE nv SET v = 7, f = NULL WHERE id = 3"));
        assertSameOnBoth("nv");
        assertEquals("1|-1|t|a!,2|5|b!,3|7|c!", NODES.query(B, // concat_ws skips NULLs
                "SELECT string_agg(concat_ws('|', id, v, f, w), ',' ORDER BY id) FROM nv"));
    }

    @Test
    public void aDomainValueUnderANotValidConstraintStillFindsItsRowByAllColumns() throws Exception {
        // the regression file domain: UPDATE thethings SET stuff = 10 of a row holding 55 under NOT VALID CHECK (VALUE < 11)
        createOnBoth("CREATE DOMAIN nv_small AS int", "CREATE TABLE nv_full (stuff nv_small)",
                "ALTER TABLE nv_full REPLICA IDENTITY FULL");
        startReceiverOnB();
        seedOnA("nv_full", "INSERT INTO nv_full VALUES (55)");
        NODES.exec(A, "ALTER DOMAIN nv_small ADD CONSTRAINT meow CHECK (VALUE < 11) NOT VALID");
        NODES.exec(B, "ALTER DOMAIN nv_small ADD CONSTRAINT meow CHECK (VALUE < 11) NOT VALID");
        commitThroughB(prepareOnA("UPDATE nv_full SET stuff = 10"));
        assertEquals("10", NODES.query(B, "SELECT string_agg(stuff::text, ',') FROM nv_full"));
        commitThroughB(prepareOnA("DELETE FROM nv_full"));
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM nv_full"));
    }

    @Test
    public void rowsOfATableWithoutColumnsAreApplied() throws Exception {
        // the regression file vacuum: CREATE TABLE past_inh_child () INHERITS (past_inh_parent); INSERT ... DEFAULT VALUES
        createOnBoth("CREATE TABLE no_cols ()");
        startReceiverOnB();
        commitThroughB(prepareOnA("INSERT INTO no_cols DEFAULT VALUES", "INSERT INTO no_cols DEFAULT VALUES"));
        assertEquals("2", NODES.query(B, "SELECT count(*) FROM no_cols"));
    }

    @Test
    public void aFunctionBodyIsNotCheckedAgainHere() throws Exception {
        // the body reads a table of the origin only (a temporary table's stand-in): checked there, not here
        NODES.exec(A, "CREATE TABLE only_on_a (f1 int)");
        startReceiverOnB();
        commitThroughB(prepareOnA(st -> ddl(st, "public", "none",
                "CREATE FUNCTION count_only_on_a() RETURNS int8 LANGUAGE sql AS 'SELECT count(*) FROM only_on_a'")));
        assertEquals("1", NODES.query(B, "SELECT count(*) FROM pg_proc WHERE proname = 'count_only_on_a'"));
        assertEquals("on", NODES.query(B, "SHOW check_function_bodies"));
    }

    @Test
    public void truncateOfATableReferencedFromAPartitionedTable() throws Exception {
        // pgoutput lists the partitions, not the partitioned table whose foreign key references the other one
        createOnBoth("CREATE TABLE tp_prim (a int PRIMARY KEY)",
                "CREATE TABLE tp_part (a int REFERENCES tp_prim) PARTITION BY RANGE (a)",
                "CREATE TABLE tp_part_1 PARTITION OF tp_part FOR VALUES FROM (0) TO (100)");
        startReceiverOnB();
        seedOnA("tp_part_1", "INSERT INTO tp_prim VALUES (1), (2)", "INSERT INTO tp_part VALUES (1), (2)");
        commitThroughB(prepareOnA("TRUNCATE tp_prim, tp_part"));
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM tp_prim"));
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM tp_part"));
    }

    @Test
    public void truncateWithCascadeAndRestartIdentity() throws Exception {
        createOnBoth("CREATE TABLE tr_parent (id serial PRIMARY KEY, v text)",
                "CREATE TABLE tr_child (id int PRIMARY KEY, parent int REFERENCES tr_parent)");
        startReceiverOnB();
        NODES.exec(A, "INSERT INTO tr_parent (v) VALUES ('a'), ('b')", "INSERT INTO tr_child VALUES (1, 1), (2, 2)");
        assertSameOnBoth("tr_child");
        NODES.exec(B, "SELECT nextval('tr_parent_id_seq')"); // B's own sequence moved

        String gid = prepareOnA("TRUNCATE tr_parent RESTART IDENTITY CASCADE", "INSERT INTO tr_parent (v) VALUES ('c')");
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        votes.await(Kind.COMMITTED, gid, WAIT);
        assertSameOnBoth("tr_parent");
        assertSameOnBoth("tr_child");
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM tr_child"));
        assertEquals("1|c", NODES.query(B, "SELECT id || '|' || v FROM tr_parent"));
        assertEquals("RESTART IDENTITY reset B's sequence", "f", NODES.query(B, "SELECT is_called FROM tr_parent_id_seq"));
    }

    @Test
    public void nullsUnchangedToastAndTypesSurviveUpdates() throws Exception {
        createOnBoth("CREATE TABLE tt (id int PRIMARY KEY, big text, small text, n numeric(10,2), ts timestamptz,"
                + " tags text[], doc jsonb, flag bool, raw bytea, u uuid)");
        startReceiverOnB();
        String big = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g)"; // 12.8 kB, stored out of line
        NODES.exec(A, "INSERT INTO tt VALUES (1, " + big + ", 'a', NULL, '2024-02-29 12:34:56.789+03', '{x,\"y z\",NULL}',"
                + " '{\"k\": [1, 2]}', true, '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
                "INSERT INTO tt (id) VALUES (2)");
        assertSameOnBoth("tt");
        assertEquals("the big value is TOASTed on A", "t",
                NODES.query(A, "SELECT pg_column_size(big) < length(big) OR pg_column_size(big) > 2000 FROM tt WHERE id = 1"));

        // big is unchanged: pgoutput sends it as 'u', the applier leaves it out of SET
        String gid = prepareOnA("UPDATE tt SET small = 'b', n = 12.5 WHERE id = 1", "UPDATE tt SET small = NULL, flag = NULL WHERE id = 1",
                "UPDATE tt SET big = 'now small', n = -1 WHERE id = 2");
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        assertSameOnBoth("tt");
        assertEquals(NODES.query(A, "SELECT md5(big) FROM tt WHERE id = 1"), NODES.query(B, "SELECT md5(big) FROM tt WHERE id = 1"));
        assertNull(NODES.query(B, "SELECT small FROM tt WHERE id = 1"));
    }

    @Test
    public void replicaIdentityFullChangesExactlyOneOfDuplicateRows() throws Exception {
        createOnBoth("CREATE TABLE fu (a int, j json, p point, t text)", "ALTER TABLE fu REPLICA IDENTITY FULL");
        startReceiverOnB();
        NODES.exec(A, "INSERT INTO fu VALUES (1, '{\"x\": 1}', '(1,2)', 'dup'), (1, '{\"x\": 1}', '(1,2)', 'dup'),"
                + " (2, NULL, NULL, NULL), (3, '[]', '(0,0)', 'three')");
        assertSameOnBoth("fu");
        String gid = prepareOnA("UPDATE fu SET t = 'changed' WHERE ctid = (SELECT ctid FROM fu WHERE a = 1 LIMIT 1)",
                "DELETE FROM fu WHERE a = 2", "UPDATE fu SET p = '(5,5)' WHERE a = 3");
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        assertSameOnBoth("fu");
        assertEquals("dup,changed", NODES.query(B, "SELECT string_agg(t, ',' ORDER BY t DESC) FROM fu WHERE a = 1"));
    }

    @Test
    public void aTableCreatedWithoutPrimaryKeyGetsFullIdentityHereAndItsDuplicatesStayExact() throws Exception {
        startReceiverOnB();
        commitThroughB(prepareOnA(st -> {
            ddl(st, "public", "mtmuser", "CREATE TABLE np (a int, t text)");
            st.execute("SELECT count(*) FROM mtm.ensure_replica_identity()"); // what the origin's gateway runs after DDL
            st.execute("INSERT INTO np VALUES (1, 'dup'), (1, 'dup'), (2, 'two')");
        }));
        assertEquals("the applier gave the new table REPLICA IDENTITY FULL", "f",
                NODES.query(B, "SELECT relreplident FROM pg_class WHERE oid = 'public.np'::regclass"));

        commitThroughB(prepareOnA("UPDATE np SET t = 'one' WHERE ctid = (SELECT ctid FROM np WHERE a = 1 LIMIT 1)",
                "DELETE FROM np WHERE a = 2"));
        assertSameOnBoth("np");
        assertEquals("dup,one", NODES.query(B, "SELECT string_agg(t, ',' ORDER BY t) FROM np"));
    }

    @Test
    public void ignoreTablesWithoutPkLeavesThoseTablesLocal() throws Exception {
        createOnBoth("CREATE TABLE ig_pk (id int PRIMARY KEY)", "CREATE TABLE ig_nopk (a int)",
                "SELECT count(*) FROM mtm.ensure_replica_identity()");
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes,
                new ApplierSettings(LOCK_BOUND_MS, 1, DeadlockPrevention.OFF, true)).start();
        receivers.add(r);
        commitThroughB(prepareOnA("INSERT INTO ig_pk VALUES (1)", "INSERT INTO ig_nopk VALUES (1), (1)",
                "UPDATE ig_nopk SET a = 2 WHERE ctid = (SELECT ctid FROM ig_nopk LIMIT 1)"));
        assertSameOnBoth("ig_pk");
        assertEquals("the table with a primary key is replicated", "1", NODES.query(B, "SELECT count(*) FROM ig_pk"));
        assertEquals("the table without one is not", "0", NODES.query(B, "SELECT count(*) FROM ig_nopk"));

        // a primary key added later (replicated DDL) makes the table replicated from then on
        commitThroughB(prepareOnA(st -> {
            st.execute("DELETE FROM ig_nopk");
            ddl(st, "public", "mtmuser", "ALTER TABLE ig_nopk ADD PRIMARY KEY (a)");
            st.execute("INSERT INTO ig_nopk VALUES (7)");
        }));
        assertSameOnBoth("ig_nopk");
        assertEquals("7", NODES.query(B, "SELECT string_agg(a::text, ',') FROM ig_nopk"));
    }

    // ---- what is not applied ------------------------------------------------------------------------------

    @Test
    public void plainTransactionsUserGidsLocalTablesAndTheMtmSchema() throws Exception {
        createOnBoth("CREATE TABLE pl (id int PRIMARY KEY)", "CREATE TABLE loc (id int PRIMARY KEY)",
                "CREATE TABLE mtm.node_state (k text PRIMARY KEY, v text)");
        startReceiverOnB();
        NODES.exec(A, "INSERT INTO pl VALUES (1)", "INSERT INTO mtm.node_state VALUES ('a', 'only on A')",
                "INSERT INTO mtm.local_tables VALUES ('public', 'loc')");
        assertSameOnBoth("pl");
        assertSameOnBoth("mtm.local_tables");
        NODES.exec(A, "INSERT INTO loc VALUES (1)", "INSERT INTO pl VALUES (2)");
        assertSameOnBoth("pl");
        assertEquals("changes of a local table are not applied", "0", NODES.query(B, "SELECT count(*) FROM loc"));
        assertEquals("node-local mtm state is not applied", "0", NODES.query(B, "SELECT count(*) FROM mtm.node_state"));

        // a user's own two-phase transaction: prepared with the same gid, no vote
        NODES.exec(A, "BEGIN; INSERT INTO pl VALUES (3); PREPARE TRANSACTION 'user tx ''quoted'''");
        Await.until(WAIT, "user gid prepared on B", () -> NODES.prepared(B, "user tx ''quoted''"));
        NODES.exec(A, "COMMIT PREPARED 'user tx ''quoted'''");
        assertSameOnBoth("pl");
        assertEquals("no vote for transactions without an MTM gid", List.of(), votes.all());
    }

    @Test
    public void transactionsAppliedFromElsewhereAreNotSentBack() throws Exception {
        createOnBoth("CREATE TABLE both_ways (id int PRIMARY KEY, origin int)");
        RecordedVotes votesOnA = new RecordedVotes();
        startReceiverOnB();
        startReceiver(A, B, votesOnA, LOCK_BOUND_MS); // A also applies what B streams
        String gidA = prepareOnA("INSERT INTO both_ways VALUES (1, 1)");
        votes.await(Kind.PREPARED, gidA, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gidA + "'");
        votes.await(Kind.COMMITTED, gidA, WAIT);

        String gidB;
        try (Connection c = NODES.node(B).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO both_ways VALUES (2, 2)");
            gidB = NODES.prepareAsGateway(st, B);
        }
        assertEquals(B, votesOnA.await(Kind.PREPARED, gidB, WAIT).node());
        NODES.exec(B, "COMMIT PREPARED '" + gidB + "'", "INSERT INTO both_ways VALUES (3, 2)");
        votesOnA.await(Kind.COMMITTED, gidB, WAIT);
        assertSameOnBoth("both_ways");
        assertEquals("1:1,2:2,3:2", NODES.query(A, "SELECT string_agg(id || ':' || origin, ',' ORDER BY id) FROM both_ways"));
        assertEquals("A's transaction came back to A neither as a vote nor as a prepare", 0, votesOnA.of(gidA).size());
        assertEquals(0, votes.of(gidB).size());
    }

    // ---- restarts ----------------------------------------------------------------------------------------

    @Test
    public void receiverRestartedAfterPrepareVotesAgainAndAppliesNothingTwice() throws Exception {
        createOnBoth("CREATE TABLE rs (id int PRIMARY KEY, n int)");
        Receiver first = startReceiverOnB();
        seedOnA("rs", "INSERT INTO rs VALUES (1, 0)");
        String gid = prepareOnA("UPDATE rs SET n = n + 1", "INSERT INTO rs VALUES (2, 0)");
        votes.await(Kind.PREPARED, gid, WAIT);
        first.stop();
        votes.clear();

        startReceiverOnB();
        assertEquals("voted again on restart", A, votes.await(Kind.PREPARED, gid, WAIT).node());
        assertTrue(NODES.prepared(B, gid));
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        votes.await(Kind.COMMITTED, gid, WAIT);
        assertSameOnBoth("rs");
        assertEquals("1,0", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM rs"));
    }

    @Test
    public void receiverStoppedWhileWaitingForALockStopsPromptlyAndLosesNothing() throws Exception {
        createOnBoth("CREATE TABLE st (id int PRIMARY KEY, n int)");
        Receiver patient = startReceiver(B, A, votes, 60_000);
        seedOnA("st", "INSERT INTO st VALUES (1, 0)");
        String gid;
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM st WHERE id = 1 FOR UPDATE");
            gid = prepareOnA("INSERT INTO st VALUES (2, 0)", "UPDATE st SET n = n + 1 WHERE id = 1");
            Await.until(WAIT, "the apply backend waits for the lock", () -> NODES.count(B,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mtm_apply_1' AND wait_event_type = 'Lock'") == 1);
            long start = System.nanoTime();
            patient.stop();
            // (not the 60 s lock wait, nor the 10 s the stop waits for its thread at most)
            assertTrue("stop returns promptly", System.nanoTime() - start < 8_000_000_000L);
            st.execute("ROLLBACK");
        }
        assertEquals("no vote for an interrupted apply", 0, votes.of(gid).size());
        assertFalse(NODES.prepared(B, gid));

        startReceiverOnB();
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        votes.await(Kind.COMMITTED, gid, WAIT);
        assertSameOnBoth("st");
        assertEquals("1", NODES.query(B, "SELECT n FROM st WHERE id = 1"));
    }

    @Test
    public void killOfThisNodesPostgresAppliesEverythingExactlyOnce() throws Exception {
        createOnBoth("CREATE TABLE kl (n int)", "ALTER TABLE kl REPLICA IDENTITY FULL"); // no key: a duplicate would show
        startReceiverOnB();
        String committed = prepareOnA("INSERT INTO kl VALUES (0)");
        votes.await(Kind.PREPARED, committed, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + committed + "'");
        String pending = prepareOnA("INSERT INTO kl VALUES (-1)");
        votes.await(Kind.PREPARED, pending, WAIT);

        // plain transactions keep streaming while B's PostgreSQL is killed
        Thread writer = new Thread(() -> {
            try (Connection c = NODES.node(A).connect(); Statement st = c.createStatement()) {
                for (int i = 1; i <= 300; i++) {
                    st.execute("INSERT INTO kl VALUES (" + i + ")");
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        Await.until(WAIT, "B applied some of them", () -> NODES.count(B, "SELECT count(*) FROM kl") > 20);
        NODES.node(B).kill();
        writer.join();
        votes.clear();
        NODES.node(B).start();

        assertEquals("the PREPARE survived the crash and is voted again", A, votes.await(Kind.PREPARED, pending, WAIT).node());
        NODES.exec(A, "COMMIT PREPARED '" + pending + "'");
        votes.await(Kind.COMMITTED, pending, WAIT);
        assertSameOnBoth("kl");
        assertEquals("302", NODES.query(B, "SELECT count(*) FROM kl"));
        assertEquals("302", NODES.query(B, "SELECT count(DISTINCT n) FROM kl"));
    }

    @Test
    public void prepareOfAnOlderGenerationIsRefused() throws Exception {
        createOnBoth("CREATE TABLE og (id int PRIMARY KEY)");
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(LOCK_BOUND_MS, 1), () -> 2L, 1)
                .start();
        receivers.add(r);
        String gid = prepareOnA("INSERT INTO og VALUES (1)"); // stamped with generation 1
        CommitMessage m = votes.await(Kind.ABORTED, gid, WAIT).message();
        assertEquals("40001", m.sqlState());
        assertTrue(m.message(), m.message().contains("prepared in generation 1 but node 2 is in generation 2"));
        assertFalse(NODES.prepared(B, gid));
        NODES.exec(A, "ROLLBACK PREPARED '" + gid + "'");
    }

    @Test
    public void aNodeThatIsNotOnlineRetriesInsteadOfVotingDown() throws Exception {
        createOnBoth("CREATE TABLE nol (id int PRIMARY KEY, n int)");
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(LOCK_BOUND_MS, 1),
                () -> -1L, 1).start();
        receivers.add(r);
        seedOnA("nol", "INSERT INTO nol VALUES (1, 0)");
        String gid;
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM nol FOR UPDATE");
            gid = prepareOnA("UPDATE nol SET n = n + 1");
            // several lock bounds pass: the receiver retries, it never votes the transaction down
            Await.until(WAIT, "a retry after the lock bound", () -> NODES.count(B,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mtm_apply_1' AND wait_event_type = 'Lock'"
                            + " AND state_change > now() - interval '400 ms' AND backend_start > now() - interval '2 s'") == 1);
            assertEquals(0, votes.count(Kind.ABORTED, gid));
            st.execute("ROLLBACK");
        }
        votes.await(Kind.PREPARED, gid, WAIT);
        assertEquals(0, votes.count(Kind.ABORTED, gid));
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        assertSameOnBoth("nol");
    }

    // ---- the DS component, without OSGi -----------------------------------------------------------------

    @Test
    public void supervisorRunsOneReceiverPerConfiguredPeerAndReportsIt() throws Exception {
        createOnBoth("CREATE TABLE sv (id int PRIMARY KEY)");
        ReceiverSupervisor supervisor = new ReceiverSupervisor(NODES.node(B), votes, new ApplierSettings(LOCK_BOUND_MS, 4));
        try {
            assertEquals("no configuration, no receivers", Optional.empty(), supervisor.receiver(A));
            supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(B, List.of(NODES.clusterNode(A), NODES.clusterNode(B)))));
            assertEquals("no receiver for itself", Optional.empty(), supervisor.receiver(B));
            Await.until(WAIT, "receiver for node 1 streaming", () -> supervisor.receiver(A).get().mode() == ReceiverMode.NORMAL);
            ReceiverInfo info = supervisor.receiver(A).get();
            assertEquals(NODES.query(A, "SELECT pid FROM pg_stat_replication WHERE application_name = 'mtm_receiver_2'"),
                    String.valueOf(info.senderPid()));
            assertEquals(NODES.query(B, "SELECT pid FROM pg_stat_activity WHERE application_name = 'mtm_apply_1'"),
                    String.valueOf(info.receiverPid()));
            assertEquals(1, info.workers());

            String gid = prepareOnA("INSERT INTO sv VALUES (1)");
            votes.await(Kind.PREPARED, gid, WAIT);
            NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
            votes.await(Kind.COMMITTED, gid, WAIT);
            assertSameOnBoth("sv");

            supervisor.clusterConfigChanged(Optional.empty());
            assertEquals(Optional.empty(), supervisor.receiver(A));
            // a backend leaves pg_stat_activity shortly after its client closed the socket, not at once
            Await.until(WAIT, "the apply connection is closed", () -> NODES.count(B,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mtm_apply_1'") == 0);
        } finally {
            supervisor.deactivate();
        }
        Await.until(WAIT, "walsender gone", () -> NODES.count(A,
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'mtm_receiver_2'") == 0);
    }

    @Test
    public void votesAndAcknowledgementsGoAgainToTheirCoordinatorWhenItIsReachable() throws Exception {
        createOnBoth("CREATE TABLE rv (id int PRIMARY KEY)");
        NODES.exec(B, "UPDATE mtm.applied_xacts SET applied_at = now() - interval '2 minutes'"); // earlier tests' commits
        ReceiverSupervisor supervisor = new ReceiverSupervisor(NODES.node(B), votes, new ApplierSettings(LOCK_BOUND_MS, 1));
        try {
            supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(B, List.of(NODES.clusterNode(A), NODES.clusterNode(B)))));
            String gid = prepareOnA("INSERT INTO rv VALUES (1)");
            votes.await(Kind.PREPARED, gid, WAIT);
            // say the vote went out while the link to node 1 was down (this node restarting): it was lost, and node 1
            // would wait for it; when node 1 is reachable again, the vote goes again
            assertEquals(1, supervisor.resendVotes(A));
            assertEquals(2, votes.count(Kind.PREPARED, gid));
            NODES.exec(B, "BEGIN; PREPARE TRANSACTION 'MTM-1-not-ours'"); // a user's gid that only looks like one
            assertEquals(1, supervisor.resendVotes(A));
            NODES.exec(B, "ROLLBACK PREPARED 'MTM-1-not-ours'");
            supervisor.peerReachable(A); // the transport's call: the same, in the background
            Await.until(WAIT, "the vote sent again on reachability", () -> votes.count(Kind.PREPARED, gid) == 4);
            // a vote that stays unanswered is sent again by the periodic re-vote too (a dropped message is not lost)
            Await.until(WAIT, "the stale vote sent again", () -> supervisor.resendStaleVotes() == 1);
            assertEquals(5, votes.count(Kind.PREPARED, gid));

            NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
            votes.await(Kind.COMMITTED, gid, WAIT);
            // committed here within the minute: the acknowledgement (wait_peer_commits) goes again instead
            assertEquals(1, supervisor.resendVotes(A));
            assertEquals(5, votes.count(Kind.PREPARED, gid));
            assertEquals(2, votes.count(Kind.COMMITTED, gid));
            assertEquals("committed: no stale vote", 0, supervisor.resendStaleVotes());
            NODES.exec(B, "UPDATE mtm.applied_xacts SET applied_at = now() - interval '2 minutes'");
            assertEquals("long committed: nothing to send", 0, supervisor.resendVotes(A));
        } finally {
            supervisor.deactivate();
        }
    }

    /**
     * The re-voter keeps one connection across its rounds (it opened one every 2 s: the only connection a node opened
     * and closed under steady load); after a failure it opens a new one, and deactivation closes it.
     */
    @Test
    public void theRevoterKeepsOneConnectionAcrossRounds() throws Exception {
        List<Connection> opened = new ArrayList<>();
        LocalDatabase counted = (LocalDatabase) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {LocalDatabase.class}, (proxy, method, args) -> {
                    Object r = method.invoke(NODES.node(B), args);
                    if (method.getName().equals("connect")) {
                        opened.add((Connection) r);
                    }
                    return r;
                });
        ReceiverSupervisor supervisor = new ReceiverSupervisor(counted, votes, new ApplierSettings(LOCK_BOUND_MS, 1));
        try {
            supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(B, List.of(NODES.clusterNode(B))))); // no peer, no receiver
            for (int i = 0; i < 3; i++) { // what they send depends on earlier tests' transactions: not asserted here
                supervisor.resendStaleVotes();
                supervisor.resendVotes(A);
            }
            assertEquals("one connection for six rounds", 1, opened.size());
            int pid = opened.get(0).unwrap(org.postgresql.PGConnection.class).getBackendPID();
            NODES.exec(B, "SELECT pg_terminate_backend(" + pid + ")");
            Await.until(WAIT, "the re-voter's backend gone", () -> NODES.count(B,
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == 0);
            supervisor.resendStaleVotes(); // fails on the dead connection and drops it
            supervisor.resendStaleVotes();
            assertEquals("a new connection after the failure", 2, opened.size());
            assertTrue(opened.get(0).isClosed());
            assertTrue("the new one works", opened.get(1).isValid(5));
        } finally {
            supervisor.deactivate();
        }
        assertTrue("closed by deactivation", opened.get(1).isClosed());
    }
}
