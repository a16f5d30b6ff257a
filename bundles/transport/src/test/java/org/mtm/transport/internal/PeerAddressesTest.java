package org.mtm.transport.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.Map;
import org.junit.Test;
import org.mtm.api.Endpoint;

/** transport.peer_address.&lt;id&gt; of org.mtm.node: read from the configuration, applied over the catalog. */
public class PeerAddressesTest {
    private static final Map<Integer, Endpoint> CATALOG = Map.of(2, new Endpoint("10.0.0.2", 7400), 3, new Endpoint("10.0.0.3", 7400));

    @Test
    public void anOverriddenPeerIsReachedAtItsOverrideTheOthersAtTheCatalogAddress() {
        PeerAddresses addresses = PeerAddresses.of(Map.of("transport.peer_address.3", " 127.0.0.1:31000 ",
            "transport.host", "127.0.0.1", "gateway.port", 5432));
        assertEquals(Map.of(2, new Endpoint("10.0.0.2", 7400), 3, new Endpoint("127.0.0.1", 31000)), addresses.applyTo(CATALOG));
    }

    @Test
    public void anOverrideOfANodeOutsideTheCatalogAddsNoPeer() {
        assertEquals(CATALOG, PeerAddresses.of(Map.of("transport.peer_address.7", "127.0.0.1:1")).applyTo(CATALOG));
        assertEquals(CATALOG, PeerAddresses.NONE.applyTo(CATALOG));
    }

    @Test
    public void malformedKeysAndValuesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> PeerAddresses.of(Map.of("transport.peer_address.x", "h:1")));
        assertThrows(IllegalArgumentException.class, () -> PeerAddresses.of(Map.of("transport.peer_address.2", "no-port")));
    }
}
