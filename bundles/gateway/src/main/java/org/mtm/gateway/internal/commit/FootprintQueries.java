package org.mtm.gateway.internal.commit;

/**
 * The footprint queries a gateway's sessions send: {@link Footprint}'s statements as text, or, once this node's
 * server has them ({@link FootprintRoutines#install}), calls of the functions that run the same statements with their
 * plans kept per backend session. Either answers with the same columns, read by {@link Footprint.Quick#of} and
 * {@link Footprint#of}.
 */
public final class FootprintQueries {
    /** Always the statements as text (a gateway whose server has no functions, unit tests). */
    public static final FootprintQueries INLINE = new FootprintQueries();

    private volatile boolean routines;

    /** Switches to the functions: call only once they exist on the server every session of the gateway goes to. */
    public void routinesInstalled() {
        if (this == INLINE) {
            throw new IllegalStateException("the inline footprint queries never switch to functions");
        }
        routines = true;
    }

    public boolean usesRoutines() {
        return routines;
    }

    /**
     * The quick query sent ahead, behind an autocommit statement the gateway wrapped: {@link Footprint#QUICK_SQL} as
     * text (the lock scan's planning would cost every such statement, reads included), but the function with the
     * lock answers, whose plans the backend keeps: a write's commit then needs no second query for its locks.
     */
    public String quick() {
        return routines ? FootprintRoutines.quickCall(true) : Footprint.QUICK_SQL;
    }

    /** {@link Footprint#quickSql}: with the lock answers when the commit will look at them. */
    public String quick(Footprint.Notes notes) {
        return routines ? FootprintRoutines.quickCall(Footprint.quickAsksLocks(notes)) : Footprint.quickSql(notes);
    }

    /** {@link Footprint#LOCKS_SQL}. */
    public String locks() {
        return routines ? FootprintRoutines.locksCall() : Footprint.LOCKS_SQL;
    }
}
