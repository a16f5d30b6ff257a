package org.mtm.applier.internal;

/**
 * What a receiver needs from {@code org.mtm.multimaster}.
 *
 * @param lockTimeoutMs bound on every lock wait of an apply transaction ({@code lock_timeout})
 * @param maxWorkers    {@code max_workers}: apply workers per peer (1: serial apply)
 * @param prevention    {@code deadlock_prevention}: what to do when an apply waits for a prepared transaction
 * @param ignoreTablesWithoutPk {@code ignore_tables_without_pk}: changes of tables without a primary key are
 *                      not applied (they stay local to the node that wrote them)
 * @param asyncCatchUp  {@code enable_async_3pc_on_catchup}: recovery applies a committed two-phase transaction as
 *                      one plain, asynchronously committed transaction at its COMMIT PREPARED, made durable by
 *                      periodic sync points (see {@link RecoveryApplier})
 * @param monotonicSequences {@code monotonic_sequences}: before a peer's transaction is prepared here, each sequence
 *                      that feeds a column it wrote is moved above the largest value written (see {@link SequenceFloors})
 * @param catchUpWorkers {@code catchup_workers} (an mtm setting): sessions a one-phase catch-up applies with (1: serial;
 *                      capped by the apply workers' cap, see {@link RecoveryApplier})
 * @param transSpillThresholdKb {@code trans_spill_threshold}: the size (kB) past which the peer's walsender spills a
 *                      transaction it decodes for this node to disk — its {@code logical_decoding_work_mem}
 */
record ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention, boolean ignoreTablesWithoutPk,
                       boolean asyncCatchUp, boolean monotonicSequences, int catchUpWorkers, int transSpillThresholdKb) {

    /** {@code trans_spill_threshold}'s default (the manual's: 100 MB). */
    static final int DEFAULT_TRANS_SPILL_THRESHOLD_KB = 102_400;
    /** PostgreSQL's smallest {@code logical_decoding_work_mem}. */
    static final int MIN_TRANS_SPILL_THRESHOLD_KB = 64;

    ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention, boolean ignoreTablesWithoutPk,
                    boolean asyncCatchUp, boolean monotonicSequences, int catchUpWorkers) {
        this(lockTimeoutMs, maxWorkers, prevention, ignoreTablesWithoutPk, asyncCatchUp, monotonicSequences, catchUpWorkers,
                DEFAULT_TRANS_SPILL_THRESHOLD_KB);
    }

    /** What a catch-up applies with when nothing says otherwise. */
    static final int DEFAULT_CATCHUP_WORKERS = 4;

    ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention, boolean ignoreTablesWithoutPk,
                    boolean asyncCatchUp, boolean monotonicSequences) {
        this(lockTimeoutMs, maxWorkers, prevention, ignoreTablesWithoutPk, asyncCatchUp, monotonicSequences,
                DEFAULT_CATCHUP_WORKERS);
    }

    ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention, boolean ignoreTablesWithoutPk,
                    boolean asyncCatchUp) {
        this(lockTimeoutMs, maxWorkers, prevention, ignoreTablesWithoutPk, asyncCatchUp, false);
    }

    ApplierSettings(long lockTimeoutMs, int maxWorkers) {
        this(lockTimeoutMs, maxWorkers, DeadlockPrevention.OFF);
    }

    ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention) {
        this(lockTimeoutMs, maxWorkers, prevention, false);
    }

    ApplierSettings(long lockTimeoutMs, int maxWorkers, DeadlockPrevention prevention, boolean ignoreTablesWithoutPk) {
        this(lockTimeoutMs, maxWorkers, prevention, ignoreTablesWithoutPk, true);
    }

    /** Smallest lock bound; below it ordinary short local transactions would abort replicated ones. */
    static final long MIN_LOCK_TIMEOUT_MS = 100;

    ApplierSettings {
        java.util.Objects.requireNonNull(prevention, "prevention");
        if (lockTimeoutMs < 1 || maxWorkers < 1 || catchUpWorkers < 1) {
            throw new IllegalArgumentException("lock timeout, max_workers and catchup_workers must be positive");
        }
        if (transSpillThresholdKb < MIN_TRANS_SPILL_THRESHOLD_KB) {
            throw new IllegalArgumentException("trans_spill_threshold must be at least " + MIN_TRANS_SPILL_THRESHOLD_KB
                    + " (kB, PostgreSQL's smallest logical_decoding_work_mem)");
        }
    }

    /**
     * The lock bound derived from {@code heartbeat_recv_timeout}: half of it (1 s with the default
     * 2000 ms, the original's {@code deadlock_timeout}-based bound). A conflict must turn into a no-vote
     * well before the coordinator could mistake the silence for a lost peer, and a wait of that length
     * already means a cross-node cycle or a long local transaction rather than an ordinary short lock.
     */
    static long lockTimeoutFor(int heartbeatRecvTimeoutMs) {
        return Math.max(MIN_LOCK_TIMEOUT_MS, heartbeatRecvTimeoutMs / 2L);
    }

    /**
     * The bound an apply session uses: the configured one, or the local server's {@code deadlock_timeout} when
     * that is shorter — as in the original, where an apply waiting longer than deadlock_timeout is declared
     * deadlocked — so a DBA can shorten the cost of a cross-node deadlock with a standard setting.
     */
    static long sessionLockTimeout(long configuredMs, long deadlockTimeoutMs) {
        return Math.min(configuredMs, Math.max(MIN_LOCK_TIMEOUT_MS, deadlockTimeoutMs));
    }
}
