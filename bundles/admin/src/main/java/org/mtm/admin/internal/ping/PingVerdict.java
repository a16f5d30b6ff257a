package org.mtm.admin.internal.ping;

import java.util.Map;
import java.util.Optional;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;

/**
 * The rules of {@code mtm.ping()}, as the original extension has them: the cluster answers a ping when this node is
 * online and every other member of its generation says, from its own PostgreSQL ({@code mtm.status()}), that it is online
 * in the same generation — the cluster has settled, no generation switch is under way. Pure: the answers are gathered
 * by {@link org.mtm.admin.internal.ClusterPing}.
 */
public final class PingVerdict {

    /** What a member answered: its generation and status, or why it could not be asked ({@code failure}). */
    public record Answer(long genNum, String status, String failure) {
        public static Answer of(long genNum, String status) {
            return new Answer(genNum, status, null);
        }

        public static Answer failed(String failure) {
            return new Answer(0, null, failure);
        }
    }

    /** Why the ping fails: the SQLSTATE and the message naming the node. */
    public record Problem(String sqlState, String message) {
    }

    private PingVerdict() {
    }

    /**
     * Empty when the ping succeeds. {@code answers} holds an answer for every member of {@code self}'s generation other
     * than this node; a member without one counts as not reachable.
     */
    public static Optional<Problem> judge(StatusReport self, Map<Integer, Answer> answers) {
        if (self.myNodeId() == 0) {
            return Optional.of(new Problem("55000", "mtm.ping: this node is not part of a cluster (run mtm.init_cluster first)"));
        }
        if (self.status() != NodeStatus.ONLINE) {
            return Optional.of(new Problem("55000", "mtm.ping: node " + self.myNodeId() + " is not online in its generation "
                + self.genNum() + ": its status is \"" + self.status().sqlName() + "\""));
        }
        for (int member : self.genMembers().ids()) {
            if (member == self.myNodeId()) {
                continue;
            }
            Answer a = answers.get(member);
            if (a == null || a.failure() != null) {
                return Optional.of(new Problem("08006", "mtm.ping: node " + member + " of generation " + self.genNum()
                    + " did not answer: " + (a == null ? "not asked" : a.failure())));
            }
            if (a.genNum() != self.genNum()) {
                return Optional.of(new Problem("55000", "mtm.ping: node " + member + " is in generation " + a.genNum()
                    + ", node " + self.myNodeId() + " in " + self.genNum() + ": a generation switch is under way; retry"));
            }
            if (!NodeStatus.ONLINE.sqlName().equals(a.status())) {
                return Optional.of(new Problem("55000", "mtm.ping: node " + member + " of generation " + self.genNum()
                    + " is not online: its status is \"" + a.status() + "\""));
            }
        }
        return Optional.empty();
    }
}
