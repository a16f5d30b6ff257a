package org.mtm.applier.internal.pgoutput;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;

/**
 * Captures the golden pgoutput messages under {@code src/test/resources/pgoutput/} from a real,
 * throwaway PostgreSQL 15. Run by hand (not a test); the output is committed and read by
 * {@link PgOutputGoldenTest}:
 *
 * <pre>
 * cd bundles/applier &amp;&amp; mvn -B -o -q test-compile &amp;&amp; \
 * java -cp target/classes:target/test-classes:$HOME/.m2/repository/org/postgresql/postgresql/42.7.14/postgresql-42.7.14.jar \
 *      org.mtm.applier.internal.pgoutput.GoldenCapture src/test/resources/pgoutput
 * </pre>
 *
 * <p>It initdb's a cluster in a new {@code /tmp/mtm-golden-*} directory (as OS user {@code postgres} via
 * {@code runuser} when run as root, since PostgreSQL refuses root), starts it on a free 127.0.0.1 port
 * from 55432 up with {@code wal_level=logical} and {@code logical_decoding_work_mem=64kB}, runs three
 * workloads, streams each slot with pgjdbc's replication API and writes one {@code NNN-Type.bin} file per
 * message (the bytes {@code PGReplicationStream.read()} returned) plus {@code index.txt}, then stops the
 * server and deletes the directory. Sets: {@code text/} (proto 3, two_phase, messages), {@code binary/}
 * (same workload, {@code binary 'true'}), {@code streaming/} (large transactions, {@code streaming 'on'}).
 *
 * <p>Each workload step is announced by a non-transactional logical message with prefix
 * {@code golden.step} whose content names the step; {@code golden.end} ends a set. The tests use these
 * to find the messages of a step.
 */
public final class GoldenCapture {

    static final String PUBLICATION = "golden_pub";
    private static final Path DEFAULT_BIN = Path.of("/usr/lib/postgresql/15/bin");
    private static final long READ_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(60);

