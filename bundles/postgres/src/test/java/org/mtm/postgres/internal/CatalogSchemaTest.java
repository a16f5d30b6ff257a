package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class CatalogSchemaTest {

    @Test
    public void scriptSplitsIntoStatementsWithoutComments() {
        assertEquals(List.of("CREATE SCHEMA a", "CREATE TABLE a.t (\n    x int \n)"),
                CatalogSchema.statements("-- header\nCREATE SCHEMA a;\n\n-- t\nCREATE TABLE a.t (\n    x int -- why\n);\n"));
    }

    @Test
    public void dollarQuotedBodiesStayWhole() {
        List<String> s = CatalogSchema.statements("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
            + "BEGIN\n  RETURN 1; -- kept\nEND\n$fn$;\nSELECT 1;\n");
        assertEquals(2, s.size());
        assertTrue(s.get(0), s.get(0).contains("RETURN 1; -- kept") && s.get(0).endsWith("$fn$"));
        assertEquals("SELECT 1", s.get(1));
    }

    @Test
    public void bundledSchemaHasTheCatalogTables() throws Exception {
        String script = new String(CatalogSchema.class.getResourceAsStream("schema.sql").readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
        List<String> statements = CatalogSchema.statements(script);
        assertEquals(75, statements.size());
        assertTrue("a LIKE of a temporary table is replicated (mtm.like_text) instead of refused", statements.contains(
                "DROP FUNCTION IF EXISTS mtm.refuse_node_local_like(text[])"));
        assertTrue("a voter's yes to a change of the configured set is durable (mtm.drop_node)", statements.contains(
                "ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS vote_configured bigint"));
        assertTrue("the number a change was accepted at, which a change election's first phase learns (issue 11)",
                statements.contains("ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS vote_accepted_in bigint"));
        assertTrue("a node disabled for good keeps its reason across restarts", statements.contains(
                "ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS disabled_because text"));
        assertEquals("CREATE SCHEMA IF NOT EXISTS mtm", statements.get(0));
        assertTrue("in-doubt transactions listed (issue 13)", statements.contains("GRANT SELECT ON mtm.in_doubt TO PUBLIC"));
        for (String table : List.of("cluster_nodes", "join_pending", "endpoints", "generation_state", "local_tables", "transactions", "applied_xacts")) {
            assertTrue(table, statements.stream().anyMatch(s -> s.startsWith("CREATE TABLE IF NOT EXISTS mtm." + table + " (")));
        }
        assertTrue("the event triggers that refuse DDL the gateway did not announce", statements.stream().anyMatch(s ->
                s.contains("mtm.ensure_event_trigger('mtm_refuse_unannounced_ddl', 'ddl_command_end', 'mtm.refuse_unannounced_ddl', NULL, true)")
                && s.contains("mtm.ensure_event_trigger('mtm_refuse_unannounced_drop', 'sql_drop', 'mtm.refuse_unannounced_ddl', NULL, true)")));
        for (String trigger : List.of("mtm_refuse_routine_on_stand_in", "mtm_refuse_unwritable_column")) {
            assertTrue(trigger, statements.stream().anyMatch(s -> s.startsWith("SELECT mtm.ensure_event_trigger('" + trigger
                + "', 'ddl_command_end'")));
        }
        assertTrue("the stand-in schema made with the TEMPORARY privilege, as PostgreSQL's temporary schema", statements.stream()
                .anyMatch(s -> s.startsWith("CREATE OR REPLACE FUNCTION mtm.stand_in_schema(schema text, role name)")));
        assertTrue("DISCARD of a session's stand-ins, whose schema is the cluster user's", statements.stream()
                .anyMatch(s -> s.startsWith("CREATE OR REPLACE FUNCTION mtm.drop_stand_in_schema(schema text)")));
        assertTrue("the event trigger that strides new sequences, also in the appliers and for CREATE SCHEMA's tables",
                statements.stream().anyMatch(s -> s.contains("mtm.ensure_event_trigger('mtm_stride_sequences', 'ddl_command_end'")
                && s.contains("'ALTER TABLE', 'CREATE SCHEMA'],\n") && s.contains("true) THEN")));
    }
}
