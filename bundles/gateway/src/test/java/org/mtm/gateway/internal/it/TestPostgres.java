package org.mtm.gateway.internal.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.Properties;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.rules.ExternalResource;
import org.mtm.api.Endpoint;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;

/**
 * A real PostgreSQL 15 for one test class ({@code @ClassRule}), in a temp directory the server's OS user can
 * traverse (the JVM may run as root; the server then runs as {@code postgres}).
 */
public final class TestPostgres extends ExternalResource {
    public static final String USER = "mtmuser";
    public static final String DATABASE = "mydb";

    private final UnaryOperator<ManagedPostgres.Builder> options;
    private Path dir;
    private ManagedPostgres pg;

    public TestPostgres() {
        this(b -> b);
    }

    public TestPostgres(UnaryOperator<ManagedPostgres.Builder> options) {
        this.options = options;
    }

    @Override
    protected void before() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "mtm-gateway-test-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        pg = options.apply(ManagedPostgres.builder()
                .dataDirectory(dir.resolve("data"))
                .host("127.0.0.1")
                .port(0)
                .superuser(USER)
                .database(DATABASE)
                .maxConnections(60)
                .maxNodes(2)
                .setting("shared_buffers", "32MB")
                .setting("fsync", "off")
                .setting("synchronous_commit", "off"))
                .build();
        pg.start();
        try {
            new JdbcClusterCatalog(pg).deactivate(); // the mtm schema, as the node's postgres bundle installs it
        } catch (SQLException e) {
            throw new IOException("cannot install the mtm schema: " + e.getMessage(), e);
        }
    }

    @Override
    protected void after() {
        try {
            if (pg != null) {
                pg.stop();
            }
        } catch (RuntimeException e) {
            pg.kill();
        }
        if (dir != null) {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // best effort
            }
        }
    }

    public ManagedPostgres server() {
        return pg;
    }

    public Endpoint endpoint() {
        return pg.endpoint();
    }

    /** A direct connection (not through the gateway) as the superuser. */
    public Connection direct() throws SQLException {
        return pg.connect();
    }

    public static Connection connect(Endpoint at, Properties props) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.putAll(props);
        return DriverManager.getConnection("jdbc:postgresql://" + at.host() + ":" + at.port() + "/" + DATABASE, p);
    }

    public static Connection connect(Endpoint at) throws SQLException {
        return connect(at, new Properties());
    }

    /** With pgjdbc properties given as key, value, key, value… */
    public static Connection connect(Endpoint at, String... keysAndValues) throws SQLException {
        Properties p = new Properties();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            p.setProperty(keysAndValues[i], keysAndValues[i + 1]);
        }
        return connect(at, p);
    }
}
