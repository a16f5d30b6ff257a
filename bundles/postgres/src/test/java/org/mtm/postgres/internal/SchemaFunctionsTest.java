package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/** The SQL functions of schema mtm that need no running mtm node, on a real PostgreSQL. */
public class SchemaFunctionsTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        catalog = new JdbcClusterCatalog(pg);
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION mtm_publication FOR ALL TABLES");
        }
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    @Test
    public void replicaIdentityUpkeepInSerializableBlocksBesideAPreparedOneIsNoConflict() throws SQLException {
        // the regression file prepared_xacts: DDL in a SERIALIZABLE block, prepared, then DROP TABLE / CREATE TABLE in
        // another SERIALIZABLE block, each followed by the upkeep as the gateway runs it. Its reads of its notes (an
        // ordinary table, which SSI tracks, unlike the catalogs) made the second block a pivot: 40001 at its write
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN ISOLATION LEVEL SERIALIZABLE");
            st.execute("CREATE TABLE px_one (a int)");
            upkeep(st);
            st.execute("INSERT INTO px_one VALUES (1)");
            st.execute("PREPARE TRANSACTION 'px-one'");
            try {
                st.execute("CREATE TABLE px_dropped (fff int)");
                upkeep(st);
                st.execute("BEGIN ISOLATION LEVEL SERIALIZABLE");
                st.execute("DROP TABLE px_dropped");
                upkeep(st);
                st.execute("CREATE TABLE px_two (a int)");
                upkeep(st);
                st.execute("INSERT INTO px_two VALUES (1), (2)");
                st.execute("PREPARE TRANSACTION 'px-two'");
                st.execute("COMMIT PREPARED 'px-two'");
            } finally {
                st.execute("ROLLBACK PREPARED 'px-one'");
            }
            assertEquals("f", replident(st, "px_two"));
            // a primary key added in a serializable block gives the table PostgreSQL's identity back
            st.execute("BEGIN ISOLATION LEVEL SERIALIZABLE");
            st.execute("ALTER TABLE px_two ADD PRIMARY KEY (a)");
            upkeep(st);
            st.execute("COMMIT");
            assertEquals("d", replident(st, "px_two"));
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM mtm.replica_identity_full "
                    + "WHERE relid NOT IN (SELECT oid FROM pg_class WHERE relreplident = 'f')")) {
                rs.next();
                assertEquals("notes of dropped tables go at the next upkeep outside SERIALIZABLE", 1, rs.getInt(1));
            }
            upkeep(st);
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM mtm.replica_identity_full "
                    + "WHERE relid NOT IN (SELECT oid FROM pg_class WHERE relreplident = 'f')")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
            st.execute("DROP TABLE px_two");
            upkeep(st);
        }
    }

    private static void upkeep(Statement st) throws SQLException {
        st.executeQuery("SELECT count(*) FROM mtm.ensure_replica_identity()").close();
    }

    @Test
    public void tablesWithoutPrimaryKeyGetFullReplicaIdentitySoUpdatesWork() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE no_pk (a int, b text)");
            st.execute("CREATE TABLE with_pk (a int PRIMARY KEY)");
            st.execute("CREATE TEMP TABLE temp_no_pk (a int)");
            st.execute("INSERT INTO no_pk VALUES (1, 'x')");
            SQLException refused = assertThrows(SQLException.class, () -> st.execute("UPDATE no_pk SET b = 'y'"));
            assertEquals("55000", refused.getSQLState()); // "does not have a replica identity and publishes updates"

            try (ResultSet rs = st.executeQuery("SELECT string_agg(t::text, ',') FROM mtm.ensure_replica_identity() t")) {
                rs.next();
                assertEquals("no_pk", rs.getString(1));
            }
            assertEquals(1, st.executeUpdate("UPDATE no_pk SET b = 'y'"));
            assertEquals("f", replident(st, "no_pk"));
            assertEquals("d", replident(st, "with_pk"));
            assertEquals("d", replident(st, "temp_no_pk"));
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM mtm.ensure_replica_identity()")) {
                rs.next();
                assertEquals("idempotent", 0, rs.getInt(1));
            }
        }
    }

    @Test
    public void anOrdinaryRoleRunningDdlFixesTablesItDoesNotOwn() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE owned_by_admin (a int)");
            st.execute("CREATE ROLE app_user LOGIN");
            st.execute("GRANT CREATE ON SCHEMA public TO app_user");
            st.execute("SET ROLE app_user");
            st.execute("CREATE TABLE owned_by_app (a int)");
            try (ResultSet rs = st.executeQuery("SELECT string_agg(t::text, ',' ORDER BY t::text) FROM mtm.ensure_replica_identity() t")) {
                rs.next();
                assertEquals("owned_by_admin,owned_by_app", rs.getString(1));
            }
            SQLException status = assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM mtm.status()"));
            assertEquals("the status view answers any role (no node runs here: 55000, not 42501)", "55000", status.getSQLState());
            st.execute("SELECT pg_logical_emit_message(true, 'mtm.test', 'any role may emit the gateway messages')");
            st.execute("RESET ROLE");
            assertEquals("f", replident(st, "owned_by_admin"));
        }
    }

    @Test
    public void replicaModeTriggersAreTheUsersThatFireWhereTheAppliersRun() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE rm_audited (id int PRIMARY KEY, parent int REFERENCES rm_audited)");
            st.execute("CREATE TABLE rm_local (id int PRIMARY KEY)");
            st.execute("INSERT INTO mtm.local_tables (rel_schema, rel_name) VALUES ('public', 'rm_local')");
            st.execute("CREATE FUNCTION rm_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
            st.execute("CREATE FUNCTION rm_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$");
            for (String t : new String[] {"rm_audited", "rm_local"}) {
                st.execute("CREATE TRIGGER \"Always\" AFTER INSERT ON " + t + " FOR EACH ROW EXECUTE FUNCTION rm_row()");
                st.execute("CREATE TRIGGER replica AFTER INSERT ON " + t + " FOR EACH ROW EXECUTE FUNCTION rm_row()");
                st.execute("CREATE TRIGGER origin AFTER INSERT ON " + t + " FOR EACH ROW EXECUTE FUNCTION rm_row()");
            }
            st.execute("CREATE TABLE rm_copies (id int PRIMARY KEY)");
            st.execute("CREATE RULE copy AS ON INSERT TO rm_audited DO ALSO INSERT INTO rm_copies VALUES (NEW.id)");
            st.execute("CREATE EVENT TRIGGER rm_ddl_log ON ddl_command_end EXECUTE FUNCTION rm_ddl()");
            st.execute("CREATE EVENT TRIGGER rm_ddl_plain ON ddl_command_end EXECUTE FUNCTION rm_ddl()");
            try {
                assertEquals("ordinary ones only: none named", "", replicaModeTriggers(st));
                assertEquals("nothing to warn of at start", null, ReplicaModeWarning.of(c));
                for (String t : new String[] {"rm_audited", "rm_local"}) {
                    st.execute("ALTER TABLE " + t + " ENABLE ALWAYS TRIGGER \"Always\", ENABLE REPLICA TRIGGER replica");
                }
                st.execute("ALTER EVENT TRIGGER rm_ddl_log ENABLE REPLICA");
                st.execute("ALTER TABLE rm_audited ENABLE ALWAYS RULE copy");
                // the foreign key's internal triggers, the local table's, rm_ddl_plain and the cluster's own
                // event triggers (ALWAYS, functions of schema mtm) are not named
                assertEquals("event trigger rm_ddl_log/REPLICA/ALTER EVENT TRIGGER rm_ddl_log ENABLE\n"
                        + "rule copy on public.rm_audited/ALWAYS/ALTER TABLE public.rm_audited ENABLE RULE copy\n"
                        + "trigger \"Always\" on public.rm_audited/ALWAYS/ALTER TABLE public.rm_audited ENABLE TRIGGER \"Always\"\n"
                        + "trigger replica on public.rm_audited/REPLICA/ALTER TABLE public.rm_audited ENABLE TRIGGER replica",
                        replicaModeTriggers(st));
                assertEquals("the warning of a node that starts so", "triggers or rules set to fire in replica mode: event trigger"
                        + " rm_ddl_log (ENABLE REPLICA), rule copy on public.rm_audited (ENABLE ALWAYS), trigger \"Always\" on public.rm_audited (ENABLE ALWAYS), trigger"
                        + " replica on public.rm_audited (ENABLE REPLICA); they fire again where this node applies the"
                        + " other nodes' rows and DDL, and what they write there stays on this node. Make each fire on"
                        + " the origin only (ALTER EVENT TRIGGER rm_ddl_log ENABLE; ALTER TABLE public.rm_audited ENABLE RULE copy; ALTER TABLE public.rm_audited ENABLE"
                        + " TRIGGER \"Always\"; ALTER TABLE public.rm_audited ENABLE TRIGGER replica, on every node that"
                        + " has it) and compare the tables they write (mtm.check_query)", ReplicaModeWarning.of(c));
            } finally {
                st.execute("DROP EVENT TRIGGER rm_ddl_log");
                st.execute("DROP EVENT TRIGGER rm_ddl_plain");
            }
        }
    }

    private static String replicaModeTriggers(Statement st) throws SQLException {
        StringBuilder b = new StringBuilder();
        try (ResultSet rs = st.executeQuery("SELECT what, mode, remedy FROM mtm.replica_mode_triggers()")) {
            while (rs.next()) {
                b.append(b.length() == 0 ? "" : "\n").append(rs.getString(1)).append('/').append(rs.getString(2))
                        .append('/').append(rs.getString(3));
            }
        }
        return b.toString();
    }

    private static String replident(Statement st, String table) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT relreplident FROM pg_class WHERE relname = '" + table + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
