package org.mtm.gateway.internal.commit;

import java.util.List;

/**
 * The outcome of one statement the gateway ran on a session's backend: its command tag and text rows, or
 * the error; notices it raised; and the transaction status the backend reported afterwards (I, T or E).
 */
public record QueryResult(String commandTag, List<List<String>> rows, ServerError error,
                          List<ServerError> notices, char transactionStatus) {

    public boolean ok() {
        return error == null;
    }

    /** The first column of the first row, or null (SQL NULL, or no rows). */
    public String singleValue() {
        return rows.isEmpty() || rows.get(0).isEmpty() ? null : rows.get(0).get(0);
    }
}
