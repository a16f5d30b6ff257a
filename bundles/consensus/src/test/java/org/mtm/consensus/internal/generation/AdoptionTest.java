package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;
import org.mtm.consensus.internal.PeerBeacon;

public class AdoptionTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final GenerationState ONLINE_IN_1 = new GenerationState(new Generation(1, ALL, ALL), 1, 1, ALL);
    private static final Generation GEN_2 = new Generation(2, NodeSet.of(1, 2), ALL);

    @Test
    public void aMemberDonorGoesOnlineAtOnce() {
        GenerationState s = Adoption.adopt(1, ONLINE_IN_1, new GenerationAnnounce(GEN_2, NodeSet.of(1))).orElseThrow();
        assertEquals(new GenerationState(GEN_2, 2, 2, NodeSet.of(1)), s);
    }

    @Test
    public void aMemberThatIsNoDonorMustRecover() {
        GenerationState s = Adoption.adopt(2, ONLINE_IN_1, new GenerationAnnounce(GEN_2, NodeSet.of(1))).orElseThrow();
        assertEquals(new GenerationState(GEN_2, 2, 1, NodeSet.of(1)), s);
    }

    @Test
    public void aNonMemberKeepsItsLastOnlineIn() {
        GenerationState s = Adoption.adopt(3, ONLINE_IN_1, new GenerationAnnounce(GEN_2, NodeSet.of(1, 2))).orElseThrow();
        assertEquals(new GenerationState(GEN_2, 2, 1, NodeSet.of(1, 2)), s);
    }

    @Test
    public void notANewerGeneration() {
        GenerationState in2 = new GenerationState(GEN_2, 2, 2, NodeSet.of(1));
        assertEquals(Optional.empty(), Adoption.adopt(1, in2, new GenerationAnnounce(GEN_2, NodeSet.of(1))));
        assertEquals(Optional.empty(), Adoption.adopt(1, in2,
            new GenerationAnnounce(new Generation(1, ALL, ALL), ALL)));
    }

    /**
     * Found by GenerationSimulationTest (seed 451810356170 with this rule removed): node 2 voted for gen 2 {1,2}, then
     * campaigned for gen 3 {2,3} (its own vote reported lastOnlineIn 1), then learnt gen 2 with itself as donor. Had
     * it gone online in gen 2, nodes 1 and 2 would commit a transaction there that gen 3's donors {2,3} — chosen by
     * lastOnlineIn 1 — do not all have: node 3 would commit gen 3 transactions on a log missing it.
     */
    @Test
    public void aDonorThatVotedHigherSinceDoesNotGoOnline() {
        GenerationState votedFor3 = new GenerationState(ONLINE_IN_1.current(), 3, 1, ALL);
        GenerationState s = Adoption.adopt(2, votedFor3, new GenerationAnnounce(GEN_2, NodeSet.of(1, 2))).orElseThrow();
        assertEquals(new GenerationState(GEN_2, 3, 1, NodeSet.of(1, 2)), s);
        assertEquals("nor through recovery", s, Adoption.recovered(s));
        assertTrue(!Adoption.mayGoOnline(2, s));
    }

    @Test
    public void recoveredGoesOnlineInTheCurrentGeneration() {
        GenerationState recovering = new GenerationState(GEN_2, 2, 1, NodeSet.of(1));
        assertEquals(new GenerationState(GEN_2, 2, 2, NodeSet.of(1)), Adoption.recovered(recovering));
    }

    @Test
    public void fromABeaconOfAHigherGeneration() {
        PeerBeacon b = new PeerBeacon(2, NodeSet.of(1, 2), NodeSet.of(1), 2, ALL);
        assertEquals(new GenerationState(GEN_2, 2, 1, NodeSet.of(1)), Adoption.fromBeacon(3, ONLINE_IN_1, b, ALL).orElseThrow());
        assertEquals(new GenerationState(GEN_2, 2, 2, NodeSet.of(1)), Adoption.fromBeacon(1, ONLINE_IN_1, b, ALL).orElseThrow());
    }

    @Test
    public void notFromABeaconOfTheSameGenerationOrAnotherCluster() {
        assertEquals(Optional.empty(), Adoption.fromBeacon(3, ONLINE_IN_1, new PeerBeacon(1, ALL, ALL, 1, ALL), ALL));
        assertEquals(Optional.empty(), Adoption.fromBeacon(3, ONLINE_IN_1,
            new PeerBeacon(5, NodeSet.of(1, 4), NodeSet.of(1), 5, ALL), ALL));
        assertEquals(Optional.empty(), Adoption.fromBeacon(3, ONLINE_IN_1,
            new PeerBeacon(5, NodeSet.of(1, 2), NodeSet.of(3), 5, ALL), ALL));
    }

    /** A node that missed the announce of mtm.drop_node(3) learns the smaller configured set from a heartbeat. */
    @Test
    public void aBeaconCarriesADroppedConfiguredSet() {
        NodeSet twelve = NodeSet.of(1, 2);
        PeerBeacon b = new PeerBeacon(2, twelve, NodeSet.of(1), 2, twelve, -1, twelve);
        GenerationAnnounce a = Adoption.beaconGeneration(ONLINE_IN_1, b, ALL).orElseThrow();
        assertEquals(new Generation(2, twelve, twelve), a.generation());
        assertEquals(new GenerationState(new Generation(2, twelve, twelve), 2, 1, NodeSet.of(1)),
            Adoption.fromBeacon(2, ONLINE_IN_1, b, ALL).orElseThrow());
        // an older peer's beacon (no configured set) keeps this node's
        PeerBeacon old = new PeerBeacon(2, twelve, NodeSet.of(1), 2, twelve, -1);
        assertEquals(ALL, Adoption.beaconGeneration(ONLINE_IN_1, old, ALL).orElseThrow().generation().configured());
        // a set with a node this one never heard of is not taken from a heartbeat
        PeerBeacon grown = new PeerBeacon(2, twelve, NodeSet.of(1), 2, twelve, -1, NodeSet.of(1, 2, 3, 4));
        assertEquals(Optional.empty(), Adoption.beaconGeneration(ONLINE_IN_1, grown, ALL));
    }
}
