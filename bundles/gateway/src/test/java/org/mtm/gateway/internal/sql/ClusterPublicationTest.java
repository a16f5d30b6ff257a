package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import org.junit.Test;

public class ClusterPublicationTest {
    /** psql 15's publication list of {@code \d+ t} (psql -E), the FOR ALL TABLES branch last. */
    private static final String PSQL = "SELECT pubname\n     , NULL\n     , NULL\nFROM pg_catalog.pg_publication p\n"
            + "     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid\n"
            + "     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid\n"
            + "WHERE pc.oid ='16389' and pg_catalog.pg_relation_is_publishable('16389')\nUNION\n"
            + "SELECT pubname\n     , NULL\n     , NULL\nFROM pg_catalog.pg_publication p\n"
            + "WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('16389')\nORDER BY 1;";

    @Test
    public void psqlsListOfATablesPublicationsLeavesTheClustersOut() {
        assertEquals(PSQL.replace("WHERE p.puballtables", "WHERE p.pubname OPERATOR(pg_catalog.<>) 'mtm_publication' AND p.puballtables"),
                ClusterPublication.hidden(PSQL));
    }

    @Test
    public void anyOtherQueryIsLeftAlone() {
        assertNull(ClusterPublication.hidden("SELECT 1"));
        assertNull(ClusterPublication.hidden("SELECT * FROM pg_catalog.pg_publication"));
        assertNull(ClusterPublication.hidden("SELECT pubname FROM pg_catalog.pg_publication p\n"
                + "WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('1')"));
        assertNull(ClusterPublication.hidden(" " + PSQL));
        assertNull(ClusterPublication.hidden(PSQL.replace("p.puballtables", "p.puballtables\n")));
    }
}
