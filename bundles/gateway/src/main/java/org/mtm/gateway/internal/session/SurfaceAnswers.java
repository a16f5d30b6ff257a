package org.mtm.gateway.internal.session;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.Channel;

/**
 * The multimaster functions a session calls that the gateway answers itself instead of PostgreSQL (the manual's
 * SQL surface: CREATE EXTENSION multimaster, mtm.init_cluster, mtm.check_query, mtm.get_snapshots, ...): the call
 * goes to {@link SurfaceFunctions}, and its answer to the client as PostgreSQL would send a function's result.
 * Apart from the session because these are calls into the node, not statements on the backend. Event loop only.
 */
final class SurfaceAnswers {
    private static final Logger LOG = LoggerFactory.getLogger(SurfaceAnswers.class);

    private final SessionHost host;
    private final Channel client;
    private final ClientOutput out;
    /** Whose snapshots mtm.get_snapshots() takes (the session), freed with it. */
    private final Object owner;
    private final Supplier<SessionInfo> info;
    private final BooleanSupplier closed;
    /** mtm.get_snapshots() was called: the snapshots are freed when the session ends. */
    private boolean snapshotsTaken;
    /** Calls running: a CancelRequest must not hit the backend meanwhile. */
    private int running;

    /**
     * @param owner  the session, owner of the snapshots it takes
     * @param info   who the session is (the user mtm.check_query runs as)
     * @param closed the session has ended: progress NOTICEs arriving later are not sent
     */
    SurfaceAnswers(SessionHost host, Channel client, ClientOutput out, Object owner, Supplier<SessionInfo> info,
                   BooleanSupplier closed) {
        this.host = host;
        this.client = client;
        this.out = out;
        this.owner = owner;
        this.info = info;
        this.closed = closed;
    }

    boolean running() {
        return running > 0;
    }

    /** The session ends: snapshots it took are kept until mtm.free_snapshots() or then (manual). */
    void sessionEnded() {
        if (snapshotsTaken) {
            snapshotsTaken = false;
            host.surface().freeSnapshots(owner);
        }
    }

    /**
     * A call the gateway answers itself (CREATE EXTENSION multimaster, mtm.init_cluster, mtm.alter_sequences),
     * its replies included (RowDescription only for the simple protocol: in the extended one the stand-in's
     * Describe answered). Completes with null, or the error for the client (not sent yet).
     */
    CompletableFuture<ServerError> answer(SurfaceCall call, SurfaceCall.Parameters params, boolean binary, boolean describe) {
        CompletionStage<?> pending;
        try {
            pending = switch (call.function()) {
                case CREATE_EXTENSION -> CompletableFuture.completedFuture(null);
                case INIT_CLUSTER -> host.surface().initCluster(call.text(0, params, "my_conninfo"),
                        call.textArray(1, params, "peers_conninfo"));
                case ALTER_SEQUENCES -> host.surface().alterSequences();
                case CHECK_QUERY -> host.surface().checkQuery(call.text(0, params, "query_text"), info.get().user(),
                        this::checkProgress);
                case GET_SNAPSHOTS -> {
                    snapshotsTaken = true;
                    yield host.surface().getSnapshots(owner);
                }
                case FREE_SNAPSHOTS -> host.surface().freeSnapshots(owner);
                case DROP_NODE -> host.surface().dropNode(call.integer(0, params, "node_id"));
                case ADD_NODE -> host.surface().addNode(call.text(0, params, "connstr"));
                case JOIN_NODE -> host.surface().joinNode(call.integer(0, params, "node_id"),
                        call.text(1, params, "backup_end_lsn"));
                case PING -> host.surface().ping();
            };
        } catch (SurfaceCall.CallException e) {
            return CompletableFuture.completedFuture(ServerError.error(e.sqlState(), e.getMessage()));
        } catch (RuntimeException e) {
            pending = CompletableFuture.failedFuture(e);
        }
        running++;
        return pending.toCompletableFuture().handleAsync((result, failure) -> {
            running--;
            if (failure != null) {
                Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                if (cause instanceof SurfaceCall.CallException e) {
                    return ServerError.error(e.sqlState(), e.getMessage());
                }
                LOG.warn("session {}: {} failed", info.get().backendPid(), call, cause);
                return ServerError.error(SqlStates.INTERNAL_ERROR, "[multimaster] " + call + " failed: " + cause);
            }
            SurfaceCall.Function f = call.function();
            if (f == SurfaceCall.Function.CREATE_EXTENSION) {
                out.commandComplete("CREATE EXTENSION");
                return null;
            }
            if (f == SurfaceCall.Function.ALTER_SEQUENCES) {
                int changed = result instanceof Integer i ? i : 0;
                out.notice(new ServerError("NOTICE", "00000", changed == 0
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
                    out.notice(ServerError.warning("01000", answer.warning()));
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
                out.write(PgWire.rowDescription(client.alloc(), f.column(), f.typeOid(),
                        f == SurfaceCall.Function.ALTER_SEQUENCES || f == SurfaceCall.Function.CHECK_QUERY
                                || f == SurfaceCall.Function.PING ? 1
                                : f == SurfaceCall.Function.GET_SNAPSHOTS ? -1 : 4));
            }
            out.write(PgWire.dataRow(client.alloc(), value));
            out.commandComplete("SELECT 1");
            return null;
        }, client.eventLoop());
    }

    /**
     * A progress line of mtm.check_query as a NOTICE while the check runs, as mtm:check-query prints them (psql shows
     * NOTICEs as they come); from the nodes' query threads, so handed to the session's event loop.
     */
    private void checkProgress(String line) {
        client.eventLoop().execute(() -> {
            if (!closed.getAsBoolean()) {
                out.notice(new ServerError("NOTICE", "00000", "[multimaster] check_query: " + line, null, null));
                out.flush();
            }
        });
    }
}
