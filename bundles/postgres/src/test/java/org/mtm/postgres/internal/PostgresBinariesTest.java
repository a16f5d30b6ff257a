package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.OptionalInt;
import org.junit.Rule;
import org.junit.Test;

public class PostgresBinariesTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    @Test
    public void versionOutputIsParsed() {
        assertEquals(OptionalInt.of(15), PostgresBinaries.majorVersion("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"));
        assertEquals(OptionalInt.of(17), PostgresBinaries.majorVersion("postgres (PostgreSQL) 17beta1"));
        assertEquals(OptionalInt.of(9), PostgresBinaries.majorVersion("postgres (PostgreSQL) 9.6.24"));
        assertEquals(OptionalInt.empty(), PostgresBinaries.majorVersion("bash: postgres: not found"));
    }

    @Test
    public void debianDirectoriesNewestFirstFromFifteen() {
        assertEquals(List.of("17", "16", "15"), PostgresBinaries.usableVersionDirs(List.of("13", "15", "17", "16", "14", "lib")));
        assertEquals(List.of(), PostgresBinaries.usableVersionDirs(List.of("13", "14")));
    }

    @Test
    public void locatesTheMachinesPostgresql15() {
        PostgresBinaries b = PostgresBinaries.locate(null);
        assertTrue(b.major() >= 15);
        assertTrue(b.version(), b.version().contains("PostgreSQL"));
        assertEquals(List.of(), PostgresBinaries.missingPrograms(b.binDir()));
        // /usr/local/bin/pg_ctl here is only a symlink into the Debian tree; we resolve through pg_config
        assertEquals(Path.of("/usr/lib/postgresql/15/bin"), b.binDir());
        assertEquals(b.binDir(), PostgresBinaries.locate(Path.of("/usr/lib/postgresql/15/bin")).binDir());
    }

    @Test
    public void explicitDirectoryWithoutProgramsIsNamed() throws Exception {
        Path empty = dirs.newDir();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PostgresBinaries.locate(empty));
        assertTrue(e.getMessage(), e.getMessage().contains(empty.toString()) && e.getMessage().contains("[initdb, pg_ctl, postgres]"));
    }

    @Test
    public void olderPostgresqlIsRefused() throws Exception {
        Path bin = dirs.newDir();
        for (String p : PostgresBinaries.PROGRAMS) {
            Path f = bin.resolve(p);
            Files.writeString(f, "#!/bin/sh\necho 'postgres (PostgreSQL) 14.11'\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PostgresBinaries.locate(bin));
        assertTrue(e.getMessage(), e.getMessage().contains("holds PostgreSQL 14 but mtm needs 15 or newer"));
    }
}
