package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;

public class MissingOriginsTest {
    private final MissingOrigins filter = new MissingOrigins(1, 4);

    @Test
    public void aCopyOfAnotherCoordinatorsTransactionWithoutItsOriginGetsTheOriginItsGidNames() {
        List<PgOutputMessage> out = feed(begin("MTM-2-77-3"), commitLike());
        assertEquals(List.of("b", "O", "P"), types(out));
        assertTrue(out.get(1) instanceof Origin);
        assertEquals("mtm_node_2", ((Origin) out.get(1)).name());
        assertEquals(1, filter.restored());
    }

    @Test
    public void aCopyOfThisNodesOwnTransactionIsNamedAfterThisNode() {
        List<PgOutputMessage> out = feed(begin("MTM-1-77-3"), commitLike());
        assertEquals("mtm_node_1", ((Origin) out.get(1)).name());
    }

    @Test
    public void anOriginPostgresqlSentIsKept() {
        Origin sent = new Origin(0x1234, "mtm_node_2_3");
        List<PgOutputMessage> out = feed(begin("MTM-2-77-3"), sent, commitLike());
        assertEquals(List.of("b", "O", "P"), types(out));
        assertEquals(sent, out.get(1));
        assertEquals(0, filter.restored());
    }

    @Test
    public void thePeersOwnAndUsersTransactionsPassUnchanged() {
        assertEquals(List.of("b", "P"), types(feed(begin("MTM-4-77-3"), commitLike())));
        assertEquals(List.of("b", "P"), types(feed(begin("my_own_2pc"), commitLike())));
        assertEquals(0, filter.restored());
    }

    private List<PgOutputMessage> feed(PgOutputMessage... messages) {
        List<PgOutputMessage> out = new ArrayList<>();
        for (PgOutputMessage m : messages) {
            out.addAll(filter.pass(m));
        }
        return out;
    }

    private static List<String> types(List<PgOutputMessage> messages) {
        return messages.stream().map(m -> String.valueOf(m.type())).toList();
    }

    private static BeginPrepare begin(String gid) {
        return new BeginPrepare(100, 200, 0, 9, gid);
    }

    private static PgOutputMessage commitLike() {
        return new PgOutputMessage.Prepare(0, 100, 200, 0, 9, "g");
    }
}
