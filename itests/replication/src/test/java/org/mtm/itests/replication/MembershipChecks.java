package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;
import org.postgresql.util.PSQLException;

/** What the membership tests (AddNodeIT, MembershipIT, UpgradeIT) wait for and check on the nodes, in one place. */
final class MembershipChecks {

    private MembershipChecks() {
    }

    /** Waits until node {@code id} is online with {@code members} of {@code configured} in a generation above {@code above}. */
    static void awaitOnline(TestCluster cluster, int id, String members, String configured, long above, Duration timeout) {
        Poll.until("node " + id + " online in a generation above " + above + " with members " + members + " of "
            + configured, timeout, Duration.ofMillis(100), () -> {
                try (Connection c = cluster.direct(id)) {
                    Map<String, String> row = Sql.rows(c, "SELECT status, gen_num, gen_members::text AS members, "
                        + "gen_configured::text AS configured FROM mtm.status()").get(0);
                    return "online".equals(row.get("status")) && members.equals(row.get("members"))
                        && configured.equals(row.get("configured")) && Long.parseLong(row.get("gen_num")) > above;
                } catch (SQLException | RuntimeException e) {
                    return false;
                }
            });
    }

    /** {@code sql} through gateway {@code gateway} fails with {@code sqlState} and a message containing {@code text}. */
    static void assertRefused(TestCluster cluster, String who, int gateway, String sql, String sqlState, String text)
            throws SQLException {
        try (Connection c = cluster.viaGateway(gateway)) {
            Sql.scalar(c, sql);
            fail(sql + " through gateway " + gateway + " succeeded");
        } catch (PSQLException e) {
            TestCluster.log(who, "%s: %s %s", sql, e.getSQLState(), e.getMessage());
            assertEquals(sql + ": " + e.getMessage(), sqlState, e.getSQLState());
            assertTrue(sql + ": " + e.getMessage(), e.getMessage().contains(text));
        }
    }
}
