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

    @AttributeDefinition(description = "PEM certificate of the cluster CA: peers must present a certificate it signed "
        + "(mutual TLS). Empty (with cert_file and key_file) = plain TCP")
    String transport_tls_ca__file() default "";

    @AttributeDefinition(description = "PEM certificate this node presents to its peers, signed by transport.tls.ca_file")
    String transport_tls_cert__file() default "";

    @AttributeDefinition(description = "Unencrypted PKCS#8 PEM private key of transport.tls.cert_file")
    String transport_tls_key__file() default "";

    @AttributeDefinition(description = "PEM or DER certificate revocation list of transport.tls.ca_file: a peer whose "
        + "certificate it lists is refused; empty = no list. Re-read when the file changes")
    String transport_tls_crl__file() default "";
}
