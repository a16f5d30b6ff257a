package org.mtm.gateway.internal.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;


import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

/**
 * The gateway's server certificate (keys {@code gateway.tls.*} of {@code org.mtm.node}): PEM certificate chain
 * and PKCS#8 PEM key. The files are looked at again (modification time and size) for every TLS connection: a
 * renewed certificate serves the next connection without a restart; a renewal that cannot be read is logged
 * and the previous certificate stays in use.
 */
public final class GatewayTls {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayTls.class);

    /** What the operator configured; {@code certFile} empty = no TLS. */
    public record Settings(String certFile, String keyFile, boolean required) {
        public Settings {
            certFile = certFile == null ? "" : certFile.trim();
            keyFile = keyFile == null ? "" : keyFile.trim();
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
    private final boolean required;
    private volatile Loaded loaded;

    private GatewayTls(Path cert, Path key, boolean required, Loaded loaded) {
        this.cert = cert;
        this.key = key;
        this.required = required;
        this.loaded = loaded;
    }

    /**
     * Reads the certificate and key; null when TLS is not configured.
     *
     * @throws IllegalArgumentException naming the key to fix when the settings are incomplete or the files
     *         cannot be used
     */
    public static GatewayTls of(Settings s) {
        if (!s.enabled()) {
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
        Path cert = Path.of(s.certFile());
        Path key = Path.of(s.keyFile());
        return new GatewayTls(cert, key, s.required(), load(cert, key));
    }

    public boolean required() {
        return required;
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
            if (!l.stamps().equals(List.of(Stamp.of(cert), Stamp.of(key)))) {
                synchronized (this) {
                    l = loaded;
                    if (!l.stamps().equals(List.of(Stamp.of(cert), Stamp.of(key)))) {
                        l = load(cert, key);
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

    private static Loaded load(Path cert, Path key) {
        try {
            List<Stamp> stamps = List.of(Stamp.of(cert), Stamp.of(key));
            SslContext context = SslContextBuilder.forServer(cert.toFile(), key.toFile()).build();
            return new Loaded(context, stamps);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use gateway.tls.cert_file " + cert + " with gateway.tls.key_file "
                    + key + ": " + e.getMessage() + " (expected a PEM certificate chain and an unencrypted PKCS#8 "
                    + "PEM key, e.g. from openssl genpkey)", e);
        }
    }
}
