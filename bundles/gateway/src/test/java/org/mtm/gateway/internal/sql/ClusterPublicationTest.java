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

    /** psql 15's table query of {@code \d+ t} (psql -E). */
    private static final String PSQL_TABLE = "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers,"
            + " c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string("
            + "c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')\n, c.reltablespace,"
            + " CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END,"
            + " c.relpersistence, c.relreplident, am.amname\nFROM pg_catalog.pg_class c\n LEFT JOIN pg_catalog.pg_class tc"
            + " ON (c.reltoastrelid = tc.oid)\nLEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)\nWHERE c.oid = '16435';";

    @Test
    public void psqlsTableQueryReadsTheReplicaIdentityTheClusterSetAsTheDefault() {
        String shown = ClusterPublication.replicaIdentityAsPostgres(PSQL_TABLE);
        assertEquals(PSQL_TABLE.replace(" c.relreplident,", " CASE WHEN c.relreplident = 'f' AND EXISTS (SELECT 1 FROM"
                + " mtm.replica_identity_full f WHERE f.relid OPERATOR(pg_catalog.=) c.oid) THEN 'd'::pg_catalog.\"char\""
                + " ELSE c.relreplident END,"), shown);
        assertNull(ClusterPublication.replicaIdentityAsPostgres("SELECT c.relreplident FROM pg_catalog.pg_class c"));
        assertNull(ClusterPublication.replicaIdentityAsPostgres(" " + PSQL_TABLE));
        assertNull(ClusterPublication.hidden(PSQL_TABLE));
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
