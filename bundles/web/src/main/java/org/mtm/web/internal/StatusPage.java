package org.mtm.web.internal;

import com.codahale.metrics.Counting;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.mtm.api.Applier;
import org.mtm.api.ClusterState;
import org.mtm.api.InDoubtTransactions;
import org.mtm.api.LocalDatabase;
import org.mtm.api.SettingsAgreement;
import org.mtm.api.StatusReport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.http.whiteboard.propertytypes.HttpWhiteboardServletPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's status page on Karaf's HTTP service ({@code http://<host>:<org.osgi.service.http.port>/mtm/}): a static
 * page that asks {@code /mtm/api/status} every two seconds. Every reference is optional, so the page answers (saying
 * what it lacks) while a bundle it reads from is being updated.
 */
@Component(service = Servlet.class, immediate = true)
@HttpWhiteboardServletPattern({"/mtm", "/mtm/*"})
public final class StatusPage extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(StatusPage.class);
    /** Five minutes of one-second samples. */
    private static final int HISTORY = 300;
    private static final Map<String, String> FILES = Map.of(
        "/index.html", "text/html; charset=utf-8",
        "/status.js", "text/javascript; charset=utf-8",
        "/status.css", "text/css; charset=utf-8",
        "/uPlot.iife.min.js", "text/javascript; charset=utf-8",
        "/uPlot.min.css", "text/css; charset=utf-8",
        "/uPlot.LICENSE", "text/plain; charset=utf-8");

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile ClusterState clusterState;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile LocalDatabase database;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile MetricRegistry registry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile Applier applier;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile SettingsAgreement settings;

    private final transient StatusHistory history = new StatusHistory(HISTORY);
    private transient ScheduledExecutorService sampler;

    @Activate
    void activate() {
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mtm-web-sampler");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(this::sample, 0, 1, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        sampler.shutdownNow();
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String path = request.getPathInfo();
        if (path == null || path.isEmpty()) {
            response.sendRedirect(request.getContextPath() + request.getServletPath() + "/");
            return;
        }
        if (path.equals("/api/status")) {
            send(response, "application/json; charset=utf-8", status().getBytes(StandardCharsets.UTF_8));
            return;
        }
        String file = path.equals("/") ? "/index.html" : path;
        String type = FILES.get(file);
        if (type == null) {
            response.sendError(HttpServletResponse.SC_NOT_FOUND, "no such page: " + path + " (the status page is /mtm/)");
            return;
        }
        try (InputStream in = StatusPage.class.getResourceAsStream("/web" + file)) {
            if (in == null) {
                response.sendError(HttpServletResponse.SC_NOT_FOUND, "missing from the bundle: " + file);
                return;
            }
            send(response, type, in.readAllBytes());
        }
    }

    private static void send(HttpServletResponse response, String type, byte[] body) throws IOException {
        response.setContentType(type);
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private String status() {
        ClusterState state = clusterState;
        boolean known = state != null && state.loaded();
        StatusReport report = known ? state.statusReport() : null;
        Applier a = applier;
        String recovery = report == null || a == null ? null : a.recovery().describe(report.status()).orElse(null);
        SettingsAgreement agreement = settings;
        return StatusDocument.json(report, recovery, agreement == null ? List.of() : agreement.differences(),
            known ? state.nodeReports() : List.of(), inDoubt(), history.series(), System.currentTimeMillis());
    }

    private List<InDoubtTransactions.Row> inDoubt() {
        LocalDatabase db = database;
        if (db == null) {
            return List.of();
        }
        try {
            return InDoubtTransactions.read(db);
        } catch (SQLException e) {
            LOG.debug("status page: cannot read mtm.in_doubt: {}", e.getMessage());
            return List.of();
        }
    }

    /** One sample of the counters the charts show; a metric not registered yet counts as 0. */
    private void sample() {
        try {
            MetricRegistry r = registry;
            if (r == null) {
                return;
            }
            Map<Integer, Long> lag = new HashMap<>();
            String prefix = "mtm.apply.lag_bytes.node";
            for (Map.Entry<String, Gauge> g : r.getGauges((name, m) -> name.startsWith(prefix)).entrySet()) {
                Object v = g.getValue().getValue();
                if (v instanceof Number n && n.longValue() >= 0) {
                    lag.put(Integer.parseInt(g.getKey().substring(prefix.length())), n.longValue());
                }
            }
            history.record(new StatusHistory.Sample(System.currentTimeMillis(), count(r.getMetrics().get("mtm.commit.committed")),
                count(r.getMetrics().get("mtm.apply.transactions")), lag));
        } catch (RuntimeException e) {
            LOG.debug("status page: sampling failed: {}", e.toString());
        }
    }

    private static long count(Metric m) {
        return m instanceof Counting c ? c.getCount() : 0;
    }
}
