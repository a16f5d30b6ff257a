package org.mtm.transport.internal;

import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The transport's keys of PID {@code org.mtm.node} (node-local settings). A change restarts the
 * listener and every link.
 */
@ObjectClassDefinition(name = "mtm node: transport",
    description = "Node-to-node messaging of this node (keys transport.* and cluster.secret of org.mtm.node)")
public @interface NodeConfig {
    /** Address to listen on for peers, and the address advertised to them. */
    @AttributeDefinition(description = "Address to listen on for peers, and the address advertised to them")
    String transport_host() default "127.0.0.1";

    /** Port to listen on; 0 = any free port (logged). Use a fixed port in a cluster: peers store it. */
    @AttributeDefinition(description = "Port to listen on; 0 = the port stored at init_cluster, else any free port")
    int transport_port() default 0;

    /** Shared secret every node of the cluster must know; no default: without it the transport does not start. */
    @AttributeDefinition(type = AttributeType.PASSWORD,
        description = "Shared secret every node of the cluster must know; without it the transport does not start")
    String cluster_secret() default "";
}
