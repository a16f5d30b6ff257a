package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafConsole;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.NodeSets;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.ShellTable;
import org.mtm.itests.harness.Sql;

/**
 * Issue 13, the operations surface on three real nodes: the manual's functions (F.31.5.2) as console commands and as
 * operations of the {@code org.mtm:type=Node} MBean through Karaf's JMX connector — {@code mtm:status}/{@code mtm:nodes}
 * with {@code --no-format} and {@code status()}/{@code nodes()} with the manual's columns, {@code mtm:ping}/{@code ping()}/{@code SELECT mtm.ping()},
 * {@code mtm:make-table-local}/{@code makeTableLocal()} (a table made local on every node, its later rows staying where
 * they were written), {@code mtm:get-snapshots}/{@code mtm:free-snapshots} and {@code takeSnapshots()}/{@code
 * freeSnapshots()} (snapshot ids usable with SET TRANSACTION SNAPSHOT on each node's PostgreSQL until freed); a viewer
 * may ping but not change the cluster. Then the {@code recovery:} line of {@code mtm:status} watched while node 3,
 * stopped while 200,000 rows were written, recovers. The invariants at the end.
 */
public class OperationsIT {
    private static final String WHO = "OperationsIT";
    private static final String WATCHER = "watcher";
    private static final String WATCHER_PASSWORD = "watcher-pw";
    private static TestCluster cluster;

    @BeforeClass
    public static void threeNodes() throws SQLException {
        cluster = TestCluster.initialisedWith("operations", node -> node.configure("users.properties", WATCHER,
            WATCHER_PASSWORD + ",viewer,ssh"));
        Sql.execute(cluster.gateway(1), "CREATE TABLE shared (id bigint PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE kept_here (id bigint PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE kept_too (id bigint PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE filler (id bigint PRIMARY KEY, v text)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void everyFunctionFromTheConsoleAndJmxThenTheRecoveryLine() throws Exception {
        statusAndNodes();
        ping();
        makeTableLocal();
        snapshots();
        completers();
        viewerMayLookButNotChange();
        recoveryLineWhileNodeThreeCatchesUp();
    }

    private void statusAndNodes() throws Exception {
        KarafNode node2 = cluster.node(2);
        String plain = node2.execute("mtm:status --no-format");
        log("mtm:status --no-format on node2: %s", plain.trim());
        assertFalse("no header with --no-format: " + plain, plain.contains("my_node_id"));
        String[] fields = dataRows(plain).get(0).split("\t");
        assertEquals("one tab-separated row, no header: " + plain, 7, fields.length);
        assertEquals("my_node_id", "2", fields[0].trim());
        assertEquals("status", "online", fields[1].trim());

        String nodes = node2.execute("mtm:nodes --no-format");
        List<String> rows = dataRows(nodes);
        assertEquals("three rows, no header: " + nodes, 3, rows.size());
        assertEquals("row of node 1 first: " + rows, "1", rows.get(0).split("\t")[0].trim());

        CompositeData status = (CompositeData) node2.invokeNodeMBean("status", new Object[0], new String[0]);
        assertEquals(2, status.get("my_node_id"));
        assertEquals("online", status.get("status"));
        assertEquals(NodeSets.of(1, 2, 3), NodeSets.fromAttribute(status.get("gen_members")));
        assertEquals(NodeSets.of(1, 2, 3), NodeSets.fromAttribute(status.get("gen_configured")));
        assertTrue("gen_num " + status.get("gen_num"), (Long) status.get("gen_num") >= 1);

        TabularData table = (TabularData) node2.invokeNodeMBean("nodes", new Object[0], new String[0]);
        assertEquals(3, table.size());
        CompositeData self = table.get(new Object[] {2});
        assertEquals(true, self.get("is_self"));
        assertTrue("conninfo " + self.get("conninfo"), String.valueOf(self.get("conninfo"))
            .contains("port=" + cluster.postgres(2)));
        CompositeData peer = table.get(new Object[] {1});
        assertEquals(false, peer.get("is_self"));
        assertEquals("normal", peer.get("receiver_mode"));
        log("JMX status(): %s; nodes(): %d rows", status, table.size());
    }

    private void ping() throws Exception {
        String out = Poll.until("mtm:ping on node1", Duration.ofSeconds(30), Duration.ofMillis(500),
            () -> cluster.node(1).tryExecute("mtm:ping"), KarafConsole.Result::ok).output();
        assertTrue(out, out.contains("ping: t"));
        assertEquals(true, cluster.node(3).invokeNodeMBean("ping", new Object[0], new String[0]));
        assertEquals("t", Sql.scalar(cluster.gateway(2), "SELECT mtm.ping()"));
        log("mtm:ping: %s", out.trim());
    }

    private void makeTableLocal() throws Exception {
        KarafConsole.Result missing = cluster.node(1).tryExecute("mtm:make-table-local no_such_table");
        assertFalse("an unknown table: " + missing, missing.ok());
        assertTrue(missing.output(), missing.output().contains("42P01"));

        String out = cluster.node(1).execute("mtm:make-table-local public.kept_here");
        assertTrue(out, out.contains("table public.kept_here is local"));
        cluster.node(2).invokeNodeMBean("makeTableLocal", new Object[] {"kept_too"}, new String[] {String.class.getName()});
        for (int id = 1; id <= TestCluster.NODES; id++) {
            // committed through the cluster: on every node when the command returned
            assertEquals("mtm.local_tables of node " + id, "kept_here,kept_too", Sql.scalar(cluster.postgres(id),
                "SELECT string_agg(rel_name, ',' ORDER BY rel_name) FROM mtm.local_tables WHERE rel_schema = 'public'"));
        }
        Sql.execute(cluster.gateway(1), "INSERT INTO kept_here VALUES (1, 'node 1 only')");
        Sql.execute(cluster.gateway(2), "INSERT INTO kept_too VALUES (2, 'node 2 only')");
        Sql.execute(cluster.gateway(1), "INSERT INTO shared VALUES (1, 'everywhere')");
        Sql.execute(cluster.gateway(2), "INSERT INTO shared VALUES (2, 'everywhere')");
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int node = id;
            Poll.until("both rows of shared on node " + node, Duration.ofSeconds(30), Duration.ofMillis(200),
                () -> Sql.scalar(cluster.postgres(node), "SELECT count(*) FROM shared"), "2"::equals);
            assertEquals("kept_here rows on node " + node, node == 1 ? "1" : "0",
                Sql.scalar(cluster.postgres(node), "SELECT count(*) FROM kept_here"));
            assertEquals("kept_too rows on node " + node, node == 2 ? "1" : "0",
                Sql.scalar(cluster.postgres(node), "SELECT count(*) FROM kept_too"));
        }
        log("make_table_local: kept_here (console, node1) and kept_too (JMX, node2) local on every node; rows stay put");
    }

