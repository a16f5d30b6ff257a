package org.mtm.transport.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Set;
import java.util.function.IntPredicate;
import org.junit.Test;

public class HandshakeTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("correct horse");
    private static final IntPredicate PEERS_1_2_3 = Set.of(1, 2, 3)::contains;

    private static ServerHandshake server(ClusterSecret secret, int selfId) {
        return new ServerHandshake(secret, selfId, PEERS_1_2_3, ClusterSecret.newNonce());
    }

    @Test
    public void bothSidesProveTheSecretAndTheLinkForms() {
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        ServerHandshake server = server(ClusterSecret.of("correct horse"), 1);

        ServerHandshake.Step challenge = server.onFrame(client.hello());
        assertFalse(challenge.refused());
        assertTrue(challenge.reply() instanceof Frame.Challenge);

        ClientHandshake.Step proof = client.onFrame(challenge.reply());
        assertNull(proof.failure());
        assertTrue(proof.reply() instanceof Frame.Proof);

        ServerHandshake.Step welcome = server.onFrame(proof.reply());
        assertTrue(welcome.accepted());
        assertEquals(2, welcome.peer());

        ClientHandshake.Step linked = client.onFrame(welcome.reply());
        assertTrue(linked.linked());
        assertNull(linked.failure());
    }

    @Test
    public void serverRefusesAClientWhoseCertificateNamesAnotherNodeBeforeAnyProof() {
        ServerHandshake server = new ServerHandshake(SECRET, 1, PEERS_1_2_3, ClusterSecret.newNonce(),
            node -> node == 3 ? null : "certificate is node 3's, not node " + node + "'s");
        ClientHandshake posing = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        ServerHandshake.Step step = server.onFrame(posing.hello());
        assertTrue(step.refused());
        assertEquals("certificate is node 3's, not node 2's", step.refusal());
        assertTrue("no challenge: nothing to compute a proof on", step.reply() instanceof Frame.Refused);

        ServerHandshake honest = new ServerHandshake(SECRET, 1, PEERS_1_2_3, ClusterSecret.newNonce(),
            node -> node == 3 ? null : "certificate is node 3's, not node " + node + "'s");
        assertTrue(honest.onFrame(new ClientHandshake(SECRET, 3, 1, ClusterSecret.newNonce()).hello()).reply()
            instanceof Frame.Challenge);
    }

    @Test
    public void clientDoesNotProveTheSecretToAServerWhoseCertificateNamesAnotherNode() {
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce(),
            node -> node == 1 ? "certificate is node 3's, not node 1's" : null);
        ServerHandshake server = server(SECRET, 1);
        ClientHandshake.Step step = client.onFrame(server.onFrame(client.hello()).reply());
        assertFalse(step.linked());
        assertNull("no PROOF sent", step.reply());
        assertEquals("certificate is node 3's, not node 1's", step.failure());
    }

    @Test
    public void wrongSecretIsRefusedAsBadClusterSecret() {
        ClientHandshake client = new ClientHandshake(ClusterSecret.of("wrong"), 2, 1, ClusterSecret.newNonce());
        ServerHandshake server = server(SECRET, 1);
        Frame proof = client.onFrame(server.onFrame(client.hello()).reply()).reply();
        ServerHandshake.Step step = server.onFrame(proof);
        assertTrue(step.refused());
        assertEquals("bad cluster secret", step.refusal());
        assertEquals(new Frame.Refused("bad cluster secret"), step.reply());

        ClientHandshake.Step told = client.onFrame(step.reply());
        assertFalse(told.linked());
        assertEquals("refused by the peer: bad cluster secret", told.failure());
    }

    @Test
    public void clientRefusesAServerThatCannotProveTheSecret() {
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        client.hello();
        client.onFrame(new Frame.Challenge(FrameCodec.PROTOCOL_VERSION, ClusterSecret.newNonce()));
        ClientHandshake.Step step = client.onFrame(new Frame.Welcome(new byte[FrameCodec.MAC_LENGTH]));
        assertFalse(step.linked());
        assertTrue(step.failure(), step.failure().contains("does not prove it knows the cluster secret"));
    }

    @Test
    public void clientProofReflectedAsServerProofIsRejected() {
        // a server without the secret echoing the client's own proof must not pass
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        client.hello();
        Frame.Proof proof = (Frame.Proof) client.onFrame(
            new Frame.Challenge(FrameCodec.PROTOCOL_VERSION, ClusterSecret.newNonce())).reply();
        ClientHandshake.Step step = client.onFrame(new Frame.Welcome(proof.mac()));
        assertFalse(step.linked());
    }

    @Test
    public void proofsBindBothNodeIdsNoncesAndVersion() {
        byte[] sn = ClusterSecret.newNonce();
        byte[] cn = ClusterSecret.newNonce();
        byte[] base = SECRET.clientProof(new ClusterSecret.Transcript(1, sn, cn, 2, 1));
        assertArrayEquals(base, SECRET.clientProof(new ClusterSecret.Transcript(1, sn.clone(), cn.clone(), 2, 1)));
        assertFalse(ClusterSecret.matches(base, SECRET.clientProof(new ClusterSecret.Transcript(1, sn, cn, 3, 1))));
        assertFalse(ClusterSecret.matches(base, SECRET.clientProof(new ClusterSecret.Transcript(1, sn, cn, 2, 3))));
        assertFalse(ClusterSecret.matches(base, SECRET.clientProof(new ClusterSecret.Transcript(2, sn, cn, 2, 1))));
        assertFalse(ClusterSecret.matches(base, SECRET.clientProof(new ClusterSecret.Transcript(1, cn, sn, 2, 1))));
        assertFalse(ClusterSecret.matches(base, SECRET.serverProof(new ClusterSecret.Transcript(1, sn, cn, 2, 1))));
        assertFalse(ClusterSecret.matches(base,
            ClusterSecret.of("other").clientProof(new ClusterSecret.Transcript(1, sn, cn, 2, 1))));
    }

    @Test
    public void unknownOrWrongNodeIdsAreRefusedBeforeAnyProof() {
        assertEquals("wrong node id: node 9 is not a configured peer of node 1",
            server(SECRET, 1).onFrame(new Frame.Hello(1, 9, 1, ClusterSecret.newNonce())).refusal());
        assertEquals("wrong node id: node 1 is not a configured peer of node 1",
            server(SECRET, 1).onFrame(new Frame.Hello(1, 1, 1, ClusterSecret.newNonce())).refusal());
        assertEquals("wrong node id: the client expected node 3 but this is node 1",
            server(SECRET, 1).onFrame(new Frame.Hello(1, 2, 3, ClusterSecret.newNonce())).refusal());
        assertEquals("this node has no cluster configuration yet",
            server(SECRET, 0).onFrame(new Frame.Hello(1, 2, 1, ClusterSecret.newNonce())).refusal());
    }

    @Test
    public void unknownProtocolVersionIsRefusedOnBothSides() {
        assertEquals("unsupported protocol version 2, this node speaks version 1",
            server(SECRET, 1).onFrame(new Frame.Hello(2, 2, 1, ClusterSecret.newNonce())).refusal());
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        client.hello();
        assertEquals("unsupported protocol version 7, this node speaks version 1",
            client.onFrame(new Frame.Challenge(7, ClusterSecret.newNonce())).failure());
    }

    @Test
    public void anythingButTheHandshakeIsRefusedBeforeAuthentication() {
        assertEquals("expected HELLO, got MESSAGE(channel 2, 1 bytes)",
            server(SECRET, 1).onFrame(new Frame.Message(2, new byte[1])).refusal());
        ServerHandshake s = server(SECRET, 1);
        s.onFrame(new Frame.Hello(1, 2, 1, ClusterSecret.newNonce()));
        assertEquals("expected PROOF, got MESSAGE(channel 1, 0 bytes)", s.onFrame(new Frame.Message(1, new byte[0])).refusal());
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        assertEquals("expected CHALLENGE, got WELCOME", client.onFrame(new Frame.Welcome(new byte[32])).failure());
    }

    @Test
    public void emptySecretIsRejectedAndSecretNeverPrinted() {
        try {
            ClusterSecret.of("");
            throw new AssertionError("empty secret accepted");
        } catch (IllegalArgumentException e) {
            assertEquals("cluster secret must not be empty", e.getMessage());
        }
        assertFalse(ClusterSecret.of("hunter2").toString().contains("hunter2"));
    }
}
