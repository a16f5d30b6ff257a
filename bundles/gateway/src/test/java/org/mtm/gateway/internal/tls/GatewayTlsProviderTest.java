package org.mtm.gateway.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import javax.net.ssl.SSLEngine;

import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.mtm.testing.TestCertificates;
import org.mtm.testing.TestCertificates.Authority;
import org.mtm.testing.TestCertificates.Issued;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * The gateway's TLS runs on OpenSSL (netty-tcnative's BoringSSL) where its native library loads — on this build's
 * platform, linux-x86_64, it must — with the protocols and cipher suites the JDK's engine offered before, and falls
 * back to the JDK's engine otherwise.
 */
public class GatewayTlsProviderTest {
    @ClassRule
    public static final TemporaryFolder DIR = new TemporaryFolder();

    private static Authority ca;
    private static Issued cert;

    @BeforeClass
    public static void certificates() throws IOException {
        Path dir = DIR.newFolder("tls").toPath();
        ca = TestCertificates.authority(dir, "client-ca");
        cert = ca.issueLocal("gateway");
    }

    @Test
    public void openSslLoadsFromTheTcnativeJar() {
        assertTrue("netty-tcnative-boringssl-static (linux-x86_64) on the class path loads: " + OpenSsl.unavailabilityCause(),
                OpenSsl.isAvailable());
        assertEquals(SslProvider.OPENSSL, TlsProvider.current());
    }

    @Test
    public void contextsRunOnOpenSslWithAndWithoutClientCertificates() {
        GatewayTls plain = GatewayTls.of(new GatewayTls.Settings(cert.cert().toString(), cert.key().toString(), false));
        assertTrue("context " + plain.context().getClass(), plain.context() instanceof ReferenceCountedOpenSslContext);
        assertEquals(SslProvider.OPENSSL, plain.provider());
        assertTrue(plain.context().isServer());

        GatewayTls clientCerts = GatewayTls.of(new GatewayTls.Settings(cert.cert().toString(), cert.key().toString(), false,
                ca.cert().toString(), "verify-full"));
        assertTrue("context " + clientCerts.context().getClass(), clientCerts.context() instanceof ReferenceCountedOpenSslContext);
        assertEquals(SslProvider.OPENSSL, clientCerts.provider());
    }

    @Test
    public void openSslOffersTheProtocolsAndCipherSuitesTheJdkEngineOffered() throws IOException {
        SslContext jdk = SslContextBuilder.forServer(new File(cert.cert().toString()), new File(cert.key().toString()))
                .sslProvider(SslProvider.JDK).build();
        assertTrue(jdk instanceof JdkSslContext);
        SSLEngine before = jdk.newEngine(ByteBufAllocator.DEFAULT);
        SSLEngine after = GatewayTls.of(new GatewayTls.Settings(cert.cert().toString(), cert.key().toString(), false))
                .context().newEngine(ByteBufAllocator.DEFAULT);
        // SSLv2Hello is a ClientHello format Netty always lists for OpenSSL, not a protocol version
        assertEquals(Set.of("TLSv1.3", "TLSv1.2"), without(after.getEnabledProtocols(), "SSLv2Hello"));
        assertEquals(new TreeSet<>(Arrays.asList(before.getEnabledProtocols())), without(after.getEnabledProtocols(), "SSLv2Hello"));
        // BoringSSL always offers TLS 1.3's ChaCha20-Poly1305 (it cannot be disabled there); the rest is the same list
        assertEquals(new TreeSet<>(Arrays.asList(before.getEnabledCipherSuites())),
                without(after.getEnabledCipherSuites(), "TLS_CHACHA20_POLY1305_SHA256"));
    }

    @Test
    public void withoutOpenSslTheJdkEngineIsUsed() {
        assertEquals(SslProvider.JDK, TlsProvider.choose(false));
        assertEquals(SslProvider.OPENSSL, TlsProvider.choose(true));
    }

    private static TreeSet<String> without(String[] values, String left) {
        TreeSet<String> set = new TreeSet<>(List.of(values));
        set.remove(left);
        return set;
    }
}
