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
        assertEquals("refused by the cluster: node n could not apply transaction MTM-…",
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
    public void namesOfObjectsLeaveTheRefusalsMessage() {
        assertEquals("refused by the cluster: CREATE TABLE AS … was not sent to the other nodes",
            cause("", "ERROR:  [multimaster] CREATE TABLE AS public.created_table was not sent to the other nodes: ...\n"));
    }

    @Test
    public void knockOnEffects() {
        assertEquals(DifferenceCause.ABORTED, cause(" 1\n", "ERROR:  current transaction is aborted, commands ignored until end of transaction block\n"));
        assertEquals(DifferenceCause.MISSING, cause(" 1\n", "ERROR:  relation \"vistest\" does not exist\n"));
        assertEquals(DifferenceCause.NUMBERS, cause("  2 | a\n(1 row)\n", "  4 | a\n(1 row)\n"));
        assertEquals(DifferenceCause.MTM_OBJECTS, cause("(0 rows)\n", " mtm_publication | mtm | endpoints\n(1 row)\n"));
    }

    @Test
    public void anythingElseIsOther() {
        assertEquals(DifferenceCause.OTHER, cause(" a\n", " b\n"));
        // an error PostgreSQL gives as well is not the cluster's refusal
        assertEquals(DifferenceCause.OTHER, cause("ERROR:  [multimaster] x: y\n a\n", "ERROR:  [multimaster] x: y\n b\n"));
    }
}
