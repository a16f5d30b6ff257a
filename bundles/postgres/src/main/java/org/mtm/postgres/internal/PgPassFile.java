package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * {@code etc/mtm.pgpass}: the managed server's password in libpq's password-file format, readable by Karaf's OS user
 * only. pgjdbc in this JVM reads it ({@value #PGJDBC_PROPERTY}) for every connection whose conninfo has no password —
 * the peers' servers, whose password is the same when it derives from the shared cluster.secret — and an operator
 * points psql at it with {@code PGPASSFILE}.
 */
final class PgPassFile {
    static final String FILE_NAME = "mtm.pgpass";
    static final String PGJDBC_PROPERTY = "org.postgresql.pgpassfile";

    private PgPassFile() {
    }

    /** The file's text: any host, port and database, {@code user}'s password. */
    static String contents(String user, String password) {
        return "# Written by mtm at every start (PID org.mtm.node): the password of database.user, for pgjdbc in this node\n"
                + "# (connections to peers) and for psql (PGPASSFILE=<this file>). Edits here are lost.\n"
                + "*:*:*:" + escape(user) + ":" + escape(password) + "\n";
    }

    /** libpq's escaping of a password-file field: backslash and colon. */
    static String escape(String field) {
        return field.replace("\\", "\\\\").replace(":", "\\:");
    }

    /** Writes the file atomically, mode 600 from the start. */
    static void write(Path file, String user, String password) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, contents(user, password), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
