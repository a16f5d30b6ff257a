package org.mtm.sequence.internal;

import static org.junit.Assert.assertEquals;

import java.math.BigDecimal;
import org.junit.Test;

public class StrideStatementTest {

    @Test
    public void floorIsTheLargestValueAnyNodeHandedOut() {
        StrideStatement s = new StrideStatement();
        s.lastValue("public.t_id_seq", new BigDecimal(7));
        s.lastValue("public.\"it's\"", new BigDecimal(3));
        s.lastValue("public.t_id_seq", new BigDecimal(40));
        s.lastValue("public.t_id_seq", new BigDecimal(12));
        assertEquals("SELECT pg_catalog.count(*) FROM mtm.stride_sequences(ARRAY['public.\"it''s\"', 'public.t_id_seq']"
                + "::pg_catalog.text[], ARRAY[3, 40]::pg_catalog.numeric[])", s.sql());
    }

    @Test
    public void noSequencesStillStridesWhatAppearsOnlyInRows() {
        assertEquals("SELECT pg_catalog.count(*) FROM mtm.stride_sequences(ARRAY[]::pg_catalog.text[], ARRAY[]::pg_catalog.numeric[])",
                new StrideStatement().sql());
    }
}
