package org.mtm.consensus.internal.generation;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;

/**
 * One election for generation {@code num} with {@code members}, and the rule for when a node should run one. Won
 * with yes answers from a majority of configured and from every proposed member; lost on a refusal by a proposed
 * member or when a majority can no longer be reached.
 */
final class Campaign {

    enum Result { RUNNING, WON, LOST, PROMISED }

    final ElectionRequest request;
    final long startedAt;
    /** 2+1: a generation of this node alone, won with the referee's grant instead of a majority. */
    final boolean referee;
    /** The referee's answer: null while none came. */
    private Boolean granted;
    private String refereeRefusal = "";
    private final Map<Integer, ElectionAnswer> answers = new HashMap<>();
    private NodeSet donors = NodeSet.EMPTY;
    private String lostBecause = "";

    Campaign(ElectionRequest request, long startedAt, boolean referee) {
        this.request = request;
        this.startedAt = startedAt;
        this.referee = referee;
    }

    /**
     * The members this node should propose now, if any:
     * <ul>
     * <li>a member whose clique lost some members proposes the members it still sees;</li>
     * <li>a member that promised a higher generation while not yet online in its own can never go online in it and
     *     asks for a new one with the members it sees (otherwise nobody would: its clique may be complete);</li>
     * <li>a caught-up non-member proposes the members it sees plus itself (DESIGN §3: {@code (current ∩ clique) ∪
     *     {me}}; the members it does not see are left out, so that two live nodes of three can take in the third
     *     while a member is down).</li>
     * </ul>
     * Only from a clique that holds this node and a majority of configured, and only for majority members — except
     * in 2+1 mode ({@code referee}), where {@link #aloneWithReferee} may propose this node alone.
     */
    static Optional<NodeSet> proposal(int self, GenerationState state, NodeSet clique, NodeSet configured,
                                      boolean caughtUp, boolean referee) {
        Generation gen = state.current();
        if (self == 0 || gen.num() == 0 || !configured.equals(gen.configured())) {
            return Optional.empty();
        }
        if (!clique.contains(self) || !clique.isMajorityOf(configured)) {
            // (of two nodes alone, each sees the clique {1}: ties go to the smaller mask)
            return referee && aloneWithReferee(self, state, clique, configured) ? Optional.of(NodeSet.of(self))
                : Optional.empty();
        }
        NodeSet seen = gen.members().intersect(clique);
        NodeSet members;
        if (gen.isMember(self)) {
            boolean lostMembers = !seen.equals(gen.members());
            boolean neverOnlineHere = state.lastOnlineIn() < gen.num() && state.lastVote() > gen.num();
            if (!lostMembers && !neverOnlineHere) {
                return Optional.empty();
            }
            members = seen;
        } else if (caughtUp) {
            members = seen.with(self);
        } else {
            return Optional.empty();
        }
        return members.isMajorityOf(configured) ? Optional.of(members) : Optional.empty();
    }

    /**
     * 2+1 (DESIGN §3, referee): a member online in its generation that lost its only peer may ask the referee for a
     * generation of itself alone. Only an online member: it has every transaction the pair committed. A recovering or
     * catching-up node never does (it lacks what its peer committed), nor one already alone.
     */
    static boolean aloneWithReferee(int self, GenerationState state, NodeSet clique, NodeSet configured) {
        Generation gen = state.current();
        return configured.size() == 2 && configured.contains(self) && gen.isMember(self)
            && state.lastOnlineIn() == gen.num() && !gen.members().equals(NodeSet.of(self))
            && (!clique.contains(self) || !clique.containsAll(gen.members()));
    }

    Result onAnswer(ElectionAnswer a) {
        if (a.num() != request.num() || a.promise() != request.isPrepare()) {
            return Result.RUNNING;
        }
        answers.putIfAbsent(a.voter(), a);
        return request.isPrepare() ? promises() : evaluate();
    }

