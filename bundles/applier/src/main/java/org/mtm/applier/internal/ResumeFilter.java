package org.mtm.applier.internal;

import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.LogicalMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;

/**
 * A normal receiver streams its peer's slot from the slot's confirmed position, which {@link ForeignHold} may keep
 * below this node's own progress of that peer: the transactions of other origins in between must be seen again for
 * the hold to be rebuilt (it lives in memory). The units that end at or before the progress are done here; this
 * filter says which messages belong to them, so that only the hold sees those and the applier starts after them,
 * exactly as if the stream had started at the progress. Relation and type descriptions always pass. Pure.
 *
 * <p>A unit ends at or before the progress {@code p} when: a two-phase one, its PREPARE's end is; a plain one, its
 * commit record starts before {@code p} (no unit's end lies inside another's commit record); a COMMIT/ROLLBACK
 * PREPARED, its end is.
 */
final class ResumeFilter {
    private final long progress;
    private boolean dropping;

    ResumeFilter(long progress) {
        this.progress = progress;
    }

    /** True when {@code m} belongs to a unit done here already (the applier must not get it). */
    boolean done(PgOutputMessage m) {
        switch (m.type()) {
            case 'b':
                dropping = ((BeginPrepare) m).endLsn() <= progress;
                return dropping;
            case 'B':
                dropping = ((Begin) m).finalLsn() < progress;
                return dropping;
            case 'P':
            case 'C': {
                boolean d = dropping;
                dropping = false;
                return d;
            }
            case 'K':
                return ((CommitPrepared) m).endLsn() <= progress;
            case 'r':
                return ((RollbackPrepared) m).rollbackEndLsn() <= progress;
            case 'R':
            case 'Y':
                return false;
            case 'M':
                return ((LogicalMessage) m).transactional() ? dropping : ((LogicalMessage) m).lsn() <= progress;
            default:
                return dropping;
        }
    }
}
