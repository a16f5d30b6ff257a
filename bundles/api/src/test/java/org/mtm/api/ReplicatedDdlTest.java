package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.Arrays;
import org.junit.Test;

public class ReplicatedDdlTest {

    @Test
    public void roundTrips() {
        ReplicatedDdl d = new ReplicatedDdl("\"$user\", public", "mtmuser", "CREATE TABLE t (id int primary key, v text DEFAULT 'ü')");
        assertEquals(d, ReplicatedDdl.decode(d.encode()));
    }

    @Test
    public void aCreatedTableTravelsInVersion2AndVersion1StaysAsItWas() {
        ReplicatedDdl ctas = new ReplicatedDdl("public", "r", "CREATE TABLE t AS SELECT random()", "app.\"T\"");
        byte[] b = ctas.encode();
        assertEquals(2, b[0]);
        assertEquals(ctas, ReplicatedDdl.decode(b));
        assertEquals(true, ReplicatedDdl.decode(b).carriesRows());
        ReplicatedDdl plain = new ReplicatedDdl("public", "r", "DROP TABLE x");
        assertEquals(1, plain.encode()[0]);
        assertEquals(false, ReplicatedDdl.decode(plain.encode()).carriesRows());
        assertEquals("", ReplicatedDdl.decode(plain.encode()).created());
    }

    @Test
    public void carriedSettingsTravelInVersion3() {
        ReplicatedDdl d = new ReplicatedDdl("public", "r", "CREATE TABLE t (d date DEFAULT '01/02/2020')", "",
            "{\"DateStyle\" : \"SQL, DMY\", \"default_table_access_method\" : \"heap2\"}");
        byte[] b = d.encode();
        assertEquals(3, b[0]);
        assertEquals(d, ReplicatedDdl.decode(b));
        assertEquals(false, ReplicatedDdl.decode(b).carriesRows());
        IllegalArgumentException newer = assertThrows(IllegalArgumentException.class,
            () -> ReplicatedDdl.decode(new byte[] {4, 0, 0, 0, 0}));
        assertEquals("DDL message version 4, expected 1 to 3 (a node of a newer mtm? update this node's bundles)",
            newer.getMessage());
    }

    @Test
    public void rejectsTruncated() {
        byte[] b = new ReplicatedDdl("public", "r", "DROP TABLE x").encode();
        assertThrows(IllegalArgumentException.class, () -> ReplicatedDdl.decode(Arrays.copyOf(b, b.length - 1)));
        assertThrows(IllegalArgumentException.class, () -> ReplicatedDdl.decode(new byte[] {1, 0, 0}));
    }

    @Test
    public void replicationNames() {
        assertEquals("mtm_slot_3", Replication.slotName(3));
        assertEquals(2, Replication.originNode(Replication.originName(2)));
        assertEquals(0, Replication.originNode("pg_16384"));
        assertEquals(0, Replication.originNode(null));
    }

    @Test
    public void rowsOfTheWindowAreTheRerunsOwnForQueriesAndExtensionScriptsOnly() {
        assertEquals(true, new ReplicatedDdl("p", "r", "SELECT setval('s', 5)").rerunWritesRows());
        assertEquals(true, new ReplicatedDdl("p", "r", " /* a /* nested */ comment */ -- line\n ( SELECT 1)").rerunWritesRows());
        assertEquals(true, new ReplicatedDdl("p", "r", "create extension if not exists hstore").rerunWritesRows());
        assertEquals(true, new ReplicatedDdl("p", "r", "ALTER EXTENSION hstore UPDATE").rerunWritesRows());
        assertEquals(true, new ReplicatedDdl("p", "r", "CREATE TABLE t AS SELECT 1", "public.t").rerunWritesRows());
        assertEquals(false, new ReplicatedDdl("p", "r", "CREATE TABLE t (a int)").rerunWritesRows());
        assertEquals(false, new ReplicatedDdl("p", "r", "DROP TABLE t").rerunWritesRows());
        assertEquals(false, new ReplicatedDdl("p", "r", "DROP EXTENSION hstore").rerunWritesRows());
        assertEquals("a query in the text", true,
            new ReplicatedDdl("p", "r", "CREATE TABLE IF NOT EXISTS t AS (SELECT 1)").rerunWritesRows());
        assertEquals("a body is no query of the statement", false, new ReplicatedDdl("p", "r",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $b$ SELECT 1 $b$").rerunWritesRows());
        assertEquals(false, new ReplicatedDdl("p", "r", "COMMENT ON TABLE t IS 'x AS SELECT'").rerunWritesRows());
        assertEquals(java.util.List.of("CREATE", "EXTENSION", "X", "A"),
            ReplicatedDdl.words("--x\n/* /* */ */Create\tExtension x 'it''s' \"q\"\"x\" $$ body $$ a"));
        assertEquals(java.util.List.of("COMMENT", "ON", "TABLE", "T", "IS"),
            ReplicatedDdl.words("COMMENT ON TABLE t IS E'x\\' AS SELECT'"));
    }
}
