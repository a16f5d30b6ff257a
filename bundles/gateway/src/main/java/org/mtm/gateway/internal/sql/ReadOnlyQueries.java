package org.mtm.gateway.internal.sql;

import java.util.Set;

/**
 * Which select-like queries read only, judged from their text ({@link Replication.Reach#READ}): no locking clause
 * ({@code FOR UPDATE|SHARE}), no {@code INTO}, no data-modifying {@code WITH} (INSERT, UPDATE, DELETE, MERGE), and
 * every call one of PostgreSQL's built-in functions that cannot write, or syntax that merely looks like a call
 * ({@code IN (...)}, {@code CAST(...)}, {@code varchar(10)}). Anything else — a user's function, {@code nextval},
 * a quoted name before a parenthesis — counts as a possible write.
 *
 * <p>The text cannot show everything (a view, a row-level security policy or an operator may call a writing
 * function): the gateway runs an autocommit READ query in a read-only transaction, so such a hidden write fails
 * (25006) rather than committing on one node. Pure.
 */
final class ReadOnlyQueries {
    private ReadOnlyQueries() {
    }

    /** Words that make a statement a possible write wherever they appear. */
    private static final Set<String> WRITING_WORDS = Set.of("insert", "update", "delete", "merge", "into", "for",
            "lock", "nextval", "setval", "call", "do", "execute");

    /** Words before a parenthesis that are syntax or built-in functions that cannot write. */
    private static final Set<String> READING_CALLS = Set.of(
            // syntax
            "in", "exists", "any", "all", "some", "values", "array", "row", "over", "filter", "as", "on", "using",
            "from", "where", "and", "or", "not", "select", "join", "lateral", "when", "then", "else", "case",
            "between", "is", "by", "with", "recursive", "union", "intersect", "except", "group", "order", "partition",
            "having", "limit", "offset", "distinct", "coalesce", "nullif", "greatest", "least", "cast", "extract",
            "position", "substring", "trim", "overlay", "interval", "window", "rows", "range", "groups", "like",
            "ilike", "similar", "within", "grouping", "cube", "rollup", "sets", "numeric", "decimal", "varchar",
            "char", "character", "varying", "timestamp", "time", "float", "bit", "escape", "fetch", "first", "next",
            "only", "asc", "desc", "nulls", "last", "table", "collate",
            // aggregates and window functions
            "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "array_agg", "string_agg",
            "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "stddev", "stddev_pop", "stddev_samp",
            "variance", "var_pop", "var_samp", "percentile_cont", "percentile_disc", "mode", "row_number", "rank",
            "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value",
            "nth_value",
            // scalar functions
            "now", "lower", "upper", "length", "char_length", "octet_length", "abs", "round", "floor", "ceil",
            "ceiling", "trunc", "mod", "power", "sqrt", "exp", "ln", "log", "sign", "random", "to_char", "to_date",
            "to_timestamp", "to_number", "date_trunc", "date_part", "age", "concat", "concat_ws", "replace",
            "split_part", "left", "right", "lpad", "rpad", "ltrim", "rtrim", "btrim", "strpos", "md5", "format",
            "regexp_replace", "regexp_match", "regexp_matches", "starts_with", "string_to_array", "array_to_string",
            "array_length", "cardinality", "unnest", "generate_series", "to_json", "to_jsonb", "row_to_json",
            "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array", "encode", "decode",
            "clock_timestamp", "statement_timestamp", "transaction_timestamp", "make_date", "make_interval",
            "num_nulls", "num_nonnulls", "pg_typeof", "current_setting", "version", "current_database",
            "gen_random_uuid");

    /** Whether the word {@code text[from, to)} makes its statement a possible write. */
    static boolean writingWord(CharSequence text, int from, int to) {
        int n = to - from;
        return n >= 2 && n <= 7 && WRITING_WORDS.contains(lower(text, from, to));
    }

    /** Whether the word {@code text[from, to)} before a parenthesis is syntax or a built-in reading function. */
    static boolean readingCall(CharSequence text, int from, int to) {
        return to - from <= 20 && READING_CALLS.contains(lower(text, from, to));
    }

    private static String lower(CharSequence text, int from, int to) {
        char[] c = new char[to - from];
        for (int k = 0; k < c.length; k++) {
            char ch = text.charAt(from + k);
            c[k] = ch >= 'A' && ch <= 'Z' ? (char) (ch + ('a' - 'A')) : ch;
        }
        return new String(c);
    }
}
