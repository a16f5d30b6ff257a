package org.mtm.transport.internal;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import org.mtm.api.tls.CaTrust;
import org.mtm.api.tls.ReloadingFiles;

/**
 * Mutual TLS between nodes (keys {@code transport.tls.*} of {@code org.mtm.node}): each side presents its node
 * certificate and accepts only a certificate signed by the cluster CA and not revoked by its CRL
 * ({@code transport.tls.crl_file}); the HMAC handshake of the cluster secret then runs inside the TLS session. TLS
 * gives every frame after it encryption and integrity: a flipped byte fails the record's MAC and the connection is
 * dropped before anything is delivered.
 *
 * <p>A peer is accepted as node N only when its certificate names N ({@link NodeCertificate}: subjectAltName
 * {@code URI:urn:mtm:node:N}), from any address (host names are not checked: the nodes of one host share them).
 * The files are looked at again (modification time, size, inode) for every new connection ({@link ReloadingFiles});
 * a renewal that cannot be read is logged and the previous one stays in use.
 */
final class TransportTls {
    /** What the operator configured; all empty = no TLS. */
    record Settings(String caFile, String certFile, String keyFile, String crlFile) {
        Settings {
            caFile = caFile == null ? "" : caFile.trim();
            certFile = certFile == null ? "" : certFile.trim();
            keyFile = keyFile == null ? "" : keyFile.trim();
            crlFile = crlFile == null ? "" : crlFile.trim();
        }

        Settings(String caFile, String certFile, String keyFile) {
            this(caFile, certFile, keyFile, "");
        }

        boolean enabled() {
            return !caFile.isEmpty() || !certFile.isEmpty() || !keyFile.isEmpty() || !crlFile.isEmpty();
        }
    }

    private record Contexts(SslContext server, SslContext client) { }

    private final ReloadingFiles<Contexts> contexts;

    private TransportTls(Path ca, Path cert, Path key, Path crl) {
        List<Path> files = new ArrayList<>(List.of(ca, cert, key));
        if (crl != null) {
            files.add(crl);
        }
        this.contexts = new ReloadingFiles<>("transport certificates", files, f -> load(ca, cert, key, crl));
    }

    /**
     * Reads the CA, certificate, key and CRL; null when none is configured.
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
        return new TransportTls(Path.of(s.caFile()), Path.of(s.certFile()), Path.of(s.keyFile()),
            s.crlFile().isEmpty() ? null : Path.of(s.crlFile()));
    }

    /** For an accepted connection: requires the peer's certificate. */
    SslHandler serverHandler(ByteBufAllocator alloc) {
        return contexts.current().server().newHandler(alloc);
    }

    /** For a connection we open to {@code host:port}. */
    SslHandler clientHandler(ByteBufAllocator alloc, String host, int port) {
        return contexts.current().client().newHandler(alloc, host, port);
    }

    /** The server context (accepted connections) of the current files (tests). */
    SslContext serverContext() {
        return contexts.current().server();
    }

    /** The client context (connections we open) of the current files (tests). */
    SslContext clientContext() {
        return contexts.current().client();
    }

    /** The TLS implementation the current contexts run on ({@link TlsProvider}): OPENSSL or JDK. */
    SslProvider provider() {
        return contexts.current().server() instanceof ReferenceCountedOpenSslContext ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    private static Contexts load(Path ca, Path cert, Path key, Path crl) {
        try {
            TrustManagerFactory trust = CaTrust.of(ca, crl);
            SslProvider provider = TlsProvider.current();
            SslContext server = SslContextBuilder.forServer(cert.toFile(), key.toFile()).sslProvider(provider)
                .trustManager(trust).clientAuth(ClientAuth.REQUIRE).build();
            SslContext client = SslContextBuilder.forClient().sslProvider(provider)
                .keyManager(cert.toFile(), key.toFile()).trustManager(trust).build();
            return new Contexts(server, client);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use transport.tls.ca_file " + ca + ", transport.tls.cert_file "
                + cert + " and transport.tls.key_file " + key + (crl == null ? "" : " with transport.tls.crl_file " + crl)
                + ": " + e.getMessage() + " (expected PEM certificates, a PEM or DER CRL and an unencrypted PKCS#8 PEM "
                + "key, e.g. from openssl genpkey)", e);
        }
    }
}
