package org.mtm.itests.harness;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * After a {@link BankLoad} and once the cluster has healed, checks each node's own PostgreSQL (not a gateway) against
 * what the clients saw, and lists every violation instead of stopping at the first: identical tables (ordered md5), per
 * account balance = initial + Σ in − Σ out of that node's transfers, every acknowledged write present on every node,
 * every write that got a definite error absent, writes of unknown outcome on all nodes or none, no row nobody wrote,
 * no prepared transaction left after {@code preparedBound}.
 */
public final class BankCheck {
    private static final String WRONG_BALANCES = "SELECT acc.id, acc.balance, " + BankLoad.INITIAL_BALANCE
        + " + coalesce(credits.x, 0) - coalesce(debits.x, 0) AS expected FROM accounts acc "
        + "LEFT JOIN (SELECT b AS id, sum(x) AS x FROM transfers GROUP BY b) credits ON credits.id = acc.id "
        + "LEFT JOIN (SELECT a AS id, sum(x) AS x FROM transfers GROUP BY a) debits ON debits.id = acc.id "
        + "WHERE acc.balance <> " + BankLoad.INITIAL_BALANCE + " + coalesce(credits.x, 0) - coalesce(debits.x, 0) ORDER BY acc.id";

    /** Sessions of the load's clients end within this once the clients have closed their connections. */
    private static final Duration SESSIONS_END = Duration.ofSeconds(15);

    private final List<KarafNode> nodes;
    private final BankLoad load;
    private final FaultClock faults;
    private final List<Violation> violations = new ArrayList<>();

    private BankCheck(List<KarafNode> nodes, BankLoad load, FaultClock faults) {
        this.nodes = nodes;
        this.load = load;
        this.faults = faults;
    }

    /**
     * Every violation found once {@code load} has stopped, each naming the node, the write and what its client saw, and
     * the fault it happened under ({@code faults}).
     */
    public static List<Violation> violations(List<KarafNode> nodes, BankLoad load, Duration preparedBound, FaultClock faults) {
        BankCheck check = new BankCheck(nodes, load, faults);
        List<Attempt> attempts = load.attempts();
        check.preparedTransactions(preparedBound, attempts);
        check.sessionsOfGoneClients();
        Map<String, Rows> rows = check.readEveryNode();
        check.sameTables(rows);
        check.writes(rows, attempts);
        return check.violations;
    }

    /** What one node holds: digests of its tables, ids of its transfers and inserts. */
    private record Rows(Map<String, String> digests, Set<Long> transfers, Set<Long> inserts) {
        Set<Long> ids(Attempt.Kind kind) {
            return kind == Attempt.Kind.TRANSFER ? transfers : inserts;
        }
    }

    /** Waits up to {@code bound} for every prepared transaction to be resolved; names the writes of those left. */
    private void preparedTransactions(Duration bound, List<Attempt> attempts) {
        try {
            ClusterInvariants.awaitNoPreparedTransactions(nodes, bound);
            return;
        } catch (AssertionError stillThere) {
            // listed below, one violation per gid with the write it belongs to
        }
        Map<String, List<String>> nodesByGid = new TreeMap<>();
        Map<String, Long> preparedAt = new HashMap<>();
        for (KarafNode node : nodes) {
            try {
                for (Map<String, String> row : Sql.rows(node.postgresPort(),
                        "SELECT gid, (extract(epoch FROM prepared) * 1000)::bigint AS at FROM pg_prepared_xacts")) {
                    nodesByGid.computeIfAbsent(row.get("gid"), g -> new ArrayList<>()).add(node.name());
                    preparedAt.merge(row.get("gid"), load.millisAtEpoch(Long.parseLong(row.get("at"))), Math::min);
                }
            } catch (SQLException e) {
                violations.add(Violation.afterTheRun("database unreadable", node.name() + ": " + e));
            }
        }
        Map<String, Attempt> byGidPrefix = new HashMap<>();
        attempts.stream().filter(a -> a.xid() != null).forEach(a -> byGidPrefix.put(a.gidPrefix(), a));
        nodesByGid.forEach((gid, holders) -> {
            String where = gid + " on " + holders + " " + bound.toSeconds() + " s after the cluster healed, first prepared at t="
                + preparedAt.get(gid) + " ms: ";
            Attempt write = byGidPrefix.get(gid.substring(0, gid.lastIndexOf('-') + 1));
            long at = preparedAt.get(gid);
            if (write != null) {
                // what left it prepared happened between its PREPARE and the moment its client learnt the outcome
                violations.add(new Violation("prepared transaction left", faults.during(at, write.atMillis() + write.millis()),
                    where + write));
            } else {
                List<Attempt> candidates = writesUnderWay(attempts, origin(gid), at);
                violations.add(new Violation("prepared transaction left", faults.during(at, candidates.isEmpty() ? at
                    : candidates.get(0).atMillis() + candidates.get(0).millis()), where + "its write never learnt its xid; the failed writes through node"
                    + origin(gid) + "'s gateway under way then: " + candidates));
            }
        });
    }

    private static int origin(String gid) {
        return Integer.parseInt(gid.split("-")[1]);
    }

