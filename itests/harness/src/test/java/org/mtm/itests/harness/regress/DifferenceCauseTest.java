package org.mtm.itests.harness.regress;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** Grouping differing statements by their likely cause. */
public class DifferenceCauseTest {
    private static String cause(String standalone, String cluster) {
        return DifferenceCause.of(new FileComparison.StatementDifference(1, "x;\n", standalone, cluster));
    }

    @Test
    public void theClustersRefusalByItsMessageWithoutNames() {
        assertEquals("refused by the cluster: a DDL statement with parameters ($n) cannot be replicated",
            cause("", "ERROR:  [multimaster] a DDL statement with parameters ($2) cannot be replicated: the other nodes run ...\n"));
        assertEquals("refused by the cluster: node 2 could not apply transaction MTM-…",
            cause("", "ERROR:  [multimaster] node 2 could not apply transaction MTM-1-2894-1: ERROR: database \"x\" does not exist\n"));
    }

    @Test
    public void publicationInDescribeOutput() {
        assertEquals(DifferenceCause.PUBLICATION, cause("Table \"public.t\"\n a | int\n\n",
            "Table \"public.t\"\n a | int\nPublications:\n    \"mtm_publication\"\nReplica Identity: FULL\n\n"));
    }

    @Test
    public void errorCursorMovedByTheGateway() {
        assertEquals(DifferenceCause.CURSOR, cause("ERROR:  syntax error\nLINE 1: SELECT (\n               ^\n",
            "ERROR:  syntax error\nLINE 1: BEGIN; SELECT (\n                     ^\n"));
    }

    @Test
    public void anythingElseIsOther() {
        assertEquals(DifferenceCause.OTHER, cause(" 2\n", " 4\n"));
        // an error PostgreSQL gives as well is not the cluster's refusal
        assertEquals(DifferenceCause.OTHER, cause("ERROR:  [multimaster] x: y\n 1\n", "ERROR:  [multimaster] x: y\n 2\n"));
    }
}
