package org.mtm.itests.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * The referee role: feature mtm-referee, no consensus, applier, sequence or gateway. Its configuration files come with
 * the features ({@code <configfile>}): removed from etc/ before the install, they are there again after it, as a stock
 * Karaf that installs the features gets them.
 *
 * <p>They are removed through ConfigAdmin, not by deleting the files: fileinstall, seeing a file gone at its next poll,
 * deletes the configuration and then, on the configuration's deletion event, the file of that name — the one the
 * feature's install may have written meanwhile (the test failed that way in CI once). Deleting the configuration and
 * waiting until fileinstall has deleted the file leaves no such event pending.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RefereeRoleIT extends MtmRoleTestSupport {

    @Test
    public void refereeRoleStartsEveryComponentAndAnswersOnConsoleAndJmx() throws Exception {
        Path etc = Path.of(System.getProperty("karaf.etc"));
        Path referee = etc.resolve("org.mtm.referee.cfg"); // mtm-referee's own
        Path multimaster = etc.resolve("org.mtm.multimaster.cfg"); // mtm-core's
        Path commandAcl = etc.resolve("org.apache.karaf.command.acl.mtm.cfg"); // mtm-core's
        Path jmxAcl = etc.resolve("jmx.acl.org.mtm.cfg"); // mtm-core's
        // (not org.mtm.node.cfg and org.mtm.admin.cfg: they carry this test's settings)
        for (Path file : new Path[] {referee, multimaster, commandAcl, jmxAcl}) {
            removeConfiguration(file);
        }
        installRole("mtm-referee", bundles("org.mtm.api", "org.mtm.postgres", "org.mtm.transport", "org.mtm.referee", "org.mtm.admin"));

        assertTrue("mtm-referee's <configfile> wrote " + referee, Files.readString(referee).contains("decision_timeout = 5000"));
        assertTrue("mtm-core's <configfile> wrote " + multimaster,
            Files.readString(multimaster).contains("heartbeat_recv_timeout = 2000"));
        assertTrue("mtm-core's <configfile> wrote " + commandAcl, Files.readString(commandAcl).contains("drop-node = admin"));
        assertTrue("mtm-core's <configfile> wrote " + jmxAcl, Files.readString(jmxAcl).contains("ping = viewer"));

        String output = executeWhenRegistered("mtm:status");
        assertFalse("mtm:status printed nothing", output.isBlank());
        assertFalse("mtm:status failed:\n" + output, output.contains("Error executing command"));

        assertTrue("mtm:status on a referee says so:\n" + output, output.contains("referee"));
        // read through mtm.referee_grant(): the role installed the functions data nodes call in its PostgreSQL
        assertTrue("the referee's grant, read from its PostgreSQL:\n" + output, output.contains("grant: none"));

        Map<String, Object> mbean = readNodeMBeanRemotely("Role", "Status");
        assertEquals("MBean Role", "referee", mbean.get("Role"));
        assertNotNull("MBean Status", mbean.get("Status"));
    }

    /** Deletes the configuration fileinstall loaded from {@code file} and waits until fileinstall has deleted the file. */
    private void removeConfiguration(Path file) throws Exception {
        String name = file.getFileName().toString();
        String pid = name.substring(0, name.length() - ".cfg".length());
        org.osgi.service.cm.Configuration[] found = configurationAdmin.listConfigurations("(service.pid=" + pid + ")");
        assertNotNull("configuration " + pid + " loaded from " + file, found);
        for (org.osgi.service.cm.Configuration configuration : found) {
            configuration.delete();
        }
        await("fileinstall deletes " + file + " after its configuration was deleted", Duration.ofSeconds(30),
            () -> !Files.exists(file), Boolean::booleanValue);
    }
}
