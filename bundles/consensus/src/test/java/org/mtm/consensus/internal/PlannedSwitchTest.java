package org.mtm.consensus.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.generation.ElectionRequest;

/** Which elections drain the members' commits first (issue 15): the switches the cluster chose, not those it suffered. */
public class PlannedSwitchTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final GenerationState ONLINE_IN_4 = new GenerationState(new Generation(4, ALL, ALL), 4, 4, ALL);

    @Test
    public void aDropOrAnAdditionIsPlanned() {
        assertTrue(GenerationRunner.plannedSwitch(1, ONLINE_IN_4,
            ElectionRequest.accept(1, 5, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL)));
        assertTrue(GenerationRunner.plannedSwitch(1, ONLINE_IN_4,
            ElectionRequest.accept(1, 5, ALL, NodeSet.of(1, 2, 3, 4), ALL)));
    }

    @Test
    public void aChangesFirstPhaseElectsNothingAndDrainsNothing() {
        assertFalse("the promises are gathered first; the drain precedes the accept phase",
            GenerationRunner.plannedSwitch(1, ONLINE_IN_4, ElectionRequest.prepare(1, 5, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL)));
    }

    @Test
    public void aCaughtUpNodeAskingToBeTakenInIsPlanned() {
        GenerationState outside = new GenerationState(new Generation(5, NodeSet.of(1, 2), ALL), 5, 4, NodeSet.of(1, 2));
        assertTrue(GenerationRunner.plannedSwitch(3, outside, new ElectionRequest(3, 6, ALL, ALL)));
    }

    @Test
    public void aJoinedNodeAsksToBeTakenInOnlyOnceItsSlotsExist() {
        GenerationState outside = new GenerationState(new Generation(5, ALL, NodeSet.of(1, 2, 3, 4)), 5, 0, NodeSet.of(1));
        assertTrue(GenerationRunner.waitsForItsSlotsOutside(4, outside, true));
        assertFalse(GenerationRunner.waitsForItsSlotsOutside(4, outside, false));
        GenerationState member = new GenerationState(new Generation(6, NodeSet.of(1, 2, 3, 4), NodeSet.of(1, 2, 3, 4)), 6, 0,
            NodeSet.of(1));
        assertFalse("a member already: held back from going online instead", GenerationRunner.waitsForItsSlotsOutside(4,
            member, true));
    }

    @Test
    public void aMemberLostIsNotWaitedFor() {
        assertFalse("its transactions end anyway; a drain would only lengthen the outage",
            GenerationRunner.plannedSwitch(1, ONLINE_IN_4, new ElectionRequest(1, 5, NodeSet.of(1, 2), ALL)));
    }
}
