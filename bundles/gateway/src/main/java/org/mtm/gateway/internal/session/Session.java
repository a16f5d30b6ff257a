package org.mtm.gateway.internal.session;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.Footprint;
import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.FrontendMessages;
import org.mtm.gateway.internal.protocol.Latin1View;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.protocol.ReplyQueue;
import org.mtm.gateway.internal.protocol.ReplySink;
import org.mtm.gateway.internal.sql.ClusterPublication;
import org.mtm.gateway.internal.sql.ErrorPositions;
import org.mtm.gateway.internal.sql.PreparedQueries;
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.mtm.gateway.internal.sql.TempStandIns;
import org.mtm.gateway.internal.sql.TextEdits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * One client session: the client's connection, its own backend connection to the local PostgreSQL, and
 * everything between them. Installed as the handler of the client channel; the backend channel is
 * registered on the same event loop, so all session state is confined to one thread.
 *
 * <p><b>Relay.</b> Bytes are forwarded as retained slices of the receive buffers, coalesced into one write
 * per read ("runs"); only message headers are inspected, and whole messages are assembled only for the few
 * types the gateway reads (client: Query, Parse, Bind, Execute, Close, Sync; backend: ReadyForQuery,
 * ErrorResponse, ParameterStatus, BackendKeyData, CopyInResponse). DataRow and CopyData stream through
 * even when larger than a buffer.
 *
 * <p><b>Pairing.</b> Every request forwarded to the backend is recorded in the {@link BackendLink}'s
 * {@link ReplyQueue}, so replies can be routed (client, or the gateway's own statements) and errors in pipelines
 * handled the way the backend handles them (skip to Sync). ReadyForQuery's status byte is the transaction status.
 *
 * <p><b>What lives elsewhere.</b> This class frames the client's messages, follows the extended protocol's batches
 * and owns the session's lifecycle; it decides, and the classes around it carry out: {@link BackendLink} (the backend
 * side and the pairing), {@link ClientOutput}, {@link Interception} (which statements the gateway takes over),
 * {@link QueryPlan} (a simple Query that needs the gateway), {@link CommitBoundary}, {@link AutocommitWrapping},
 * {@link SurfaceAnswers}, {@link StandIns}, {@link SessionStartup}.
 *
 * <p><b>Gateway-owned moments.</b> At a COMMIT (and the other intercepted statements) the gateway stops
 * reading the client (autoRead off, buffered messages wait), brings the backend to a Sync point, runs its
 * own statements there (extended protocol with a reserved statement/portal name, so the client's unnamed
 * statement and portal survive), answers the client itself, and resumes.
 */
