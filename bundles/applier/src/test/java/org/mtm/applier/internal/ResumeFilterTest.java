package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;

/** Which messages of a stream started below the progress reach the applier: exactly those after the progress. */
public class ResumeFilterTest {

    private static List<Character> passed(long progress, PgOutputMessage... stream) {
        ResumeFilter filter = new ResumeFilter(progress);
        List<Character> types = new ArrayList<>();
        for (PgOutputMessage m : stream) {
            if (!filter.done(m)) {
                types.add(m.type());
            }
        }
        return types;
    }

    private static final PgOutputMessage[] STREAM = {
        new BeginPrepare(1000, 1100, 0, 1, "MTM-2-1-1"), new Origin(500, "mtm_node_1"), new Prepare(0, 1000, 1100, 0, 1, "MTM-2-1-1"),
        new Begin(1200, 0, 2), new Commit(0, 1200, 1300, 0),
        new CommitPrepared(0, 1400, 1500, 0, 1, "MTM-2-1-1"),
        new BeginPrepare(1600, 1700, 0, 3, "MTM-2-3-1"), new Prepare(0, 1600, 1700, 0, 3, "MTM-2-3-1"),
        new RollbackPrepared(0, 1700, 1800, 0, 0, 3, "MTM-2-3-1"),
    };

    @Test
    public void fromTheStartEverythingPasses() {
        assertEquals(List.of('b', 'O', 'P', 'B', 'C', 'K', 'b', 'P', 'r'), passed(0, STREAM));
    }

    @Test
    public void unitsEndingAtOrBeforeTheProgressAreDone() {
        assertEquals("progress at the plain commit's end", List.of('K', 'b', 'P', 'r'), passed(1300, STREAM));
        assertEquals("progress at the first PREPARE's end", List.of('B', 'C', 'K', 'b', 'P', 'r'), passed(1100, STREAM));
        assertEquals("progress at the COMMIT PREPARED's end", List.of('b', 'P', 'r'), passed(1500, STREAM));
        assertEquals("progress at the end", List.of(), passed(1800, STREAM));
    }

    @Test
    public void aCommitPreparedAfterTheProgressPassesWhileItsPrepareDoesNot() {
        assertEquals(List.of('B', 'C', 'K', 'b', 'P', 'r'), passed(1150, STREAM));
    }
}
