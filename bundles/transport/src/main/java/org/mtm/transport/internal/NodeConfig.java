package org.mtm.transport.internal;

/**
 * The transport's keys of PID {@code org.mtm.node} (node-local settings). A change restarts the
 * listener and every link.
 */
public @interface NodeConfig {
    /** Address to listen on for peers, and the address advertised to them. */
    String transport_host() default "127.0.0.1";

    /** Port to listen on; 0 = any free port (logged). Use a fixed port in a cluster: peers store it. */
    int transport_port() default 0;

    /** Shared secret every node of the cluster must know; no default: without it the transport does not start. */
    String cluster_secret() default "";
}
