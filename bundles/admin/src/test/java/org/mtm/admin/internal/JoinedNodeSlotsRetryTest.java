package org.mtm.admin.internal;

import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;

/**
 * JoinedNodeSlots tries again after a try that did not make the slots (here: the database cannot be reached). A retry
 * scheduled from inside a try was once dropped as "already pending" (the try itself was the pending one): the slots
 * were then never made and the joined node never went online (AddNodeIT, 2026-12-06).
 */
public class JoinedNodeSlotsRetryTest {

    @Test
    public void aTryThatDidNotMakeTheSlotsIsFollowedByAnother() throws Exception {
        AtomicInteger tries = new AtomicInteger();
        JoinedNodeSlots slots = new JoinedNodeSlots(new Unreachable(tries));
        try {
            slots.clusterConfigChanged(Optional.of(new ClusterConfig(2, List.of(
                new ClusterNode(1, "host=a", new Endpoint("a", 1)), new ClusterNode(2, "host=b", new Endpoint("b", 1))))));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (tries.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50); // a poll with a deadline (see the loop's condition)
            }
            assertTrue("tries: " + tries.get(), tries.get() >= 3);
        } finally {
            slots.deactivate();
        }
    }

    private record Unreachable(AtomicInteger tries) implements LocalDatabase {
        @Override
        public Connection connect() throws SQLException {
            tries.incrementAndGet();
            throw new SQLException("not reachable (test)", "08001");
        }

        @Override
        public Connection connectReplication() throws SQLException {
            throw new SQLException("not reachable (test)", "08001");
        }

        @Override
        public Endpoint endpoint() {
            return new Endpoint("b", 1);
        }

        @Override
        public String databaseName() {
            return "mydb";
        }

        @Override
        public String userName() {
            return "mtmuser";
        }

        @Override
        public String conninfo() {
            return "host=b";
        }

        @Override
        public boolean isManaged() {
            return false;
        }
    }
}
