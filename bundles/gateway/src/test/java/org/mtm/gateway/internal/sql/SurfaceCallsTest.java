package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;
import org.mtm.gateway.internal.sql.Replication.Reach;

/** The gateway-answered calls (manual F.31.5.2), the status queries, and PostgreSQL's array literal. */
public class SurfaceCallsTest {

    private static Replication classify(String sql) {
        return SqlSplitter.classifyOne(sql, true).replication();
    }

    private static SurfaceCall call(String sql) {
        Replication r = classify(sql);
        assertEquals(sql, Reach.SURFACE, r.reach());
        return r.call();
    }

    private static final String NODE1 = "dbname=mydb user=mtmuser host=node1";

    /** Row: the call as written; the peers it must yield. */
    private static final String[][] INIT_FORMS = {
        {"SELECT mtm.init_cluster('" + NODE1 + "', '{\"dbname=mydb user=mtmuser host=node2\", "
                + "\"dbname=mydb user=mtmuser host=node3\"}');", "dbname=mydb user=mtmuser host=node2|dbname=mydb user=mtmuser host=node3"},
        {"select * from MTM.INIT_CLUSTER('" + NODE1 + "', '{a,b}')", "a|b"},
        {"SELECT mtm.init_cluster('" + NODE1 + "'::text, '{a , \"b c\"}'::text[])", "a|b c"},
        {"SELECT mtm.init_cluster(E'" + NODE1 + "', ARRAY['a', $$b$$]::text[])", "a|b"},
        {"SELECT mtm.init_cluster(peers_conninfo => '{x}', my_conninfo => '" + NODE1 + "')", "x"},
        {"SELECT mtm.init_cluster('" + NODE1 + "',\n'{\"host=a\",'\n'\"host=b\"}')", "host=a|host=b"},
        {"SELECT mtm.init_cluster('" + NODE1 + "', '{}')", ""},
        {"SELECT mtm.init_cluster('" + NODE1 + "', '{\"with \\\"quote\\\"\", back\\\\slash}')", "with \"quote\"|back\\slash"},
    };

    @Test
    public void initClusterInEveryLiteralForm() throws Exception {
        for (String[] row : INIT_FORMS) {
            SurfaceCall c = call(row[0]);
            assertEquals(row[0], SurfaceCall.Function.INIT_CLUSTER, c.function());
            assertEquals(row[0], NODE1, c.text(0, SurfaceCall.Parameters.NONE, "my_conninfo"));
            List<String> want = row[1].isEmpty() ? List.of() : Arrays.asList(row[1].split("\\|"));
            assertEquals(row[0], want, c.textArray(1, SurfaceCall.Parameters.NONE, "peers_conninfo"));
        }
    }

