package org.mtm.transport.internal;

import java.util.Arrays;

/**
 * One frame of the node-to-node protocol; see {@link FrameCodec} for the bytes. The first four kinds
 * are the authentication handshake, {@link Message} is everything after it.
 */
sealed interface Frame {

    /** Client → server, first frame: who I am, whom I expect, my nonce. */
    record Hello(int version, int clientId, int serverId, byte[] clientNonce) implements Frame {
        @Override
        public String toString() {
            return "HELLO(version " + version + ", node " + clientId + " → node " + serverId + ")";
        }
    }

    /** Server → client: the server's nonce, to be signed together with the client's. */
    record Challenge(int version, byte[] serverNonce) implements Frame {
        @Override
        public String toString() {
            return "CHALLENGE(version " + version + ")";
        }
    }

    /** Client → server: HMAC proving the client knows the cluster secret. */
    record Proof(byte[] mac) implements Frame {
        @Override
        public String toString() {
            return "PROOF";
        }
    }

    /** Server → client: the client is accepted, and the server's own HMAC over the same transcript. */
    record Welcome(byte[] mac) implements Frame {
        @Override
        public String toString() {
            return "WELCOME";
        }
    }

    /** Server → client, last frame before the server closes: why the connection was refused. */
    record Refused(String reason) implements Frame {
    }

    /** Client → server after authentication: a payload for the handlers of {@code channel}. */
    record Message(int channel, byte[] payload) implements Frame {
        @Override
        public boolean equals(Object o) {
            return o instanceof Message m && m.channel == channel && Arrays.equals(m.payload, payload);
        }

        @Override
        public int hashCode() {
            return 31 * channel + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "MESSAGE(channel " + channel + ", " + payload.length + " bytes)";
        }
    }
}
