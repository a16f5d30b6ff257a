package org.mtm.gateway.internal.session;

import java.util.ArrayList;
import java.util.List;

import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;

/** What the gateway reads of the replies to one of its own statements: rows, command tag, error, notices. */
final class CapturedReply {
    private String tag;
    private List<List<String>> rows;
    private ServerError error;
    private List<ServerError> notices;

    /** Takes one whole reply message; others than DataRow, CommandComplete, ErrorResponse and NoticeResponse are ignored. */
    void add(byte type, ByteBuf message) {
        switch (type) {
            case PgWire.DATA_ROW -> {
                if (rows == null) {
                    rows = new ArrayList<>(1);
                }
                rows.add(PgWire.readDataRow(message));
            }
            case PgWire.COMMAND_COMPLETE -> tag = PgWire.cstring(message, message.readerIndex() + 5,
                    message.readerIndex() + message.readableBytes());
            case PgWire.ERROR_RESPONSE -> error = PgWire.readError(message);
            case PgWire.NOTICE_RESPONSE -> {
                if (notices == null) {
                    notices = new ArrayList<>(1);
                }
                notices.add(PgWire.readError(message));
            }
            default -> { }
        }
    }

    /** The last CommandComplete's tag, or null. */
    String commandTag() {
        return tag;
    }

    QueryResult result(char transactionStatus) {
        return new QueryResult(tag, rows == null ? List.of() : rows, error, notices == null ? List.of() : notices,
                transactionStatus);
    }
}
