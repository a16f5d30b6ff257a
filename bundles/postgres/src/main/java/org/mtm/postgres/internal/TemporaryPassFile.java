package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;

import org.mtm.api.Conninfo;

/**
 * This node's password for the client tools it runs as the server's OS user ({@code pg_basebackup}, {@code pg_dump},
 * {@code pg_restore}): every mtm server asks for one (scram-sha-256), and a password in a conninfo on the command line
 * would show in {@code ps}. A libpq password file only that user reads, beside the data directory, deleted on close.
 */
final class TemporaryPassFile implements AutoCloseable {
    private final Path file;

    private TemporaryPassFile(Path file) {
        this.file = file;
    }

    /** For {@code pg}'s own password; none (conninfos left as they are) when the server has no password. */
    static TemporaryPassFile of(ManagedPostgres pg) throws IOException {
        String password = pg.settings().password();
        if (password == null) {
            return new TemporaryPassFile(null);
        }
        Path dataDir = pg.dataDirectory();
        Path file = dataDir.resolveSibling("." + dataDir.getFileName() + ".pgpass-" + UUID.randomUUID());
        Files.writeString(Files.createFile(file, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------"))), PgPassFile.contents(pg.settings().superuser(), password));
        OsAccounts.handOverFile(file, pg.serverAccount());
        return new TemporaryPassFile(file);
    }

    /** {@code conninfo} with this file as its {@code passfile}, unless it carries a password of its own. */
    Conninfo dial(Conninfo conninfo) {
        return file == null || !conninfo.password().isEmpty() ? conninfo : conninfo.with("passfile", file.toString());
    }

    @Override
    public void close() throws IOException {
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }
}
