package org.mtm.gateway.internal.session;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntUnaryOperator;

import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.Footprint;
import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.Latin1View;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.sql.ErrorPositions;
import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.mtm.gateway.internal.sql.TempStandIns;
import org.mtm.gateway.internal.sql.TextEdits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A simple Query whose statements need the gateway: relayed in pieces split at the special statements,
 * each answered, bracketed or relayed in turn, with the reply stream PostgreSQL would send for the whole
 * query. Where PostgreSQL would run the statements as one implicit block, a split query runs in a block the
 * gateway opens ({@code emulated}) and commits at the end, so it stays atomic; an error ends the query.
 */
final class QueryPlan {
    private static final Logger LOG = LoggerFactory.getLogger(QueryPlan.class);

    static final byte STAND_IN = 1;
    static final byte DISCARD = 2;
    static final byte SEARCH_PATH = 3;
    static final byte SEARCH_PATH_LOCAL = 4;
    static final byte PREPARE = 5;
    static final byte IMPLICIT_VIEW = 6;

    /**
     * Which statements of a simple Query create temporary tables the gateway makes stand-ins for, or discard them
     * (only in an initialised cluster, and not for mtm_admin sessions, which commit on their node only).
     */
    static byte[] marks(Session s, CharSequence text, List<SqlStatement> statements) {
        byte[] marks = new byte[statements.size()];
        if (!s.standIns.apply()) {
            return marks;
        }
        for (int i = 0; i < marks.length; i++) {
            SqlStatement st = statements.get(i);
            if (st.reach() == Reach.TEMPORARY && TempStandIns.creates(st.text(text), s.standardStrings)) {
                marks[i] = STAND_IN;
            } else if (s.standIns.existing() != null && st.reach() == Reach.SESSION
                    && TempStandIns.discards(st.text(text), s.standardStrings)) {
                marks[i] = DISCARD;
            } else if (s.standIns.existing() != null && st.kind() == StatementKind.PREPARE_TRANSACTION && !Gid.isReserved(st.gid())) {
                marks[i] = PREPARE;
            } else if (s.standIns.existing() != null && st.reach() == Reach.SESSION) {
                int path = TempStandIns.setsSearchPath(st.text(text), s.standardStrings);
                marks[i] = path == 0 ? 0 : path == 2 ? SEARCH_PATH_LOCAL : SEARCH_PATH;
            } else if (s.standIns.existing() != null && st.reach() == Reach.GLOBAL_DDL
                    && TempStandIns.implicitlyTemporary(st.text(text), s.standardStrings, s.standIns.names()) != null) {
                marks[i] = IMPLICIT_VIEW;
            }
        }
        return marks;
    }

    private final Session s;
    private final BackendLink link;
    private final ClientOutput out;
    private final CommitBoundary commits;
    private final ByteBuf text;
    /** How {@link #text} was made from the client's query (pg_temp names qualified), or null: it is the client's. */
    private final TextEdits clientEdits;
    private final List<SqlStatement> sts;
    /** Per statement: {@link #STAND_IN} creates a stand-in, {@link #DISCARD} drops them, 0 otherwise. */
    private final byte[] temps;
    private int next;
    /** The statements run in a block the gateway opened (PostgreSQL's implicit block of the query). */
    private boolean emulated;
    /** PostgreSQL's NOTICE of the implicit temporary view being made, until it is said ({@link #noticeBeforeAnswer}). */
    private ServerError viewNotice;

    QueryPlan(Session s, ByteBuf text, TextEdits clientEdits, List<SqlStatement> sts, byte[] temps) {
        this.s = s;
        this.link = s.link;
        this.out = s.out;
        this.commits = s.commits;
        this.text = text;
        this.clientEdits = clientEdits;
        this.sts = sts;
        this.temps = temps;
    }