    /** Failed writes through {@code gateway} without a known xid that were under way at {@code at} (± 1 s). */
    private static List<Attempt> writesUnderWay(List<Attempt> attempts, int gateway, long at) {
        return attempts.stream().filter(a -> a.gateway() == gateway && a.xid() == null && a.outcome() != ClientOutcome.ACKNOWLEDGED
            && a.atMillis() - 1000 <= at && at <= a.atMillis() + a.millis() + 1000)
            .sorted(Comparator.comparingLong(a -> Math.abs(a.atMillis() - at))).limit(5).toList();
    }

    /**
     * Once every client has closed its connection, the sessions it had through its gateway end too: a session left (a
     * statement still waiting, say on a lock of a prepared transaction) is a backend the gateway never released.
     */
    private void sessionsOfGoneClients() {
        String sql = "SELECT state || ' for ' || date_trunc('second', now() - state_change) || coalesce(', waiting on ' || "
            + "wait_event_type || ' ' || wait_event, '') || ': ' || left(query, 60) AS session FROM pg_stat_activity "
            + "WHERE application_name = '" + BankLoad.APPLICATION_NAME + "'";
        Map<String, List<String>> left = new TreeMap<>();
        try {
            Poll.until("the sessions of the load's clients end on " + nodes, SESSIONS_END, Duration.ofMillis(500), () -> {
                left.clear();
                for (KarafNode node : nodes) {
                    List<String> sessions = Sql.rows(node.postgresPort(), sql).stream().map(r -> r.get("session")).toList();
                    if (!sessions.isEmpty()) {
                        left.put(node.name(), sessions);
                    }
                }
                return left.isEmpty();
            });
        } catch (AssertionError e) {
            left.forEach((node, sessions) -> violations.add(Violation.afterTheRun("session of a gone client still running",
                node + ": " + sessions.size() + " session(s) " + SESSIONS_END.toSeconds() + " s after every client closed its"
                    + " connection: " + sessions)));
        }
    }

    private Map<String, Rows> readEveryNode() {
        Map<String, Rows> rows = new LinkedHashMap<>();
        for (KarafNode node : nodes) {
            try (Connection c = Sql.connect(node.postgresPort())) {
                rows.put(node.name(), new Rows(ClusterInvariants.digests(c), ids(c, "transfers"), ids(c, "inserts")));
                for (Map<String, String> wrong : Sql.rows(c, WRONG_BALANCES)) {
                    violations.add(Violation.afterTheRun("balance differs from the transfers", node.name() + ": account "
                        + wrong.get("id") + " has balance " + wrong.get("balance") + ", its transfers say " + wrong.get("expected")));
                }
                String accounts = Sql.scalar(c, "SELECT count(*) FROM accounts");
                if (!accounts.equals(Integer.toString(BankLoad.ACCOUNTS))) {
                    violations.add(Violation.afterTheRun("accounts lost or added", node.name() + ": " + accounts + " accounts, not "
                        + BankLoad.ACCOUNTS));
                }
            } catch (SQLException | RuntimeException e) {
                violations.add(Violation.afterTheRun("database unreadable", node.name() + ": " + e));
            }
        }
        return rows;
    }

    private void sameTables(Map<String, Rows> rows) {
        Map<String, Map<String, String>> digests = new LinkedHashMap<>();
        rows.forEach((node, r) -> digests.put(node, r.digests()));
        if (digests.values().stream().distinct().count() > 1) {
            violations.add(Violation.afterTheRun("tables differ between nodes", ClusterInvariants.differences(digests)));
        }
    }

    private void writes(Map<String, Rows> rows, List<Attempt> attempts) {
        Map<Attempt.Kind, Set<Long>> attempted = new HashMap<>();
        for (Attempt attempt : attempts) {
            attempted.computeIfAbsent(attempt.kind(), k -> new HashSet<>()).add(attempt.id());
            List<String> holding = new ArrayList<>();
            rows.forEach((node, r) -> {
                if (r.ids(attempt.kind()).contains(attempt.id())) {
                    holding.add(node);
                }
            });
            List<String> lacking = new ArrayList<>(rows.keySet());
            lacking.removeAll(holding);
            String kind = switch (attempt.outcome()) {
                case ACKNOWLEDGED -> lacking.isEmpty() ? null : "acknowledged write absent";
                case ERROR -> holding.isEmpty() ? null : "write that got an error present";
                case UNKNOWN -> holding.isEmpty() || lacking.isEmpty() ? null : "write of unknown outcome on some nodes only";
            };
            if (kind != null) {
                violations.add(new Violation(kind, faults.during(attempt), attempt + "; present on " + holding
                    + ", absent on " + lacking));
            }
        }
        rows.forEach((node, r) -> {
            for (Attempt.Kind kind : Attempt.Kind.values()) {
                Set<Long> stray = new TreeSet<>(r.ids(kind));
                stray.removeAll(attempted.getOrDefault(kind, Set.of()));
                if (!stray.isEmpty()) {
                    violations.add(Violation.afterTheRun("row nobody wrote", node + ": " + kind.name().toLowerCase() + " ids " + stray));
                }
            }
        });
    }

    private static Set<Long> ids(Connection c, String table) throws SQLException {
        Set<Long> ids = new HashSet<>();
        for (Map<String, String> row : Sql.rows(c, "SELECT id FROM " + table)) {
            ids.add(Long.parseLong(row.get("id")));
        }
        return ids;
    }
}
