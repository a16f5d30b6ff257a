package org.mtm.transport.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shared cluster secret and the proofs made with it: HMAC-SHA256 over a transcript of both nonces,
 * both node ids and the protocol version, with a different label for each side so a proof can never be
 * reflected back. {@link #toString()} never shows the secret.
 */
final class ClusterSecret {
    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] CLIENT_LABEL = "mtm-transport client proof".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_LABEL = "mtm-transport server proof".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec key;

    private ClusterSecret(byte[] secret) {
        this.key = new SecretKeySpec(secret, ALGORITHM);
    }

    /** The secret as configured; must not be empty (see {@code cluster.secret}). */
    static ClusterSecret of(String secret) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("cluster secret must not be empty");
        }
        return new ClusterSecret(secret.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] newNonce() {
        byte[] nonce = new byte[FrameCodec.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        return nonce;
    }

    /** What the connecting node sends to prove it knows the secret. */
    byte[] clientProof(Transcript t) {
        return mac(CLIENT_LABEL, t);
    }

    /** What the accepting node sends back to prove it knows the secret too. */
    byte[] serverProof(Transcript t) {
        return mac(SERVER_LABEL, t);
    }

    /** Constant-time comparison, so the time taken does not tell how many bytes matched. */
    static boolean matches(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual);
    }

    private byte[] mac(byte[] label, Transcript t) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            mac.update(label);
            mac.update(t.bytes());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JVM", e);
        }
    }

    @Override
    public String toString() {
        return "ClusterSecret[hidden]";
    }

    /** Everything both proofs cover. */
    record Transcript(int version, byte[] serverNonce, byte[] clientNonce, int clientId, int serverId) {
        byte[] bytes() {
            return ByteBuffer.allocate(2 + serverNonce.length + clientNonce.length + 4)
                .putShort((short) version)
                .put(serverNonce)
                .put(clientNonce)
                .putShort((short) clientId)
                .putShort((short) serverId)
                .array();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Transcript t && t.version == version && Arrays.equals(t.serverNonce, serverNonce)
                && Arrays.equals(t.clientNonce, clientNonce) && t.clientId == clientId && t.serverId == serverId;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes());
        }
    }
}