    CompletableFuture<Void> step() {
        int n = sts.size();
        int j = next;
        while (j < n && !s.interception.special(sts.get(j), emulated) && temps[j] == 0) {
            j++;
        }
        boolean specialFollows = j < n;
        boolean content = false;
        boolean control = false;
        for (int i = next; i < j; i++) {
            StatementKind kind = sts.get(i).kind();
            content |= kind != StatementKind.EMPTY;
            control |= kind.controlsTransaction() || kind == StatementKind.NON_TRANSACTIONAL || kind == StatementKind.CALL;
        }
        if (!content) {
            next = j;
            return specialFollows ? atSpecial(j) : finish();
        }
        // autocommit work with wrapping on, or statements a split follows: a block of the gateway's keeps them
        // atomic (PostgreSQL's implicit block) and makes their commit the gateway's
        boolean wrapTail = !specialFollows && s.host.wrapAutocommit() && AutocommitWrapping.wrappable(sts, next, j);
        // VACUUM, CREATE DATABASE, ... in a query of several statements: PostgreSQL runs it in the query's implicit
        // block and refuses it (25001); relayed alone it would run. In the gateway's block PostgreSQL refuses it.
        boolean refusedInBlock = link.status() == 'I' && !emulated && nonTransactionalAmongOthers(next, j);
        boolean open = link.status() == 'I' && !emulated && (refusedInBlock || !control && (specialFollows || wrapTail));
        emulated |= open;
        boolean hold = specialFollows || emulated;
        // BEGIN, the client's text unchanged (pg_stat_activity, the log and error positions show it as sent)
        // and the quick query: three Queries written at once, one round trip. The client's simple Query drops
        // its unnamed statement anyway: the gateway's own may be simple Queries
        CompletableFuture<QueryResult> begin = open ? link.aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
        // an autocommit statement alone in its query: PostgreSQL runs it outside a block (its implicit block is
        // for queries of several statements)
        link.outsideClientBlock(emulated && sts.stream().filter(st -> st.kind() != StatementKind.EMPTY).count() == 1, false);
        CompletableFuture<BackendLink.Ready> piece = sendPiece(next, j, hold);
        if (!specialFollows && emulated && !copies(next, j)) {
            s.prefetchedQuick = link.aroundClients(s.host.footprintQueries().quick()); // (not behind COPY: it would be copy data)
        }
        next = j;
        return begin.thenCombine(piece, (b, ready) -> ready).thenCompose(ready -> afterPiece(ready, hold));
    }

