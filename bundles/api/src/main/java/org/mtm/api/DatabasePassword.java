package org.mtm.api;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The generated password of the cluster user of a managed PostgreSQL without {@code database.password}: derived
 * from {@code cluster.secret}, so every node of a cluster (and its referee) computes the same one and reaches its
 * peers' servers with it, and nobody without the secret can. HMAC-SHA256 of {@code "mtm database.password <user>"}
 * keyed with the secret's UTF-8 bytes, in lowercase hex: {@code printf '%s' "mtm database.password mtmuser" |
 * openssl dgst -sha256 -hmac "$SECRET"} gives the same.
 */
public final class DatabasePassword {
    private DatabasePassword() {
    }

    public static String derive(String clusterSecret, String user) {
        if (clusterSecret == null || clusterSecret.isEmpty()) {
            throw new IllegalArgumentException("cluster.secret is empty: the generated database password derives from it");
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(clusterSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(("mtm database.password " + user).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
