package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.time.Duration;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;
import org.mtm.testing.Await;

/**
 * A recovery "until the donor's marker of generation G" that follows a catch-up of the same donor which already
 * applied that marker is reached at once: the catch-up may have confirmed the donor's slot past the marker before the
 * plan changed, and the stream would never bring it again (CI's CrashPointsIT: node 2 recovering for minutes). Here
 * the donor cannot even be reached — a recovery that streamed could never reach its marker.
 */
public class MarkerAppliedByCatchUpTest {
    @ClassRule
    public static final PgNodes NODES = new PgNodes(1);

    @Rule
    public final Timeout timeout = Timeout.seconds(120);

    /** Donor 2 at a port where nothing listens. */
    private static final ClusterNode UNREACHABLE_DONOR =
        new ClusterNode(2, "host=127.0.0.1 port=1 dbname=mydb user=mtmuser", new Endpoint("127.0.0.1", 1));

    @Test
    public void aMarkerTheCatchUpAppliedEndsTheRecoveryAtOnce() throws Exception {
        Receiver r = Receiver.recovery(1, UNREACHABLE_DONOR, NODES.node(1), new ApplierSettings(500, 1), 7, 7).start();
        try {
            Await.until(Duration.ofSeconds(30), "recovery until generation 7 reached", r::reached);
            assertEquals(7, r.recoveryProgress().markerGeneration());
        } finally {
            r.stop();
        }
    }

    @Test
    public void anOlderMarkerStillStreams() throws Exception {
        Receiver r = Receiver.recovery(1, UNREACHABLE_DONOR, NODES.node(1), new ApplierSettings(500, 1), 7, 6).start();
        try {
            // it streams: its first attempt has failed (the donor is unreachable), after the check a marker 7 ends at once
            Await.until(Duration.ofSeconds(30), "a first attempt to stream from the donor", () -> r.failures() > 0);
            assertFalse("marker 6 does not end a recovery until 7", r.reached());
        } finally {
            r.stop();
        }
    }
}
