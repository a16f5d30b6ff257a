package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * A freshly activated status service (bundle update) sends no beacon until its configuration is loaded: one
 * saying "generation 0, connected to nobody" made its peers drop the node from their clique and turn isolated.
 */
public class BeaconBeforeConfigTest {
    @Test
    public void noBeaconUntilTheConfigurationIsLoadedAndEmptyBeaconsAreSkipped() {
        ClusterStateService service = new ClusterStateService(null, new GenerationGate());
        try {
            assertEquals(0, service.heartbeatPayload().length);
            service.onMessage(2, new byte[0]); // a peer in the same moment: skipped, not a malformed beacon
            assertEquals(0, service.statusReport().myNodeId());
        } finally {
            service.deactivate();
        }
    }
}
