package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.sql.SQLException;
import org.junit.Test;

public class WalGoneTest {

    @Test
    public void theWalsendersWordsForWalThatIsGone() {
        assertTrue(WalGone.saysGone("58P01", "requested WAL segment 000000010000000000000003 has already been removed"));
        // PostgreSQL 13-15 and 16+ word the refusal of an invalidated slot differently
        assertTrue(WalGone.saysGone("55000", "cannot read from logical replication slot \"mtm_slot_3\""
            + "\n  Detail: This slot has been invalidated because it exceeded the maximum reserved size."));
        assertTrue(WalGone.saysGone("55000", "can no longer get changes from replication slot \"mtm_slot_3\""));
    }

    @Test
    public void otherFailuresAreRetriedNotTakenForWalGone() {
        assertFalse("the donor is down", WalGone.saysGone("08001", "Connection to 127.0.0.1:5433 refused"));
        assertFalse("the slot is in use by the old session", WalGone.saysGone("55006",
            "replication slot \"mtm_slot_3\" is active for PID 1234"));
        assertFalse("another missing file", WalGone.saysGone("58P01", "could not open file \"base/1/2\""));
        assertFalse(WalGone.saysGone(null, null));
    }

    @Test
    public void foundInTheCauses() {
        assertTrue(WalGone.saysGone(new RuntimeException(new SQLException("requested WAL segment x has already been removed",
            "58P01"))));
        assertTrue("a commit whose body precedes the slot", WalGone.saysGone(new WalGone("donor 1 committed ...")));
        assertFalse(WalGone.saysGone(new IllegalStateException("test")));
    }

    @Test
    public void theDonorsSlotSays() {
        assertEquals("replication slot mtm_slot_3 does not exist", WalGone.fromSlot("mtm_slot_3", false, null));
        assertTrue(WalGone.fromSlot("mtm_slot_3", true, "lost").contains("invalidated"));
        assertNull(WalGone.fromSlot("mtm_slot_3", true, "reserved"));
        assertNull(WalGone.fromSlot("mtm_slot_3", true, "extended"));
        assertNull("not removed yet", WalGone.fromSlot("mtm_slot_3", true, "unreserved"));
    }
}
