package org.mtm.admin.internal.ping;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import org.junit.Test;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;

public class PingVerdictTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private static StatusReport node1(NodeStatus status, NodeSet members) {
        return new StatusReport(1, status, ALL, 5, members, members, ALL);
    }

    @Test
    public void everyOtherMemberOnlineInTheSameGenerationAnswersThePing() {
        assertTrue(PingVerdict.judge(node1(NodeStatus.ONLINE, ALL),
            Map.of(2, PingVerdict.Answer.of(5, "online"), 3, PingVerdict.Answer.of(5, "online"))).isEmpty());
    }

    @Test
    public void nodesOutsideTheGenerationAreNotAsked() {
        assertTrue(PingVerdict.judge(node1(NodeStatus.ONLINE, NodeSet.of(1, 2)), Map.of(2, PingVerdict.Answer.of(5, "online")))
            .isEmpty());
    }

    @Test
    public void thisNodeNotOnlineFailsWithItsStatus() {
        PingVerdict.Problem p = PingVerdict.judge(node1(NodeStatus.ISOLATED, ALL), Map.of()).orElseThrow();
        assertEquals("55000", p.sqlState());
        assertEquals("mtm.ping: node 1 is not online in its generation 5: its status is \"isolated\"", p.message());
    }

    @Test
    public void aMemberInAnotherGenerationMeansASwitchIsUnderWay() {
        PingVerdict.Problem p = PingVerdict.judge(node1(NodeStatus.ONLINE, ALL),
            Map.of(2, PingVerdict.Answer.of(6, "online"), 3, PingVerdict.Answer.of(5, "online"))).orElseThrow();
        assertEquals("55000", p.sqlState());
        assertEquals("mtm.ping: node 2 is in generation 6, node 1 in 5: a generation switch is under way; retry", p.message());
    }

    @Test
    public void aMemberNotOnlineIsNamed() {
        PingVerdict.Problem p = PingVerdict.judge(node1(NodeStatus.ONLINE, ALL),
            Map.of(2, PingVerdict.Answer.of(5, "online"), 3, PingVerdict.Answer.of(5, "recovery"))).orElseThrow();
        assertEquals("mtm.ping: node 3 of generation 5 is not online: its status is \"recovery\"", p.message());
    }

    @Test
    public void aMemberThatDoesNotAnswerIs08006() {
        PingVerdict.Problem p = PingVerdict.judge(node1(NodeStatus.ONLINE, ALL),
            Map.of(2, PingVerdict.Answer.failed("Connection refused"))).orElseThrow();
        assertEquals("08006", p.sqlState());
        assertEquals("mtm.ping: node 2 of generation 5 did not answer: Connection refused", p.message());
    }

    @Test
    public void aNodeOutsideAnyClusterCannotBePinged() {
        PingVerdict.Problem p = PingVerdict.judge(new StatusReport(0, NodeStatus.DISABLED, NodeSet.EMPTY, 0, NodeSet.EMPTY,
            NodeSet.EMPTY, NodeSet.EMPTY), Map.of()).orElseThrow();
        assertEquals("55000", p.sqlState());
    }
}
