package org.mtm.applier.internal;

import java.sql.SQLException;

/**
 * A peer's PREPARE belongs to a newer generation than this node has adopted ({@link
 * org.mtm.api.PrepareAdmission.Verdict#WAIT}): nothing was applied or voted; the receiver stops the stream and
 * streams it again from the durable progress after a short delay. Not a failure of the receiver.
 */
final class GenerationWait extends SQLException {
    private static final long serialVersionUID = 1L;

    GenerationWait(String message) {
        super(message, "40001");
    }
}
