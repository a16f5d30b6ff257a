package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;

/** 2+1 (DESIGN §3, referee): a node that lost its only peer asks the referee for a generation of itself alone. */
public class RefereeCampaignTest {
    private static final NodeSet PAIR = NodeSet.of(1, 2);
    private static final GenerationState ONLINE_IN_4 = new GenerationState(new Generation(4, PAIR, PAIR), 4, 4, PAIR);

    private static Optional<ElectionRequest> campaign(Campaigner c, GenerationState s, NodeSet clique, boolean referee) {
        for (long t = 0; t <= 10_000; t += 100) {
            Optional<ElectionRequest> req = c.tick(t, s, clique, PAIR, false, referee);
            if (req.isPresent()) {
                return req;
            }
        }
        return Optional.empty();
    }

    private static ElectionAnswer ownVote(int self, GenerationState s, NodeSet clique, ElectionRequest req) {
        VoteResult v = Voter.answer(self, s, clique, PAIR, req, true);
        assertTrue(v.answer().refusal(), v.answer().yes());
        return v.answer();
    }

    @Test
    public void anOnlineNodeAloneWinsWithTheGrant() {
        // node 2 alone sees the clique {1} (ties go to the smaller mask): it must still ask
        for (int self : new int[] {1, 2}) {
            Campaigner c = new Campaigner(self, 7);
            ElectionRequest req = campaign(c, ONLINE_IN_4, NodeSet.of(1), true).orElseThrow();
            assertEquals(new ElectionRequest(self, 5, NodeSet.of(self), PAIR), req);
            assertTrue(c.asksReferee());
            assertEquals(Optional.empty(), c.onAnswer(ownVote(self, ONLINE_IN_4, NodeSet.of(1), req)));
            assertTrue("waits for the referee", c.running());
            GenerationAnnounce won = c.onReferee(5, true, "").orElseThrow();
            assertEquals(new Generation(5, NodeSet.of(self), PAIR), won.generation());
            assertEquals(NodeSet.of(self), won.donors());
            // adopted: online at once, alone (no precommit round: VoteTallyTest)
            GenerationState alone = Adoption.adopt(self, new GenerationState(ONLINE_IN_4.current(), 5, 4, PAIR), won)
                .orElseThrow();
            assertEquals(5, alone.lastOnlineIn());
        }
    }

    @Test
    public void aRefusalLosesAndTheNextElectionAsksAgainHigher() {
        Campaigner c = new Campaigner(2, 7);
        ElectionRequest req = campaign(c, ONLINE_IN_4, NodeSet.of(1), true).orElseThrow();
        c.onAnswer(ownVote(2, ONLINE_IN_4, NodeSet.of(1), req));
        assertEquals(Optional.empty(), c.onReferee(5, false, "grant was already issued to node 1 in generation 5"));
        assertFalse(c.running());
        assertTrue(c.lastLoss(), c.lastLoss().contains("referee refused"));
        GenerationState voted = new GenerationState(ONLINE_IN_4.current(), 5, 4, PAIR);
        assertEquals(6, campaign(c, voted, NodeSet.of(1), true).orElseThrow().num());
    }

    @Test
    public void aLateGrantIsIgnored() {
        Campaigner c = new Campaigner(1, 7);
        ElectionRequest req = campaign(c, ONLINE_IN_4, NodeSet.of(1), true).orElseThrow();
        c.onAnswer(ownVote(1, ONLINE_IN_4, NodeSet.of(1), req));
        GenerationState voted = new GenerationState(ONLINE_IN_4.current(), 5, 4, PAIR);
        c.tick(100_000, voted, NodeSet.of(1), PAIR, false, true); // the election timed out
        assertFalse(c.running());
        assertEquals(Optional.empty(), c.onReferee(5, true, ""));
    }

    @Test
    public void onlyAnOnlineMemberOfTwoConfiguredAsks() {
        assertFalse("no referee configured", campaign(new Campaigner(1, 7), ONLINE_IN_4, NodeSet.of(1), false).isPresent());
        GenerationState recovering = new GenerationState(ONLINE_IN_4.current(), 4, 3, NodeSet.of(2));
        assertFalse("lacks what its peer committed", campaign(new Campaigner(1, 7), recovering, NodeSet.of(1), true).isPresent());
        GenerationState outside = new GenerationState(new Generation(4, NodeSet.of(2), PAIR), 4, 3, NodeSet.of(2));
        assertFalse("not a member", campaign(new Campaigner(1, 7), outside, NodeSet.of(1), true).isPresent());
        GenerationState alone = new GenerationState(new Generation(4, NodeSet.of(1), PAIR), 4, 4, NodeSet.of(1));
        assertFalse("already alone", campaign(new Campaigner(1, 7), alone, NodeSet.of(1), true).isPresent());
        NodeSet three = NodeSet.of(1, 2, 3);
        GenerationState ofThree = new GenerationState(new Generation(4, three, three), 4, 4, three);
        assertFalse("three configured", new Campaigner(1, 7).tick(5_000, ofThree, NodeSet.of(1), three, false, true).isPresent());
    }

    @Test
    public void nobodyVotesForAnotherNodeAlone() {
        ElectionRequest req = new ElectionRequest(1, 5, NodeSet.of(1), PAIR);
        String refusal = Voter.refusal(2, ONLINE_IN_4, PAIR, PAIR, req, true);
        assertTrue(refusal, refusal.contains("not a majority"));
        assertNull(Voter.refusal(1, ONLINE_IN_4, NodeSet.of(1), PAIR, req, true));
        assertTrue(Voter.refusal(1, ONLINE_IN_4, NodeSet.of(1), PAIR, req, false).contains("not a majority"));
    }

    @Test
    public void theReturningNodeAndTheGrantHolderElectThePairAgain() {
        GenerationState holder = new GenerationState(new Generation(5, NodeSet.of(1), PAIR), 5, 5, NodeSet.of(1));
        GenerationState returning = new GenerationState(new Generation(5, NodeSet.of(1), PAIR), 5, 4, NodeSet.of(1));
        Campaigner c = new Campaigner(2, 7);
        ElectionRequest req = Optional.<ElectionRequest>empty().or(() -> {
            for (long t = 0; t <= 10_000; t += 100) {
                Optional<ElectionRequest> r = c.tick(t, returning, PAIR, PAIR, true, true);
                if (r.isPresent()) {
                    return r;
                }
            }
            return Optional.empty();
        }).orElseThrow();
        assertEquals(new ElectionRequest(2, 6, PAIR, PAIR), req);
        assertFalse(c.asksReferee());
        c.onAnswer(ownVote(2, returning, PAIR, req));
        VoteResult holderVote = Voter.answer(1, holder, PAIR, PAIR, req, true);
        GenerationAnnounce won = c.onAnswer(holderVote.answer()).orElseThrow();
        assertEquals(NodeSet.of(1), won.donors());
        assertEquals(PAIR, won.generation().members());
    }

    /** RefereeIT round 2: node 2 alone with the grant sees the clique {1}; it is online and asks for nothing more. */
    @Test
    public void nodeTwoAloneWithTheGrantIsOnlineAndQuiet() {
        GenerationState alone = new GenerationState(new Generation(5, NodeSet.of(2), PAIR), 5, 5, NodeSet.of(2));
        assertFalse(campaign(new Campaigner(2, 7), alone, NodeSet.of(1), true).isPresent());
        assertEquals(org.mtm.api.NodeStatus.ONLINE, NodePlan.decide(2, alone, NodeSet.of(1), NodeSet.of(2), false,
            org.mtm.api.RecoveryProgress.NONE).status());
    }
}
