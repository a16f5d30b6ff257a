package org.mtm.transport.internal;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mutual TLS between nodes (keys {@code transport.tls.*} of {@code org.mtm.node}): each side presents its node
 * certificate and accepts only a certificate signed by the cluster CA; the HMAC handshake of the cluster secret
 * then runs inside the TLS session. TLS gives every frame after it encryption and integrity: a flipped byte
 * fails the record's MAC and the connection is dropped before anything is delivered.
 *
 * <p>A peer is accepted as node N only when its certificate names N ({@link NodeCertificate}: subjectAltName
 * {@code URI:urn:mtm:node:N}), from any address (host names are not checked: the nodes of one host share them).
 * The files are looked at again (modification time, size,
 * inode) for every new connection; a renewal that cannot be read is logged and the previous one stays in use.
 */
final class TransportTls {
    private static final Logger LOG = LoggerFactory.getLogger(TransportTls.class);

    /** What the operator configured; all empty = no TLS. */
    record Settings(String caFile, String certFile, String keyFile) {
        Settings {
            caFile = caFile == null ? "" : caFile.trim();
            certFile = certFile == null ? "" : certFile.trim();
            keyFile = keyFile == null ? "" : keyFile.trim();
        }

        boolean enabled() {
            return !caFile.isEmpty() || !certFile.isEmpty() || !keyFile.isEmpty();
        }
    }

    private record Stamp(FileTime modified, long size, Object fileKey) {
        static Stamp of(Path p) throws IOException {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return new Stamp(a.lastModifiedTime(), a.size(), a.fileKey());
        }
    }

    private record Loaded(SslContext server, SslContext client, List<Stamp> stamps) { }

    private final List<Path> files;
    private volatile Loaded loaded;

    private TransportTls(List<Path> files) {
        this.files = files;
        this.loaded = load(files);
    }

    /**
     * Reads the CA, certificate and key; null when none is configured.
     *
     * @throws IllegalArgumentException naming the key to fix when one is missing or a file cannot be used
     */
    static TransportTls of(Settings s) {
        if (!s.enabled()) {
            return null;
        }
        if (s.caFile().isEmpty() || s.certFile().isEmpty() || s.keyFile().isEmpty()) {
            throw new IllegalArgumentException("node-to-node TLS needs all of transport.tls.ca_file, "
                + "transport.tls.cert_file and transport.tls.key_file (got ca_file='" + s.caFile() + "', cert_file='"
                + s.certFile() + "', key_file='" + s.keyFile() + "')");
        }
        return new TransportTls(List.of(Path.of(s.caFile()), Path.of(s.certFile()), Path.of(s.keyFile())));
    }

    /** For an accepted connection: requires the peer's certificate. */
    SslHandler serverHandler(ByteBufAllocator alloc) {
        return current().server().newHandler(alloc);
    }

    /** For a connection we open to {@code host:port}. */
    SslHandler clientHandler(ByteBufAllocator alloc, String host, int port) {
        return current().client().newHandler(alloc, host, port);
    }

    private Loaded current() {
        Loaded l = loaded;
        try {
            if (!l.stamps().equals(stamps(files))) {
                synchronized (this) {
                    l = loaded;
                    if (!l.stamps().equals(stamps(files))) {
                        l = load(files);
                        loaded = l;
                        LOG.info("transport certificates {} re-read: new peer connections use them", files);
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("transport certificates {} changed but cannot be used ({}); new peer connections still use the "
                + "previous ones. Fix the files (PEM CA and certificate, PKCS#8 PEM key)", files, e.getMessage());
        }
        return l;
    }

    private static List<Stamp> stamps(List<Path> files) throws IOException {
        List<Stamp> s = new ArrayList<>(files.size());
        for (Path p : files) {
            s.add(Stamp.of(p));
        }
        return s;
    }

    private static Loaded load(List<Path> files) {
        Path ca = files.get(0);
        Path cert = files.get(1);
        Path key = files.get(2);
        try {
            List<Stamp> stamps = stamps(files);
            SslContext server = SslContextBuilder.forServer(cert.toFile(), key.toFile())
                .trustManager(ca.toFile()).clientAuth(ClientAuth.REQUIRE).build();
            SslContext client = SslContextBuilder.forClient()
                .keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build();
            return new Loaded(server, client, stamps);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use transport.tls.ca_file " + ca + ", transport.tls.cert_file "
                + cert + " and transport.tls.key_file " + key + ": " + e.getMessage() + " (expected PEM certificates and "
                + "an unencrypted PKCS#8 PEM key, e.g. from openssl genpkey)", e);
        }
    }
}
