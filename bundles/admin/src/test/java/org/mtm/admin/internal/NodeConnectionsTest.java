package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.net.ServerSocket;
import org.junit.Test;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.Conninfo;

public class NodeConnectionsTest {

    @Test
    public void anUnreachableNodeIsNamedWithItsConninfoAndNeverItsPassword() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed below: nothing listens there
        }
        Conninfo info = Conninfo.parse("host=127.0.0.1 port=" + port + " dbname=mydb user=mtmuser"
            + " password=s3cret-Word connect_timeout=2");
        try {
            NodeConnections.open(info, 4).close();
            fail("connected to a port nothing listens on");
        } catch (ClusterAdminException e) {
            assertEquals("08001", e.sqlState());
            assertTrue(e.getMessage(), e.getMessage().startsWith("cannot connect to node 4 (host=127.0.0.1 port=" + port));
            assertTrue(e.getMessage(), e.getMessage().contains("password=********"));
            assertFalse(e.getMessage(), e.getMessage().contains("s3cret-Word"));
        }
    }
}
