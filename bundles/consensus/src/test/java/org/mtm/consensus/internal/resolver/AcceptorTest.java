package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;

public class AcceptorTest {
    private static final Gid GID = new Gid(1, 42, 3);

    @Test
    public void aPromiseShutsOutLowerTermsButNotTheSameOneAgain() {
        Acceptor.Step p = Acceptor.promise(AcceptorState.FRESH, new Term(2, 3));
        assertTrue(p.granted());
        assertTrue("the same resolver asking again", Acceptor.promise(p.next(), new Term(2, 3)).granted());
        assertFalse(Acceptor.promise(p.next(), new Term(2, 2)).granted());
        assertFalse("the coordinator's precommit comes too late", Acceptor.precommit(p.next()).granted());
        assertTrue(Acceptor.accept(p.next(), new Term(2, 3), Proposal.PREABORT).granted());
    }

    @Test
    public void thePrecommitIsTermOneZeroAndAHigherAcceptReplacesIt() {
        Acceptor.Step pc = Acceptor.precommit(AcceptorState.FRESH);
        assertTrue(pc.granted());
        assertEquals(new AcceptorState(Term.COORDINATOR, Term.COORDINATOR, Proposal.PRECOMMIT, null), pc.next());
        assertEquals("pc", pc.next().status());
        Acceptor.Step pa = Acceptor.accept(pc.next(), new Term(3, 2), Proposal.PREABORT);
        assertTrue(pa.granted());
        assertEquals("pa", pa.next().status());
    }

    @Test
    public void aKnownOutcomeAnswersEveryRequestAndNeverChanges() {
        AcceptorState done = Acceptor.decide(AcceptorState.FRESH, Outcome.COMMITTED);
        assertFalse(Acceptor.promise(done, new Term(9, 9)).granted());
        assertFalse(Acceptor.accept(done, new Term(9, 9), Proposal.PREABORT).granted());
        assertThrows(IllegalStateException.class, () -> Acceptor.decide(done, Outcome.ABORTED));
        assertEquals(done, Acceptor.decide(done, Outcome.COMMITTED));
    }

    @Test
    public void aFinishedLocalCopyIsAnswerEnough() {
        Acceptor.Answer a = Acceptor.answer(ResolverMessage.propose(GID, new Term(2, 2)),
            new Knowledge(AcceptorState.FRESH, LocalCopy.COMMITTED));
        assertEquals(Outcome.COMMITTED, a.reply().known());
        assertEquals("and it is recorded", Outcome.COMMITTED, a.next().outcome());
        Acceptor.Answer b = Acceptor.answer(ResolverMessage.accept(GID, Term.COORDINATOR, Proposal.PRECOMMIT),
            new Knowledge(AcceptorState.FRESH, LocalCopy.ABORTED));
        assertFalse(b.reply().granted());
        assertEquals(Outcome.ABORTED, b.reply().known());
    }

    @Test
    public void aPreparedCopyKnowsNothing() {
        Acceptor.Answer a = Acceptor.answer(ResolverMessage.propose(GID, new Term(2, 2)),
            new Knowledge(AcceptorState.FRESH, LocalCopy.PREPARED));
        assertTrue(a.reply().granted());
        assertNull(a.reply().known());
        assertEquals(new Term(2, 2), a.reply().promise());
    }

    @Test
    public void decidedIsRecordedAndNotAnswered() {
        Acceptor.Answer a = Acceptor.answer(ResolverMessage.decided(GID, Outcome.ABORTED),
            new Knowledge(AcceptorState.FRESH, LocalCopy.PREPARED));
        assertNull(a.reply());
        assertEquals("ab", a.next().status());
    }

    @Test
    public void statesSurviveTheirColumns() {
        for (AcceptorState s : new AcceptorState[] {AcceptorState.FRESH,
            Acceptor.precommit(AcceptorState.FRESH).next(),
            Acceptor.accept(AcceptorState.FRESH, new Term(4, 1), Proposal.PREABORT).next()}) {
            assertEquals(s, AcceptorState.of(s.status(), s.promised(), s.accepted()));
        }
    }
}
