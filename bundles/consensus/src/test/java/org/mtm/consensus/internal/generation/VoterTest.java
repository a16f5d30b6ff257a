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
        return ElectionRequest.accept(1, num, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL);
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
            ElectionRequest.accept(1, 6, NodeSet.of(1, 2), NodeSet.of(1, 2, 4), NodeSet.of(1, 2, 3, 4))),
            "configured nodes differ");
    }

    @Test
    public void aDropKeepsTheNumberRulesOfEveryElection() {
        GenerationState votedFor6 = new GenerationState(IN_GEN_4.current(), 6, 3, NodeSet.of(1, 2));
        refused(Voter.answer(2, votedFor6, ALL, ALL, drop3(5)), "already voted for gen 6");
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(2, 3), ALL, drop3(6)), "not all in the voter's clique");
    }

    /**
     * A yes to a change is durable and binds: no ordinary election of the old set afterwards. Another change is
     * accepted only in a second phase (its candidate learned from a majority's promises that it is the one to
     * propose); in one phase, as nodes before two-phase change elections asked, never.
     */
    @Test
    public void aYesToAChangeRefusesTheOldSetButNotASecondPhase() {
        VoteResult yes = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6));
        assertEquals(NodeSet.of(1, 2), yes.newState().votedConfigured());
        assertEquals(6, yes.newState().votedIn());
        assertTrue(yes.newState().changeVoted());
        refused(Voter.answer(2, yes.newState(), ALL, ALL, request(7, ALL)), "voter accepted configured nodes {1,2}");
        ElectionRequest oldStyle = new ElectionRequest(3, 7, NodeSet.of(2, 3), NodeSet.of(2, 3), ALL,
            ElectionRequest.Phase.SINGLE);
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, oldStyle), "upgrade node 3");
        // the same change again (its completion) is voted for, and so is another one's second phase
        assertTrue(Voter.answer(2, yes.newState(), ALL, ALL, drop3(7)).answer().yes());
        VoteResult other = Voter.answer(2, yes.newState(), ALL, ALL,
            ElectionRequest.accept(3, 7, NodeSet.of(2, 3), NodeSet.of(2, 3), ALL));
        assertTrue(other.answer().refusal(), other.answer().yes());
        assertEquals(NodeSet.of(2, 3), other.newState().votedConfigured());
        assertEquals(7, other.newState().votedIn());
    }

    /**
     * The first phase: a promise of the number (lastVote, flushed like a yes) that reports the change accepted last
     * and its number, as they were; whatever the change it is bound to, and only with a number above every one seen.
     */
    @Test
    public void aPromiseReportsTheAcceptedChangeAndHoldsTheNumber() {
        GenerationState bound = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6)).newState();
        ElectionRequest drop1 = ElectionRequest.prepare(3, 8, NodeSet.of(2, 3), NodeSet.of(2, 3), ALL);
        VoteResult p = Voter.answer(2, bound, ALL, ALL, drop1);
        assertTrue(p.answer().refusal(), p.answer().yes());
        assertTrue(p.mustPersist());
        assertTrue(p.answer().promise());
        assertTrue(p.answer().reportsChange());
        assertEquals(NodeSet.of(1, 2), p.answer().votedConfigured());
        assertEquals(6, p.answer().votedIn());
        assertEquals(new GenerationState(IN_GEN_4.current(), 8, 3, NodeSet.of(1, 2), NodeSet.of(1, 2), 6), p.newState());
        // the number is promised: nothing below it, not the same prepare again, no ordinary election with it
        refused(Voter.answer(2, p.newState(), ALL, ALL, drop3(7)), "already voted for gen 8");
        refused(Voter.answer(2, p.newState(), ALL, ALL, drop1), "already promised gen 8");
        refused(Voter.answer(2, p.newState(), ALL, ALL, request(8, ALL)), "voter accepted");
        // its second phase with that number is accepted, once; a repeat of it answers the same
        ElectionRequest accept = ElectionRequest.accept(3, 8, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL);
        VoteResult a = Voter.answer(2, p.newState(), ALL, ALL, accept);
        assertTrue(a.answer().refusal(), a.answer().yes());
        assertEquals(8, a.newState().votedIn());
        assertTrue(Voter.answer(2, a.newState(), ALL, ALL, accept).answer().yes());
        refused(Voter.answer(2, a.newState(), ALL, ALL,
            ElectionRequest.accept(3, 8, NodeSet.of(2, 3), NodeSet.of(2, 3), ALL)), "already voted for gen 8");
        // a free voter promises too, and reports no change
        ElectionAnswer free = Voter.answer(1, IN_GEN_4, ALL, ALL, drop1).answer();
        assertTrue(free.yes());
        assertFalse(free.reportsChange());
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, ElectionRequest.prepare(3, 5, NodeSet.of(2, 3), NodeSet.of(2, 3),
            ALL)), "already promised gen 5");
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, ElectionRequest.prepare(3, 6, NodeSet.of(1, 2),
            NodeSet.of(1, 2, 4), NodeSet.of(1, 2, 3, 4))), "configured nodes differ");
    }

    /**
     * A generation of another configured set ends what the voter accepted in the old one (that set's change was
     * decided and the voter refuses its elections from now on); a generation of the same set below its promise keeps
     * it.
     */
    @Test
    public void adoptingAnotherConfiguredSetReleasesTheAcceptedChange() {
        GenerationState bound = Voter.answer(2, IN_GEN_4, ALL, ALL, drop3(6)).newState();
        GenerationState promised = Voter.answer(2, bound, ALL, ALL,
            ElectionRequest.prepare(1, 9, NodeSet.of(1, 2), NodeSet.of(1, 2), ALL)).newState();
        GenerationState sameSet = Adoption.adopt(2, promised,
            new GenerationAnnounce(new Generation(5, ALL, ALL), ALL)).orElseThrow();
        assertTrue(sameSet.changeVoted());
        assertEquals(6, sameSet.votedIn());
        NodeSet other = NodeSet.of(2, 3);
        GenerationState otherSet = Adoption.adopt(2, promised,
            new GenerationAnnounce(new Generation(7, other, other), other)).orElseThrow();
        assertFalse(otherSet.changeVoted());
        assertEquals(0, otherSet.votedIn());
        assertEquals(9, otherSet.lastVote());
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
        ElectionRequest add4 = ElectionRequest.accept(1, 6, ALL, grown, ALL);
        VoteResult yes = Voter.answer(2, IN_GEN_4, ALL, ALL, add4);
        assertTrue(yes.answer().refusal(), yes.answer().yes());
        assertEquals(grown, yes.newState().votedConfigured());
        refused(Voter.answer(2, yes.newState(), ALL, ALL, request(7, ALL)), "voter accepted configured nodes {1,2,3,4}");
        // two of three members are not a majority of four
        refused(Voter.answer(2, IN_GEN_4, ALL, ALL, ElectionRequest.accept(1, 6, NodeSet.of(1, 2), grown, ALL)),
            "not a majority of {1,2,3,4}");
        // a node added while another is away: the voter still sees it in its clique or refuses
        refused(Voter.answer(2, IN_GEN_4, NodeSet.of(1, 2), ALL, add4), "not all in the voter's clique");
        // adopted from a beacon that names the grown set: only with node 4 in the catalog
        PeerBeacon b = new PeerBeacon(6, ALL, ALL, 6, ALL, -1, grown);
        assertEquals(java.util.Optional.empty(), Adoption.beaconGeneration(IN_GEN_4, b, ALL));
        assertEquals(grown, Adoption.beaconGeneration(IN_GEN_4, b, ALL, grown).orElseThrow().generation().configured());
    }
}
