package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Replication;
import org.mtm.testing.Await;

/**
 * A peer that has no slot for this node yet — a node that joined through {@code mtm.join_node} makes its slots only once
 * it has caught up — is waited for: the receiver asks whether the slot exists instead of starting a stream from it, so
 * the peer's log gets no "replication slot ... does not exist" ERROR every second and this node counts no failures;
 * once the slot is there it streams as usual. Before {@link SlotAbsent} every try failed at START_REPLICATION.
 */
public class SlotNotMadeYetTest {
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
    public void aReceiverWaitsForItsSlotWithoutFailingAndStreamsOnceItExists() throws Exception {
        NODES.execEverywhere("CREATE TABLE joined (id int PRIMARY KEY)");
        String slot = Replication.slotName(2);
        NODES.exec(1, "SELECT pg_drop_replication_slot('" + slot + "')");
        Receiver receiver = new Receiver(2, NODES.clusterNode(1), NODES.node(2), votes, new ApplierSettings(2_000, 1)).start();
        receivers.add(receiver);
        Await.until(WAIT, "the receiver looked for its slot twice", () -> receiver.slotWaits() >= 2);
        assertEquals("a slot not made yet is no failure", 0, receiver.failures());

        NODES.exec(1, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput', false, true)");
        String gid = NODES.prepare(1, "INSERT INTO joined VALUES (1)");
        votes.await(Kind.PREPARED, gid, WAIT);
        NODES.exec(1, "COMMIT PREPARED '" + gid + "'");
        Await.until(WAIT, "node 1's transaction applied on node 2",
            () -> NODES.count(2, "SELECT count(*) FROM joined WHERE id = 1") == 1);
        assertEquals("no failure on the way", 0, receiver.failures());
    }
}
