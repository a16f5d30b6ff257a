package org.mtm.admin.internal;

import com.codahale.metrics.MetricRegistry;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The node's metrics in the Prometheus text format over HTTP ({@code GET /metrics}), by the Prometheus Java client's
 * own HTTP server and Dropwizard bridge: Dropwizard names become Prometheus names with {@code _} for {@code .}
 * ({@code mtm.commit.latency} → {@code mtm_commit_latency}, a summary with quantiles, {@code _count} and
 * {@code _sum}; counters get {@code _total}).
 */
final class PrometheusEndpoint implements AutoCloseable {
    private final HTTPServer server;
    private final ExecutorService threads;

    private PrometheusEndpoint(HTTPServer server, ExecutorService threads) {
        this.server = server;
        this.threads = threads;
    }

    /** Listens on {@code host:port} (0: a free port) until {@link #close()}. */
    static PrometheusEndpoint start(MetricRegistry metrics, String host, int port) throws IOException {
        PrometheusRegistry registry = new PrometheusRegistry();
        DropwizardExports.builder().dropwizardRegistry(metrics).register(registry);
        // daemon threads with a name of ours: a scrape never holds up the framework's shutdown
        ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "mtm-prometheus");
            t.setDaemon(true);
            return t;
        });
        try {
            HTTPServer server = HTTPServer.builder().hostname(host).port(port).registry(registry)
                .executorService(threads).buildAndStart();
            return new PrometheusEndpoint(server, threads);
        } catch (IOException | RuntimeException e) {
            threads.shutdownNow();
            throw e;
        }
    }

    int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
        threads.shutdownNow();
    }
}
