package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class RunAsTest {
    private static final List<String> PG_CTL = List.of("/usr/lib/postgresql/15/bin/pg_ctl", "status", "--pgdata=/d");

    @Test
    public void rootRunsTheToolsAsPostgresThroughRunuser() {
        RunAs as = RunAs.decide(null, "root", true, "postgres", "/usr/sbin/runuser", "/usr/bin/setpriv");
        assertEquals("postgres", as.user());
        assertEquals(RunAs.Switch.RUNUSER, as.how());
        assertTrue(as.switchesUser());
        assertEquals(List.of("/usr/sbin/runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl",
                "status", "--pgdata=/d"), as.wrap(PG_CTL));
    }

    @Test
    public void setprivWhenRunuserIsMissing() {
        RunAs as = RunAs.decide("pgowner", "root", true, "pggroup", null, "/usr/bin/setpriv");
        assertEquals(List.of("/usr/bin/setpriv", "--reuid=pgowner", "--regid=pggroup", "--init-groups", "--",
                "/usr/lib/postgresql/15/bin/pg_ctl", "status", "--pgdata=/d"), as.wrap(PG_CTL));
        assertTrue(assertThrows(IllegalStateException.class,
                () -> RunAs.decide("", "root", true, "g", null, null)).getMessage().contains("install util-linux"));
    }

    @Test
    public void rootItselfIsRefused() {
        assertTrue(assertThrows(IllegalStateException.class,
                () -> RunAs.decide("root", "root", true, "root", "/usr/sbin/runuser", null))
                .getMessage().contains("refuses to run as root"));
    }

    @Test
    public void nonRootRunsTheToolsDirectly() {
        RunAs as = RunAs.decide("", "alice", false, null, "/usr/sbin/runuser", null);
        assertEquals("alice", as.user());
        assertFalse(as.switchesUser());
        assertEquals(PG_CTL, as.wrap(PG_CTL));
        assertEquals(RunAs.Switch.DIRECT, RunAs.decide("alice", "alice", false, null, null, null).how());
        assertTrue(assertThrows(IllegalStateException.class,
                () -> RunAs.decide("postgres", "alice", false, null, "/usr/sbin/runuser", null))
                .getMessage().contains("this JVM runs as 'alice', not root"));
    }
}
