package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;

import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.InDoubtRules.Action;

public class InDoubtRulesTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final long PATIENCE = 10_000;

    private static Action at(int self, Gid gid, NodeSet reachable, long preparedFor) {
        return InDoubtRules.action(gid, self, false, null, reachable, ALL, preparedFor, PATIENCE);
    }

    @Test
    public void aRestartedCoordinatorResolvesItsOwn() {
        assertEquals(Action.RESOLVE, at(1, new Gid(1, 5, 1), NodeSet.of(2, 3), 10));
        assertEquals("its live coordinator decides it", Action.WAIT,
            InDoubtRules.action(new Gid(1, 5, 1), 1, true, null, NodeSet.of(2, 3), ALL, 10, PATIENCE));
    }

    @Test
    public void theLowestConnectedVoterResolvesForAGoneCoordinator() {
        Gid gid = new Gid(1, 5, 1);
        assertEquals(Action.RESOLVE, at(2, gid, NodeSet.of(3), 10));
        assertEquals(Action.WAIT, at(3, gid, NodeSet.of(2), 10));
        assertEquals("anyone after long", Action.RESOLVE, at(3, gid, NodeSet.of(2), 3 * PATIENCE + 1));
    }

    @Test
    public void aReachableCoordinatorIsGivenTime() {
        Gid gid = new Gid(1, 5, 1);
        assertEquals(Action.WAIT, at(2, gid, NodeSet.of(1, 3), PATIENCE - 1));
        // then it has forgotten this copy (its own is gone: only copy holders scan a gid), so the holder asks
        assertEquals("a silent coordinator: the holder resolves", Action.RESOLVE, at(2, gid, NodeSet.of(1, 3), PATIENCE + 1));
        assertEquals(Action.RESOLVE, at(3, gid, NodeSet.of(1, 2), PATIENCE + 1));
        assertEquals(Action.RESOLVE, at(2, gid, NodeSet.of(1, 3), 3 * PATIENCE + 1));
    }

    @Test
    public void withoutAMajorityNothingCanBeDecided() {
        assertEquals(Action.WAIT, at(2, new Gid(1, 5, 1), NodeSet.EMPTY, 3 * PATIENCE + 1));
    }

    @Test
    public void aKnownOutcomeIsFinished() {
        assertEquals(Action.FINISH, InDoubtRules.action(new Gid(1, 5, 1), 2, false, Outcome.ABORTED, NodeSet.EMPTY, ALL,
            0, PATIENCE));
    }
}
