package org.mtm.consensus.internal;

import java.util.Optional;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.Outcome;

/**
 * The coordinator's count for one transaction (DESIGN §2 steps 3–6). Pure and single-threaded: the caller
 * serialises events.
 *
 * <ol>
 * <li>VOTING: a vote from every other member of the generation, and the local PREPARE. A no-vote, a lost member
 * or giving up decides abort: nobody can have accepted the precommit yet, so the coordinator alone may abort.</li>
 * <li>PRECOMMIT (entered once every member prepared; the caller then asks every configured node — itself included —
 * to accept precommit in term {1,0}): a majority of the configured nodes accepting is the commit point. From here on
 * the coordinator never aborts by itself: some node may have accepted the precommit, and a resolver finding it
 * would commit. A member lost, a refusal (that node promised a resolver) or giving up leaves the transaction
 * IN_DOUBT once a majority can no longer be reached (or at once, when giving up).</li>
 * <li>IN_DOUBT: only the resolver's outcome ({@link #resolved}) decides.</li>
 * </ol>
 * A generation of one member (a referee grant) needs no precommit round.
 */
public final class VoteTally {

    public enum Phase { VOTING, PRECOMMIT, IN_DOUBT, DECIDED }

    private final int self;
    private final NodeSet participants;
    private final NodeSet configured;
    private NodeSet prepared = NodeSet.EMPTY;
    private NodeSet precommitted = NodeSet.EMPTY;
    /** Nodes that will not accept the precommit: refused it, or lost before answering. */
    private NodeSet unavailable = NodeSet.EMPTY;
    private boolean preparedLocally;
    private Phase phase = Phase.VOTING;
    private Decision decision;

    /**
     * @param self       the coordinator
     * @param members    members of the generation the transaction was stamped with
     * @param configured configured nodes of that generation
     */
    public VoteTally(int self, NodeSet members, NodeSet configured) {
        this.self = self;
        this.participants = members.without(self);
        this.configured = configured;
    }

    /** The other members: they vote, and they are asked to precommit. */
    public NodeSet participants() {
        return participants;
    }

    /** The participants that voted PREPARED so far. */
    public NodeSet preparedPeers() {
        return prepared;
    }

    /** Every node asked to accept the precommit: the configured nodes, the coordinator included. */
    public NodeSet precommitVoters() {
        return configured.with(self);
    }

    public Phase phase() {
        return phase;
    }

    public Optional<Decision> decision() {
        return Optional.ofNullable(decision);
    }

    /** The local PREPARE TRANSACTION succeeded. */
    public Phase localPrepared() {
        preparedLocally = true;
        return advance();
    }

    public Phase votePrepared(int node) {
        if (phase == Phase.VOTING && participants.contains(node)) {
            prepared = prepared.with(node);
        }
        return advance();
    }

    public Phase voteAborted(int node, String sqlState, String message) {
        if (phase == Phase.VOTING && participants.contains(node)) {
            decide(Decision.abort(sqlState == null ? "40001" : sqlState,
                message == null ? "transaction aborted on node " + node : message));
        }
        return phase;
    }

    /** A node (this one included) durably accepted the precommit. */
    public Phase precommitted(int node) {
        if (phase == Phase.PRECOMMIT && precommitVoters().contains(node)) {
            precommitted = precommitted.with(node);
            unavailable = unavailable.without(node);
        }
        return advance();
    }

    /**
     * A node refused the precommit: it promised a resolver a higher term, or it knows the outcome ({@code known},
     * else null) — which then decides.
     */
    public Phase precommitRefused(int node, Outcome known) {
        if (known != null && (phase == Phase.PRECOMMIT || phase == Phase.IN_DOUBT)) {
            return resolved(known);
        }
        if (phase == Phase.PRECOMMIT && precommitVoters().contains(node) && !precommitted.contains(node)) {
            unavailable = unavailable.with(node);
        }
        return advance();
    }

    /** A member fell silent or the generation changed. */
    public Phase memberLost(int node, String reason) {
        if (phase == Phase.VOTING && participants.contains(node)) {
            decide(Decision.abort("40001", "[multimaster] node " + node + " " + reason
                + " before the transaction was committed; it was rolled back on every node and may be retried"));
        } else if (phase == Phase.PRECOMMIT && !precommitted.contains(node) && precommitVoters().contains(node)) {
            unavailable = unavailable.with(node);
        }
        return advance();
    }

    /** Gives up waiting (timeout, shutdown): abort while voting, in doubt after. */
    public Phase giveUp(String sqlState, String message) {
        if (phase == Phase.VOTING) {
            decide(Decision.abort(sqlState, message));
        } else if (phase == Phase.PRECOMMIT) {
            phase = Phase.IN_DOUBT;
        }
        return phase;
    }

    /** The resolver's outcome (or a node that knows it). */
    public Phase resolved(Outcome outcome) {
        if (phase == Phase.DECIDED) {
            return phase;
        }
        if (outcome == Outcome.COMMITTED) {
            if (phase == Phase.VOTING) {
                throw new IllegalStateException("a transaction still voting cannot have committed");
            }
            decide(Decision.COMMIT);
        } else {
            decide(Decision.abort("40001", "[multimaster] the cluster aborted the transaction while its outcome was"
                + " in doubt (a node was lost during its commit); it was rolled back on every node and may be retried"));
        }
        return phase;
    }

    private Phase advance() {
        if (phase == Phase.VOTING && preparedLocally && prepared.containsAll(participants)) {
            if (participants.isEmpty()) {
                decide(Decision.COMMIT); // a single-member generation (referee grant): nobody to precommit with
                return phase;
            }
            phase = Phase.PRECOMMIT;
        }
        if (phase == Phase.PRECOMMIT) {
            if (precommitted.isMajorityOf(configured)) {
                decide(Decision.COMMIT);
            } else if (!precommitVoters().minus(unavailable).isMajorityOf(configured)) {
                phase = Phase.IN_DOUBT;
            }
        }
        return phase;
    }

    private void decide(Decision d) {
        decision = d;
        phase = Phase.DECIDED;
    }
}
