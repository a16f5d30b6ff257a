package org.mtm.postgres.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.mtm.api.Conninfo;
import org.mtm.api.DurableCommits;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;
import org.postgresql.Driver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server this process owns: {@code initdb} on first start, our settings in an include file,
 * pg_hba for TCP from loopback, {@code pg_ctl start}, the cluster database created when missing. A
 * server left running by a previous process on the same data directory (the JVM was killed) is
 * adopted, not started twice. Plain Java: tests of every module use it to start real servers.
 *
 * <pre>
 * ManagedPostgres pg = ManagedPostgres.builder().dataDirectory(dir).database("mydb").build();
 * pg.start();
 * try (Connection c = pg.connect()) { ... }
 * pg.stop();
 * </pre>
 *
 * When the JVM runs as root the tools run as {@code postgres} (or {@link Builder#osUser}) through
 * runuser/setpriv and the data directory is handed to that user.
 */
public final class ManagedPostgres implements LocalDatabase {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedPostgres.class);
    private static final Driver DRIVER = new Driver();
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);
    private static final int PORT_ATTEMPTS = 3;
    private static final int LOG_TAIL_LINES = 20;

    private final Path dataDir;
    private final Path explicitBinDir;
    private final int configuredPort;
    private final ServerSettings settings;
    private final String osUser;
    private final Duration startTimeout;
    private final boolean passwordGenerated;
    /** A live node's conninfo to make a new node's data directory from (pg_basebackup) instead of initdb; or null. */
    private final String baseBackupFrom;
    /** A live node's conninfo to fill a new node's database from (pg_dump at a slot's snapshot) after initdb; or null. */
    private final String logicalCopyFrom;

    private volatile PostgresBinaries binaries;
    private volatile RunAs runAs;
    private volatile int port;
    private volatile boolean adopted;

    private ManagedPostgres(Builder b) {
        this.dataDir = b.dataDir.toAbsolutePath().normalize();
        this.explicitBinDir = b.binDir;
        this.configuredPort = b.port;
        this.settings = new ServerSettings(b.host, b.superuser, b.database, b.password, b.authMethod,
                b.maxConnections, b.maxNodes, b.settings);
        this.osUser = b.osUser;
        this.startTimeout = b.startTimeout;
        this.passwordGenerated = b.passwordGenerated;
        this.port = b.port;
        this.baseBackupFrom = b.baseBackupFrom;
        this.logicalCopyFrom = b.logicalCopyFrom;
    }

    /** A tool of the server's bin directory run as the server's OS user (BaseBackup). */
    ProcessRunner.Result runAsServer(List<String> argv) throws IOException {
        return runTool(argv, toolTimeout().plusMinutes(30));
    }

    /** Writes a file of the data directory owned by the server's OS user (BaseBackup). */
    void writeServerFile(Path file, String content) throws IOException {
        writeFile(file, content);
    }

    RunAs serverAccount() {
        return account();
    }

    Duration startTimeoutValue() {
        return startTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---- lifecycle ----

    /**
     * Brings the server up: initdb when the data directory is new, settings and pg_hba rewritten,
     * {@code pg_ctl start} (or adoption of a server already running on this data directory, restarted
     * only when its settings changed), then the database created when missing. Returns once the
     * server accepts connections.
     *
     * @throws ManagedPostgresException naming the data directory, the log file and the server's last words
     */
    public synchronized void start() {
        try {
            doStart();
        } catch (ManagedPostgresException e) {
            throw e;
        } catch (IOException | SQLException | RuntimeException e) {
            throw failure("cannot start PostgreSQL", e);
        }
    }

    /**
     * {@code pg_ctl stop -m fast}; falls back to immediate shutdown when that does not finish. A fast shutdown waits
     * for every walsender until its client has confirmed the last WAL, and the peers' receivers confirm only what
     * they applied (with {@code wal_sender_timeout = 0} nothing ends the wait): when the shutdown has not finished
     * after {@value #WALSENDER_GRACE_SECONDS} s, the walsenders are terminated, as a crash of the peers' connections
     * would — they stream again from their progress when this server is back.
     */
    public synchronized void stop() {
        if (!isRunning()) {
            return;
        }
        try {
            ProcessRunner.Result r = runTool(ServerSettings.pgCtlStop(bin(), dataDir, "fast", WALSENDER_GRACE_SECONDS),
                Duration.ofSeconds(WALSENDER_GRACE_SECONDS + 30));
            if (!r.ok() && isRunning()) {
                int ended = terminateWalSenders();
                LOG.info("PostgreSQL {} did not shut down within {} s{}", dataDir, WALSENDER_GRACE_SECONDS, ended == 0 ? ""
                    : "; terminated " + ended + " walsender(s) waiting for their clients to confirm the last WAL");
                r = runTool(ServerSettings.pgCtlStop(bin(), dataDir, "fast", 60), Duration.ofSeconds(90));
            }
            if (!r.ok() && isRunning()) {
                LOG.warn("fast shutdown of PostgreSQL {} failed ({}); shutting down immediately", dataDir, r.output().strip());
                runTool(ServerSettings.pgCtlStop(bin(), dataDir, "immediate", 60), Duration.ofSeconds(90));
            }
            LOG.info("stopped PostgreSQL {} (port {})", dataDir, port);
        } catch (IOException e) {
            throw failure("cannot stop PostgreSQL", e);
        }
        if (isRunning()) {
            throw failure("PostgreSQL is still running after pg_ctl stop", null);
        }
    }

    /**
     * SIGKILL of the postmaster and then of every process it had started, as a crash would leave it;
     * returns when all are gone. The next {@link #start()} runs crash recovery.
     */
    public synchronized void kill() {
        Optional<ProcessHandle> postmaster = postmaster();
        if (postmaster.isEmpty()) {
            return;
        }
        List<ProcessHandle> all = new ArrayList<>();
        all.add(postmaster.get());
        postmaster.get().descendants().forEach(all::add);
        all.forEach(ProcessHandle::destroyForcibly); // postmaster first: no orderly restart of children
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (ProcessHandle p : all) {
            while (alive(p)) {
                if (System.nanoTime() > deadline) {
                    throw failure("process " + p.pid() + " of PostgreSQL did not die after SIGKILL", null);
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ManagedPostgresException("interrupted while killing PostgreSQL " + dataDir);
                }
            }
        }
        LOG.info("killed PostgreSQL {} (postmaster pid {})", dataDir, postmaster.get().pid());
    }

    /** How long a fast shutdown may wait for walsenders before they are terminated (see {@link #stop()}). */
    static final int WALSENDER_GRACE_SECONDS = 5;

    /** SIGTERM to every walsender of the running server (Linux: found by their process title); how many. */
    private int terminateWalSenders() {
        Optional<ProcessHandle> postmaster = postmaster();
        if (postmaster.isEmpty()) {
            return 0;
        }
        int ended = 0;
        for (ProcessHandle child : postmaster.get().children().toList()) {
            String title;
            try {
                title = new String(Files.readAllBytes(Path.of("/proc", Long.toString(child.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                continue; // gone already, or no /proc here
            }
            if (title.contains("walsender") && child.destroy()) {
                ended++;
            }
        }
        return ended;
    }

    /** True while the postmaster recorded in the data directory is alive. */
    public boolean isRunning() {
        return postmaster().isPresent();
    }

    /** The running postmaster's process id. */
    public long postmasterPid() {
        return postmaster().map(ProcessHandle::pid)
                .orElseThrow(() -> new IllegalStateException("no PostgreSQL is running on " + dataDir));
    }

    /** True when the last {@link #start()} found the server already running and took it over. */
    public boolean wasAdopted() {
        return adopted;
    }

    // ---- where and how to connect ----

    /** The server's port: the configured one, else the one remembered in the data directory. */
    public int port() {
        int p = port;
        if (p > 0) {
            return p;
        }
        OptionalInt remembered = rememberedPort();
        if (remembered.isPresent()) {
            return remembered.getAsInt();
        }
        throw new IllegalStateException("the port of PostgreSQL " + dataDir + " is chosen at its first start: call start() first");
    }

    @Override
    public Endpoint endpoint() {
        return new Endpoint(settings.connectHost(), port());
    }

    @Override
    public String databaseName() {
        return settings.database();
    }

    @Override
    public String userName() {
        return settings.superuser();
    }

    /** JDBC URL of the cluster database. */
    public String jdbcUrl() {
        return jdbcUrl(settings.database());
    }

    public String jdbcUrl(String database) {
        return conninfoOf(database).jdbcUrl();
    }

    /** libpq form {@code host=… port=… dbname=… user=…}; without the password, which stays out of logs. */
    @Override
    public String conninfo() {
        return conninfoOf(settings.database()).format();
    }

    @Override
    public Connection connect() throws SQLException {
        return connect(settings.database());
    }

    /**
     * A connection to another database of this server as the superuser, e.g. {@code postgres}; its commits flushed
     * before they return even where the server's default is {@code synchronous_commit = off} ({@link DurableCommits}).
     */
    public Connection connect(String database) throws SQLException {
        return DurableCommits.on(open(jdbcUrl(database), properties()));
    }

    @Override
    public Connection connectReplication() throws SQLException {
        Properties p = properties();
        p.setProperty("replication", "database");
        p.setProperty("assumeMinServerVersion", "15");
        p.setProperty("preferQueryMode", "simple");
        return open(jdbcUrl(), p);
    }

    @Override
    public boolean isManaged() {
        return true;
    }

    public Path dataDirectory() {
        return dataDir;
    }

    public Path logFile() {
        return dataDir.resolve(ServerSettings.LOG_FILE);
    }

    /** The last lines the server logged. */
    public String lastLogLines(int n) {
        return ServerLog.tail(logFile(), n);
    }

    /** The bin directory in use (located on first call). */
    public Path binDirectory() {
        return bin();
    }

    /** The OS user the server runs as (decided on first call). */
    public String osUser() {
        return account().user();
    }

    public ServerSettings settings() {
        return settings;
    }

    @Override
    public String toString() {
        int p = port;
        return "PostgreSQL " + dataDir + (p > 0 ? " on " + settings.connectHost() + ":" + p : "");
    }

    // ---- start, step by step ----

    private void doStart() throws IOException, SQLException {
        PostgresBinaries pg = binaries();
        RunAs as = account();
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            refuseToRemake(); // before anything is made there: the directory may be put back as it was
        }
        Files.createDirectories(dataDir);
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            if (baseBackupFrom != null) {
                BaseBackup.take(this, pg, as, baseBackupFrom);
            } else {
                initdb(pg, as);
                if (logicalCopyFrom != null) {
                    LogicalCopy.request(this, logicalCopyFrom);
                }
            }
            noteMade();
        } else {
            noteMade();
            OsAccounts.handOver(dataDir, as);
            checkAccess(as);
            String version = Files.readString(dataDir.resolve("PG_VERSION")).strip();
            if (!version.equals(Integer.toString(pg.major()))) {
                throw new ManagedPostgresException("PostgreSQL data directory " + dataDir + " was created by PostgreSQL "
                        + version + " but the binaries in " + pg.binDir() + " are " + pg.major()
                        + ": set database.bindir to PostgreSQL " + version + "'s bin directory, or upgrade the data (pg_upgrade)");
            }
        }
        Path logDir = logFile().getParent();
        if (!Files.isDirectory(logDir)) {
            Files.createDirectories(logDir);
            OsAccounts.handOverFile(logDir, as);
        }

        Optional<PostmasterPid> running = runningServer();
        if (running.isPresent() && running.get().stopping()) {
            // left by a stop that did not finish (its JVM was killed meanwhile): adopting it would wait on a server
            // that refuses every connection until it exits — finish the shutdown, then start it afresh
            LOG.info("PostgreSQL {} (pid {}) is shutting down: finishing its shutdown before starting it again", dataDir,
                running.get().pid());
            stop();
            running = Optional.empty();
        }
        boolean portChosenNow = false;
        if (configuredPort > 0) {
            port = configuredPort;
        } else if (running.isPresent()) {
            port = running.get().port();
        } else if (rememberedPort().isPresent()) {
            port = rememberedPort().getAsInt();
        } else {
            port = freePort();
            portChosenNow = true;
        }

        boolean settingsChanged = writeSettings();
        Path hba = dataDir.resolve("pg_hba.conf");
        // set up by an earlier mtm that trusted the loopback: the role may have no password yet, so its pg_hba stays
        // until the password is stored (below), then every connection authenticates
        boolean storePassword = settings.password() != null && Files.isRegularFile(hba)
                && ServerSettings.trusts(Files.readString(hba, StandardCharsets.UTF_8));
        boolean hbaChanged = !storePassword && writeFile(hba, settings.hbaConf());
        if (running.isPresent()) {
            adopted = true;
            if (settingsChanged) {
                LOG.info("PostgreSQL {} is already running (pid {}) with other settings: restarting it", dataDir,
                        running.get().pid());
                ProcessRunner.Result r = runTool(ServerSettings.pgCtlRestart(bin(), dataDir, timeoutSeconds()), toolTimeout());
                if (!r.ok()) {
                    throw failure("pg_ctl restart failed: " + r.output().strip(), null);
                }
            } else {
                if (hbaChanged) {
                    runTool(ServerSettings.pgCtlReload(bin(), dataDir), TOOL_TIMEOUT);
                }
                LOG.info("adopted PostgreSQL {} already running on port {} (pid {})", dataDir, port, running.get().pid());
            }
        } else {
            adopted = false;
            clearZombieLock();
            startServer(portChosenNow);
        }
        awaitConnections();
        if (storePassword) {
            try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
                st.execute("ALTER ROLE CURRENT_USER PASSWORD " + quoteLiteral(settings.password()));
            }
            writeFile(hba, settings.hbaConf());
            runTool(ServerSettings.pgCtlReload(bin(), dataDir), TOOL_TIMEOUT);
            LOG.info("PostgreSQL {} trusted loopback connections (set up so by an earlier version): {} has its password "
                    + "now and every connection authenticates with {}", dataDir, settings.superuser(), settings.authMethod());
        }
        ensureDatabase();
        BaseBackup.finishIfPending(this);
        LogicalCopy.finishIfPending(this, pg.binDir());
    }

    /**
     * The note beside the data directory that this node has run a server there ({@code .<name>.mtm-made} in its
     * parent): kept outside the directory, so that it outlives the directory's loss — deleted by hand, a volume not
     * mounted (an empty mount point), a lost disk.
     */
    Path madeNote() {
        Path parent = dataDir.toAbsolutePath().getParent();
        return parent == null ? null : parent.resolve("." + dataDir.getFileName() + ".mtm-made");
    }

    private void noteMade() {
        Path note = madeNote();
        if (note == null || Files.exists(note)) {
            return;
        }
        try {
            Files.writeString(note, "mtm: this node ran its PostgreSQL in " + dataDir.toAbsolutePath() + " (since "
                    + java.time.Instant.now() + "). Its node starts no new, empty server there while this file exists.\n");
        } catch (IOException e) {
            LOG.warn("cannot note {} beside PostgreSQL data directory {}: {}", note, dataDir, e.toString());
        }
    }

    /**
     * A data directory this node ran a server in ({@link #madeNote}) that is gone or empty now is not made again: a
     * new, empty database would answer clients of this node as an uninitialised node — every write acknowledged there
     * and none of it in the cluster, every read empty. The node stays without its database (its peers go on without
     * it) until the directory is back, or the operator removes the node and adds it again.
     */
    private void refuseToRemake() {
        Path note = madeNote();
        if (note != null && Files.exists(note)) {
            throw new ManagedPostgresException("PostgreSQL data directory " + dataDir.toAbsolutePath() + " is missing or"
                    + " empty, but this node ran its server there (" + note + "): not making a new, empty one, which would"
                    + " serve clients of this node a database outside the cluster. Restore the data directory (or mount"
                    + " its volume); or drop this node (mtm.drop_node on an online node), delete " + note
                    + " and add the node again (mtm.add_node and a base backup, ./mtm add-node)");
        }
    }

    private void initdb(PostgresBinaries pg, RunAs as) throws IOException {
        try (Stream<Path> entries = Files.list(dataDir)) {
            if (entries.findAny().isPresent()) {
                throw new ManagedPostgresException("PostgreSQL data directory " + dataDir
                        + " is neither empty nor a PostgreSQL data directory (no PG_VERSION): empty it or choose another database.datadir");
            }
        }
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
        OsAccounts.handOver(dataDir, as);
        checkAccess(as);
        Path pwFile = null;
        try {
            if (settings.password() != null) {
                // next to the data directory: the server's user can reach it (checked above), unlike java.io.tmpdir maybe
                pwFile = dataDir.resolveSibling("." + dataDir.getFileName() + ".pw-" + UUID.randomUUID());
                Files.writeString(Files.createFile(pwFile, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------"))), settings.password() + "\n");
                OsAccounts.handOverFile(pwFile, as);
            }
            LOG.info("initializing PostgreSQL data directory {} with {} as OS user {}", dataDir, pg.version(), as.user());
            ProcessRunner.Result r = runTool(settings.initdbArgs(pg.binDir(), dataDir, pwFile), TOOL_TIMEOUT);
            if (!r.ok()) {
                throw new ManagedPostgresException("initdb of PostgreSQL data directory " + dataDir + " as OS user "
                        + as.user() + " failed:\n" + r.output().strip());
            }
        } finally {
            if (pwFile != null) {
                Files.deleteIfExists(pwFile);
            }
        }
    }

    private void checkAccess(RunAs as) throws IOException {
        if (!as.switchesUser() && !Files.isWritable(dataDir)) {
            throw new ManagedPostgresException("PostgreSQL data directory " + dataDir + " is not writable by OS user "
                    + as.user() + ": chown it or choose another database.datadir");
        }
        try {
            OsAccounts.checkAccess(dataDir, as);
        } catch (IllegalStateException e) {
            throw new ManagedPostgresException(e.getMessage());
        }
    }

    /** Writes our include file and hooks it into postgresql.conf; true when anything changed. */
    private boolean writeSettings() throws IOException {
        Path conf = dataDir.resolve("postgresql.conf");
        String current = Files.readString(conf, StandardCharsets.UTF_8);
        boolean changed = writeFile(conf, ServerSettings.withInclude(current));
        return writeFile(dataDir.resolve(ServerSettings.INCLUDE_FILE), settings.includeConf(port)) || changed;
    }

    /** Atomically replaces {@code file} when its content differs, owned by the server's user. */
    private boolean writeFile(Path file, String content) throws IOException {
        if (Files.isRegularFile(file) && Files.readString(file, StandardCharsets.UTF_8).equals(content)) {
            return false;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".mtm-tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        OsAccounts.handOverFile(tmp, account());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    private void startServer(boolean portChosenNow) throws IOException {
        for (int attempt = 1; ; attempt++) {
            long logSize = Files.isRegularFile(logFile()) ? Files.size(logFile()) : 0;
            ProcessRunner.Result r = runTool(ServerSettings.pgCtlStart(bin(), dataDir, timeoutSeconds()), toolTimeout());
            if (r.ok()) {
                LOG.info("started PostgreSQL {} on {}:{} as OS user {}", dataDir, settings.connectHost(), port, account().user());
                return;
            }
            boolean portTaken = newLogText(logSize).contains("could not bind") || newLogText(logSize).contains("Address already in use");
            if (portChosenNow && portTaken && attempt < PORT_ATTEMPTS) {
                int taken = port;
                port = freePort();
                LOG.info("port {} was taken meanwhile; PostgreSQL {} tries port {}", taken, dataDir, port);
                writeSettings();
                continue;
            }
            throw failure("pg_ctl start failed" + (portTaken ? " (port " + port + " is in use: set database.port to a free port)" : "")
                    + ": " + r.output().strip(), null);
        }
    }

    private String newLogText(long from) {
        try {
            byte[] all = Files.readAllBytes(logFile());
            return new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Waits until the server takes connections: an adopted server may still be in crash recovery. */
    private void awaitConnections() throws SQLException {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (true) {
            try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
                st.execute("SELECT 1");
                return;
            } catch (SQLException e) {
                String state = e.getSQLState() == null ? "" : e.getSQLState();
                boolean transientState = state.equals("57P03") || state.startsWith("08");
                if (state.equals("28P01") || state.equals("28000")) {
                    throw new ManagedPostgresException("PostgreSQL " + dataDir + " refused superuser " + settings.superuser()
                            + " (" + e.getMessage() + "): " + (passwordGenerated
                            ? "without database.password its password derives from cluster.secret, which must be the "
                              + "secret the server was set up with (a changed secret needs ALTER ROLE … PASSWORD with the "
                              + "new password, see mtm.pgpass in etc/, or database.password set to the stored one)"
                            : "database.password must match the password stored in the server (change it with ALTER ROLE)")
                            + " and database.user the superuser chosen at initdb", e);
                }
                if (!transientState || System.nanoTime() > deadline || !isRunning()) {
                    throw failure("PostgreSQL does not accept connections on " + endpoint() + ": " + e.getMessage(), e);
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ManagedPostgresException("interrupted while waiting for PostgreSQL " + dataDir);
            }
        }
    }

    private void ensureDatabase() throws SQLException {
        try (Connection c = connect("postgres")) {
            boolean exists;
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
                ps.setString(1, settings.database());
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            try (Statement st = c.createStatement()) {
                if (!exists) {
                    try {
                        st.execute("CREATE DATABASE " + quoteIdent(settings.database()));
                        LOG.info("created database {} in PostgreSQL {}", settings.database(), dataDir);
                    } catch (SQLException e) {
                        if (!"42P04".equals(e.getSQLState())) { // created meanwhile
                            throw e;
                        }
                    }
                }
                if (settings.authMethod().equals("md5")) {
                    rehashMd5(c, st);
                }
            }
        }
    }

    /** initdb stores a SCRAM verifier; md5 authentication needs the password stored as md5. */
    private void rehashMd5(Connection c, Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = current_user")) {
            if (rs.next() && rs.getBoolean(1)) {
                return;
            }
        }
        st.execute("SET password_encryption = 'md5'");
        st.execute("ALTER ROLE CURRENT_USER PASSWORD " + quoteLiteral(settings.password()));
    }

    // ---- helpers ----

    private Optional<PostmasterPid> runningServer() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            Path pidFile = dataDir.resolve(PostmasterPid.FILE);
            if (!Files.exists(pidFile) || postmaster().isEmpty()) {
                return Optional.empty();
            }
            Optional<PostmasterPid> pid = readPidFile();
            if (pid.isPresent() || System.nanoTime() > deadline) {
                return pid;
            }
            try {
                Thread.sleep(50); // the postmaster is still writing its lock file
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ManagedPostgresException("interrupted while reading " + pidFile);
            }
        }
    }

    /**
     * A postmaster that died but was not reaped yet (a zombie) still answers kill(pid, 0), so the new
     * server would take its lock file for a live one and refuse to start. It has exited: the lock is stale.
     */
    private void clearZombieLock() throws IOException {
        Optional<ProcessHandle> stale = readPidFile().flatMap(p -> ProcessHandle.of(p.pid()));
        if (stale.isPresent() && stale.get().isAlive() && !alive(stale.get()) && isOurPostmaster(stale.get())) {
            LOG.info("removing the lock file of exited postmaster {} of {} (not reaped yet)", stale.get().pid(), dataDir);
            Files.deleteIfExists(dataDir.resolve(PostmasterPid.FILE));
        }
    }

    private Optional<PostmasterPid> readPidFile() {
        try {
            return PostmasterPid.parse(Files.readString(dataDir.resolve(PostmasterPid.FILE), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The live postmaster of this data directory, checked against its command line where visible. */
    private Optional<ProcessHandle> postmaster() {
        return readPidFile()
                .flatMap(p -> ProcessHandle.of(p.pid()))
                .filter(ManagedPostgres::alive)
                .filter(this::isOurPostmaster);
    }

    private boolean isOurPostmaster(ProcessHandle h) {
        Optional<String> command = h.info().command();
        if (command.isPresent() && !command.get().endsWith("postgres")) {
            return false; // the pid was reused by another program
        }
        Optional<String[]> args = h.info().arguments();
        if (args.isPresent()) {
            String[] a = args.get();
            for (int i = 0; i + 1 < a.length; i++) {
                if (a[i].equals("-D")) {
                    return Path.of(a[i + 1]).toAbsolutePath().normalize().equals(dataDir);
                }
            }
        }
        return true;
    }

    /**
     * Alive and not a zombie: a killed postmaster is reparented to whatever reaps orphans here, which
     * may be slow to do so (or never, when a JVM is PID 1 of a container).
     */
    static boolean alive(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int close = stat.lastIndexOf(')');
            return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
        } catch (IOException e) {
            return h.isAlive(); // no /proc: trust the JDK
        }
    }

    private OptionalInt rememberedPort() {
        Path include = dataDir.resolve(ServerSettings.INCLUDE_FILE);
        try {
            return Files.isRegularFile(include) ? ServerSettings.portIn(Files.readString(include)) : OptionalInt.empty();
        } catch (IOException e) {
            return OptionalInt.empty();
        }
    }

    private int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(settings.connectHost()), 0));
            return s.getLocalPort();
        }
    }

    private ProcessRunner.Result runTool(List<String> argv, Duration timeout) throws IOException {
        return ProcessRunner.run(account().wrap(argv), null, timeout);
    }

    private int timeoutSeconds() {
        return (int) Math.max(1, startTimeout.toSeconds());
    }

    private Duration toolTimeout() {
        return startTimeout.plusSeconds(30);
    }

    private PostgresBinaries binaries() {
        PostgresBinaries b = binaries;
        if (b == null) {
            try {
                b = PostgresBinaries.locate(explicitBinDir);
            } catch (IllegalStateException e) {
                throw new ManagedPostgresException(e.getMessage(), e);
            }
            binaries = b;
        }
        return b;
    }

    private Path bin() {
        return binaries().binDir();
    }

    private RunAs account() {
        RunAs a = runAs;
        if (a == null) {
            try {
                a = OsAccounts.resolve(osUser);
            } catch (IllegalStateException e) {
                throw new ManagedPostgresException(e.getMessage(), e);
            }
            runAs = a;
        }
        return a;
    }

    private Conninfo conninfoOf(String database) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("host", settings.connectHost());
        m.put("port", Integer.toString(port()));
        m.put("dbname", database);
        m.put("user", settings.superuser());
        return Conninfo.of(m);
    }

    private Properties properties() {
        Properties p = new Properties();
        p.setProperty("user", settings.superuser());
        if (settings.password() != null) {
            p.setProperty("password", settings.password());
        }
        return p;
    }

    private static Connection open(String url, Properties p) throws SQLException {
        // the driver instance directly: DriverManager does not see bundle-private drivers under OSGi
        Connection c = DRIVER.connect(url, p);
        if (c == null) {
            throw new SQLException("pgjdbc does not accept URL " + url, "08001");
        }
        return c;
    }

    private ManagedPostgresException failure(String what, Throwable cause) {
        String message = what + (cause != null && !what.contains(String.valueOf(cause.getMessage())) ? ": " + cause.getMessage() : "")
                + "\n  data directory: " + dataDir + "\n  server log: " + logFile()
                + "\n  last lines of the server log:\n" + lastLogLines(LOG_TAIL_LINES).indent(4);
        return new ManagedPostgresException(message, cause);
    }

    static String quoteIdent(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    static String quoteLiteral(String value) {
        // standard_conforming_strings is on: only quotes need doubling
        return "'" + value.replace("'", "''") + "'";
    }

    /** Settings of a {@link ManagedPostgres}; see each method for its default. */
    public static final class Builder {
        private Path dataDir;
        private Path binDir;
        private String host = "127.0.0.1";
        private int port;
        private String superuser = "mtmuser";
        private String database = "mydb";
        private String password;
        private boolean passwordGenerated;
        private String authMethod;
        private int maxConnections = 100;
        private int maxNodes = 5;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private String osUser;
        private Duration startTimeout = Duration.ofMinutes(5);
        private String baseBackupFrom;
        private String logicalCopyFrom;

        private Builder() {
        }

        /**
         * A live node's conninfo: a new (empty) data directory is made with {@code pg_basebackup} from it instead of
         * initdb, recovered up to the backup's end and marked as waiting for {@code mtm.join_node}; null (default):
         * initdb.
         */
        public Builder baseBackupFrom(String conninfo) {
            this.baseBackupFrom = conninfo == null || conninfo.isBlank() ? null : conninfo.strip();
            return this;
        }

        /**
         * A live node's conninfo: a new data directory is made by initdb (this server's own major) and its database
         * filled from a pg_dump of that node at the snapshot of its slot for the new node, which then waits for
         * {@code mtm.join_node} (see {@link LogicalCopy}); null (default): an empty database.
         */
        public Builder logicalCopyFrom(String conninfo) {
            this.logicalCopyFrom = conninfo == null || conninfo.isBlank() ? null : conninfo.strip();
            return this;
        }

        /** Required. Created when missing and handed to the server's OS user. */
        public Builder dataDirectory(Path dir) {
            this.dataDir = Objects.requireNonNull(dir, "dataDirectory");
            return this;
        }

        /** PostgreSQL's bin directory; null (default) locates it. */
        public Builder binDirectory(Path dir) {
            this.binDir = dir;
            return this;
        }

        /** listen_addresses and the host clients use; default 127.0.0.1. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** 0 (default): a free port chosen at the first start and kept in the data directory. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /** The superuser created by initdb and used for every connection; default mtmuser. */
        public Builder superuser(String user) {
            this.superuser = Objects.requireNonNull(user, "superuser");
            return this;
        }

        /** The cluster database, created when missing; default mydb. */
        public Builder database(String name) {
            this.database = Objects.requireNonNull(name, "database");
            return this;
        }

        /** The superuser's password, stored at initdb; null or empty (default) for none. */
        public Builder password(String password) {
            this.password = password == null || password.isEmpty() ? null : password;
            return this;
        }

        /** The password is the one derived from cluster.secret (only changes what a refusal tells the operator). */
        public Builder passwordGenerated(boolean generated) {
            this.passwordGenerated = generated;
            return this;
        }

        /** pg_hba method: trust, md5 or scram-sha-256; default trust, or scram-sha-256 with a password. */
        public Builder authMethod(String method) {
            this.authMethod = method;
            return this;
        }

        /** max_connections; default 100. */
        public Builder maxConnections(int n) {
            this.maxConnections = n;
            return this;
        }

        /** Most nodes the cluster will have; max_prepared_transactions = maxConnections * maxNodes. Default 5. */
        public Builder maxNodes(int n) {
            this.maxNodes = n;
            return this;
        }

        /** An extra postgresql.conf setting (written after ours, so it can override them). */
        public Builder setting(String key, String value) {
            this.settings.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public Builder settings(Map<String, String> more) {
            more.forEach(this::setting);
            return this;
        }

        /** OS user of the server; null (default) = postgres for a root JVM, else the JVM's user. */
        public Builder osUser(String user) {
            this.osUser = user == null || user.isBlank() ? null : user;
            return this;
        }

        /** How long start may take (crash recovery included); default 5 minutes. */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout, "startTimeout");
            return this;
        }

        /** @throws IllegalArgumentException for an inconsistent configuration, saying which setting */
        public ManagedPostgres build() {
            if (dataDir == null) {
                throw new IllegalArgumentException("dataDirectory is required");
            }
            return new ManagedPostgres(this);
        }
    }
}
