package org.mtm.itests.harness;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bank workload (shared/reference/fault-testing.md) on the gateway of every node: per gateway {@code writers}
 * clients moving money between random accounts (two UPDATEs and a row in {@code transfers}, one transaction,
 * autocommit off, prepared statements), one reader summing every balance (the total must never change) and one
 * client inserting unique ids in autocommit. Clients keep their connection across failures (as pools do), reconnect
 * when their gateway goes away and wait while their node refuses work (57P03). Every write attempt is recorded
 * with what the client saw; {@link BankCheck} compares that with every node's rows.
 */
public final class BankLoad implements AutoCloseable {
    public static final int ACCOUNTS = 50;
    public static final long INITIAL_BALANCE = 1_000;
    /** A statement that takes longer is abandoned by the client (pgjdbc socketTimeout): its outcome is then unknown. */
    public static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(90);
    /** Bound on a gateway that accepts no connection, or a node that does not say online, before the client gives up. */
    private static final Duration AWAY = Duration.ofMinutes(4);
    /** Clients finish the write under way within this when told to stop; then their connection is aborted. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(15);
    /** Ids: gateway × 10^9 + client × 10^7 + sequence, unique per attempt. */
    private static final long GATEWAY_IDS = 1_000_000_000L;
    private static final long CLIENT_IDS = 10_000_000L;
    /** Each write learns its transaction id on the gateway's node: the gid of a prepared transaction left names it. */
    /** The clients' application_name, which their sessions keep on the nodes' PostgreSQL. */
    public static final String APPLICATION_NAME = "mtm-bank";
    private static final String RETURNING_XID = "RETURNING pg_current_xact_id()::text";

    private final LocalCluster cluster;
    private final Random seeds;
    private final AtomicBoolean stop = new AtomicBoolean();
    /** Gateways whose clients were told to stop ({@link #stopGateway}): a node about to be dropped. */
    private final java.util.Set<Integer> stoppedGateways = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> anomalies = new ConcurrentLinkedQueue<>();
    private final AtomicLong reads = new AtomicLong();
    private final Map<Thread, Client> clients = new LinkedHashMap<>();
    private final long start = System.nanoTime();
    private final long startEpochMillis = System.currentTimeMillis();

    private BankLoad(LocalCluster cluster, long seed) {
        this.cluster = cluster;
        this.seeds = new Random(seed);
    }