    private void snapshots() throws Exception {
        KarafNode node1 = cluster.node(1);
        String out = node1.execute("mtm:get-snapshots --no-format");
        Map<Integer, String> ids = new java.util.TreeMap<>();
        for (String line : dataRows(out)) {
            String[] f = line.split("\t");
            ids.put(Integer.parseInt(f[0].trim()), f[1].trim());
        }
        assertEquals("a snapshot per node: " + out, Set.of(1, 2, 3), ids.keySet());
        Sql.execute(cluster.gateway(1), "INSERT INTO shared VALUES (3, 'after the snapshots')");
        Poll.until("row 3 on node 2", Duration.ofSeconds(30), Duration.ofMillis(200),
            () -> Sql.scalar(cluster.postgres(2), "SELECT count(*) FROM shared"), "3"::equals);
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("node " + id + " in its snapshot", "2", inSnapshot(id, ids.get(id)));
        }
        assertTrue(node1.execute("mtm:free-snapshots").contains("snapshots freed"));
        assertTrue(node1.execute("mtm:free-snapshots").contains("no snapshots were kept"));
        // the exporting transaction ends when its backend reads the connection's close: polled
        Poll.until("node 2's snapshot gone after mtm:free-snapshots (22023 invalid snapshot identifier)", Duration.ofSeconds(10),
            Duration.ofMillis(100), () -> {
                try {
                    return "still usable: " + inSnapshot(2, ids.get(2));
                } catch (SQLException e) {
                    return e.getSQLState();
                }
            }, "22023"::equals);

