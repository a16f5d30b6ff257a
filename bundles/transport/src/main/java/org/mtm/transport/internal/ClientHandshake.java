package org.mtm.transport.internal;

import java.util.function.IntFunction;

/**
 * The connecting side of the handshake, as a state machine with no I/O: sends HELLO, answers CHALLENGE
 * with PROOF, and accepts the link only when WELCOME carries the server's own proof of the secret.
 */
final class ClientHandshake {

    /** What to do after a frame: send {@code reply} (may be null), or the link is up, or it failed. */
    record Step(Frame reply, boolean linked, String failure) {
    }

    private final ClusterSecret secret;
    private final int selfId;
    private final int peerId;
    private final byte[] clientNonce;
    private final IntFunction<String> identity;
    private ClusterSecret.Transcript transcript;
    private boolean done;

    ClientHandshake(ClusterSecret secret, int selfId, int peerId, byte[] clientNonce) {
        this(secret, selfId, peerId, clientNonce, node -> null);
    }

    /**
     * @param identity why the server cannot be node N (its TLS certificate names another node), or null when it
     *        can; looked at on the CHALLENGE, before this side proves the secret
     */
    ClientHandshake(ClusterSecret secret, int selfId, int peerId, byte[] clientNonce, IntFunction<String> identity) {
        this.identity = identity;
        this.secret = secret;
        this.selfId = selfId;
        this.peerId = peerId;
        this.clientNonce = clientNonce.clone();
    }

    Frame hello() {
        return new Frame.Hello(FrameCodec.PROTOCOL_VERSION, selfId, peerId, clientNonce);
    }

    Step onFrame(Frame frame) {
        if (done) {
            return fail("unexpected " + frame + " after the handshake ended");
        }
        if (frame instanceof Frame.Refused refused) {
            return fail("refused by the peer: " + refused.reason());
        }
        if (transcript == null) {
            if (!(frame instanceof Frame.Challenge challenge)) {
                return fail("expected CHALLENGE, got " + frame);
            }
            if (challenge.version() != FrameCodec.PROTOCOL_VERSION) {
                return fail("unsupported protocol version " + challenge.version() + ", this node speaks version "
                    + FrameCodec.PROTOCOL_VERSION);
            }
            String notThatNode = identity.apply(peerId);
            if (notThatNode != null) {
                return fail(notThatNode);
            }
            transcript = new ClusterSecret.Transcript(FrameCodec.PROTOCOL_VERSION, challenge.serverNonce(), clientNonce,
                selfId, peerId);
            return new Step(new Frame.Proof(secret.clientProof(transcript)), false, null);
        }
        if (!(frame instanceof Frame.Welcome welcome)) {
            return fail("expected WELCOME, got " + frame);
        }
        done = true;
        if (!ClusterSecret.matches(secret.serverProof(transcript), welcome.mac())) {
            return new Step(null, false, "the peer does not prove it knows the cluster secret (bad cluster secret)");
        }
        return new Step(null, true, null);
    }

    private Step fail(String why) {
        done = true;
        return new Step(null, false, why);
    }
}
