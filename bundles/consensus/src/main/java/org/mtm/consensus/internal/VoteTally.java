package org.mtm.consensus.internal;

import java.util.Optional;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.NodeSet;

/**
 * The coordinator's count for one transaction (DESIGN §2 steps 3–6). Pure and single-threaded: the
 * caller serialises events. Phases: collect a vote from every other member of the generation; then,
 * unless the generation has a single member (referee mode), collect precommit acknowledgements until a
 * majority of the configured nodes (the coordinator counts itself) — the commit point. Any no-vote or a
 * lost member before the commit point decides abort.
 */
public final class VoteTally {

    public enum Phase { VOTING, PRECOMMIT, DECIDED }

    private final int self;
    private final NodeSet participants;
    private final NodeSet configured;
    private NodeSet prepared = NodeSet.EMPTY;
    private NodeSet precommitted;
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
        this.precommitted = NodeSet.of(self);
    }

    public NodeSet participants() {
        return participants;
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
        if (phase != Phase.DECIDED && participants.contains(node)) {
            decide(Decision.abort(sqlState == null ? "40001" : sqlState,
                message == null ? "transaction aborted on node " + node : message));
        }
        return phase;
    }

    public Phase precommitted(int node) {
        if (phase == Phase.PRECOMMIT && participants.contains(node)) {
            precommitted = precommitted.with(node);
        }
        return advance();
    }

    /** A member fell silent or the generation changed: before the commit point this aborts. */
    public Phase memberLost(int node, String reason) {
        if (phase != Phase.DECIDED && participants.contains(node)) {
            decide(Decision.abort("40001", "[multimaster] node " + node + " " + reason
                + " before the transaction was committed; it was rolled back on every node and may be retried"));
        }
        return phase;
    }

    /** Gives up before the commit point (timeout, shutdown). */
    public Phase abort(String sqlState, String message) {
        if (phase != Phase.DECIDED) {
            decide(Decision.abort(sqlState, message));
        }
        return phase;
    }

    private Phase advance() {
        if (phase == Phase.VOTING && preparedLocally && prepared.containsAll(participants)) {
            // With a single-member generation (referee grant) there is nobody to precommit with.
            phase = Phase.PRECOMMIT;
        }
        if (phase == Phase.PRECOMMIT && (participants.isEmpty() || precommitted.isMajorityOf(configured))) {
            decide(Decision.COMMIT);
        }
        return phase;
    }

    private void decide(Decision d) {
        decision = d;
        phase = Phase.DECIDED;
    }
}
