package org.mtm.itests.harness;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The invariants every cluster test checks at its end (DESIGN §8), read on each node's own PostgreSQL (not
 * through the gateway): identical content of every replicated user table (row count and an ordered md5),
 * no prepared transaction left, generation numbers never decreasing ({@link GenerationWatch}).
 */
public final class ClusterInvariants {
    /** In-flight commits finish and appliers catch up within this; the checks poll up to it. */
    public static final Duration SETTLE = Duration.ofSeconds(60);

    /**
     * Replicated user tables: ordinary permanent tables outside the system schemas and mtm's own schema,
     * minus those made local ({@code mtm.local_tables}, when the schema is there). With their primary key
     * columns (quoted, in key order), empty when there is none.
     */
    private static final String TABLES_SQL = "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, "
        + "coalesce((SELECT string_agg('t.' || quote_ident(a.attname), ', ' ORDER BY k.ord) "
        + "  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        + "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        + "  WHERE i.indrelid = c.oid AND i.indisprimary), '') AS pk "
        + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        + "WHERE c.relkind = 'r' AND c.relpersistence = 'p' "
        + "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mtm') AND n.nspname NOT LIKE 'pg\\_%' "
        + "/*local*/ ORDER BY 1";
    private static final String NOT_LOCAL = "AND NOT EXISTS (SELECT 1 FROM mtm.local_tables l "
        + "WHERE l.rel_schema = n.nspname AND l.rel_name = c.relname)";

    private ClusterInvariants() {
    }

    /** Every replicated user table of the database at {@code port} to "rows:md5" of its rows in key order. */
    public static Map<String, String> digests(int port) throws SQLException {
        try (Connection connection = Sql.connect(port)) {
            return digests(connection);
        }
    }

    public static Map<String, String> digests(Connection connection) throws SQLException {
        Map<String, String> digests = new TreeMap<>();
        for (Map.Entry<String, String> table : replicatedTables(connection).entrySet()) {
            String digest;
            try {
                digest = digest(connection, table.getKey(), table.getValue());
            } catch (SQLException e) {
                // a key whose type has no default ordering (a primary key made USING INDEX with another operator class)
                digest = digest(connection, table.getKey(), "");
            }
            digests.put(table.getKey(), digest);
        }
        return digests;
    }

    /** Every replicated user table (quoted, schema-qualified) to its primary key columns as "t.a, t.b" (empty without a key). */
    public static Map<String, String> replicatedTables(Connection connection) throws SQLException {
        boolean localTables = Sql.scalar(connection, "SELECT to_regclass('mtm.local_tables') IS NOT NULL").equals("t");
        Map<String, String> tables = new TreeMap<>();
        for (Map<String, String> table : Sql.rows(connection, TABLES_SQL.replace("/*local*/", localTables ? NOT_LOCAL : ""))) {
            tables.put(table.get("name"), table.get("pk"));
        }
        return tables;
    }

    /**
     * "rows:md5" of a table's rows (their text form) in primary-key order, or in text order without a key. The row is
     * {@code ROW(t.*)}, not {@code t}: in a table with a column named t, {@code t} is that column (PostgreSQL's
     * regression tables have such columns, of types without ordering like box).
     */
    public static String digest(Connection connection, String table, String orderBy) throws SQLException {
        String order = orderBy == null || orderBy.isEmpty() ? "ROW(t.*)::text" : orderBy;
        return Sql.scalar(connection, "SELECT count(*) || ':' || md5(coalesce(string_agg(md5(ROW(t.*)::text), '' ORDER BY " + order
            + "), '')) FROM " + table + " t");
    }

    /** Digest of one table on the database at {@code port}, ordered by {@code orderBy} (e.g. "t.id"). */
    public static String digest(int port, String table, String orderBy) throws SQLException {
        try (Connection connection = Sql.connect(port)) {
            return digest(connection, table, orderBy);
        }
    }

    /**
     * Polls (up to {@code timeout}) until every node has the same replicated tables with the same content;
     * returns the agreed digests. Fails showing every node's digests where they differ.
     */
    public static Map<String, String> awaitIdenticalContent(List<KarafNode> nodes, Duration timeout) {
        Map<String, Map<String, String>> last = new LinkedHashMap<>();
        Poll.until("identical replicated tables on " + names(nodes), timeout, Duration.ofMillis(500), () -> {
            last.clear();
            for (KarafNode node : nodes) {
                last.put(node.name(), digests(node.postgresPort()));
            }
            return last.values().stream().distinct().count() == 1 ? "same" : differences(last);
        }, "same"::equals);
        return last.values().iterator().next();
    }

