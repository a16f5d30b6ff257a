package org.mtm.transport.internal;

import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * The TLS implementation of the transport's peer connections (mutual TLS): OpenSSL (BoringSSL, statically linked into
 * netty-tcnative-boringssl-static, which the mtm-libraries feature installs) when its native library loads in this
 * JVM, else the JDK's {@code SSLEngine}. OpenSSL costs less CPU per record (issue 10: the JDK's engine was ~40 % of
 * the transport's Java samples per commit). Both use Netty's default protocols (TLS 1.3 and 1.2) and cipher suites;
 * BoringSSL also offers TLS 1.3's ChaCha20-Poly1305, which it does not let be disabled. Netty loads the library once
 * per JVM, so the choice is made once and logged once, at the first context built.
 */
final class TlsProvider {
    private static final Logger LOG = LoggerFactory.getLogger(TlsProvider.class);
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private TlsProvider() {
    }

    /** {@link SslProvider#OPENSSL} when netty-tcnative's library is loaded here, else {@link SslProvider#JDK}. */
    static SslProvider current() {
        SslProvider provider = choose(OpenSsl.isAvailable());
        if (LOGGED.compareAndSet(false, true)) {
            if (provider == SslProvider.OPENSSL) {
                LOG.info("node-to-node TLS runs on OpenSSL: {} through netty-tcnative", OpenSsl.versionString());
            } else {
                Throwable cause = OpenSsl.unavailabilityCause();
                LOG.info("node-to-node TLS runs on the JDK's SSLEngine: netty-tcnative (OpenSSL) is not available here ({})",
                        cause == null ? "no cause given" : cause.toString());
            }
        }
        return provider;
    }

    static SslProvider choose(boolean openSslAvailable) {
        return openSslAvailable ? SslProvider.OPENSSL : SslProvider.JDK;
    }
}