    /**
     * Creates the bank's tables through node 1's gateway: {@value #ACCOUNTS} accounts of {@value #INITIAL_BALANCE}.
     * A statement rolled back with 40001 (e.g. a generation switch just after the cluster came online) is run again,
     * as the error invites.
     */
    public static void createTables(LocalCluster cluster) throws SQLException {
        int gateway = cluster.node(1).gatewayPort();
        executeRetrying(gateway, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
        executeRetrying(gateway, "CREATE TABLE transfers (id bigint PRIMARY KEY, a int NOT NULL, b int NOT NULL, x int NOT NULL)");
        executeRetrying(gateway, "CREATE TABLE inserts (id bigint PRIMARY KEY, gateway int NOT NULL)");
        executeRetrying(gateway, "INSERT INTO accounts SELECT g, " + INITIAL_BALANCE + " FROM generate_series(1, " + ACCOUNTS + ") g");
    }

    private static void executeRetrying(int gateway, String sql) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                Sql.execute(gateway, sql);
                return;
            } catch (SQLException e) {
                if (!"40001".equals(Sql.sqlState(e)) || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** Starts the clients on every node's gateway; their random choices derive from {@code seed}. */
    public static BankLoad start(LocalCluster cluster, int writers, long seed) {
        BankLoad load = new BankLoad(cluster, seed);
        for (int node = 1; node <= cluster.size(); node++) {
            load.startGateway(node, writers);
        }
        return load;
    }

    /** Starts the clients of one more gateway, e.g. of a node added while the load runs ({@code mtm.add_node}). */
    public synchronized void startGateway(int node, int writers) {
        for (int w = 1; w <= writers; w++) {
            client(node, w, "transfers " + w, this::transfers);
        }
        client(node, writers + 1, "inserts", this::inserts);
        client(node, writers + 2, "reader", this::reader);
    }

    /**
     * Stops the clients of gateway {@code node} as {@link #stop()} stops all (the others go on), e.g. before the node
     * is dropped: its attempts stay in {@link #attempts()} for the checks.
     */
    public void stopGateway(int node) {
        stoppedGateways.add(node);
        Map<Thread, Client> theirs = new LinkedHashMap<>();
        synchronized (this) {
            clients.forEach((thread, client) -> {
                if (client.node == node) {
                    theirs.put(thread, client);
                }
            });
        }
        awaitClients(theirs.keySet(), STOP_GRACE);
        theirs.forEach((thread, client) -> {
            if (thread.isAlive()) {
                client.abandon();
            }
        });
        awaitClients(theirs.keySet(), STOP_GRACE);
    }

    /** One client's work on one connection; returns when told to stop, reconnecting as needed. */
    private interface Work {
        void run(Client client) throws SQLException;
    }

    private void client(int node, int number, String role, Work work) {
        Client client = new Client(node, number, "node" + node + " " + role, new Random(seeds.nextLong()));
        Thread thread = new Thread(() -> {
            while (!client.stopped()) {
                try {
                    work.run(client);
                } catch (SQLException e) {
                    client.drop(); // the connection broke outside an attempt (prepare, rollback): connect again
                } catch (Stopped e) {
                    break;
                } catch (AssertionError | RuntimeException e) {
                    anomalies.add(client.name + ": " + e); // e.g. a gateway away for longer than AWAY
                    client.drop();
                }
            }
            client.drop();
        }, "bank-" + client.name.replace(' ', '-'));
        thread.setDaemon(true);
        clients.put(thread, client);
        thread.start();
    }

    private void transfers(Client client) throws SQLException {
        Connection c = client.connection();
        c.setAutoCommit(false);
        try (PreparedStatement debit = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = ?");
             PreparedStatement credit = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
             PreparedStatement log = c.prepareStatement("INSERT INTO transfers (id, a, b, x) VALUES (?, ?, ?, ?) " + RETURNING_XID)) {
            while (!client.stopped()) {
                int a = 1 + client.random.nextInt(ACCOUNTS);
                int b = 1 + (a + client.random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
                int x = 1 + client.random.nextInt(100);
                long id = client.nextId();
                long begun = System.nanoTime();
                String xid = null;
                boolean committing = false;
                try {
                    bind(debit, x, a).executeUpdate();
                    bind(credit, x, b).executeUpdate();
                    log.setLong(1, id);
                    log.setInt(2, a);
                    log.setInt(3, b);
                    log.setInt(4, x);
                    xid = xid(log);
                    committing = true;
                    c.commit();
                    record(Attempt.Kind.TRANSFER, id, client, xid, begun, null);
                } catch (SQLException e) {
                    record(Attempt.Kind.TRANSFER, id, client, xid, begun, new Failure(e, committing));
                    if (!client.recover(e)) {
                        return;
                    }
                }
            }
        }
    }

    private void inserts(Client client) throws SQLException {
        Connection c = client.connection();
        c.setAutoCommit(true);
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO inserts (id, gateway) VALUES (?, ?) " + RETURNING_XID)) {
            while (!client.stopped()) {
                long id = client.nextId();
                long begun = System.nanoTime();
                try {
                    insert.setLong(1, id);
                    insert.setInt(2, client.node);
                    record(Attempt.Kind.INSERT, id, client, xid(insert), begun, null);
                } catch (SQLException e) {
                    // the autocommit statement is its own commit: its xid is never seen when it fails
                    record(Attempt.Kind.INSERT, id, client, null, begun, new Failure(e, true));
                    if (!client.recover(e)) {
                        return;
                    }
                }
            }
        }
    }

    private void reader(Client client) throws SQLException {
        Connection c = client.connection();
        c.setAutoCommit(true);
        try (Statement sum = c.createStatement()) {
            while (!client.stopped()) {
                try (ResultSet rs = sum.executeQuery("SELECT sum(balance), count(*) FROM accounts")) {
                    rs.next();
                    long total = rs.getLong(1);
                    reads.incrementAndGet();
                    if (total != ACCOUNTS * INITIAL_BALANCE || rs.getInt(2) != ACCOUNTS) {
                        anomalies.add(String.format("node%d: a read at t=%d ms saw %d accounts with total %d, not %d", client.node,
                            sinceStart(System.nanoTime()), rs.getInt(2), total, ACCOUNTS * INITIAL_BALANCE));
                    }
                } catch (SQLException e) {
                    if (!client.recover(e)) {
                        return;
                    }
                }
            }
        }
    }

    /** Runs an INSERT ... {@value #RETURNING_XID}; returns the transaction id it reports. */
    private static String xid(PreparedStatement insert) throws SQLException {
        try (ResultSet rs = insert.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static PreparedStatement bind(PreparedStatement statement, int amount, int account) throws SQLException {
        statement.setInt(1, amount);
        statement.setInt(2, account);
        return statement;
    }

    private record Failure(SQLException error, boolean atCommit) {
    }

    /** The load was told to stop while a client waited for its gateway. */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private void record(Attempt.Kind kind, long id, Client client, String xid, long begun, Failure failure) {
        long now = System.nanoTime();
        ClientOutcome outcome = failure == null ? ClientOutcome.ACKNOWLEDGED : ClientOutcome.of(failure.error(), failure.atCommit());
        attempts.add(new Attempt(kind, id, client.node, client.name, xid, outcome,
            failure == null ? null : Sql.sqlState(failure.error()), failure == null ? null : failure.error().getMessage(),
            sinceStart(begun), (now - begun) / 1_000_000));
    }

    private long sinceStart(long nanos) {
        return (nanos - start) / 1_000_000;
    }

    /** Milliseconds since the load started: the time base of {@link Attempt#atMillis()}. */
    public long millisSinceStart() {
        return sinceStart(System.nanoTime());
    }

    /** A wall-clock time (e.g. {@code pg_prepared_xacts.prepared}) in milliseconds of the load's clock. */
    public long millisAtEpoch(long epochMillis) {
        return epochMillis - startEpochMillis;
    }

    public long acknowledged() {
        return attempts.stream().filter(a -> a.outcome() == ClientOutcome.ACKNOWLEDGED).count();
    }

    /** Waits until {@code more} writes beyond those acknowledged now are acknowledged; false when {@code timeout} passed. */
    public boolean awaitProgress(int more, Duration timeout) {
        long target = acknowledged() + more;
        try {
            Poll.until(more + " more writes acknowledged", timeout, Duration.ofMillis(200), () -> acknowledged() >= target);
            return true;
        } catch (AssertionError e) {
            return false;
        }
    }

    /**
     * Stops every client: each finishes its write within {@link #STOP_GRACE}, else its connection is aborted (a write
     * waiting then, e.g. on a lock, ends with the outcome its client sees).
     */
    public void stop() {
        stop.set(true);
        Map<Thread, Client> all;
        synchronized (this) {
            all = new LinkedHashMap<>(clients);
        }
        awaitClients(all.keySet(), STOP_GRACE);
        all.forEach((thread, client) -> {
            if (thread.isAlive()) {
                client.abandon();
            }
        });
        awaitClients(all.keySet(), STOP_GRACE);
        all.keySet().stream().filter(Thread::isAlive).forEach(thread ->
            anomalies.add(thread.getName() + " did not stop even with its connection aborted"));
    }

    private static void awaitClients(java.util.Collection<Thread> threads, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread thread : threads) {
            try {
                thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    public List<Attempt> attempts() {
        return List.copyOf(attempts);
    }

    /** What the clients saw that must never be: reads with another total, clients that could not work. */
    public List<String> anomalies() {
        return List.copyOf(anomalies);
    }

    public long reads() {
        return reads.get();
    }

    /** Per outcome, how many attempts. */
    public Map<ClientOutcome, Long> outcomes() {
        Map<ClientOutcome, Long> counts = new java.util.EnumMap<>(ClientOutcome.class);
        attempts.forEach(a -> counts.merge(a.outcome(), 1L, Long::sum));
        return counts;
    }

    /** One client: its connection to its node's gateway (kept across failures), its ids and random choices. */
    private final class Client {
        final int node;
        final String name;
        final Random random;
        private final long firstId;
        private long sequence;
        /** Set and used by the client's thread; aborted by {@link #stop()}'s thread. */
        private volatile Connection connection;

        Client(int node, int number, String name, Random random) {
            this.node = node;
            this.name = name;
            this.random = random;
            this.firstId = node * GATEWAY_IDS + number * CLIENT_IDS;
        }

        long nextId() {
            return firstId + sequence++;
        }

        /** The whole load, or this client's gateway, was told to stop. */
        boolean stopped() {
            return stop.get() || stoppedGateways.contains(node);
        }

        /** The open connection, or a new one once the gateway accepts it (bounded by {@link #AWAY}). */
        Connection connection() {
            if (connection == null) {
                int port = cluster.node(node).gatewayPort();
                connection = Poll.until(name + ": node" + node + "'s gateway accepts a connection", AWAY, Duration.ofMillis(200), () ->
                    stopped() ? Optional.<Connection>empty() : Optional.of(Sql.connect(port, "prepareThreshold", "1", "socketTimeout",
                        Long.toString(CLIENT_TIMEOUT.toSeconds()), "ApplicationName", APPLICATION_NAME)), c -> true).orElse(null);
                if (connection == null) {
                    throw new Stopped();
                }
            }
            return connection;
        }

        /**
         * After a failed statement: false when the connection is gone (the caller returns and gets a new one), else
         * rolls back and, when the node refused work as not online, waits until it says online again.
         */
        boolean recover(SQLException e) throws SQLException {
            if (connection.isClosed() || !connection.isValid(5)) {
                drop();
                return false;
            }
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
            if ("57P03".equals(Sql.sqlState(e))) {
                awaitOnline();
            }
            return true;
        }

        private void awaitOnline() {
            int port = cluster.node(node).gatewayPort();
            Poll.until(name + ": node" + node + " online again", AWAY, Duration.ofMillis(200), () -> {
                if (stopped()) {
                    return true;
                }
                try (Connection admin = Sql.connect(port, "ApplicationName", "mtm_admin")) {
                    return "online".equals(Sql.scalar(admin, "SELECT status FROM mtm.status()"));
                } catch (SQLException gone) {
                    return false;
                }
            });
        }

        /** From another thread: the statement under way fails at once. */
        void abandon() {
            Connection c = connection;
            if (c != null) {
                try {
                    c.abort(Runnable::run);
                } catch (SQLException ignored) {
                    // it is gone either way
                }
            }
        }

        void drop() {
            if (connection != null) {
                try {
                    connection.abort(Runnable::run);
                } catch (SQLException ignored) {
                    // it is gone either way
                }
                connection = null;
            }
        }
    }
}
