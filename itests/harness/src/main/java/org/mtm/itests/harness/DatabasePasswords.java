package org.mtm.itests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The password of {@link KarafNode#DATABASE_USER} by loopback port (each node's gateway and PostgreSQL): a managed
 * server trusts nobody, not even the loopback, so {@link Sql} and the client programs of {@link PgTools} pass it —
 * pgjdbc as a property, psql and pgbench through a password file ({@code PGPASSFILE}) the harness keeps.
 */
public final class DatabasePasswords {
    private static final Map<Integer, String> BY_PORT = new LinkedHashMap<>();
    private static String latest;
    private static Path file;

    private DatabasePasswords() {
    }

    public static synchronized void register(String password, int... ports) {
        for (int port : ports) {
            BY_PORT.put(port, password);
        }
        latest = password;
        writeFile();
    }

    /** The password for a port; a port no node registered (a test's proxy, say) gets the last one registered. */
    public static synchronized String forPort(int port) {
        return BY_PORT.getOrDefault(port, latest);
    }

    /** libpq's password file with every registered port, for {@code PGPASSFILE}; null before any node exists. */
    public static synchronized Path pgpassFile() {
        return file;
    }

    private static void writeFile() {
        StringBuilder b = new StringBuilder();
        BY_PORT.forEach((port, password) -> {
            for (String host : new String[] {"127.0.0.1", "localhost"}) {
                b.append(host).append(':').append(port).append(":*:").append(KarafNode.DATABASE_USER).append(':')
                    .append(password.replace("\\", "\\\\").replace(":", "\\:")).append('\n');
            }
        });
        b.append("*:*:*:").append(KarafNode.DATABASE_USER).append(':').append(latest.replace("\\", "\\\\").replace(":", "\\:")).append('\n');
        try {
            if (file == null) {
                file = Files.createTempFile("mtm-itests-", ".pgpass", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
                file.toFile().deleteOnExit();
            }
            Files.writeString(file, b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the test clients' password file", e);
        }
    }
}
