package org.mtm.transport.internal;

import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * The accepting side of the handshake, as a state machine with no I/O: HELLO → CHALLENGE, PROOF →
 * WELCOME. Nothing but these two frames is accepted before the client is authenticated.
 */
final class ServerHandshake {

    /** What to do after a frame: send {@code reply}; then either go on, accept {@code peer}, or refuse. */
    record Step(Frame reply, int peer, String refusal) {
        static Step reply(Frame f) {
            return new Step(f, 0, null);
        }

        static Step accept(Frame welcome, int peer) {
            return new Step(welcome, peer, null);
        }

        static Step refuse(String reason) {
            return new Step(new Frame.Refused(reason), 0, reason);
        }

        boolean accepted() {
            return peer != 0;
        }

        boolean refused() {
            return refusal != null;
        }
    }

    private final ClusterSecret secret;
    private final int selfId;
    private final IntPredicate isConfiguredPeer;
    private final IntFunction<String> identity;
    private final byte[] serverNonce;
    private ClusterSecret.Transcript transcript;
    private boolean done;

    /**
     * @param selfId this node's id, 0 before the cluster is configured (then every client is refused)
     * @param isConfiguredPeer whether a node id belongs to the configured cluster (and is not this node)
     */
    ServerHandshake(ClusterSecret secret, int selfId, IntPredicate isConfiguredPeer, byte[] serverNonce) {
        this(secret, selfId, isConfiguredPeer, serverNonce, node -> null);
    }

    /**
     * @param identity why the connection cannot be node N (its TLS certificate names another node), or null when
     *        it can; looked at when the HELLO says who the client is, before any proof is exchanged
     */
    ServerHandshake(ClusterSecret secret, int selfId, IntPredicate isConfiguredPeer, byte[] serverNonce,
                    IntFunction<String> identity) {
        this.identity = identity;
        this.secret = secret;
        this.selfId = selfId;
        this.isConfiguredPeer = isConfiguredPeer;
        this.serverNonce = serverNonce.clone();
    }

    Step onFrame(Frame frame) {
        if (done) {
            return Step.refuse("unexpected " + frame + " after the handshake ended");
        }
        if (transcript == null) {
            if (!(frame instanceof Frame.Hello hello)) {
                return finish(Step.refuse("expected HELLO, got " + frame));
            }
            if (hello.version() != FrameCodec.PROTOCOL_VERSION) {
                return finish(Step.refuse("unsupported protocol version " + hello.version() + ", this node speaks version "
                    + FrameCodec.PROTOCOL_VERSION));
            }
            if (selfId == 0) {
                return finish(Step.refuse("this node has no cluster configuration yet"));
            }
            if (hello.serverId() != selfId) {
                return finish(Step.refuse("wrong node id: the client expected node " + hello.serverId()
                    + " but this is node " + selfId));
            }
            if (hello.clientId() == selfId || !isConfiguredPeer.test(hello.clientId())) {
                return finish(Step.refuse("wrong node id: node " + hello.clientId() + " is not a configured peer of node "
                    + selfId));
            }
            String notThatNode = identity.apply(hello.clientId());
            if (notThatNode != null) {
                return finish(Step.refuse(notThatNode));
            }
            transcript = new ClusterSecret.Transcript(FrameCodec.PROTOCOL_VERSION, serverNonce, hello.clientNonce(),
                hello.clientId(), selfId);
            return Step.reply(new Frame.Challenge(FrameCodec.PROTOCOL_VERSION, serverNonce));
        }
        if (!(frame instanceof Frame.Proof proof)) {
            return finish(Step.refuse("expected PROOF, got " + frame));
        }
        if (!ClusterSecret.matches(secret.clientProof(transcript), proof.mac())) {
            return finish(Step.refuse("bad cluster secret"));
        }
        return finish(Step.accept(new Frame.Welcome(secret.serverProof(transcript)), transcript.clientId()));
    }

    private Step finish(Step step) {
        done = true;
        return step;
    }
}