    /** Bound parameters, text or binary. */
    private static SurfaceCall.Parameters params(byte[][] values, boolean[] binary) {
        return new SurfaceCall.Parameters() {
            @Override
            public byte[] value(int n) {
                if (n > values.length) {
                    throw new IllegalArgumentException("there is no parameter $" + n);
                }
                return values[n - 1];
            }

            @Override
            public boolean binary(int n) {
                return binary[n - 1];
            }
        };
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    public void initClusterWithParameters() throws Exception {
        SurfaceCall c = call("SELECT mtm.init_cluster($1, $2)");
        assertEquals("SELECT ''::pg_catalog.void AS init_cluster FROM (SELECT $1::pg_catalog.text, "
                + "$2::pg_catalog.text[]) AS mtm_arguments", c.standIn());
        SurfaceCall.Parameters text = params(new byte[][] {utf8(NODE1), utf8("{p2,\"p 3\"}")}, new boolean[] {false, false});
        assertEquals(NODE1, c.text(0, text, "my_conninfo"));
        assertEquals(List.of("p2", "p 3"), c.textArray(1, text, "peers_conninfo"));
        // array_send of text[] {p2, p3}
        ByteBuffer b = ByteBuffer.allocate(20 + 2 * 4 + 4 + 4 + 6);
        b.putInt(1).putInt(0).putInt(25).putInt(2).putInt(1).putInt(2).put(utf8("p2")).putInt(2).put(utf8("p3"));
        SurfaceCall.Parameters binary = params(new byte[][] {utf8(NODE1), b.array()}, new boolean[] {true, true});
        assertEquals(List.of("p2", "p3"), c.textArray(1, binary, "peers_conninfo"));
        assertEquals(NODE1, c.text(0, binary, "my_conninfo"));

        SurfaceCall e = call("SELECT mtm.init_cluster($1, ARRAY[$2, 'lit', $3])");
        assertEquals("SELECT ''::pg_catalog.void AS init_cluster FROM (SELECT $1::pg_catalog.text, $2::pg_catalog.text, "
                + "$3::pg_catalog.text) AS mtm_arguments", e.standIn());
        SurfaceCall.Parameters three = params(new byte[][] {utf8(NODE1), utf8("a"), utf8("b")}, new boolean[3]);
        assertEquals(List.of("a", "lit", "b"), e.textArray(1, three, "peers_conninfo"));
    }

    @Test
    public void badArgumentsAreTheClientsErrors() {
        SurfaceCall nul = call("SELECT mtm.init_cluster(NULL, '{a}')");
        assertEquals("22004", assertThrows(SurfaceCall.CallException.class,
                () -> nul.text(0, SurfaceCall.Parameters.NONE, "my_conninfo")).sqlState());
        SurfaceCall bad = call("SELECT mtm.init_cluster('x', '{a,,b}')");
        SurfaceCall.CallException e = assertThrows(SurfaceCall.CallException.class,
                () -> bad.textArray(1, SurfaceCall.Parameters.NONE, "peers_conninfo"));
        assertEquals("22P02", e.sqlState());
        assertTrue(e.getMessage(), e.getMessage().startsWith("malformed array literal"));
        SurfaceCall withNull = call("SELECT mtm.init_cluster('x', '{a,NULL}')");
        assertEquals("22004", assertThrows(SurfaceCall.CallException.class,
                () -> withNull.textArray(1, SurfaceCall.Parameters.NONE, "peers_conninfo")).sqlState());
    }

    @Test
    public void alterSequences() {
        SurfaceCall c = call("SELECT mtm.alter_sequences();");
        assertEquals(SurfaceCall.Function.ALTER_SEQUENCES, c.function());
        assertEquals("SELECT true AS alter_sequences", c.standIn());
        assertEquals(SurfaceCall.Function.ALTER_SEQUENCES, call("select * from mtm.alter_sequences()").function());
    }

    @Test
    public void otherShapesAroundTheseFunctionsAreRefusedWithTheUsage() {
        for (String sql : new String[] {
            "SELECT 1, mtm.init_cluster('a', '{b}')",
            "SELECT mtm.init_cluster('a')",
            "SELECT mtm.init_cluster('a', '{b}', 'c')",
            "SELECT mtm.init_cluster('a', '{b}') AS x",
            "SELECT mtm.init_cluster(upper('a'), '{b}')",
            "SELECT mtm.alter_sequences(1)",
            "SELECT * FROM t WHERE mtm.alter_sequences()",
        }) {
            Replication r = classify(sql);
            assertEquals(sql, Reach.SURFACE, r.reach());
            assertEquals(sql, null, r.call());
            assertEquals("0A000", r.sqlState());
            assertTrue(r.message(), r.message().contains("must be called on its own"));
        }
    }

    @Test
    public void statusQueriesAreRecognizedAndNothingMore() {
        for (String sql : new String[] {
            "SELECT * FROM mtm.status()",
            "select * from mtm.nodes();",
            "SELECT status, gen_num FROM mtm.status() WHERE my_node_id = 1",
            "SELECT id, connected FROM mtm.nodes() n ORDER BY id",
            "SELECT mtm.status()",
        }) {
            assertEquals(sql, Reach.STATUS, classify(sql).reach());
        }
        for (String sql : new String[] {
            "SELECT * FROM mtm.status(), t",
            "SELECT * FROM mtm.nodes() JOIN t ON true",
            "SELECT * FROM mtm.status() WHERE status = (SELECT v FROM t)",
            "SELECT upper(status) FROM mtm.status()",
            "SELECT * INTO x FROM mtm.status()",
            "SELECT * FROM mtm.make_table_local('t')",
            "SELECT * FROM mtm.status() UNION SELECT * FROM t",
        }) {
            Reach r = classify(sql).reach();
            assertTrue(sql + " -> " + r, r != Reach.STATUS);
        }
    }

    /** Row: literal; elements joined by | (NULL as the word null); or "!" + the error's fragment. */
    private static final String[][] ARRAYS = {
        {"{}", ""},
        {" { } ", ""},
        {"{a}", "a"},
        {"{a,b,c}", "a|b|c"},
        {"{ a , b }", "a|b"},
        {"{\"a b\",c}", "a b|c"},
        {"{\"a,b\",\"c}\"}", "a,b|c}"},
        {"{\"x\\\"y\",z\\,w}", "x\"y|z,w"},
        {"{NULL,\"NULL\",null}", "null|NULL|null"},
        {"{\"\"}", ""},
        {"[1:2]={a,b}", "a|b"},
        {"{a\\ }", "a "},
        {"{dbname=mydb user=mtmuser host=node2}", "dbname=mydb user=mtmuser host=node2"},
        {"a,b", "!must start with"},
        {"{a,b", "!end of input"},
        {"{a,,b}", "!Unexpected \",\""},
        {"{{a},{b}}", "!one-dimensional"},
        {"{a}x", "!Junk after closing right brace"},
        {"{\"a}", "!end of input"},
        {"{a\"b}", "!Unexpected \"\"\""},
    };

    @Test
    public void arrayLiterals() {
        StringBuilder failures = new StringBuilder();
        for (String[] row : ARRAYS) {
            String got;
            try {
                List<String> v = PgArrays.parse(row[0]);
                got = v.stream().map(e -> e == null ? "null" : e).collect(java.util.stream.Collectors.joining("|"));
                if (!got.equals(row[1])) {
                    failures.append(row[0]).append(" -> ").append(got).append(", want ").append(row[1]).append('\n');
                }
            } catch (IllegalArgumentException e) {
                if (!row[1].startsWith("!") || !e.getMessage().contains(row[1].substring(1))) {
                    failures.append(row[0]).append(" -> ").append(e.getMessage()).append(", want ").append(row[1]).append('\n');
                }
            }
        }
        assertEquals("", failures.toString());
    }

    @Test
    public void dropNodeInEveryForm() throws Exception {
        String[] forms = {"SELECT mtm.drop_node(3)", "select * from MTM.DROP_NODE(3);", "SELECT mtm.drop_node('3')",
            "SELECT mtm.drop_node(3::int)", "SELECT mtm.drop_node(node_id => 3)"};
        for (String sql : forms) {
            SurfaceCall c = call(sql);
            assertEquals(sql, SurfaceCall.Function.DROP_NODE, c.function());
            assertEquals(sql, 3, c.integer(0, SurfaceCall.Parameters.NONE, "node_id"));
        }
        SurfaceCall p = call("SELECT mtm.drop_node($1)");
        assertEquals("SELECT ''::pg_catalog.void AS drop_node FROM (SELECT $1::pg_catalog.int4) AS mtm_arguments",
            p.standIn());
        assertEquals(4, p.integer(0, params(new byte[][] {ByteBuffer.allocate(4).putInt(4).array()},
            new boolean[] {true}), "node_id"));
        assertEquals(5, p.integer(0, params(new byte[][] {utf8("5")}, new boolean[] {false}), "node_id"));
        SurfaceCall.CallException bad = assertThrows(SurfaceCall.CallException.class,
            () -> call("SELECT mtm.drop_node('x')").integer(0, SurfaceCall.Parameters.NONE, "node_id"));
        assertEquals("22P02", bad.sqlState());
        for (String misused : new String[] {"SELECT 1, mtm.drop_node(3)", "SELECT mtm.drop_node()"}) {
            Replication r = classify(misused);
            assertEquals(misused, null, r.call());
            assertEquals(misused, "0A000", r.sqlState());
            assertTrue(r.message(), r.message().contains("SELECT mtm.drop_node(<node id>)"));
        }
    }

    @Test
    public void addAndJoinNodeInEveryForm() throws Exception {
        String conninfo = "dbname=mydb user=mtmuser host=node4";
        for (String sql : new String[] {"SELECT mtm.add_node('" + conninfo + "')", "select * from mtm.add_node(connstr => '"
            + conninfo + "');"}) {
            SurfaceCall c = call(sql);
            assertEquals(sql, SurfaceCall.Function.ADD_NODE, c.function());
            assertEquals(sql, conninfo, c.text(0, SurfaceCall.Parameters.NONE, "connstr"));
        }
        assertEquals("SELECT 0::pg_catalog.int4 AS add_node FROM (SELECT $1::pg_catalog.text) AS mtm_arguments",
            call("SELECT mtm.add_node($1)").standIn());
        for (String sql : new String[] {"SELECT mtm.join_node(4, '0/12D357F0')", "SELECT mtm.join_node(4::int, '0/12D357F0'::pg_lsn)",
            "SELECT mtm.join_node(backup_end_lsn => '0/12D357F0', node_id => 4)"}) {
            SurfaceCall c = call(sql);
            assertEquals(sql, SurfaceCall.Function.JOIN_NODE, c.function());
            assertEquals(sql, 4, c.integer(0, SurfaceCall.Parameters.NONE, "node_id"));
            assertEquals(sql, "0/12D357F0", c.text(1, SurfaceCall.Parameters.NONE, "backup_end_lsn"));
        }
        assertEquals("SELECT ''::pg_catalog.void AS join_node FROM (SELECT $1::pg_catalog.int4, $2::pg_catalog.text)"
            + " AS mtm_arguments", call("SELECT mtm.join_node($1, $2)").standIn());
        Replication r = classify("SELECT mtm.join_node(4)");
        assertEquals("0A000", r.sqlState());
        assertTrue(r.message(), r.message().contains("SELECT mtm.join_node(<node id>, '<backup end lsn>')"));
    }

    @Test
    public void pingOnItsOwn() {
        for (String sql : new String[] {"SELECT mtm.ping()", "select * from MTM.PING();"}) {
            SurfaceCall c = call(sql);
            assertEquals(sql, SurfaceCall.Function.PING, c.function());
            assertEquals("SELECT true AS ping", c.standIn());
        }
        for (String misused : new String[] {"SELECT 1, mtm.ping()", "SELECT mtm.ping(1)"}) {
            Replication r = classify(misused);
            assertEquals(misused, null, r.call());
            assertEquals(misused, "0A000", r.sqlState());
            assertTrue(r.message(), r.message().contains("SELECT mtm.ping()"));
        }
    }
}
