package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;
import org.mtm.testing.Fuzz;

/**
 * Malformed SQL text (issue 14): the splitter and the classifiers behind it (DDL, surface calls, setval, temporary
 * stand-ins, search_path and DISCARD) see every client's query text before PostgreSQL does. Random sequences of SQL
 * fragments — unterminated quotes, dollar quotes and comments, escapes, stray semicolons, multibyte text — and byte
 * mutations of valid statements must be split into statements that cover the text in order, with no exception.
 */
public class SqlSplitterFuzzTest {
    private static final String[] FRAGMENTS = {"CREATE", "TEMP", "TEMPORARY", "TABLE", "SEQUENCE", "VIEW", "OR REPLACE",
        "SELECT", "INSERT INTO", "VALUES", "setval(", "pg_catalog.setval", "mtm.init_cluster(", "mtm.alter_sequences()",
        "AS", "ON COMMIT DROP", "DELETE ROWS", "pg_temp.", "SET search_path =", "DISCARD", "ALL", "BEGIN", "COMMIT",
        "DO", "$$", "$tag$", "$1", "'", "''", "\"", "E'", "\\'", "\\", "U&'", "--", "/*", "*/", ";", ";;", "(", ")", ",",
        "\n", " ", "\t", "x", "t1", "42", "ü", "日本", "\u0000", "CONCURRENTLY", "INDEX", "ALTER", "SET SCHEMA",
        "pg_catalog", "COPY", "FROM STDIN", "EXPLAIN", "WITH", "RETURNING", "lo_import(", "SECURITY DEFINER"};
    private static final String[] VALID = {"CREATE TEMP TABLE x (i int) ON COMMIT DROP",
        "SELECT setval('s', 100)", "INSERT INTO t VALUES (1, 'a;b'); SELECT $$x;y$$",
        "CREATE TABLE r AS SELECT * FROM t /* c; */ -- d;\n", "SELECT mtm.init_cluster('a', '{b,c}')",
        "SET search_path = a, pg_temp; DISCARD ALL", "DO $f$BEGIN RAISE NOTICE 'x;'; END$f$", "SELECT E'\\';' AS q"};

    @Test
    public void anyTextSplitsIntoStatementsWithoutAnException() {
        Fuzz fuzz = Fuzz.of("SqlSplitterFuzzTest", 40_000);
        Random r = fuzz.random();
        List<byte[]> valid = new ArrayList<>();
        for (String v : VALID) {
            valid.add(v.getBytes(StandardCharsets.UTF_8));
        }
        int statements = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            String sql;
            if (r.nextBoolean()) {
                StringBuilder b = new StringBuilder();
                for (int k = r.nextInt(20); k >= 0; k--) {
                    b.append(FRAGMENTS[r.nextInt(FRAGMENTS.length)]).append(r.nextInt(3) == 0 ? "" : " ");
                }
                sql = b.toString();
            } else {
                sql = new String(fuzz.next(valid), StandardCharsets.UTF_8);
            }
            boolean standard = r.nextBoolean();
            try {
                List<SqlStatement> split = SqlSplitter.split(sql, standard);
                int end = 0;
                for (SqlStatement st : split) {
                    assertTrue("statements in order within the text: " + st + " of '" + sql + "'",
                        st.start() >= end && st.end() <= sql.length() && st.start() <= st.end());
                    end = st.end();
                    CharSequence text = sql.subSequence(st.start(), st.end());
                    TempStandIns.rewrite(text, standard, "mtm_temp_1_a");
                    TempStandIns.setsSearchPath(text, standard);
                    TempStandIns.discards(text, standard);
                }
                SqlSplitter.classifyOne(sql, standard);
                statements += split.size();
            } catch (RuntimeException | StackOverflowError e) {
                throw new AssertionError("input #" + i + " (seed " + fuzz.seed + "): '" + sql + "': " + e, e);
            }
        }
        System.out.println("[fuzz] SqlSplitterFuzzTest: " + fuzz.inputs + " texts, " + statements + " statements");
    }
}
