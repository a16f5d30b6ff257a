package org.mtm.itests.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The data node role: feature mtm-node on the distribution, with its managed PostgreSQL. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NodeRoleIT extends MtmRoleTestSupport {

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
}
