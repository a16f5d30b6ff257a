package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class SequenceFloorsTest {
    @Test
    public void keepsTheLargestIntegerPerSequenceInOneCall() {
        SequenceFloors f = new SequenceFloors();
        assertTrue(f.isEmpty());
        f.written("public.t_id_seq", "7");
        f.written("public.t_id_seq", "4");
        f.written("\"S\".\"it's\"", "12345678901234567890");
        f.written("public.t_id_seq", "not a number");
        assertEquals("SELECT mtm.advance_sequences(ARRAY['\"S\".\"it''s\"', 'public.t_id_seq']::pg_catalog.text[],"
                + " ARRAY[12345678901234567890, 7]::pg_catalog.numeric[])", f.advanceSql());
        f.clear();
        assertTrue(f.isEmpty());
    }
}
