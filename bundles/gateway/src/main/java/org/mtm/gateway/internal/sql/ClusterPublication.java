package org.mtm.gateway.internal.sql;

/**
 * psql's {@code \d+} of a table lists the publications that publish it, and the cluster's own publication (FOR ALL
 * TABLES: what logical decoding sends the other nodes) would be listed under every table of the database. The
 * gateway leaves it out of that one query of psql — recognised by its exact text (psql 15), the FOR ALL TABLES
 * branch of the list — and out of nothing else: {@code pg_publication}, {@code pg_publication_tables} and
 * psql's {@code \dRp} still show it (see README, differences by design).
 *
 * <p>Likewise the {@code Replica Identity: FULL} footer of {@code \d+} for a table the cluster made FULL (no primary
 * key under a FOR ALL TABLES publication, {@code mtm.ensure_replica_identity}, which notes such tables in
 * {@code mtm.replica_identity_full}): psql's table query (psql 15, exact text) reads {@code relreplident} as
 * {@code d} for those. Pure.
 */
public final class ClusterPublication {
    /** How psql's publication list of {@code \d+} begins. */
    private static final String PSQL_LIST = "SELECT pubname\n";
    /** Its FOR ALL TABLES branch. */
    private static final String ALL_TABLES = "FROM pg_catalog.pg_publication p\n"
            + "WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable(";
    private static final String WITHOUT_CLUSTERS = "FROM pg_catalog.pg_publication p\n"
            + "WHERE p.pubname OPERATOR(pg_catalog.<>) '" + org.mtm.api.Replication.PUBLICATION + "' AND p.puballtables"
            + " AND pg_catalog.pg_relation_is_publishable(";

    /** How psql's table query of {@code \d} begins (psql 12 to 15). */
    private static final String PSQL_TABLE = "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, "
            + "c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, ";
    /** Its replica identity column, followed by the FROM clause. */
    private static final String REPLIDENT = ", c.relpersistence, c.relreplident, am.amname\nFROM pg_catalog.pg_class c\n";
    private static final String REPLIDENT_AS_POSTGRES = ", c.relpersistence, CASE WHEN c.relreplident = 'f' AND EXISTS "
            + "(SELECT 1 FROM mtm.replica_identity_full f WHERE f.relid OPERATOR(pg_catalog.=) c.oid) THEN "
            + "'d'::pg_catalog.\"char\" ELSE c.relreplident END, am.amname\nFROM pg_catalog.pg_class c\n";

    private ClusterPublication() {
    }

    /**
     * psql's table query of {@code \d} with the replica identity the cluster set read as PostgreSQL's default; null
     * for any other query (the usual case).
     */
    public static String replicaIdentityAsPostgres(CharSequence query) {
        if (query.length() < PSQL_TABLE.length() + REPLIDENT.length()) {
            return null;
        }
        for (int i = 0; i < PSQL_TABLE.length(); i++) {
            if (query.charAt(i) != PSQL_TABLE.charAt(i)) {
                return null;
            }
        }
        String text = query.toString();
        int at = text.indexOf(REPLIDENT);
        if (at < 0 || text.indexOf(REPLIDENT, at + 1) >= 0) {
            return null;
        }
        return text.substring(0, at) + REPLIDENT_AS_POSTGRES + text.substring(at + REPLIDENT.length());
    }

    /** psql's publication list without the cluster's publication; null for any other query (the usual case). */
    public static String hidden(CharSequence query) {
        if (query.length() < PSQL_LIST.length() + ALL_TABLES.length()) {
            return null;
        }
        for (int i = 0; i < PSQL_LIST.length(); i++) {
            if (query.charAt(i) != PSQL_LIST.charAt(i)) {
                return null;
            }
        }
        String text = query.toString();
        int at = text.indexOf(ALL_TABLES);
        if (at < 0 || text.indexOf(ALL_TABLES, at + 1) >= 0) {
            return null;
        }
        return text.substring(0, at) + WITHOUT_CLUSTERS + text.substring(at + ALL_TABLES.length());
    }
}