    /** A statement of {@code [from, to)} cannot run in a transaction block, and the query has other statements. */
    private boolean nonTransactionalAmongOthers(int from, int to) {
        long statements = sts.stream().filter(st -> st.kind() != StatementKind.EMPTY).count();
        if (statements < 2) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (sts.get(i).kind() == StatementKind.NON_TRANSACTIONAL) {
                return true;
            }
        }
        return false;
    }

    /** After a relayed piece: stop at an error, go on with the special statement or finish the query. */
    private CompletableFuture<Void> afterPiece(BackendLink.Ready ready, boolean hold) {
        link.outsideClientBlock(false, false);
        if (!hold) {
            return done(); // the piece's ReadyForQuery went to the client: query finished
        }
        if (ready.errorSeen()) {
            return endQueryAfterError();
        }
        if (link.status() == 'I') {
            emulated = false; // a ROLLBACK in the piece ended the block
        }
        return step();
    }

    /** The end of the query: the commit of the gateway's block, if it opened one. */
    private CompletableFuture<Void> finish() {
        boolean block = emulated;
        emulated = false;
        if (block) {
            return commits.implicitCommit(true, s.takePrefetchedQuick()).thenRun(() -> {
                out.releaseHeldComplete();
                s.readyToClient();
            });
        }
        out.releaseHeldComplete();
        s.readyToClient();
        return done();
    }

    /** An error ended the query: PostgreSQL rolls its implicit block back, the gateway its own. */
    private CompletableFuture<Void> endQueryAfterError() {
        boolean block = emulated;
        emulated = false;
        s.prefetchedQuick = null; // it failed in the aborted block
        out.dropHeldComplete();
        return (block && link.status() != 'I' ? link.exchangeSimple("ROLLBACK").thenApply(r -> (Void) null) : done())
                .thenRun(s::readyToClient);
    }

    private CompletableFuture<Void> atSpecial(int j) {
        SqlStatement st = sts.get(j);
        next = j + 1;
        boolean block = emulated;
        if (link.status() == 'E' && !s.interception.intercepted(st)) {
            // a failed block: PostgreSQL answers every statement with the same error
            return sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
        }
        if (block && st.kind() == StatementKind.BEGIN) {
            // BEGIN in PostgreSQL's implicit block makes it a regular block: the gateway's block is that now
            emulated = false;
            out.commandComplete("BEGIN");
            return step();
        }
        if (block && st.kind() == StatementKind.ROLLBACK) {
            emulated = false;
            return link.exchange("ROLLBACK").thenCompose(r -> {
                out.notice(ServerError.warning(SqlStates.NO_ACTIVE_TRANSACTION, "there is no transaction in progress"));
                out.commandComplete("ROLLBACK");
                return step();
            });
        }
        if (temps[j] == STAND_IN) {
            return standIn(st, null);
        }
        if (temps[j] == IMPLICIT_VIEW) {
            return implicitView(st);
        }
        if (temps[j] == DISCARD) {
            return discard();
        }
        if (temps[j] == SEARCH_PATH || temps[j] == SEARCH_PATH_LOCAL) {
            return searchPath(temps[j] == SEARCH_PATH_LOCAL);
        }
        if (temps[j] == PREPARE) {
            // outside a transaction PostgreSQL's own answer (a warning) is right
            return link.status() == 'T' ? prepareTransaction()
                    : sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
        }
        ServerError error = s.interception.statementError(st);
        if (error != null) {
            emulated = false;
            return commits.abortStatement(error, block).thenRun(s::readyToClient);
        }
        if (st.reach() == Reach.SURFACE) {
            return s.surface.answer(st.replication().call(), SurfaceCall.Parameters.NONE, false, true).thenCompose(failure -> {
                if (failure == null) {
                    return step();
                }
                emulated = false;
                return commits.abortStatement(failure, block).thenRun(s::readyToClient);
            });
        }
        if (st.reach() == Reach.GLOBAL_DDL) {
            return globalDdl(st);
        }
        return commits.commitStatement(block, st.kind() == StatementKind.COMMIT_AND_CHAIN).thenCompose(ok -> {
            emulated = false;
            if (ok) {
                return step();
            }
            s.readyToClient();
            return done();
        });
    }

    /**
     * A global DDL statement: in a block (the gateway's if the client has none), its DDL message, then the
     * statement and the end message in one round trip. A relation that turns out to be temporary or unlogged
     * gets no messages.
     */
    private CompletableFuture<Void> globalDdl(SqlStatement st) {
        int j = next - 1;
        boolean open = link.status() == 'I';
        emulated |= open;
        CompletableFuture<QueryResult> begin = open ? link.aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
        byte[] body = bytes(st.bodyStart(), st.body(new Latin1View(text, text.readerIndex(), text.readableBytes())).length());
        DdlMessages.Emit message = DdlMessages.emit(body, st.replication(), s.prepared, s.standardStrings);
        CompletableFuture<QueryResult> emit = link.exchange(message.sql(), message.params());
        return begin.thenCombine(emit, (b, e) -> e).thenCompose(e -> {
            if (!e.ok()) {
                LOG.warn("session {}: the DDL message for a statement could not be written: {}", s.backendPid, e.error());
                s.errorToClient(e.error());
                return endQueryAfterError();
            }
            boolean logged = s.ddlLogged(e);
            boolean hold = true;
            CompletableFuture<BackendLink.Ready> piece = sendPiece(j, j + 1, hold, false);
            CompletableFuture<QueryResult> end = logged ? link.exchange(DdlMessages.endSql(st.replication())) : null;
            if (next >= sts.size() && emulated) {
                s.prefetchedQuick = link.aroundClients(s.host.footprintQueries().quick());
            }
            return piece.thenCompose(ready -> end == null || ready.errorSeen() ? afterPiece(ready, hold)
                    : end.thenCompose(r -> {
                        if (r.ok()) {
                            return afterPiece(ready, hold);
                        }
                        // the end statement failed (SERIALIZABLE's 40001 in the replica identity upkeep): the block
                        // is aborted, so the statement answers with that error instead of its held CommandComplete
                        s.errorToClient(r.error());
                        return endQueryAfterError();
                    }));
        });
    }

    /**
     * CREATE TEMP TABLE as a stand-in ({@link TempStandIns}): in a block (the gateway's if the client has
     * none, so that its ON COMMIT action runs at the gateway's commit), the schema and search_path, then the
     * rewritten statement. {@code statement}: the text to take instead of the client's (a view made temporary),
     * or null.
     */
    private CompletableFuture<Void> standIn(SqlStatement st, TempStandIns.ImplicitView statement) {
        int j = next - 1;
        boolean open = link.status() == 'I';
        emulated |= open;
        CompletableFuture<QueryResult> begin = open ? link.aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
        String name = s.standIns.schema();
        TempStandIns.Rewrite rw = TempStandIns.rewrite(statement == null
                ? st.text(new Latin1View(text, text.readerIndex(), text.readableBytes())) : statement.text(), s.standardStrings, name);
        return begin.thenCombine(link.exchange(TempStandIns.nativeSql(name, rw.name(), rw.view())), (b, h) -> h).thenCompose(h -> {
            if (h.ok() && "t".equals(h.singleValue())) {
                // it must hide a relation of the same name, which a stand-in at the end of search_path cannot, or
                // a view may read PostgreSQL temporary objects: PostgreSQL's own temporary object (a transaction
                // that uses it cannot change replicated tables)
                s.standIns.names().remove(rw.resolved());
                // (a view made temporary by the gateway: its text with TEMP, PostgreSQL's own temporary view)
                CompletableFuture<BackendLink.Ready> piece = statement == null ? sendPiece(j, j + 1, true)
                        : sendText(j, statement.text(), statement.edits()::originalIndex);
                if (next >= sts.size() && emulated) {
                    s.prefetchedQuick = link.aroundClients(s.host.footprintQueries().quick());
                }
                return piece.thenCompose(ready -> afterPiece(ready, true));
            }
            return link.exchange(TempStandIns.preludeSql(name, rw.name(), rw.view())).thenCompose(p -> {
                if (!p.ok()) {
                    noticeBeforeAnswer(null);
                    ServerError e = p.error(); // without the CONTEXT of the gateway's DO block
                    s.errorToClient(new ServerError(e.severity(), e.sqlState(), e.message(), e.detail(), e.hint()));
                    return endQueryAfterError();
                }
                IntUnaryOperator back = statement == null ? rw.edits()::originalIndex
                        : i -> statement.edits().originalIndex(rw.edits().originalIndex(i));
                CompletableFuture<BackendLink.Ready> piece = sendText(j, rw.text(), back);
                s.notes.standIn();
                if (rw.view()) {
                    link.exchange(TempStandIns.END_SQL);
                }
                if (next >= sts.size() && emulated) {
                    s.prefetchedQuick = link.aroundClients(s.host.footprintQueries().quick());
                }
                return piece.thenCompose(ready -> {
                    if (!ready.errorSeen()) {
                        s.standIns.names().add(rw.resolved());
                        commits.onCommitActions().remove(rw.table());
                        if (rw.onCommit() != TempStandIns.OnCommit.PRESERVE_ROWS) {
                            commits.onCommitActions().put(rw.table(), rw.onCommit());
                        }
                    }
                    return afterPiece(ready, true);
                });
            });
        });
    }

    /**
     * CREATE VIEW whose query names a stand-in: PostgreSQL makes a view over a temporary table temporary (with a
     * NOTICE), so the gateway makes it a stand-in view when the catalog says a name is a stand-in's there;
     * otherwise it is global DDL. A view in another schema gets PostgreSQL's own error for a temporary one.
     */
    private CompletableFuture<Void> implicitView(SqlStatement st) {
        int j = next - 1;
        CharSequence statement = st.text(new Latin1View(text, text.readerIndex(), text.readableBytes()));
        TempStandIns.ImplicitView v = TempStandIns.implicitlyTemporary(statement, s.standardStrings, s.standIns.names());
        return link.exchange(TempStandIns.readsStandInSql(s.standIns.existing(), v.matched())).thenCompose(r -> {
            if (!r.ok() || !"t".equals(r.singleValue())) {
                return globalDdl(st);
            }
            // said with PostgreSQL's answer, where PostgreSQL says it (sendText)
            viewNotice = new ServerError("NOTICE", "00000", "view \"" + v.name() + "\" will be a temporary view", null, null);
            if (TempStandIns.rewrite(v.text(), s.standardStrings, s.standIns.existing()) == null) {
                return sendText(j, v.text(), v.edits()::originalIndex).thenCompose(ready -> afterPiece(ready, true));
            }
            return standIn(st, v);
        });
    }

    /** DISCARD TEMP / ALL: PostgreSQL's answer, then the stand-ins are dropped too. */
    private CompletableFuture<Void> discard() {
        int j = next - 1;
        return sendPiece(j, j + 1, true).thenCompose(ready -> {
            if (ready.errorSeen() || s.standIns.existing() == null) {
                return afterPiece(ready, true);
            }
            return link.exchange(TempStandIns.discardSql(s.standIns.existing())).thenCompose(r -> {
                if (!r.ok()) {
                    LOG.warn("session {}: DISCARD could not drop the stand-ins of temporary tables: {}", s.backendPid,
                            r.error());
                } else {
                    commits.onCommitActions().clear();
                    s.standIns.names().clear();
                }
                return afterPiece(ready, true);
            });
        });
    }

    /**
     * A user's PREPARE TRANSACTION in a session with stand-ins: refused, and the transaction rolled back, as
     * PostgreSQL does when the transaction touched temporary objects — a prepared transaction would keep locks on
     * the session's stand-ins after the session (PostgreSQL cannot PREPARE one that touched its own).
     */
    private CompletableFuture<Void> prepareTransaction() {
        int j = next - 1;
        CompletableFuture<QueryResult> touched = s.notes.touchedStandIn() ? CompletableFuture.completedFuture(null)
                : link.exchange(TempStandIns.TOUCHED_SQL);
        return touched.thenCompose(r -> {
            if (!s.notes.touchedStandIn() && (!r.ok() || !"t".equals(r.singleValue()))) {
                return sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
            }
            return link.exchange("ROLLBACK").thenCompose(x -> {
                s.errorToClient(ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                        "cannot PREPARE a transaction that has operated on temporary objects"));
                emulated = false;
                s.readyToClient();
                return done();
            });
        });
    }

    /** SET/RESET search_path: PostgreSQL's answer, then the stand-in schema back at the path's end. */
    private CompletableFuture<Void> searchPath(boolean local) {
        int j = next - 1;
        return sendPiece(j, j + 1, true).thenCompose(ready -> {
            if (ready.errorSeen() || link.status() == 'E') {
                return afterPiece(ready, true);
            }
            return link.exchange(TempStandIns.searchPathSql(s.standIns.existing(), local)).thenCompose(r -> {
                if (!r.ok()) {
                    LOG.warn("session {}: the stand-in schema could not be put back on search_path: {}", s.backendPid,
                            r.error());
                }
                return afterPiece(ready, true);
            });
        });
    }

    /**
     * Statement {@code j} sent as {@code sql} instead (chars of the client's bytes, see {@link Latin1View});
     * {@code back} takes an index of {@code sql} to one of the statement's text, for its errors' positions.
     */
    /**
     * PostgreSQL's NOTICE that an implicitly temporary view will be temporary: it comes before the view is created,
     * after the query was analysed, so before its CommandComplete and before the errors of making the relation (the
     * name taken, or not a view, its columns changed, in a schema that is not temporary), but not with the errors of
     * the query (a column or relation that does not exist, too many column names, ...).
     */
    private static final java.util.Set<String> ERRORS_AFTER_VIEW_NOTICE = java.util.Set.of("42P07", "42809", "42P16");

    private void noticeBeforeAnswer(ByteBuf error) {
        ServerError notice = viewNotice;
        viewNotice = null;
        if (notice != null && (error == null || ERRORS_AFTER_VIEW_NOTICE.contains(PgWire.readError(error.duplicate()).sqlState()))) {
            out.notice(notice);
        }
    }

    private CompletableFuture<BackendLink.Ready> sendText(int j, String sql, IntUnaryOperator back) {
        int holdComplete = emulated && j + 1 == sts.size() ? 1 : 0;
        CompletableFuture<BackendLink.Ready> f = new CompletableFuture<>();
        byte[] bytes = sql.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        ByteBuf b = Unpooled.wrappedBuffer(bytes);
        int start = sts.get(j).start();
        IntUnaryOperator positions = p -> clientPosition(start
                + back.applyAsInt(ErrorPositions.byteOf(ErrorPositions.bytes(sql), 0, sql.length(), p, s.utf8)));
        link.queryPiece(PgWire.query(s.client.alloc(), b, 0, bytes.length), f, false, positions, holdComplete,
                viewNotice == null ? null : this::noticeBeforeAnswer);
        b.release();
        return f;
    }

    private boolean copies(int from, int to) {
        for (int i = from; i < to; i++) {
            if (sts.get(i).kind() == StatementKind.COPY) {
                return true;
            }
        }
        return false;
    }

    /** Where the piece ending before statement {@code end} ends: the last one takes the text's tail too. */
    private int textEnd(int end) {
        // (a trailing comment belongs to no statement; unterminated, it is an error PostgreSQL must see)
        return end == sts.size() ? text.readableBytes() : sts.get(end - 1).end();
    }

    /**
     * The error position (1-based characters of the client's own query) of byte {@code index} of {@link #text}:
     * where the gateway qualified pg_temp names, that of the client's text before them.
     */
    private int clientPosition(int index) {
        if (clientEdits != null) {
            String original = clientEdits.original();
            int i = clientEdits.originalIndex(index);
            int within = Math.min(i, original.length());
            return ErrorPositions.charsBefore(ErrorPositions.bytes(original), 0, within, s.utf8) + 1 + (i - within);
        }
        int within = Math.min(index, text.readableBytes());
        return ErrorPositions.charsBefore(this::textByte, 0, within, s.utf8) + 1 + (index - within);
    }

    private int textByte(int i) {
        return text.getByte(text.readerIndex() + i);
    }

    private byte[] bytes(int from, int length) {
        byte[] b = new byte[length];
        text.getBytes(text.readerIndex() + from, b);
        return b;
    }

    private CompletableFuture<BackendLink.Ready> sendPiece(int first, int end, boolean hold) {
        return sendPiece(first, end, hold, true);
    }

    private CompletableFuture<BackendLink.Ready> sendPiece(int first, int end, boolean hold, boolean note) {
        if (note) {
            s.noteStatements(sts, first, end);
        }
        int from = sts.get(first).start();
        int to = textEnd(end);
        CompletableFuture<BackendLink.Ready> f = new CompletableFuture<>();
        // the query's last piece in the gateway's block: its last CommandComplete waits for the commit
        int holdComplete = 0;
        if (hold && emulated && end == sts.size() && !copies(first, end)) {
            for (int i = first; i < end; i++) {
                holdComplete += sts.get(i).kind() == StatementKind.EMPTY ? 0 : 1;
            }
        }
        IntUnaryOperator positions = p -> clientPosition(from + ErrorPositions.byteOf(this::textByte, from, to, p, s.utf8));
        link.queryPiece(PgWire.query(s.client.alloc(), text, text.readerIndex() + from, to - from), f, !hold, positions,
                holdComplete);
        return f;
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }
}
