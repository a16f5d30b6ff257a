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

    @Test
    public void carriesTheCatchUpLag() {
        PeerBeacon b = new PeerBeacon(7, NodeSet.of(1, 2), NodeSet.of(1), 5, NodeSet.of(1, 2, 3), 3_000_000);
        assertEquals(3_000_000, PeerBeacon.decode(b.encode()).catchUpLag());
        byte[] bytes = b.encode();
        java.nio.ByteBuffer.wrap(bytes).putLong(PeerBeacon.SIZE_1, -2);
        assertThrows(IllegalArgumentException.class, () -> PeerBeacon.decode(bytes));
    }

    @Test
    public void readsVersionOneWithoutALag() {
        PeerBeacon b = new PeerBeacon(7, NodeSet.of(1, 3), NodeSet.of(1), 6, NodeSet.of(1, 2, 3), 42);
        byte[] v1 = java.util.Arrays.copyOf(b.encode(), PeerBeacon.SIZE_1);
        v1[0] = 1;
        assertEquals(new PeerBeacon(7, NodeSet.of(1, 3), NodeSet.of(1), 6, NodeSet.of(1, 2, 3)), PeerBeacon.decode(v1));
    }

    @Test
    public void carriesTheConfiguredSetAndReadsVersionTwoWithout() {
        PeerBeacon b = new PeerBeacon(9, NodeSet.of(1, 2), NodeSet.of(1), 9, NodeSet.of(1, 2), -1, NodeSet.of(1, 2));
        assertEquals(b, PeerBeacon.decode(b.encode()));
        byte[] v2 = java.util.Arrays.copyOf(b.encode(), PeerBeacon.SIZE_2);
        v2[0] = 2;
        assertEquals(NodeSet.EMPTY, PeerBeacon.decode(v2).configured());
        assertEquals(9, PeerBeacon.decode(v2).generationNum());
    }
}
