package org.mtm.itests.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** A node made from the provisioned template: the configuration admin's store names the node's folder, not the template's. */
public class ProvisionedTemplateTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void theCopysStoredConfigurationsNameItsOwnFolder() throws Exception {
        Path root = tmp.getRoot().toPath();
        // the template was made in .karaf-template-making and then renamed; the store still names the first folder
        Path making = root.resolve(".karaf-template-making");
        Path template = root.resolve(".karaf-template-1-2");
        Path config = template.resolve("data/cache/bundle13/data/config/org/apache/karaf/shell.config");
        Files.createDirectories(config.getParent());
        Files.writeString(config, "felix.fileinstall.filename=\"file:" + making + "/etc/org.apache.karaf.shell.cfg\"\n"
            + "hostKey=\"" + making + "/etc/host.key\"\nsshPort=\"30001\"\n");
        Path state = template.resolve("data/cache/bundle19/data/state.json");
        Files.createDirectories(state.getParent());
        Files.writeString(state, "{\"bootDone\":true}");
        Files.createDirectories(template.resolve("etc"));
        Files.writeString(template.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort=8101\n");

        Path home = root.resolve("node1");
        Files.createDirectories(home);
        ProvisionedTemplate.copy(template, home);

        String copied = Files.readString(home.resolve("data/cache/bundle13/data/config/org/apache/karaf/shell.config"));
        assertFalse(copied, copied.contains(making.toString()));
        assertTrue(copied, copied.contains("felix.fileinstall.filename=\"file:" + home + "/etc/org.apache.karaf.shell.cfg\""));
        assertTrue(copied, copied.contains("hostKey=\"" + home + "/etc/host.key\""));
        assertTrue(copied, copied.contains("sshPort=\"30001\""));
        assertEquals("{\"bootDone\":true}", Files.readString(home.resolve("data/cache/bundle19/data/state.json")));
        assertEquals("sshPort=8101\n", Files.readString(home.resolve("etc/org.apache.karaf.shell.cfg")));
        assertTrue("the template stays as it was", Files.readString(config).contains(making.toString()));
    }
}
