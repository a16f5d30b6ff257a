package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;

import org.junit.Test;
import org.mtm.api.Gid;

public class CopyAgesTest {
    private final Gid copied = new Gid(1, 57745, 22);
    private final Gid fresh = new Gid(2, 100, 22);

    @Test
    public void aCopyPreparedLongBeforeThisResolverSawItIsAsOldAsItsStayHere() {
        CopyAges ages = new CopyAges();
        // a base backup's copy, prepared 12 s before the joined node's first scan
        assertEquals(0, ages.age(copied, 12_000, 1_000));
        ages.endScan();
        assertEquals(4_000, ages.age(copied, 16_000, 5_000));
        assertEquals("the patience (10 s) has not passed before 11 s here", false,
            InDoubtRules.action(copied, 4, false, null, org.mtm.api.NodeSet.of(1, 2, 3), org.mtm.api.NodeSet.of(1, 2, 3, 4),
                ages.age(copied, 22_000, 11_000), 10_000) == InDoubtRules.Action.RESOLVE);
    }

    @Test
    public void aCopyPreparedWhileThisResolverWatchedKeepsItsOwnAge() {
        CopyAges ages = new CopyAges();
        assertEquals(0, ages.age(fresh, 0, 1_000));
        ages.endScan();
        assertEquals(300, ages.age(fresh, 300, 1_500));
    }

    /**
     * A large transaction: node 3 prepared its copy early, the coordinator (node 1, reachable) still waits for node 2,
     * which is still applying it, and says so every 5 s. Without the notes node 3 took the coordinator for one that
     * forgot the copy after its patience (10 s) and resolved it — abort, nothing being precommitted.
     */
    @Test
    public void aCopyWhoseCoordinatorSaysItIsAtWorkIsLeftToIt() {
        CopyAges ages = new CopyAges();
        Gid bulk = new Gid(1, 845, 1);
        org.mtm.api.NodeSet all = org.mtm.api.NodeSet.of(1, 2, 3);
        for (long now = 0; now <= 60_000; now += 1_000) {
            if (now % 5_000 == 0) {
                ages.refresh(bulk, now);
            }
            long age = ages.age(bulk, now, now);
            ages.endScan();
            assertEquals("at " + now + " ms", InDoubtRules.Action.WAIT,
                InDoubtRules.action(bulk, 3, false, null, org.mtm.api.NodeSet.of(1, 2), all, age, 10_000));
        }
        // the coordinator falls silent: after the patience the copy is resolved as before
        assertEquals(InDoubtRules.Action.RESOLVE, InDoubtRules.action(bulk, 3, false, null, org.mtm.api.NodeSet.of(1, 2), all,
            ages.age(bulk, 71_000, 71_000), 10_000));
    }

    @Test
    public void aFinishedCopyIsForgottenAndCountsAfreshIfItComesBack() {
        CopyAges ages = new CopyAges();
        ages.age(copied, 50_000, 1_000);
        ages.age(fresh, 10, 1_000);
        ages.endScan();
        ages.age(fresh, 20, 2_000); // copied was finished
        ages.endScan();
        assertEquals(1, ages.size());
        assertEquals(0, ages.age(copied, 60_000, 3_000));
    }
}