        String jmx = (String) cluster.node(3).invokeNodeMBean("takeSnapshots", new Object[0], new String[0]);
        Matcher m = Pattern.compile("1:([^,]+),2:([^,]+),3:([^,]+)").matcher(jmx);
        assertTrue("takeSnapshots(): " + jmx, m.matches());
        assertEquals("3", inSnapshot(1, m.group(1)));
        assertEquals(true, cluster.node(3).invokeNodeMBean("freeSnapshots", new Object[0], new String[0]));
        assertEquals(false, cluster.node(3).invokeNodeMBean("freeSnapshots", new Object[0], new String[0]));
        log("snapshots: console %s, JMX %s; both freed", ids, jmx);
    }

    /** The lines of a {@code --no-format} table: tab-separated (cells still padded), the first cell a number (node id). */
    private static List<String> dataRows(String output) {
        return output.replace("\r", "").lines().filter(l -> l.matches("\\s*\\d+\\s*\t.*")).map(String::trim).toList();
    }

    /** Rows of {@code shared} in the exported snapshot {@code id} on node {@code node}'s own PostgreSQL. */
    private static String inSnapshot(int node, String id) throws SQLException {
        try (Connection c = cluster.direct(node)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                st.execute("SET TRANSACTION SNAPSHOT '" + id + "'");
                return Sql.scalar(c, "SELECT count(*) FROM shared");
            } finally {
                c.rollback();
            }
        }
    }

    private void viewerMayLookButNotChange() throws Exception {
        try (KarafConsole watcher = new KarafConsole("127.0.0.1", cluster.node(1).sshPort(), WATCHER, WATCHER_PASSWORD)) {
            KarafConsole.Result ping = watcher.execute("mtm:ping");
            assertTrue("a viewer may ping: " + ping, ping.ok());
            for (String command : List.of("mtm:make-table-local shared", "mtm:get-snapshots", "mtm:free-snapshots")) {
                KarafConsole.Result r = watcher.execute(command);
                assertFalse("a viewer must not run " + command + ": " + r, r.ok());
                assertTrue(r.output(), r.output().contains("Command not found: " + command.split(" ")[0]));
            }
        }
        // the same user through Karaf's JMX connector (etc/jmx.acl.org.mtm.cfg): reading yes, changing the cluster no
        try (JMXConnector jmx = cluster.node(1).jmxAs(WATCHER, WATCHER_PASSWORD)) {
            MBeanServerConnection c = jmx.getMBeanServerConnection();
            ObjectName node = new ObjectName(KarafNode.NODE_MBEAN);
            assertEquals("online", c.getAttribute(node, "Status"));
            assertEquals(1, c.getAttribute(node, "NodeId"));
            assertEquals(Boolean.TRUE, c.invoke(node, "ping", new Object[0], new String[0]));
            assertTrue(c.invoke(node, "status", new Object[0], new String[0]) instanceof CompositeData);
            assertTrue(c.invoke(node, "listInDoubt", new Object[0], new String[0]) instanceof TabularData);
            Map<String, Object[]> changing = new LinkedHashMap<>();
            changing.put("dropNode", new Object[] {3, int.class.getName()});
            changing.put("makeTableLocal", new Object[] {"shared", String.class.getName()});
            changing.put("alterSequences", new Object[0]);
            changing.put("checkQuery", new Object[] {"SELECT 1", String.class.getName()});
            changing.put("takeSnapshots", new Object[0]);
            changing.put("freeSnapshots", new Object[0]);
            for (Map.Entry<String, Object[]> op : changing.entrySet()) {
                Object[] argAndType = op.getValue();
                Object[] args = argAndType.length == 0 ? new Object[0] : new Object[] {argAndType[0]};
                String[] signature = argAndType.length == 0 ? new String[0] : new String[] {(String) argAndType[1]};
                SecurityException refused = assertThrows("a viewer must not invoke " + op.getKey() + " over JMX",
                    SecurityException.class, () -> c.invoke(node, op.getKey(), args, signature));
                log("JMX %s as a viewer: %s", op.getKey(), refused.getMessage());
            }
        }
        assertEquals("nothing a viewer tried took effect", "kept_here,kept_too", Sql.scalar(cluster.postgres(1),
            "SELECT string_agg(rel_name, ',' ORDER BY rel_name) FROM mtm.local_tables"));
        assertEquals("online", LocalCluster.status(cluster.node(3)).get("status"));
    }

    /**
     * The console's completers, as a user at a terminal gets them (TAB in an interactive session): mtm:drop-node offers
     * the configured node ids, mtm:make-table-local the replicated tables — not those made local already.
     */
    private void completers() {
        try (KarafConsole admin = new KarafConsole("127.0.0.1", cluster.node(1).sshPort(), KarafNode.USER,
                cluster.node(1).consolePassword())) {
            String ids = admin.complete("mtm:drop-node ", Duration.ofSeconds(20));
            log("TAB after mtm:drop-node: %s", ids);
            assertTrue(ids, ids.lines().anyMatch(l -> l.strip().matches("1\\s+2\\s+3")));
            String tables = admin.complete("mtm:make-table-local public.", Duration.ofSeconds(20));
            log("TAB after mtm:make-table-local public.: %s", tables);
            assertTrue(tables, tables.contains("public.shared") && tables.contains("public.filler"));
            assertFalse("local tables are not offered: " + tables, tables.contains("kept_here") || tables.contains("kept_too"));
            String one = admin.complete("mtm:make-table-local public.fil", Duration.ofSeconds(20));
            assertTrue("a single candidate is completed in the line: " + one, one.contains("public.filler"));
        }
    }

    /**
     * Node 3 stops; 200,000 rows are written through gateway 1 in 10 transactions; node 3 starts again. While it recovers
     * from a donor, {@code mtm:status} on it says from which node and how far behind; the line is gone once it is online.
     */
    private void recoveryLineWhileNodeThreeCatchesUp() throws Exception {
        KarafNode node3 = cluster.node(3);
        node3.stop(Duration.ofSeconds(60));
        Poll.until("node1 online in a generation without node 3", Duration.ofSeconds(90), Duration.ofMillis(250),
            () -> LocalCluster.status(cluster.node(1)), row -> "online".equals(row.get("status"))
                && NodeSets.of(1, 2).equals(NodeSets.parse(row.get("gen_members"))));
        for (int batch = 0; batch < 10; batch++) {
            long from = 1_000_000L + batch * 20_000L;
            String insert = "INSERT INTO filler SELECT g, repeat('r', 100) FROM generate_series(" + from + ", " + (from + 19_999)
                + ") g";
            Poll.until("filler batch " + batch, Duration.ofSeconds(60), Duration.ofSeconds(1), () -> {
                try {
                    Sql.execute(cluster.gateway(1), insert);
                    return "ok";
                } catch (SQLException e) {
                    // 40001 while the generation switches: retry, nothing was written; 23505: an earlier try whose
                    // outcome was unknown (08007) did commit
                    return "23505".equals(Sql.sqlState(e)) ? "ok" : Sql.sqlState(e);
                }
            }, "ok"::equals);
        }
        log("200000 rows written while node 3 was stopped; starting it");

        node3.start();
        Set<String> seen = new LinkedHashSet<>();
        List<String> last = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (System.nanoTime() < deadline) {
            KarafConsole.Result r;
            try {
                r = node3.tryExecute("mtm:status");
            } catch (RuntimeException e) {
                Thread.sleep(200); // the console is not up yet
                continue;
            }
            if (!r.ok()) {
                Thread.sleep(200); // a poll with a deadline (see the loop's condition)
                continue;
            }
            r.output().lines().map(String::trim).filter(l -> l.startsWith("recovery: ")).forEach(seen::add);
            last.clear();
            last.add(r.output());
            Map<String, String> row;
            try {
                row = ShellTable.single(r.output());
            } catch (AssertionError notATable) {
                Thread.sleep(200); // a poll with a deadline (see the loop's condition)
                continue;
            }
            if ("online".equals(row.get("status")) && NodeSets.of(1, 2, 3).equals(NodeSets.parse(row.get("gen_members")))) {
                break;
            }
            Thread.sleep(100); // a poll with a deadline (see the loop's condition)
        }
        log("recovery lines seen on node3: %s", seen);
        assertFalse("mtm:status on node 3 showed no recovery line while it came back; last output: " + last, seen.isEmpty());
        Pattern line = Pattern.compile("recovery: (recovering from node [12] up to its generation marker: .*|catching up from node"
            + " [12]: .*|recovered from node [12] up to its generation marker)");
        for (String s : seen) {
            assertTrue("the recovery line names the donor: " + s, line.matcher(s).matches());
        }
        assertTrue("a recovery line says how far behind the donor's WAL end: " + seen,
            seen.stream().anyMatch(s -> s.contains("behind its WAL end")));
        cluster.cluster().awaitAllOnline(TestCluster.ONLINE);
        String online = node3.execute("mtm:status");
        assertFalse("no recovery line once online: " + online, online.contains("recovery: "));
        assertEquals("200000", Sql.scalar(cluster.postgres(3), "SELECT count(*) FROM filler"));
    }

    private static void log(String format, Object... args) {
        TestCluster.log(WHO, format, args);
    }
}
