package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class GidTest {

    @Test
    public void formatsAndParses() {
        Gid g = new Gid(2, 12345, 7);
        assertEquals("MTM-2-12345-7", g.toString());
        assertEquals(g, Gid.parse("MTM-2-12345-7"));
    }

    @Test
    public void reservedPrefixIsCaseInsensitive() {
        assertTrue(Gid.isReserved("MTM-anything"));
        assertTrue(Gid.isReserved("mtm-1-2-3"));
        assertFalse(Gid.isReserved("my-gid"));
        assertFalse(Gid.isReserved(null));
    }

    @Test
    public void tryParseTellsMtmGidsFromUserGids() {
        assertEquals(new Gid(1, 5, 2), Gid.tryParse("MTM-1-5-2"));
        assertEquals(null, Gid.tryParse("my-2pc"));
        assertEquals(null, Gid.tryParse("MTM-not-a-gid"));
        assertEquals(null, Gid.tryParse(null));
    }

    @Test
    public void rejectsOtherForms() {
        assertThrows(IllegalArgumentException.class, () -> Gid.parse("MTM-1-2"));
        assertThrows(IllegalArgumentException.class, () -> Gid.parse("MTM-0-2-3"));
        assertThrows(IllegalArgumentException.class, () -> Gid.parse("X-1-2-3"));
    }
}
