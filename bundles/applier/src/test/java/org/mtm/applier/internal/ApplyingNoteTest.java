package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;
import org.mtm.applier.internal.pgoutput.TupleData;

/**
 * A peer applying a large transaction tells its coordinator it is still at it ({@link Kind#APPLYING}, every
 * {@link CommitMessage#APPLYING_NOTE_MS} of applying), so that the coordinator's decision timeout does not roll back a
 * bulk load whose peers take longer than it to apply (a 1M-row {@code pgbench -i} on a loaded machine did); a
 * transaction applied within the interval sends no note. Real PostgreSQL, the stream's messages built by hand, the
 * applier's clock driven by the test.
 */
public class ApplyingNoteTest {

    @ClassRule
    public static final PgNodes NODES = new PgNodes(1);

    private static final int SELF = 1;
    private static final int PEER = 2;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    public void aTransactionAppliedForLongerThanTheIntervalIsNotedToItsCoordinatorOncePerInterval() throws Exception {
        List<CommitMessage> notes = apply("notes_long", "MTM-2-501-1", 3 * SECOND);
        // 20 rows 3 s apart: the first change starts the clock, then a note at +6, +12, +18, +24, +30, +36, +42, +48, +54 s
        assertEquals(notes.toString(), 9, notes.stream().filter(m -> m.kind() == Kind.APPLYING).count());
        for (CommitMessage m : notes) {
            assertEquals("MTM-2-501-1", m.gid().toString());
        }
    }

    @Test
    public void aTransactionAppliedWithinTheIntervalSendsNoNote() throws Exception {
        List<CommitMessage> notes = apply("notes_short", "MTM-2-502-1", 0);
        assertEquals(notes.toString(), 0, notes.stream().filter(m -> m.kind() == Kind.APPLYING).count());
    }

    /** Applies BEGIN PREPARE, 20 inserts {@code step} nanoseconds apart and PREPARE; what was sent to the origin. */
    private static List<CommitMessage> apply(String table, String gid, long step) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY)");
        RecordedVotes votes = new RecordedVotes();
        AtomicLong now = new AtomicLong(1_000 * SECOND);
        int worker = table.hashCode() & 0xffff; // an origin of its own per test
        try (ApplySession session = ApplySession.open(NODES.node(SELF), SELF, PEER, worker, new ApplierSettings(500, 1))) {
            StreamApplier applier = new StreamApplier(SELF, PEER, session, votes, () -> false, () -> 1L);
            applier.clock(now::get);
            long xid = 501;
            applier.handle(new BeginPrepare(0x5000, 0x5100, 0, xid, gid));
            applier.handle(new Relation(xid, 70_001, "public", table, ReplicaIdentity.DEFAULT,
                List.of(new Column(Column.FLAG_KEY, "id", 23, -1))));
            for (int i = 1; i <= 20; i++) {
                applier.handle(new Insert(xid, 70_001, TupleData.of(new byte[] {TupleData.TEXT},
                    new byte[][] {Integer.toString(i).getBytes(StandardCharsets.US_ASCII)})));
                now.addAndGet(step);
            }
            applier.handle(new Prepare(0, 0x5000, 0x5100, 0, xid, gid));
            votes.await(Kind.PREPARED, gid, java.time.Duration.ofSeconds(10));
        } finally {
            try (Connection c = NODES.node(SELF).connect(); Statement st = c.createStatement()) {
                st.execute("ROLLBACK PREPARED '" + gid + "'");
            }
        }
        return votes.all().stream().filter(s -> s.node() == PEER).map(RecordedVotes.Sent::message)
            .filter(m -> m.kind() != Kind.PREPARED).toList();
    }
}
