package org.mtm.itests.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.After;
import org.junit.Test;

public class PostgresVersionsTest {

    @After
    public void clearProperties() {
        System.clearProperty("mtm.pg.major");
        System.clearProperty("mtm.pg.majors");
    }

    @Test
    public void theSystemsFifteenIsLeftToTheNode() {
        assertNull(PostgresVersions.binDir(15));
        assertEquals(15, PostgresVersions.majorOf(1));
    }

    @Test
    public void sixteenAndSeventeenRunFromTheBinariesTheBuildResolved() throws Exception {
        assertTrue(version(PostgresVersions.binDir(16)).startsWith("postgres (PostgreSQL) 16.10"));
        assertTrue(version(PostgresVersions.binDir(17)).startsWith("postgres (PostgreSQL) 17.6"));
        // unpacked once: the second call finds them
        assertEquals(PostgresVersions.binDir(17), PostgresVersions.binDir(17));
    }

    @Test
    public void aMixedClusterGivesNodeIItsMajor() {
        System.setProperty("mtm.pg.majors", "15, 16,17");
        assertEquals(15, PostgresVersions.majorOf(1));
        assertEquals(16, PostgresVersions.majorOf(2));
        assertEquals(17, PostgresVersions.majorOf(3));
        assertEquals(15, PostgresVersions.majorOf(4));
        assertEquals(3, KarafNode.indexOf("node3"));
        assertEquals(1, KarafNode.indexOf("referee"));
    }

    @Test
    public void aMajorTheTestsCannotRunIsRefusedByName() {
        System.setProperty("mtm.pg.major", "14");
        try {
            PostgresVersions.majorOf(1);
            fail("14 accepted");
        } catch (IllegalArgumentException e) {
            assertEquals("mtm.pg.major/mtm.pg.majors: '14' is not a PostgreSQL major the tests can run; use 15, 16 or 17",
                e.getMessage());
        }
    }

    private static String version(Path bin) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(bin.resolve("postgres").toString(), "--version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(out, 0, p.waitFor());
        return out;
    }
}
