package org.mtm.consensus.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/** A load() racing a save keeps the newer state: the order the stored row moves in. */
public class StateOrderTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private static GenerationState s(long gen, long vote, long online) {
        return new GenerationState(new Generation(gen, ALL, ALL), vote, online, ALL);
    }

    @Test
    public void generationThenVoteThenLastOnline() {
        assertTrue(ClusterStateService.behind(s(5, 5, 5), s(6, 6, 5)));
        assertTrue("a vote saved alone", ClusterStateService.behind(s(5, 5, 5), s(5, 6, 5)));
        assertTrue("recovered: online in it", ClusterStateService.behind(s(6, 6, 5), s(6, 6, 6)));
        assertFalse(ClusterStateService.behind(s(6, 6, 6), s(6, 6, 6)));
        assertFalse(ClusterStateService.behind(s(7, 7, 6), s(6, 8, 6)));
    }
}
