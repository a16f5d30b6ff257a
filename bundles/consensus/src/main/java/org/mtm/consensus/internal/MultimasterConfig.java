package org.mtm.consensus.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The manual's parameters (F.31.5.1), PID {@code org.mtm.multimaster}, same names and defaults as
 * {@code multimaster.*}. Method names spell {@code _} as {@code __} (DS property-name mapping).
 */
@ObjectClassDefinition(id = "org.mtm.multimaster", name = "mtm multimaster parameters",
    description = "Cluster-wide parameters of the manual's multimaster.* settings; set the same values on every node.")
public @interface MultimasterConfig {
    @AttributeDefinition(description = "Milliseconds without an answer to heartbeats after which a peer is disconnected.")
    int heartbeat__recv__timeout() default 2000;

    @AttributeDefinition(description = "Milliseconds between heartbeats.")
    int heartbeat__send__timeout() default 200;

    @AttributeDefinition(description = "Apply workers per peer.")
    int max__workers() default 100;

    @AttributeDefinition(description = "Make sequences increase monotonically across the cluster.")
    boolean monotonic__sequences() default false;

    @AttributeDefinition(description = "Conninfo of the referee (2+1 mode); empty for none.")
    String referee__connstring() default "";

    @AttributeDefinition(description = "Comma-separated functions executed on every node instead of replicating their results.")
    String remote__functions() default "";

    @AttributeDefinition(description = "Transaction size in kB above which it is spilled to disk.")
    int trans__spill__threshold() default 102400;

    @AttributeDefinition(description = "Disconnect clients when this node leaves the cluster.")
    boolean break__connection() default false;

    @AttributeDefinition(description = "Seconds to wait when connecting; 0 = no limit, minimum 2.")
    int connect__timeout() default 0;

    @AttributeDefinition(description = "Do not replicate tables without a primary key.")
    boolean ignore__tables__without__pk() default false;

    @AttributeDefinition(description = "Bytes of WAL between syncpoints (10 MB).")
    long syncpoint__interval() default 10485760L;

    @AttributeDefinition(description = "Send built-in types in binary form.")
    boolean binary__basetypes() default true;

    @AttributeDefinition(description = "Reply to COMMIT only after every peer committed.")
    boolean wait__peer__commits() default true;

    @AttributeDefinition(description = "off, simple or smart.")
    String deadlock__prevention() default "off";

    @AttributeDefinition(description = "Delay commits on a donor while a peer catches up slowly.")
    boolean tx__delay__on__slow__catchup() default false;

    @AttributeDefinition(description = "Upper bound of that delay in ms; 0 = none.")
    int max__tx__delay__on__slow__catchup() default 0;

    @AttributeDefinition(description = "PREPARE/PRECOMMIT/COMMIT PREPARED asynchronously on a catching-up node.")
    boolean enable__async__3pc__on__catchup() default true;
}
