package org.mtm.gateway.internal.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

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
