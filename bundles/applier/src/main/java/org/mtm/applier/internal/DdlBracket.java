package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.function.Consumer;
import org.mtm.api.ReplicatedDdl;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;

/**
 * The DDL bracket ({@code mtm.ddl} ... {@code mtm.ddl_end}) a received transaction is in, for both appliers
 * ({@link StreamApplier}, {@link RecoveryApplier}). Its statement waits until the first thing of the bracket that
 * needs it — a row applied inside it, a carried value or digest, the bracket's end — so that an
 * {@link ReplicatedDdl#LOCAL_PREFIX} message before that can drop it (rows in between that are not applied make no
 * difference); a CREATE TABLE ... AS runs at once, its rows being applied inside the bracket.
 */
final class DdlBracket {

    /** Something to run in the applier's transaction. */
    interface Work {
        void run() throws SQLException;
    }

    /** The applier's way of running work in its transaction: begun here first, a failure handled as the applier's. */
    interface Step {
        /** @return false when the transaction is not applied here or failed */
        boolean apply(Work work) throws SQLException;
    }

    private boolean open;
    /** Its statement's run here writes the rows the origin logged ({@link ReplicatedDdl#rerunWritesRows}). */
    private boolean rerunWritesRows;
    /** A CREATE TABLE ... AS run here: the table (schema.name) whose rows are the origin's, applied here. */
    private String carried;
    /** The statement, not run yet, and its message as logged. */
    private ReplicatedDdl pending;
    private byte[] content;

    /** The bracket's {@code mtm.ddl} message; its statement waits for {@link #run}. */
    void open(ReplicatedDdl ddl, byte[] content) {
        open = true;
        rerunWritesRows = ddl.rerunWritesRows();
        pending = ddl;
        this.content = content;
    }

    boolean isOpen() {
        return open;
    }

    /** Changes inside the bracket are the statement's own, written here by running it: not applied. */
    boolean skipsRows() {
        return open && rerunWritesRows;
    }

    /** A change inside the bracket that is applied all the same: a row of the table a CREATE TABLE ... AS created. */
    boolean carries(Relation r) {
        return open && carried != null && carried.equals(r.schema() + '.' + r.name());
    }

    /** Its statement is waiting and must run at once: a CREATE TABLE ... AS, whose rows follow inside the bracket. */
    boolean runsAtOnce() {
        return pending != null && pending.carriesRows();
    }

    /** {@link ReplicatedDdl#LOCAL_PREFIX}: the statement was node-local on its origin. @return it, null when none waited */
    ReplicatedDdl drop() {
        ReplicatedDdl dropped = pending;
        pending = null;
        content = null;
        return dropped;
    }

    /**
     * Runs the waiting statement, if any, once: logged again in this node's WAL ({@link ApplySession#executeDdl}), for
     * nodes that recover from this one.
     *
     * @param applying what to return when no statement waits: whether the transaction is still applied here
     * @param ran      told of the statement after it ran (the applier's log)
     * @return false when the transaction failed here
     */
    boolean run(ApplySession session, boolean applying, Step step, Consumer<ReplicatedDdl> ran) throws SQLException {
        ReplicatedDdl ddl = pending;
        if (ddl == null) {
            return applying;
        }
        byte[] logged = content;
        drop();
        return step.apply(() -> {
            carried = session.executeDdl(ddl, logged);
            ran.accept(ddl);
        });
    }

    /** The bracket's {@code mtm.ddl_end} (its statement run first). */
    void close() {
        open = false;
        rerunWritesRows = false;
        carried = null;
    }
}