public final class Session extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(Session.class);

    /** PostgreSQL's own bound on a message's length (PQ_LARGE_MESSAGE_LIMIT). */
    static final int MAX_MESSAGE = 0x3fffffff;
    /** Bind messages larger than this are streamed once their portal and statement names are read. */
    private static final int STREAM_BIND_ABOVE = 64 * 1024;

    /** Added to every client's startup options (see the mtm schema's mtm.refuse_unannounced_ddl). */
    static final String GATEWAY_SESSION_OPTION = "-c mtm.via_gateway=on";

    private enum Phase { STARTUP, CONNECTING, AUTH, READY, RAW, CLOSED }

    /** Closes a client that sends no startup packet in time (gateway.startup_timeout_ms); event loop only. */
    private java.util.concurrent.Future<?> startupDeadline;


    final SessionHost host;
    final Channel client;
    /** The backend connection as the gateway uses it: writes, the pairing of replies, its own statements. */
    final BackendLink link;
    /** The requests written to the backend and not answered yet (the link's). */
    private final ReplyQueue replies;
    /** What goes to the client (relayed runs and the gateway's answers), and the CommandComplete held for a commit. */
    final ClientOutput out;
    private Channel backend;
    private Phase phase = Phase.STARTUP;

    // receive buffers and the pending run (contiguous bytes to forward) in each
    private ByteBuf clientIn;
    private int clientStreamRemaining;
    /** Client bytes relayed to the backend unchanged, and backend bytes relayed to the client. */
    private final ForwardRun clientRun;

    // what the session is
    private String user = "";
    private String database = "";
    private String applicationName = "";
    boolean standardStrings = true;
    /** client_encoding is UTF8: error positions count characters, not bytes, of a query. */
    boolean utf8 = true;
    int backendPid;
    private int backendSecret;
    private boolean keyIssued;
    private SessionInfo info;

    /** Extended protocol: the statements and portals the gateway cares about (anything but OTHER with ROWS). */
    private final ExtendedNames names = new ExtendedNames();

    /** What the current transaction did that its commit must know. */
    final TransactionNotes notes = new TransactionNotes();
    /** Where the client's COMMIT goes to the committer. */
    final CommitBoundary commits;
    /** The footprint's quick query, sent in the same round trip as the last statement of a wrapped transaction. */
    CompletableFuture<QueryResult> prefetchedQuick;

    /** The gateway answered an Execute with an error: the client's messages up to Sync are dropped, as the backend would. */
    private boolean discardUntilSync;
    /**
     * The gateway answered a simple Query or FunctionCall with an error of its own: extended-protocol messages
     * pipelined right behind it are skipped up to Sync (see {@link #skipsPipelineTail}). Null otherwise.
     */
    private ServerError refusedBeforeTail;
    /** The last error the gateway sent the client itself (not relayed): set by {@link #errorToClient}. */
    private ServerError ownErrorSent;
    /**
     * The gateway left the backend at a Sync point after answering an Execute itself: the client's Sync
     * that follows is answered here (ReadyForQuery with the known status) instead of costing a round trip.
     */
    private boolean answerNextSync;
    /** The backend is in COPY FROM STDIN and the client has not yet sent CopyDone/CopyFail. */
    private boolean copyInActive;
    private final AutocommitWrapping wrapping;
    /** The session's stand-ins for temporary tables. */
    final StandIns standIns;
    /** The queries of the session's SQL-level PREPAREs, for CREATE TABLE ... AS EXECUTE. */
    final PreparedQueries prepared = new PreparedQueries();
    /** The multimaster functions the gateway answers itself. */
    final SurfaceAnswers surface;
    /** Which statements the gateway takes over. */
    final Interception interception;
    private final SessionStartup startup;

    /** The gateway owns the backend; the client's messages wait (except COPY data the backend asked for). */
    private boolean suspended;
    /** Gateway-owned steps in progress (the client waits); the session closes only after them. */
    private int ownWork;
    private ServerError closeAfterWork;

    Session(SessionHost host, Channel client) {
        this.host = host;
        this.client = client;
        this.out = new ClientOutput(client);
        this.standIns = new StandIns(() -> backendPid, () -> host.clusterInitialised() && !info().isAdmin());
        this.surface = new SurfaceAnswers(host, client, out, this, this::info, this::closed);
        this.link = new BackendLink(client, out, notes, new LinkEvents());
        this.replies = link.replies();
        this.clientRun = new ForwardRun(() -> clientIn, link::write);
        this.wrapping = new AutocommitWrapping(host::wrapAutocommit, host::clusterInitialised);
        this.interception = new Interception(host::clusterInitialised, () -> info().isAdmin());
        this.startup = new SessionStartup(host, client, new SessionStartup.Outcome() {
            @Override
            public void refused(ServerError fatal) {
                fatal(fatal);
            }

            @Override
            public void cancelled() {
                phase = Phase.CLOSED;
                client.close();
            }

            @Override
            public void start(ByteBuf packet, boolean raw, StartupParameters params) {
                started(packet, raw, params);
            }
        });
        Backend view = new Backend();
        this.commits = new CommitBoundary(view, view, host::committer, () -> host.admission().refusal(info()), notes,
                standIns::existing);
    }

    // ------------------------------------------------------------------ client channel events

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        host.opened(this);
        long startupTimeout = host.startupTimeoutMillis();
        if (startupTimeout > 0) {
            // a client that connects and sends nothing (or half a startup packet) must not hold a connection for ever
            startupDeadline = ctx.executor().schedule(() -> {
                if (phase == Phase.STARTUP) {
                    LOG.info("client {} sent no startup packet within {} ms: closed", client.remoteAddress(), startupTimeout);
                    fatal(ServerError.fatal(SqlStates.PROTOCOL_VIOLATION, "startup packet not received within "
                            + startupTimeout + " ms (gateway.startup_timeout_ms)"));
                }
            }, startupTimeout, TimeUnit.MILLISECONDS);
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (phase == Phase.CLOSED) {
            in.release();
            return;
        }
        clientIn = clientIn == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), clientIn, in);
        processClient();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        link.flush();
        out.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // a slow client stops the backend from being read, not the other way round
        if (backend != null) {
            backend.config().setAutoRead(client.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        LOG.debug("client {} disconnected", client.remoteAddress());
        if (ownWork > 0 && phase != Phase.CLOSED && backend != null && backend.isActive()) {
            // the gateway is in the middle of its own work (a commit, perhaps after PREPARE): keep the backend
            // until that is finished, so a decided transaction is not left prepared
            out.gone();
            LOG.info("client of session {} disconnected while the gateway was committing; finishing first", backendPid);
            return;
        }
        shutdown();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection {} failed: {}", client.remoteAddress(), cause.toString());
        client.close();
    }

    private final class BackendHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (phase == Phase.CLOSED) {
                in.release();
                return;
            }
            link.read(ctx, in);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            out.flush();
            link.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            updateClientAutoRead();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            LOG.debug("backend connection of session {} closed", backendPid);
            out.flush();
            if (client.isActive()) {
                client.close();
            }
            shutdown();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("backend connection of session {} failed: {}", backendPid, cause.toString());
            closeBoth();
        }
    }

    // ------------------------------------------------------------------ client → backend

    private void processClient() {
        ByteBuf in = clientIn;
        try {
            while (in != null && in.isReadable() && phase != Phase.CLOSED) {
                int ri = in.readerIndex();
                if (clientStreamRemaining > 0) {
                    int n = Math.min(clientStreamRemaining, in.readableBytes());
                    clientRun.add(in, ri, n);
                    clientStreamRemaining -= n;
                    continue;
                }
                if (phase == Phase.RAW) {
                    clientRun.add(in, ri, in.readableBytes());
                    break;
                }
                if (phase == Phase.STARTUP) {
                    if (!startup.read(in)) {
                        break;
                    }
                    continue;
                }
                if (phase == Phase.CONNECTING || in.readableBytes() < 5) {
                    break;
                }
                byte type = in.getByte(ri);
                int length = in.getInt(ri + 1);
                if (length < 4 || length > MAX_MESSAGE) {
                    protocolViolation("invalid length " + length + " of message type '" + (char) type + "'");
                    return;
                }
                if (length > host.maxMessageBytes() && type != PgWire.COPY_DATA && type != PgWire.BIND) {
                    fatal(ServerError.fatal(SqlStates.PROGRAM_LIMIT_EXCEEDED, "[multimaster] gateway: a message of "
                            + (length + 1) + " bytes (type '" + (char) type + "') exceeds gateway.max_message_bytes ("
                            + host.maxMessageBytes() + ")", "Send shorter statements, or raise gateway.max_message_bytes"
                            + " in org.mtm.node."));
                    return;
                }
                boolean copyMessage = type == PgWire.COPY_DATA || type == PgWire.COPY_DONE || type == PgWire.COPY_FAIL;
                if (suspended && !(copyInActive && copyMessage)) {
                    break;
                }
                int total = 1 + length;
                if (type == PgWire.COPY_DATA) {
                    int n = Math.min(total, in.readableBytes());
                    clientRun.add(in, ri, n);
                    clientStreamRemaining = total - n;
                    continue;
                }
                if (in.readableBytes() < total) {
                    if (type == PgWire.BIND && phase == Phase.READY && total > STREAM_BIND_ABOVE && !discardUntilSync
                            && refusedBeforeTail == null && bindHead(in, ri, total)) {
                        continue;
                    }
                    break;
                }
                String malformed = phase == Phase.READY ? FrontendMessages.violation(in, ri, total) : null;
                if (malformed != null) {
                    // before any field is read: the gateway's readers never look past a message
                    protocolViolation(malformed);
                    return;
                }
                clientMessage(in, type, ri, total);
            }
        } finally {
            clientRun.flush();
            if (clientIn != null && !clientIn.isReadable()) {
                clientIn.release();
                clientIn = null;
            } else if (clientIn != null && clientIn.refCnt() == 1) {
                clientIn.discardSomeReadBytes();
            }
        }
    }

    /** Handles one whole client message; must consume it (advance the reader index). */
    private void clientMessage(ByteBuf in, byte type, int ri, int total) {
        if (phase == Phase.AUTH) {
            if (type == PgWire.TERMINATE) {
                terminate(in, ri, total);
            } else {
                clientRun.add(in, ri, total);
            }
            return;
        }
        if (refusedBeforeTail != null && skipsPipelineTail(type)) {
            drop(in, total);
            return;
        }
        if (discardUntilSync && type != PgWire.SYNC) {
            drop(in, total);
            return;
        }
        if (answerNextSync && type != PgWire.SYNC) {
            answerNextSync = false;
        }
        switch (type) {
            case PgWire.QUERY -> simpleQuery(in, ri, total);
            case PgWire.PARSE -> {
                if (!parse(in, ri, total)) {
                    forwardExtended(in, ri, total, ReplyQueue.PARSE);
                }
            }
            case PgWire.BIND -> {
                names.bound(in, ri, ri + total);
                forwardExtended(in, ri, total, ReplyQueue.BIND);
            }
            case PgWire.DESCRIBE -> forwardExtended(in, ri, total, ReplyQueue.DESCRIBE);
            case PgWire.CLOSE -> {
                names.closed(in, ri, total);
                forwardExtended(in, ri, total, ReplyQueue.CLOSE);
            }
            case PgWire.EXECUTE -> execute(in, ri, total);
            case PgWire.SYNC -> sync(in, ri, total);
            case PgWire.FLUSH -> clientRun.add(in, ri, total);
            case PgWire.FUNCTION_CALL -> functionCall(in, ri, total);
            case PgWire.COPY_DONE, PgWire.COPY_FAIL -> {
                if (copyInActive) {
                    copyInActive = false;
                    updateClientAutoRead();
                } else if (!replies.isEmpty()) {
                    replies.add(ReplyQueue.COPY_END);
                }
                clientRun.add(in, ri, total);
            }
            case PgWire.TERMINATE -> terminate(in, ri, total);
            default -> clientRun.add(in, ri, total);
        }
    }

    /**
     * Whether the client's message after a simple Query (or FunctionCall) the gateway answered with its own error
     * starts a tail to skip. pgjdbc sends a transaction's BEGIN as a simple Query followed, in the same pipeline,
     * by the first statement in the extended protocol and Sync. PostgreSQL never refuses that BEGIN, so it does
     * not skip the tail; when the gateway does, running the tail would put the statement outside the transaction
     * the client believes it opened (autocommitted: half a transaction). The tail gets one error and its Sync a
     * ReadyForQuery. Any other message (Query, Sync, FunctionCall, ...) ends the matter.
     */
    private boolean skipsPipelineTail(byte type) {
        ServerError refused = refusedBeforeTail;
        refusedBeforeTail = null;
        boolean extended = type == PgWire.PARSE || type == PgWire.BIND || type == PgWire.DESCRIBE
                || type == PgWire.EXECUTE || type == PgWire.CLOSE || type == PgWire.FLUSH;
        if (!extended) {
            return false;
        }
        errorToClient(ServerError.error(refused.sqlState(), "[multimaster] skipped up to Sync: the query before these "
                + "messages in the same pipeline failed: " + refused.message(), refused.hint()));
        discardUntilSync = true;
        answerNextSync = true; // the backend is at a Sync point: the gateway's own answer just ended
        return true;
    }

    /** Ends a simple Query or FunctionCall the gateway handled itself: an error of its own guards the pipeline's tail. */
    private void ownAnswerEnded() {
        refusedBeforeTail = ownErrorSent;
        ownErrorSent = null;
    }

    private void forwardExtended(ByteBuf in, int ri, int total, int kind) {
        if (!link.skipping()) {
            replies.add(kind);
        }
        link.extendedWritten();
        clientRun.add(in, ri, total);
    }

    private void simpleQuery(ByteBuf in, int ri, int total) {
        int textStart = ri + 5;
        int textLength = Math.max(0, total - 6);
        if (link.skipping()) {
            clientRun.add(in, ri, total);
            return;
        }
        Latin1View view = new Latin1View(in, textStart, textLength);
        // pg_temp.name of a stand-in: the query with the stand-in schema there, run by the gateway (not relayed)
        TextEdits qualifying = standIns.existing() == null ? null
                : TempStandIns.qualifyEdits(view, standardStrings, standIns.existing(), standIns.names());
        String qualified = qualifying == null ? null : qualifying.apply();
        // psql's \d+ list of a table's publications: without the cluster's own, run by the gateway (not relayed)
        String hidden = ClusterPublication.hidden(qualified == null ? view : qualified);
        if (hidden == null) { // psql's table query of \d+: the replica identity the cluster set shown as PostgreSQL's
            hidden = ClusterPublication.replicaIdentityAsPostgres(qualified == null ? view : qualified);
        }
        qualified = hidden == null ? qualified : hidden;
        // how the text run was made from the client's, for error positions (psql's \d+ queries: no positions kept)
        TextEdits clientEdits = hidden == null ? qualifying : null;
        CharSequence query = qualified == null ? view : qualified;
        List<SqlStatement> statements = SqlSplitter.split(query, standardStrings);
        ServerError refusal = null;
        boolean special = qualified != null;
        byte[] temps = QueryPlan.marks(this, query, statements);
        for (int i = 0; i < statements.size(); i++) {
            SqlStatement st = statements.get(i);
            prepared.relayed(st.text(query), st.reach(), standardStrings);
            if (refusal == null && !st.kind().rollsBack() && st.reach() != Reach.STATUS && st.reach() != Reach.SESSION) {
                refusal = host.admission().refusal(info());
            }
            special |= refusal != null || interception.special(st, false) || temps[i] != 0;
        }
        boolean readOnly = false;
        if (!special) {
            AutocommitWrapping.QueryAction action = wrapping.simpleQuery(statements,
                    link.statusIfIdle());
            readOnly = action == AutocommitWrapping.QueryAction.READ_ONLY;
            special = action == AutocommitWrapping.QueryAction.WRAP;
        }
        if (!special) {
            BackendLink.Guard guard = readOnly ? readOnlyGuard() : null;
            noteStatements(statements, 0, statements.size());
            replies.add(ReplyQueue.QUERY);
            clientRun.add(in, ri, total);
            if (guard != null) {
                readOnlyGuardEnd(guard);
            }
            return;
        }
        clientRun.flush();
        ByteBuf text = qualified == null ? in.retainedSlice(textStart, textLength)
                : Unpooled.wrappedBuffer(qualified.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        in.skipBytes(total);
        suspend();
        ServerError refused = refusal;
        ownWork++;
        ownErrorSent = null;
        link.syncBackend().thenCompose(v -> refused != null
                        ? commits.abortStatement(refused, false).thenRun(this::readyToClient)
                        : new QueryPlan(this, text, clientEdits, statements, temps).step())
                .whenComplete((v, failure) -> {
                    text.release();
                    ownWork--;
                    ownAnswerEnded();
                    finishOwnWork(failure);
                });
    }

    /** Whether the client's next message, already received, is a Sync. */
    private static boolean syncFollows(ByteBuf in, int at) {
        return in.writerIndex() >= at + 5 && in.getByte(at) == PgWire.SYNC;
    }

    /** The read-only guard before the client's request (see {@link BackendLink#readOnlyGuard}). */
    private BackendLink.Guard readOnlyGuard() {
        clientRun.flush();
        return link.readOnlyGuard();
    }

    private void readOnlyGuardEnd(BackendLink.Guard guard) {
        clientRun.flush();
        link.readOnlyGuardEnd(guard);
    }

    /** Records what statements sent to the backend mean for the current transaction's commit. */
    void noteStatements(List<SqlStatement> sts, int from, int to) {
        for (int i = from; i < to; i++) {
            noteStatement(sts.get(i));
        }
    }

    private void noteStatement(SqlStatement st) {
        noteStatement(st.reach());
    }

    private void noteStatement(Reach reach) {
        notes.note(reach);
    }

    /**
     * Parses what the gateway needs of a Parse: the statement's class, the text of global DDL. A call the
     * gateway answers itself is replaced by a stand-in PostgreSQL can parse (same parameters and result column);
     * returns true when the message was forwarded that way.
     */
    private boolean parse(ByteBuf in, int ri, int total) {
        int limit = ri + total;
        int nameEnd = PgWire.cstringEnd(in, ri + 5, limit);
        int queryEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
        if (queryEnd < 0) {
            return false; // malformed: the backend will say so
        }
        Latin1View text = new Latin1View(in, nameEnd + 1, queryEnd - nameEnd - 1);
        // pg_temp.name of a stand-in: the statement with the stand-in schema there (see simpleQuery)
        TextEdits qualifying = standIns.existing() == null || link.skipping() ? null
                : TempStandIns.qualifyEdits(text, standardStrings, standIns.existing(), standIns.names());
        String qualified = qualifying == null ? null : qualifying.apply();
        CharSequence query = qualified == null ? text : qualified;
        SqlStatement st = SqlSplitter.classifyOne(query, standardStrings);
        prepared.relayed(query, st.reach(), standardStrings);
        KeptStatement kept = null;
        if (st.kind() != StatementKind.OTHER || st.reach() != Reach.ROWS) {
            byte[] body = st.reach() == Reach.GLOBAL_DDL
                    ? st.body(query).toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1) : null;
            int temporary = 0;
            if (st.reach() == Reach.SESSION) {
                int path = TempStandIns.setsSearchPath(query, standardStrings);
                temporary = TempStandIns.discards(query, standardStrings) ? 1 : path == 0 ? 0 : path + 1;
            }
            kept = new KeptStatement(st, body, null, false, null, temporary);
        }
        boolean rewritten = false;
        if (st.reach() == Reach.TEMPORARY && !link.skipping() && standIns.apply()) {
            TempStandIns.Rewrite rw = TempStandIns.rewrite(query, standardStrings, standIns.schema());
            // not a view: whether it must be PostgreSQL's own (it may read PostgreSQL temporary objects) is known only
            // when it runs, and the Parse cannot wait for the answer
            if (rw != null && !rw.view()) {
                clientRun.flush();
                ByteBuf standIn = PgWire.parse(client.alloc(), in.slice(ri + 5, nameEnd - ri - 5),
                        rw.text().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                        in.slice(queryEnd + 1, limit - queryEnd - 1));
                in.skipBytes(total);
                replies.add(ReplyQueue.PARSE, link.positioned(qualifying == null ? ErrorPositions.back(rw.text(), utf8, rw.edits())
                        : ErrorPositions.back(rw.text(), utf8, qualifying, rw.edits())));
                link.extendedWritten();
                link.write(standIn);
                kept = new KeptStatement(st, null, null, false, rw, qualifying);
                names.parsed(in, ri, nameEnd, kept);
                return true;
            }
        }
        SurfaceCall call = st.replication().call();
        if (qualified != null && (call == null || call.function() == SurfaceCall.Function.CREATE_EXTENSION)) {
            clientRun.flush();
            ByteBuf standIn = PgWire.parse(client.alloc(), in.slice(ri + 5, nameEnd - ri - 5),
                    qualified.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                    in.slice(queryEnd + 1, limit - queryEnd - 1));
            in.skipBytes(total);
            replies.add(ReplyQueue.PARSE, link.positioned(ErrorPositions.back(qualified, utf8, qualifying)));
            link.extendedWritten();
            link.write(standIn);
            names.parsed(in, ri, nameEnd, kept);
            return true;
        }
        if (call != null && call.function() != SurfaceCall.Function.CREATE_EXTENSION && !link.skipping()) {
            clientRun.flush();
            ByteBuf standIn = PgWire.parse(client.alloc(), in.slice(ri + 5, nameEnd - ri - 5), call.standIn(),
                    in.slice(queryEnd + 1, limit - queryEnd - 1));
            in.skipBytes(total);
            replies.add(ReplyQueue.PARSE);
            link.extendedWritten();
            link.write(standIn);
            rewritten = true;
        }
        names.parsed(in, ri, nameEnd, kept);
        return rewritten;
    }

    /** A large Bind: handle its names from what has arrived and stream the rest (large parameter values). */
    private boolean bindHead(ByteBuf in, int ri, int total) {
        int available = in.readableBytes();
        int portalEnd = PgWire.cstringEnd(in, ri + 5, ri + available);
        if (portalEnd < 0 || PgWire.cstringEnd(in, portalEnd + 1, ri + available) < 0) {
            return false;
        }
        names.bound(in, ri, ri + available);
        if (!link.skipping()) {
            replies.add(ReplyQueue.BIND);
        }
        link.extendedWritten();
        clientRun.add(in, ri, available);
        clientStreamRemaining = total - available;
        return true;
    }

    private void execute(ByteBuf in, int ri, int total) {
        if (link.skipping()) {
            clientRun.add(in, ri, total); // the backend discards it, as it does everything up to Sync
            return;
        }
        KeptStatement kept = names.executed(in, ri, total);
        SqlStatement st = kept == null ? null : kept.st();
        StatementKind kind = st == null ? StatementKind.OTHER : st.kind();
        Reach reach = st == null ? Reach.ROWS : st.reach();
        ServerError refusal = kind.rollsBack() || reach == Reach.STATUS || reach == Reach.SESSION ? null
                : host.admission().refusal(info());
        if (refusal != null || (st != null && interception.interceptedExtended(st))) {
            clientRun.flush();
            in.skipBytes(total);
            suspend();
            ownWork++;
            extendedIntercept(kept, refusal).whenComplete((v, failure) -> {
                ownWork--;
                answerNextSync = failure == null;
                finishOwnWork(failure);
            });
            return;
        }
        TempStandIns.Rewrite standIn = kept == null ? null : kept.standIn();
        switch (wrapping.execute(kind, reach, standIn != null,
                link.statusAtBatchStart(), syncFollows(in, ri + total))) {
            case WAIT_FOR_STATUS -> {
                // the transaction status at this batch's start is not known yet: wait, then look again
                clientRun.flush();
                suspend();
                link.whenStatusKnown(this::resume);
                return;
            }
            case READ_ONLY -> readOnlyGuard(); // an autocommit read whose batch ends here
            case BEGIN -> {
                clientRun.flush();
                replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced("BEGIN", List.of()));
                link.outsideClientBlock(true, true); // PostgreSQL's batch is no block
            }
            case RELAY -> { }
        }
        boolean ddl = reach == Reach.GLOBAL_DDL && kept.body() != null && host.clusterInitialised();
        if (standIn != null) {
            // the schema and search_path first, in the same batch (an error in it reaches the client, and the
            // backend skips the statement)
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced(TempStandIns.preludeSql(standIns.schema(), standIn.name(), standIn.view()), List.of()));
            commits.onCommitActions().remove(standIn.table());
            standIns.names().add(standIn.resolved());
            notes.standIn();
            if (standIn.onCommit() != TempStandIns.OnCommit.PRESERVE_ROWS) {
                commits.onCommitActions().put(standIn.table(), standIn.onCommit());
            }
        } else if (!ddl) {
            noteStatement(reach); // logged DDL is noted from the message statement's answer
        }
        if (ddl) {
            // the DDL message, in the batch just before the statement (an error in it reaches the client and
            // the backend skips the statement, as for any error in a batch)
            clientRun.flush();
            DdlMessages.Emit message = DdlMessages.emit(kept.body(), st.replication(), prepared, standardStrings);
            BackendLink.UnsyncedStatement emit = link.writeUnsynced(message.sql(), message.params());
            emit.result.thenAccept(this::ddlLogged);
            replies.add(ReplyQueue.OWN_UNSYNCED, emit);
        }
        if (standIn != null) {
            // a utility statement's errors come at Execute, positioned in the stand-in's text
            replies.add(ReplyQueue.EXECUTE, link.positioned(kept.qualified() == null ? ErrorPositions.back(standIn.text(), utf8,
                    standIn.edits()) : ErrorPositions.back(standIn.text(), utf8, kept.qualified(), standIn.edits())));
        } else {
            replies.add(ReplyQueue.EXECUTE);
        }
        link.extendedWritten();
        clientRun.add(in, ri, total);
        if (standIn != null && standIn.view()) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced(TempStandIns.END_SQL, List.of()));
        }
        if (standIns.existing() != null && reach == Reach.SESSION && kept != null && kept.discardsTemporary() == 1) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced(TempStandIns.discardSql(standIns.existing()), List.of()));
            commits.onCommitActions().clear();
            standIns.names().clear();
        } else if (standIns.existing() != null && reach == Reach.SESSION && kept != null && kept.discardsTemporary() > 1) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced(TempStandIns.searchPathSql(standIns.existing(),
                    kept.discardsTemporary() == 3), List.of()));
        }
        if (ddl) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, link.writeUnsynced(DdlMessages.endSql(st.replication()), List.of()));
        }
    }

    private void sync(ByteBuf in, int ri, int total) {
        if (answerNextSync && replies.isEmpty() && !wrapping.batchWrapped() && !copyInActive) {
            answerNextSync = false;
            discardUntilSync = false;
            wrapping.batchEnded();
            drop(in, total);
            readyToClient();
            return;
        }
        answerNextSync = false;
        boolean skipping = link.syncWritten();
        if (copyInActive) {
            clientRun.add(in, ri, total); // ignored by the backend inside COPY FROM STDIN
            return;
        }
        discardUntilSync = false;
        boolean wrapped = wrapping.batchEnded();
        if (wrapped) {
            // the wrapped batch's implicit commit is the gateway's: the footprint's quick query goes in the same
            // round trip; hold ReadyForQuery, commit, then answer
            if (!skipping) {
                clientRun.flush();
                BackendLink.UnsyncedStatement quick = link.writeUnsynced(host.footprintQueries().quick(), List.of());
                replies.add(ReplyQueue.OWN_UNSYNCED, quick);
                prefetchedQuick = quick.result;
            }
            replies.add(ReplyQueue.SYNC, new WrapCommitSink());
            clientRun.add(in, ri, total);
            clientRun.flush();
            suspend();
            ownWork++;
        } else {
            replies.add(ReplyQueue.SYNC);
            clientRun.add(in, ri, total);
        }
    }

    private void functionCall(ByteBuf in, int ri, int total) {
        ServerError refusal = host.admission().refusal(info());
        if (refusal == null) {
            notes.mayWrite(); // any function: it may write
            replies.add(ReplyQueue.FUNCTION);
            clientRun.add(in, ri, total);
            return;
        }
        clientRun.flush();
        in.skipBytes(total);
        suspend();
        ownWork++;
        ownErrorSent = null;
        link.syncBackend().thenCompose(v -> commits.abortStatement(refusal, false)).thenRun(this::readyToClient)
                .whenComplete((v, failure) -> {
                    ownWork--;
                    ownAnswerEnded();
                    finishOwnWork(failure);
                });
    }

    private void terminate(ByteBuf in, int ri, int total) {
        clientRun.add(in, ri, total);
        clientRun.flush();
        phase = Phase.CLOSED;
        if (backend != null) {
            backend.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        client.close();
    }

    private void drop(ByteBuf in, int total) {
        clientRun.flush();
        in.skipBytes(total);
    }

    // ------------------------------------------------------------------ startup

    /** The startup phase ended with the client's StartupMessage: the session is the client's user's from now on. */
    private void started(ByteBuf startup, boolean raw, StartupParameters params) {
        if (params != null) {
            user = params.user();
            database = params.database();
            applicationName = params.applicationName();
            info = null;
        }
        phase = Phase.CONNECTING;
        cancelStartupDeadline();
        updateClientAutoRead();
        connectBackend(startup, raw);
    }

    private void connectBackend(ByteBuf startup, boolean raw) {
        Endpoint target = host.backendEndpoint();
        Bootstrap bootstrap = new Bootstrap()
                .group(client.eventLoop())
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new BackendHandler());
        bootstrap.connect(target.host(), target.port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                startup.release();
                LOG.warn("gateway could not connect to the local PostgreSQL at {}: {}", target, f.cause().toString());
                fatal(ServerError.fatal(SqlStates.CONNECTION_FAILURE,
                        "[multimaster] gateway could not connect to the local PostgreSQL at " + target + ": "
                                + f.cause().getMessage()));
                return;
            }
            backend = f.channel();
            link.attach(backend);
            if (phase == Phase.CLOSED) {
                startup.release();
                backend.close();
                return;
            }
            phase = raw ? Phase.RAW : Phase.AUTH;
            if (!raw) {
                replies.add(ReplyQueue.STARTUP);
            }
            backend.writeAndFlush(startup);
            backend.config().setAutoRead(client.isWritable());
            updateClientAutoRead();
            processClient();
            link.flush();
        });
    }

    // ------------------------------------------------------------------ backend → client

    private void parameterStatus(ByteBuf in, int ri, int total) {
        int limit = ri + total;
        int nameEnd = PgWire.cstringEnd(in, ri + 5, limit);
        if (nameEnd < 0) {
            return;
        }
        String name = in.toString(ri + 5, nameEnd - ri - 5, java.nio.charset.StandardCharsets.UTF_8);
        if (name.equals("application_name")) {
            applicationName = PgWire.cstring(in, nameEnd + 1, limit);
            info = null;
        } else if (name.equals("standard_conforming_strings")) {
            standardStrings = "on".equals(PgWire.cstring(in, nameEnd + 1, limit));
        } else if (name.equals("client_encoding")) {
            utf8 = "UTF8".equalsIgnoreCase(PgWire.cstring(in, nameEnd + 1, limit));
        }
    }

    private void backendKey(int pid, int secret) {
        if (keyIssued) {
            host.keyRevoked(backendPid, backendSecret);
        }
        backendPid = pid;
        backendSecret = secret;
        keyIssued = true;
        info = null;
        host.keyIssued(pid, secret, this);
    }

    // ------------------------------------------------------------------ gateway-owned moments


    /** What a DDL message statement answered: logged (true), or not needed for temporary/unlogged relations. */
    boolean ddlLogged(QueryResult r) {
        String v = r.ok() ? r.singleValue() : null;
        if (DdlMessages.TEMPORARY.equals(v)) {
            notes.temporary();
            return false;
        }
        if (DdlMessages.UNLOGGED.equals(v)) {
            notes.standIn();
            return false;
        }
        if (DdlMessages.OTHER_DATABASE.equals(v)) {
            return false;
        }
        if (r.ok()) {
            notes.ddlLogged();
        }
        return r.ok();
    }

    /** Extended-protocol Execute of an intercepted statement (or any statement the node refuses now). */
    private CompletableFuture<Void> extendedIntercept(KeptStatement kept, ServerError refusal) {
        SqlStatement st = kept == null ? null : kept.st();
        return link.syncBackend().thenCompose(ready -> {
            if (ready.errorSeen()) {
                // an earlier message of this batch failed: the backend would have skipped this Execute
                discardUntilSync = true;
                return done();
            }
            ServerError error = refusal != null ? refusal : interception.statementError(st);
            if (error != null) {
                return commits.abortStatement(error, false).thenRun(() -> discardUntilSync = true);
            }
            if (st.reach() == Reach.SURFACE) {
                if (link.status() == 'E') {
                    errorToClient(IN_FAILED_TRANSACTION);
                    discardUntilSync = true;
                    return done();
                }
                SurfaceCall.Parameters params = kept.params() != null ? kept.params() : SurfaceCall.Parameters.NONE;
                return surface.answer(st.replication().call(), params, kept.binaryResult(), false).thenCompose(failure ->
                        failure == null ? done() : commits.abortStatement(failure, false).thenRun(() -> discardUntilSync = true));
            }
            return commits.commitStatement(false, st.kind() == StatementKind.COMMIT_AND_CHAIN)
                    .thenAccept(ok -> discardUntilSync |= !ok);
        });
    }

    private static final ServerError IN_FAILED_TRANSACTION = ServerError.error("25P02",
            "current transaction is aborted, commands ignored until end of transaction block");

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    private void finishOwnWork(Throwable failure) {
        if (out.isGone()) {
            if (ownWork == 0) {
                shutdown();
            }
            return;
        }
        if (failure != null && phase != Phase.CLOSED) {
            LOG.warn("session {} failed in a gateway-owned step; closing it", backendPid, failure);
            fatal(ServerError.fatal(SqlStates.INTERNAL_ERROR, "[multimaster] gateway error: " + failure));
            return;
        }
        if (closeAfterWork != null && ownWork == 0) {
            if (answerNextSync) {
                // the outcome (e.g. of an extended-protocol COMMIT) went out; its ReadyForQuery was to answer the
                // client's Sync: send it now, so that the client knows the outcome before the session ends
                answerNextSync = false;
                readyToClient();
            }
            fatal(closeAfterWork);
            return;
        }
        resume();
    }

    // ------------------------------------------------------------------ the gateway's own statements

    /** The Sync of a wrapped autocommit batch: commit through the committer, then ReadyForQuery. */
    private final class WrapCommitSink implements ReplySink {
        @Override
        public boolean clientVisible() {
            return true;
        }

        @Override
        public void ready(char status, boolean errorSeen) {
            commits.implicitCommit(false, takePrefetchedQuick()).thenRun(Session.this::readyToClient).whenComplete((v, failure) -> {
                ownWork--;
                finishOwnWork(failure);
            });
        }

        @Override
        public void dropped() {
            ownWork--;
        }
    }

    /** The take of the quick query sent with a wrapped transaction's last statement, if any. */
    CompletableFuture<QueryResult> takePrefetchedQuick() {
        CompletableFuture<QueryResult> quick = prefetchedQuick;
        prefetchedQuick = null;
        return quick;
    }

    /** This session as the commit boundary sees it: its backend at a Sync point, and the client's answers. */
    private final class Backend implements SessionBackend, SessionBackend.ClientAnswers {
        @Override
        public SessionInfo info() {
            return Session.this.info();
        }

        @Override
        public org.mtm.gateway.internal.commit.FootprintQueries footprintQueries() {
            return host.footprintQueries();
        }

        @Override
        public char transactionStatus() {
            return link.status();
        }

        @Override
        public boolean closed() {
            return phase == Phase.CLOSED;
        }

        @Override
        public java.util.concurrent.Executor eventLoop() {
            return client.eventLoop();
        }

        @Override
        public boolean inEventLoop() {
            return client.eventLoop().inEventLoop();
        }

        @Override
        public CompletableFuture<QueryResult> exchange(String sql) {
            return link.exchange(sql);
        }

        @Override
        public CompletableFuture<QueryResult> exchangeSimple(String sql) {
            return link.exchangeSimple(sql);
        }

        @Override
        public void commitUnawaited(boolean simpleQuery) {
            link.commitUnawaited(simpleQuery);
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            return host.detached().execute(sql);
        }

        @Override
        public void error(ServerError e) {
            errorToClient(e);
        }

        @Override
        public void notice(ServerError e) {
            out.notice(e);
        }

        @Override
        public void commandComplete(String tag) {
            out.commandComplete(tag);
        }

        @Override
        public void dropHeldComplete() {
            out.dropHeldComplete();
        }

        @Override
        public void flush() {
            out.flush();
        }
    }

    /** What the session does when its backend says so. */
    private final class LinkEvents implements BackendLink.Events {
        @Override
        public boolean closed() {
            return phase == Phase.CLOSED;
        }

        @Override
        public boolean raw() {
            return phase == Phase.RAW;
        }

        @Override
        public int backendPid() {
            return backendPid;
        }

        @Override
        public void startupEnded() {
            phase = Phase.READY;
            info = null;
        }

        @Override
        public void parameterStatus(ByteBuf in, int ri, int total) {
            Session.this.parameterStatus(in, ri, total);
        }

        @Override
        public void backendKey(int pid, int secret) {
            Session.this.backendKey(pid, secret);
        }

        @Override
        public void copyInStarted() {
            copyInActive = true;
            updateClientAutoRead();
            if (suspended) {
                client.eventLoop().execute(Session.this::processClientAndFlush);
            }
        }

        @Override
        public void broken() {
            closeBoth();
        }
    }

    // ------------------------------------------------------------------ output, flow control, lifecycle

    void errorToClient(ServerError e) {
        ownErrorSent = e;
        link.errorAnswered();
        out.error(e);
    }




    void readyToClient() {
        out.ready(link.status());
    }



    private void suspend() {
        suspended = true;
        updateClientAutoRead();
    }

    private void resume() {
        if (phase == Phase.CLOSED) {
            return;
        }
        suspended = false;
        updateClientAutoRead();
        client.eventLoop().execute(this::processClientAndFlush);
    }

    private void processClientAndFlush() {
        if (phase == Phase.CLOSED) {
            return;
        }
        processClient();
        link.flush();
        out.flush();
    }

    private void updateClientAutoRead() {
        boolean read = phase != Phase.CONNECTING && phase != Phase.CLOSED
                && (!suspended || copyInActive)
                && (backend == null || backend.isWritable());
        client.config().setAutoRead(read);
    }

    SessionInfo info() {
        SessionInfo i = info;
        if (i == null) {
            i = new SessionInfo(user, database, applicationName, backendPid);
            info = i;
        }
        return i;
    }

    /** The session ended (or is ending): nothing more goes to the client. */
    boolean closed() {
        return phase == Phase.CLOSED;
    }

    Channel clientChannel() {
        return client;
    }

    /** A CancelRequest for this session's key arrived (on this session's event loop). */
    void cancel() {
        if (phase != Phase.READY) {
            return;
        }
        if (surface.running() || link.ownStatementsRunning() || commits.committing()) {
            LOG.info("cancel request for session {} ignored: the gateway is committing its transaction", backendPid);
            return;
        }
        host.sendCancel(backendPid, backendSecret);
    }

    /**
     * Ends the session because the gateway stops, or the node left online with break_connection: the client gets
     * a FATAL error and both connections close; a session in the middle of a commit finishes the commit first.
     */
    void terminateSession(ServerError why) {
        if (phase == Phase.CLOSED) {
            return;
        }
        if (ownWork > 0) {
            closeAfterWork = why;
            return;
        }
        fatal(why);
    }

    private void fatal(ServerError e) {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        link.relayPending();
        if (client.isActive()) {
            client.writeAndFlush(PgWire.errorResponse(client.alloc(), e)).addListener(ChannelFutureListener.CLOSE);
        }
        if (backend != null && backend.isActive()) {
            // Terminate, so that PostgreSQL does not log an unexpected EOF
            backend.writeAndFlush(backend.alloc().buffer(5).writeByte(PgWire.TERMINATE).writeInt(4))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void protocolViolation(String what) {
        LOG.debug("protocol violation from client {}: {}", client.remoteAddress(), what);
        fatal(ServerError.fatal(SqlStates.PROTOCOL_VIOLATION, "[multimaster] gateway: " + what));
    }

    private void closeBoth() {
        phase = Phase.CLOSED;
        client.close();
        if (backend != null) {
            backend.close();
        }
    }

    /** Both sides are closing or closed: release everything once. */
    /** The startup packet came (or the session ends): its deadline task need not wait in the event loop. */
    private void cancelStartupDeadline() {
        java.util.concurrent.Future<?> d = startupDeadline;
        if (d != null) {
            startupDeadline = null;
            d.cancel(false);
        }
    }

    private void shutdown() {
        cancelStartupDeadline();
        if (phase != Phase.CLOSED) {
            out.flush();
        }
        phase = Phase.CLOSED;
        if (backend != null && backend.isActive()) {
            backend.close();
        }
        if (standIns.existing() != null) {
            host.standInsLeft(); // the backend ends with the connection: its schema is swept after it
        }
        surface.sessionEnded();
        if (client.isActive()) {
            client.close();
        }
        if (clientIn != null) {
            clientIn.release();
            clientIn = null;
        }
        clientRun.clear();
        out.dropHeldComplete();
        link.release();
        if (keyIssued) {
            keyIssued = false;
            host.keyRevoked(backendPid, backendSecret);
        }
        host.closed(this);
    }
}
