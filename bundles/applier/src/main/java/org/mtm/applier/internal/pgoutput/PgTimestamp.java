package org.mtm.applier.internal.pgoutput;

import java.time.Instant;

/** PostgreSQL {@code TimestampTz} values: microseconds since 2000-01-01 00:00:00 UTC. */
public final class PgTimestamp {

    /** Seconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch). */
    public static final long PG_EPOCH_SECONDS = 946_684_800L;

    private PgTimestamp() {
    }

    public static Instant toInstant(long pgMicros) {
        return Instant.ofEpochSecond(PG_EPOCH_SECONDS + Math.floorDiv(pgMicros, 1_000_000L),
                Math.floorMod(pgMicros, 1_000_000L) * 1_000L);
    }

    /** The inverse of {@link #toInstant(long)}; sub-microsecond precision is truncated toward the past. */
    public static long fromInstant(Instant instant) {
        return Math.multiplyExact(instant.getEpochSecond() - PG_EPOCH_SECONDS, 1_000_000L)
                + instant.getNano() / 1_000L;
    }
}
