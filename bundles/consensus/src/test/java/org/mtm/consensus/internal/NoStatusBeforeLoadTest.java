package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;

/**
 * A restarted node whose peers connect before its generation state is read publishes nothing: it used to write
 * node 0, generation 0 into the table behind {@code mtm.status()}, so the generation a client saw went back to 0
 * for a moment after each restart (found by the fault battery's "generation numbers never decrease" check).
 */
public class NoStatusBeforeLoadTest {
    /** Counts the connections the service asks for; none can be made (nothing is running). */
    private static final class CountingDatabase implements LocalDatabase {
        final AtomicInteger connects = new AtomicInteger();

        @Override
        public Connection connect() throws SQLException {
            connects.incrementAndGet();
            throw new SQLException("no server in this test", "08001");
        }

        @Override
        public Connection connectReplication() throws SQLException {
            throw new SQLException("no server in this test", "08001");
        }

        @Override
        public Endpoint endpoint() {
            return null;
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
            return "";
        }

        @Override
        public boolean isManaged() {
            return false;
        }
    }

    @Test
    public void aPeerConnectingBeforeTheStateIsLoadedPublishesNothing() throws Exception {
        CountingDatabase db = new CountingDatabase();
        ClusterStateService service = new ClusterStateService(db, new GenerationGate());
        try {
            service.peerReachable(1);
            service.peerUnreachable(1);
            service.peerReachable(3);
            service.awaitPublisherIdle(5, TimeUnit.SECONDS);
            assertEquals("connections opened to publish the status of an unloaded node", 0, db.connects.get());
        } finally {
            service.deactivate();
        }
    }
}
