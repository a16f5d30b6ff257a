package org.mtm.gateway.internal.session;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.mtm.api.Endpoint;
import org.mtm.api.Gid;
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
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.Replication;
import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.mtm.gateway.internal.sql.TempStandIns;
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
 * <p><b>Pairing.</b> Every request forwarded to the backend is recorded in a {@link ReplyQueue}, so replies
 * can be routed (client, or the gateway's own statements) and errors in pipelines handled the way the
 * backend handles them (skip to Sync). ReadyForQuery's status byte is the transaction status.
 *
 * <p><b>Gateway-owned moments.</b> At a COMMIT (and the other intercepted statements) the gateway stops
 * reading the client (autoRead off, buffered messages wait), brings the backend to a Sync point, runs its
 * own statements there (extended protocol with a reserved statement/portal name, so the client's unnamed
 * statement and portal survive), answers the client itself, and resumes.
 */
public final class Session extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(Session.class);

    /** PostgreSQL's own limit on a frontend message (PQ_LARGE_MESSAGE_LIMIT). */
    /** PostgreSQL's own bound on a message's length (PQ_LARGE_MESSAGE_LIMIT). */
    static final int MAX_MESSAGE = 0x3fffffff;
    /** Bind messages larger than this are streamed once their portal and statement names are read. */
    private static final int STREAM_BIND_ABOVE = 64 * 1024;
    /**
     * The gateway's statement that makes the current (implicit) transaction read-only: a utility statement (no
     * planning), and not SET LOCAL or SET TRANSACTION, which outside a block warn (into the server log, for every
     * read). transaction_read_only holds for the current transaction only: the next one starts from
     * default_transaction_read_only whatever was SET.
     */
    static final String READ_ONLY_SQL = "SET transaction_read_only = on";
    /** The guard alone, and behind the Closes of what an earlier own statement that failed may have left. */
    private static final ByteBuf READ_ONLY_GUARD = Unpooled.unreleasableBuffer(PgWire.ownStatementOpeningTransaction(
            io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, READ_ONLY_SQL, false).asReadOnly());
    private static final ByteBuf READ_ONLY_GUARD_AFTER_LEFTOVERS = Unpooled.unreleasableBuffer(
            PgWire.ownStatementOpeningTransaction(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, READ_ONLY_SQL, true)
                    .asReadOnly());

    /** Added to every client's startup options (see the mtm schema's mtm.refuse_unannounced_ddl). */
    static final String GATEWAY_SESSION_OPTION = "-c mtm.via_gateway=on";

    private enum Phase { STARTUP, CONNECTING, AUTH, READY, RAW, CLOSED }

    /** Closes a client that sends no startup packet in time (gateway.startup_timeout_ms); event loop only. */
    private java.util.concurrent.Future<?> startupDeadline;

    /** ReadyForQuery as the gateway saw it: status byte, and whether the client got an error since the previous one. */
    private record Ready(char status, boolean errorSeen) { }

    private final SessionHost host;
    private final Channel client;
    private Channel backend;
    private Phase phase = Phase.STARTUP;
    private final ReplyQueue replies = new ReplyQueue();

    // receive buffers and the pending run (contiguous bytes to forward) in each
    private ByteBuf clientIn;
    private ByteBuf backendIn;
    private int clientStreamRemaining;
    private int backendStreamRemaining;
    /** Client bytes relayed to the backend unchanged, and backend bytes relayed to the client. */
    private final ForwardRun clientRun = new ForwardRun(() -> clientIn, this::toBackend);
    private final ForwardRun backendRun = new ForwardRun(() -> backendIn, this::toClient);
    private boolean backendFlushNeeded;
    private boolean clientFlushNeeded;

    // what the session is
    private String user = "";
    /** mtm.get_snapshots() was called: the snapshots are freed when the session ends. */
    private boolean snapshotsTaken;
    private String database = "";
    private String applicationName = "";
    private boolean standardStrings = true;
    /** client_encoding is UTF8: error positions count characters, not bytes, of a query. */
    private boolean utf8 = true;
    private int backendPid;
    private int backendSecret;
    private boolean keyIssued;
    private SessionInfo info;
    private char txStatus = 'I';

    /** Extended protocol: the statements and portals the gateway cares about (anything but OTHER with ROWS). */
    private final ExtendedNames names = new ExtendedNames();

    /** What the current transaction did that its commit must know. */
    private final TransactionNotes notes = new TransactionNotes();
    /** Where the client's COMMIT goes to the committer. */
    private final CommitBoundary commits;
    /** The session's stand-in schema for temporary tables ({@link TempStandIns}), once it was asked for. */
    private String standInSchema;
    /** Names (as resolved) of the stand-ins this session created: their {@code pg_temp.name} goes to the schema. */
    private final java.util.Set<String> standInNames = new java.util.HashSet<>();
    /**
     * The CommandComplete of the last statement of a simple Query the gateway commits itself, held until the
     * commit's outcome: PostgreSQL commits a query's implicit transaction before that statement's CommandComplete
     * (deferred triggers' NOTICEs come first; a failed commit leaves only its error).
     */
    private ByteBuf heldComplete;
    /** The footprint's quick query, sent in the same round trip as the last statement of a wrapped transaction. */
    private CompletableFuture<QueryResult> prefetchedQuick;
    /**
     * Requests of the gateway's own still on their way after which the status is known to be 'I' (COMMITs of
     * read-only wrapped transactions, the Sync behind a read-only guarded Query): their replies are the gateway's, so
     * the next request need not wait for them.
     */
    private int idleTail;
    /** An own statement of the gateway failed: its statement may be left, to be closed before the next guard's Parse. */
    private boolean ownLeftovers;

    private boolean extendedSinceSync;
    /** The backend discards messages until the client's next Sync (an error with no Sync queued). */
    private boolean backendSkipping;
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
    private boolean errorSinceReady;
    private final AutocommitWrapping wrapping;
    private final SessionStartup startup;

    /** The gateway owns the backend; the client's messages wait (except COPY data the backend asked for). */
    private boolean suspended;
    /** Gateway-owned steps in progress (the client waits); the session closes only after them. */
    private int ownWork;
    /** The gateway's own statements or the committer are running: a CancelRequest must not hit them. */
    private int gatewayStatements;
    private ServerError closeAfterWork;
    /** The client disconnected while the gateway owned the backend; the session ends when that work does. */
    private boolean clientGone;
    private final ArrayDeque<Runnable> idleWaiters = new ArrayDeque<>(2);
    /** Waiters for "no ReadyForQuery outstanding" (the current batch may still have unsynced requests). */
    private final ArrayDeque<Runnable> readyWaiters = new ArrayDeque<>(1);

    Session(SessionHost host, Channel client) {
        this.host = host;
        this.client = client;
        this.wrapping = new AutocommitWrapping(host::wrapAutocommit, host::clusterInitialised);
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
                () -> standInSchema);
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
        flushBackend();
        flushClient();
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
            clientGone = true;
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
            backendIn = backendIn == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), backendIn, in);
            processBackend();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flushClient();
            flushBackend();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            updateClientAutoRead();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            LOG.debug("backend connection of session {} closed", backendPid);
            flushClient();
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
        if (!backendSkipping) {
            replies.add(kind);
        }
        extendedSinceSync = true;
        clientRun.add(in, ri, total);
    }

    private void simpleQuery(ByteBuf in, int ri, int total) {
        int textStart = ri + 5;
        int textLength = Math.max(0, total - 6);
        if (backendSkipping) {
            clientRun.add(in, ri, total);
            return;
        }
        Latin1View view = new Latin1View(in, textStart, textLength);
        // pg_temp.name of a stand-in: the query with the stand-in schema there, run by the gateway (not relayed)
        String qualified = standInSchema == null ? null
                : TempStandIns.qualify(view, standardStrings, standInSchema, standInNames);
        // psql's \d+ list of a table's publications: without the cluster's own, run by the gateway (not relayed)
        String hidden = ClusterPublication.hidden(qualified == null ? view : qualified);
        if (hidden == null) { // psql's table query of \d+: the replica identity the cluster set shown as PostgreSQL's
            hidden = ClusterPublication.replicaIdentityAsPostgres(qualified == null ? view : qualified);
        }
        qualified = hidden == null ? qualified : hidden;
        CharSequence query = qualified == null ? view : qualified;
        List<SqlStatement> statements = SqlSplitter.split(query, standardStrings);
        ServerError refusal = null;
        boolean special = qualified != null;
        byte[] temps = standIns(query, statements);
        for (int i = 0; i < statements.size(); i++) {
            SqlStatement st = statements.get(i);
            if (refusal == null && !st.kind().rollsBack() && st.reach() != Reach.STATUS && st.reach() != Reach.SESSION) {
                refusal = host.admission().refusal(info());
            }
            special |= refusal != null || special(st, false) || temps[i] != 0;
        }
        boolean readOnly = false;
        if (!special) {
            AutocommitWrapping.QueryAction action = wrapping.simpleQuery(statements,
                    replies.size() == idleTail ? txStatus : 0);
            readOnly = action == AutocommitWrapping.QueryAction.READ_ONLY;
            special = action == AutocommitWrapping.QueryAction.WRAP;
        }
        if (!special) {
            UnsyncedStatement guard = readOnly ? readOnlyGuard() : null;
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
        syncBackend().thenCompose(v -> refused != null
                        ? commits.abortStatement(refused, false).thenRun(this::readyToClient)
                        : new QueryPlan(text, statements, temps).step())
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

    /**
     * Makes the transaction the client's next request starts read-only: the gateway's own statement, unsynced, so
     * it shares the implicit transaction of what follows (a simple Query, or the rest of an extended batch up to
     * its Sync). No round trip: it goes in the same write as the client's request.
     */
    private UnsyncedStatement readOnlyGuard() {
        clientRun.flush();
        boolean leftovers = ownLeftovers;
        ownLeftovers = false;
        toBackend((leftovers ? READ_ONLY_GUARD_AFTER_LEFTOVERS : READ_ONLY_GUARD).duplicate());
        UnsyncedStatement guard = new UnsyncedStatement(PgWire.openingTransactionCloses(leftovers));
        replies.add(ReplyQueue.OWN_UNSYNCED, guard);
        return guard;
    }

    /**
     * After a simple Query behind {@link #readOnlyGuard}: a Sync of the gateway's. Should the guard fail (a cancel
     * request hitting it), the backend skips the Query up to this Sync, and its ReadyForQuery answers the Query.
     */
    private void readOnlyGuardEnd(UnsyncedStatement guard) {
        clientRun.flush();
        toBackend(PgWire.sync(client.alloc()));
        idleTail++;
        replies.add(ReplyQueue.SYNC, new ReplySink() {
            @Override
            public void ready(char status, boolean errorSeen) {
                idleTail--;
            }

            @Override
            public void dropped() {
                idleTail--;
            }

            @Override
            public void message(byte type, ByteBuf message) {
                // the guard's error went to the client and the backend skipped the Query: this answers it
                boolean skipped = guard.result.handle((r, e) -> e != null || !r.ok()).getNow(false);
                if (skipped && type == PgWire.READY_FOR_QUERY) {
                    toClient(message.retainedSlice());
                }
            }
        });
    }

    /** Records what statements sent to the backend mean for the current transaction's commit. */
    private void noteStatements(List<SqlStatement> sts, int from, int to) {
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
        String qualified = standInSchema == null || backendSkipping ? null
                : TempStandIns.qualify(text, standardStrings, standInSchema, standInNames);
        CharSequence query = qualified == null ? text : qualified;
        SqlStatement st = SqlSplitter.classifyOne(query, standardStrings);
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
        if (st.reach() == Reach.TEMPORARY && !backendSkipping && standInsApply()) {
            TempStandIns.Rewrite rw = TempStandIns.rewrite(query, standardStrings, standInSchema());
            // not a view: whether it must be PostgreSQL's own (it may read PostgreSQL temporary objects) is known only
            // when it runs, and the Parse cannot wait for the answer
            if (rw != null && !rw.view()) {
                clientRun.flush();
                ByteBuf standIn = PgWire.parse(client.alloc(), in.slice(ri + 5, nameEnd - ri - 5),
                        rw.text().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                        in.slice(queryEnd + 1, limit - queryEnd - 1));
                in.skipBytes(total);
                replies.add(ReplyQueue.PARSE);
                extendedSinceSync = true;
                toBackend(standIn);
                kept = new KeptStatement(st, null, null, false, rw);
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
            replies.add(ReplyQueue.PARSE);
            extendedSinceSync = true;
            toBackend(standIn);
            names.parsed(in, ri, nameEnd, kept);
            return true;
        }
        if (call != null && call.function() != SurfaceCall.Function.CREATE_EXTENSION && !backendSkipping) {
            clientRun.flush();
            ByteBuf standIn = PgWire.parse(client.alloc(), in.slice(ri + 5, nameEnd - ri - 5), call.standIn(),
                    in.slice(queryEnd + 1, limit - queryEnd - 1));
            in.skipBytes(total);
            replies.add(ReplyQueue.PARSE);
            extendedSinceSync = true;
            toBackend(standIn);
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
        if (!backendSkipping) {
            replies.add(ReplyQueue.BIND);
        }
        extendedSinceSync = true;
        clientRun.add(in, ri, available);
        clientStreamRemaining = total - available;
        return true;
    }

    private void execute(ByteBuf in, int ri, int total) {
        if (backendSkipping) {
            clientRun.add(in, ri, total); // the backend discards it, as it does everything up to Sync
            return;
        }
        KeptStatement kept = names.executed(in, ri, total);
        SqlStatement st = kept == null ? null : kept.st();
        StatementKind kind = st == null ? StatementKind.OTHER : st.kind();
        Reach reach = st == null ? Reach.ROWS : st.reach();
        ServerError refusal = kind.rollsBack() || reach == Reach.STATUS || reach == Reach.SESSION ? null
                : host.admission().refusal(info());
        if (refusal != null || (st != null && interceptedExtended(st))) {
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
                replies.pendingReady() <= idleTail ? txStatus : 0, syncFollows(in, ri + total))) {
            case WAIT_FOR_STATUS -> {
                // the transaction status at this batch's start is not known yet: wait, then look again
                clientRun.flush();
                suspend();
                readyWaiters.add(this::resume);
                return;
            }
            case READ_ONLY -> readOnlyGuard(); // an autocommit read whose batch ends here
            case BEGIN -> {
                clientRun.flush();
                replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced("BEGIN", List.of()));
            }
            case RELAY -> { }
        }
        boolean ddl = reach == Reach.GLOBAL_DDL && kept.body() != null && host.clusterInitialised();
        if (standIn != null) {
            // the schema and search_path first, in the same batch (an error in it reaches the client, and the
            // backend skips the statement)
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced(TempStandIns.preludeSql(standInSchema(), standIn.name(), standIn.view()), List.of()));
            commits.onCommitActions().remove(standIn.table());
            standInNames.add(standIn.resolved());
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
            UnsyncedStatement emit = writeUnsynced(DdlMessages.emitSql(st.replication()),
                    DdlMessages.emitParams(kept.body(), st.replication()));
            emit.result.thenAccept(this::ddlLogged);
            replies.add(ReplyQueue.OWN_UNSYNCED, emit);
        }
        replies.add(ReplyQueue.EXECUTE);
        extendedSinceSync = true;
        clientRun.add(in, ri, total);
        if (standIn != null && standIn.view()) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced(TempStandIns.END_SQL, List.of()));
        }
        if (standInSchema != null && reach == Reach.SESSION && kept != null && kept.discardsTemporary() == 1) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced(TempStandIns.discardSql(standInSchema), List.of()));
            commits.onCommitActions().clear();
            standInNames.clear();
        } else if (standInSchema != null && reach == Reach.SESSION && kept != null && kept.discardsTemporary() > 1) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced(TempStandIns.searchPathSql(standInSchema,
                    kept.discardsTemporary() == 3), List.of()));
        }
        if (ddl) {
            clientRun.flush();
            replies.add(ReplyQueue.OWN_UNSYNCED, writeUnsynced(DdlMessages.endSql(st.replication()), List.of()));
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
        boolean skipping = backendSkipping;
        backendSkipping = false;
        extendedSinceSync = false;
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
                UnsyncedStatement quick = writeUnsynced(Footprint.QUICK_SQL, List.of());
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
        syncBackend().thenCompose(v -> commits.abortStatement(refusal, false)).thenRun(this::readyToClient)
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
            flushBackend();
        });
    }

    // ------------------------------------------------------------------ backend → client

    private void processBackend() {
        ByteBuf in = backendIn;
        try {
            while (in != null && in.isReadable() && phase != Phase.CLOSED) {
                int ri = in.readerIndex();
                if (backendStreamRemaining > 0) {
                    int n = Math.min(backendStreamRemaining, in.readableBytes());
                    backendRun.add(in, ri, n);
                    backendStreamRemaining -= n;
                    continue;
                }
                if (phase == Phase.RAW) {
                    backendRun.add(in, ri, in.readableBytes());
                    break;
                }
                if (in.readableBytes() < 5) {
                    break;
                }
                byte type = in.getByte(ri);
                int length = in.getInt(ri + 1);
                if (length < 4) {
                    LOG.warn("backend of session {} sent a message of invalid length {}; closing", backendPid, length);
                    closeBoth();
                    return;
                }
                int total = 1 + length;
                boolean async = type == PgWire.NOTICE_RESPONSE || type == PgWire.NOTIFICATION_RESPONSE
                        || type == PgWire.PARAMETER_STATUS;
                ReplySink sink = replies.headSink();
                boolean captured = sink != null && type != PgWire.NOTIFICATION_RESPONSE
                        && type != PgWire.PARAMETER_STATUS && sink.captures(type);
                boolean whole = captured || type == PgWire.READY_FOR_QUERY || type == PgWire.PARAMETER_STATUS
                        || type == PgWire.BACKEND_KEY_DATA || type == PgWire.ERROR_RESPONSE
                        || type == PgWire.COPY_IN_RESPONSE;
                if (!whole) {
                    int n = Math.min(total, in.readableBytes());
                    backendRun.add(in, ri, n);
                    backendStreamRemaining = total - n;
                    if (sink != null) {
                        sink.passed(type);
                    }
                    if (!async) {
                        replied(type);
                    }
                    continue;
                }
                if (in.readableBytes() < total) {
                    break;
                }
                if (type == PgWire.READY_FOR_QUERY) {
                    txStatus = (char) in.getByte(ri + 5);
                    if (txStatus == 'I' && replies.size() == 1) {
                        notes.clear(); // nothing else pending: no later transaction has begun
                    }
                }
                if (captured) {
                    backendRun.flush();
                    ByteBuf message = in.slice(ri, total);
                    in.skipBytes(total);
                    sink.message(type, message);
                    if (!async) {
                        replied(type);
                    }
                    continue;
                }
                switch (type) {
                    case PgWire.PARAMETER_STATUS -> parameterStatus(in, ri, total);
                    case PgWire.BACKEND_KEY_DATA -> backendKey(in.getInt(ri + 5), in.getInt(ri + 9));
                    case PgWire.ERROR_RESPONSE -> errorSinceReady = true;
                    default -> { }
                }
                if (type == PgWire.READY_FOR_QUERY && sink != null && !sink.forwardsReady()) {
                    backendRun.flush();
                    in.skipBytes(total);
                } else {
                    backendRun.add(in, ri, total);
                    if (sink != null) {
                        sink.passed(type);
                    }
                }
                if (!async) {
                    replied(type);
                }
            }
        } finally {
            backendRun.flush();
            if (backendIn != null && !backendIn.isReadable()) {
                backendIn.release();
                backendIn = null;
            } else if (backendIn != null && backendIn.refCnt() == 1) {
                backendIn.discardSomeReadBytes();
            }
        }
    }

    /** A reply of type {@code type} to the head request arrived: advance the queue. */
    private void replied(byte type) {
        int kind = replies.headKind();
        if (kind == 0) {
            return; // unsolicited, e.g. FATAL before the server closes the connection
        }
        ReplySink sink = replies.headSink();
        if (type == PgWire.ERROR_RESPONSE && ReplyQueue.extended(kind)) {
            backendRun.flush();
            replies.pop();
            if (sink != null) {
                sink.ended();
            }
            if (!replies.dropUntilSync(ReplySink::dropped)) {
                backendSkipping = true;
            }
            checkIdle();
            return;
        }
        if (type == PgWire.COPY_IN_RESPONSE && !replies.copyInStarted()) {
            copyInActive = true;
            updateClientAutoRead();
            if (suspended) {
                client.eventLoop().execute(this::processClientAndFlush);
            }
        }
        boolean ends = kind == ReplyQueue.OWN_UNSYNCED ? sink.ends(type) : ReplyQueue.ends(kind, type);
        if (!ends) {
            return;
        }
        backendRun.flush();
        replies.pop();
        if (type == PgWire.READY_FOR_QUERY) {
            boolean errorSeen = errorSinceReady;
            errorSinceReady = false;
            if (kind == ReplyQueue.STARTUP) {
                phase = Phase.READY;
                info = null;
            }
            if (sink != null) {
                sink.ready(txStatus, errorSeen);
            }
        } else if (sink != null) {
            sink.ended();
        }
        checkIdle();
    }

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

    /** Transaction-control statements the gateway answers itself instead of relaying (both protocols). */
    private boolean intercepted(SqlStatement st) {
        return switch (st.kind()) {
            case COMMIT, COMMIT_AND_CHAIN -> true;
            case PREPARE_TRANSACTION -> Gid.isReserved(st.gid());
            case COMMIT_PREPARED, ROLLBACK_PREPARED -> Gid.isReserved(st.gid()) && !info().isAdmin();
            default -> false;
        };
    }

    /** A statement the cluster refuses (only once it is initialised; an mtm_admin session runs it on this node). */
    private boolean refused(SqlStatement st) {
        return st.reach() == Reach.REFUSED && host.clusterInitialised() && !info().isAdmin();
    }

    /**
     * Statements of a simple Query at which the gateway splits it: intercepted ones, refused ones, the calls it
     * answers, global DDL (bracketed by its messages), and — inside a block the gateway opened to keep a split
     * query atomic — BEGIN and ROLLBACK, which PostgreSQL would apply to its implicit block.
     */
    private boolean special(SqlStatement st, boolean emulatedBlock) {
        return intercepted(st) || refused(st) || st.reach() == Reach.SURFACE
                || (st.reach() == Reach.GLOBAL_DDL && host.clusterInitialised())
                || (emulatedBlock && (st.kind() == StatementKind.BEGIN || st.kind() == StatementKind.ROLLBACK));
    }

    /** Extended-protocol Executes the gateway answers itself. */
    private boolean interceptedExtended(SqlStatement st) {
        return intercepted(st) || refused(st) || st.reach() == Reach.SURFACE;
    }

    /** Why a statement is refused outright, or null (COMMIT, calls the gateway answers, ...). */
    private ServerError statementError(SqlStatement st) {
        if (st.reach() == Reach.REFUSED || (st.reach() == Reach.SURFACE && st.replication().call() == null)) {
            return ServerError.error(st.replication().sqlState(), st.replication().message(), st.replication().hint());
        }
        return switch (st.kind()) {
            case PREPARE_TRANSACTION -> ServerError.error(SqlStates.RESERVED_NAME,
                    "[multimaster] transaction identifier \"" + st.gid() + "\" is reserved: the prefix "
                            + Gid.PREFIX + " belongs to the cluster's own prepared transactions",
                    "Choose a transaction identifier that does not start with " + Gid.PREFIX + ".");
            case COMMIT_PREPARED, ROLLBACK_PREPARED -> ServerError.error(SqlStates.RESERVED_NAME,
                    "[multimaster] prepared transaction \"" + st.gid() + "\" belongs to the cluster and is "
                            + "finished by it; only a session with application_name 'mtm_admin' may finish it by hand",
                    null);
            default -> null;
        };
    }

    /** The session's stand-in schema, named on first use. */
    private String standInSchema() {
        if (standInSchema == null) {
            standInSchema = TempStandIns.schemaName(backendPid, java.util.concurrent.ThreadLocalRandom.current().nextLong());
        }
        return standInSchema;
    }

    /** Whether this session's temporary tables get stand-ins: an initialised cluster, not an mtm_admin session. */
    private boolean standInsApply() {
        return host.clusterInitialised() && !info().isAdmin();
    }

    private static final byte STAND_IN = 1;
    private static final byte DISCARD = 2;
    private static final byte SEARCH_PATH = 3;
    private static final byte SEARCH_PATH_LOCAL = 4;
    private static final byte PREPARE = 5;
    private static final byte IMPLICIT_VIEW = 6;

    /**
     * Which statements of a simple Query create temporary tables the gateway makes stand-ins for, or discard them
     * (only in an initialised cluster, and not for mtm_admin sessions, which commit on their node only).
     */
    private byte[] standIns(CharSequence text, List<SqlStatement> statements) {
        byte[] marks = new byte[statements.size()];
        if (!standInsApply()) {
            return marks;
        }
        for (int i = 0; i < marks.length; i++) {
            SqlStatement st = statements.get(i);
            if (st.reach() == Reach.TEMPORARY && TempStandIns.creates(st.text(text), standardStrings)) {
                marks[i] = STAND_IN;
            } else if (standInSchema != null && st.reach() == Reach.SESSION
                    && TempStandIns.discards(st.text(text), standardStrings)) {
                marks[i] = DISCARD;
            } else if (standInSchema != null && st.kind() == StatementKind.PREPARE_TRANSACTION && !Gid.isReserved(st.gid())) {
                marks[i] = PREPARE;
            } else if (standInSchema != null && st.reach() == Reach.SESSION) {
                int path = TempStandIns.setsSearchPath(st.text(text), standardStrings);
                marks[i] = path == 0 ? 0 : path == 2 ? SEARCH_PATH_LOCAL : SEARCH_PATH;
            } else if (standInSchema != null && st.reach() == Reach.GLOBAL_DDL
                    && TempStandIns.implicitlyTemporary(st.text(text), standardStrings, standInNames) != null) {
                marks[i] = IMPLICIT_VIEW;
            }
        }
        return marks;
    }

    /**
     * A simple Query whose statements need the gateway: relayed in pieces split at the special statements,
     * each answered, bracketed or relayed in turn, with the reply stream PostgreSQL would send for the whole
     * query. Where PostgreSQL would run the statements as one implicit block, a split query runs in a block the
     * gateway opens ({@code emulated}) and commits at the end, so it stays atomic; an error ends the query.
     */
    private final class QueryPlan {
        private final ByteBuf text;
        private final List<SqlStatement> sts;
        /** Per statement: {@link #STAND_IN} creates a stand-in, {@link #DISCARD} drops them, 0 otherwise. */
        private final byte[] temps;
        private int next;
        /** The statements run in a block the gateway opened (PostgreSQL's implicit block of the query). */
        private boolean emulated;

        QueryPlan(ByteBuf text, List<SqlStatement> sts, byte[] temps) {
            this.text = text;
            this.sts = sts;
            this.temps = temps;
        }

        CompletableFuture<Void> step() {
            int n = sts.size();
            int j = next;
            while (j < n && !special(sts.get(j), emulated) && temps[j] == 0) {
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
            boolean wrapTail = !specialFollows && host.wrapAutocommit() && AutocommitWrapping.wrappable(sts, next, j);
            // VACUUM, CREATE DATABASE, ... in a query of several statements: PostgreSQL runs it in the query's implicit
            // block and refuses it (25001); relayed alone it would run. In the gateway's block PostgreSQL refuses it.
            boolean refusedInBlock = txStatus == 'I' && !emulated && nonTransactionalAmongOthers(next, j);
            boolean open = txStatus == 'I' && !emulated && (refusedInBlock || !control && (specialFollows || wrapTail));
            emulated |= open;
            boolean hold = specialFollows || emulated;
            // BEGIN, the client's text unchanged (pg_stat_activity, the log and error positions show it as sent)
            // and the quick query: three Queries written at once, one round trip. The client's simple Query drops
            // its unnamed statement anyway: the gateway's own may be simple Queries
            CompletableFuture<QueryResult> begin = open ? aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
            CompletableFuture<Ready> piece = sendPiece(next, j, hold);
            if (!specialFollows && emulated && !copies(next, j)) {
                prefetchedQuick = aroundClients(Footprint.QUICK_SQL); // (not behind COPY: it would be copy data)
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
        private CompletableFuture<Void> afterPiece(Ready ready, boolean hold) {
            if (!hold) {
                return done(); // the piece's ReadyForQuery went to the client: query finished
            }
            if (ready.errorSeen()) {
                return endQueryAfterError();
            }
            if (txStatus == 'I') {
                emulated = false; // a ROLLBACK in the piece ended the block
            }
            return step();
        }

        /** The end of the query: the commit of the gateway's block, if it opened one. */
        private CompletableFuture<Void> finish() {
            boolean block = emulated;
            emulated = false;
            if (block) {
                return commits.implicitCommit(true, takePrefetchedQuick()).thenRun(() -> {
                    heldCompleteToClient();
                    readyToClient();
                });
            }
            heldCompleteToClient();
            readyToClient();
            return done();
        }

        /** An error ended the query: PostgreSQL rolls its implicit block back, the gateway its own. */
        private CompletableFuture<Void> endQueryAfterError() {
            boolean block = emulated;
            emulated = false;
            prefetchedQuick = null; // it failed in the aborted block
            dropHeldComplete();
            return (block && txStatus != 'I' ? exchangeSimple("ROLLBACK").thenApply(r -> (Void) null) : done())
                    .thenRun(Session.this::readyToClient);
        }

        private CompletableFuture<Void> atSpecial(int j) {
            SqlStatement st = sts.get(j);
            next = j + 1;
            boolean block = emulated;
            if (txStatus == 'E' && !intercepted(st)) {
                // a failed block: PostgreSQL answers every statement with the same error
                return sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
            }
            if (block && st.kind() == StatementKind.BEGIN) {
                // BEGIN in PostgreSQL's implicit block makes it a regular block: the gateway's block is that now
                emulated = false;
                commandCompleteToClient("BEGIN");
                return step();
            }
            if (block && st.kind() == StatementKind.ROLLBACK) {
                emulated = false;
                return exchange("ROLLBACK").thenCompose(r -> {
                    noticeToClient(ServerError.warning(SqlStates.NO_ACTIVE_TRANSACTION, "there is no transaction in progress"));
                    commandCompleteToClient("ROLLBACK");
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
                return txStatus == 'T' ? prepareTransaction()
                        : sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
            }
            ServerError error = statementError(st);
            if (error != null) {
                emulated = false;
                return commits.abortStatement(error, block).thenRun(Session.this::readyToClient);
            }
            if (st.reach() == Reach.SURFACE) {
                return surface(st.replication().call(), SurfaceCall.Parameters.NONE, false, true).thenCompose(failure -> {
                    if (failure == null) {
                        return step();
                    }
                    emulated = false;
                    return commits.abortStatement(failure, block).thenRun(Session.this::readyToClient);
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
                readyToClient();
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
            boolean open = txStatus == 'I';
            emulated |= open;
            CompletableFuture<QueryResult> begin = open ? aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
            byte[] body = bytes(st.bodyStart(), st.body(new Latin1View(text, text.readerIndex(), text.readableBytes())).length());
            CompletableFuture<QueryResult> emit = exchange(DdlMessages.emitSql(st.replication()),
                    DdlMessages.emitParams(body, st.replication()));
            return begin.thenCombine(emit, (b, e) -> e).thenCompose(e -> {
                if (!e.ok()) {
                    LOG.warn("session {}: the DDL message for a statement could not be written: {}", backendPid, e.error());
                    errorToClient(e.error());
                    return endQueryAfterError();
                }
                boolean logged = ddlLogged(e);
                boolean hold = true;
                CompletableFuture<Ready> piece = sendPiece(j, j + 1, hold, false);
                CompletableFuture<QueryResult> end = logged ? exchange(DdlMessages.endSql(st.replication())) : null;
                if (next >= sts.size() && emulated) {
                    prefetchedQuick = aroundClients(Footprint.QUICK_SQL);
                }
                return piece.thenCompose(ready -> end == null || ready.errorSeen() ? afterPiece(ready, hold)
                        : end.thenCompose(r -> {
                            if (r.ok()) {
                                return afterPiece(ready, hold);
                            }
                            // the end statement failed (SERIALIZABLE's 40001 in the replica identity upkeep): the block
                            // is aborted, so the statement answers with that error instead of its held CommandComplete
                            errorToClient(r.error());
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
        private CompletableFuture<Void> standIn(SqlStatement st, CharSequence statement) {
            int j = next - 1;
            boolean open = txStatus == 'I';
            emulated |= open;
            CompletableFuture<QueryResult> begin = open ? aroundClients("BEGIN") : CompletableFuture.completedFuture(null);
            String name = standInSchema();
            TempStandIns.Rewrite rw = TempStandIns.rewrite(statement == null
                    ? st.text(new Latin1View(text, text.readerIndex(), text.readableBytes())) : statement, standardStrings, name);
            return begin.thenCombine(exchange(TempStandIns.nativeSql(name, rw.name(), rw.view())), (b, h) -> h).thenCompose(h -> {
                if (h.ok() && "t".equals(h.singleValue())) {
                    // it must hide a relation of the same name, which a stand-in at the end of search_path cannot, or
                    // a view may read PostgreSQL temporary objects: PostgreSQL's own temporary object (a transaction
                    // that uses it cannot change replicated tables)
                    standInNames.remove(rw.resolved());
                    // (a view made temporary by the gateway: its text with TEMP, PostgreSQL's own temporary view)
                    CompletableFuture<Ready> piece = statement == null ? sendPiece(j, j + 1, true)
                            : sendText(j, statement.toString());
                    if (next >= sts.size() && emulated) {
                        prefetchedQuick = aroundClients(Footprint.QUICK_SQL);
                    }
                    return piece.thenCompose(ready -> afterPiece(ready, true));
                }
                return exchange(TempStandIns.preludeSql(name, rw.name(), rw.view())).thenCompose(p -> {
                    if (!p.ok()) {
                        ServerError e = p.error(); // without the CONTEXT of the gateway's DO block
                        errorToClient(new ServerError(e.severity(), e.sqlState(), e.message(), e.detail(), e.hint()));
                        return endQueryAfterError();
                    }
                    CompletableFuture<Ready> piece = sendText(j, rw.text());
                    notes.standIn();
                    if (rw.view()) {
                        exchange(TempStandIns.END_SQL);
                    }
                    if (next >= sts.size() && emulated) {
                        prefetchedQuick = aroundClients(Footprint.QUICK_SQL);
                    }
                    return piece.thenCompose(ready -> {
                        if (!ready.errorSeen()) {
                            standInNames.add(rw.resolved());
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
            TempStandIns.ImplicitView v = TempStandIns.implicitlyTemporary(statement, standardStrings, standInNames);
            return exchange(TempStandIns.readsStandInSql(standInSchema, v.matched())).thenCompose(r -> {
                if (!r.ok() || !"t".equals(r.singleValue())) {
                    return globalDdl(st);
                }
                noticeToClient(new ServerError("NOTICE", "00000", "view \"" + v.name() + "\" will be a temporary view", null, null));
                if (TempStandIns.rewrite(v.text(), standardStrings, standInSchema) == null) {
                    return sendText(j, v.text()).thenCompose(ready -> afterPiece(ready, true));
                }
                return standIn(st, v.text());
            });
        }

        /** DISCARD TEMP / ALL: PostgreSQL's answer, then the stand-ins are dropped too. */
        private CompletableFuture<Void> discard() {
            int j = next - 1;
            return sendPiece(j, j + 1, true).thenCompose(ready -> {
                if (ready.errorSeen() || standInSchema == null) {
                    return afterPiece(ready, true);
                }
                return exchange(TempStandIns.discardSql(standInSchema)).thenCompose(r -> {
                    if (!r.ok()) {
                        LOG.warn("session {}: DISCARD could not drop the stand-ins of temporary tables: {}", backendPid,
                                r.error());
                    } else {
                        commits.onCommitActions().clear();
                        standInNames.clear();
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
            CompletableFuture<QueryResult> touched = notes.touchedStandIn() ? CompletableFuture.completedFuture(null)
                    : exchange(TempStandIns.TOUCHED_SQL);
            return touched.thenCompose(r -> {
                if (!notes.touchedStandIn() && (!r.ok() || !"t".equals(r.singleValue()))) {
                    return sendPiece(j, j + 1, true).thenCompose(ready -> afterPiece(ready, true));
                }
                return exchange("ROLLBACK").thenCompose(x -> {
                    errorToClient(ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                            "cannot PREPARE a transaction that has operated on temporary objects"));
                    emulated = false;
                    readyToClient();
                    return done();
                });
            });
        }

        /** SET/RESET search_path: PostgreSQL's answer, then the stand-in schema back at the path's end. */
        private CompletableFuture<Void> searchPath(boolean local) {
            int j = next - 1;
            return sendPiece(j, j + 1, true).thenCompose(ready -> {
                if (ready.errorSeen() || txStatus == 'E') {
                    return afterPiece(ready, true);
                }
                return exchange(TempStandIns.searchPathSql(standInSchema, local)).thenCompose(r -> {
                    if (!r.ok()) {
                        LOG.warn("session {}: the stand-in schema could not be put back on search_path: {}", backendPid,
                                r.error());
                    }
                    return afterPiece(ready, true);
                });
            });
        }

        /** Statement {@code j} sent as {@code sql} instead (chars of the client's bytes, see {@link Latin1View}). */
        private CompletableFuture<Ready> sendText(int j, String sql) {
            int holdComplete = emulated && j + 1 == sts.size() ? 1 : 0;
            CompletableFuture<Ready> f = new CompletableFuture<>();
            replies.add(ReplyQueue.QUERY, new HeldReady(f, false, characters(sts.get(j).start()), holdComplete));
            byte[] bytes = sql.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            ByteBuf b = Unpooled.wrappedBuffer(bytes);
            toBackend(PgWire.query(client.alloc(), b, 0, bytes.length));
            b.release();
            flushBackend();
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

        /** Characters of the query text before byte {@code end}: how far a piece's error positions move. */
        private int characters(int end) {
            if (!utf8) {
                return end;
            }
            int n = 0;
            for (int i = 0; i < end; i++) {
                n += (text.getByte(text.readerIndex() + i) & 0xC0) == 0x80 ? 0 : 1;
            }
            return n;
        }

        private byte[] bytes(int from, int length) {
            byte[] b = new byte[length];
            text.getBytes(text.readerIndex() + from, b);
            return b;
        }

        private CompletableFuture<Ready> sendPiece(int first, int end, boolean hold) {
            return sendPiece(first, end, hold, true);
        }

        private CompletableFuture<Ready> sendPiece(int first, int end, boolean hold, boolean note) {
            if (note) {
                noteStatements(sts, first, end);
            }
            int from = sts.get(first).start();
            int to = textEnd(end);
            CompletableFuture<Ready> f = new CompletableFuture<>();
            // the query's last piece in the gateway's block: its last CommandComplete waits for the commit
            int holdComplete = 0;
            if (hold && emulated && end == sts.size() && !copies(first, end)) {
                for (int i = first; i < end; i++) {
                    holdComplete += sts.get(i).kind() == StatementKind.EMPTY ? 0 : 1;
                }
            }
            replies.add(ReplyQueue.QUERY, new HeldReady(f, !hold, characters(from), holdComplete));
            toBackend(PgWire.query(client.alloc(), text, text.readerIndex() + from, to - from));
            flushBackend();
            return f;
        }
    }

    /** What a DDL message statement answered: logged (true), or not needed for temporary/unlogged relations. */
    private boolean ddlLogged(QueryResult r) {
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
        return syncBackend().thenCompose(ready -> {
            if (ready.errorSeen()) {
                // an earlier message of this batch failed: the backend would have skipped this Execute
                discardUntilSync = true;
                return done();
            }
            ServerError error = refusal != null ? refusal : statementError(st);
            if (error != null) {
                return commits.abortStatement(error, false).thenRun(() -> discardUntilSync = true);
            }
            if (st.reach() == Reach.SURFACE) {
                if (txStatus == 'E') {
                    errorToClient(IN_FAILED_TRANSACTION);
                    discardUntilSync = true;
                    return done();
                }
                SurfaceCall.Parameters params = kept.params() != null ? kept.params() : SurfaceCall.Parameters.NONE;
                return surface(st.replication().call(), params, kept.binaryResult(), false).thenCompose(failure ->
                        failure == null ? done() : commits.abortStatement(failure, false).thenRun(() -> discardUntilSync = true));
            }
            return commits.commitStatement(false, st.kind() == StatementKind.COMMIT_AND_CHAIN)
                    .thenAccept(ok -> discardUntilSync |= !ok);
        });
    }

    /**
     * A progress line of mtm.check_query as a NOTICE while the check runs, as mtm:check-query prints them (psql shows
     * NOTICEs as they come); from the nodes' query threads, so handed to the session's event loop.
     */
    private void checkProgress(String line) {
        client.eventLoop().execute(() -> {
            if (phase != Phase.CLOSED) {
                noticeToClient(new ServerError("NOTICE", "00000", "[multimaster] check_query: " + line, null, null));
                flushClient();
            }
        });
    }

    private static final ServerError IN_FAILED_TRANSACTION = ServerError.error("25P02",
            "current transaction is aborted, commands ignored until end of transaction block");

    /**
     * A call the gateway answers itself (CREATE EXTENSION multimaster, mtm.init_cluster, mtm.alter_sequences),
     * its replies included (RowDescription only for the simple protocol: in the extended one the stand-in's
     * Describe answered). Completes with null, or the error for the client (not sent yet).
     */
    private CompletableFuture<ServerError> surface(SurfaceCall call, SurfaceCall.Parameters params, boolean binary,
                                                   boolean describe) {
        CompletionStage<?> running;
        try {
            running = switch (call.function()) {
                case CREATE_EXTENSION -> CompletableFuture.completedFuture(null);
                case INIT_CLUSTER -> host.surface().initCluster(call.text(0, params, "my_conninfo"),
                        call.textArray(1, params, "peers_conninfo"));
                case ALTER_SEQUENCES -> host.surface().alterSequences();
                case CHECK_QUERY -> host.surface().checkQuery(call.text(0, params, "query_text"), user, this::checkProgress);
                case GET_SNAPSHOTS -> {
                    snapshotsTaken = true;
                    yield host.surface().getSnapshots(this);
                }
                case FREE_SNAPSHOTS -> host.surface().freeSnapshots(this);
                case DROP_NODE -> host.surface().dropNode(call.integer(0, params, "node_id"));
                case ADD_NODE -> host.surface().addNode(call.text(0, params, "connstr"));
                case JOIN_NODE -> host.surface().joinNode(call.integer(0, params, "node_id"),
                        call.text(1, params, "backup_end_lsn"));
                case PING -> host.surface().ping();
            };
        } catch (SurfaceCall.CallException e) {
            return CompletableFuture.completedFuture(ServerError.error(e.sqlState(), e.getMessage()));
        } catch (RuntimeException e) {
            running = CompletableFuture.failedFuture(e);
        }
        gatewayStatements++;
        return running.toCompletableFuture().handleAsync((result, failure) -> {
            gatewayStatements--;
            if (failure != null) {
                Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                if (cause instanceof SurfaceCall.CallException e) {
                    return ServerError.error(e.sqlState(), e.getMessage());
                }
                LOG.warn("session {}: {} failed", backendPid, call, cause);
                return ServerError.error(SqlStates.INTERNAL_ERROR, "[multimaster] " + call + " failed: " + cause);
            }
            SurfaceCall.Function f = call.function();
            if (f == SurfaceCall.Function.CREATE_EXTENSION) {
                commandCompleteToClient("CREATE EXTENSION");
                return null;
            }
            if (f == SurfaceCall.Function.ALTER_SEQUENCES) {
                int changed = result instanceof Integer i ? i : 0;
                noticeToClient(new ServerError("NOTICE", "00000", changed == 0
                        ? "All found sequences have proper params." : "[multimaster] altered " + changed + " sequence(s)",
                        null, null));
            }
            byte[] value = new byte[0]; // void: empty text, empty binary
            if (f == SurfaceCall.Function.ALTER_SEQUENCES || f == SurfaceCall.Function.PING) {
                value = binary ? new byte[] {1} : new byte[] {'t'}; // ping: true, or it failed
            } else if (f == SurfaceCall.Function.CHECK_QUERY) {
                SurfaceFunctions.CheckAnswer answer = (SurfaceFunctions.CheckAnswer) result;
                if (!answer.same()) {
                    // the manual's WARNING with the first difference, then false
                    noticeToClient(ServerError.warning("01000", answer.warning()));
                }
                value = binary ? new byte[] {(byte) (answer.same() ? 1 : 0)} : new byte[] {(byte) (answer.same() ? 't' : 'f')};
            } else if (f == SurfaceCall.Function.GET_SNAPSHOTS) {
                value = String.valueOf(result).getBytes(java.nio.charset.StandardCharsets.UTF_8); // text: same bytes in binary
            } else if (f == SurfaceCall.Function.ADD_NODE) {
                int id = result instanceof Integer i ? i : 0;
                value = binary ? java.nio.ByteBuffer.allocate(4).putInt(id).array()
                        : Integer.toString(id).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            }
            if (describe) {
                toClient(PgWire.rowDescription(client.alloc(), f.column(), f.typeOid(),
                        f == SurfaceCall.Function.ALTER_SEQUENCES || f == SurfaceCall.Function.CHECK_QUERY
                                || f == SurfaceCall.Function.PING ? 1
                                : f == SurfaceCall.Function.GET_SNAPSHOTS ? -1 : 4));
            }
            toClient(PgWire.dataRow(client.alloc(), value));
            commandCompleteToClient("SELECT 1");
            return null;
        }, client.eventLoop());
    }

    /** Brings the backend to a Sync point: all earlier replies have reached the client. */
    private CompletableFuture<Ready> syncBackend() {
        if (!extendedSinceSync) {
            if (replies.size() == idleTail) {
                return CompletableFuture.completedFuture(new Ready(txStatus, false)); // only those COMMITs pending
            }
            return whenIdle().thenApply(v -> new Ready(txStatus, false));
        }
        extendedSinceSync = false;
        CompletableFuture<Ready> f = new CompletableFuture<>();
        replies.add(ReplyQueue.SYNC, new HeldReady(f, false));
        toBackend(PgWire.sync(client.alloc()));
        flushBackend();
        return f;
    }

    /** Runs one statement of the gateway's own on the backend (must be at a Sync point). */
    private CompletableFuture<QueryResult> exchange(String sql) {
        return exchange(sql, List.of());
    }

    /**
     * {@link #exchange(String)} as a simple Query: fewer messages for the backend, but it drops the unnamed
     * statement and portal — only for the moments a client's simple Query would drop them anyway.
     */
    private CompletableFuture<QueryResult> exchangeSimple(String sql) {
        CompletableFuture<QueryResult> r = aroundClients(sql);
        gatewayStatements++;
        return r.whenComplete((x, e) -> gatewayStatements--);
    }

    /**
     * {@link #exchangeSimple} for the BEGIN and the quick query written together with the client's statements: a
     * cancel request meanwhile is the client's, for its statements (a quick query it cancels is asked again).
     */
    private CompletableFuture<QueryResult> aroundClients(String sql) {
        if (phase == Phase.CLOSED || backend == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session is closed"));
        }
        OwnStatement sink = new OwnStatement();
        replies.add(ReplyQueue.OWN_SYNCED, sink);
        toBackend(PgWire.query(client.alloc(), sql));
        flushBackend();
        return sink.result;
    }

    /** {@link #exchange(String)} with text parameters in the client's encoding. */
    private CompletableFuture<QueryResult> exchange(String sql, List<byte[]> params) {
        if (phase == Phase.CLOSED || backend == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session is closed"));
        }
        writeOwn(sql, params, true);
        OwnStatement sink = new OwnStatement();
        replies.add(ReplyQueue.OWN_SYNCED, sink);
        flushBackend();
        gatewayStatements++;
        return sink.result.whenComplete((r, e) -> gatewayStatements--);
    }

    private CompletableFuture<Void> whenIdle() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (replies.isEmpty()) {
            f.complete(null);
        } else {
            idleWaiters.add(() -> f.complete(null));
        }
        return f;
    }

    private void checkIdle() {
        while (replies.isEmpty() && !idleWaiters.isEmpty()) {
            idleWaiters.poll().run();
        }
        while (!readyWaiters.isEmpty() && replies.pendingReady() <= idleTail) {
            readyWaiters.poll().run();
        }
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    private void finishOwnWork(Throwable failure) {
        if (clientGone) {
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

    /** The gateway's own statement: captures every reply. */
    private final class OwnStatement implements ReplySink {
        final CompletableFuture<QueryResult> result = new CompletableFuture<>();
        private final CapturedReply reply = new CapturedReply();

        @Override
        public void message(byte type, ByteBuf message) {
            reply.add(type, message);
            if (type == PgWire.ERROR_RESPONSE) {
                ownLeftovers = true; // its Closes were skipped
            }
        }

        @Override
        public void ready(char status, boolean errorSeen) {
            result.complete(reply.result(status));
        }

        @Override
        public void dropped() {
            result.completeExceptionally(new IllegalStateException("backend connection lost"));
        }
    }

    /** Client-visible entry whose ReadyForQuery the gateway wants to see (and usually hold back). */
    private final class HeldReady implements ReplySink {
        private final CompletableFuture<Ready> result;
        private final boolean forward;
        /** Characters of the client's query before this piece: its errors' positions move forward by these. */
        private final int offset;
        /** The CommandComplete held back for {@link #heldComplete} (its number in the piece), 0 for none. */
        private final int holdComplete;
        private int completes;

        HeldReady(CompletableFuture<Ready> result, boolean forward) {
            this(result, forward, 0, 0);
        }

        HeldReady(CompletableFuture<Ready> result, boolean forward, int offset, int holdComplete) {
            this.result = result;
            this.forward = forward;
            this.offset = offset;
            this.holdComplete = holdComplete;
        }

        @Override
        public boolean clientVisible() {
            return true;
        }

        @Override
        public boolean captures(byte type) {
            return (offset > 0 && type == PgWire.ERROR_RESPONSE)
                    || (type == PgWire.COMMAND_COMPLETE && completes == holdComplete - 1);
        }

        @Override
        public void passed(byte type) {
            if (type == PgWire.COMMAND_COMPLETE) {
                completes++;
            }
        }

        @Override
        public void message(byte type, ByteBuf message) {
            if (type == PgWire.COMMAND_COMPLETE) {
                completes++;
                dropHeldComplete();
                heldComplete = message.copy();
                return;
            }
            errorSinceReady = true;
            toClient(PgWire.shiftPosition(client.alloc(), message, -offset));
        }

        @Override
        public boolean forwardsReady() {
            return forward;
        }

        @Override
        public void ready(char status, boolean errorSeen) {
            result.complete(new Ready(status, errorSeen));
        }

        @Override
        public void dropped() {
            result.completeExceptionally(new IllegalStateException("backend connection lost"));
        }
    }

    /**
     * The gateway's own statement inside the client's batch (no Sync of its own): its rows are captured; an
     * error goes to the client, since the backend now skips the client's batch up to its Sync.
     */
    private final class UnsyncedStatement implements ReplySink {
        final CompletableFuture<QueryResult> result = new CompletableFuture<>();
        private final CapturedReply reply = new CapturedReply();
        private final int expectedCloses;
        private int closes;

        UnsyncedStatement() {
            this(PgWire.OWN_STATEMENT_CLOSES);
        }

        UnsyncedStatement(int expectedCloses) {
            this.expectedCloses = expectedCloses;
        }

        @Override
        public boolean ends(byte type) {
            return type == PgWire.CLOSE_COMPLETE && ++closes == expectedCloses;
        }

        @Override
        public void message(byte type, ByteBuf message) {
            reply.add(type, message);
            if (type == PgWire.ERROR_RESPONSE) {
                ownLeftovers = true;
            }
            if (type == PgWire.ERROR_RESPONSE) {
                errorSinceReady = true;
                toClient(message.retainedSlice());
            }
        }

        @Override
        public void ended() {
            result.complete(reply.result(txStatus));
        }

        @Override
        public void dropped() {
            ownLeftovers = true;
            result.completeExceptionally(new IllegalStateException("skipped after an earlier error"));
        }
    }

    // ------------------------------------------------------------------ the gateway's own statements

    /**
     * Writes one of the gateway's own statements in the extended protocol under the reserved name, closed at its
     * end: nothing of the gateway's stays prepared in the session ({@code pg_prepared_statements} shows the
     * client's statements only), and the client's unnamed statement and portal survive.
     */
    private void writeOwn(String sql, List<byte[]> params, boolean sync) {
        toBackend(params.isEmpty() ? PgWire.ownStatement(client.alloc(), sql, sync)
                : PgWire.ownStatement(client.alloc(), sql, params, sync));
    }

    /** An own statement inside the client's batch (no Sync): written, its sink still to be queued. */
    private UnsyncedStatement writeUnsynced(String sql, List<byte[]> params) {
        writeOwn(sql, params, false);
        return new UnsyncedStatement();
    }

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
    private CompletableFuture<QueryResult> takePrefetchedQuick() {
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
        public char transactionStatus() {
            return txStatus;
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
            return Session.this.exchange(sql);
        }

        @Override
        public CompletableFuture<QueryResult> exchangeSimple(String sql) {
            return Session.this.exchangeSimple(sql);
        }

        @Override
        public void commitUnawaited(boolean simpleQuery) {
            idleTail++;
            (simpleQuery ? exchangeSimple("COMMIT") : exchange("COMMIT")).whenComplete((r, failure) -> {
                idleTail--;
                if (failure == null && !r.ok()) {
                    LOG.warn("session {}: COMMIT of a read-only transaction failed: {}", backendPid, r.error());
                }
            });
            txStatus = 'I'; // what the COMMIT's ReadyForQuery will say
            notes.clear();
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
            noticeToClient(e);
        }

        @Override
        public void commandComplete(String tag) {
            commandCompleteToClient(tag);
        }

        @Override
        public void dropHeldComplete() {
            Session.this.dropHeldComplete();
        }

        @Override
        public void flush() {
            flushClient();
        }
    }

    // ------------------------------------------------------------------ output, flow control, lifecycle

    private void errorToClient(ServerError e) {
        ownErrorSent = e;
        errorSinceReady = false;
        toClient(PgWire.errorResponse(client.alloc(), e));
        flushClient();
    }

    /** The commit went through (or there was none to make): the statement's CommandComplete goes out. */
    private void heldCompleteToClient() {
        if (heldComplete != null) {
            ByteBuf m = heldComplete;
            heldComplete = null;
            toClient(m);
        }
    }

    private void dropHeldComplete() {
        if (heldComplete != null) {
            heldComplete.release();
            heldComplete = null;
        }
    }

    private void noticeToClient(ServerError e) {
        toClient(PgWire.noticeResponse(client.alloc(), e));
    }

    private void commandCompleteToClient(String tag) {
        toClient(PgWire.commandComplete(client.alloc(), tag));
        flushClient();
    }

    private void readyToClient() {
        toClient(PgWire.readyForQuery(client.alloc(), txStatus));
        flushClient();
    }

    private void toBackend(ByteBuf b) {
        backend.write(b, backend.voidPromise());
        backendFlushNeeded = true;
    }

    private void toClient(ByteBuf b) {
        if (clientGone || !client.isActive()) {
            b.release();
            return;
        }
        client.write(b, client.voidPromise());
        clientFlushNeeded = true;
    }

    private void flushBackend() {
        if (backendFlushNeeded && backend != null) {
            backendFlushNeeded = false;
            backend.flush();
        }
    }

    private void flushClient() {
        if (clientFlushNeeded) {
            clientFlushNeeded = false;
            client.flush();
        }
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
        flushBackend();
        flushClient();
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

    Channel clientChannel() {
        return client;
    }

    /** A CancelRequest for this session's key arrived (on this session's event loop). */
    void cancel() {
        if (phase != Phase.READY) {
            return;
        }
        if (gatewayStatements > 0 || commits.committing()) {
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
        backendRun.flush();
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
            flushClient();
        }
        phase = Phase.CLOSED;
        if (backend != null && backend.isActive()) {
            backend.close();
        }
        if (standInSchema != null) {
            host.standInsLeft(); // the backend ends with the connection: its schema is swept after it
        }
        if (snapshotsTaken) {
            snapshotsTaken = false;
            host.surface().freeSnapshots(this); // kept until mtm.free_snapshots() or the end of the session (manual)
        }
        if (client.isActive()) {
            client.close();
        }
        if (clientIn != null) {
            clientIn.release();
            clientIn = null;
        }
        if (backendIn != null) {
            backendIn.release();
            backendIn = null;
        }
        clientRun.clear();
        backendRun.clear();
        dropHeldComplete();
        replies.clear(ReplySink::dropped);
        idleWaiters.clear();
        readyWaiters.clear();
        if (keyIssued) {
            keyIssued = false;
            host.keyRevoked(backendPid, backendSecret);
        }
        host.closed(this);
    }
}