    private GoldenCapture() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "src/test/resources/pgoutput").toAbsolutePath();
        Path bin = Path.of(System.getProperty("pg.bin", DEFAULT_BIN.toString()));
        try (ThrowawayServer server = ThrowawayServer.start(bin)) {
            String url = "jdbc:postgresql://127.0.0.1:" + server.port + "/postgres";
            try (Connection sql = DriverManager.getConnection(url, "postgres", "")) {
                schema(sql);
                exec(sql, "SELECT pg_create_logical_replication_slot('golden', 'pgoutput', false, true)");
                exec(sql, "SELECT pg_create_logical_replication_slot('golden_binary', 'pgoutput', false, true)");
                try (Connection originSession = DriverManager.getConnection(url, "postgres", "")) {
                    mainWorkload(sql, originSession);
                }
                step(sql, "golden.end", "main");
                capture(url, "golden", Map.of(), out.resolve("text"));
                capture(url, "golden_binary", Map.of("binary", "true"), out.resolve("binary"));
                exec(sql, "SELECT pg_drop_replication_slot('golden')");
                exec(sql, "SELECT pg_drop_replication_slot('golden_binary')");

                exec(sql, "SELECT pg_create_logical_replication_slot('golden_stream', 'pgoutput', false, true)");
                streamingWorkload(sql);
                step(sql, "golden.end", "streaming");
                capture(url, "golden_stream", Map.of("streaming", "on"), out.resolve("streaming"));
                exec(sql, "SELECT pg_drop_replication_slot('golden_stream')");
            }
        }
        System.out.println("golden messages written under " + out);
    }

    private static void schema(Connection sql) throws SQLException {
        exec(sql, "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES");
        exec(sql, "CREATE SCHEMA app");
        exec(sql, "CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy')");
        exec(sql, "CREATE TABLE items (id int PRIMARY KEY, name text, qty int, price numeric(10,2), note text,"
                + " created timestamptz)");
        exec(sql, "CREATE TABLE items_full (id int, v text)");
        exec(sql, "ALTER TABLE items_full REPLICA IDENTITY FULL");
        exec(sql, "CREATE TABLE by_index (a int NOT NULL, b int NOT NULL, c text)");
        exec(sql, "CREATE UNIQUE INDEX by_index_ab ON by_index (a, b)");
        exec(sql, "ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_ab");
        exec(sql, "CREATE TABLE app.moods (id int PRIMARY KEY, m app.mood, tags text[])");
        exec(sql, "CREATE TABLE docs (id int PRIMARY KEY, title text, body text)");
        exec(sql, "ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL"); // out of line, uncompressed
        exec(sql, "CREATE TABLE bulk (id int PRIMARY KEY, payload text)");
        exec(sql, "CREATE TABLE side (id int)");
    }

    /** Every message kind except the streaming ones. */
    private static void mainWorkload(Connection sql, Connection originSession) throws SQLException {
        step(sql, "golden.step", "insert");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO items VALUES (1, 'apple', 3, 1.50, NULL, '2024-01-02 03:04:05.123456+00')");
        exec(sql, "INSERT INTO items VALUES (2, 'pear', 7, 0.25, 'with ''quote'', tab\tand ünïcode',"
                + " '2024-01-02 03:04:06+00')");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "insert-nulls");
        exec(sql, "INSERT INTO items VALUES (3, NULL, NULL, NULL, NULL, NULL)");

        step(sql, "golden.step", "update-key");
        exec(sql, "UPDATE items SET id = 10, qty = 4 WHERE id = 1");

        step(sql, "golden.step", "update-nokey");
        exec(sql, "UPDATE items SET qty = qty + 1 WHERE id = 2");

        step(sql, "golden.step", "delete-key");
        exec(sql, "DELETE FROM items WHERE id = 10");

        step(sql, "golden.step", "identity-full");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO items_full VALUES (1, 'one')");
        exec(sql, "UPDATE items_full SET v = 'uno' WHERE id = 1");
        exec(sql, "DELETE FROM items_full WHERE id = 1");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "identity-index");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO by_index VALUES (1, 2, 'x')");
        exec(sql, "UPDATE by_index SET a = 5 WHERE a = 1");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "enum-type");
        exec(sql, "INSERT INTO app.moods VALUES (1, 'happy', '{a,b}')");

        step(sql, "golden.step", "toast-insert");
        exec(sql, "INSERT INTO docs SELECT 1, 'title', string_agg(md5(g::text), '' ORDER BY g)"
                + " FROM generate_series(1, 300) g");

        step(sql, "golden.step", "toast-update");
        exec(sql, "UPDATE docs SET title = 'retitled' WHERE id = 1");

        step(sql, "golden.step", "truncate");
        exec(sql, "INSERT INTO side VALUES (1)");
        exec(sql, "TRUNCATE items_full, by_index RESTART IDENTITY CASCADE");

        step(sql, "golden.step", "message-transactional");
        exec(sql, "BEGIN");
        exec(sql, "SELECT pg_logical_emit_message(true, 'mtm.ddl', 'CREATE TABLE t (a int)')");
        exec(sql, "SELECT pg_logical_emit_message(true, 'mtm.bin', '\\x00ff10'::bytea)");
        exec(sql, "INSERT INTO items VALUES (4, 'after message', 1, 1, NULL, NULL)");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "message-nontransactional");
        exec(sql, "SELECT pg_logical_emit_message(false, 'mtm.nontx', 'outside any transaction')");

        step(sql, "golden.step", "prepare-commit");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO items VALUES (100, 'two-phase', 1, 1, NULL, NULL)");
        exec(sql, "PREPARE TRANSACTION 'MTM-1-100-1'");
        step(sql, "golden.step", "commit-prepared");
        exec(sql, "COMMIT PREPARED 'MTM-1-100-1'");

        step(sql, "golden.step", "prepare-rollback");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO items VALUES (101, 'rolled back', 1, 1, NULL, NULL)");
        exec(sql, "PREPARE TRANSACTION 'MTM-1-101-1'");
        step(sql, "golden.step", "rollback-prepared");
        exec(sql, "ROLLBACK PREPARED 'MTM-1-101-1'");

        // as the applier does: apply a peer's transaction under that peer's replication origin
        exec(sql, "SELECT pg_replication_origin_create('mtm_node_2')");
        exec(originSession, "SELECT pg_replication_origin_session_setup('mtm_node_2')");
        step(sql, "golden.step", "origin");
        exec(originSession, "BEGIN");
        exec(originSession, "SELECT pg_replication_origin_xact_setup('0/1A2B3C4D', '2024-05-06 07:08:09+00')");
        exec(originSession, "INSERT INTO items VALUES (200, 'from node 2', 1, 1, NULL, NULL)");
        exec(originSession, "COMMIT");

        step(sql, "golden.step", "origin-prepare");
        exec(originSession, "BEGIN");
        exec(originSession, "SELECT pg_replication_origin_xact_setup('0/1A2B3E00', '2024-05-06 07:08:10+00')");
        exec(originSession, "INSERT INTO items VALUES (201, 'prepared from node 2', 1, 1, NULL, NULL)");
        exec(originSession, "PREPARE TRANSACTION 'MTM-2-201-1'");
        step(sql, "golden.step", "origin-commit-prepared");
        exec(originSession, "COMMIT PREPARED 'MTM-2-201-1'");
        exec(originSession, "SELECT pg_replication_origin_session_reset()");
    }

    /** Transactions larger than logical_decoding_work_mem (64kB): ~1.8kB rows, 60 per transaction. */
    private static void streamingWorkload(Connection sql) throws SQLException {
        String rows = "SELECT g, repeat(md5(g::text), 56) FROM generate_series(%d, %d) g";

        step(sql, "golden.step", "stream-commit");
        exec(sql, "BEGIN");
        exec(sql, "SELECT pg_logical_emit_message(true, 'mtm.ddl', 'inside a streamed transaction')");
        exec(sql, "INSERT INTO bulk " + String.format(rows, 1, 60));
        exec(sql, "UPDATE bulk SET payload = 'short' WHERE id = 1");
        exec(sql, "DELETE FROM bulk WHERE id = 2");
        exec(sql, "INSERT INTO side VALUES (2)");
        exec(sql, "TRUNCATE side");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "stream-abort");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO bulk " + String.format(rows, 1001, 1060));
        exec(sql, "ROLLBACK");

        step(sql, "golden.step", "stream-subabort");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO bulk VALUES (2000, 'before savepoint')");
        exec(sql, "SAVEPOINT s1");
        exec(sql, "INSERT INTO bulk " + String.format(rows, 2001, 2060));
        exec(sql, "ROLLBACK TO SAVEPOINT s1");
        exec(sql, "INSERT INTO bulk VALUES (2100, 'after savepoint')");
        exec(sql, "COMMIT");

        step(sql, "golden.step", "stream-prepare");
        exec(sql, "BEGIN");
        exec(sql, "INSERT INTO bulk " + String.format(rows, 3001, 3060));
        exec(sql, "PREPARE TRANSACTION 'MTM-1-300-1'");
        step(sql, "golden.step", "stream-commit-prepared");
        exec(sql, "COMMIT PREPARED 'MTM-1-300-1'");
    }

    private static void step(Connection sql, String prefix, String name) throws SQLException {
        exec(sql, "SELECT pg_logical_emit_message(false, '" + prefix + "', '" + name + "')");
    }

    private static void exec(Connection c, String statement) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /** Streams {@code slot} until the golden.end message and writes every message to {@code dir}. */
    private static void capture(String url, String slot, Map<String, String> extraOptions, Path dir) throws Exception {
        Files.createDirectories(dir);
        try (Stream<Path> old = Files.list(dir)) {
            for (Path p : (Iterable<Path>) old::iterator) {
                if (p.getFileName().toString().endsWith(".bin") || p.getFileName().toString().equals("index.txt")) {
                    Files.delete(p);
                }
            }
        }
        Properties props = new Properties();
        PGProperty.USER.set(props, "postgres");
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        StringBuilder index = new StringBuilder();
        index.append("# pgoutput messages captured by GoldenCapture from PostgreSQL 15, slot ").append(slot)
                .append(", options proto_version=3 publication_names=").append(PUBLICATION)
                .append(" two_phase=on messages=true");
        extraOptions.forEach((k, v) -> index.append(' ').append(k).append('=').append(v));
        index.append("\n# file\ttype\tlsn\tstep\tdecoded\n");
        Map<String, Integer> counts = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(url, props)) {
            ChainedLogicalStreamBuilder builder = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                    .logical().withSlotName(slot)
                    .withSlotOption("proto_version", "3")
                    .withSlotOption("publication_names", PUBLICATION)
                    .withSlotOption("two_phase", "on")
                    .withSlotOption("messages", "true")
                    .withStatusInterval(1, TimeUnit.SECONDS);
            extraOptions.forEach(builder::withSlotOption);
            PgOutputDecoder decoder = new PgOutputDecoder();
            String step = "-";
            long deadline = System.nanoTime() + READ_DEADLINE_NANOS;
            try (PGReplicationStream stream = builder.start()) {
                for (int n = 1; ; n++) {
                    ByteBuffer buffer = readWithDeadline(stream, deadline, slot);
                    byte[] bytes = new byte[buffer.remaining()];
                    buffer.duplicate().get(bytes);
                    String described;
                    String typeName;
                    boolean end = false;
                    try {
                        PgOutputMessage m = decoder.decode(buffer);
                        typeName = m.getClass().getSimpleName();
                        described = m.toString();
                        if (m instanceof PgOutputMessage.LogicalMessage lm && lm.prefix().equals("golden.step")) {
                            step = lm.contentText();
                        }
                        end = m instanceof PgOutputMessage.LogicalMessage lm && lm.prefix().equals("golden.end");
                    } catch (PgOutputFormatException e) {
                        typeName = "Undecodable";
                        described = "UNDECODABLE: " + e.getMessage();
                        System.err.println(slot + " message " + n + ": " + described);
                    }
                    String file = String.format("%03d-%s.bin", n, typeName);
                    Files.write(dir.resolve(file), bytes);
                    index.append(file).append('\t').append((char) (bytes[0] & 0xFF)).append('\t')
                            .append(stream.getLastReceiveLSN().asString()).append('\t').append(step).append('\t')
                            .append(described.replace('\t', ' ').replace('\n', ' ')).append('\n');
                    counts.merge(typeName, 1, Integer::sum);
                    if (end) {
                        break;
                    }
                }
            }
        }
        Files.writeString(dir.resolve("index.txt"), index.toString(), StandardCharsets.UTF_8);
        System.out.println(slot + " -> " + dir + ": " + counts);
    }

    private static ByteBuffer readWithDeadline(PGReplicationStream stream, long deadline, String slot)
            throws SQLException, InterruptedException {
        while (true) {
            ByteBuffer buffer = stream.readPending();
            if (buffer != null) {
                return buffer;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("slot " + slot + ": no golden.end message within "
                        + TimeUnit.NANOSECONDS.toSeconds(READ_DEADLINE_NANOS) + "s; see the server log");
            }
            Thread.sleep(10); // a poll with a deadline (see the loop's condition)
        }
    }

    /** A PostgreSQL cluster in a fresh /tmp directory, deleted on close. */
    static final class ThrowawayServer implements AutoCloseable {
        final Path dir;
        final Path data;
        final Path bin;
        final int port;
        final boolean asPostgres;

        private ThrowawayServer(Path dir, Path bin, int port, boolean asPostgres) {
            this.dir = dir;
            this.data = dir.resolve("data");
            this.bin = bin;
            this.port = port;
            this.asPostgres = asPostgres;
        }

        static ThrowawayServer start(Path bin) throws IOException, InterruptedException {
            boolean root = "root".equals(System.getProperty("user.name"));
            ThrowawayServer s = new ThrowawayServer(Files.createTempDirectory("mtm-golden-"), bin, freePort(), root);
            try {
                if (root) {
                    run(List.of("chown", "postgres:postgres", s.dir.toString()), false);
                }
                s.pg("initdb", "-D", s.data.toString(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                        "--no-sync");
                String conf = "\n# GoldenCapture\n"
                        + "listen_addresses = '127.0.0.1'\n"
                        + "port = " + s.port + "\n"
                        + "unix_socket_directories = '" + s.dir + "'\n"
                        + "wal_level = logical\n"
                        + "max_prepared_transactions = 10\n"
                        + "max_wal_senders = 10\n"
                        + "max_replication_slots = 10\n"
                        + "wal_sender_timeout = 0\n"
                        + "logical_decoding_work_mem = '64kB'\n"
                        + "timezone = 'UTC'\n"
                        + "fsync = off\n";
                s.pg("sh", "-c", "cat >> '" + s.data.resolve("postgresql.conf") + "' <<'EOF'\n" + conf + "EOF\n");
                s.pg(s.bin.resolve("pg_ctl").toString(), "-D", s.data.toString(), "-l", s.dir.resolve("server.log").toString(),
                        "-w", "-t", "60", "start");
                return s;
            } catch (IOException | RuntimeException | InterruptedException e) {
                s.close();
                throw e;
            }
        }

        /** Runs a PostgreSQL binary (or a shell line) as the server's OS user. */
        void pg(String program, String... args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>();
            if (asPostgres) {
                cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
            }
            cmd.add(program.contains("/") || program.equals("sh") ? program : bin.resolve(program).toString());
            cmd.addAll(List.of(args));
            run(cmd, false);
        }

        @Override
        public void close() throws IOException, InterruptedException {
            try {
                if (Files.exists(data.resolve("postmaster.pid"))) {
                    pg(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop");
                }
            } finally {
                try (Stream<Path> walk = Files.walk(dir)) {
                    for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                        Files.delete(p);
                    }
                }
            }
        }

        private static int freePort() throws IOException {
            for (int port = 55432; port < 55632; port++) {
                try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                    return port;
                } catch (IOException inUse) {
                    // next
                }
            }
            throw new IOException("no free port in 55432..55631 on 127.0.0.1");
        }
    }

    private static void run(List<String> cmd, boolean quiet) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] output;
        try (InputStream in = p.getInputStream()) {
            output = in.readAllBytes();
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + cmd);
        }
        if (p.exitValue() != 0) {
            throw new IOException("failed (exit " + p.exitValue() + "): " + cmd + "\n" + new String(output, StandardCharsets.UTF_8));
        }
        if (!quiet && output.length > 0) {
            System.out.print(new String(output, StandardCharsets.UTF_8));
        }
    }
}
