package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.PostgresVersions;
import org.mtm.itests.harness.Sql;

/**
 * One cluster whose nodes run three PostgreSQL majors (issue 15): node 1 on 15 (the system's), node 2 on 16, node 3
 * on 17 (the embedded binaries the build resolved). Logical replication lets the nodes of one cluster differ, which
 * is what a rolling major upgrade passes through. Writers on every gateway, DDL from the newest node, the oldest node
 * stopped and back while the others write; the class rule checks the invariants (identical tables, nothing prepared,
 * every acknowledged write everywhere). DDL that only the newest major understands is refused on every node, with
 * the version of the node that could not run it in the error.
 */
public class MixedVersionsIT {
    private static final String WHO = "MixedVersionsIT";
    private static final int[] MAJORS = {15, 16, 17};

    @ClassRule
    public static final WriteLoad.Cluster CLUSTER = new WriteLoad.Cluster("mixed", node -> {
        java.nio.file.Path bindir = PostgresVersions.binDir(MAJORS[Integer.parseInt(node.name().replaceAll("\\D", "")) - 1]);
        if (bindir != null) {
            node.configure("org.mtm.node.cfg", "database.bindir", bindir.toString());
        }
    });

    @Test
    public void nodesOnFifteenSixteenAndSeventeenReplicateEveryWayAndRecover() throws Exception {
        TestCluster cluster = CLUSTER.get();
        for (int id = 1; id <= 3; id++) {
            assertEquals("major of node " + id, Integer.toString(MAJORS[id - 1]),
                Sql.scalar(cluster.postgres(id), "SELECT current_setting('server_version_num')::int / 10000"));
        }
        // DDL from the newest node, rows from each
        Sql.execute(cluster.gateway(3), "CREATE TABLE versions (id int PRIMARY KEY, origin int NOT NULL, v text)");
        Sql.execute(cluster.gateway(3), "ALTER TABLE versions ADD COLUMN at timestamptz DEFAULT now()");
        for (int id = 1; id <= 3; id++) {
            Sql.execute(cluster.gateway(id), "INSERT INTO versions (id, origin, v) SELECT g, " + id
                + ", md5(g::text) FROM generate_series(" + (id * 1000) + ", " + (id * 1000 + 99) + ") g");
        }
        try (Connection c = cluster.viaGateway(1)) {
            c.setAutoCommit(false);
            try (java.sql.Statement s = c.createStatement()) {
                s.execute("UPDATE versions SET v = 'from 15' WHERE origin = 3");
                s.execute("DELETE FROM versions WHERE origin = 2 AND id % 2 = 0");
            }
            c.commit();
        }
        for (int id = 1; id <= 3; id++) {
            assertEquals("rows on node " + id, "250|100", Sql.scalar(cluster.postgres(id),
                "SELECT count(*) || '|' || count(*) FILTER (WHERE v = 'from 15') FROM versions"));
        }

        // DDL only 17 understands (SET EXPRESSION, new in 17), from the 17 node: refused on every node, naming the
        // older node and its version, instead of changing node 3 alone
        Sql.execute(cluster.gateway(3), "CREATE TABLE gen17 (a int PRIMARY KEY, b int GENERATED ALWAYS AS (a * 2) STORED)");
        Sql.execute(cluster.gateway(3), "INSERT INTO gen17 (a) VALUES (1), (2)");
        SQLException refused = DdlIT.expectFailure(() -> Sql.execute(cluster.gateway(3),
            "ALTER TABLE gen17 ALTER COLUMN b SET EXPRESSION AS (a * 3)"));
        assertEquals(refused.getMessage(), "42601", refused.getSQLState());
        assertTrue(refused.getMessage(), refused.getMessage().matches("(?s).*node [12] could not apply transaction .*"
            + "syntax error.*runs PostgreSQL 1[56]\\..*use only what the oldest one accepts.*"));
        for (int id = 1; id <= 3; id++) {
            assertEquals("gen17 unchanged on node " + id, "2,4", Sql.scalar(cluster.postgres(id),
                "SELECT string_agg(b::text, ',' ORDER BY a) FROM gen17"));
            assertEquals("nothing prepared on node " + id, "0", Sql.scalar(cluster.postgres(id),
                "SELECT count(*) FROM pg_prepared_xacts"));
        }

        // the oldest node away and back under writers on every gateway
        KarafNode node1 = cluster.node(1);
        WriteLoad load = WriteLoad.start(cluster, WHO, 1, 1, 2, 3);
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 1 stops");
            node1.stop(Duration.ofSeconds(60));
            awaitOnline(cluster, 2, "{2,3}");
            load.awaitProgress(20, Duration.ofSeconds(90), "through gateways 2 and 3 while node 1 is away");
            node1.start().awaitReady(LocalCluster.BOOT);
            awaitOnline(cluster, 1, "{1,2,3}");
            WriteLoad.awaitNormal(cluster, 1, "after node 1 returned");
            load.awaitProgress(20, Duration.ofSeconds(90), "after node 1 returned");
        } finally {
            load.stop();
        }
        load.stopAndCheck();
        TestCluster.log(WHO, "%d writes acknowledged across 15, 16 and 17", load.acknowledged());
    }

    private static void awaitOnline(TestCluster cluster, int id, String members) {
        Poll.until("node " + id + " online with members " + members, Duration.ofSeconds(180), Duration.ofMillis(250), () -> {
            try (Connection c = cluster.direct(id)) {
                List<Map<String, String>> rows = Sql.rows(c, "SELECT status, gen_members::text AS members FROM mtm.status()");
                return "online".equals(rows.get(0).get("status")) && members.equals(rows.get(0).get("members"));
            } catch (SQLException | RuntimeException e) {
                return false;
            }
        });
    }
}
