package org.mtm.transport.internal;

/**
 * The transport's clocks, from the manual's parameters ({@code heartbeat_send_timeout},
 * {@code heartbeat_recv_timeout} in ms, {@code connect_timeout} in seconds).
 *
 * @param heartbeatSendMillis interval between heartbeats to every linked peer
 * @param heartbeatRecvMillis a peer silent for this long is unreachable and its inbound connection closed
 * @param connectMillis bound on a TCP connect and on the whole authentication handshake
 */
record TransportTimings(long heartbeatSendMillis, long heartbeatRecvMillis, long connectMillis) {

    /**
     * Used for {@code connect_timeout = 0}. The manual's "wait forever" suits libpq; here a connect
     * that never ends would stop the link from retrying a black-holed peer, so 0 means this bound.
     */
    static final long DEFAULT_CONNECT_MILLIS = 10_000;
    /** The manual's minimum: {@code connect_timeout = 1} is read as 2 seconds. */
    static final long MIN_CONNECT_MILLIS = 2_000;

    static final TransportTimings DEFAULTS = fromManual(200, 2000, 0);

    TransportTimings {
        if (heartbeatSendMillis <= 0) {
            throw new IllegalArgumentException("heartbeat_send_timeout must be > 0 ms, got " + heartbeatSendMillis);
        }
        if (heartbeatRecvMillis <= heartbeatSendMillis) {
            throw new IllegalArgumentException("heartbeat_recv_timeout (" + heartbeatRecvMillis
                + " ms) must be greater than heartbeat_send_timeout (" + heartbeatSendMillis
                + " ms), or peers are declared unreachable between two heartbeats");
        }
        if (connectMillis <= 0) {
            throw new IllegalArgumentException("connect timeout must be > 0 ms, got " + connectMillis);
        }
    }

    /** From the configuration keys as the manual defines them. */
    static TransportTimings fromManual(long heartbeatSendTimeout, long heartbeatRecvTimeout, long connectTimeoutSeconds) {
        long connect = connectTimeoutSeconds <= 0 ? DEFAULT_CONNECT_MILLIS
            : Math.max(MIN_CONNECT_MILLIS, connectTimeoutSeconds * 1000);
        return new TransportTimings(heartbeatSendTimeout, heartbeatRecvTimeout, connect);
    }

    /**
     * Longest pause between reconnect attempts: half the receive timeout (at most 5 s), so a peer that
     * restarts is linked again before anyone declares us unreachable.
     */
    long reconnectMaxMillis() {
        return Math.max(reconnectMinMillis(), Math.min(5_000, heartbeatRecvMillis / 2));
    }

    long reconnectMinMillis() {
        return Math.min(50, Math.max(1, heartbeatSendMillis));
    }

    /** How often silence is checked: often enough that detection is late by at most a tenth of the timeout. */
    long watchMillis() {
        return Math.max(5, Math.min(heartbeatSendMillis, heartbeatRecvMillis / 10));
    }
}
