package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;
import org.mtm.consensus.internal.PeerBeacon;

public class VoterTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final GenerationState IN_GEN_4 =
        new GenerationState(new Generation(4, ALL, ALL), 5, 3, NodeSet.of(1, 2));

    private static ElectionRequest request(long num, NodeSet members) {
        return new ElectionRequest(1, num, members, ALL);
    }

    @Test
    public void yesPromisesTheNumberAndReportsWhereTheVoterWasOnline() {
        VoteResult r = Voter.answer(2, IN_GEN_4, ALL, ALL, request(6, NodeSet.of(1, 2)));
        assertTrue(r.answer().yes());
        assertTrue(r.mustPersist());
        assertEquals(new GenerationState(IN_GEN_4.current(), 6, 3, NodeSet.of(1, 2)), r.newState());
        assertEquals(new ElectionAnswer(2, 6, true, 4, 3, 6, ""), r.answer());
    }

    @Test
    public void refusesANumberNotAboveItsGeneration() {
        GenerationState s = new GenerationState(IN_GEN_4.current(), 4, 4, ALL);
        refused(Voter.answer(2, s, ALL, ALL, request(4, ALL)), "already in gen 4");
    }

    @Test
    public void refusesANumberNotAboveItsLastVoteEvenTheSameRequestAgain() {
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, request(5, ALL)), "already voted for gen 5");
        VoteResult yes = Voter.answer(2, IN_GEN_4, ALL, ALL, request(6, ALL));
        refused(Voter.answer(2, yes.newState(), ALL, ALL, request(6, ALL)), "already voted for gen 6");
    }

    @Test
    public void refusesOtherConfiguredNodes() {
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, new ElectionRequest(1, 6, NodeSet.of(1, 2), NodeSet.of(1, 2, 3, 4))),
            "configured nodes differ");
    }

    @Test
    public void refusesMembersOutsideItsClique() {
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(2, 3), ALL, request(6, NodeSet.of(1, 2))), "not all in the voter's clique");
    }

    @Test
    public void refusesWhenItIsNotInItsOwnClique() {
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(1, 3), ALL, request(6, NodeSet.of(1, 3))), "not in its own clique");
    }

    @Test
    public void refusesAMinorityGeneration() {
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, request(6, NodeSet.of(2))), "not a majority");
    }

    @Test
    public void refusesBeforeInit() {
        refused(Voter.answer(2, GenerationState.NONE, ALL, ALL, request(6, ALL)), "not initialised");
    }

    @Test
    public void aRefusalTellsTheNumbersToBeat() {
        ElectionAnswer a = Voter.answer(2, IN_GEN_4, ALL, ALL, request(5, ALL)).answer();
        assertEquals(4, a.voterGen());
        assertEquals(5, a.voterLastVote());
    }

    private static void refused(VoteResult r, String because) {
        assertFalse(r.answer().yes());
        assertFalse(r.mustPersist());
        assertTrue(r.answer().refusal() + " should say " + because, r.answer().refusal().contains(because));
        assertSame(r.newState().getClass(), GenerationState.class);
    }

    /** mtm.drop_node(3) asked on node 1: configured {1,2,3} becomes {1,2}. */
    private static ElectionRequest drop3(long num) {
        return new ElectionRequest(1, num, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL);
    }

    @Test
    public void votesForTheDropOfAnotherNode() {
        VoteResult r = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6));
        assertTrue(r.answer().refusal(), r.answer().yes());
        assertEquals(6, r.newState().lastVote());
    }

    @Test
    public void theDroppedNodeRefusesItsDrop() {
        refused(Voter.answer(3, IN_GEN_4, ALL, ALL, drop3(6)), "node 3 is the node being dropped");
    }

    @Test
    public void aDropFromAnotherConfiguredSetIsRefused() {
        // a voter that already left node 4 out sees a drop of 3 from {1,2,3,4}
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL,
            new ElectionRequest(1, 6, NodeSet.of(1, 2), NodeSet.of(1, 2, 4), NodeSet.of(1, 2, 3, 4))),
            "configured nodes differ");
    }

    @Test
    public void aDropKeepsTheNumberRulesOfEveryElection() {
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(5)), "already voted for gen 5");
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(2, 3), ALL, drop3(6)), "not all in the voter's clique");
    }

    /** A yes to a change is durable and binds: no election of the old set, and no other change of it, afterwards. */
    @Test
    public void aYesToAChangeRefusesTheOldSetAndOtherChanges() {
        VoteResult yes = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6));
        assertEquals(NodeSet.of(1, 2), yes.newState().votedConfigured());
        assertTrue(yes.newState().changeVoted());
        refused(Voter.answer(2, yes.newState(), ALL, ALL, request(7, ALL)), "voter voted for configured nodes {1,2}");
        refused(Voter.answer(2, yes.newState(), ALL, ALL,
            new ElectionRequest(3, 7, NodeSet.of(2, 3), NodeSet.of(2, 3), ALL)), "voter voted for configured nodes {1,2}");
        // the same change again (its completion) is voted for
        assertTrue(Voter.answer(2, yes.newState(), ALL, ALL, drop3(7)).answer().yes());
    }

    @Test
    public void aLostChangeIsCompletedByItsVoters() {
        GenerationState voted = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6)).newState();
        assertEquals(java.util.Optional.of(new Generation(5, NodeSet.of(1, 2), NodeSet.of(1, 2))),
            MembershipChange.completion(2, voted, ALL));
        assertEquals(java.util.Optional.empty(), MembershipChange.completion(2, IN_GEN_4, ALL));
        // adopting the change's generation (or a later one) ends it
        GenerationState adopted = Adoption.adopt(2, voted,
            new GenerationAnnounce(new Generation(6, NodeSet.of(1, 2), NodeSet.of(1, 2)), NodeSet.of(1, 2))).orElseThrow();
        assertFalse(adopted.changeVoted());
    }

    /** mtm.add_node: the members stay, node 4 joins the configured set; a yes binds the voter to the grown set. */
    @Test
    public void anAdditionIsVotedForAndBindsTheVoter() {
        NodeSet grown = NodeSet.of(1, 2, 3, 4);
        ElectionRequest add4 = new ElectionRequest(1, 6, ALL, grown, ALL);
        VoteResult yes = Voter.answer(2, IN_GEN_4, ALL, ALL, add4);
        assertTrue(yes.answer().refusal(), yes.answer().yes());
        assertEquals(grown, yes.newState().votedConfigured());
        refused(Voter.answer(2, yes.newState(), ALL, ALL, request(7, ALL)), "voter voted for configured nodes {1,2,3,4}");
        // two of three members are not a majority of four
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, new ElectionRequest(1, 6, NodeSet.of(1, 2), grown, ALL)),
            "not a majority of {1,2,3,4}");
        // a node added while another is away: the voter still sees it in its clique or refuses
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(1, 2), ALL, add4), "not all in the voter's clique");
        // adopted from a beacon that names the grown set: only with node 4 in the catalog
        PeerBeacon b = new PeerBeacon(6, ALL, ALL, 6, ALL, -1, grown);
        assertEquals(java.util.Optional.empty(), Adoption.beaconGeneration(IN_GEN_4, b, ALL));
        assertEquals(grown, Adoption.beaconGeneration(IN_GEN_4, b, ALL, grown).orElseThrow().generation().configured());
    }
}
