package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.Rule;
import org.junit.Test;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;

/**
 * A new node's managed PostgreSQL made from a logical copy of a live node (database.logical_copy_from; rolling major
 * upgrade): real servers, 15 to 15 and 15 to 17 (the embedded 17 binaries, a test dependency: {@link Postgres17}). The copy holds exactly what the snapshot of the source's slot for the new node shows: a transaction the
 * slot's creation waited for is in it; a write after is not, and is the first thing in the slot's stream. The
 * source's progress of its other peers is the copy's origin progress; the copy waits to join from the slot's
 * consistent point, its catalog reading as "no cluster".
 */
public class LogicalCopyTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    @Test
    public void aNewNodeOnTheSameMajorIsMadeFromALogicalCopyAndWaitsToJoin() throws Exception {
        copyInto(null, "15");
    }

    @Test
    public void aNewNodeOnSeventeenIsMadeFromALogicalCopyOfAFifteenNode() throws Exception {
        copyInto(Postgres17.binDir(), "17");
    }

    private void copyInto(Path binDir, String major) throws Exception {
        ManagedPostgres source = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("source"))
            .setting("shared_buffers", "16MB").build());
        source.start();
        String progress2;
        try (Connection c = source.connect(); Statement st = c.createStatement()) {
            CatalogSchema.install(c);
            CatalogStore.store(c, new ClusterConfig(1, List.of(new ClusterNode(1, "host=a", new Endpoint("127.0.0.1", 1)),
                new ClusterNode(2, "host=b", new Endpoint("127.0.0.1", 2)))));
            // node 3 as mtm.add_node leaves it: a row without transport, a slot for it on every node
            st.execute("INSERT INTO mtm.cluster_nodes (id, conninfo, transport_host, transport_port, is_self)"
                + " VALUES (3, 'host=c', '-', 0, false)");
            st.execute("CREATE PUBLICATION mtm_publication FOR ALL TABLES");
            st.execute("SELECT pg_create_logical_replication_slot('mtm_slot_3', 'pgoutput', false, true)");
            // what node 1 applied of node 2's stream (the receiver's origin and a worker's: the highest counts)
            st.execute("SELECT pg_replication_origin_create('mtm_node_2')");
            st.execute("SELECT pg_replication_origin_advance('mtm_node_2', '0/5000000')");
            st.execute("SELECT pg_replication_origin_create('mtm_node_2_1')");
            st.execute("SELECT pg_replication_origin_advance('mtm_node_2_1', '0/5000100')");
            progress2 = "0/5000100";
            st.execute("CREATE ROLE app_reader NOLOGIN");
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            st.execute("GRANT SELECT ON t TO app_reader");
            st.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g");
            st.execute("CREATE SEQUENCE s START 1000");
            st.execute("SELECT nextval('s')");
        }
        // prepared before the copy and committed while the slot's creation waits for it: in the copy
        Connection preparer = source.connect();
        try (Statement st = preparer.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO t VALUES (1000, 'prepared')");
            st.execute("PREPARE TRANSACTION 'MTM-1-1-1'");
        }
        Thread finisher = new Thread(() -> {
            try (Statement st = preparer.createStatement()) {
                // until the slot is being made again (it exists, active, and waits for this transaction)
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (!"1".equals(query(st, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mtm_slot_3'"
                    + " AND active_pid IS NOT NULL")) && System.nanoTime() < deadline) {
                    Thread.sleep(20); // a poll with a deadline (see the loop's condition)
                }
                Thread.sleep(500); // a gap on purpose: the slot's creation waits on this transaction a while
                st.execute("COMMIT PREPARED 'MTM-1-1-1'");
                preparer.close();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        finisher.start();

        ManagedPostgres copy = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("copy"))
            .binDirectory(binDir).setting("shared_buffers", "16MB").logicalCopyFrom(source.conninfo()).build());
        copy.start();
        finisher.join();
        try (Connection c = source.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (101, 'after')"); // after the copy: not in it, in the slot's stream
        }
        String lsn;
        try (Connection c = copy.connect(); Statement st = c.createStatement()) {
            assertEquals(major, query(st, "SELECT current_setting('server_version_num')::int / 10000"));
            assertEquals("101|true", query(st, "SELECT count(*) || '|' || bool_or(id = 1000) FROM t"));
            assertEquals("1000", query(st, "SELECT last_value FROM s"));
            assertEquals("t", query(st, "SELECT has_table_privilege('app_reader', 't', 'SELECT')"));
            assertEquals("1", query(st, "SELECT source_node FROM mtm.join_pending"));
            lsn = query(st, "SELECT backup_end_lsn::text FROM mtm.join_pending");
            assertEquals(BaseBackup.waitingText(LogicalCopy.MADE, 1, lsn), query(st, "SELECT disabled_because FROM mtm.generation_state"));
            assertEquals("0", query(st, "SELECT count(*) FROM mtm.endpoints"));
            assertEquals(progress2, query(st, "SELECT pg_replication_origin_progress('mtm_node_2', false)::text"));
            assertEquals("0", query(st, "SELECT count(*) FROM pg_replication_origin WHERE roname <> 'mtm_node_2'"));
            assertEquals("0", query(st, "SELECT count(*) FROM pg_prepared_xacts"));
            assertEquals(Optional.empty(), CatalogStore.load(c)); // not node 1, whatever its rows say
        }
        assertFalse(Files.exists(copy.dataDirectory().resolve(LogicalCopy.PENDING_FILE)));
        try (Connection c = source.connect(); Statement st = c.createStatement()) {
            // the slot was made again: it starts where the copy ends, and its stream starts with the write after
            assertEquals(lsn, query(st, "SELECT upper(confirmed_flush_lsn::text) FROM pg_replication_slots"
                + " WHERE slot_name = 'mtm_slot_3' AND two_phase"));
            assertEquals(List.of("B", "R", "I", "C"), messageTypes(st));
            assertEquals(1, CatalogStore.load(c).orElseThrow().selfId());
        }
        copy.stop();
        copy.start(); // nothing copied again
        try (Connection c = copy.connect(); Statement st = c.createStatement()) {
            assertEquals("101", query(st, "SELECT count(*) FROM t"));
            assertEquals(Optional.empty(), CatalogStore.load(c));
        }
    }

    /** The first byte of every pgoutput message in slot mtm_slot_3's stream (peeked: the slot stays). */
    private static List<String> messageTypes(Statement st) throws SQLException {
        List<String> types = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT chr(get_byte(data, 0)) FROM pg_logical_slot_peek_binary_changes("
            + "'mtm_slot_3', NULL, NULL, 'proto_version', '3', 'publication_names', 'mtm_publication', 'two_phase',"
            + " 'on')")) {
            while (rs.next()) {
                types.add(rs.getString(1));
            }
        }
        return types;
    }

    @Test
    public void theNodeBeingAddedIsTheOnlyRowWithoutTransportOrTheOneNamingThisPort() throws Exception {
        ManagedPostgres pg = dirs.startSmallServer();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            CatalogSchema.install(c);
            CatalogStore.store(c, new ClusterConfig(1, List.of(new ClusterNode(1, "host=a", new Endpoint("127.0.0.1", 1)))));
            try {
                LogicalCopy.nodeBeingAdded(c, 1, 5999);
                throw new AssertionError("no node being added: refused");
            } catch (ManagedPostgresException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("mtm.add_node"));
            }
            st.execute("INSERT INTO mtm.cluster_nodes (id, conninfo, transport_host, transport_port, is_self)"
                + " VALUES (4, 'host=x port=5998', '-', 0, false)");
            assertEquals(4, LogicalCopy.nodeBeingAdded(c, 1, 5999));
            st.execute("INSERT INTO mtm.cluster_nodes (id, conninfo, transport_host, transport_port, is_self)"
                + " VALUES (5, 'host=x port=5999', '-', 0, false)");
            assertEquals(5, LogicalCopy.nodeBeingAdded(c, 1, 5999));
        }
    }

    private static String query(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
