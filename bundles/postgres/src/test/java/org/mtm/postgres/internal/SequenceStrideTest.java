package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * Node stride of the mtm schema (manual F.31.1) on a real PostgreSQL that plays node 2 of a 3-node cluster:
 * every sequence a statement creates or changes hands out 2, 5, 8..., with no call needed, also when the
 * statement is replayed by an applier (session_replication_role = replica). In name order: the sequences made
 * before "init" are strided by the first test that strides or restrides every sequence.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class SequenceStrideTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        catalog = new JdbcClusterCatalog(pg);
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            // made before init_cluster: left alone until then
            st.execute("CREATE SEQUENCE before_init");
            st.execute("SELECT nextval('before_init') FROM generate_series(1, 5)");
            st.execute("CREATE TABLE pre (id serial PRIMARY KEY)");
            st.execute("INSERT INTO pre VALUES (DEFAULT), (10)");
            st.execute("INSERT INTO mtm.cluster_nodes VALUES (1, 'n1', 'h', 1, false), (2, 'n2', 'h', 2, true), (3, 'n3', 'h', 3, false)");
        }
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    private static String q(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static String next3(Statement st, String seq) throws SQLException {
        return q(st, "SELECT string_agg(nextval('" + seq + "')::text, ',') FROM generate_series(1, 3)");
    }

    @Test
    public void aSchemaCreatedWithItsTablesStridesTheirSequences() throws SQLException {
        // the regression file event_trigger: CREATE SCHEMA ... CREATE TABLE (serial, identity) is tagged CREATE SCHEMA;
        // its sequences were left at 1, 2, 3... on every node (the same keys from every gateway) until a later ALTER TABLE
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA with_elems CREATE TABLE one (a serial PRIMARY KEY, v text)"
                    + " CREATE TABLE id (d int GENERATED ALWAYS AS IDENTITY) CREATE SEQUENCE own");
            st.execute("INSERT INTO with_elems.one (v) VALUES ('x'), ('y')");
            assertEquals("2,5", q(st, "SELECT string_agg(a::text, ',' ORDER BY a) FROM with_elems.one"));
            assertEquals("2,5,8", next3(st, "with_elems.id_d_seq"));
            assertEquals("2,5,8", next3(st, "with_elems.own"));
        }
    }

    /**
     * The regression file event_trigger: a user's ddl_command_end trigger lists what the user's statement did, as on
     * PostgreSQL — not also the ALTER SEQUENCE the cluster runs to stride the new sequence.
     */
    @Test
    public void usersEventTriggersDoNotSeeTheStride() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ddl_seen (tags text)");
            st.execute("CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "INSERT INTO ddl_seen SELECT string_agg(command_tag, ',') FROM pg_event_trigger_ddl_commands(); END$$");
            st.execute("CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl()");
            try {
                st.execute("CREATE TABLE seen (a serial PRIMARY KEY)");
                st.execute("CREATE SEQUENCE seen_too");
            } finally {
                st.execute("DROP EVENT TRIGGER log_ddl");
            }
            assertEquals("CREATE SEQUENCE,CREATE TABLE,CREATE INDEX,ALTER SEQUENCE|CREATE SEQUENCE",
                    q(st, "SELECT string_agg(tags, '|' ORDER BY ctid) FROM ddl_seen WHERE tags IS NOT NULL"));
            // strided all the same
            assertEquals("2,5,8", next3(st, "seen_a_seq"));
            assertEquals("2,5,8", next3(st, "seen_too"));
            assertEquals("origin", q(st, "SHOW session_replication_role"));
        }
    }

    @Test
    public void everyNewSequenceHandsOutThisNodesResidue() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SEQUENCE s1");
            assertEquals("2,5,8", next3(st, "s1"));
            st.execute("CREATE SEQUENCE s100 START 100");
            assertEquals("101,104,107", next3(st, "s100"));
            st.execute("CREATE SEQUENCE sdown INCREMENT -1");
            assertEquals("-1,-4,-7", next3(st, "sdown"));

            st.execute("CREATE TABLE t (s serial PRIMARY KEY, b bigserial, a int GENERATED ALWAYS AS IDENTITY,"
                    + " d int GENERATED BY DEFAULT AS IDENTITY, v text)");
            st.execute("INSERT INTO t (v) VALUES ('x'), ('y')");
            assertEquals("(2,2,2,2,x),(5,5,5,5,y)", q(st, "SELECT string_agg(t::text, ',' ORDER BY s) FROM t"));
            // existing rows would be numbered in each node's own row order, and this session's statements are not
            // announced by a gateway (whose node would carry the numbers): refused
            SQLException refused = assertThrows(SQLException.class, () -> st.execute("ALTER TABLE t ADD COLUMN e serial"));
            assertEquals(refused.getMessage(), "0A000", refused.getSQLState());
            assertTrue(refused.getMessage(), refused.getMessage().contains("ALTER TABLE numbers existing rows with new sequence public.t_e_seq"));
            refused = assertThrows(SQLException.class, () -> st.execute("ALTER TABLE t ADD COLUMN e int GENERATED ALWAYS AS IDENTITY"));
            assertEquals(refused.getMessage(), "0A000", refused.getSQLState());

            st.execute("TRUNCATE t RESTART IDENTITY");
            st.execute("ALTER TABLE t ADD COLUMN e serial");
            st.execute("INSERT INTO t (v) VALUES ('again')");
            assertEquals("(2,2,2,2,again,2)", q(st, "SELECT t::text FROM t"));

            st.execute("ALTER SEQUENCE s1 RESTART WITH 100");
            assertEquals("a RESTART is moved into the residue", "101,104,107", next3(st, "s1"));
            st.execute("ALTER SEQUENCE s1 INCREMENT BY 1");
            assertEquals("110,113,116", next3(st, "s1"));
            st.execute("ALTER SEQUENCE s1 RESTART");
            assertEquals("2,5,8", next3(st, "s1"));
        }
    }

    @Test
    public void anApplierReplayingTheDdlStridesToo() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica");
            st.execute("CREATE TABLE replayed (id bigserial PRIMARY KEY, a bigint GENERATED ALWAYS AS IDENTITY)");
            assertEquals("2,5,8", next3(st, "replayed_id_seq"));
            assertEquals("2,5,8", next3(st, "replayed_a_seq"));
        }
    }

    /**
     * ADD COLUMN of an identity column or serial on a table with rows, announced by a gateway: each node numbers the
     * rows from its own copy of the new sequence in its own row order, so the origin carries each row's value
     * (mtm.carry_row_values) and the sequences' rule lets the statement be. Each node's sequence goes on above the
     * rows' values, in its residue. The applier's side: the same statement is not refused there (its origin carried
     * the values), and an ALWAYS column is switched to BY DEFAULT for the carried UPDATE and back, its sequence left as
     * the statement made it.
     */
    @Test
    public void aNumberingColumnOfAnAnnouncedStatementIsCarriedNotRefused() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE numbered (v text)");
            st.execute("INSERT INTO numbered SELECT 'v' || g FROM generate_series(1, 5) g");
            st.execute("SELECT pg_create_logical_replication_slot('carried', 'test_decoding')");
            List<String> carried = new ArrayList<>();
            String origins;
            try {
                st.execute("SET mtm.via_gateway = on");
                st.execute("BEGIN");
                st.execute("SET LOCAL mtm.ddl_seen = on"); // as the gateway's DDL message statement leaves it
                st.execute("SELECT set_config('mtm.ddl_relnatts', oid || ':' || relnatts, true) FROM pg_class"
                        + " WHERE oid = 'numbered'::regclass");
                st.execute("ALTER TABLE numbered ADD COLUMN i int GENERATED BY DEFAULT AS IDENTITY,"
                        + " ALTER COLUMN i SET GENERATED ALWAYS, ADD COLUMN s bigserial UNIQUE");
                st.execute("COMMIT");
                st.execute("RESET mtm.via_gateway");
                try (ResultSet rs = st.executeQuery("SELECT substr(data, strpos(data, 'content:') + 8) FROM"
                        + " pg_logical_slot_get_changes('carried', NULL, NULL) WHERE data LIKE 'message: transactional: 1"
                        + " prefix: mtm.ddl_value,%'")) {
                    while (rs.next()) {
                        carried.add(rs.getString(1));
                    }
                }
            } finally {
                st.execute("SELECT pg_drop_replication_slot('carried')");
            }
            origins = q(st, "SELECT string_agg(v || '=' || i || '/' || s, ',' ORDER BY v) FROM numbered");
            assertEquals("numbered as PostgreSQL numbers them", "v1=1/1,v2=2/2,v3=3/3,v4=4/4,v5=5/5", origins);
            assertEquals("then in this node's residue above them", "8,11,14", next3(st, "numbered_i_seq"));
            assertEquals("8,11,14", next3(st, "numbered_s_seq"));
            assertEquals("nothing left noted", "", q(st, "SELECT coalesce(current_setting('mtm.carried_sequences', true), '')"));
            // carried: ALWAYS switched off, the unique serial moved out of the way, the values, ALWAYS again
            assertEquals(carried.toString(), 4, carried.size());
            assertTrue(carried.get(0), carried.get(0).equals(
                    "SELECT mtm.set_identity_generation('public.numbered'::pg_catalog.regclass, 'i', false)"));
            assertTrue(carried.get(1), carried.get(1).startsWith("UPDATE ONLY public.numbered AS mtm_t SET s = mtm_t.s + mtm_d.d"));
            assertTrue(carried.get(2), carried.get(2).startsWith("UPDATE ONLY public.numbered AS mtm_t SET i = mtm_v.c1::integer,"
                    + " s = mtm_v.c2::bigint FROM"));
            assertTrue(carried.get(3), carried.get(3).equals(
                    "SELECT mtm.set_identity_generation('public.numbered'::pg_catalog.regclass, 'i', true)"));
            // run where the rows were numbered in another order, as an applier runs them: the origin's numbers
            st.execute("SET session_replication_role = replica");
            st.execute("BEGIN");
            st.execute("SELECT mtm.set_identity_generation('numbered', 'i', false)");
            st.execute("UPDATE numbered SET i = 6 - i, s = s + 100"); // its own numbers, in reverse (s unique: in two steps)
            st.execute("UPDATE numbered SET s = 106 - s");
            st.execute("SELECT mtm.set_identity_generation('numbered', 'i', true)");
            for (String statement : carried) {
                st.execute(statement);
            }
            st.execute("COMMIT");
            st.execute("SET session_replication_role = origin");
            assertEquals(origins, q(st, "SELECT string_agg(v || '=' || i || '/' || s, ',' ORDER BY v) FROM numbered"));
            assertEquals("a", q(st, "SELECT attidentity FROM pg_attribute WHERE attrelid = 'numbered'::regclass AND attname = 'i'"));

            // an applier runs the origin's statement: its rows numbered in its own order, then the origin's values
            st.execute("CREATE TABLE numbered_here (v text)");
            st.execute("INSERT INTO numbered_here SELECT 'v' || g FROM generate_series(1, 5) g");
            st.execute("SET session_replication_role = replica");
            st.execute("BEGIN");
            st.execute("SET LOCAL mtm.volkswagen_mode = on"); // the origin session's, carried with the statement
            st.execute("ALTER TABLE numbered_here ADD COLUMN i int GENERATED ALWAYS AS IDENTITY, ADD COLUMN s serial");
            st.execute("SET LOCAL mtm.volkswagen_mode = off"); // the applier's own again, for the carried values
            SQLException always = assertThrows(SQLException.class, () -> st.execute("UPDATE numbered_here SET i = 6 - i"));
            assertEquals(always.getMessage(), "428C9", always.getSQLState());
            st.execute("ROLLBACK");
            st.execute("BEGIN");
            st.execute("SET LOCAL mtm.volkswagen_mode = on");
            st.execute("ALTER TABLE numbered_here ADD COLUMN i int GENERATED ALWAYS AS IDENTITY, ADD COLUMN s serial");
            st.execute("SET LOCAL mtm.volkswagen_mode = off");
            st.execute("SELECT mtm.set_identity_generation('public.numbered_here'::pg_catalog.regclass, 'i', false)");
            st.execute("UPDATE numbered_here SET i = 6 - i, s = 6 - s");
            st.execute("SELECT mtm.set_identity_generation('public.numbered_here'::pg_catalog.regclass, 'i', true)");
            st.execute("COMMIT");
            st.execute("SET session_replication_role = origin");
            assertEquals("a", q(st, "SELECT attidentity FROM pg_attribute WHERE attrelid = 'numbered_here'::regclass"
                    + " AND attname = 'i'"));
            assertEquals("5,4,3,2,1", q(st, "SELECT string_agg(i::text, ',' ORDER BY v) FROM numbered_here"));
            assertEquals("left as the origin's session made it", "6,7,8", next3(st, "numbered_here_i_seq"));
            assertEquals("6,7,8", next3(st, "numbered_here_s_seq"));
            st.execute("DROP TABLE numbered, numbered_here");
        }
    }

    /**
     * mtm.volkswagen_mode (the original's multimaster.volkswagen_mode, with which it runs PostgreSQL's regression suite):
     * what a statement of such a session creates or changes is left as on PostgreSQL, also in an applier that
     * replays it with the origin session's value; a session without it still strides.
     */
    @Test
    public void aVolkswagenSessionsSequencesAreLeftAsOnPostgres() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("SET mtm.volkswagen_mode = on");
            st.execute("CREATE TABLE vw (id serial PRIMARY KEY, b bigint GENERATED ALWAYS AS IDENTITY, v text)");
            st.execute("CREATE SEQUENCE vw_s");
            assertEquals("1,1", q(st, "SELECT string_agg(seqincrement || ',' || seqstart, ';') FROM pg_sequence"
                    + " WHERE seqrelid = 'vw_id_seq'::regclass"));
            st.execute("INSERT INTO vw (v) VALUES ('x'), ('y'), ('z')");
            assertEquals("(1,1,x),(2,2,y),(3,3,z)", q(st, "SELECT string_agg(vw::text, ',' ORDER BY id) FROM vw"));
            assertEquals("1,2,3", next3(st, "vw_s"));
            st.execute("ALTER SEQUENCE vw_s RESTART WITH 100");
            assertEquals("100,101,102", next3(st, "vw_s"));
            // setval() through a gateway restrides every node afterwards: not in this mode
            assertEquals("500", q(st, "SELECT setval('vw_s', 500)"));
            assertEquals(null, q(st, "SELECT string_agg(s::text, ',') FROM mtm.restride_sequences() s"));
            assertEquals("501,502,503", next3(st, "vw_s"));
            // still refused outside a gateway: each node would number the existing rows in its own row order
            SQLException refused = assertThrows(SQLException.class, () -> st.execute("ALTER TABLE vw ADD COLUMN e serial"));
            assertEquals(refused.getMessage(), "0A000", refused.getSQLState());
            st.execute("SET mtm.volkswagen_mode = 'not a boolean'");
            refused = assertThrows(SQLException.class, () -> st.execute("CREATE SEQUENCE vw_bad"));
            assertEquals(refused.getMessage(), "22023", refused.getSQLState());

            // an applier replays the DDL with the origin session's value (carried with the text)
            st.execute("SET mtm.volkswagen_mode = off");
            st.execute("SET session_replication_role = replica");
            st.execute("BEGIN");
            st.execute("SET LOCAL mtm.volkswagen_mode = on");
            st.execute("CREATE TABLE vw_replayed (id bigserial PRIMARY KEY)");
            st.execute("COMMIT");
            assertEquals("1,2,3", next3(st, "vw_replayed_id_seq"));
            st.execute("CREATE TABLE vw_off_replayed (id bigserial PRIMARY KEY)");
            assertEquals("2,5,8", next3(st, "vw_off_replayed_id_seq"));
            st.execute("SET session_replication_role = origin");
            st.execute("RESET mtm.volkswagen_mode");
            st.execute("CREATE TABLE vw_not (id serial PRIMARY KEY)");
            assertEquals("a session without the mode strides", "2,5,8", next3(st, "vw_not_id_seq"));
            // the later tests stride every sequence there is
            st.execute("DROP TABLE vw, vw_replayed, vw_off_replayed, vw_not");
            st.execute("DROP SEQUENCE vw_s");
        }
    }

    @Test
    public void existingSequencesRestartAboveWhatAnyNodeIssuedAndAnyRowHolds() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SEQUENCE strided_already");
            assertEquals("public.before_init=5,public.pre_id_seq=1", q(st,
                    "SELECT string_agg(name || '=' || last_value, ',' ORDER BY name) FROM mtm.sequence_last_values()"
                    + " WHERE name IN ('public.before_init', 'public.pre_id_seq')"));
            // another node issued up to 40 from before_init; pre holds 10 in a row
            assertEquals("before_init,pre_id_seq", q(st, "SELECT string_agg(s::text, ',' ORDER BY s::text)"
                    + " FROM mtm.stride_sequences(ARRAY['public.before_init'], ARRAY[40]) s WHERE s::text NOT LIKE 's%'"));
            assertEquals("41,44,47", next3(st, "before_init"));
            assertEquals("11,14,17", next3(st, "pre_id_seq"));
            assertEquals("strided sequences stay as they are", "0", q(st,
                    "SELECT count(*) FROM mtm.stride_sequences() s WHERE s::text IN ('strided_already', 'before_init', 'pre_id_seq')"));
        }
    }

    @Test
    public void monotonicAdvanceSkipsTheResidueBelowWhatAPeerWroteAndNeverMovesBack() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SEQUENCE mono");
            assertEquals("2", q(st, "SELECT nextval('mono')"));
            // a peer wrote 3: this node's next value (5) is above it already
            assertEquals("0", q(st, "SELECT mtm.advance_sequences(ARRAY['public.mono'], ARRAY[3])"));
            assertEquals("5", q(st, "SELECT nextval('mono')"));
            // a peer wrote 9: 8 is skipped (walked over with nextval), this node continues at 11
            assertEquals("1", q(st, "SELECT mtm.advance_sequences(ARRAY['public.mono'], ARRAY[9])"));
            assertEquals("11", q(st, "SELECT nextval('mono')"));
            // far above (a bulk load elsewhere): one jump to the first of the residue above it, no value lost
            assertEquals("1", q(st, "SELECT mtm.advance_sequences(ARRAY['public.mono'], ARRAY[1000000])"));
            assertEquals("1000001,1000004,1000007", next3(st, "mono"));
            // unknown names and descending sequences are skipped
            assertEquals("0", q(st, "SELECT mtm.advance_sequences(ARRAY['public.no_such_seq', 'public.sdown_mono'], ARRAY[10, 10])"));
        }
    }

    @Test
    public void setvalMovesThisNodeAboveTheValueInItsOwnResidue() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SEQUENCE sv");
            String restride = "SELECT string_agg(s::text, ',') FROM mtm.restride_sequences() s WHERE s = 'sv'::regclass";
            assertEquals("100", q(st, "SELECT setval('sv', 100)"));
            assertEquals("sv", q(st, restride));
            assertEquals("101,104,107", next3(st, "sv"));
            assertEquals("101 is this node's own: nothing to move", "101", q(st, "SELECT setval('sv', 101)"));
            assertEquals(null, q(st, restride));
            assertEquals("104", q(st, "SELECT nextval('sv')"));
            q(st, "SELECT setval('sv', 201, false)");
            assertEquals("sv", q(st, restride));
            assertEquals("203", q(st, "SELECT nextval('sv')"));
            // like setval() itself, the move is not undone by a rollback: this node stays in its residue
            st.execute("BEGIN");
            q(st, "SELECT setval('sv', 300)");
            q(st, restride);
            st.execute("ROLLBACK");
            assertEquals("302", q(st, "SELECT nextval('sv')"));
        }
    }

    @Test
    public void restartsAboveTheRowsOfColumnsWhoseDefaultCallsTheSequence() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SEQUENCE shared_seq");
            st.execute("CREATE TABLE uses_default (id bigint DEFAULT nextval('shared_seq') PRIMARY KEY,"
                    + " label text DEFAULT 'n' || nextval('shared_seq'))");
            st.execute("INSERT INTO uses_default (id) VALUES (70)");
            assertEquals("1", q(st, "SELECT count(*) FROM mtm.stride_sequences() s WHERE s = 'shared_seq'::regclass"));
            assertEquals("71,74,77", next3(st, "shared_seq"));
        }
    }
}
