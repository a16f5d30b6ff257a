package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.Test;

public class ServerSettingsTest {
    private static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    private static final Path DATA = Path.of("/srv/pg/data");

    private static ServerSettings settings(String password, String method, Map<String, String> extra) {
        return new ServerSettings("127.0.0.1", "mtmuser", "mydb", password, method, 100, 5, extra);
    }

    @Test
    public void includeFileCarriesEverySettingMtmNeeds() {
        String conf = settings(null, null, Map.of()).includeConf(54321);
        String expected = String.join("\n",
                "listen_addresses = '127.0.0.1'",
                "port = '54321'",
                "unix_socket_directories = ''",
                "max_connections = '100'",
                "max_prepared_transactions = '500'",
                "wal_level = 'logical'",
                "max_wal_senders = '20'",
                "max_replication_slots = '20'",
                "max_worker_processes = '20'",
                "wal_sender_timeout = '0'",
                "track_commit_timestamp = 'on'",
                "client_connection_check_interval = '1s'") + "\n";
        assertTrue(conf, conf.endsWith(expected));
        assertTrue(conf.startsWith("# Written by mtm"));
        assertFalse(conf.contains("password_encryption"));
    }

    @Test
    public void extraSettingsComeLastAndOverride() {
        String conf = settings(null, null, Map.of("wal_level", "logical", "shared_buffers", "16MB",
                "search_path", "a's\\b")).includeConf(1);
        List<String> lines = conf.lines().filter(l -> !l.startsWith("#")).toList();
        assertEquals(List.of("search_path = 'a''s\\\\b'", "shared_buffers = '16MB'", "wal_level = 'logical'"),
                lines.subList(lines.size() - 3, lines.size()));
        assertEquals(1, lines.stream().filter(l -> l.startsWith("wal_level")).count());
        assertThrows(IllegalArgumentException.class, () -> settings(null, null, Map.of("bad key", "x")));
        assertThrows(IllegalArgumentException.class, () -> settings(null, null, Map.of("work_mem", "1\nport=1")));
    }

    @Test
    public void authMethodFollowsPassword() {
        assertEquals("trust", settings(null, null, Map.of()).authMethod());
        assertEquals("scram-sha-256", settings("pw", null, Map.of()).authMethod());
        assertEquals("trust", settings("pw", "trust", Map.of()).authMethod());
        ServerSettings md5 = settings("pw", "md5", Map.of());
        assertTrue(md5.includeConf(1).contains("password_encryption = 'md5'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> settings(null, "md5", Map.of()))
                .getMessage().contains("needs a password"));
        assertThrows(IllegalArgumentException.class, () -> settings("pw", "password", Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> new ServerSettings("127.0.0.1", "u", "d", null, null, 100, 65, Map.of()));
    }

    @Test
    public void rememberedPortIsReadBack() {
        ServerSettings s = settings(null, null, Map.of());
        assertEquals(OptionalInt.of(40123), ServerSettings.portIn(s.includeConf(40123)));
        assertEquals(OptionalInt.of(7), ServerSettings.portIn("port = 5\nport=7\n"));
        assertEquals(OptionalInt.empty(), ServerSettings.portIn("# port = 5\n"));
        assertEquals(OptionalInt.empty(), ServerSettings.portIn(null));
    }

    @Test
    public void includeLineIsAppendedOnce() {
        String once = ServerSettings.withInclude("max_connections = 100\n#port = 5432");
        assertTrue(once.endsWith("\n" + ServerSettings.INCLUDE_LINE + "\n"));
        assertTrue(once.startsWith("max_connections = 100\n#port = 5432\n"));
        assertEquals(once, ServerSettings.withInclude(once));
    }

    @Test
    public void hbaAllowsLoopbackAndReplication() {
        String hba = settings("pw", "md5", Map.of()).hbaConf();
        List<String> rules = hba.lines().filter(l -> !l.startsWith("#")).map(l -> String.join(" ", l.split("\\s+"))).toList();
        assertEquals(List.of(
                "host all all 127.0.0.1/32 md5",
                "host replication all 127.0.0.1/32 md5",
                "host all all ::1/128 md5",
                "host replication all ::1/128 md5"), rules);

        String wide = new ServerSettings("10.1.2.3", "u", "d", "pw", null, 10, 3, Map.of()).hbaConf();
        assertTrue(wide, wide.lines().anyMatch(l -> l.matches("host\\s+replication\\s+all\\s+samenet\\s+scram-sha-256")));
        assertTrue(wide, wide.lines().anyMatch(l -> l.matches("host\\s+all\\s+all\\s+samenet\\s+scram-sha-256")));
    }

    @Test
    public void trustIsNeverWrittenBeyondTheLoopback() {
        // an explicit trust with a password: trust on the loopback only, scram-sha-256 for the subnet
        String wide = new ServerSettings("0.0.0.0", "u", "d", "pw", "trust", 10, 3, Map.of()).hbaConf();
        List<String> trusted = wide.lines().filter(l -> !l.startsWith("#") && l.endsWith("trust")).toList();
        assertEquals(4, trusted.size());
        assertTrue(wide, trusted.stream().allMatch(l -> l.contains("127.0.0.1/32") || l.contains("::1/128")));
        assertEquals(wide, 2, wide.lines().filter(l -> l.contains("samenet") && l.endsWith("scram-sha-256")).count());

        for (String host : List.of("10.1.2.3", "*", "0.0.0.0", "::")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ServerSettings(host, "u", "d", null, null, 10, 3, Map.of()));
            assertTrue(e.getMessage(), e.getMessage().contains("database.password"));
        }
    }

    @Test
    public void initdbAndPgCtlCommandLines() {
        assertEquals(List.of("/usr/lib/postgresql/15/bin/initdb", "--pgdata=/srv/pg/data", "--username=mtmuser",
                        "--encoding=UTF8", "--no-locale", "--auth=trust"),
                settings(null, null, Map.of()).initdbArgs(BIN, DATA, null));
        assertEquals("--pwfile=/srv/pg/.pw", settings("pw", null, Map.of())
                .initdbArgs(BIN, DATA, Path.of("/srv/pg/.pw")).get(6));
        assertEquals(List.of("/usr/lib/postgresql/15/bin/pg_ctl", "start", "--pgdata=/srv/pg/data",
                        "--log=/srv/pg/data/log/postgresql.log", "--wait", "--timeout=300", "--silent"),
                ServerSettings.pgCtlStart(BIN, DATA, 300));
        assertEquals(List.of("/usr/lib/postgresql/15/bin/pg_ctl", "stop", "--pgdata=/srv/pg/data", "--mode=fast",
                        "--wait", "--timeout=60", "--silent"),
                ServerSettings.pgCtlStop(BIN, DATA, "fast", 60));
        assertTrue(ServerSettings.pgCtlRestart(BIN, DATA, 9).containsAll(List.of("restart", "--mode=fast", "--timeout=9")));
    }

    @Test
    public void connectHostForWildcards() {
        assertEquals("127.0.0.1", new ServerSettings("*", "u", "d", "pw", null, 1, 1, Map.of()).connectHost());
        assertEquals("127.0.0.1", new ServerSettings("0.0.0.0", "u", "d", "pw", null, 1, 1, Map.of()).connectHost());
        assertEquals("10.0.0.5", new ServerSettings("10.0.0.5", "u", "d", "pw", null, 1, 1, Map.of()).connectHost());
    }
}
