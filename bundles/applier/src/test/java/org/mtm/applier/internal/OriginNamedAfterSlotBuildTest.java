package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.Replication;
import org.mtm.testing.Await;

/**
 * Issue 11, the long battery's open failure (seeds 53654686868517, 46561057177705): node 1 received from the node it had
 * just added a transaction that node had only applied from node 1, without its {@code O} message, applied it as the
 * new node's own and failed on a duplicate key.
 *
 * <p>The cause, reproduced here on a real PostgreSQL 15: pgoutput sends {@code O} only when it can look the origin's
 * name up in {@code pg_replication_origin} with the transaction's historic catalog snapshot, and omits it silently
 * otherwise. A logical slot that is being created while transactions run (the new node makes its slots while its
 * catch-up applies, and the base backup's prepared copies keep the slot waiting) ignores catalog changes committed in
 * its first phase (BUILDING: PostgreSQL does not decode their catalog records yet). A transaction that then begins
 * before the slot is consistent and commits after it is decoded with a snapshot that does not see an origin created in
 * that first phase — here as in the battery, where every catch-up worker created its origin {@code mtm_node_1_<k>} on
 * its first unit: the first transaction decoded had no {@code O}.
 *
 * <p>The rule that avoids it: the origins a node applies under exist before its slots are made —
 * {@code mtm.join_node} creates {@link Replication#applyOriginNames} of every peer on the new node before it becomes
 * itself.
 */
public class OriginNamedAfterSlotBuildTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(1);

    @Rule
    public final Timeout timeout = Timeout.seconds(180);

    @Test
    public void anOriginCreatedWhileTheSlotIsBuiltIsNotNamedToTheFirstTransactionDecoded() throws Exception {
        List<String> decoded = buildSlotAroundTransactions("late", "made_in_first_phase", false);
        assertEquals("the first transaction after the consistent point: PostgreSQL cannot name its origin",
            "B R I C", decoded.get(0));
    }

    @Test
    public void originsMadeBeforeTheSlotAreNamed() throws Exception {
        List<String> decoded = buildSlotAroundTransactions("ahead", Replication.applyOriginNames(7).get(3), true);
        assertEquals("the same transaction, its origin made before the slot (as join_node does)", "B O R I C",
            decoded.get(0));
    }

    /**
     * Creates slot {@code slot} while a prepared transaction (the base backup's copy) and then an open one keep it from
     * being consistent; creates {@code origin} while the slot waits in its first phase (or before the slot, with
     * {@code ahead}); begins a transaction under that origin before the consistent point and commits it after.
     * Returns the message types decoded per transaction.
     */
    private static List<String> buildSlotAroundTransactions(String slot, String origin, boolean ahead) throws Exception {
        String table = "t_" + slot;
        NODES.exec(1, "CREATE TABLE " + table + " (id int PRIMARY KEY)");
        if (ahead) {
            createOrigin(origin);
        }
        try (Connection copy = NODES.node(1).connect(); Statement copySt = copy.createStatement();
             Connection running = NODES.node(1).connect(); Statement runningSt = running.createStatement();
             Connection applier = NODES.node(1).connect(); Statement applierSt = applier.createStatement()) {
            copySt.execute("BEGIN");
            copySt.execute("INSERT INTO " + table + " VALUES (0)");
            copySt.execute("PREPARE TRANSACTION 'copy_" + slot + "'");
            CompletableFuture<Void> creation = CompletableFuture.runAsync(() -> {
                try {
                    NODES.exec(1, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            awaitSlotCreationWaiting(); // first phase: waits for the prepared copy
            runningSt.execute("BEGIN");
            String runningXid = NODES.queryIn(runningSt, "SELECT pg_current_xact_id()");
            if (!ahead) {
                createOrigin(origin); // committed in the slot's first phase, above its xmin
            }
            NODES.exec(1, "COMMIT PREPARED 'copy_" + slot + "'");
            awaitSlotCreationWaitingFor(runningXid); // second phase: waits for the transaction begun in the first
            applierSt.execute("SELECT pg_replication_origin_session_setup('" + origin + "')");
            applierSt.execute("BEGIN");
            applierSt.execute("INSERT INTO " + table + " VALUES (1)"); // begins before the consistent point
            runningSt.execute("COMMIT");
            creation.get();
            applierSt.execute("COMMIT"); // after it
            applierSt.execute("SELECT pg_replication_origin_session_reset()");
        }
        List<String> decoded = decode(slot);
        NODES.exec(1, "SELECT pg_drop_replication_slot('" + slot + "')");
        assertTrue("decoded: " + decoded, !decoded.isEmpty());
        return decoded;
    }

    private static void createOrigin(String origin) throws SQLException {
        NODES.exec(1, "SELECT pg_replication_origin_create('" + origin + "')");
    }

    private static void awaitSlotCreationWaiting() throws Exception {
        Await.until(WAIT, "the slot's creation waits for a running transaction", () -> NODES.count(1,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted") == 1);
    }

    private static void awaitSlotCreationWaitingFor(String xid) throws Exception {
        Await.until(WAIT, "the slot's creation waits for transaction " + xid, () -> NODES.count(1,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = '"
            + xid + "'") == 1);
    }

    /** The pgoutput message types of every transaction the slot decodes, e.g. "B O R I C". */
    private static List<String> decode(String slot) throws SQLException {
        List<String> transactions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        try (Connection c = NODES.node(1).connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT data FROM pg_logical_slot_peek_binary_changes('" + slot
                 + "', NULL, NULL, 'proto_version', '1', 'publication_names', '" + Replication.PUBLICATION + "')")) {
            while (rs.next()) {
                char type = (char) rs.getBytes(1)[0];
                current.append(current.length() == 0 ? "" : " ").append(type);
                if (type == 'C') {
                    transactions.add(current.toString());
                    current.setLength(0);
                }
            }
        }
        return transactions;
    }
}
