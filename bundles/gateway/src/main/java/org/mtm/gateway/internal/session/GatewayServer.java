package org.mtm.gateway.internal.session;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.Admission;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.gateway.internal.commit.DetachedStatements;
import org.mtm.gateway.internal.commit.FootprintQueries;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.sql.TempStandIns;
import org.mtm.gateway.internal.tls.GatewayTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The gateway's listening socket and its sessions, usable without OSGi: {@code new GatewayServer(settings)},
 * {@link #start()}, {@link #close}. One Netty NIO event loop group serves all sessions; each session's client
 * and backend connections share one event loop.
 */
public final class GatewayServer implements SessionHost, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);

    /** How the gateway listens and whom it relays to. */
    public record Settings(String host, int port, Supplier<Endpoint> backend, boolean wrapAutocommit, int threads) {
        public Settings {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("gateway.host must not be empty");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("gateway.port must be 0..65535 (0 = any free port), got " + port);
            }
        }

        public Settings(String host, int port, Supplier<Endpoint> backend) {
            this(host, port, backend, true, 0);
        }
    }

    /** How often schemas of temporary-table stand-ins whose backend is gone are looked for. */
    private static final long STAND_IN_SWEEP_SECONDS = 10;

    private final Settings settings;
    /** Before a committer is set: a node outside any cluster, every commit local. */
    private static final TransactionCommitter LOCAL =
            new CoordinatedCommitter(() -> CoordinatedCommitter.Standing.NOT_INITIALISED, () -> null);
    private volatile TransactionCommitter committer = LOCAL;
    private volatile Admission admission = Admission.ALWAYS;
    private volatile DetachedStatements detached = DetachedStatements.NONE;
    private volatile BooleanSupplier clusterInitialised = () -> false;
    private volatile SurfaceFunctions surface = SurfaceFunctions.NONE;
    private volatile FootprintQueries footprintQueries = FootprintQueries.INLINE;
    private volatile GatewayTls tls;
    private volatile int maxConnections;
    private volatile long startupTimeoutMillis;
    private volatile int maxMessageBytes = Session.MAX_MESSAGE;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Map<Long, Session> keys = new ConcurrentHashMap<>();
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel listener;
    private Endpoint endpoint;

    public GatewayServer(Settings settings) {
        this.settings = settings;
    }

    public GatewayServer committer(TransactionCommitter c) {
        this.committer = c == null ? LOCAL : c;
        return this;
    }

    public GatewayServer admission(Admission a) {
        this.admission = a == null ? Admission.ALWAYS : a;
        return this;
    }

    public GatewayServer detached(DetachedStatements d) {
        this.detached = d == null ? DetachedStatements.NONE : d;
        return this;
    }

    /**
     * Whether the node belongs to an initialised cluster (asked per query, so it must be cheap): global DDL is
     * logged, refusals apply and, with {@link Settings#wrapAutocommit()}, autocommit statements are wrapped.
     * Default: not initialised (a plain relay).
     */
    public GatewayServer clusterInitialised(BooleanSupplier initialised) {
        this.clusterInitialised = initialised == null ? () -> false : initialised;
        return this;
    }

    /** The footprint's statements as the sessions send them. Default: as text. */
    public GatewayServer footprintQueries(FootprintQueries q) {
        this.footprintQueries = q == null ? FootprintQueries.INLINE : q;
        return this;
    }

    @Override
    public FootprintQueries footprintQueries() {
        return footprintQueries;
    }

    public GatewayServer surface(SurfaceFunctions s) {
        this.surface = s == null ? SurfaceFunctions.NONE : s;
        return this;
    }

    /**
     * The certificate SSLRequest is answered with, or null (answered 'N'); may change while the gateway runs:
     * new connections use the new one, open sessions keep theirs.
     */
    public GatewayServer tls(GatewayTls t) {
        this.tls = t;
        return this;
    }

    /**
     * The gateway's own bounds against connection floods (issue 14), before a session reaches PostgreSQL (whose
     * max_connections then applies as well): at most {@code maxConnections} client connections (0: no limit of the
     * gateway's), and a startup packet within {@code startupTimeoutMillis} of connecting (0: no bound).
     */
    public GatewayServer limits(int maxConnections, long startupTimeoutMillis) {
        return limits(maxConnections, startupTimeoutMillis, Session.MAX_MESSAGE);
    }

    /** {@link #limits(int, long)}, and the longest message held whole ({@link SessionHost#maxMessageBytes}). */
    public GatewayServer limits(int maxConnections, long startupTimeoutMillis, int maxMessageBytes) {
        if (maxMessageBytes < 1024 || maxMessageBytes > Session.MAX_MESSAGE) {
            throw new IllegalArgumentException("gateway.max_message_bytes must be between 1024 and " + Session.MAX_MESSAGE
                    + " (PostgreSQL's own bound), got " + maxMessageBytes);
        }
        this.maxMessageBytes = maxMessageBytes;
        if (maxConnections < 0) {
            throw new IllegalArgumentException("gateway.max_connections must be 0 (no limit) or more, got " + maxConnections);
        }
        if (startupTimeoutMillis < 0) {
            throw new IllegalArgumentException("gateway.startup_timeout_ms must be 0 (no bound) or more, got "
                    + startupTimeoutMillis);
        }
        this.maxConnections = maxConnections;
        this.startupTimeoutMillis = startupTimeoutMillis;
        return this;
    }

    @Override
    public boolean tooManyClients() {
        int max = maxConnections;
        return max > 0 && sessions.size() > max;
    }

    @Override
    public int maxConnections() {
        return maxConnections;
    }

    @Override
    public long startupTimeoutMillis() {
        return startupTimeoutMillis;
    }

    @Override
    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    /**
     * The event loops for {@code gateway.threads}: 0 means one per core. Not Netty's default of two per core: a loop
     * that serves fewer sessions sleeps in epoll_wait and is woken for nearly every message, and on 2 cores four loops
     * spent 15 % more CPU per relayed read than two and relayed 13 % fewer (session 25, bench/README).
     */
    static int eventLoops(int configured) {
        return configured > 0 ? configured : Runtime.getRuntime().availableProcessors();
    }

    /** Binds and starts accepting; returns the address actually bound (port 0 picks a free one). */
    public synchronized Endpoint start() throws InterruptedException {
        if (listener != null) {
            return endpoint;
        }
        boss = new NioEventLoopGroup(1, new DefaultThreadFactory("mtm-gateway-accept", true));
        workers = new NioEventLoopGroup(eventLoops(settings.threads()), new DefaultThreadFactory("mtm-gateway", true));
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("session", new Session(GatewayServer.this, ch));
                    }
                });
        try {
            listener = bootstrap.bind(settings.host(), settings.port()).sync().channel();
        } catch (RuntimeException | InterruptedException e) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            listener = null;
            throw e;
        }
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        endpoint = new Endpoint(settings.host(), bound.getPort());
        // stand-ins of temporary tables left by sessions of an earlier run (gateway or node crash), then now and then
        workers.scheduleWithFixedDelay(this::sweepStandIns, 0, STAND_IN_SWEEP_SECONDS, TimeUnit.SECONDS);
        return endpoint;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** Stops accepting new clients; open sessions go on. */
    public synchronized void stopAccepting() {
        if (listener != null && listener.isOpen()) {
            listener.close().syncUninterruptibly();
        }
    }

    /**
     * Stops accepting, ends every session with FATAL 57P01 (a session in the middle of a commit finishes it
     * first, for at most {@code grace}), and releases the threads.
     */
    public synchronized void close(Duration grace) {
        if (listener == null) {
            return;
        }
        stopAccepting();
        terminate(info -> true, ServerError.fatal(SqlStates.ADMIN_SHUTDOWN,
                "[multimaster] terminating connection because the gateway is stopping"));
        long deadline = System.nanoTime() + grace.toNanos();
        while (!sessions.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!sessions.isEmpty()) {
            LOG.warn("{} gateway session(s) did not end within {}; closing them", sessions.size(), grace);
            for (Session s : sessions) {
                s.clientChannel().close();
            }
        }
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        listener = null;
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /**
     * Ends every session that {@code which} selects with the FATAL {@code why}, as {@link #close} does but while
     * the gateway goes on listening: a session in the middle of a commit finishes it first (the client learns
     * the outcome, then gets {@code why}). {@code which} is asked on each session's event loop, so it sees the
     * session's current application_name. Nothing happens once the gateway is closed.
     */
    public synchronized void terminateSessions(Predicate<SessionInfo> which, ServerError why) {
        if (listener != null) {
            terminate(which, why);
        }
    }

    private void terminate(Predicate<SessionInfo> which, ServerError why) {
        for (Session s : sessions) {
            s.clientChannel().eventLoop().execute(() -> {
                if (which.test(s.info())) {
                    s.terminateSession(why);
                }
            });
        }
    }

    public int sessionCount() {
        return sessions.size();
    }

    // ------------------------------------------------------------------ SessionHost

    @Override
    public Endpoint backendEndpoint() {
        return settings.backend().get();
    }

    @Override
    public TransactionCommitter committer() {
        return committer;
    }

    @Override
    public Admission admission() {
        return admission;
    }

    @Override
    public DetachedStatements detached() {
        return detached;
    }

    @Override
    public boolean wrapAutocommit() {
        return settings.wrapAutocommit() && clusterInitialised.getAsBoolean();
    }

    @Override
    public boolean clusterInitialised() {
        return clusterInitialised.getAsBoolean();
    }

    @Override
    public GatewayTls tls() {
        return tls;
    }

    @Override
    public SurfaceFunctions surface() {
        return surface;
    }

    @Override
    public void standInsLeft() {
        EventLoopGroup w = workers;
        if (w != null && !w.isShuttingDown()) {
            // the backend ends a moment after its connection closes; the periodic sweep catches a slow one
            w.schedule(this::sweepStandIns, 300, TimeUnit.MILLISECONDS);
            w.schedule(this::sweepStandIns, 2, TimeUnit.SECONDS);
        }
    }

    private void sweepStandIns() {
        try {
            detached.execute(TempStandIns.SWEEP_SQL).whenComplete((r, failure) -> {
                if (failure != null || !r.ok()) {
                    LOG.debug("sweeping stand-ins of temporary tables: {}", failure != null ? failure.toString() : r.error());
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("sweeping stand-ins of temporary tables: {}", e.toString());
        }
    }

    @Override
    public void opened(Session session) {
        sessions.add(session);
    }

    @Override
    public void closed(Session session) {
        sessions.remove(session);
    }

    @Override
    public void keyIssued(int pid, int secret, Session session) {
        keys.put(key(pid, secret), session);
    }

    @Override
    public void keyRevoked(int pid, int secret) {
        keys.remove(key(pid, secret));
    }

    @Override
    public void cancelRequested(int pid, int secret) {
        Session target = keys.get(key(pid, secret));
        if (target == null) {
            // PostgreSQL ignores unknown keys silently, and so does the gateway: no oracle for guessing keys
            LOG.debug("cancel request for unknown backend key (pid {}) ignored", pid);
            return;
        }
        target.clientChannel().eventLoop().execute(target::cancel);
    }

    @Override
    public void sendCancel(int pid, int secret) {
        Endpoint target = backendEndpoint();
        new Bootstrap().group(workers).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.host(), target.port())
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        LOG.warn("could not send a cancel request to PostgreSQL at {}: {}", target, f.cause().toString());
                        return;
                    }
                    f.channel().writeAndFlush(PgWire.cancelRequest(f.channel().alloc(), pid, secret))
                            .addListener(ChannelFutureListener.CLOSE);
                });
    }

    private static long key(int pid, int secret) {
        return ((long) pid << 32) | (secret & 0xFFFFFFFFL);
    }
}
