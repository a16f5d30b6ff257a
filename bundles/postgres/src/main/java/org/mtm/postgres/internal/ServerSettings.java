package org.mtm.postgres.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a managed server is configured with, and the files and command lines that follow from it.
 * Pure: no I/O, so every line the server gets is unit-tested.
 */
public record ServerSettings(String host, String superuser, String database, String password, String authMethod,
                             int maxConnections, int maxNodes, Map<String, String> extra) {

    public static final Set<String> AUTH_METHODS = Set.of("trust", "md5", "scram-sha-256");
    /** Our postgresql.conf include, in the data directory. */
    public static final String INCLUDE_FILE = "mtm.conf";
    public static final String INCLUDE_LINE = "include_if_exists = '" + INCLUDE_FILE + "'";
    /** Server log (pg_ctl -l), relative to the data directory. */
    public static final String LOG_FILE = "log/postgresql.log";

    private static final Pattern SETTING_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.]*");
    private static final Pattern PORT_LINE = Pattern.compile("(?m)^\\s*port\\s*=\\s*'?(\\d+)'?\\s*$");

    public ServerSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(superuser, "superuser");
        Objects.requireNonNull(database, "database");
        if (authMethod == null) {
            authMethod = password == null ? "trust" : "scram-sha-256";
        }
        if (!AUTH_METHODS.contains(authMethod)) {
            throw new IllegalArgumentException("authMethod '" + authMethod + "' is not one of " + AUTH_METHODS);
        }
        if (!authMethod.equals("trust") && (password == null || password.isEmpty())) {
            throw new IllegalArgumentException("authMethod " + authMethod + " needs a password for superuser '"
                    + superuser + "': set database.password");
        }
        if (!isLoopback(host) && (password == null || password.isEmpty())) {
            throw new IllegalArgumentException("database.host '" + host + "' is not a loopback address, so peers and "
                    + "clients of other machines reach the managed server: set database.password (they then "
                    + "authenticate with scram-sha-256; trust is only ever written for the loopback)");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max_connections must be at least 1, got " + maxConnections);
        }
        if (maxNodes < 1 || maxNodes > 64) {
            throw new IllegalArgumentException("maxNodes must be 1..64, got " + maxNodes);
        }
        extra = Map.copyOf(extra);
        for (Map.Entry<String, String> e : extra.entrySet()) {
            if (!SETTING_NAME.matcher(e.getKey()).matches()) {
                throw new IllegalArgumentException("'" + e.getKey() + "' is not a PostgreSQL setting name");
            }
            if (e.getValue().indexOf('\n') >= 0 || e.getValue().indexOf('\r') >= 0) {
                throw new IllegalArgumentException("value of setting " + e.getKey() + " must be one line");
            }
        }
    }

    /** The settings mtm needs, in order; {@link #extra()} (sorted) may override them. */
    public Map<String, String> settings(int port) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("listen_addresses", host);
        s.put("port", Integer.toString(port));
        s.put("unix_socket_directories", "");
        s.put("max_connections", Integer.toString(maxConnections));
        // every local session and every peer's applier may hold a prepared transaction at once
        s.put("max_prepared_transactions", Integer.toString(maxConnections * maxNodes));
        s.put("wal_level", "logical");
        s.put("max_wal_senders", "20");
        s.put("max_replication_slots", "20");
        s.put("max_worker_processes", "20");
        s.put("wal_sender_timeout", "0");
        s.put("track_commit_timestamp", "on");
        // a gateway session whose client went away while its statement waits (on a lock of an in-doubt transaction,
        // say) ends within a second instead of holding its connection slot until the wait is over
        s.put("client_connection_check_interval", "1s");
        if (authMethod.equals("md5")) {
            // md5 in pg_hba only does real md5 when the stored password is an md5 hash
            s.put("password_encryption", "md5");
        }
        extra.keySet().stream().sorted().forEach(k -> {
            s.remove(k);
            s.put(k, extra.get(k));
        });
        return s;
    }

    /** Contents of {@value #INCLUDE_FILE}. */
    public String includeConf(int port) {
        StringBuilder b = new StringBuilder()
                .append("# Written by mtm at every start from PID org.mtm.node (database.*); edits here are lost.\n")
                .append("# To change a setting for good use database.* or ALTER SYSTEM (postgresql.auto.conf wins).\n");
        settings(port).forEach((k, v) -> b.append(k).append(" = ").append(quote(v)).append('\n'));
        return b.toString();
    }

    /** The port written in an include file, if any: the port a port-0 server keeps across restarts. */
    public static OptionalInt portIn(String includeConf) {
        if (includeConf == null) {
            return OptionalInt.empty();
        }
        Matcher m = PORT_LINE.matcher(includeConf);
        int port = -1;
        while (m.find()) {
            port = Integer.parseInt(m.group(1)); // the last one wins, as in PostgreSQL
        }
        return port > 0 ? OptionalInt.of(port) : OptionalInt.empty();
    }

    /** postgresql.conf with our include line appended once (at the end, so it overrides initdb's values). */
    public static String withInclude(String postgresqlConf) {
        if (postgresqlConf.lines().anyMatch(l -> l.strip().equals(INCLUDE_LINE))) {
            return postgresqlConf;
        }
        String sep = postgresqlConf.isEmpty() || postgresqlConf.endsWith("\n") ? "" : "\n";
        return postgresqlConf + sep + "\n# mtm: settings managed by the mtm node\n" + INCLUDE_LINE + "\n";
    }

    /**
     * pg_hba.conf: TCP only (no Unix sockets), normal and replication connections from the loopback
     * addresses; when the server listens on a non-loopback address also from the server's subnets
     * ({@code samenet}) so peers can connect, never with trust there: scram-sha-256 unless md5 was chosen.
     */
    public String hbaConf() {
        StringBuilder b = new StringBuilder()
                .append("# Written by mtm at every start from PID org.mtm.node (database.*); edits here are lost.\n")
                .append("# TYPE  DATABASE     USER  ADDRESS        METHOD\n");
        List<String> addresses = new ArrayList<>(List.of("127.0.0.1/32", "::1/128"));
        if (!isLoopback(host)) {
            addresses.add("samenet");
        }
        for (String address : addresses) {
            String method = address.equals("samenet") && authMethod.equals("trust") ? "scram-sha-256" : authMethod;
            for (String db : List.of("all", "replication")) {
                b.append(String.format("host    %-12s all   %-14s %s\n", db, address, method));
            }
        }
        return b.toString();
    }

    /**
     * initdb: the superuser, UTF8 and the C locale (identical sort order on every node whatever the
     * machine's locales), durable (no --no-sync). With a password it is stored at once from {@code pwFile}.
     */
    public List<String> initdbArgs(Path binDir, Path dataDir, Path pwFile) {
        List<String> argv = new ArrayList<>(List.of(binDir.resolve("initdb").toString(),
                "--pgdata=" + dataDir, "--username=" + superuser, "--encoding=UTF8", "--no-locale",
                "--auth=" + authMethod));
        if (pwFile != null) {
            argv.add("--pwfile=" + pwFile);
        }
        return argv;
    }

    public static List<String> pgCtlStart(Path binDir, Path dataDir, int timeoutSeconds) {
        return List.of(binDir.resolve("pg_ctl").toString(), "start", "--pgdata=" + dataDir,
                "--log=" + dataDir.resolve(LOG_FILE), "--wait", "--timeout=" + timeoutSeconds, "--silent");
    }

    public static List<String> pgCtlRestart(Path binDir, Path dataDir, int timeoutSeconds) {
        return List.of(binDir.resolve("pg_ctl").toString(), "restart", "--pgdata=" + dataDir,
                "--log=" + dataDir.resolve(LOG_FILE), "--mode=fast", "--wait", "--timeout=" + timeoutSeconds, "--silent");
    }

    public static List<String> pgCtlStop(Path binDir, Path dataDir, String mode, int timeoutSeconds) {
        return List.of(binDir.resolve("pg_ctl").toString(), "stop", "--pgdata=" + dataDir, "--mode=" + mode,
                "--wait", "--timeout=" + timeoutSeconds, "--silent");
    }

    public static List<String> pgCtlReload(Path binDir, Path dataDir) {
        return List.of(binDir.resolve("pg_ctl").toString(), "reload", "--pgdata=" + dataDir, "--silent");
    }

    /** pg_ctl status: exit 0 running, 3 not running, 4 no data directory. */
    public static List<String> pgCtlStatus(Path binDir, Path dataDir) {
        return List.of(binDir.resolve("pg_ctl").toString(), "status", "--pgdata=" + dataDir);
    }

    /** A postgresql.conf value: always single-quoted, quotes doubled and backslashes escaped. */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** True when a pg_hba.conf lets any connection in with {@code trust}. */
    static boolean trusts(String hbaConf) {
        return hbaConf.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .anyMatch(l -> l.split("\\s+")[l.split("\\s+").length - 1].equals("trust"));
    }

    static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** The address to connect to for a listen address: wildcards mean "any", so use loopback. */
    public String connectHost() {
        return switch (host) {
            case "*", "0.0.0.0", "" -> "127.0.0.1";
            case "::" -> "::1";
            default -> host.contains(",") ? host.substring(0, host.indexOf(',')).strip() : host;
        };
    }
}
