package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

public class PrometheusEndpointTest {

    @Test
    public void servesTheRegistryInPrometheusTextFormat() throws Exception {
        MetricRegistry metrics = new MetricRegistry();
        metrics.counter("mtm.commit.committed").inc(7);
        metrics.timer("mtm.commit.latency").update(3, TimeUnit.MILLISECONDS);
        metrics.register("mtm.apply.lag_bytes.node2", (Gauge<Long>) () -> 4096L);
        try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(metrics, "127.0.0.1", 0)) {
            String body = scrape(endpoint.port());
            assertTrue(body, body.contains("mtm_commit_committed_total 7.0"));
            assertTrue(body, body.contains("mtm_commit_latency_count 1"));
            assertTrue(body, body.contains("mtm_apply_lag_bytes_node2 4096.0"));
            metrics.counter("mtm.commit.committed").inc();
            assertTrue(scrape(endpoint.port()).contains("mtm_commit_committed_total 8.0"));
        }
    }

    /** A bundle:update of admin closes the endpoint and opens it again on the same port at once. */
    @Test
    public void theSamePortServesAgainRightAfterClose() throws Exception {
        MetricRegistry metrics = new MetricRegistry();
        metrics.counter("mtm.commit.committed").inc();
        int port;
        try (PrometheusEndpoint first = PrometheusEndpoint.start(metrics, "127.0.0.1", 0)) {
            port = first.port();
            scrape(port);
        }
        try (PrometheusEndpoint again = PrometheusEndpoint.start(metrics, "127.0.0.1", port)) {
            assertTrue(scrape(port).contains("mtm_commit_committed_total 1.0"));
        }
    }

    @Test(expected = IOException.class)
    public void aPortInUseIsAnError() throws Exception {
        try (PrometheusEndpoint first = PrometheusEndpoint.start(new MetricRegistry(), "127.0.0.1", 0)) {
            PrometheusEndpoint.start(new MetricRegistry(), "127.0.0.1", first.port()).close();
        }
    }

    private static String scrape(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }
}
