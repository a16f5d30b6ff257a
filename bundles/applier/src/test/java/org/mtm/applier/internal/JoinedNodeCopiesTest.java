package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.Replication;
import org.mtm.api.ReplicationPlan;
import org.mtm.testing.Await;

/**
 * Issue 11, the long battery's add_node bug (seed 46561057177705), on real PostgreSQL 15 servers. Node 2 stands for a
 * node made from a base backup of node 1: it holds node 1's own transaction prepared, as the backup copied it, and
 * node 1's slot for it starts at the backup's end, after that PREPARE. Node 2's resolver commits the copy (the cluster
 * decided commit) before its catch-up from donor 1 reaches the COMMIT PREPARED, which then finds nothing prepared and
 * nothing logged: before the fix it took this for WAL gone at the donor and dropped donor 1. {@code mtm.join_node}
 * now logs the source's prepared copies in {@code mtm.applied_xacts} (NodeAddition); with that row the catch-up knows
 * the copy is applied here and goes on.
 */
public class JoinedNodeCopiesTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(180);

    private ReceiverSupervisor supervisor;

    @After
    public void stop() throws Exception {
        if (supervisor != null) {
            supervisor.deactivate();
        }
        NODES.rollbackAllPrepared();
    }

    @Test
    public void aCopyOfTheSourcesOwnTransactionFinishedByTheResolverIsNotTakenForWalGone() throws Exception {
        NODES.exec(1, "CREATE TABLE joined (id int PRIMARY KEY)");
        NODES.exec(2, "CREATE TABLE joined (id int PRIMARY KEY)");
        String gid = NODES.prepare(1, "INSERT INTO joined VALUES (1)");
        prepareCopy(gid);
        // the backup ends here: join_node advances node 1's slot for node 2 to its end, past the copy's PREPARE
        NODES.exec(1, "SELECT pg_replication_slot_advance('" + Replication.slotName(2) + "', pg_current_wal_lsn())");
        // what join_node logs (NodeAddition.logSourcesPreparedCopies): a stand-in LSN below every stream position
        NODES.exec(2, "INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (1, '0/1', '" + gid + "')");
        resolverCommits(gid);
        NODES.exec(1, "COMMIT PREPARED '" + gid + "'"); // the K the catch-up finds in donor 1's stream
        String later = NODES.prepare(1, "INSERT INTO joined VALUES (2)");
        NODES.exec(1, "COMMIT PREPARED '" + later + "'");

        TestClusterState state = new TestClusterState(2);
        state.plan = ReplicationPlan.recovery(1, Long.MAX_VALUE);
        supervisor = new ReceiverSupervisor(NODES.node(2), (node, message) -> { }, new ApplierSettings(500, 1));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(2, List.of(NODES.clusterNode(1), NODES.clusterNode(2)))));
        supervisor.followPlanEvery(50);
        Await.until(WAIT, "node 2 caught up past the copy's COMMIT PREPARED", () -> {
            assertTrue("donor 1 taken for one without the WAL: " + supervisor.recovery().walGone(),
                supervisor.recovery().walGone().isEmpty());
            return NODES.count(2, "SELECT count(*) FROM joined WHERE id = 2") == 1;
        });
        assertEquals("the copy committed once", 1, NODES.count(2, "SELECT count(*) FROM joined WHERE id = 1"));
        assertEquals(0, NODES.count(2, "SELECT count(*) FROM pg_prepared_xacts"));
    }

    /** Node 2's copy of node 1's transaction, prepared as the base backup holds it: without an origin. */
    private static void prepareCopy(String gid) throws Exception {
        try (Connection c = NODES.node(2).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO joined VALUES (1)");
            st.execute("PREPARE TRANSACTION '" + gid + "'");
        }
    }

    /** As ResolverService finishes a peer's copy: COMMIT PREPARED under the origin mtm_resolver. */
    private static void resolverCommits(String gid) throws Exception {
        try (Connection c = NODES.node(2).connect(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_catalog.pg_replication_origin_create('mtm_resolver')");
            st.execute("SELECT pg_catalog.pg_replication_origin_session_setup('mtm_resolver')");
            st.execute("COMMIT PREPARED '" + gid + "'");
        }
    }
}
