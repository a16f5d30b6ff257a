package org.mtm.gateway.internal.commit;

/**
 * Whether the node may run a session's queries and transactions now. Asked before every query, Execute,
 * function call and commit (not for ROLLBACK), so it must be cheap.
 */
@FunctionalInterface
public interface Admission {
    Admission ALWAYS = session -> null;

    /** Null when allowed, otherwise the error the client gets. */
    ServerError refusal(SessionInfo session);
}
