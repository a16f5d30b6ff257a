package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.mtm.api.ClusterAdminException;

public class InitPlanTest {

    @Test
    public void keepsOrderAsNodeIds() throws Exception {
        InitPlan p = InitPlan.of(List.of("dbname=mydb user=mtmuser port=5001", "dbname=mydb user=mtmuser port=5002",
            "dbname=mydb user=mtmuser port=5003"));
        assertEquals(3, p.size());
        assertEquals("dbname=mydb user=mtmuser port=5002", p.text(1));
        assertEquals(5003, p.conninfo(2).endpoint().port());
    }

    @Test
    public void needsAPeer() {
        ClusterAdminException e = assertThrows(ClusterAdminException.class, () -> InitPlan.of(List.of("port=5001")));
        assertEquals("22023", e.sqlState());
    }

    @Test
    public void refusesTheSameNodeTwice() {
        ClusterAdminException e = assertThrows(ClusterAdminException.class,
            () -> InitPlan.of(List.of("host=a port=5001 dbname=x", "dbname=x  port=5001 host=a")));
        assertTrue(e.getMessage(), e.getMessage().contains("given twice"));
    }

    @Test
    public void namesTheInvalidConninfo() {
        ClusterAdminException e = assertThrows(ClusterAdminException.class,
            () -> InitPlan.of(List.of("port=5001", "host='unterminated")));
        assertEquals("22023", e.sqlState());
        assertTrue(e.getMessage(), e.getMessage().contains("node 2"));
    }

    @Test
    public void refusesEmptyConninfo() {
        assertThrows(ClusterAdminException.class, () -> InitPlan.of(List.of("port=5001", " ")));
    }
}
