package org.mtm.applier.internal;

import java.util.HashSet;
import java.util.Set;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamPrepare;

/**
 * The two-phase transactions whose PREPARE a stream carried and whose COMMIT PREPARED or ROLLBACK PREPARED it has not
 * carried yet. The peer decodes the finish of every transaction whose PREPARE it sent, so while one is owed the stream
 * is certain to bring another message: a receiver that must not block on an idle stream ({@link ForeignHold}) may
 * block then. Under load one is nearly always owed, and the receiver waits in the kernel for the next message instead
 * of polling the stream every millisecond (each poll a socket read with a timeout, an exception and a wake-up).
 *
 * <p>One stream's messages, in order; used by its receiver thread only.
 */
final class OwedFinishes {
    private final Set<String> owed = new HashSet<>();

    /** Every decoded message of the stream, in order. */
    void seen(PgOutputMessage m) {
        switch (m.type()) {
            case 'P' -> owed.add(((Prepare) m).gid());
            case 'p' -> owed.add(((StreamPrepare) m).gid());
            case 'K' -> owed.remove(((CommitPrepared) m).gid());
            case 'r' -> owed.remove(((RollbackPrepared) m).gid());
            default -> {
            }
        }
    }

    /** A finish is still to come through the stream: a blocking read returns. */
    boolean any() {
        return !owed.isEmpty();
    }

    int size() {
        return owed.size();
    }
}
