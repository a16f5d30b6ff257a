package org.mtm.api;

import java.util.List;

/**
 * Whether this node's {@code org.mtm.multimaster} values that must be the same on every node (heartbeat timeouts,
 * {@code monotonic_sequences}, {@code deadlock_prevention}, ...) are the same as its peers'.
 */
public interface SettingsAgreement {

    /** One line per key that differs from a reachable peer's, e.g. {@code node 3: heartbeat_recv_timeout = 5000 (here 2000)}. */
    List<String> differences();
}
