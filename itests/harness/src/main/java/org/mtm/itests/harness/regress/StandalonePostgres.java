package org.mtm.itests.harness.regress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.mtm.itests.harness.FreePorts;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Postmaster;

/**
 * One plain PostgreSQL server beside a cluster, to compare with: initdb with the flags of the managed bundle
 * (superuser {@link KarafNode#DATABASE_USER}, UTF8, no locale), the server settings it is given (the nodes' own), and
 * the database {@link KarafNode#DATABASE} made from template0 with the cluster database's encoding and locale.
 * PostgreSQL refuses to run as root: as root, the server programs run as OS user postgres.
 */
public final class StandalonePostgres implements AutoCloseable {
    private final Path datadir;
    private final int port;

    private StandalonePostgres(Path datadir, int port) {
        this.datadir = datadir;
        this.port = port;
    }

    /**
     * Creates and starts the server in {@code home/data} ({@code home} must be reachable by OS user postgres), with
     * {@code settings} in postgresql.conf (listen address, port and socket directory are this class's), and creates
     * the database with {@code encoding}, {@code collate} and {@code ctype}.
     */
    public static StandalonePostgres start(Path home, Map<String, String> settings, String encoding, String collate, String ctype) {
        Path datadir = home.resolve("data");
        try {
            Files.createDirectories(datadir);
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(datadir, PosixFilePermissions.fromString("rwx------"));
            ownedByPostgres(datadir);
            run(Duration.ofMinutes(3), PgTools.BIN.resolve("initdb").toString(), "--pgdata=" + datadir,
                "--username=" + KarafNode.DATABASE_USER, "--encoding=UTF8", "--no-locale", "--auth=trust");
            int port = FreePorts.take(1)[0];
            StringBuilder conf = new StringBuilder("\n# standalone server of the regression differential\n");
            settings.forEach((name, value) -> conf.append(name).append(" = '").append(value.replace("'", "''")).append("'\n"));
            conf.append("listen_addresses = '127.0.0.1'\nport = ").append(port).append("\nunix_socket_directories = ''\n");
            Files.writeString(datadir.resolve("postgresql.conf"), conf, StandardOpenOption.APPEND);
            run(Duration.ofMinutes(2), PgTools.BIN.resolve("pg_ctl").toString(), "start", "--pgdata=" + datadir,
                "--log=" + datadir.resolve("server.log"), "--wait", "--timeout=90", "--silent");
            StandalonePostgres server = new StandalonePostgres(datadir, port);
            PgTools.Result created = PgTools.run(List.of(PgTools.BIN.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1",
                "-d", "host=127.0.0.1 port=" + port + " dbname=postgres user=" + KarafNode.DATABASE_USER, "-c",
                "CREATE DATABASE " + KarafNode.DATABASE + " TEMPLATE template0 ENCODING '" + encoding + "' LC_COLLATE '" + collate
                    + "' LC_CTYPE '" + ctype + "'"), null, Duration.ofMinutes(1));
            if (!created.ok()) {
                server.close();
                throw new IllegalStateException("CREATE DATABASE on the standalone server: " + created);
            }
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set up a standalone PostgreSQL in " + home, e);
        }
    }

    public int port() {
        return port;
    }

    public Path datadir() {
        return datadir;
    }

    @Override
    public void close() {
        Postmaster.stop(datadir, Duration.ofSeconds(20));
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void ownedByPostgres(Path dir) throws IOException {
        if (root()) {
            Files.setOwner(dir, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
        }
    }

    private static void run(Duration timeout, String... command) {
        List<String> argv = new ArrayList<>();
        if (root()) {
            argv.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        argv.addAll(List.of(command));
        PgTools.Result result = PgTools.run(argv, null, timeout);
        if (!result.ok()) {
            throw new IllegalStateException(String.join(" ", argv) + ": " + result);
        }
    }
}
