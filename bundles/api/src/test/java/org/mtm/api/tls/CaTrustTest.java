package org.mtm.api.tls;

import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.X509TrustManager;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.mtm.testing.TestCertificates;
import org.mtm.testing.TestCertificates.Authority;
import org.mtm.testing.TestCertificates.Issued;

/** Real certificates and CRLs made by openssl, checked as a TLS peer's would be. */
public class CaTrustTest {
    @ClassRule
    public static final TemporaryFolder DIR = new TemporaryFolder();

    private static X509Certificate[] chain(Issued issued) throws Exception {
        try (InputStream in = Files.newInputStream(issued.cert())) {
            return new X509Certificate[] {(X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)};
        }
    }

    private static X509TrustManager trust(Authority ca, Path crl) {
        return (X509TrustManager) CaTrust.of(ca.cert(), crl).getTrustManagers()[0];
    }

    @Test
    public void aRevokedCertificateIsRefusedTheOthersOfTheCaAccepted() throws Exception {
        Authority ca = TestCertificates.authority(DIR.newFolder().toPath(), "ca");
        Issued good = ca.issueLocal("good");
        Issued revoked = ca.issueLocal("revoked");
        Path crl = ca.revocationList(DIR.getRoot().toPath().resolve("ca.crl"), revoked);

        X509TrustManager withList = trust(ca, crl);
        withList.checkClientTrusted(chain(good), "EC");
        withList.checkServerTrusted(chain(good), "ECDHE_ECDSA");
        CertificateException e = assertThrows(CertificateException.class, () -> withList.checkClientTrusted(chain(revoked), "EC"));
        assertTrue(e.toString(), e.toString().toLowerCase().contains("revoked"));
        assertThrows(CertificateException.class, () -> withList.checkServerTrusted(chain(revoked), "ECDHE_ECDSA"));

        trust(ca, null).checkClientTrusted(chain(revoked), "EC"); // no list: the CA's signature is enough
    }

    @Test
    public void anotherCasListOrNoListIsNotAccepted() throws Exception {
        Authority ca = TestCertificates.authority(DIR.newFolder().toPath(), "ca");
        Authority other = TestCertificates.authority(DIR.newFolder().toPath(), "other");
        Path otherList = other.revocationList(DIR.newFolder().toPath().resolve("other.crl"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CaTrust.of(ca.cert(), otherList));
        assertTrue(e.getMessage(), e.getMessage().contains("is not one of the CA file's"));
        Path notAList = ca.cert();
        assertThrows(IllegalArgumentException.class, () -> CaTrust.of(ca.cert(), notAList));
    }
}
