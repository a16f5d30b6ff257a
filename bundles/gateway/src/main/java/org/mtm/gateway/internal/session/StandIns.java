package org.mtm.gateway.internal.session;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

import org.mtm.gateway.internal.sql.TempStandIns;

/**
 * A session's stand-ins for its temporary tables ({@link TempStandIns}): the schema they live in, named on first use
 * and swept after the session, and the names of those it created (a {@code pg_temp.name} of one goes to that
 * schema). Its own class because both protocols' paths and the simple Query's plan read and change it. Event loop
 * only.
 */
final class StandIns {
    private final IntSupplier backendPid;
    private final BooleanSupplier apply;
    private String schema;
    private final Set<String> names = new HashSet<>();

    /**
     * @param backendPid the session's backend (part of the schema's name)
     * @param apply      whether the session's temporary tables get stand-ins now: an initialised cluster, not an
     *                   mtm_admin session (which commits on its node only)
     */
    StandIns(IntSupplier backendPid, BooleanSupplier apply) {
        this.backendPid = backendPid;
        this.apply = apply;
    }

    boolean apply() {
        return apply.getAsBoolean();
    }

    /** The stand-in schema, named now if it was not yet. */
    String schema() {
        if (schema == null) {
            schema = TempStandIns.schemaName(backendPid.getAsInt(), ThreadLocalRandom.current().nextLong());
        }
        return schema;
    }

    /** The stand-in schema, or null while the session has none. */
    String existing() {
        return schema;
    }

    /** Names (as resolved) of the stand-ins this session created. */
    Set<String> names() {
        return names;
    }
}
