package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;

/**
 * What pgoutput's {@code origin} option does to a peer's stream, on real servers (15, and the embedded 17:
 * {@link Postgres17}). This is why the receivers keep {@code origin 'any'} on every major (the applier's
 * {@code Receiver.streamOptions}, {@code StreamOptionsTest}): on 17, {@code origin 'none'} leaves no trace of a
 * two-phase transaction the node applied from a third origin — no BEGIN PREPARE, no PREPARE with its gid and
 * position, no COMMIT PREPARED — so a normal receiver's {@code ForeignHold}, which holds the peer's slot before the
 * first such transaction this node does not have yet, could not see it, and would confirm past it (the loss fixed
 * when streams went back to every origin). 15 does not know the option.
 */
public class OriginFilterTest {
    private static final String OPTIONS = "'proto_version', '3', 'publication_names', 'mtm_publication', 'two_phase', 'on'";

    @Rule
    public final TestDirs dirs = new TestDirs();

    @Test
    public void onSeventeenOriginNoneDropsEveryTraceOfAnAppliedCopyAndOriginAnyKeepsIt() throws Exception {
        try (Connection c = server(Postgres17.binDir()).connect(); Statement st = c.createStatement()) {
            write(st);
            // the node's own transaction, then the copy of node 3's with its origin message
            List<String> any = List.of("b", "R", "I", "P", "K", "b", "O", "I", "P", "K");
            assertEquals(any, messageTypes(st, ", 'origin', 'any'"));
            assertEquals(any, messageTypes(st, ""));
            assertEquals(List.of("b", "R", "I", "P", "K"), messageTypes(st, ", 'origin', 'none'"));
        }
    }

    /**
     * What a hold fed without the copies could build on: a non-transactional logical message written by a session
     * without a replication origin passes {@code origin 'none'}, at its place in the WAL; one written under an origin
     * does not. (Flushed: a walsender, like the peek, reads only flushed WAL, and a non-transactional message is not
     * flushed by itself before PostgreSQL 17's {@code flush} argument.)
     */
    @Test
    public void onSeventeenOriginNonePassesALogicalMessageWrittenWithoutAnOrigin() throws Exception {
        try (Connection c = server(Postgres17.binDir()).connect(); Statement st = c.createStatement()) {
            write(st);
            st.execute("SELECT pg_logical_emit_message(false, 'mtm-test', 'without an origin', true)");
            st.execute("SELECT pg_replication_origin_session_setup('mtm_node_3')");
            st.execute("SELECT pg_logical_emit_message(false, 'mtm-test', 'under an origin', true)");
            st.execute("SELECT pg_replication_origin_session_reset()");
            assertEquals(List.of("b", "R", "I", "P", "K", "M"), messageTypes(st, ", 'messages', 'true', 'origin', 'none'"));
            assertEquals(List.of("b", "R", "I", "P", "K", "b", "O", "I", "P", "K", "M", "M"),
                messageTypes(st, ", 'messages', 'true', 'origin', 'any'"));
        }
    }

    @Test
    public void fifteenStreamsEveryOriginAndDoesNotKnowTheOption() throws Exception {
        try (Connection c = server(null).connect(); Statement st = c.createStatement()) {
            write(st);
            assertEquals(List.of("b", "R", "I", "P", "K", "b", "O", "I", "P", "K"), messageTypes(st, ""));
            try {
                messageTypes(st, ", 'origin', 'none'");
                throw new AssertionError("PostgreSQL 15 took pgoutput's origin option");
            } catch (SQLException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("origin"));
            }
        }
    }

    private ManagedPostgres server(Path binDir) throws Exception {
        ManagedPostgres pg = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("pg"))
            .binDirectory(binDir).setting("shared_buffers", "16MB").build());
        pg.start();
        return pg;
    }

    /** A slot for a peer, then this node's own two-phase transaction and a copy of node 3's, applied with its origin. */
    private static void write(Statement st) throws SQLException {
        st.execute("CREATE TABLE t (id int PRIMARY KEY)");
        st.execute("CREATE PUBLICATION mtm_publication FOR ALL TABLES");
        st.execute("SELECT pg_create_logical_replication_slot('mtm_slot_2', 'pgoutput', false, true)");
        st.execute("SELECT pg_replication_origin_create('mtm_node_3')");
        st.execute("BEGIN");
        st.execute("INSERT INTO t VALUES (1)");
        st.execute("PREPARE TRANSACTION 'MTM-1-1-1'");
        st.execute("COMMIT PREPARED 'MTM-1-1-1'");
        st.execute("SELECT pg_replication_origin_session_setup('mtm_node_3')");
        st.execute("BEGIN");
        st.execute("SELECT pg_replication_origin_xact_setup('0/1000', now())");
        st.execute("INSERT INTO t VALUES (2)");
        st.execute("PREPARE TRANSACTION 'MTM-3-1-1'");
        st.execute("COMMIT PREPARED 'MTM-3-1-1'");
        st.execute("SELECT pg_replication_origin_session_reset()");
    }

    /** The first byte of every pgoutput message of slot mtm_slot_2 (peeked: nothing confirmed). */
    private static List<String> messageTypes(Statement st, String extra) throws SQLException {
        List<String> types = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT chr(get_byte(data, 0)) FROM pg_logical_slot_peek_binary_changes("
            + "'mtm_slot_2', NULL, NULL, " + OPTIONS + extra + ")")) {
            while (rs.next()) {
                types.add(rs.getString(1));
            }
        }
        return types;
    }
}
