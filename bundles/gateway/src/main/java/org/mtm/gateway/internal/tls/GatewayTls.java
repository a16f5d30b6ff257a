package org.mtm.gateway.internal.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

/**
 * The gateway's server certificate (keys {@code gateway.tls.*} of {@code org.mtm.node}): PEM certificate chain
 * and PKCS#8 PEM key, and optionally the CA of client certificates ({@link ClientCert}). The files are looked at
 * again (modification time and size) for every TLS connection: a renewed certificate serves the next connection without a restart; a renewal that cannot be read is logged
 * and the previous certificate stays in use.
 */
public final class GatewayTls {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayTls.class);

    /**
     * What the operator configured; {@code certFile} empty = no TLS. {@code clientCaFile}: the CA whose client
     * certificates are accepted (empty: none are asked for); {@code clientCert}: {@code none}, {@code verify-ca} or
     * {@code verify-full} (see {@link ClientCert}).
     */
    public record Settings(String certFile, String keyFile, boolean required, String clientCaFile, String clientCert) {
        public Settings {
            certFile = certFile == null ? "" : certFile.trim();
            keyFile = keyFile == null ? "" : keyFile.trim();
            clientCaFile = clientCaFile == null ? "" : clientCaFile.trim();
            clientCert = clientCert == null || clientCert.isBlank() ? "none" : clientCert.trim();
        }

        public Settings(String certFile, String keyFile, boolean required) {
            this(certFile, keyFile, required, "", "none");
        }

        public boolean enabled() {
            return !certFile.isEmpty() || !keyFile.isEmpty();
        }
    }

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

    private record Loaded(SslContext context, List<Stamp> stamps) { }

    /** What tells a file changed without reading it. */
    private record Stamp(FileTime modified, long size, Object fileKey) {
        static Stamp of(Path p) throws IOException {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return new Stamp(a.lastModifiedTime(), a.size(), a.fileKey());
        }
    }

    private final Path cert;
    private final Path key;
    private final Path clientCa;
    private final boolean required;
    private final ClientCert clientCert;
    private volatile Loaded loaded;

    private GatewayTls(Path cert, Path key, Path clientCa, boolean required, ClientCert clientCert) {
        this.cert = cert;
        this.key = key;
        this.clientCa = clientCa;
        this.required = required;
        this.clientCert = clientCert;
        this.loaded = load(files());
    }

    private List<Path> files() {
        return clientCa == null ? List.of(cert, key) : List.of(cert, key, clientCa);
    }

    /**
     * Reads the certificate and key; null when TLS is not configured.
     *
     * @throws IllegalArgumentException naming the key to fix when the settings are incomplete or the files
     *         cannot be used
     */
    public static GatewayTls of(Settings s) {
        if (!s.enabled()) {
            if (!s.clientCaFile().isEmpty() || ClientCert.of(s.clientCert()) != ClientCert.NONE) {
                throw new IllegalArgumentException("client certificates (gateway.tls.client_ca_file, "
                        + "gateway.tls.clientcert) need TLS: set gateway.tls.cert_file and gateway.tls.key_file in "
                        + "etc/org.mtm.node.cfg");
            }
            if (s.required()) {
                throw new IllegalArgumentException("gateway.tls.required = true needs a certificate: set "
                        + "gateway.tls.cert_file and gateway.tls.key_file in etc/org.mtm.node.cfg");
            }
            return null;
        }
        if (s.certFile().isEmpty() || s.keyFile().isEmpty()) {
            throw new IllegalArgumentException("gateway TLS needs both gateway.tls.cert_file and gateway.tls.key_file "
                    + "(got cert_file='" + s.certFile() + "', key_file='" + s.keyFile() + "')");
        }
        ClientCert clientCert = ClientCert.of(s.clientCert());
        if (clientCert != ClientCert.NONE && s.clientCaFile().isEmpty()) {
            throw new IllegalArgumentException("gateway.tls.clientcert = " + clientCert.key() + " needs "
                    + "gateway.tls.client_ca_file: the CA whose client certificates are accepted");
        }
        return new GatewayTls(Path.of(s.certFile()), Path.of(s.keyFile()),
                s.clientCaFile().isEmpty() ? null : Path.of(s.clientCaFile()), s.required(), clientCert);
    }

    /** Plain connections are refused: TLS is required, or a client certificate is. */
    public boolean required() {
        return required || clientCert != ClientCert.NONE;
    }

    public ClientCert clientCert() {
        return clientCert;
    }

    public Path certFile() {
        return cert;
    }

    /** A server-side handler with the current certificate (re-read first if its files changed). */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return current().context().newHandler(alloc);
    }

    private Loaded current() {
        Loaded l = loaded;
        try {
            if (!l.stamps().equals(stamps(files()))) {
                synchronized (this) {
                    l = loaded;
                    if (!l.stamps().equals(stamps(files()))) {
                        l = load(files());
                        loaded = l;
                        LOG.info("gateway certificate {} re-read: new TLS connections use it", cert);
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // a renewal written in several steps may be caught half-way: keep serving the previous certificate
            LOG.warn("gateway certificate {} or key {} changed but cannot be used ({}); still serving the previous "
                    + "one. Fix the files (PEM certificate chain, PKCS#8 PEM key)", cert, key, e.getMessage());
        }
        return l;
    }

    private static List<Stamp> stamps(List<Path> files) throws IOException {
        List<Stamp> stamps = new ArrayList<>(files.size());
        for (Path p : files) {
            stamps.add(Stamp.of(p));
        }
        return stamps;
    }

    private static Loaded load(List<Path> files) {
        Path cert = files.get(0);
        Path key = files.get(1);
        Path clientCa = files.size() > 2 ? files.get(2) : null;
        try {
            List<Stamp> stamps = stamps(files);
            SslContextBuilder builder = SslContextBuilder.forServer(cert.toFile(), key.toFile());
            if (clientCa != null) {
                // asked for, verified when presented; whether one is required is decided at the StartupMessage, so
                // that a client without one gets PostgreSQL's error rather than a TLS alert
                builder.trustManager(clientCa.toFile()).clientAuth(ClientAuth.OPTIONAL);
            }
            return new Loaded(builder.build(), stamps);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use gateway.tls.cert_file " + cert + " with gateway.tls.key_file "
                    + key + (clientCa == null ? "" : " and gateway.tls.client_ca_file " + clientCa) + ": " + e.getMessage()
                    + " (expected PEM certificates and an unencrypted PKCS#8 PEM key, e.g. from openssl genpkey)", e);
        }
    }
}
