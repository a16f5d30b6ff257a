package org.mtm.applier.internal;

import org.mtm.api.PrepareAdmission;
import org.mtm.api.PrepareAdmission.Verdict;

/**
 * Where the applier asks, right around each {@code PREPARE TRANSACTION} of a peer's {@code MTM-} transaction,
 * whether that transaction's generation may be prepared now ({@link org.mtm.api.ClusterState#admitPrepare}):
 * a generation switch excludes concurrent PREPAREs, so the decision that counts is the one taken while the
 * admission is open.
 */
@FunctionalInterface
interface PrepareGate {
    /** Without cluster state (module tests, a node not yet wired): every generation is applied. */
    PrepareGate OPEN = generation -> PrepareAdmission.unchecked(Verdict.APPLY, generation);

    /** The admission of a PREPARE stamped with {@code generation}; the caller closes it right after its PREPARE. */
    PrepareAdmission admit(long generation);
}
