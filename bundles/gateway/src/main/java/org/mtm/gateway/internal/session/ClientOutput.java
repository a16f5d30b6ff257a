package org.mtm.gateway.internal.session;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * What goes to the client: relayed runs and the gateway's own answers, written in order on one channel and flushed
 * once per read. It also holds the one CommandComplete the gateway may keep back — that of a simple Query's last
 * statement whose implicit commit is the gateway's: PostgreSQL commits before that CommandComplete, so it goes out
 * only once the commit succeeded, and a failed commit leaves the error alone. Event loop only.
 */
final class ClientOutput {
    private final Channel client;
    private boolean flushNeeded;
    /** The client went away while the gateway still owned the backend: nothing more is written. */
    private boolean gone;
    private ByteBuf heldComplete;

    ClientOutput(Channel client) {
        this.client = client;
    }

    void write(ByteBuf b) {
        if (gone || !client.isActive()) {
            b.release();
            return;
        }
        client.write(b, client.voidPromise());
        flushNeeded = true;
    }

    void flush() {
        if (flushNeeded) {
            flushNeeded = false;
            client.flush();
        }
    }

    void gone() {
        gone = true;
    }

    boolean isGone() {
        return gone;
    }

    void error(ServerError e) {
        write(PgWire.errorResponse(client.alloc(), e));
        flush();
    }

    void notice(ServerError e) {
        write(PgWire.noticeResponse(client.alloc(), e));
    }

    void commandComplete(String tag) {
        write(PgWire.commandComplete(client.alloc(), tag));
        flush();
    }

    void ready(char status) {
        write(PgWire.readyForQuery(client.alloc(), status));
        flush();
    }

    /** Keeps a copy of {@code complete} until {@link #releaseHeldComplete} or {@link #dropHeldComplete}. */
    void holdComplete(ByteBuf complete) {
        dropHeldComplete();
        heldComplete = complete.copy();
    }

    /** The commit went through (or there was none to make): the statement's CommandComplete goes out. */
    void releaseHeldComplete() {
        if (heldComplete != null) {
            ByteBuf m = heldComplete;
            heldComplete = null;
            write(m);
        }
    }

    /** The commit failed: the statement's CommandComplete never came, as in PostgreSQL. */
    void dropHeldComplete() {
        if (heldComplete != null) {
            heldComplete.release();
            heldComplete = null;
        }
    }
}
