package org.mtm.applier.internal;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.mtm.api.Applier;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.ReceiverInfo;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one receiver per configured peer. The receivers that stream and apply peers' changes come with
 * synchronous replication (issue 3); until then every peer's receiver is reported {@code disabled}, which
 * is the truth: nothing is applied.
 */
@Component(service = {Applier.class, ClusterConfigListener.class}, configurationPid = "org.mtm.multimaster")
public final class ReceiverSupervisor implements Applier, ClusterConfigListener {

    private static final Logger LOG = LoggerFactory.getLogger(ReceiverSupervisor.class);

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition
    public @interface Config {
        @AttributeDefinition
        int max__workers() default 100;
    }

    private final Map<Integer, ReceiverInfo> receivers = new ConcurrentHashMap<>();
    private volatile int maxWorkers;

    @Activate
    public ReceiverSupervisor(Config config) {
        modified(config);
    }

    @Modified
    void modified(Config config) {
        if (config.max__workers() < 1) {
            LOG.warn("max_workers={} in org.mtm.multimaster is below 1; using 1", config.max__workers());
        }
        maxWorkers = Math.max(1, config.max__workers());
    }

    @Override
    public void clusterConfigChanged(Optional<ClusterConfig> config) {
        receivers.clear();
        config.ifPresent(c -> c.peers().forEach(p -> receivers.put(p.id(), ReceiverInfo.disabled(p.id()))));
    }

    @Override
    public Optional<ReceiverInfo> receiver(int peer) {
        return Optional.ofNullable(receivers.get(peer));
    }

    int maxWorkers() {
        return maxWorkers;
    }
}
