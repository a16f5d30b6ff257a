package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.testing.Await;

/**
 * Issue 11: a peer's stream brings a copy of a third node's two-phase transaction without its {@code O} message (what
 * PostgreSQL 15 does when it cannot name the origin, OriginNamedAfterSlotBuildTest). Node 2 streams from node 1, which
 * holds a copy of node 3's {@code MTM-3-…} transaction committed without an origin. Node 2 must not apply it from node
 * 1's stream — node 3's own stream brings it — nor vote on it; node 1's own transaction after it is applied as usual.
 * Before {@link MissingOrigins} node 2 prepared and committed the copy here as if node 1 had coordinated it.
 */
public class CopyWithoutOriginTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(120);

    private final RecordedVotes votes = new RecordedVotes();
    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stop() throws Exception {
        NODES.stopAll(receivers);
    }

    @Test
    public void aCopyWhoseGidNamesAnotherCoordinatorIsNotAppliedFromThePeersStream() throws Exception {
        NODES.execEverywhere("CREATE TABLE copied (id int PRIMARY KEY)");
        String copy = "MTM-3-4242-1";
        try (Connection c = NODES.node(1).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("INSERT INTO copied VALUES (1)");
            st.execute("PREPARE TRANSACTION '" + copy + "'"); // node 1 applied node 3's transaction; no origin recorded
            st.execute("COMMIT PREPARED '" + copy + "'");
        }
        String own = NODES.prepare(1, "INSERT INTO copied VALUES (2)");
        receivers.add(new Receiver(2, NODES.clusterNode(1), NODES.node(2), votes, new ApplierSettings(2_000, 1)).start());
        votes.await(Kind.PREPARED, own, WAIT);
        NODES.exec(1, "COMMIT PREPARED '" + own + "'");
        Await.until(WAIT, "node 1's own transaction applied on node 2",
            () -> NODES.count(2, "SELECT count(*) FROM copied WHERE id = 2") == 1);
        assertEquals("the copy is left to node 3's stream", 0, NODES.count(2, "SELECT count(*) FROM copied WHERE id = 1"));
        assertTrue("no vote on the copy: " + votes.of(copy), votes.of(copy).isEmpty());
        assertEquals(0, NODES.count(2, "SELECT count(*) FROM pg_prepared_xacts"));
    }
}
