package org.mtm.gateway.internal.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.mtm.api.tls.CaTrust;
import org.mtm.api.tls.ReloadingFiles;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

/**
 * The gateway's server certificate (keys {@code gateway.tls.*} of {@code org.mtm.node}): PEM certificate chain
 * and PKCS#8 PEM key, and optionally the CA of client certificates ({@link ClientCert}) with its certificate
 * revocation list. The files are looked at again (modification time, size, inode) for every TLS connection
 * ({@link ReloadingFiles}): a renewed certificate or CRL serves the next connection without a restart; a renewal that
 * cannot be read is logged and the previous one stays in use.
 */
public final class GatewayTls {
    /**
     * What the operator configured; {@code certFile} empty = no TLS. {@code clientCaFile}: the CA whose client
     * certificates are accepted (empty: none are asked for); {@code clientCert}: {@code none}, {@code verify-ca} or
     * {@code verify-full} (see {@link ClientCert}); {@code crlFile}: that CA's revocation list (empty: none).
     */
    public record Settings(String certFile, String keyFile, boolean required, String clientCaFile, String clientCert,
                           String crlFile) {
        public Settings {
            certFile = certFile == null ? "" : certFile.trim();
            keyFile = keyFile == null ? "" : keyFile.trim();
            clientCaFile = clientCaFile == null ? "" : clientCaFile.trim();
            clientCert = clientCert == null || clientCert.isBlank() ? "none" : clientCert.trim();
            crlFile = crlFile == null ? "" : crlFile.trim();
        }

        public Settings(String certFile, String keyFile, boolean required, String clientCaFile, String clientCert) {
            this(certFile, keyFile, required, clientCaFile, clientCert, "");
        }

        public Settings(String certFile, String keyFile, boolean required) {
            this(certFile, keyFile, required, "", "none", "");
        }

        public boolean enabled() {
            return !certFile.isEmpty() || !keyFile.isEmpty();
        }
    }

    private final Path cert;
    private final boolean required;
    private final ClientCert clientCert;
    private final ReloadingFiles<SslContext> context;

    private GatewayTls(Path cert, Path key, Path clientCa, Path crl, boolean required, ClientCert clientCert) {
        this.cert = cert;
        this.required = required;
        this.clientCert = clientCert;
        List<Path> files = new ArrayList<>(List.of(cert, key));
        if (clientCa != null) {
            files.add(clientCa);
        }
        if (crl != null) {
            files.add(crl);
        }
        this.context = new ReloadingFiles<>("gateway certificate", files, f -> load(cert, key, clientCa, crl));
    }

    /**
     * Reads the certificate and key; null when TLS is not configured.
     *
     * @throws IllegalArgumentException naming the key to fix when the settings are incomplete or the files
     *         cannot be used
     */
    public static GatewayTls of(Settings s) {
        if (!s.enabled()) {
            if (!s.clientCaFile().isEmpty() || ClientCert.of(s.clientCert()) != ClientCert.NONE || !s.crlFile().isEmpty()) {
                throw new IllegalArgumentException("client certificates (gateway.tls.client_ca_file, "
                        + "gateway.tls.clientcert, gateway.tls.crl_file) need TLS: set gateway.tls.cert_file and "
                        + "gateway.tls.key_file in etc/org.mtm.node.cfg");
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
        if (!s.crlFile().isEmpty() && s.clientCaFile().isEmpty()) {
            throw new IllegalArgumentException("gateway.tls.crl_file revokes client certificates of "
                    + "gateway.tls.client_ca_file, which is empty: set it (and gateway.tls.clientcert)");
        }
        return new GatewayTls(Path.of(s.certFile()), Path.of(s.keyFile()),
                s.clientCaFile().isEmpty() ? null : Path.of(s.clientCaFile()),
                s.crlFile().isEmpty() ? null : Path.of(s.crlFile()), s.required(), clientCert);
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
        return context.current().newHandler(alloc);
    }

    /** The context of the current certificate (re-read first if its files changed). */
    public SslContext context() {
        return context.current();
    }

    /** The TLS implementation the current context runs on ({@link TlsProvider}): OPENSSL or JDK. */
    public SslProvider provider() {
        return context.current() instanceof ReferenceCountedOpenSslContext ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    private static SslContext load(Path cert, Path key, Path clientCa, Path crl) {
        try {
            SslContextBuilder builder = SslContextBuilder.forServer(cert.toFile(), key.toFile())
                    .sslProvider(TlsProvider.current());
            if (clientCa != null) {
                // asked for, verified when presented (a revoked one fails); whether one is required is decided at the
                // StartupMessage, so that a client without a valid one gets PostgreSQL's error rather than a TLS alert
                builder.trustManager(CaTrust.of(clientCa, crl)).clientAuth(ClientAuth.OPTIONAL);
            }
            return builder.build();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use gateway.tls.cert_file " + cert + " with gateway.tls.key_file "
                    + key + (clientCa == null ? "" : " and gateway.tls.client_ca_file " + clientCa)
                    + (crl == null ? "" : " and gateway.tls.crl_file " + crl) + ": " + e.getMessage()
                    + " (expected PEM certificates, a PEM or DER CRL and an unencrypted PKCS#8 PEM key, e.g. from openssl genpkey)", e);
        }
    }
}
