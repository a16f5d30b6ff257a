package org.mtm.transport.internal;

/**
 * The transport's keys of PID {@code org.mtm.multimaster} (the manual's {@code multimaster.*} names and
 * defaults); the full description of that PID is the consensus bundle's. Changes apply live.
 */
public @interface TimingConfig {
    /** Milliseconds between heartbeats to every linked peer. */
    int heartbeat__send__timeout() default 200;

    /** Milliseconds of silence after which a peer is unreachable and its inbound connection is closed. */
    int heartbeat__recv__timeout() default 2000;

    /** Seconds allowed to connect to a peer and authenticate; 0 or less = 10 s, at least 2. */
    int connect__timeout() default 0;
}
