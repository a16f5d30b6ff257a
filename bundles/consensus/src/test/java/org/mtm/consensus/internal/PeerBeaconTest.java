package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;
import org.mtm.api.NodeSet;

public class PeerBeaconTest {

    @Test
    public void roundTrip() {
        PeerBeacon b = new PeerBeacon(7, NodeSet.of(1, 3), NodeSet.of(1), 6, NodeSet.of(1, 2, 3));
        assertEquals(b, PeerBeacon.decode(b.encode()));
    }

    @Test
    public void rejectsWrongSizeAndVersion() {
        assertThrows(IllegalArgumentException.class, () -> PeerBeacon.decode(new byte[3]));
        byte[] bytes = new PeerBeacon(1, NodeSet.EMPTY, NodeSet.EMPTY, 0, NodeSet.EMPTY).encode();
        bytes[0] = 9;
        assertThrows(IllegalArgumentException.class, () -> PeerBeacon.decode(bytes));
        assertThrows(IllegalArgumentException.class, () -> PeerBeacon.decode(new byte[0]));
    }
}
