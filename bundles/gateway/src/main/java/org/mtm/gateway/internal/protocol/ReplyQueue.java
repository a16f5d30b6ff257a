package org.mtm.gateway.internal.protocol;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The requests sent to the backend that still await their replies, in order — the way PgBouncer and pgcat
 * pair responses with pipelined extended-protocol requests. Each entry knows which reply ends it
 * ({@link #ends}); after an ErrorResponse to an extended-protocol request the backend discards everything up
 * to the next Sync, and so does this queue ({@link #dropUntilSync}). COPY FROM STDIN makes the backend ignore
 * Sync messages until CopyDone/CopyFail; {@link #copyInStarted} removes those Syncs once the CopyInResponse
 * shows which ones they were.
 *
 * <p>Entries are ints in a ring (no allocation per request); an entry may carry a {@link ReplySink} that
 * takes its replies instead of the client (the gateway's own statements, or a held ReadyForQuery).
 * Pure data structure, single-threaded (the session's event loop).
 */
public final class ReplyQueue {
    public static final int STARTUP = 1;
    public static final int QUERY = 2;
    public static final int FUNCTION = 3;
    public static final int PARSE = 4;
    public static final int BIND = 5;
    public static final int DESCRIBE = 6;
    public static final int EXECUTE = 7;
    public static final int CLOSE = 8;
    public static final int SYNC = 9;
    /** Position of the client's CopyDone/CopyFail; expects no reply. */
    public static final int COPY_END = 10;
    /** The gateway's own statement ending with Sync: ends at ReadyForQuery. */
    public static final int OWN_SYNCED = 11;
    /** The gateway's own statement inside the client's open batch: ends when its sink says so, or at an error. */
    public static final int OWN_UNSYNCED = 12;

    private static final int KIND_MASK = 0xFF;
    private static final int HAS_SINK = 0x100;

    private int[] ring = new int[32];
    private int head;
    private int size;
    private final ArrayDeque<ReplySink> sinks = new ArrayDeque<>();

    public void add(int kind) {
        push(kind);
    }

    public void add(int kind, ReplySink sink) {
        push(kind | HAS_SINK);
        sinks.addLast(sink);
    }

    private void push(int entry) {
        if (size == ring.length) {
            int[] bigger = new int[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) & (ring.length - 1)];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = entry;
        size++;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }

    /** Kind of the oldest entry, 0 when empty. */
    public int headKind() {
        return size == 0 ? 0 : ring[head] & KIND_MASK;
    }

    /** The sink of the oldest entry, or null when its replies go to the client. */
    public ReplySink headSink() {
        return size > 0 && (ring[head] & HAS_SINK) != 0 ? sinks.peekFirst() : null;
    }

    /** Removes the oldest entry, then any COPY_END markers that reached the head (they expect nothing). */
    public void pop() {
        popOne();
        while (size > 0 && (ring[head] & KIND_MASK) == COPY_END) {
            popOne();
        }
    }

    private ReplySink popOne() {
        int entry = ring[head];
        head = (head + 1) & (ring.length - 1);
        size--;
        return (entry & HAS_SINK) != 0 ? sinks.pollFirst() : null;
    }

    /** Whether a message of {@code type} is the last reply to a request of {@code kind} (sinks decide for OWN_UNSYNCED). */
    public static boolean ends(int kind, byte type) {
        return switch (kind) {
            case STARTUP, QUERY, FUNCTION, SYNC, OWN_SYNCED -> type == PgWire.READY_FOR_QUERY;
            case PARSE -> type == PgWire.PARSE_COMPLETE;
            case BIND -> type == PgWire.BIND_COMPLETE;
            case CLOSE -> type == PgWire.CLOSE_COMPLETE;
            case DESCRIBE -> type == PgWire.ROW_DESCRIPTION || type == PgWire.NO_DATA;
            case EXECUTE -> type == PgWire.COMMAND_COMPLETE || type == PgWire.EMPTY_QUERY
                    || type == PgWire.PORTAL_SUSPENDED;
            default -> false;
        };
    }

    /** Extended-protocol requests: an ErrorResponse ends them and makes the backend skip to the next Sync. */
    public static boolean extended(int kind) {
        return kind == PARSE || kind == BIND || kind == DESCRIBE || kind == EXECUTE || kind == CLOSE
                || kind == OWN_UNSYNCED;
    }

    /**
     * After an ErrorResponse ended the head entry (already popped): drops the entries the backend will skip,
     * up to but not including the next SYNC, telling each dropped sink. Returns false when no SYNC is queued
     * (the backend keeps skipping until the client's next Sync).
     */
    public boolean dropUntilSync(Consumer<ReplySink> skipped) {
        while (size > 0) {
            int entry = ring[head];
            if ((entry & KIND_MASK) == SYNC) {
                return true;
            }
            ReplySink sink = popOne();
            if (sink != null) {
                skipped.accept(sink);
            }
        }
        return false;
    }

    /**
     * The head request (a QUERY or EXECUTE) put the backend into COPY FROM STDIN: the Syncs queued after it
     * and before the next COPY_END will be ignored by the backend, so they are removed, and so is that COPY_END.
     * Returns false when no COPY_END is queued yet (later Syncs before the client's CopyDone/CopyFail must not
     * be queued either).
     */
    public boolean copyInStarted() {
        int n = size;
        int[] kept = new int[n];
        int k = 0;
        boolean found = false;
        for (int i = 0; i < n; i++) {
            int entry = ring[(head + i) & (ring.length - 1)];
            int kind = entry & KIND_MASK;
            if (i > 0 && !found && kind == SYNC && (entry & HAS_SINK) == 0) {
                continue;
            }
            if (i > 0 && !found && kind == COPY_END) {
                found = true;
                continue;
            }
            kept[k++] = entry;
        }
        for (int i = 0; i < k; i++) {
            ring[(head + i) & (ring.length - 1)] = kept[i];
        }
        size = k;
        return found;
    }

    /** Number of queued entries that will produce a ReadyForQuery. */
    public int pendingReady() {
        int n = 0;
        for (int i = 0; i < size; i++) {
            int kind = ring[(head + i) & (ring.length - 1)] & KIND_MASK;
            if (kind == STARTUP || kind == QUERY || kind == FUNCTION || kind == SYNC || kind == OWN_SYNCED) {
                n++;
            }
        }
        return n;
    }

    /** Drains everything (connection lost), telling each sink. */
    public void clear(Consumer<ReplySink> dropped) {
        while (size > 0) {
            ReplySink sink = popOne();
            if (sink != null) {
                dropped.accept(sink);
            }
        }
    }
}
