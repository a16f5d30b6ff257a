package org.mtm.consensus.internal.generation;

import org.mtm.api.ClusterAdminException;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

/**
 * What a change of the configured set (manual F.31.4.3 {@code mtm.add_node}, F.31.4.4 {@code mtm.drop_node}) does to
 * the generation, or why it is refused. Pure: the runtime asks it on the requesting node before the change is
 * replicated through 3PC, and every node applies the same resulting generation, so the change happens on every node
 * or on none.
 *
 * <p>The next generation keeps the same members (less a dropped node) with the new configured set; it must still be
 * able to commit, that is its members must be a majority of the new configured set, or the cluster would stop on its
 * own request.
 */
public final class MembershipChange {
    /** Fewer data nodes than this cannot survive a failure (a 2-node cluster needs a referee: DESIGN §3). */
    public static final int MIN_CONFIGURED = 2;

    private MembershipChange() {
    }

    /**
     * The generation after dropping {@code node}.
     *
     * @param self   the requesting node: it carries the change out, so it cannot be the node dropped
     * @param status the requesting node's status: a configured-set change is a cluster transaction and needs an
     *               online node
     */
    public static Generation drop(int self, Generation current, NodeStatus status, int node)
        throws ClusterAdminException {
        if (!current.configured().contains(node)) {
            throw new ClusterAdminException("42704", "node " + node + " is not configured (configured nodes are "
                + current.configured() + "): check mtm.nodes() for the node id");
        }
        requireOnline(status, "drop node " + node);
        if (node == self) {
            throw new ClusterAdminException("55000", "node " + node + " cannot drop itself: call mtm.drop_node(" + node
                + ") through another online node's gateway");
        }
        NodeSet configured = current.configured().without(node);
        if (configured.size() < MIN_CONFIGURED) {
            throw new ClusterAdminException("55000", "dropping node " + node + " would leave " + configured.size()
                + " configured node(s) of the needed " + MIN_CONFIGURED + ": add a node first (mtm.add_node)");
        }
        NodeSet members = current.members().without(node);
        requireMajority(members, configured, "dropping node " + node);
        // its election needs yes votes of a majority of the old set too, and the dropped node votes no: with the others
        // away (an added node not joined yet, say) it could never be won, and its voters would stay bound to it
        if (!members.isMajorityOf(current.configured())) {
            throw new ClusterAdminException("55000", "dropping node " + node + " needs the votes of a majority of the"
                + " configured nodes " + current.configured() + " other than node " + node + ", and only " + members
                + " are online members: bring " + current.configured().without(node).minus(members)
                + " online (mtm.join_node for an added node) first");
        }
        return new Generation(current.num() + 1, members, configured);
    }

    /**
     * The id {@code mtm.add_node} gives a new node: one above every configured id, so a new node never takes the id
     * (and so the slot and origin names) of a dropped one still known to a lagging peer.
     */
    public static int newNodeId(Generation current, int highestEverConfigured) throws ClusterAdminException {
        int highest = Math.max(highestEverConfigured, current.configured().ids().stream()
            .mapToInt(Integer::intValue).max().orElse(0));
        if (highest >= NodeSet.MAX_NODE_ID) {
            throw new ClusterAdminException("54000", "no node id left: ids go up to " + NodeSet.MAX_NODE_ID
                + " and are not reused; initialise a new cluster to renumber");
        }
        return highest + 1;
    }

    /**
     * The generation after adding {@code node}: configured grows, members stay (the new node joins as a member only
     * after {@code mtm.join_node} and catch-up).
     */
    public static Generation add(Generation current, NodeStatus status, int node) throws ClusterAdminException {
        if (current.configured().contains(node)) {
            throw new ClusterAdminException("42710", "node " + node + " is already configured: mtm.add_node gives a"
                + " new id, use mtm.join_node(" + node + ", lsn) to join it");
        }
        requireOnline(status, "add node " + node);
        // as mtm.add_node asks (every configured node online gets the new node's slot); checked here again because a
        // change asked again after a competing one was won starts from that one's generation
        NodeSet away = current.configured().minus(current.members());
        if (!away.isEmpty()) {
            throw new ClusterAdminException("55000", "cannot add node " + node + ": node(s) " + away + " of "
                + current.configured() + " are not online members of " + current + "; join them (mtm.join_node),"
                + " bring them online or drop them first");
        }
        NodeSet configured = current.configured().with(node);
        requireMajority(current.members(), configured, "adding node " + node);
        return new Generation(current.num() + 1, current.members(), configured);
    }

