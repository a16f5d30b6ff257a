package org.mtm.gateway.internal.session;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntUnaryOperator;

import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.protocol.ReplyQueue;
import org.mtm.gateway.internal.protocol.ReplySink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * The session's connection to its PostgreSQL backend, as the gateway uses it: what is written to it, and the
 * pairing of every reply with the request it answers. Each request is recorded in a {@link ReplyQueue} when it is
 * written; replies are relayed to the client in retained slices or handed to the request's {@link ReplySink} (the
 * gateway's own statements, pieces of a split query), and an error in a pipeline drops the requests the backend
 * skips up to Sync, as the backend does. ReadyForQuery's status byte is the transaction status the session acts on.
 *
 * <p>Here because the reply stream is one protocol of its own: the session decides what to send, this class knows
 * what has been answered. It is also where the gateway's own statements run ({@link #exchange}, with the reserved
 * statement name so the client's unnamed statement and portal survive) once the backend is at a Sync point
 * ({@link #syncBackend}). Event loop only.
 */
final class BackendLink {
    private static final Logger LOG = LoggerFactory.getLogger(BackendLink.class);

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

    /** ReadyForQuery as the gateway saw it: status byte, and whether the client got an error since the previous one. */
    record Ready(char status, boolean errorSeen) { }

    /** What the session does when the backend says so. */
    interface Events {
        /** The session is closed: nothing more is read or written. */
        boolean closed();

        /** The session relays bytes without looking at them (after an SSL or GSS request the backend accepted). */
        boolean raw();

        int backendPid();

        /** The startup's ReadyForQuery: the session is ready for queries. */
        void startupEnded();

        void parameterStatus(ByteBuf in, int ri, int total);

        void backendKey(int pid, int secret);

        /** The backend is in COPY FROM STDIN: the client's COPY data must flow even while the gateway owns it. */
        void copyInStarted();

        /** The backend broke the protocol: both connections close. */
        void broken();
    }

    private final Channel client;
    private final ClientOutput out;
    private final TransactionNotes notes;
    private final Events session;
    private final ReplyQueue replies = new ReplyQueue();
    private Channel channel;
    private boolean flushNeeded;

    // the receive buffer and the pending run (backend bytes relayed to the client)
    private ByteBuf in;
    private int streamRemaining;
    private final ForwardRun run;

    private char status = 'I';
    private boolean errorSinceReady;
    /**
     * Statements run in a block of the gateway's where PostgreSQL would have none (an autocommit statement alone in
     * its query, an autocommit batch of the extended protocol): a function's "… cannot run inside a transaction
     * block" goes to the client as PostgreSQL's "… cannot be executed from a function" ({@link PgWire#outsideBlock}).
     */
    private boolean outsideClientBlock;
    /** {@link #outsideClientBlock} ends at the backend's next ReadyForQuery (the batch's Sync). */
    private boolean outsideUntilReady;
    /** An own statement of the gateway failed: its statement may be left, to be closed before the next guard's Parse. */
    private boolean ownLeftovers;
    /**
     * Requests of the gateway's own still on their way after which the status is known to be 'I' (COMMITs of
     * read-only wrapped transactions, the Sync behind a read-only guarded Query): their replies are the gateway's, so
     * the next request need not wait for them.
     */
    private int idleTail;
    /** Extended-protocol messages were written since the last Sync. */
    private boolean extendedSinceSync;
    /** The backend discards messages until the client's next Sync (an error with no Sync queued). */
    private boolean skipping;
    /** The gateway's own statements are running: a CancelRequest must not hit them. */
    private int ownStatements;
    private final ArrayDeque<Runnable> idleWaiters = new ArrayDeque<>(2);
    /** Waiters for "no ReadyForQuery outstanding" (the current batch may still have unsynced requests). */
    private final ArrayDeque<Runnable> readyWaiters = new ArrayDeque<>(1);

    BackendLink(Channel client, ClientOutput out, TransactionNotes notes, Events session) {
        this.client = client;
        this.out = out;
        this.notes = notes;
        this.session = session;
        this.run = new ForwardRun(() -> in, out::write);
    }

    /** The connection to the backend is up. */
    void attach(Channel backend) {
        this.channel = backend;
    }

    /** The backend channel, or null before it is connected. */
    Channel channel() {
        return channel;
    }

    /** The requests written and not answered yet, in order; the session records the client's requests here. */
    ReplyQueue replies() {
        return replies;
    }

    // ------------------------------------------------------------------ writing

    void write(ByteBuf b) {
        channel.write(b, channel.voidPromise());
        flushNeeded = true;
    }

    void flush() {
        if (flushNeeded && channel != null) {
            flushNeeded = false;
            channel.flush();
        }
    }

    /** An extended-protocol message was written: {@link #syncBackend} must send a Sync. */
    void extendedWritten() {
        extendedSinceSync = true;
    }

    /**
     * The client's Sync was written (or dropped): a new batch begins.
     *
     * @return whether the backend was skipping the batch that ends here
     */
    boolean syncWritten() {
        boolean was = skipping;
        skipping = false;
        extendedSinceSync = false;
        return was;
    }

    /** The backend skips the client's messages up to its next Sync (an error in the batch). */
    boolean skipping() {
        return skipping;
    }

    // ------------------------------------------------------------------ what is known of the backend

    /** The transaction status of the backend's last ReadyForQuery ('I', 'T', 'E'). */
    char status() {
        return status;
    }

    /** The status, when nothing but the gateway's idle tail is pending; 0 when not known. */
    char statusIfIdle() {
        return replies.size() == idleTail ? status : 0;
    }

    /** The status at the start of the current batch, when no ReadyForQuery but the idle tail's is pending; else 0. */
    char statusAtBatchStart() {
        return replies.pendingReady() <= idleTail ? status : 0;
    }

    /** Runs {@code r} once the status at the batch's start is known ({@link #statusAtBatchStart}). */
    void whenStatusKnown(Runnable r) {
        readyWaiters.add(r);
    }

    /** The gateway's own statements are running (a cancel request would hit them). */
    boolean ownStatementsRunning() {
        return ownStatements > 0;
    }

    /** The gateway answered the client with an error of its own: the next ReadyForQuery is not after a relayed one. */
    void errorAnswered() {
        errorSinceReady = false;
    }

    /**
     * A COMMIT of a transaction that wrote nothing, not waited for: the status is 'I' from now on (the client's
     * next request queues behind it on the same connection).
     */
    void commitUnawaited(boolean simpleQuery) {
        idleTail++;
        (simpleQuery ? exchangeSimple("COMMIT") : exchange("COMMIT")).whenComplete((r, failure) -> {
            idleTail--;
            if (failure == null && !r.ok()) {
                LOG.warn("session {}: COMMIT of a read-only transaction failed: {}", session.backendPid(), r.error());
            }
        });
        status = 'I'; // what the COMMIT's ReadyForQuery will say
        notes.clear();
    }

    // ------------------------------------------------------------------ the gateway's own statements

    /**
     * Makes the transaction the client's next request starts read-only: the gateway's own statement, unsynced, so
     * it shares the implicit transaction of what follows (a simple Query, or the rest of an extended batch up to
     * its Sync). No round trip: it goes in the same write as the client's request (the session flushes its run
     * first).
     */
    Guard readOnlyGuard() {
        boolean leftovers = ownLeftovers;
        ownLeftovers = false;
        write((leftovers ? READ_ONLY_GUARD_AFTER_LEFTOVERS : READ_ONLY_GUARD).duplicate());
        Guard guard = new Guard(PgWire.openingTransactionCloses(leftovers));
        replies.add(ReplyQueue.OWN_UNSYNCED, guard);
        return guard;
    }

    /**
     * After a simple Query behind {@link #readOnlyGuard}: a Sync of the gateway's. Should the guard fail (a cancel
     * request hitting it), the backend skips the Query up to this Sync, and its ReadyForQuery answers the Query.
     */
    void readOnlyGuardEnd(Guard guard) {
        write(PgWire.sync(client.alloc()));
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
                if (guard.failed() && type == PgWire.READY_FOR_QUERY) {
                    out.write(message.copy()); // (the slice is of the link's input buffer)
                }
            }
        });
    }

    /** Brings the backend to a Sync point: all earlier replies have reached the client. */
    CompletableFuture<Ready> syncBackend() {
        if (!extendedSinceSync) {
            if (replies.size() == idleTail) {
                return CompletableFuture.completedFuture(new Ready(status, false)); // only those COMMITs pending
            }
            return whenIdle().thenApply(v -> new Ready(status, false));
        }
        extendedSinceSync = false;
        CompletableFuture<Ready> f = new CompletableFuture<>();
        replies.add(ReplyQueue.SYNC, new HeldReady(f, false));
        write(PgWire.sync(client.alloc()));
        flush();
        return f;
    }

    /** Runs one statement of the gateway's own on the backend (must be at a Sync point). */
    CompletableFuture<QueryResult> exchange(String sql) {
        return exchange(sql, List.of());
    }

    /** {@link #exchange(String)} with text parameters in the client's encoding. */
    CompletableFuture<QueryResult> exchange(String sql, List<byte[]> params) {
        if (session.closed() || channel == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session is closed"));
        }
        writeOwn(sql, params, true);
        OwnStatement sink = new OwnStatement();
        replies.add(ReplyQueue.OWN_SYNCED, sink);
        flush();
        ownStatements++;
        return sink.result.whenComplete((r, e) -> ownStatements--);
    }

    /**
     * {@link #exchange(String)} as a simple Query: fewer messages for the backend, but it drops the unnamed
     * statement and portal — only for the moments a client's simple Query would drop them anyway.
     */
    CompletableFuture<QueryResult> exchangeSimple(String sql) {
        CompletableFuture<QueryResult> r = aroundClients(sql);
        ownStatements++;
        return r.whenComplete((x, e) -> ownStatements--);
    }

    /**
     * {@link #exchangeSimple} for the BEGIN and the quick query written together with the client's statements: a
     * cancel request meanwhile is the client's, for its statements (a quick query it cancels is asked again).
     */
    CompletableFuture<QueryResult> aroundClients(String sql) {
        if (session.closed() || channel == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session is closed"));
        }
        OwnStatement sink = new OwnStatement();
        replies.add(ReplyQueue.OWN_SYNCED, sink);
        write(PgWire.query(client.alloc(), sql));
        flush();
        return sink.result;
    }

    /**
     * Writes one of the gateway's own statements in the extended protocol under the reserved name, closed at its
     * end: nothing of the gateway's stays prepared in the session ({@code pg_prepared_statements} shows the
     * client's statements only), and the client's unnamed statement and portal survive.
     */
    private void writeOwn(String sql, List<byte[]> params, boolean sync) {
        write(params.isEmpty() ? PgWire.ownStatement(client.alloc(), sql, sync)
                : PgWire.ownStatement(client.alloc(), sql, params, sync));
    }

    /** An own statement inside the client's batch (no Sync): written, its sink still to be queued. */
    /**
     * The statements sent next run in the gateway's block where PostgreSQL would have none (see
     * {@link #outsideClientBlock}): until {@code off} is called ({@code untilReady} false: the simple Query's plan,
     * which waits for each piece) or until the backend's next ReadyForQuery (an extended-protocol batch).
     */
    void outsideClientBlock(boolean on, boolean untilReady) {
        outsideClientBlock = on;
        outsideUntilReady = on && untilReady;
    }

    UnsyncedStatement writeUnsynced(String sql, List<byte[]> params) {
        writeOwn(sql, params, false);
        return new UnsyncedStatement();
    }

    /**
     * A piece of the client's simple Query (or a statement in its place), the replies the client's, its
     * ReadyForQuery the gateway's to see: {@code result} completes with it.
     *
     * @param forward      the ReadyForQuery goes to the client too (the query's last piece)
     * @param positions    the client's error position (in its query) of the piece's (in what was sent)
     * @param holdComplete the number of the piece's CommandComplete held for the gateway's commit, 0 for none
     */
    void queryPiece(ByteBuf query, CompletableFuture<Ready> result, boolean forward, IntUnaryOperator positions,
                    int holdComplete) {
        queryPiece(query, result, forward, positions, holdComplete, null);
    }

    /**
     * {@link #queryPiece} with {@code beforeAnswer} called once, just before the piece's first CommandComplete (with
     * null) or its ErrorResponse (with the message) reaches the client: what the gateway says about the statement
     * goes before or after PostgreSQL's answer as PostgreSQL would have said it.
     */
    void queryPiece(ByteBuf query, CompletableFuture<Ready> result, boolean forward, IntUnaryOperator positions,
                    int holdComplete, java.util.function.Consumer<ByteBuf> beforeAnswer) {
        HeldReady sink = new HeldReady(result, forward, positions, holdComplete);
        sink.beforeAnswer = beforeAnswer;
        replies.add(ReplyQueue.QUERY, sink);
        write(query);
        flush();
    }

    CompletableFuture<Void> whenIdle() {
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

    // ------------------------------------------------------------------ backend → client

    /** Bytes from the backend. */
    void read(ChannelHandlerContext ctx, ByteBuf received) {
        in = in == null ? received : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), in, received);
        process();
    }

    /** What was relayed so far goes out before the gateway speaks itself. */
    void relayPending() {
        run.flush();
    }

    private void process() {
        ByteBuf in = this.in;
        try {
            while (in != null && in.isReadable() && !session.closed()) {
                int ri = in.readerIndex();
                if (streamRemaining > 0) {
                    int n = Math.min(streamRemaining, in.readableBytes());
                    run.add(in, ri, n);
                    streamRemaining -= n;
                    continue;
                }
                if (session.raw()) {
                    run.add(in, ri, in.readableBytes());
                    break;
                }
                if (in.readableBytes() < 5) {
                    break;
                }
                byte type = in.getByte(ri);
                int length = in.getInt(ri + 1);
                if (length < 4) {
                    LOG.warn("backend of session {} sent a message of invalid length {}; closing", session.backendPid(), length);
                    session.broken();
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
                    run.add(in, ri, n);
                    streamRemaining = total - n;
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
                    status = (char) in.getByte(ri + 5);
                    if (status == 'I' && replies.size() == 1) {
                        notes.clear(); // nothing else pending: no later transaction has begun
                    }
                }
                if (type == PgWire.ERROR_RESPONSE && outsideClientBlock) {
                    ByteBuf changed = PgWire.outsideBlock(client.alloc(), in.slice(ri, total));
                    if (changed != null) {
                        run.flush();
                        in.skipBytes(total);
                        if (captured) {
                            sink.message(type, changed);
                            changed.release();
                        } else {
                            errorSinceReady = true;
                            out.write(PgWire.mapPosition(client.alloc(), changed, null));
                            changed.release();
                            if (sink != null) {
                                sink.passed(type);
                            }
                        }
                        replied(type);
                        continue;
                    }
                }
                if (type == PgWire.READY_FOR_QUERY && outsideUntilReady) {
                    outsideClientBlock = false;
                    outsideUntilReady = false;
                }
                if (captured) {
                    run.flush();
                    ByteBuf message = in.slice(ri, total);
                    in.skipBytes(total);
                    sink.message(type, message);
                    if (!async) {
                        replied(type);
                    }
                    continue;
                }
                if (type == PgWire.ERROR_RESPONSE && PgWire.namesClusterFunction(in, ri, total)) {
                    // raised by a cluster's event trigger: to the client without its CONTEXT line (PgWire.mapPosition)
                    errorSinceReady = true;
                    run.flush();
                    out.write(PgWire.mapPosition(client.alloc(), in.slice(ri, total), null));
                    in.skipBytes(total);
                    if (sink != null) {
                        sink.passed(type);
                    }
                    replied(type);
                    continue;
                }
                switch (type) {
                    case PgWire.PARAMETER_STATUS -> session.parameterStatus(in, ri, total);
                    case PgWire.BACKEND_KEY_DATA -> session.backendKey(in.getInt(ri + 5), in.getInt(ri + 9));
                    case PgWire.ERROR_RESPONSE -> errorSinceReady = true;
                    default -> { }
                }
                if (type == PgWire.READY_FOR_QUERY && sink != null && !sink.forwardsReady()) {
                    run.flush();
                    in.skipBytes(total);
                } else {
                    run.add(in, ri, total);
                    if (sink != null) {
                        sink.passed(type);
                    }
                }
                if (!async) {
                    replied(type);
                }
            }
        } finally {
            run.flush();
            if (this.in != null && !this.in.isReadable()) {
                this.in.release();
                this.in = null;
            } else if (this.in != null && this.in.refCnt() == 1) {
                this.in.discardSomeReadBytes();
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
            run.flush();
            replies.pop();
            if (sink != null) {
                sink.ended();
            }
            if (!replies.dropUntilSync(ReplySink::dropped)) {
                skipping = true;
            }
            checkIdle();
            return;
        }
        if (type == PgWire.COPY_IN_RESPONSE && !replies.copyInStarted()) {
            session.copyInStarted();
        }
        boolean ends = kind == ReplyQueue.OWN_UNSYNCED ? sink.ends(type) : ReplyQueue.ends(kind, type);
        if (!ends) {
            return;
        }
        run.flush();
        replies.pop();
        if (type == PgWire.READY_FOR_QUERY) {
            boolean errorSeen = errorSinceReady;
            errorSinceReady = false;
            if (kind == ReplyQueue.STARTUP) {
                session.startupEnded();
            }
            if (sink != null) {
                sink.ready(status, errorSeen);
            }
        } else if (sink != null) {
            sink.ended();
        }
        checkIdle();
    }

    /** The session ends: what was received and every pending request are let go. */
    void release() {
        if (in != null) {
            in.release();
            in = null;
        }
        run.clear();
        replies.clear(ReplySink::dropped);
        idleWaiters.clear();
        readyWaiters.clear();
    }

    // ------------------------------------------------------------------ reply sinks

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

    /**
     * The sink of a client's Parse the gateway sent rewritten: its error goes to the client with the position in the
     * client's statement ({@code positions} of the rewritten one's).
     */
    ReplySink positioned(IntUnaryOperator positions) {
        return new ReplySink() {
            @Override
            public boolean clientVisible() {
                return true;
            }

            @Override
            public boolean captures(byte type) {
                return type == PgWire.ERROR_RESPONSE;
            }

            @Override
            public void message(byte type, ByteBuf message) {
                errorSinceReady = true;
                out.write(PgWire.mapPosition(client.alloc(), message, positions));
            }
        };
    }

    /** Client-visible entry whose ReadyForQuery the gateway wants to see (and usually hold back). */
    private final class HeldReady implements ReplySink {
        private final CompletableFuture<Ready> result;
        private final boolean forward;
        /** The client's error position of the piece's, or null: the piece is the client's query as sent. */
        private final IntUnaryOperator positions;
        /** The CommandComplete held back ({@link ClientOutput#holdComplete}) (its number in the piece), 0 for none. */
        private final int holdComplete;
        private int completes;
        /** See {@link #queryPiece(ByteBuf, CompletableFuture, boolean, IntUnaryOperator, int, java.util.function.Consumer)}. */
        private java.util.function.Consumer<ByteBuf> beforeAnswer;

        HeldReady(CompletableFuture<Ready> result, boolean forward) {
            this(result, forward, null, 0);
        }

        HeldReady(CompletableFuture<Ready> result, boolean forward, IntUnaryOperator positions, int holdComplete) {
            this.result = result;
            this.forward = forward;
            this.positions = positions;
            this.holdComplete = holdComplete;
        }

        @Override
        public boolean clientVisible() {
            return true;
        }

        @Override
        public boolean captures(byte type) {
            return (positions != null && type == PgWire.ERROR_RESPONSE)
                    || (type == PgWire.COMMAND_COMPLETE && completes == holdComplete - 1)
                    || (beforeAnswer != null && (type == PgWire.ERROR_RESPONSE || type == PgWire.COMMAND_COMPLETE));
        }

        @Override
        public void passed(byte type) {
            if (type == PgWire.COMMAND_COMPLETE) {
                completes++;
            }
        }

        @Override
        public void message(byte type, ByteBuf message) {
            if (beforeAnswer != null) {
                java.util.function.Consumer<ByteBuf> first = beforeAnswer;
                beforeAnswer = null;
                first.accept(type == PgWire.ERROR_RESPONSE ? message : null);
            }
            if (type == PgWire.COMMAND_COMPLETE) {
                completes++;
                if (completes == holdComplete) {
                    out.holdComplete(message);
                } else {
                    out.write(message.copy()); // (the slice is of the link's input buffer)
                }
                return;
            }
            errorSinceReady = true;
            out.write(PgWire.mapPosition(client.alloc(), message, positions));
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
     * The read-only guard's replies ({@link #readOnlyGuard}): taken whole and not decoded — one runs before every
     * autocommit read, so only whether it failed is kept (no command tag, result or future per read). Its error goes
     * to the client, as an {@link UnsyncedStatement}'s does, since the backend then skips the client's request.
     */
    final class Guard implements ReplySink {
        private final int expectedCloses;
        private int closes;
        private boolean failed;

        Guard(int expectedCloses) {
            this.expectedCloses = expectedCloses;
        }

        /** The guard failed (its error went to the client) or was skipped after an earlier error. */
        boolean failed() {
            return failed;
        }

        @Override
        public boolean ends(byte type) {
            return type == PgWire.CLOSE_COMPLETE && ++closes == expectedCloses;
        }

        @Override
        public void message(byte type, ByteBuf message) {
            if (type == PgWire.ERROR_RESPONSE) {
                failed = true;
                ownLeftovers = true;
                errorSinceReady = true;
                out.write(message.retainedSlice());
            }
        }

        @Override
        public void dropped() {
            failed = true;
            ownLeftovers = true;
        }
    }

    /**
     * The gateway's own statement inside the client's batch (no Sync of its own): its rows are captured; an
     * error goes to the client, since the backend now skips the client's batch up to its Sync.
     */
    final class UnsyncedStatement implements ReplySink {
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
                errorSinceReady = true;
                out.write(message.retainedSlice());
            }
        }

        @Override
        public void ended() {
            result.complete(reply.result(status));
        }

        @Override
        public void dropped() {
            ownLeftovers = true;
            result.completeExceptionally(new IllegalStateException("skipped after an earlier error"));
        }
    }
}
