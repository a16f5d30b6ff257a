package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.consensus.internal.resolver.DeskBatch.Request;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;

public class DeskBatchTest {
    private static final Gid A = new Gid(2, 10, 1);
    private static final Gid B = new Gid(3, 9, 1);
    private static final Gid C = new Gid(1, 11, 1);

    @Test
    public void eachGidIsLockedOnceInTextOrder() {
        List<Request> batch = List.of(precommit(2, B), precommit(3, A), precommit(2, B), precommit(1, C));
        assertEquals(List.of(C, A, B), DeskBatch.gids(batch)); // MTM-1-… < MTM-2-… < MTM-3-…
    }

    @Test
    public void aRepeatedGidSeesWhatItsFirstRequestLeft() {
        // a resolver's promise in term {2,3} and then, in the same batch, the coordinator's late precommit
        Request promise = new Request(3, ResolverMessage.propose(A, new Term(2, 3)));
        DeskBatch.Result r = DeskBatch.decide(List.of(promise, precommit(2, A)),
            Map.of(A, new Knowledge(AcceptorState.FRESH, LocalCopy.PREPARED)));
        assertTrue(r.replies().get(0).message().granted());
        assertFalse("the precommit comes below the promise made just before it", r.replies().get(1).message().granted());
        assertEquals(new AcceptorState(new Term(2, 3), Term.NONE, null, null), r.changed().get(A));
        assertEquals(1, r.changed().size());
    }

    @Test
    public void aDecidedStateIsSeenAsItsRowReadsBackWithoutItsValue() {
        List<Request> batch = List.of(
            new Request(2, ResolverMessage.accept(A, new Term(4, 2), Proposal.PREABORT)),
            new Request(2, ResolverMessage.decided(A, Outcome.COMMITTED)),
            new Request(3, ResolverMessage.propose(A, new Term(3, 3))));
        DeskBatch.Result r = DeskBatch.decide(batch, Map.of(A, new Knowledge(AcceptorState.FRESH, LocalCopy.NONE)));
        ResolverMessage promise = r.replies().get(1).message();
        assertEquals(Outcome.COMMITTED, promise.known());
        assertEquals("a row with status cm keeps no accepted value", null, promise.value());
    }

    @Test
    public void mixedKindsAnswerInOrderAndWriteOnlyWhatChanged() {
        AcceptorState precommitted = Acceptor.precommit(AcceptorState.FRESH).next();
        Map<Gid, Knowledge> read = Map.of(
            A, new Knowledge(precommitted, LocalCopy.PREPARED),
            B, new Knowledge(AcceptorState.FRESH, LocalCopy.NONE),
            C, new Knowledge(AcceptorState.FRESH, LocalCopy.COMMITTED));
        List<Request> batch = List.of(
            precommit(2, A), // re-sent: same state, nothing to write
            new Request(3, ResolverMessage.decided(A, Outcome.COMMITTED)),
            precommit(3, B),
            new Request(3, ResolverMessage.propose(C, new Term(2, 3))),
            new Request(2, ResolverMessage.decided(A, Outcome.ABORTED))); // contradicts the decision just recorded
        DeskBatch.Result r = DeskBatch.decide(batch, read);
        assertEquals(List.of(2, 3, 3), r.replies().stream().map(Request::from).toList());
        assertTrue(r.replies().get(0).message().granted());
        assertTrue(r.replies().get(1).message().granted());
        assertEquals("a finished copy answers with its outcome", Outcome.COMMITTED, r.replies().get(2).message().known());
        assertEquals(List.of(A), r.finish());
        assertEquals(1, r.violations().size());
        assertTrue(r.violations().get(0), r.violations().get(0).contains(A + " from node 2"));
        assertEquals(List.of(C, A, B), List.copyOf(r.changed().keySet()));
        assertEquals(Outcome.COMMITTED, r.changed().get(A).outcome());
        assertEquals(Outcome.COMMITTED, r.changed().get(C).outcome());
        assertEquals("pc", r.changed().get(B).status());
    }

    private static Request precommit(int from, Gid gid) {
        return new Request(from, ResolverMessage.accept(gid, Term.COORDINATOR, Proposal.PRECOMMIT));
    }
}
