package org.mtm.api.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CRL;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * Trust in the certificates a CA signed (a PEM file of one or more CA certificates), minus those its certificate
 * revocation list (a PEM or DER CRL file, as {@code openssl ca -gencrl} writes) revokes — PostgreSQL's
 * {@code ssl_ca_file} with {@code ssl_crl_file}. With a CRL every peer certificate is checked against it: one it
 * lists is refused, and so is every one when the CRL is not the CA's, does not verify, or is past its next update
 * (the revocation status is then unknown, as OpenSSL decides).
 */
public final class CaTrust {
    private CaTrust() {
    }

    /**
     * @param crlFile null: no revocation checking
     * @throws IllegalArgumentException naming the file when it cannot be used
     */
    public static TrustManagerFactory of(Path caFile, Path crlFile) {
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            Set<TrustAnchor> anchors = new HashSet<>();
            for (Certificate c : read(x509, caFile)) {
                anchors.add(new TrustAnchor((X509Certificate) c, null));
            }
            if (anchors.isEmpty()) {
                throw new IllegalArgumentException("CA file " + caFile + " holds no certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            if (crlFile == null) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                int i = 0;
                for (TrustAnchor a : anchors) {
                    ks.setCertificateEntry("ca-" + i++, a.getTrustedCert());
                }
                tmf.init(ks);
                return tmf;
            }
            Collection<? extends CRL> crls;
            try (InputStream in = Files.newInputStream(crlFile)) {
                crls = x509.generateCRLs(in);
            }
            if (crls.isEmpty()) {
                throw new IllegalArgumentException("CRL file " + crlFile + " holds no certificate revocation list");
            }
            for (CRL crl : crls) {
                X509CRL x = (X509CRL) crl;
                if (anchors.stream().noneMatch(a -> a.getTrustedCert().getSubjectX500Principal().equals(x.getIssuerX500Principal()))) {
                    throw new IllegalArgumentException("CRL file " + crlFile + ": the list of " + x.getIssuerX500Principal()
                            + " is not one of the CA file's (" + caFile + ")");
                }
            }
            PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls)));
            PKIXRevocationChecker revocation = (PKIXRevocationChecker) CertPathBuilder.getInstance("PKIX").getRevocationChecker();
            // the CRL file alone: no OCSP, no fetching from distribution points
            revocation.setOptions(EnumSet.of(PKIXRevocationChecker.Option.PREFER_CRLS, PKIXRevocationChecker.Option.NO_FALLBACK));
            params.addCertPathChecker(revocation);
            params.setRevocationEnabled(true);
            tmf.init(new CertPathTrustManagerParameters(params));
            return tmf;
        } catch (IOException | GeneralSecurityException | ClassCastException e) {
            throw new IllegalArgumentException("cannot use CA file " + caFile + (crlFile == null ? "" : " with CRL file " + crlFile)
                    + ": " + e.getMessage(), e);
        }
    }

    private static Collection<? extends Certificate> read(CertificateFactory x509, Path file) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(file)) {
            return x509.generateCertificates(in);
        }
    }

}
