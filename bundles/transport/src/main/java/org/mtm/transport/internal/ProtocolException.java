package org.mtm.transport.internal;

/** The peer sent bytes that break the protocol; the message says what was wrong. The connection is closed. */
final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
        super(message);
    }
}
