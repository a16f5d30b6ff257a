package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;

import java.util.List;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import org.junit.Test;
import org.mtm.api.InDoubtTransactions;

public class InDoubtTableTest {

    @Test
    public void rowsBecomeOpenDataKeyedByGid() throws Exception {
        TabularData table = InDoubtTable.of(List.of(
            new InDoubtTransactions.Row("MTM-2-17-7", 2, 7, "precommitted", "2026-12-05 14:00:00+00", 12_345),
            new InDoubtTransactions.Row("MTM-3-4-7", 3, 7, "prepared", "2026-12-05 14:00:01+00", 5)));
        assertEquals(2, table.size());
        CompositeData row = table.get(new Object[] {"MTM-2-17-7"});
        assertEquals(2, row.get("origin_node"));
        assertEquals(7L, row.get("generation"));
        assertEquals("precommitted", row.get("state"));
        assertEquals(12_345L, row.get("age_ms"));
    }

    @Test
    public void ageReadsInSecondsWithMilliseconds() {
        assertEquals("12.345 s", new InDoubtTransactions.Row("g", 1, 1, "prepared", "", 12_345).age());
        assertEquals("0.005 s", new InDoubtTransactions.Row("g", 1, 1, "prepared", "", 5).age());
    }
}
