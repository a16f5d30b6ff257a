package org.mtm.admin.internal;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jmx.JmxReporter;
import java.util.Hashtable;
import org.mtm.api.ClusterState;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The node's one Dropwizard registry, reported over JMX (domain {@code org.mtm.metrics} by default) and over HTTP in
 * the Prometheus format ({@code prometheus.host}:{@code prometheus.port}/metrics), and offered to the other bundles as
 * a {@link MetricRegistry} service: they show their own metrics in it ({@code org.mtm.api.metrics.BundleMetrics}).
 * Cluster gauges read the live {@link ClusterState}; on a referee they read 0.
 */
@Component(immediate = true, service = {}, configurationPid = "org.mtm.admin")
@Designate(ocd = ClusterMetrics.Config.class)
public final class ClusterMetrics {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusterMetrics.class);

    /** PID {@code org.mtm.admin}: how the node reports itself. */
    @ObjectClassDefinition(name = "mtm admin", description = "Monitoring surfaces of this node")
    public @interface Config {
        /** Key {@code metrics_jmx_domain}: a double underscore maps to one (a single one would read metrics.jmx.domain). */
        @AttributeDefinition(description = "JMX domain of the Dropwizard metrics")
        String metrics__jmx__domain() default "org.mtm.metrics";

        @AttributeDefinition(description = "Port of the Prometheus endpoint (GET /metrics); -1: none, 0: a free port")
        int prometheus_port() default -1;

        @AttributeDefinition(description = "Address the Prometheus endpoint listens on")
        String prometheus_host() default "127.0.0.1";
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile ClusterState clusterState;

    private final MetricRegistry registry = new MetricRegistry();
    private final JmxReporter reporter;
    private final ServiceRegistration<MetricRegistry> registration;
    private final PrometheusEndpoint prometheus;

    @Activate
    public ClusterMetrics(Config config, BundleContext context) {
        registry.register("cluster.online", (Gauge<Integer>) () -> report(r -> r.status() == NodeStatus.ONLINE ? 1 : 0));
        registry.register("cluster.generation", (Gauge<Long>) () -> {
            ClusterState s = clusterState;
            return s == null ? 0L : s.currentGeneration().num();
        });
        registry.register("cluster.connected", (Gauge<Integer>) () -> report(r -> r.connected().size()));
        registry.register("cluster.members_online", (Gauge<Integer>) () -> report(r -> r.genMembersOnline().size()));
        reporter = JmxReporter.forRegistry(registry).inDomain(config.metrics__jmx__domain()).build();
        reporter.start();
        prometheus = startPrometheus(config);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_DESCRIPTION, "mtm node metrics");
        registration = context.registerService(MetricRegistry.class, registry, props);
    }

    private PrometheusEndpoint startPrometheus(Config config) {
        if (config.prometheus_port() < 0) {
            return null;
        }
        try {
            PrometheusEndpoint p = PrometheusEndpoint.start(registry, config.prometheus_host(), config.prometheus_port());
            LOG.info("Prometheus metrics at http://{}:{}/metrics", config.prometheus_host(), p.port());
            return p;
        } catch (java.io.IOException | RuntimeException e) {
            // the node runs without it: JMX still reports every metric
            LOG.error("cannot serve Prometheus metrics on {}:{} ({}): set prometheus.port in etc/org.mtm.admin.cfg to a"
                + " free port (-1: none)", config.prometheus_host(), config.prometheus_port(), e.toString());
            return null;
        }
    }

    private int report(java.util.function.ToIntFunction<StatusReport> f) {
        ClusterState s = clusterState;
        return s == null ? 0 : f.applyAsInt(s.statusReport());
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the framework withdrew it with the stopping bundle
        }
        reporter.stop();
        if (prometheus != null) {
            prometheus.close();
        }
    }

    MetricRegistry registry() {
        return registry;
    }
}
