package org.mtm.gateway.internal.sql;

/** What the gateway needs to know about one SQL statement: its role in transaction control. */
public enum StatementKind {
    /** Only whitespace and comments (PostgreSQL answers EmptyQueryResponse). */
    EMPTY,
    /** {@code BEGIN}, {@code START TRANSACTION}. */
    BEGIN,
    /** {@code COMMIT}, {@code END} (optionally {@code WORK|TRANSACTION}, {@code AND NO CHAIN}). */
    COMMIT,
    /** {@code COMMIT|END ... AND CHAIN}. */
    COMMIT_AND_CHAIN,
    /** {@code ROLLBACK}, {@code ABORT} (optionally {@code AND NO CHAIN}). */
    ROLLBACK,
    /** {@code ROLLBACK|ABORT ... AND CHAIN}. */
    ROLLBACK_AND_CHAIN,
    SAVEPOINT,
    RELEASE_SAVEPOINT,
    ROLLBACK_TO_SAVEPOINT,
    /** {@code PREPARE TRANSACTION 'gid'} (not {@code PREPARE name AS ...}). */
    PREPARE_TRANSACTION,
    COMMIT_PREPARED,
    ROLLBACK_PREPARED,
    /** A statement PostgreSQL refuses inside a transaction block (VACUUM, CREATE DATABASE, ... CONCURRENTLY). */
    NON_TRANSACTIONAL,
    /** {@code CALL}: a procedure may COMMIT itself, so it is never wrapped in a gateway-owned block. */
    CALL,
    /** {@code COPY}: FROM STDIN puts the session into the copy sub-protocol. */
    COPY,
    /** Anything else. */
    OTHER;

    /** Statements that end the current transaction by committing it (the gateway owns these). */
    public boolean commits() {
        return this == COMMIT || this == COMMIT_AND_CHAIN;
    }

    /** Statements that only end or undo work; allowed even when the node refuses transactions. */
    public boolean rollsBack() {
        return this == ROLLBACK || this == ROLLBACK_AND_CHAIN || this == ROLLBACK_TO_SAVEPOINT || this == EMPTY;
    }

    /** Statements that carry a prepared-transaction gid. */
    public boolean hasGid() {
        return this == PREPARE_TRANSACTION || this == COMMIT_PREPARED || this == ROLLBACK_PREPARED;
    }

    /** Transaction-control statements: their effect on the block is what the statement is about. */
    public boolean controlsTransaction() {
        return this != OTHER && this != EMPTY && this != NON_TRANSACTIONAL && this != CALL && this != COPY;
    }
}
