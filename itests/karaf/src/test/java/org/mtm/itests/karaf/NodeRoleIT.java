package org.mtm.itests.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.mtm.testing.TestCertificates;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The data node role: feature mtm-node on the distribution, with its managed PostgreSQL, TLS on its gateway and
 * mutual TLS on its transport (certificates of a test CA, as {@code ./mtm up} makes them).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NodeRoleIT extends MtmRoleTestSupport {

    @Configuration
    @Override
    public Option[] config() {
        // in the driver JVM: openssl makes the CA and the node's certificate, the container reads the files
        try {
            Path dir = Files.createTempDirectory("mtm-paxexam-tls-");
            TestCertificates.Authority ca = TestCertificates.authority(dir, "cluster-ca");
            TestCertificates.Issued cert = ca.issueNode("node1", 1);
            String node = "etc/org.mtm.node.cfg";
            return OptionUtils.combine(super.config(),
                editConfigurationFilePut(node, "transport.tls.ca_file", ca.cert().toString()),
                editConfigurationFilePut(node, "transport.tls.cert_file", cert.cert().toString()),
                editConfigurationFilePut(node, "transport.tls.key_file", cert.key().toString()),
                editConfigurationFilePut(node, "gateway.tls.cert_file", cert.cert().toString()),
                editConfigurationFilePut(node, "gateway.tls.key_file", cert.key().toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    public void nodeRoleStartsEveryComponentAndReportsItsStatusOnConsoleAndJmx() throws Exception {
        installRole("mtm-node", bundles("org.mtm.api", "org.mtm.postgres", "org.mtm.transport", "org.mtm.consensus",
            "org.mtm.applier", "org.mtm.sequence", "org.mtm.gateway", "org.mtm.admin", "org.mtm.web"));

        String output = executeWhenRegistered("mtm:status");
        Map<String, String> status = singleRow(output);
        assertTrue("mtm:status columns of the manual (F.31.5.2) in:\n" + output, status.keySet().containsAll(
            java.util.List.of("my_node_id", "status", "connected", "gen_num", "gen_members", "gen_members_online", "gen_configured")));
        assertTrue("a status word of the manual in:\n" + output, STATUSES.contains(status.get("status")));

        Map<String, Object> mbean = readNodeMBeanRemotely("Role", "Status", "NodeId", "Generation", "ConnectedPeers");
        assertEquals("MBean Role", "node", mbean.get("Role"));
        assertTrue("MBean ConnectedPeers is a set of node ids", mbean.get("ConnectedPeers") instanceof int[]);
        // the MBean and the console read the same live state (no cluster yet: nothing changes in between)
        assertEquals("MBean Status vs mtm:status", status.get("status"), String.valueOf(mbean.get("Status")));
        assertEquals("MBean NodeId vs mtm:status", status.get("my_node_id"), String.valueOf(mbean.get("NodeId")));
        assertEquals("MBean Generation vs mtm:status", status.get("gen_num"), String.valueOf(mbean.get("Generation")));
        // the Dropwizard gauges of the admin bundle, in the JMX domain of etc/org.mtm.admin.cfg
        // (the domain is set to another value by MtmRoleTestSupport: metrics_jmx_domain is honoured)
        Map<String, Object> gauge = readMBeanRemotely(METRICS_JMX_DOMAIN + ":name=cluster.generation,*", "Value");
        assertEquals("metric cluster.generation vs MBean", String.valueOf(mbean.get("Generation")), String.valueOf(gauge.get("Value")));
    }

    /**
     * The feature brings netty-tcnative (OpenSSL, BoringSSL statically linked): netty-handler's optional import of
     * io.netty.internal.tcnative is wired, the native library loads from our fragment (mtm-tls-native) inside the container, and the
     * gateway's and the transport's TLS run on it.
     */
    @Test
    public void gatewayAndTransportTlsRunOnOpenSslInsideKaraf() throws Exception {
        installRole("mtm-node", bundles("org.mtm.api", "org.mtm.postgres", "org.mtm.transport", "org.mtm.consensus",
            "org.mtm.applier", "org.mtm.sequence", "org.mtm.gateway", "org.mtm.admin", "org.mtm.web"));
        // the native library comes from our fragment (optional native code, bundles/tls-native), not upstream's
        assertEquals("org.mtm.tls-native is attached to io.netty.tcnative-classes", Bundle.RESOLVED,
            bundle("org.mtm.tls-native").getState());
        for (Bundle b : bundleContext.getBundles()) {
            assertFalse("upstream's fragment is not installed: " + b, "io.netty.tcnative-boringssl-static".equals(b.getSymbolicName()));
        }
        Bundle handler = bundle("io.netty.handler");
        Class<?> openSsl = handler.loadClass("io.netty.handler.ssl.OpenSsl");
        assertTrue("OpenSsl.isAvailable() in the container; cause: " + openSsl.getMethod("unavailabilityCause").invoke(null),
            (Boolean) openSsl.getMethod("isAvailable").invoke(null));
        for (String metric : new String[] {"mtm.gateway.tls_openssl", "mtm.transport.tls_openssl"}) {
            Map<String, Object> gauge = await(metric + " = 1", ROLE_START,
                () -> {
                    try {
                        return readMBeanRemotely(METRICS_JMX_DOMAIN + ":name=" + metric + ",*", "Value");
                    } catch (AssertionError notYetRegistered) {
                        return null;
                    }
                },
                g -> "1".equals(String.valueOf(g.get("Value"))));
            assertEquals(metric, "1", String.valueOf(gauge.get("Value")));
        }
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : bundleContext.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }
}
