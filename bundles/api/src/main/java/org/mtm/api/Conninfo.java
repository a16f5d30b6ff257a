package org.mtm.api;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * A libpq connection string, parsed the way libpq parses it: either {@code key=value} pairs
 * ({@code host=127.0.0.1 port=5432 dbname=mydb user=mtmuser}, values in single quotes when they hold
 * spaces, backslash escapes) or a URI ({@code postgresql://user:pw@host:port,host2:port2/db?k=v}).
 * Peers' conninfos given to {@code init_cluster} are libpq strings; the JVM reaches them through pgjdbc,
 * so this class also translates them to a JDBC URL and connection properties.
 *
 * <p>Immutable. {@link #toString()} masks the password (safe to log); {@link #format()} does not.
 */
public final class Conninfo {
    public static final int DEFAULT_PORT = 5432;
    public static final String DEFAULT_HOST = "localhost";

    /** Keywords libpq accepts (PostgreSQL 15, plus the few newer ones a peer's libpq may know). */
    private static final Set<String> KEYWORDS = Set.of(
            "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding",
            "connect_timeout", "client_encoding", "options", "application_name",
            "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode", "requiressl",
            "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir",
            "sslsni", "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version",
            "krbsrvname", "gsslib", "service", "target_session_attrs", "load_balance_hosts",
            "require_auth", "sslcertmode", "gssdelegation", "sslnegotiation");

    private final Map<String, String> parameters;

    private Conninfo(Map<String, String> parameters) {
        this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /**
     * Parses a conninfo in either libpq form.
     *
     * @throws IllegalArgumentException naming the offending part, as libpq would refuse it
     */
    public static Conninfo parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("conninfo must not be null");
        }
        String t = text.strip();
        if (t.startsWith("postgresql://") || t.startsWith("postgres://")) {
            return new Conninfo(parseUri(t));
        }
        return new Conninfo(parseKeyValue(t));
    }

    /** A conninfo with exactly these libpq parameters (keywords are checked). */
    public static Conninfo of(Map<String, String> parameters) {
        Map<String, String> copy = new LinkedHashMap<>();
        parameters.forEach((k, v) -> copy.put(checkKeyword(k), v == null ? "" : v));
        return new Conninfo(copy);
    }

    /** This conninfo with {@code keyword} set to {@code value} (or removed when {@code value} is null). */
    public Conninfo with(String keyword, String value) {
        Map<String, String> copy = new LinkedHashMap<>(parameters);
        if (value == null) {
            copy.remove(checkKeyword(keyword));
        } else {
            copy.put(checkKeyword(keyword), value);
        }
        return new Conninfo(copy);
    }

    /** The parameters in the order they were given (later duplicates won, as in libpq). */
    public Map<String, String> parameters() {
        return parameters;
    }

    public Optional<String> get(String keyword) {
        return Optional.ofNullable(parameters.get(keyword));
    }

    public Optional<String> user() {
        return nonEmpty("user");
    }

    public Optional<String> password() {
        return Optional.ofNullable(parameters.get("password"));
    }

    /** The database: {@code dbname}, else (as libpq defaults it) the user name. */
    public Optional<String> dbname() {
        return nonEmpty("dbname").or(this::user);
    }

    /**
     * The servers this conninfo names, in order: {@code host} (or {@code hostaddr}) and {@code port}
     * lists, with libpq's rule that a single port applies to every host. Missing host is
     * {@value #DEFAULT_HOST}, missing port {@value #DEFAULT_PORT}.
     */
    public List<Endpoint> endpoints() {
        List<String> hosts = split(nonEmpty("host").or(() -> nonEmpty("hostaddr")).orElse(""));
        List<String> ports = split(nonEmpty("port").orElse(""));
        if (ports.size() > 1 && ports.size() != hosts.size()) {
            throw new IllegalArgumentException("conninfo gives " + ports.size() + " ports for " + hosts.size()
                    + " hosts: give one port, or one per host");
        }
        List<Endpoint> result = new ArrayList<>(hosts.size());
        for (int i = 0; i < hosts.size(); i++) {
            String host = hosts.get(i).isEmpty() ? DEFAULT_HOST : hosts.get(i);
            String port = ports.size() == 1 ? ports.get(0) : ports.get(i);
            result.add(new Endpoint(host, port.isEmpty() ? DEFAULT_PORT : parsePort(port)));
        }
        return result;
    }

    /** The first server, where a single address is wanted. */
    public Endpoint endpoint() {
        return endpoints().get(0);
    }

    /**
     * The pgjdbc URL for these servers and database, e.g. {@code jdbc:postgresql://h:5432/mydb}. User,
     * password and the other parameters go in {@link #jdbcProperties()}.
     *
     * @throws IllegalArgumentException for a Unix-domain socket host, which pgjdbc cannot reach
     */
    public String jdbcUrl() {
        StringBuilder url = new StringBuilder("jdbc:postgresql://");
        List<Endpoint> endpoints = endpoints();
        for (int i = 0; i < endpoints.size(); i++) {
            Endpoint e = endpoints.get(i);
            if (e.host().startsWith("/") || e.host().startsWith("@")) {
                throw new IllegalArgumentException("conninfo host '" + e.host() + "' is a Unix-domain socket; "
                        + "the JDBC driver needs a TCP address: use host=127.0.0.1 (or the server's address)");
            }
            if (i > 0) {
                url.append(',');
            }
            url.append(e.host().contains(":") ? "[" + e.host() + "]" : e.host()).append(':').append(e.port());
        }
        url.append('/');
        dbname().ifPresent(db -> url.append(URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20")));
        return url.toString();
    }

    /**
     * pgjdbc connection properties equivalent to the libpq parameters. Keywords that only tune libpq
     * itself (client_encoding, keepalive timings, sslcompression, ...) have no pgjdbc counterpart and
     * are left out.
     *
     * @throws IllegalArgumentException for {@code service}, which names settings in a file this
     *                                  process cannot see
     */
    public Properties jdbcProperties() {
        Properties p = new Properties();
        for (Map.Entry<String, String> e : parameters.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "user" -> putNonEmpty(p, "user", v);
                case "password" -> p.setProperty("password", v);
                case "connect_timeout" -> putNonEmpty(p, "connectTimeout", v);
                case "application_name" -> putNonEmpty(p, "ApplicationName", v);
                case "fallback_application_name" -> {
                    if (!parameters.containsKey("application_name")) {
                        putNonEmpty(p, "ApplicationName", v);
                    }
                }
                case "options" -> putNonEmpty(p, "options", v);
                case "sslmode" -> putNonEmpty(p, "sslmode", v);
                case "sslcert" -> putNonEmpty(p, "sslcert", v);
                case "sslkey" -> putNonEmpty(p, "sslkey", v);
                case "sslrootcert" -> putNonEmpty(p, "sslrootcert", v);
                case "sslpassword" -> putNonEmpty(p, "sslpassword", v);
                case "gssencmode" -> putNonEmpty(p, "gssEncMode", v);
                case "krbsrvname" -> putNonEmpty(p, "kerberosServerName", v);
                case "replication" -> putNonEmpty(p, "replication", v);
                case "keepalives" -> putNonEmpty(p, "tcpKeepAlive", "0".equals(v) ? "false" : "true");
                case "target_session_attrs" -> putNonEmpty(p, "targetServerType", targetServerType(v));
                case "load_balance_hosts" -> putNonEmpty(p, "loadBalanceHosts",
                        "random".equals(v) ? "true" : "false");
                case "service" -> throw new IllegalArgumentException("conninfo keyword service='" + v
                        + "' (pg_service.conf) is not supported here: give host, port, dbname and user instead");
                default -> {
                    // libpq-only tuning without a pgjdbc equivalent
                }
            }
        }
        return p;
    }

    /** The libpq key=value form, quoted where needed, password included. */
    public String format() {
        StringBuilder b = new StringBuilder();
        parameters.forEach((k, v) -> {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(k).append('=').append(quote(v));
        });
        return b.toString();
    }

    /** The libpq key=value form with the password masked: safe for logs and error messages. */
    @Override
    public String toString() {
        return parameters.containsKey("password") ? with("password", "********").format() : format();
    }

    /** A value as libpq reads it back: bare when it can be, else single-quoted with backslash escapes. */
    public static String quote(String value) {
        boolean bare = !value.isEmpty();
        for (int i = 0; i < value.length() && bare; i++) {
            char c = value.charAt(i);
            bare = !Character.isWhitespace(c) && c != '\'' && c != '\\';
        }
        if (bare) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Conninfo other && other.parameters.equals(parameters);
    }

    @Override
    public int hashCode() {
        return parameters.hashCode();
    }

    // ---- key=value form (libpq conninfo_parse) ----

    private static Map<String, String> parseKeyValue(String s) {
        Map<String, String> result = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return result;
            }
            int start = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(start, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=') {
                throw new IllegalArgumentException("missing \"=\" after \"" + key + "\" in conninfo \""
                        + s + "\": write key=value pairs, e.g. host=127.0.0.1 port=5432 dbname=mydb");
            }
            if (key.isEmpty()) {
                throw new IllegalArgumentException("conninfo has \"=\" without a keyword before it at offset " + i);
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else if (c == '\'') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    throw new IllegalArgumentException("unterminated quoted string for \"" + key
                            + "\" in conninfo: close the value with a single quote");
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else {
                        value.append(c);
                    }
                }
            }
            result.put(checkKeyword(key), value.toString());
        }
    }

    // ---- URI form (libpq conninfo_uri_parse_options) ----

    private static Map<String, String> parseUri(String uri) {
        Map<String, String> result = new LinkedHashMap<>();
        int p = uri.indexOf("://") + 3;
        int n = uri.length();

        // user[:password]@ — only when '@' comes before the first '/' or '?'
        int end = p;
        while (end < n && uri.charAt(end) != '@' && uri.charAt(end) != '/' && uri.charAt(end) != '?') {
            end++;
        }
        if (end < n && uri.charAt(end) == '@') {
            String userinfo = uri.substring(p, end);
            int colon = userinfo.indexOf(':');
            String user = colon < 0 ? userinfo : userinfo.substring(0, colon);
            if (!user.isEmpty()) {
                result.put("user", decode(user, uri));
            }
            if (colon >= 0) {
                result.put("password", decode(userinfo.substring(colon + 1), uri));
            }
            p = end + 1;
        }

        // host[:port][,host[:port]...]
        List<String> hosts = new ArrayList<>();
        List<String> ports = new ArrayList<>();
        boolean anyPort = false;
        while (true) {
            String host;
            if (p < n && uri.charAt(p) == '[') {
                int close = uri.indexOf(']', p);
                if (close < 0) {
                    throw new IllegalArgumentException("missing \"]\" after IPv6 host address in URI \"" + uri + "\"");
                }
                host = uri.substring(p + 1, close);
                if (host.isEmpty()) {
                    throw new IllegalArgumentException("empty IPv6 host address in URI \"" + uri + "\"");
                }
                p = close + 1;
                if (p < n && ":/?,".indexOf(uri.charAt(p)) < 0) {
                    throw new IllegalArgumentException("unexpected character \"" + uri.charAt(p)
                            + "\" after IPv6 host address in URI \"" + uri + "\"");
                }
            } else {
                int s = p;
                while (p < n && ":/?,".indexOf(uri.charAt(p)) < 0) {
                    p++;
                }
                host = decode(uri.substring(s, p), uri);
            }
            String port = "";
            if (p < n && uri.charAt(p) == ':') {
                int s = ++p;
                while (p < n && "/?,".indexOf(uri.charAt(p)) < 0) {
                    p++;
                }
                port = decode(uri.substring(s, p), uri);
                anyPort = true;
            }
            hosts.add(host);
            ports.add(port);
            if (p < n && uri.charAt(p) == ',') {
                p++;
                continue;
            }
            break;
        }
        if (hosts.size() > 1 || !hosts.get(0).isEmpty()) {
            result.put("host", String.join(",", hosts));
        }
        if (anyPort) {
            result.put("port", String.join(",", ports));
        }

        // /dbname
        if (p < n && uri.charAt(p) == '/') {
            int s = ++p;
            while (p < n && uri.charAt(p) != '?') {
                p++;
            }
            String db = decode(uri.substring(s, p), uri);
            if (!db.isEmpty()) {
                result.put("dbname", db);
            }
        }

        // ?key=value&key=value
        if (p < n && uri.charAt(p) == '?') {
            for (String pair : uri.substring(p + 1).split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq < 0 || pair.indexOf('=', eq + 1) >= 0) {
                    throw new IllegalArgumentException("URI query parameter \"" + pair
                            + "\" must be exactly one key=value in \"" + uri + "\"");
                }
                String key = decode(pair.substring(0, eq), uri);
                String value = decode(pair.substring(eq + 1), uri);
                if (key.equals("ssl") && value.equals("true")) {
                    key = "sslmode";
                    value = "require";
                }
                result.put(checkKeyword(key), value);
            }
        } else if (p < n) {
            throw new IllegalArgumentException("unexpected \"" + uri.substring(p) + "\" in URI \"" + uri + "\"");
        }
        return result;
    }

    private static String decode(String s, String uri) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0
                        || Character.digit(s.charAt(i + 2), 16) < 0) {
                    throw new IllegalArgumentException("invalid percent-encoded token \"" + s.substring(i)
                            + "\" in URI \"" + uri + "\"");
                }
                int b = Character.digit(s.charAt(i + 1), 16) * 16 + Character.digit(s.charAt(i + 2), 16);
                if (b == 0) {
                    throw new IllegalArgumentException("forbidden value %00 in percent-encoded URI \"" + uri + "\"");
                }
                out.write(b);
                i += 2;
            } else {
                byte[] bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(bytes, 0, bytes.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    // ---- helpers ----

    private static String checkKeyword(String key) {
        if (!KEYWORDS.contains(key)) {
            throw new IllegalArgumentException("invalid connection option \"" + key
                    + "\" in conninfo: use libpq keywords such as host, port, dbname, user, password, sslmode");
        }
        return key;
    }

    private Optional<String> nonEmpty(String keyword) {
        String v = parameters.get(keyword);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
    }

    private static List<String> split(String list) {
        List<String> parts = new ArrayList<>();
        for (String part : list.split(",", -1)) {
            parts.add(part.strip());
        }
        return parts;
    }

    private static int parsePort(String port) {
        try {
            int value = Integer.parseInt(port);
            if (value < 1 || value > 65535) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid port number \"" + port + "\" in conninfo: use 1..65535", e);
        }
    }

    private static String targetServerType(String attrs) {
        return switch (attrs) {
            case "read-write", "primary" -> "primary";
            case "read-only", "standby" -> "secondary";
            case "prefer-standby" -> "preferSecondary";
            default -> "any";
        };
    }

    private static void putNonEmpty(Properties p, String key, String value) {
        if (value != null && !value.isEmpty()) {
            p.setProperty(key, value);
        }
    }
}
