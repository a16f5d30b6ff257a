package org.mtm.itests.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The assembled distribution ships no known console password: its etc/users.properties gives user karaf none,
 * the first run of its scripts (bin/setenv, sourced by bin/karaf, bin/start, bin/client) generates one into that
 * file (mode 600) and says where, and bin/karaf refuses to start while the password is "karaf". Logging in with the
 * generated password is what every other cluster test does ({@code KarafNode.consolePassword()}).
 */
public class ConsolePasswordIT {
    private static final Pattern GENERATED = Pattern.compile("(?m)^karaf = ([0-9a-f]{36}),_g_:admingroup$");

    @Rule
    public final TemporaryFolder dir = new TemporaryFolder();

    private Path unpack() throws Exception {
        Path home = dir.newFolder().toPath();
        run(home, "tar", "xzf", System.getProperty("mtm.assembly"), "-C", home.toString(), "--strip-components=1");
        return home;
    }

    private record Ran(int exit, String output) { }

    private static Ran run(Path home, String... command) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command).directory(home.toFile()).redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        b.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(String.join(" ", command) + " did not end", p.waitFor(60, TimeUnit.SECONDS));
        return new Ran(p.exitValue(), out);
    }

    @Test
    public void shippedWithoutAPasswordAndTheFirstRunGeneratesOne() throws Exception {
        Path home = unpack();
        Path users = home.resolve("etc/users.properties");
        List<String> shipped = Files.readAllLines(users);
        assertFalse("the distribution gives user karaf no password: " + shipped,
            shipped.stream().anyMatch(l -> l.matches("^\\s*karaf\\s*[=:].*")));

        Ran first = run(home, home.resolve("bin/status").toString());
        assertTrue(first.output(), first.output().contains("generated the password of console user karaf"));
        assertTrue("says where it is: " + first.output(), first.output().contains("etc/users.properties"));
        String written = Files.readString(users);
        Matcher m = GENERATED.matcher(written);
        assertTrue(written, m.find());
        String password = m.group(1);
        assertEquals("readable by this user only", "rw-------",
            PosixFilePermissions.toString(Files.getPosixFilePermissions(users)));

        Ran again = run(home, home.resolve("bin/status").toString());
        assertFalse(again.output(), again.output().contains("generated"));
        assertEquals("kept once generated", written, Files.readString(users));

        Path other = unpack();
        run(other, other.resolve("bin/status").toString());
        Matcher m2 = GENERATED.matcher(Files.readString(other.resolve("etc/users.properties")));
        assertTrue(m2.find());
        assertNotEquals("each distribution gets its own", password, m2.group(1));
    }

    @Test
    public void karafDoesNotStartWithTheWellKnownPassword() throws Exception {
        Path home = unpack();
        Path users = home.resolve("etc/users.properties");
        Files.writeString(users, "karaf = karaf,_g_:admingroup\n", StandardCharsets.UTF_8,
            java.nio.file.StandardOpenOption.APPEND);
        Ran start = run(home, home.resolve("bin/karaf").toString(), "server");
        assertEquals(start.output(), 1, start.exit());
        assertTrue(start.output(), start.output().contains("refusing to start")
            && start.output().contains("well-known password \"karaf\""));
        assertFalse("Karaf never ran", Files.exists(home.resolve("data/cache")));
    }
}
