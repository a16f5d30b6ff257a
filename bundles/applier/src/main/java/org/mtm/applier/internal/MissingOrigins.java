package org.mtm.applier.internal;

import java.util.List;
import org.mtm.api.Gid;
import org.mtm.api.Replication;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores the {@code O} message PostgreSQL left out of a copy in a peer's stream. pgoutput omits {@code O} when it
 * cannot look the origin's name up with the transaction's historic catalog snapshot (OriginNamedAfterSlotBuildTest:
 * an origin created while the peer's slot was being built); the transaction then reads as the peer's own, and a
 * receiver would apply a copy it has from its origin already. Nodes make their origins before their slots
 * ({@link Replication#applyOriginNames}), so this is the second line: a two-phase transaction whose mtm gid names
 * another coordinator than the peer can only be a copy the peer applied, so it gets the origin its gid names.
 * (A plain transaction has no such mark; the first line covers it.)
 *
 * <p>Pure: one per stream, fed every decoded message in order; not thread-safe.
 */
final class MissingOrigins {
    private static final Logger LOG = LoggerFactory.getLogger(MissingOrigins.class);

    private final int self;
    private final int peer;
    private BeginPrepare pending;
    /** The coordinator {@link #pending}'s gid names. */
    private int pendingCoordinator;
    private long restored;

    MissingOrigins(int self, int peer) {
        this.self = self;
        this.peer = peer;
    }

    /** What to hand on for {@code m}, in order: nothing while a begin waits for its next message. */
    List<PgOutputMessage> pass(PgOutputMessage m) {
        if (pending != null) {
            BeginPrepare b = pending;
            pending = null;
            if (m.type() == 'O') {
                return List.of(b, m);
            }
            int coordinator = pendingCoordinator;
            restored++;
            LOG.warn("node {}: node {}'s stream sent {} without its origin (PostgreSQL could not name it): it is node {}'s"
                + " transaction, which node {} applied; taken as the copy it is ({} restored on this stream)", self, peer,
                b.gid(), coordinator, peer, restored);
            return List.of(b, new Origin(0, Replication.originName(coordinator)), m);
        }
        if (m instanceof BeginPrepare b) {
            Gid gid = Gid.tryParse(b.gid());
            if (gid != null && gid.originNode() != peer) {
                pending = b;
                pendingCoordinator = gid.originNode();
                return List.of();
            }
        }
        return List.of(m);
    }

    /** Origins restored on this stream so far. */
    long restored() {
        return restored;
    }
}
