package org.mtm.itests.harness.regress;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** The nodes side by side: which dumps and tables differ, and what the random pg_dump key lines do not count in. */
public class NodeComparisonTest {
    private static Map<String, String> byNode(String... values) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            m.put("node" + (i + 1), values[i]);
        }
        return m;
    }

    @Test
    public void identicalNodesHold() {
        NodeComparison same = new NodeComparison(byNode("CREATE TABLE t;\n", "CREATE TABLE t;\n"),
            Map.of("node1", Map.of("public.t", "1:abc"), "node2", Map.of("public.t", "1:abc")), Map.of());
        assertTrue(same.hold());
        assertEquals(1, same.tables());
    }

    @Test
    public void differencesAreNamed() {
        Map<String, Map<String, String>> digests = new LinkedHashMap<>();
        digests.put("node1", Map.of("public.t", "1:abc", "public.u", "0:"));
        digests.put("node2", Map.of("public.t", "2:def"));
        NodeComparison differ = new NodeComparison(byNode("a\n", "b\n"), digests, Map.of("node2", List.of("MTM-1-2-3")));
        assertFalse(differ.hold());
        assertEquals(List.of("node2"), differ.schemaDiffering());
        assertEquals(Map.of("public.t", Map.of("node1", "1:abc", "node2", "2:def"), "public.u", Map.of("node1", "0:", "node2", "(absent)")),
            differ.tablesDiffering());
    }

    @Test
    public void pgDumpsRandomRestrictKeyIsLeftOut() {
        assertEquals("SET x = 1;\nCREATE TABLE t;\n",
            NodeComparison.normalised("\\restrict AbC123\nSET x = 1;\nCREATE TABLE t;\n\\unrestrict AbC123\n", 3));
    }

    @Test
    public void theStartOfNodeStridedSequencesIsLeftOut() {
        String node2 = "CREATE SEQUENCE s\n    START WITH 2\n    INCREMENT BY 3\n    NO MINVALUE\n";
        String node3 = "CREATE SEQUENCE s\n    START WITH 3\n    INCREMENT BY 3\n    NO MINVALUE\n";
        assertEquals(NodeComparison.normalised(node2, 3), NodeComparison.normalised(node3, 3));
        assertEquals(NodeComparison.normalised("START WITH -2\n    INCREMENT BY -3\n", 3), NodeComparison.normalised("START WITH -1\n    INCREMENT BY -3\n", 3));
        // an increment other than the node count is not a stride: compared as it is
        String plain = "CREATE SEQUENCE s\n    START WITH 5\n    INCREMENT BY 1\n";
        assertEquals(plain, NodeComparison.normalised(plain, 3));
    }
}
