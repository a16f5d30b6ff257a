package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.PgTools.PgbenchReport;
import org.mtm.itests.harness.Sql;

/**
 * Issue 3 point 5 with the real client: {@code pgbench -i -s 10} through gateway 1, then one
 * {@code pgbench -n -M prepared -c 4 -T <T> --max-tries=50} against each gateway, all three at once — three nodes
 * writing the same ten branch rows, so conflicts are the normal case. Afterwards: the pgbench tables are identical on
 * every node, the balances of accounts, branches and tellers and the deltas of history all add up to the same sum,
 * history has exactly one row per transaction the clients saw committed, no prepared transaction is left, and no
 * client was aborted (pgbench retries 40001/40P01 itself; anything else aborts a client). tps, latency, retries and
 * failures are printed: a measurement, not an assertion.
 *
 * <p>T is 60 s, as the issue asks (system property {@code mtm.pgbench.seconds} to shorten it while working).
 */
public class PgbenchIT {
    private static final String WHO = "PgbenchIT";
    private static final int SECONDS = Integer.getInteger("mtm.pgbench.seconds", 60);
    private static final int SCALE = 10;
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() {
        cluster = TestCluster.initialised("pgbench");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void pgbenchOnEveryGatewayAtOnceKeepsTheNodesIdenticalAndTheBalancesConsistent() throws Exception {
        PgTools.Result init = PgTools.pgbench(cluster.gateway(1), Duration.ofMinutes(6), "-i", "-s", Integer.toString(SCALE), "-q");
        TestCluster.log(WHO, "pgbench -i -s %d through gateway 1: exit %d in %d ms\n%s", SCALE, init.exitCode(), init.millis(),
            init.stderr().lines().filter(l -> l.contains("done") || l.contains("ERROR") || l.contains("error")).reduce("", (a, b) -> a + b + "\n"));
        assertTrue("pgbench -i through gateway 1: " + init, init.ok());
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("pgbench_accounts rows on node" + id + " right after pgbench -i returned", Integer.toString(SCALE * 100_000),
                Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pgbench_accounts"));
            assertEquals("pgbench_branches rows on node" + id, Integer.toString(SCALE),
                Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pgbench_branches"));
        }

        // One write through every gateway before the timed run, each timed, as bench/pgbench-cluster-vs-standalone does:
        // on PostgreSQL 15 a peer's walsenders decode the copy of the 1M-row load that peer applied (pgoutput cannot
        // filter by origin) before anything the peer writes afterwards reaches the others — 25-30 s on the CI machine.
        // Timed from the load's end, that backlog was the first 30 s of zero progress of every gateway (session 20: the
        // peers' first PREPAREs sat prepared, holding branch rows, until their streams caught up; no deadlock). The
        // timed run measures TPC-B; the backlog is printed here.
        for (int id = 1; id <= TestCluster.NODES; id++) {
            long start = System.nanoTime();
            Sql.execute(cluster.gateway(id), "UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1");
            TestCluster.log(WHO, "first write through gateway %d after the bulk load: %d ms", id,
                (System.nanoTime() - start) / 1_000_000);
        }

        // -n: no vacuum and no TRUNCATE pgbench_history before the run — three pgbench processes start at once, and one's
        // TRUNCATE (replicated) after another's first commits would erase history rows the clients saw committed
        List<CompletableFuture<PgTools.Result>> runs = new ArrayList<>();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int gateway = cluster.gateway(id);
            runs.add(CompletableFuture.supplyAsync(() -> PgTools.pgbench(gateway, Duration.ofSeconds(SECONDS + 240),
                "-n", "-M", "prepared", "-c", "4", "-T", Integer.toString(SECONDS), "--max-tries=50", "-P", "10")));
        }
        long processed = 0;
        long failed = 0;
        for (int id = 1; id <= TestCluster.NODES; id++) {
            PgTools.Result run = runs.get(id - 1).join();
            PgbenchReport report = PgbenchReport.parse(run.stdout());
            TestCluster.log(WHO, "pgbench -n -M prepared -c 4 -T %d --max-tries=50 on gateway %d: exit %d, processed %d, failed %d, "
                    + "retried %d (%d retries), tps %.1f, latency average %.1f ms\n%s%s", SECONDS, id, run.exitCode(), report.processed(),
                report.failed(), report.retried(), report.retries(), report.tps(), report.latencyMs(), indent(run.stdout()),
                indent(run.stderr()));
            assertEquals("pgbench on gateway " + id + " exit code (2 = a client was aborted by an error it does not retry): " + run,
                0, run.exitCode());
            assertFalse("a pgbench client was aborted on gateway " + id + ": " + run.stderr(), run.stderr().contains("aborted"));
            assertTrue("pgbench on gateway " + id + " printed its transaction count: " + run, report.processed() >= 0);
            assertTrue("pgbench on gateway " + id + " printed its failure count (--max-tries): " + run, report.failed() >= 0);
            processed += report.processed();
            failed += report.failed();
        }
        TestCluster.log(WHO, "all three: %d transactions committed, %d failed after retries", processed, failed);
        assertTrue("some pgbench transaction committed", processed > 0);

        ClusterInvariants.awaitNoPreparedTransactions(cluster.nodes(), ClusterInvariants.SETTLE);
        String reference = null;
        for (int id = 1; id <= TestCluster.NODES; id++) {
            try (Connection c = cluster.direct(id)) {
                Map<String, String> sums = Sql.rows(c, "SELECT (SELECT sum(abalance) FROM pgbench_accounts) AS a, "
                    + "(SELECT sum(bbalance) FROM pgbench_branches) AS b, (SELECT sum(tbalance) FROM pgbench_tellers) AS t, "
                    + "(SELECT coalesce(sum(delta), 0) FROM pgbench_history) AS h, (SELECT count(*) FROM pgbench_history) AS n").get(0);
                TestCluster.log(WHO, "node%d: sum(abalance) %s, sum(bbalance) %s, sum(tbalance) %s, sum(delta) %s, history rows %s", id,
                    sums.get("a"), sums.get("b"), sums.get("t"), sums.get("h"), sums.get("n"));
                assertEquals("sum(abalance) = sum(delta) on node" + id, sums.get("h"), sums.get("a"));
                assertEquals("sum(bbalance) = sum(delta) on node" + id, sums.get("h"), sums.get("b"));
                assertEquals("sum(tbalance) = sum(delta) on node" + id, sums.get("h"), sums.get("t"));
                assertEquals("history rows on node" + id + " = transactions the clients saw committed (failed ones left nothing)",
                    Long.toString(processed), sums.get("n"));
                String digest = String.join(" ", ClusterInvariants.digest(c, "pgbench_accounts", "t.aid"),
                    ClusterInvariants.digest(c, "pgbench_branches", "t.bid"), ClusterInvariants.digest(c, "pgbench_tellers", "t.tid"),
                    ClusterInvariants.digest(c, "pgbench_history", "t::text"));
                if (reference == null) {
                    reference = digest;
                } else {
                    assertEquals("pgbench tables (ordered md5 of accounts, branches, tellers, history) on node" + id + " vs node1",
                        reference, digest);
                }
            }
        }
    }

    private static String indent(String text) {
        return text.isBlank() ? "" : text.strip().indent(4);
    }
}