    /** Where the nodes' digests differ, table by table. */
    static String differences(Map<String, Map<String, String>> byNode) {
        Map<String, Map<String, String>> byTable = new TreeMap<>();
        byNode.forEach((node, tables) -> tables.forEach((table, digest) ->
            byTable.computeIfAbsent(table, t -> new LinkedHashMap<>()).put(node, digest)));
        StringBuilder text = new StringBuilder();
        byTable.forEach((table, digests) -> {
            if (digests.size() != byNode.size() || digests.values().stream().distinct().count() != 1) {
                text.append("\n  ").append(table).append(": ").append(digests);
            }
        });
        return text.length() == 0 ? "(same)" : text.toString();
    }

    /** Polls until no node has a prepared transaction (in-flight ones finish); fails listing those left. */
    public static void awaitNoPreparedTransactions(List<KarafNode> nodes, Duration timeout) {
        Poll.until("no prepared transaction on " + names(nodes), timeout, Duration.ofMillis(250), () -> {
            Map<String, List<String>> left = new TreeMap<>();
            for (KarafNode node : nodes) {
                List<String> gids = new ArrayList<>();
                for (Map<String, String> row : Sql.rows(node.postgresPort(),
                        "SELECT gid || ' (prepared ' || prepared || ')' AS gid FROM pg_prepared_xacts ORDER BY gid")) {
                    gids.add(row.get("gid"));
                }
                if (!gids.isEmpty()) {
                    left.put(node.name(), gids);
                }
            }
            return left;
        }, Map::isEmpty);
    }

    /** The end-of-class check: no prepared transaction left, identical content, generations never decreased. */
    public static Map<String, String> check(List<KarafNode> nodes, GenerationWatch generations) {
        awaitNoPreparedTransactions(nodes, SETTLE);
        Map<String, String> digests = awaitIdenticalContent(nodes, SETTLE);
        generations.sample();
        generations.assertNeverDecreased();
        return digests;
    }

    private static String names(List<KarafNode> nodes) {
        return nodes.stream().map(KarafNode::name).toList().toString();
    }

    /**
     * Samples {@code gen_num} of {@code mtm.status()} on every node's PostgreSQL in the background (and on
     * {@link #sample()}); remembers every decrease. A node that cannot answer (stopped, not initialised yet)
     * is skipped for that sample.
     */
    public static final class GenerationWatch implements AutoCloseable {
        private final List<KarafNode> nodes;
        private final Map<String, Long> highest = new ConcurrentHashMap<>();
        private final List<String> decreases = new CopyOnWriteArrayList<>();
        private final Thread sampler;
        private volatile boolean running = true;

        public GenerationWatch(List<KarafNode> nodes, Duration interval) {
            this.nodes = List.copyOf(nodes);
            this.sampler = new Thread(() -> {
                while (running) {
                    sample();
                    try {
                        Thread.sleep(interval.toMillis()); // the watch's sampling interval, until stopped
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "generation-watch");
            sampler.setDaemon(true);
            sampler.start();
        }

        /**
         * Reads every node's generation once. Synchronized: the sampler and the final check both call it, and a read
         * compared after a later one's merge would look like a decrease.
         */
        public synchronized void sample() {
            for (KarafNode node : nodes) {
                long generation;
                try {
                    generation = Long.parseLong(Sql.scalar(node.postgresPort(), "SELECT gen_num FROM mtm.status()"));
                } catch (SQLException | RuntimeException | AssertionError e) {
                    continue;
                }
                Long before = highest.get(node.name());
                if (before != null && generation < before) {
                    decreases.add(node.name() + ": generation " + before + " then " + generation);
                }
                highest.merge(node.name(), generation, Math::max);
            }
        }

        /** The highest generation seen per node. */
        public Map<String, Long> highest() {
            return new TreeMap<>(highest);
        }

        public void assertNeverDecreased() {
            if (!decreases.isEmpty()) {
                throw new AssertionError("generation numbers decreased: " + decreases);
            }
            if (highest.isEmpty()) {
                throw new AssertionError("no generation was ever read from " + nodes);
            }
        }

        @Override
        public void close() {
            running = false;
            sampler.interrupt();
            try {
                sampler.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
