package org.mtm.consensus.internal.resolver;

import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * The resolver as the commit coordinator of the same node uses it (bundle-private service): it carries the
 * coordinator's precommit to every acceptor, and decides the transactions the coordinator can no longer decide.
 */
public interface InDoubtResolver {

    /** The coordinator's side, told about answers and outcomes of its transactions. */
    interface Coordination {
        /** True while the coordinator is committing {@code gid} (the resolver leaves its local copy alone). */
        boolean coordinating(Gid gid);

        /** An acceptor answered the precommit (an {@code ACCEPTED} in term {1,0}). */
        void precommitAnswered(int from, ResolverMessage answer);

        /** The outcome of {@code gid} is decided. */
        void decided(Gid gid, Outcome outcome);
    }

    void attach(Coordination coordination);

    void detach(Coordination coordination);

    /** Asks every node of {@code voters} (this one included) to accept the precommit of {@code gid} in term {1,0}. */
    void requestPrecommit(Gid gid, NodeSet voters);

    /** Starts a resolver round for {@code gid} now (its coordinator lost the majority it needed). */
    void resolve(Gid gid, NodeSet voters);

    /**
     * {@code gid}'s coordinator, another node, says it is still at work on it: this node's prepared copy is not an
     * orphan, its patience starts again.
     */
    void coordinatorAtWork(Gid gid);
}