    /** Checks {@code mtm.join_node(node, lsn)}: the node was added and is not yet a member. */
    public static void checkJoin(Generation current, int node) throws ClusterAdminException {
        if (!current.configured().contains(node)) {
            throw new ClusterAdminException("42704", "node " + node + " is not configured (configured nodes are "
                + current.configured() + "): call mtm.add_node(connstr) first");
        }
        if (current.members().contains(node)) {
            throw new ClusterAdminException("55000", "node " + node + " has already joined: it is a member of "
                + current + "; nothing to do");
        }
    }

    /**
     * Why a voter must refuse an election that changes the configured set from {@code from} to {@code to}, or null:
     * only the drop of one node or the addition of one node (mtm.add_node) is such an election, and the dropped node
     * itself does not vote for its drop (it takes no part in what follows). An added node is not a member yet: the
     * members must still be a majority of the grown set, which the voter checks as for every election.
     */
    public static String refusalOfChange(int voter, NodeSet from, NodeSet to) {
        NodeSet added = to.minus(from);
        if (to.containsAll(from) && added.size() == 1) {
            return null;
        }
        NodeSet dropped = from.minus(to);
        if (!from.containsAll(to) || dropped.size() != 1) {
            return "a change of the configured set from " + from + " to " + to + " is neither the drop nor the"
                + " addition of one node";
        }
        if (!to.contains(voter)) {
            return "node " + voter + " is the node being dropped";
        }
        if (to.size() < MIN_CONFIGURED) {
            return "dropping " + dropped + " would leave " + to.size() + " configured node(s)";
        }
        return null;
    }

    /**
     * A change of the configured set this node voted yes for and has not adopted (its election may have been lost, or
     * its announce not arrived): the election that completes it — the same change of the node's generation — so that
     * the voters of a lost change, which refuse every other election ({@link Voter}), are not stuck. Empty when there
     * is none, or when the members would not be a majority of the new set (wait for more nodes). A drop or an addition
     * (the added node is not seen yet, so it is not among the members). Members: every node
     * of the new set this node sees, itself included (those behind recover from the donors the election picks). A drop
     * that failed in time (40001) may so still happen later: it was voted for.
     */
    public static java.util.Optional<Generation> completion(int self, org.mtm.consensus.internal.GenerationState s,
                                                            NodeSet clique) {
        if (!s.changeVoted()) {
            return java.util.Optional.empty();
        }
        Generation gen = s.current();
        NodeSet configured = s.votedConfigured();
        NodeSet members = clique.with(self).intersect(configured);
        boolean oneChange = configured.minus(gen.configured()).size() + gen.configured().minus(configured).size() == 1;
        if (!oneChange || !members.isMajorityOf(configured)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new Generation(gen.num() + 1, members, configured));
    }

    /** A generation whose configured set leaves {@code self} out: this node was dropped (mtm.drop_node). */
    public static boolean droppedFrom(int self, Generation g) {
        return self != 0 && g.num() > 0 && !g.configured().isEmpty() && !g.configured().contains(self);
    }

    /** What a dropped node says, and tells its operator, once it learns of {@code g}. */
    public static String droppedText(int self, Generation g) {
        return "node " + self + " was dropped from the cluster (mtm.drop_node): generation " + g.num() + " has configured"
            + " nodes " + g.configured() + "; it takes no part any more. To use it in the cluster again add it as a new"
            + " node (mtm.add_node) from a copy of an online node's data";
    }

    private static void requireOnline(NodeStatus status, String what) throws ClusterAdminException {
        if (status != NodeStatus.ONLINE) {
            throw new ClusterAdminException("55000", "cannot " + what + " while this node is " + status.sqlName()
                + ": run it through an online node's gateway");
        }
    }

    private static void requireMajority(NodeSet members, NodeSet configured, String what)
        throws ClusterAdminException {
        if (!members.isMajorityOf(configured)) {
            throw new ClusterAdminException("55000", what + " would leave the online members " + members
                + " short of a majority of " + configured + ": bring the missing nodes online first");
        }
    }
}
