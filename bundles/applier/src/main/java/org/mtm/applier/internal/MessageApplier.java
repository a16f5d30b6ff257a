package org.mtm.applier.internal;

import org.mtm.applier.internal.pgoutput.PgOutputMessage;

/** Applies a peer's decoded stream, serially ({@link StreamApplier}) or on parallel workers ({@link ParallelApplier}). */
interface MessageApplier extends AutoCloseable {

    /**
     * Applies (or dispatches) one message, in stream order.
     *
     * @throws Exception the receiver must reconnect and stream again from the durable progress
     */
    void handle(PgOutputMessage message) throws Exception;

    /** The highest LSN newly confirmable to the peer's slot since the last call, or 0. */
    long takeFinished();

    /** Throws the failure of a parallel worker, if one failed (serial apply fails in {@link #handle}). */
    default void checkFailure() throws Exception {
    }

    /**
     * From another thread: stops applying now (cancels running statements, ends waits with a failure).
     * The receiver thread then calls {@link #close()}.
     */
    default void cancel() {
    }

    /**
     * From another thread: {@code gid}'s coordinator decided abort (its {@code r} follows in the stream). The session
     * applying it, if any, is marked {@link ApplySession#abandon abandoned}: its apply stops after the statement that
     * runs and the rest of its changes are skipped, without a vote — no need to wait for the {@code r}, which the
     * stream reads only after every change of the transaction was handed to the apply.
     */
    default void abortDecided(String gid) {
        for (ApplySession s : sessions()) {
            s.abandon(gid);
        }
    }

    /** The claims this applier's {@code K} shares with the node's {@link EarlyCommitter} (before the first message). */
    default void earlyFinishes(EarlyFinishes finishes) {
    }

    /** The apply sessions in use now (any thread), for the lock watch. */
    java.util.List<ApplySession> sessions();

    /** Apply sessions in use ({@code n_workers} of {@code mtm.nodes()}). */
    int workers();

    @Override
    void close();
}
