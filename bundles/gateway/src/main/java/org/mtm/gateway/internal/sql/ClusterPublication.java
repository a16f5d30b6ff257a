package org.mtm.gateway.internal.sql;

/**
 * psql's {@code \d+} of a table lists the publications that publish it, and the cluster's own publication (FOR ALL
 * TABLES: what logical decoding sends the other nodes) would be listed under every table of the database. The
 * gateway leaves it out of that one query of psql — recognised by its exact text (psql 15), the FOR ALL TABLES
 * branch of the list — and out of nothing else: {@code pg_publication}, {@code pg_publication_tables} and
 * psql's {@code \dRp} still show it (see README, differences by design). Pure.
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

    private ClusterPublication() {
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
