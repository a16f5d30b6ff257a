package org.mtm.gateway.internal.session;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.Test;
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.SqlStatement;

/** Which statements the gateway takes over, in both protocols, as the cluster and the session change. */
public class InterceptionTest {
    private final AtomicBoolean initialised = new AtomicBoolean(true);
    private final AtomicBoolean admin = new AtomicBoolean(false);
    private final Interception rules = new Interception(initialised::get, admin::get);

    private static SqlStatement st(String sql) {
        return SqlSplitter.classifyOne(sql, true);
    }

    @Test
    public void commitIsAlwaysTheGateways() {
        initialised.set(false);
        for (String sql : new String[] {"COMMIT", "END", "COMMIT AND CHAIN"}) {
            assertTrue(sql, rules.intercepted(st(sql)));
            assertTrue(sql, rules.interceptedExtended(st(sql)));
            assertTrue(sql, rules.special(st(sql), false));
            assertNull(sql, rules.statementError(st(sql)));
        }
        assertFalse(rules.intercepted(st("ROLLBACK")));
        assertFalse(rules.intercepted(st("UPDATE t SET a = 1")));
    }

    @Test
    public void theClustersGidsAreReservedButForAdminsFinishingThem() {
        String prepare = "PREPARE TRANSACTION 'MTM-1-2-3'";
        String finish = "COMMIT PREPARED 'MTM-1-2-3'";
        assertTrue(rules.intercepted(st(prepare)));
        assertEquals("42939", rules.statementError(st(prepare)).sqlState());
        assertTrue(rules.intercepted(st(finish)));
        assertEquals("42939", rules.statementError(st(finish)).sqlState());
        admin.set(true);
        assertTrue("no one prepares under the cluster's prefix", rules.intercepted(st(prepare)));
        assertFalse(rules.intercepted(st(finish)));
        assertFalse(rules.intercepted(st("PREPARE TRANSACTION 'mine'")));
    }

    @Test
    public void statementsTheClusterCannotRunAreRefusedOnceItIsInitialised() {
        SqlStatement detach = st("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY");
        assertTrue(rules.refused(detach));
        assertTrue(rules.interceptedExtended(detach));
        assertEquals("0A000", rules.statementError(detach).sqlState());
        admin.set(true);
        assertFalse("an mtm_admin session runs it on its node", rules.refused(detach));
        admin.set(false);
        initialised.set(false);
        assertFalse("before init_cluster the gateway is a plain relay", rules.refused(detach));
    }

    @Test
    public void aSimpleQueryIsSplitAtGlobalDdlAndInsideTheGatewaysBlockAtTransactionControl() {
        assertTrue(rules.special(st("CREATE TABLE t (a int)"), false));
        assertFalse("an Execute of DDL is relayed between its messages", rules.interceptedExtended(st("CREATE TABLE t (a int)")));
        assertFalse(rules.special(st("BEGIN"), false));
        assertTrue(rules.special(st("BEGIN"), true));
        assertTrue(rules.special(st("ROLLBACK"), true));
        assertTrue(rules.special(st("CREATE EXTENSION multimaster"), false));
        initialised.set(false);
        assertFalse(rules.special(st("CREATE TABLE t (a int)"), false));
    }
}
