package org.mtm.gateway.internal.it;

import java.time.Duration;
import java.util.function.Supplier;

import org.junit.rules.ExternalResource;
import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.Admission;
import org.mtm.gateway.internal.commit.JdbcDetachedStatements;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.session.GatewayServer;
import org.mtm.gateway.internal.session.SurfaceFunctions;
import org.mtm.gateway.internal.tls.GatewayTls;

/** A gateway core (no OSGi) in front of a {@link TestPostgres}, on a free port of 127.0.0.1. */
public final class TestGateway extends ExternalResource {
    private final TestPostgres pg;
    private final Supplier<Endpoint> backend;
    private final boolean wrap;
    private TransactionCommitter committer;
    private Admission admission;
    private boolean initialised;
    private SurfaceFunctions surface;
    private GatewayTls tls;
    private GatewayServer server;
    private Endpoint endpoint;

    public TestGateway(TestPostgres pg) {
        this(pg, false);
    }

    /** With wrapping, the gateway acts as in an initialised cluster (wrapping applies only there). */
    public TestGateway(TestPostgres pg, boolean wrapAutocommit) {
        this.pg = pg;
        this.backend = pg::endpoint;
        this.wrap = wrapAutocommit;
        this.initialised = wrapAutocommit;
    }

    /** Whether the gateway acts as in an initialised cluster (DDL messages, refusals, wrapping). */
    public TestGateway initialised(boolean yes) {
        this.initialised = yes;
        return this;
    }

    public TestGateway surface(SurfaceFunctions s) {
        this.surface = s;
        if (server != null) {
            server.surface(s);
        }
        return this;
    }

    public TestGateway committer(TransactionCommitter c) {
        this.committer = c;
        if (server != null) {
            server.committer(c);
        }
        return this;
    }

    /** The gateway's certificate from now on (new connections), or null for none. */
    public TestGateway tls(GatewayTls t) {
        this.tls = t;
        if (server != null) {
            server.tls(t);
        }
        return this;
    }

    public TestGateway admission(Admission a) {
        this.admission = a;
        if (server != null) {
            server.admission(a);
        }
        return this;
    }

    @Override
    protected void before() throws InterruptedException {
        server = new GatewayServer(new GatewayServer.Settings("127.0.0.1", 0, backend, wrap, 2))
                .committer(committer).admission(admission).clusterInitialised(() -> initialised).surface(surface).tls(tls)
                .detached(new JdbcDetachedStatements(pg::direct, Runnable::run));
        endpoint = server.start();
    }

    @Override
    protected void after() {
        if (server != null) {
            server.close(Duration.ofSeconds(5));
        }
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public GatewayServer server() {
        return server;
    }
}
