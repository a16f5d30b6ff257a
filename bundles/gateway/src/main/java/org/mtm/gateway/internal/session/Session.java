package org.mtm.gateway.internal.session;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.mtm.api.Endpoint;
import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.CommitContext;
import org.mtm.gateway.internal.commit.CommitOutcome;
import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.Latin1View;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.protocol.ReplyQueue;
import org.mtm.gateway.internal.protocol.ReplySink;
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;
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
    private static final int MAX_MESSAGE = 0x3fffffff;
    /** Bind messages larger than this are streamed once their portal and statement names are read. */
    private static final int STREAM_BIND_ABOVE = 64 * 1024;
    private static final ByteBuf REFUSE_ENCRYPTION =
            Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[] {'N'}).asReadOnly());

    private enum Phase { STARTUP, CONNECTING, AUTH, READY, RAW, CLOSED }

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
    private int clientRunStart;
    private int clientRunLength;
    private int backendRunStart;
    private int backendRunLength;
    private boolean backendFlushNeeded;
    private boolean clientFlushNeeded;

    // what the session is
    private String user = "";
    private String database = "";
    private String applicationName = "";
    private boolean standardStrings = true;
    private int backendPid;
    private int backendSecret;
    private boolean keyIssued;
    private SessionInfo info;
    private char txStatus = 'I';

    // extended protocol: the statements and portals the gateway cares about (anything but OTHER)
    private SqlStatement unnamedStatement;
    private SqlStatement unnamedPortal;
    private Map<String, SqlStatement> statements;
    private Map<String, SqlStatement> portals;

    private boolean extendedSinceSync;
    /** The backend discards messages until the client's next Sync (an error with no Sync queued). */
    private boolean backendSkipping;
    /** The gateway answered an Execute with an error: the client's messages up to Sync are dropped, as the backend would. */
    private boolean discardUntilSync;
    /**
     * The gateway left the backend at a Sync point after answering an Execute itself: the client's Sync
     * that follows is answered here (ReadyForQuery with the known status) instead of costing a round trip.
     */
    private boolean answerNextSync;
    /** The backend is in COPY FROM STDIN and the client has not yet sent CopyDone/CopyFail. */
    private boolean copyInActive;
    private boolean errorSinceReady;
    // autocommit wrapping of an extended-protocol batch
    private boolean batchDecided;
    private boolean batchWrapped;

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
    }

    // ------------------------------------------------------------------ client channel events

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        host.opened(this);
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
                    clientRun(in, ri, n);
                    clientStreamRemaining -= n;
                    continue;
                }
                if (phase == Phase.RAW) {
                    clientRun(in, ri, in.readableBytes());
                    break;
                }
                if (phase == Phase.STARTUP) {
                    if (!startupPacket(in)) {
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
                boolean copyMessage = type == PgWire.COPY_DATA || type == PgWire.COPY_DONE || type == PgWire.COPY_FAIL;
                if (suspended && !(copyInActive && copyMessage)) {
                    break;
                }
                int total = 1 + length;
                if (type == PgWire.COPY_DATA) {
                    int n = Math.min(total, in.readableBytes());
                    clientRun(in, ri, n);
                    clientStreamRemaining = total - n;
                    continue;
                }
                if (in.readableBytes() < total) {
                    if (type == PgWire.BIND && phase == Phase.READY && total > STREAM_BIND_ABOVE && !discardUntilSync
                            && bindHead(in, ri, total)) {
                        continue;
                    }
                    break;
                }
                clientMessage(in, type, ri, total);
            }
        } finally {
            flushClientRun();
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
                clientRun(in, ri, total);
            }
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
                parse(in, ri, total);
                forwardExtended(in, ri, total, ReplyQueue.PARSE);
            }
            case PgWire.BIND -> {
                bind(in, ri, ri + total);
                forwardExtended(in, ri, total, ReplyQueue.BIND);
            }
            case PgWire.DESCRIBE -> forwardExtended(in, ri, total, ReplyQueue.DESCRIBE);
            case PgWire.CLOSE -> {
                close(in, ri, total);
                forwardExtended(in, ri, total, ReplyQueue.CLOSE);
            }
            case PgWire.EXECUTE -> execute(in, ri, total);
            case PgWire.SYNC -> sync(in, ri, total);
            case PgWire.FLUSH -> clientRun(in, ri, total);
            case PgWire.FUNCTION_CALL -> functionCall(in, ri, total);
            case PgWire.COPY_DONE, PgWire.COPY_FAIL -> {
                if (copyInActive) {
                    copyInActive = false;
                    updateClientAutoRead();
                } else if (!replies.isEmpty()) {
                    replies.add(ReplyQueue.COPY_END);
                }
                clientRun(in, ri, total);
            }
            case PgWire.TERMINATE -> terminate(in, ri, total);
            default -> clientRun(in, ri, total);
        }
    }

    private void forwardExtended(ByteBuf in, int ri, int total, int kind) {
        if (!backendSkipping) {
            replies.add(kind);
        }
        extendedSinceSync = true;
        clientRun(in, ri, total);
    }

    private void simpleQuery(ByteBuf in, int ri, int total) {
        int textStart = ri + 5;
        int textLength = Math.max(0, total - 6);
        if (backendSkipping) {
            clientRun(in, ri, total);
            return;
        }
        List<SqlStatement> statements = SqlSplitter.split(new Latin1View(in, textStart, textLength), standardStrings);
        ServerError refusal = null;
        for (SqlStatement st : statements) {
            if (!st.kind().rollsBack()) {
                refusal = host.admission().refusal(info());
                break;
            }
        }
        boolean special = refusal != null || (host.wrapAutocommit() && wrappable(statements, 0, statements.size()));
        for (int i = 0; i < statements.size() && !special; i++) {
            special = intercepted(statements.get(i));
        }
        if (!special) {
            replies.add(ReplyQueue.QUERY);
            clientRun(in, ri, total);
            return;
        }
        flushClientRun();
        ByteBuf text = in.retainedSlice(textStart, textLength);
        in.skipBytes(total);
        suspend();
        ServerError refused = refusal;
        ownWork++;
        syncBackend().thenCompose(v -> refused != null
                        ? abortStatement(refused, false).thenRun(this::readyToClient)
                        : new QueryPlan(text, statements).step())
                .whenComplete((v, failure) -> {
                    text.release();
                    ownWork--;
                    finishOwnWork(failure);
                });
    }

    private void parse(ByteBuf in, int ri, int total) {
        int limit = ri + total;
        int nameEnd = PgWire.cstringEnd(in, ri + 5, limit);
        int queryEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
        if (queryEnd < 0) {
            return; // malformed: the backend will say so
        }
        SqlStatement st = SqlSplitter.classifyOne(new Latin1View(in, nameEnd + 1, queryEnd - nameEnd - 1), standardStrings);
        SqlStatement kept = st.kind() == StatementKind.OTHER ? null : st;
        if (nameEnd == ri + 5) {
            unnamedStatement = kept;
        } else {
            String name = in.toString(ri + 5, nameEnd - ri - 5, java.nio.charset.StandardCharsets.UTF_8);
            if (kept != null) {
                if (statements == null) {
                    statements = new HashMap<>();
                }
                statements.put(name, kept);
            } else if (statements != null) {
                statements.remove(name);
            }
        }
    }

    /** Records which statement the Bind's portal runs; {@code limit} may end before the message does. */
    private void bind(ByteBuf in, int ri, int limit) {
        int portalEnd = PgWire.cstringEnd(in, ri + 5, limit);
        int stmtEnd = portalEnd < 0 ? -1 : PgWire.cstringEnd(in, portalEnd + 1, limit);
        if (stmtEnd < 0) {
            return;
        }
        SqlStatement st;
        if (stmtEnd == portalEnd + 1) {
            st = unnamedStatement;
        } else {
            st = statements == null ? null
                    : statements.get(in.toString(portalEnd + 1, stmtEnd - portalEnd - 1, java.nio.charset.StandardCharsets.UTF_8));
        }
        if (portalEnd == ri + 5) {
            unnamedPortal = st;
        } else if (st != null) {
            if (portals == null) {
                portals = new HashMap<>();
            }
            portals.put(in.toString(ri + 5, portalEnd - ri - 5, java.nio.charset.StandardCharsets.UTF_8), st);
        } else if (portals != null && !portals.isEmpty()) {
            portals.remove(in.toString(ri + 5, portalEnd - ri - 5, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** A large Bind: handle its names from what has arrived and stream the rest (large parameter values). */
    private boolean bindHead(ByteBuf in, int ri, int total) {
        int available = in.readableBytes();
        int portalEnd = PgWire.cstringEnd(in, ri + 5, ri + available);
        if (portalEnd < 0 || PgWire.cstringEnd(in, portalEnd + 1, ri + available) < 0) {
            return false;
        }
        bind(in, ri, ri + available);
        if (!backendSkipping) {
            replies.add(ReplyQueue.BIND);
        }
        extendedSinceSync = true;
        clientRun(in, ri, available);
        clientStreamRemaining = total - available;
        return true;
    }

    private void close(ByteBuf in, int ri, int total) {
        byte what = in.getByte(ri + 5);
        int nameEnd = PgWire.cstringEnd(in, ri + 6, ri + total);
        if (nameEnd < 0) {
            return;
        }
        boolean unnamed = nameEnd == ri + 6;
        if (what == 'S') {
            if (unnamed) {
                unnamedStatement = null;
            } else if (statements != null) {
                statements.remove(in.toString(ri + 6, nameEnd - ri - 6, java.nio.charset.StandardCharsets.UTF_8));
            }
        } else if (unnamed) {
            unnamedPortal = null;
        } else if (portals != null) {
            portals.remove(in.toString(ri + 6, nameEnd - ri - 6, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private SqlStatement portal(ByteBuf in, int ri, int total) {
        int nameEnd = PgWire.cstringEnd(in, ri + 5, ri + total);
        if (nameEnd == ri + 5) {
            return unnamedPortal;
        }
        if (nameEnd < 0 || portals == null) {
            return null;
        }
        return portals.get(in.toString(ri + 5, nameEnd - ri - 5, java.nio.charset.StandardCharsets.UTF_8));
    }

    private void execute(ByteBuf in, int ri, int total) {
        if (backendSkipping) {
            clientRun(in, ri, total); // the backend discards it, as it does everything up to Sync
            return;
        }
        SqlStatement st = portal(in, ri, total);
        StatementKind kind = st == null ? StatementKind.OTHER : st.kind();
        ServerError refusal = kind.rollsBack() ? null : host.admission().refusal(info());
        if (refusal != null || (st != null && intercepted(st))) {
            flushClientRun();
            in.skipBytes(total);
            suspend();
            ownWork++;
            extendedIntercept(st, refusal).whenComplete((v, failure) -> {
                ownWork--;
                answerNextSync = failure == null;
                finishOwnWork(failure);
            });
            return;
        }
        if (host.wrapAutocommit() && !batchDecided) {
            if (replies.pendingReady() > 0) {
                // the transaction status at this batch's start is not known yet: wait, then look again
                flushClientRun();
                suspend();
                readyWaiters.add(this::resume);
                return;
            }
            batchDecided = true;
            if (txStatus == 'I' && kind == StatementKind.OTHER) {
                flushClientRun();
                toBackend(PgWire.ownStatement(client.alloc(), "BEGIN", false));
                replies.add(ReplyQueue.OWN_UNSYNCED, new WrapBeginSink());
                batchWrapped = true;
            }
        }
        batchDecided |= kind == StatementKind.BEGIN;
        replies.add(ReplyQueue.EXECUTE);
        extendedSinceSync = true;
        clientRun(in, ri, total);
    }

    private void sync(ByteBuf in, int ri, int total) {
        if (answerNextSync && replies.isEmpty() && !batchWrapped && !copyInActive) {
            answerNextSync = false;
            discardUntilSync = false;
            batchDecided = false;
            drop(in, total);
            readyToClient();
            return;
        }
        answerNextSync = false;
        backendSkipping = false;
        extendedSinceSync = false;
        if (copyInActive) {
            clientRun(in, ri, total); // ignored by the backend inside COPY FROM STDIN
            return;
        }
        discardUntilSync = false;
        boolean wrapped = batchWrapped;
        batchWrapped = false;
        batchDecided = false;
        if (wrapped) {
            // the wrapped batch's implicit commit is the gateway's: hold ReadyForQuery, commit, then answer
            replies.add(ReplyQueue.SYNC, new WrapCommitSink());
            clientRun(in, ri, total);
            flushClientRun();
            suspend();
            ownWork++;
        } else {
            replies.add(ReplyQueue.SYNC);
            clientRun(in, ri, total);
        }
    }

    private void functionCall(ByteBuf in, int ri, int total) {
        ServerError refusal = host.admission().refusal(info());
        if (refusal == null) {
            replies.add(ReplyQueue.FUNCTION);
            clientRun(in, ri, total);
            return;
        }
        flushClientRun();
        in.skipBytes(total);
        suspend();
        ownWork++;
        syncBackend().thenCompose(v -> abortStatement(refusal, false)).thenRun(this::readyToClient)
                .whenComplete((v, failure) -> {
                    ownWork--;
                    finishOwnWork(failure);
                });
    }

    private void terminate(ByteBuf in, int ri, int total) {
        clientRun(in, ri, total);
        flushClientRun();
        phase = Phase.CLOSED;
        if (backend != null) {
            backend.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        client.close();
    }

    private void drop(ByteBuf in, int total) {
        flushClientRun();
        in.skipBytes(total);
    }

    private void clientRun(ByteBuf in, int index, int length) {
        if (clientRunLength > 0 && clientRunStart + clientRunLength != index) {
            flushClientRun();
        }
        if (clientRunLength == 0) {
            clientRunStart = index;
        }
        clientRunLength += length;
        in.skipBytes(length);
    }

    private void flushClientRun() {
        if (clientRunLength > 0) {
            toBackend(clientIn.retainedSlice(clientRunStart, clientRunLength));
            clientRunLength = 0;
        }
    }

    // ------------------------------------------------------------------ startup

    /** Returns true when the loop may go on with the next packet/message. */
    private boolean startupPacket(ByteBuf in) {
        if (in.readableBytes() < 8) {
            return false;
        }
        int ri = in.readerIndex();
        int length = in.getInt(ri);
        if (length < 8 || length > PgWire.MAX_STARTUP_LENGTH) {
            fatal(ServerError.fatal(SqlStates.PROTOCOL_VIOLATION, "invalid length of startup packet: " + length));
            return false;
        }
        if (in.readableBytes() < length) {
            return false;
        }
        int code = in.getInt(ri + 4);
        if (code == PgWire.SSL_REQUEST || code == PgWire.GSSENC_REQUEST) {
            // The gateway does not terminate TLS/GSS: refuse, the client goes on in plain text on the same
            // connection (libpq sslmode=prefer, pgjdbc's default) or disconnects (sslmode=require).
            in.skipBytes(length);
            if (in.isReadable()) {
                fatal(ServerError.fatal(SqlStates.PROTOCOL_VIOLATION, "received unencrypted data after SSL request"));
                return false;
            }
            client.writeAndFlush(REFUSE_ENCRYPTION.duplicate());
            return true;
        }
        if (code == PgWire.CANCEL_REQUEST) {
            if (length == 16) {
                host.cancelRequested(in.getInt(ri + 8), in.getInt(ri + 12));
            }
            in.skipBytes(length);
            phase = Phase.CLOSED;
            client.close();
            return false;
        }
        boolean raw = (code >>> 16) != 3;
        if (!raw) {
            Map<String, String> params = startupParameters(in, ri + 8, ri + length);
            user = params.getOrDefault("user", "");
            database = params.getOrDefault("database", user);
            applicationName = params.getOrDefault("application_name", "");
            // replication connections speak their own command language: relay them untouched
            raw = params.containsKey("replication") && !"false".equalsIgnoreCase(params.get("replication"))
                    && !"0".equals(params.get("replication")) && !"off".equalsIgnoreCase(params.get("replication"));
            info = null;
        }
        ByteBuf startup = in.readRetainedSlice(length);
        phase = Phase.CONNECTING;
        updateClientAutoRead();
        connectBackend(startup, raw);
        return false;
    }

    private static Map<String, String> startupParameters(ByteBuf in, int from, int limit) {
        Map<String, String> params = new LinkedHashMap<>();
        int i = from;
        while (i < limit && in.getByte(i) != 0) {
            int nameEnd = PgWire.cstringEnd(in, i, limit);
            int valueEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
            if (valueEnd < 0) {
                break;
            }
            params.put(in.toString(i, nameEnd - i, java.nio.charset.StandardCharsets.UTF_8),
                    in.toString(nameEnd + 1, valueEnd - nameEnd - 1, java.nio.charset.StandardCharsets.UTF_8));
            i = valueEnd + 1;
        }
        return params;
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
                    backendRun(in, ri, n);
                    backendStreamRemaining -= n;
                    continue;
                }
                if (phase == Phase.RAW) {
                    backendRun(in, ri, in.readableBytes());
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
                boolean captured = sink != null && !sink.clientVisible()
                        && type != PgWire.NOTIFICATION_RESPONSE && type != PgWire.PARAMETER_STATUS;
                boolean whole = captured || type == PgWire.READY_FOR_QUERY || type == PgWire.PARAMETER_STATUS
                        || type == PgWire.BACKEND_KEY_DATA || type == PgWire.ERROR_RESPONSE
                        || type == PgWire.COPY_IN_RESPONSE;
                if (!whole) {
                    int n = Math.min(total, in.readableBytes());
                    backendRun(in, ri, n);
                    backendStreamRemaining = total - n;
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
                }
                if (captured) {
                    flushBackendRun();
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
                    flushBackendRun();
                    in.skipBytes(total);
                } else {
                    backendRun(in, ri, total);
                }
                if (!async) {
                    replied(type);
                }
            }
        } finally {
            flushBackendRun();
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
            flushBackendRun();
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
        flushBackendRun();
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

    private void backendRun(ByteBuf in, int index, int length) {
        if (backendRunLength > 0 && backendRunStart + backendRunLength != index) {
            flushBackendRun();
        }
        if (backendRunLength == 0) {
            backendRunStart = index;
        }
        backendRunLength += length;
        in.skipBytes(length);
    }

    private void flushBackendRun() {
        if (backendRunLength > 0) {
            toClient(backendIn.retainedSlice(backendRunStart, backendRunLength));
            backendRunLength = 0;
        }
    }

    // ------------------------------------------------------------------ gateway-owned moments

    /** Simple-protocol statements the gateway answers itself instead of relaying. */
    private boolean intercepted(SqlStatement st) {
        return switch (st.kind()) {
            case COMMIT, COMMIT_AND_CHAIN -> true;
            case PREPARE_TRANSACTION -> Gid.isReserved(st.gid());
            case COMMIT_PREPARED, ROLLBACK_PREPARED -> Gid.isReserved(st.gid()) && !info().isAdmin();
            default -> false;
        };
    }

    /** Why an intercepted statement is refused outright, or null for COMMIT. */
    private ServerError statementError(SqlStatement st) {
        return switch (st.kind()) {
            case COMMIT_AND_CHAIN -> ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                    "[multimaster] COMMIT AND CHAIN is not supported",
                    "Use COMMIT followed by BEGIN with the same transaction characteristics.");
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

    /** Whether statements {@code [from, to)} may run inside a gateway-opened block. */
    private static boolean wrappable(List<SqlStatement> sts, int from, int to) {
        boolean work = false;
        for (int i = from; i < to; i++) {
            StatementKind kind = sts.get(i).kind();
            if (kind == StatementKind.OTHER || kind == StatementKind.COPY) {
                work = true;
            } else if (kind != StatementKind.EMPTY) {
                return false;
            }
        }
        return work;
    }

    /** The rest of a simple Query once its statements needed the gateway: relay pieces, own the commits. */
    private final class QueryPlan {
        private final ByteBuf text;
        private final List<SqlStatement> sts;
        private int next;

        QueryPlan(ByteBuf text, List<SqlStatement> sts) {
            this.text = text;
            this.sts = sts;
        }

        CompletableFuture<Void> step() {
            int n = sts.size();
            int j = next;
            while (j < n && !intercepted(sts.get(j))) {
                j++;
            }
            boolean interceptFollows = j < n;
            boolean content = false;
            boolean control = false;
            for (int i = next; i < j; i++) {
                content |= sts.get(i).kind() != StatementKind.EMPTY;
                control |= sts.get(i).kind().controlsTransaction() || sts.get(i).kind() == StatementKind.NON_TRANSACTIONAL
                        || sts.get(i).kind() == StatementKind.CALL;
            }
            if (!content) {
                if (!interceptFollows) {
                    readyToClient();
                    return done();
                }
                return intercept(j, false);
            }
            // PostgreSQL runs a multi-statement query as one implicit block: when the gateway must split it,
            // it keeps that atomicity with a BEGIN of its own (and, with wrapping on, owns autocommit commits)
            boolean wrapTail = !interceptFollows && host.wrapAutocommit() && wrappable(sts, next, j);
            boolean emulate = txStatus == 'I' && !control && (interceptFollows || wrapTail);
            boolean hold = interceptFollows || emulate;
            int from = sts.get(next).start();
            int to = sts.get(j - 1).end();
            int stop = j;
            // BEGIN and the piece leave together: no extra round trip
            CompletableFuture<QueryResult> begin = emulate ? exchange("BEGIN") : CompletableFuture.completedFuture(null);
            CompletableFuture<Ready> piece = sendPiece(from, to, hold);
            return begin.thenCombine(piece, (b, ready) -> ready).thenCompose(ready -> {
                if (!hold) {
                    return done(); // the piece's ReadyForQuery went to the client: query finished
                }
                if (ready.errorSeen()) {
                    return (emulate && txStatus != 'I' ? exchange("ROLLBACK").thenApply(r -> (Void) null) : done())
                            .thenRun(Session.this::readyToClient);
                }
                if (!interceptFollows) {
                    return implicitCommit().thenRun(Session.this::readyToClient);
                }
                return intercept(stop, emulate);
            });
        }

        private CompletableFuture<Void> intercept(int j, boolean emulated) {
            SqlStatement st = sts.get(j);
            next = j + 1;
            ServerError error = statementError(st);
            if (error != null) {
                return abortStatement(error, emulated).thenRun(Session.this::readyToClient);
            }
            return commitStatement(emulated).thenCompose(ok -> {
                if (ok) {
                    return step();
                }
                readyToClient();
                return done();
            });
        }

        private CompletableFuture<Ready> sendPiece(int from, int to, boolean hold) {
            CompletableFuture<Ready> f = new CompletableFuture<>();
            replies.add(ReplyQueue.QUERY, new HeldReady(f, !hold));
            toBackend(PgWire.query(client.alloc(), text, text.readerIndex() + from, to - from));
            flushBackend();
            return f;
        }
    }

    /** Extended-protocol Execute of an intercepted statement (or any statement the node refuses now). */
    private CompletableFuture<Void> extendedIntercept(SqlStatement st, ServerError refusal) {
        return syncBackend().thenCompose(ready -> {
            if (ready.errorSeen()) {
                // an earlier message of this batch failed: the backend would have skipped this Execute
                discardUntilSync = true;
                return done();
            }
            ServerError error = refusal != null ? refusal : statementError(st);
            if (error != null) {
                return abortStatement(error, false).thenRun(() -> discardUntilSync = true);
            }
            return commitStatement(false).thenAccept(ok -> discardUntilSync |= !ok);
        });
    }

    /**
     * The client's COMMIT/END, reply included (CommandComplete or ErrorResponse; no ReadyForQuery). Completes
     * with false after an error.
     */
    private CompletableFuture<Boolean> commitStatement(boolean emulatedBlock) {
        if (txStatus != 'T') {
            // no open transaction, or a failed one: PostgreSQL's own answer is right (a warning, or ROLLBACK)
            return exchange("COMMIT").thenApply(r -> {
                r.notices().forEach(this::noticeToClient);
                if (r.ok()) {
                    commandCompleteToClient(r.commandTag());
                } else {
                    errorToClient(r.error());
                }
                return r.ok();
            });
        }
        return runCommitter(false).thenApply(outcome -> {
            if (!outcome.isCommitted()) {
                errorToClient(outcome.error());
                return false;
            }
            if (emulatedBlock) {
                // what PostgreSQL says for COMMIT inside a multi-statement query without BEGIN
                noticeToClient(ServerError.warning(SqlStates.NO_ACTIVE_TRANSACTION, "there is no transaction in progress"));
            }
            commandCompleteToClient("COMMIT");
            return true;
        });
    }

    /** The commit of a transaction the gateway opened around autocommit statements. */
    private CompletableFuture<Void> implicitCommit() {
        if (txStatus == 'T') {
            return runCommitter(true).thenAccept(outcome -> {
                if (!outcome.isCommitted()) {
                    errorToClient(outcome.error());
                }
            });
        }
        if (txStatus == 'E') {
            return exchange("ROLLBACK").thenApply(r -> null);
        }
        return done();
    }

    /** Asks the committer; afterwards the backend has no open transaction, whatever the committer did. */
    private CompletableFuture<CommitOutcome> runCommitter(boolean implicit) {
        // a COMMIT the client sent before disconnecting is still carried out, as PostgreSQL would
        ServerError refusal = host.admission().refusal(info());
        if (refusal != null) {
            return exchange("ROLLBACK").thenApply(r -> CommitOutcome.failed(refusal));
        }
        CompletionStage<CommitOutcome> decided;
        gatewayStatements++;
        try {
            decided = host.committer().commit(new Transaction(implicit));
        } catch (RuntimeException e) {
            decided = CompletableFuture.failedFuture(e);
        }
        return decided.toCompletableFuture()
                .handleAsync((outcome, failure) -> {
                    gatewayStatements--;
                    if (failure != null) {
                        LOG.warn("commit of session {} failed in the committer", backendPid, failure);
                        return CommitOutcome.failed(ServerError.error(SqlStates.INTERNAL_ERROR,
                                "[multimaster] commit failed: " + failure));
                    }
                    return outcome;
                }, client.eventLoop())
                .thenCompose(outcome -> {
                    if (txStatus == 'I' || phase == Phase.CLOSED) {
                        return CompletableFuture.completedFuture(outcome);
                    }
                    LOG.error("committer left session {} in transaction status {} ({}); rolling back", backendPid,
                            txStatus, outcome);
                    return exchange("ROLLBACK").thenApply(r -> outcome.isCommitted()
                            ? CommitOutcome.failed(ServerError.error(SqlStates.INTERNAL_ERROR,
                                    "[multimaster] the transaction was not committed"))
                            : outcome);
                });
    }

    /**
     * The client's statement is refused with {@code error} (sent here). An open transaction becomes failed,
     * as after any error in a block, so nothing the client sends next runs outside it by surprise; a block
     * the gateway opened itself is rolled back (PostgreSQL's implicit block would be).
     */
    private CompletableFuture<Void> abortStatement(ServerError error, boolean emulatedBlock) {
        CompletableFuture<QueryResult> end;
        if (emulatedBlock && txStatus != 'I') {
            end = exchange("ROLLBACK");
        } else if (txStatus == 'T') {
            end = exchange("DO $mtm$BEGIN RAISE EXCEPTION USING ERRCODE = '" + error.sqlState() + "', MESSAGE = "
                    + PgWire.literal(error.message()) + "; END$mtm$");
        } else {
            end = CompletableFuture.completedFuture(null);
        }
        return end.thenRun(() -> errorToClient(error));
    }

    /** Brings the backend to a Sync point: all earlier replies have reached the client. */
    private CompletableFuture<Ready> syncBackend() {
        if (!extendedSinceSync) {
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
        if (phase == Phase.CLOSED || backend == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session is closed"));
        }
        OwnStatement sink = new OwnStatement();
        replies.add(ReplyQueue.OWN_SYNCED, sink);
        toBackend(PgWire.ownStatement(client.alloc(), sql, true));
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
        while (!readyWaiters.isEmpty() && replies.pendingReady() == 0) {
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
            fatal(closeAfterWork);
            return;
        }
        resume();
    }

    /** The gateway's own statement: captures every reply. */
    private final class OwnStatement implements ReplySink {
        final CompletableFuture<QueryResult> result = new CompletableFuture<>();
        private String tag;
        private List<List<String>> rows;
        private ServerError error;
        private List<ServerError> notices;

        @Override
        public void message(byte type, ByteBuf message) {
            switch (type) {
                case PgWire.DATA_ROW -> {
                    if (rows == null) {
                        rows = new ArrayList<>(1);
                    }
                    rows.add(PgWire.readDataRow(message));
                }
                case PgWire.COMMAND_COMPLETE -> tag = PgWire.cstring(message, message.readerIndex() + 5,
                        message.readerIndex() + message.readableBytes());
                case PgWire.ERROR_RESPONSE -> error = PgWire.readError(message);
                case PgWire.NOTICE_RESPONSE -> {
                    if (notices == null) {
                        notices = new ArrayList<>(1);
                    }
                    notices.add(PgWire.readError(message));
                }
                default -> { }
            }
        }

        @Override
        public void ready(char status, boolean errorSeen) {
            result.complete(new QueryResult(tag, rows == null ? List.of() : rows, error,
                    notices == null ? List.of() : notices, status));
        }

        @Override
        public void dropped() {
            result.completeExceptionally(new IllegalStateException("backend connection lost"));
        }
    }

    /** Client-visible entry whose ReadyForQuery the gateway wants to see (and usually hold back). */
    private static final class HeldReady implements ReplySink {
        private final CompletableFuture<Ready> result;
        private final boolean forward;

        HeldReady(CompletableFuture<Ready> result, boolean forward) {
            this.result = result;
            this.forward = forward;
        }

        @Override
        public boolean clientVisible() {
            return true;
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

    /** The BEGIN the gateway slips into an autocommit batch before its first Execute. */
    private final class WrapBeginSink implements ReplySink {
        private int closes;

        @Override
        public boolean ends(byte type) {
            return type == PgWire.CLOSE_COMPLETE && ++closes == PgWire.OWN_STATEMENT_CLOSES;
        }

        @Override
        public void message(byte type, ByteBuf message) {
            if (type == PgWire.ERROR_RESPONSE) {
                // the backend now skips the client's batch: the client must learn why
                errorSinceReady = true;
                toClient(message.retainedSlice());
            }
        }
    }

    /** The Sync of a wrapped autocommit batch: commit through the committer, then ReadyForQuery. */
    private final class WrapCommitSink implements ReplySink {
        @Override
        public boolean clientVisible() {
            return true;
        }

        @Override
        public void ready(char status, boolean errorSeen) {
            implicitCommit().thenRun(Session.this::readyToClient).whenComplete((v, failure) -> {
                ownWork--;
                finishOwnWork(failure);
            });
        }

        @Override
        public void dropped() {
            ownWork--;
        }
    }

    /** The committer's view of this session's transaction. */
    private final class Transaction implements CommitContext {
        private final boolean implicit;

        Transaction(boolean implicit) {
            this.implicit = implicit;
        }

        @Override
        public SessionInfo session() {
            return info();
        }

        @Override
        public boolean implicit() {
            return implicit;
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            return host.detached().execute(sql);
        }

        @Override
        public CompletionStage<QueryResult> execute(String sql) {
            if (client.eventLoop().inEventLoop()) {
                return exchange(sql);
            }
            CompletableFuture<QueryResult> f = new CompletableFuture<>();
            client.eventLoop().execute(() -> exchange(sql).whenComplete((r, e) -> {
                if (e != null) {
                    f.completeExceptionally(e);
                } else {
                    f.complete(r);
                }
            }));
            return f;
        }
    }

    // ------------------------------------------------------------------ output, flow control, lifecycle

    private void errorToClient(ServerError e) {
        errorSinceReady = false;
        toClient(PgWire.errorResponse(client.alloc(), e));
        flushClient();
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
        if (gatewayStatements > 0) {
            LOG.info("cancel request for session {} ignored: the gateway is committing its transaction", backendPid);
            return;
        }
        host.sendCancel(backendPid, backendSecret);
    }

    /**
     * Ends the session because the gateway stops: the client gets a FATAL error and both connections close;
     * a session in the middle of a commit finishes the commit first.
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
        flushBackendRun();
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
    private void shutdown() {
        if (phase != Phase.CLOSED) {
            flushClient();
        }
        phase = Phase.CLOSED;
        if (backend != null && backend.isActive()) {
            backend.close();
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
        clientRunLength = 0;
        backendRunLength = 0;
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
