package org.mtm.transport.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.TreeSet;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.mtm.testing.TestCertificates;
import org.mtm.testing.TestCertificates.Authority;

/** Which node a transport certificate names: its subjectAltName URIs urn:mtm:node:<id>, nothing else. */
public class NodeCertificateTest {
    @ClassRule
    public static final TemporaryFolder DIR = new TemporaryFolder();
    private static Authority ca;

    @BeforeClass
    public static void authority() throws Exception {
        ca = TestCertificates.authority(DIR.newFolder("ca").toPath(), "ca");
    }

    private static X509Certificate issue(String name, String... sans) throws Exception {
        Path crt = ca.issue(name, sans).cert();
        try (InputStream in = Files.newInputStream(crt)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    @Test
    public void theNodeIdsOfTheUris() throws Exception {
        assertEquals(new TreeSet<>(List.of(2)), NodeCertificate.nodeIds(issue("a", "DNS:localhost", "URI:urn:mtm:node:2")));
        assertEquals(new TreeSet<>(List.of(1, 7)),
            NodeCertificate.nodeIds(issue("b", "URI:urn:mtm:node:7", "URI:URN:MTM:NODE:1")));
        // a CN or a host name that looks like a node, another URI, a non-number, zero: no node
        assertTrue(NodeCertificate.nodeIds(issue("node2", "DNS:node2", "URI:urn:mtm:nodes:2", "URI:urn:mtm:node:x",
            "URI:urn:mtm:node:0", "URI:https://node/2")).isEmpty());
    }

    @Test
    public void refusalNamesWhatTheCertificateIsAndWhatItNeeds() throws Exception {
        X509Certificate three = issue("node3", "URI:urn:mtm:node:3");
        assertNull(NodeCertificate.refusal(new Certificate[] {three}, 3));
        assertEquals("TLS: the peer's certificate (CN=node3) is node 3's, not node 2's: a node's certificate must name it "
            + "in a subjectAltName URI:urn:mtm:node:2", NodeCertificate.refusal(new Certificate[] {three}, 2));
        assertEquals("TLS: the peer presented no certificate, so it cannot be node 2", NodeCertificate.refusal(null, 2));
    }
}
