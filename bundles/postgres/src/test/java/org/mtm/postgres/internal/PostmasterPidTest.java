package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;

public class PostmasterPidTest {

    @Test
    public void parsesTheLockFile() {
        String text = "4242\n/tmp/x/data\n1716200000\n54321\n\n127.0.0.1\n  1234567     98304\nready   \n";
        PostmasterPid p = PostmasterPid.parse(text).orElseThrow();
        assertEquals(4242, p.pid());
        assertEquals("/tmp/x/data", p.dataDir());
        assertEquals(54321, p.port());
        assertEquals("127.0.0.1", p.listenAddress());
        assertTrue(p.ready());
        assertFalse(PostmasterPid.parse(text.replace("ready   ", "starting")).orElseThrow().ready());
    }

    @Test
    public void incompleteFileIsNotYetAServer() {
        assertEquals(Optional.empty(), PostmasterPid.parse("4242\n/tmp/x/data\n"));
        assertEquals(Optional.empty(), PostmasterPid.parse(""));
        assertEquals(Optional.empty(), PostmasterPid.parse(null));
        assertEquals(Optional.empty(), PostmasterPid.parse("x\n/d\n1\n2\n"));
    }
}
