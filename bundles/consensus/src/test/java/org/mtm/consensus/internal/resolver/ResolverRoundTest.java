package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;

import java.util.Random;
import java.util.List;
import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.ResolverRound.Phase;

public class ResolverRoundTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final Term T = new Term(2, 2);

    @Test
    public void nothingAcceptedAnywhereMeansAbort() {
        ResolverRound r = new ResolverRound(ALL, T);
        assertEquals(Phase.PROMISING, r.onPromise(2, true, T, Term.NONE, null, null));
        assertEquals(Phase.ACCEPTING, r.onPromise(3, true, T, Term.NONE, null, null));
        assertEquals(Proposal.PREABORT, r.value());
        assertEquals(NodeSet.of(1, 2, 3), r.awaiting());
        r.onAccepted(2, true, T, null);
        assertEquals(Phase.DECIDED, r.onAccepted(3, true, T, null));
        assertEquals(Outcome.ABORTED, r.outcome());
    }

    @Test
    public void aPrecommitSeenByTheMajorityMeansCommit() {
        ResolverRound r = new ResolverRound(ALL, T);
        r.onPromise(2, true, T, Term.NONE, null, null);
        r.onPromise(3, true, T, Term.COORDINATOR, Proposal.PRECOMMIT, null);
        assertEquals(Proposal.PRECOMMIT, r.value());
    }

    @Test
    public void theHighestAcceptedTermWins() {
        ResolverRound r = new ResolverRound(ALL, new Term(5, 1));
        r.onPromise(2, true, new Term(5, 1), Term.COORDINATOR, Proposal.PRECOMMIT, null);
        r.onPromise(3, true, new Term(5, 1), new Term(3, 3), Proposal.PREABORT, null);
        assertEquals(Proposal.PREABORT, r.value());
    }

    @Test
    public void aKnownOutcomeDecidesAtOnce() {
        ResolverRound r = new ResolverRound(ALL, T);
        assertEquals(Phase.DECIDED, r.onPromise(1, false, new Term(9, 1), Term.NONE, null, Outcome.COMMITTED));
        assertEquals(Outcome.COMMITTED, r.outcome());
    }

    @Test
    public void aRefusalBeatsTheRoundAndRaisesTheNextTerm() {
        ResolverRound r = new ResolverRound(ALL, T);
        assertEquals(Phase.BEATEN, r.onPromise(3, false, new Term(7, 3), Term.NONE, null, null));
        assertEquals(new Term(8, 2), Term.above(r.highestSeen(), 2));
    }

    @Test
    public void answersFromStrangersAndDuplicatesDoNotCount() {
        ResolverRound r = new ResolverRound(ALL, T);
        r.onPromise(4, true, T, Term.NONE, null, null);
        r.onPromise(2, true, T, Term.NONE, null, null);
        assertEquals(Phase.PROMISING, r.onPromise(2, true, T, Term.NONE, null, null));
    }

    @Test
    public void theProposerResendsToTheSilentAndRestartsABeatenRoundAbove() {
        Gid gid = new Gid(3, 7, 1);
        Proposer p = new Proposer(2, 100, new Random(1));
        List<Effect> first = p.resolve(gid, ALL, new Term(4, 3), 0);
        assertEquals(3, first.size());
        assertEquals(new Term(5, 2), ((Effect.Send) first.get(0)).message().term());
        assertEquals("nothing before the retry time", List.of(), p.tick(50));
        assertEquals("every voter again after it", 3, p.tick(1000).size());
        p.onMessage(3, new ResolverMessage(ResolverMessage.Kind.PROMISE, gid, new Term(5, 2), false, new Term(6, 1),
            Term.NONE, null, null), 1000);
        List<Effect> again = p.tick(100_000);
        assertEquals(new Term(7, 2), ((Effect.Send) again.get(0)).message().term());
    }

    @Test
    public void messagesSurviveTheWire() {
        Gid gid = new Gid(3, 7, 1);
        ResolverMessage m = new ResolverMessage(ResolverMessage.Kind.PROMISE, gid, new Term(5, 2), true, new Term(6, 1),
            Term.COORDINATOR, Proposal.PRECOMMIT, null);
        assertEquals(m, ResolverMessage.decode(m.encode()));
        ResolverMessage d = ResolverMessage.decided(gid, Outcome.ABORTED);
        assertEquals(d, ResolverMessage.decode(d.encode()));
        org.junit.Assert.assertThrows(IllegalArgumentException.class,
            () -> ResolverMessage.decode(java.util.Arrays.copyOf(m.encode(), 10)));
    }
}
