package org.mtm.gateway.internal.session;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.mtm.gateway.internal.commit.Footprint;
import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The gateway's frequent statements, prepared once per session under reserved names ({@value PgWire#HOT_PREFIX}...):
 * afterwards Bind/Execute only, no parsing or planning. Keeps, per statement, whether the session's backend has it
 * prepared; a Parse whose answer has not come yet counts as neither (the generic form is used meanwhile).
 */
final class HotStatements {

    enum Hot {
        BEGIN("BEGIN"), QUICK(Footprint.QUICK_SQL), COMMIT("COMMIT"), ROLLBACK("ROLLBACK"),
        PREPARE_MARK(Footprint.PREPARE_MARK_SQL);

        final String sql;
        final String statement;

        Hot(String sql) {
            this.sql = sql;
            this.statement = PgWire.HOT_PREFIX + name().toLowerCase(Locale.ROOT);
        }

        static Hot of(String sql) {
            for (Hot h : values()) {
                if (h.sql.equals(sql)) {
                    return h;
                }
            }
            return null;
        }
    }

    private enum State { UNPREPARED, PARSING, PREPARED }

    private final State[] states = new State[Hot.values().length];

    HotStatements() {
        forgetAll();
    }

    /** DISCARD ALL, DEALLOCATE ALL: the backend has none of them any more. */
    void forgetAll() {
        Arrays.fill(states, State.UNPREPARED);
    }

    /**
     * Writes one of the gateway's own statements in the extended protocol: a hot one as Bind/Execute of its
     * prepared statement (with the Parse the first time; the generic form while a Parse is pending), anything
     * else as Parse/Bind/Execute of the reserved unnamed-for-the-client name.
     */
    Written write(ByteBufAllocator alloc, String sql, List<byte[]> params, boolean sync) {
        Hot hot = params.isEmpty() ? Hot.of(sql) : null;
        if (hot != null && states[hot.ordinal()] != State.PARSING) {
            boolean parse = states[hot.ordinal()] == State.UNPREPARED;
            if (parse) {
                states[hot.ordinal()] = State.PARSING;
            }
            return new Written(PgWire.hotStatement(alloc, hot.statement, sql, parse, sync),
                    PgWire.HOT_STATEMENT_CLOSES, parse ? hot : null, hot);
        }
        ByteBuf message = params.isEmpty() ? PgWire.ownStatement(alloc, sql, sync)
                : PgWire.ownStatement(alloc, sql, params, sync);
        return new Written(message, PgWire.OWN_STATEMENT_CLOSES, null, null);
    }

    /**
     * The end of a simple Query that runs {@code hot}: EXECUTE of the prepared statement, or PREPARE and EXECUTE
     * the first time ({@code prepares}: then {@link #prepared} or {@link #abandoned} must follow), or the plain
     * SQL while a Parse is pending. The text starts with a newline, which ends a trailing {@code --} comment of
     * what comes before.
     */
    QuerySuffix querySuffix(Hot hot) {
        return switch (states[hot.ordinal()]) {
            case PREPARED -> new QuerySuffix("\n;EXECUTE " + hot.statement, false);
            case UNPREPARED -> {
                states[hot.ordinal()] = State.PARSING;
                yield new QuerySuffix("\n;PREPARE " + hot.statement + " AS " + hot.sql + ";EXECUTE " + hot.statement, true);
            }
            case PARSING -> new QuerySuffix("\n;" + hot.sql, false);
        };
    }

    record QuerySuffix(String text, boolean prepares) { }

    void prepared(Hot hot) {
        states[hot.ordinal()] = State.PREPARED;
    }

    /** The statement that was to prepare {@code hot} is over without doing so: prepare it again next time. */
    void abandoned(Hot hot) {
        if (states[hot.ordinal()] == State.PARSING) {
            states[hot.ordinal()] = State.UNPREPARED;
        }
    }

    /** How an own statement was written: its messages, the CloseCompletes that end it, the hot statement it uses. */
    final class Written {
        final ByteBuf message;
        private final int closes;
        /** The hot statement this write prepares, or null. */
        private final Hot parses;
        private final Hot hot;

        private Written(ByteBuf message, int closes, Hot parses, Hot hot) {
            this.message = message;
            this.closes = closes;
            this.parses = parses;
            this.hot = hot;
        }

        int closes() {
            return closes;
        }

        /** A reply to the statement: ParseComplete prepares it; 26000 (someone deallocated it) forgets it. */
        void seen(byte type, ByteBuf reply) {
            if (hot == null) {
                return;
            }
            if (parses != null && type == PgWire.PARSE_COMPLETE) {
                prepared(parses);
            } else if (type == PgWire.ERROR_RESPONSE && "26000".equals(PgWire.readField(reply, 'C'))) {
                states[hot.ordinal()] = State.UNPREPARED;
            }
        }

        /** The statement is over (or was skipped): a Parse without its answer did not happen. */
        void finished() {
            if (parses != null) {
                abandoned(parses);
            }
        }
    }
}
