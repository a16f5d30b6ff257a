package org.mtm.gateway.internal.tls;

import java.security.cert.X509Certificate;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;

/**
 * What a client's certificate must be, as PostgreSQL's {@code clientcert} option of pg_hba.conf: {@code NONE}
 * asks for nothing; {@code VERIFY_CA}: a certificate of {@code gateway.tls.client_ca_file}; {@code VERIFY_FULL}:
 * also its subject's CN equal to the user name of the StartupMessage (PostgreSQL's cert-auth mapping without a
 * user name map). PostgreSQL's own authentication (password, scram) still follows, as with that option.
 */
public enum ClientCert {
    NONE, VERIFY_CA, VERIFY_FULL;

    static ClientCert of(String value) {
        return switch (value.toLowerCase(java.util.Locale.ROOT)) {
            case "none", "" -> NONE;
            case "verify-ca" -> VERIFY_CA;
            case "verify-full" -> VERIFY_FULL;
            default -> throw new IllegalArgumentException("gateway.tls.clientcert = '" + value + "' is not one of "
                    + "none, verify-ca, verify-full");
        };
    }

    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /**
     * Null when a session of {@code user} may start with the client certificate {@code cert} (null: none was
     * presented, or no TLS); otherwise the FATAL 28000 to answer, in PostgreSQL's words. Pure.
     */
    public ServerError refusal(X509Certificate cert, String user) {
        if (this == NONE) {
            return null;
        }
        if (cert == null) {
            return ServerError.fatal(SqlStates.INVALID_AUTHORIZATION, "connection requires a valid client "
                    + "certificate (gateway.tls.clientcert = " + key() + ")", "Connect with sslmode=require or "
                    + "stronger and sslcert/sslkey of a certificate signed by gateway.tls.client_ca_file.");
        }
        if (this == VERIFY_FULL) {
            String cn = commonName(cert);
            if (!user.equals(cn)) {
                return ServerError.fatal(SqlStates.INVALID_AUTHORIZATION, "certificate validation (clientcert="
                        + "verify-full) failed for user \"" + user + "\": CN mismatch (the certificate's CN is "
                        + (cn == null ? "missing" : "\"" + cn + "\"") + "; gateway.tls.clientcert = verify-full)");
            }
        }
        return null;
    }

    /** The last CN of the certificate's subject, or null. */
    static String commonName(X509Certificate cert) {
        try {
            String cn = null;
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = String.valueOf(rdn.getValue());
                }
            }
            return cn;
        } catch (InvalidNameException e) {
            return null;
        }
    }
}
