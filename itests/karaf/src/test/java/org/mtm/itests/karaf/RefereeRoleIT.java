package org.mtm.itests.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The referee role: feature mtm-referee, no consensus, applier, sequence or gateway. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RefereeRoleIT extends MtmRoleTestSupport {

    @Test
    public void refereeRoleStartsEveryComponentAndAnswersOnConsoleAndJmx() throws Exception {
        installRole("mtm-referee", bundles("org.mtm.api", "org.mtm.postgres", "org.mtm.transport", "org.mtm.referee", "org.mtm.admin"));

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
}