    /**
     * The first phase of a change: PROMISED once a majority of the old configured set promised the number (any
     * election of that set that can be won with this number or a higher one needs one of them), LOST when refusals
     * leave no such majority. Only the old set counts: the change may still become another one ({@link #safeChange}).
     */
    private Result promises() {
        NodeSet from = request.fromConfigured();
        NodeSet yes = NodeSet.EMPTY;
        NodeSet no = NodeSet.EMPTY;
        for (ElectionAnswer v : answers.values()) {
            if (v.yes()) {
                yes = yes.with(v.voter());
            } else {
                no = no.with(v.voter());
            }
        }
        if (yes.intersect(from).isMajorityOf(from)) {
            return Result.PROMISED;
        }
        if (!from.minus(no).isMajorityOf(from)) {
            return lose("refused to promise by " + no + ": no majority of " + from + " left");
        }
        return Result.RUNNING;
    }

    /**
     * After {@link Result#PROMISED}: the configured set the second phase must propose — the change accepted at the
     * highest number among the promises (Paxos: if a change was won, a majority of the old set accepted it, one of
     * them promised here, and every change accepted since at a higher number is that same one), or this election's
     * own when none of them accepted any.
     */
    NodeSet safeChange() {
        ElectionAnswer highest = null;
        for (ElectionAnswer v : answers.values()) {
            if (v.reportsChange() && request.fromConfigured().contains(v.voter()) && !v.votedConfigured().isEmpty()
                && (highest == null || v.votedIn() > highest.votedIn()
                    || (v.votedIn() == highest.votedIn() && v.votedConfigured().mask() < highest.votedConfigured().mask()))) {
                highest = v;
            }
        }
        return highest == null ? request.configured() : highest.votedConfigured();
    }

    /** The referee granted ({@code true}) or refused this election's generation. */
    Result onReferee(boolean grant, String refusal) {
        if (granted == null) {
            granted = grant;
            refereeRefusal = refusal == null ? "" : refusal;
        }
        return evaluate();
    }

    private Result evaluate() {
        NodeSet configured = request.configured();
        NodeSet members = request.members();
        NodeSet yes = NodeSet.EMPTY;
        NodeSet no = NodeSet.EMPTY;
        long latest = -1;
        for (ElectionAnswer v : answers.values()) {
            if (v.yes()) {
                yes = yes.with(v.voter());
                latest = Math.max(latest, v.voterLastOnlineIn());
            } else {
                no = no.with(v.voter());
            }
        }
        NodeSet refusingMembers = no.intersect(members);
        if (!refusingMembers.isEmpty()) {
            return lose("member " + refusingMembers + " refused");
        }
        if (referee) {
            if (Boolean.FALSE.equals(granted)) {
                return lose("the referee refused: " + refereeRefusal);
            }
            if (!Boolean.TRUE.equals(granted) || !yes.containsAll(members)) {
                return Result.RUNNING;
            }
        } else {
            // a change of the configured set needs a majority of the old set too: it then intersects every election
            // of the old set, so the two cannot both be won with one number
            NodeSet from = request.fromConfigured();
            if (!configured.minus(no).isMajorityOf(configured) || !from.minus(no).isMajorityOf(from)) {
                return lose("refused by " + no + ": no majority of " + configured
                    + (request.changesConfigured() ? " and of " + from : "") + " left");
            }
            if (!yes.isMajorityOf(configured) || !yes.isMajorityOf(from) || !yes.containsAll(members)) {
                return Result.RUNNING;
            }
        }
        // Donors: the voters that were online in the latest generation any voter was online in. A non-member among
        // them cannot serve (it never goes online in the new generation), so only members count.
        NodeSet best = NodeSet.EMPTY;
        for (ElectionAnswer v : answers.values()) {
            if (v.yes() && v.voterLastOnlineIn() == latest) {
                best = best.with(v.voter());
            }
        }
        donors = best.intersect(members);
        if (donors.isEmpty()) {
            return lose("the voters online in gen " + latest + " " + best + " are not members " + members);
        }
        return Result.WON;
    }

    private Result lose(String why) {
        lostBecause = why;
        return Result.LOST;
    }

    GenerationAnnounce announce() {
        return new GenerationAnnounce(new Generation(request.num(), request.members(), request.configured()), donors);
    }

    String lostBecause() {
        return lostBecause;
    }
}
