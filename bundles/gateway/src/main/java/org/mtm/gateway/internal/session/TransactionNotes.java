package org.mtm.gateway.internal.session;

import org.mtm.gateway.internal.commit.Footprint;
import org.mtm.gateway.internal.sql.Replication.Reach;

/**
 * What the current transaction did that its commit must know, as the gateway saw it go by: replicated changes
 * possible, LISTEN/NOTIFY, logged DDL, temporary objects, stand-ins of temporary tables. Cleared when the backend
 * reports 'I' with nothing else pending (a pipelined request may belong to the next transaction).
 */
final class TransactionNotes {
    private boolean replicates;
    private boolean notify;
    private boolean ddl;
    private boolean temporary;
    private boolean standIn;

    /** A statement of {@code reach} was sent to the backend. */
    void note(Reach reach) {
        switch (reach) {
            case ROWS, READ, GLOBAL_DDL -> replicates = true;
            case NOTIFY -> notify = true;
            case TEMPORARY -> temporary = true;
            default -> { }
        }
    }

    /** A function call (FunctionCall message): it may write. */
    void mayWrite() {
        replicates = true;
    }

    /** Global DDL was logged (its DDL message inserted). */
    void ddlLogged() {
        ddl = true;
        replicates = true;
    }

    /** DDL on a node-local relation: a temporary object for the footprint. */
    void temporary() {
        temporary = true;
    }

    /** A stand-in of a temporary table was created or touched by DDL. */
    void standIn() {
        standIn = true;
    }

    boolean touchedStandIn() {
        return standIn;
    }

    void clear() {
        replicates = false;
        notify = false;
        ddl = false;
        temporary = false;
        standIn = false;
    }

    Footprint.Notes footprintNotes() {
        return new Footprint.Notes(replicates, notify, ddl, temporary);
    }
}
