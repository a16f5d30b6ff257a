package org.mtm.gateway.internal.sql;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A multimaster function call the gateway answers itself (manual F.31.5.2; the mtm schema's SQL functions
 * such as mtm.status() are real and run in PostgreSQL): {@code CREATE EXTENSION multimaster},
 * {@code SELECT mtm.init_cluster(my_conninfo text, peers_conninfo text[])}, {@code SELECT mtm.alter_sequences()},
 * {@code SELECT mtm.check_query(query_text text)}, {@code SELECT mtm.get_snapshots()}, {@code SELECT mtm.free_snapshots()}.
 * Arguments are literals, {@code ARRAY[...]} constructors or extended-protocol parameters, resolved when the
 * call runs ({@link #text}, {@link #textArray}).
 */
public record SurfaceCall(Function function, List<Arg> args) {

    /** The functions, with the result column PostgreSQL would name and its type. */
    public enum Function {
        CREATE_EXTENSION(null, 0),
        /** {@code mtm.init_cluster(text, text[]) RETURNS void}. */
        INIT_CLUSTER("init_cluster", 2278),
        /** {@code mtm.alter_sequences() RETURNS boolean}. */
        ALTER_SEQUENCES("alter_sequences", 16),
        /** {@code mtm.check_query(query_text text) RETURNS boolean}. */
        CHECK_QUERY("check_query", 16),
        /** {@code mtm.get_snapshots() RETURNS text}: the snapshot id by node. */
        GET_SNAPSHOTS("get_snapshots", 25),
        /** {@code mtm.free_snapshots() RETURNS void}. */
        FREE_SNAPSHOTS("free_snapshots", 2278),
        /** {@code mtm.drop_node(node_id integer) RETURNS void}. */
        DROP_NODE("drop_node", 2278),
        /** {@code mtm.add_node(connstr text) RETURNS integer}: the new node's id. */
        ADD_NODE("add_node", 23),
        /** {@code mtm.join_node(node_id integer, backup_end_lsn pg_lsn) RETURNS void}. */
        JOIN_NODE("join_node", 2278),
        /** {@code mtm.ping() RETURNS boolean}: true, or an error naming the node that is not online. */
        PING("ping", 16);

        private final String column;
        private final int typeOid;

        Function(String column, int typeOid) {
            this.column = column;
            this.typeOid = typeOid;
        }

        /** Result column name, null for a utility statement (no rows). */
        public String column() {
            return column;
        }

        public int typeOid() {
            return typeOid;
        }
    }

    /** One argument: a literal (text), a parameter {@code $n}, an {@code ARRAY[...]} of those, or NULL. */
    public record Arg(String literal, int parameter, List<Arg> elements) {
        public static final Arg NULL = new Arg(null, 0, null);

        static Arg literal(String value) {
            return new Arg(value, 0, null);
        }

        static Arg parameter(int n) {
            return new Arg(null, n, null);
        }

        static Arg array(List<Arg> elements) {
            return new Arg(null, 0, List.copyOf(elements));
        }

        boolean isNull() {
            return literal == null && parameter == 0 && elements == null;
        }

        @Override
        public String toString() {
            if (parameter > 0) {
                return "$" + parameter;
            }
            if (elements != null) {
                return "ARRAY" + elements;
            }
            return literal == null ? "NULL" : "'" + literal + "'";
        }
    }

    /** The bound values of extended-protocol parameters, 1-based. */
    public interface Parameters {
        /** The value's bytes (null for SQL NULL); throws when there is no such parameter. */
        byte[] value(int n);

        /** Whether the value is in binary format. */
        boolean binary(int n);

        Parameters NONE = new Parameters() {
            @Override
            public byte[] value(int n) {
                throw new IllegalArgumentException("there is no parameter $" + n);
            }

            @Override
            public boolean binary(int n) {
                return false;
            }
        };
    }

    /** A call that cannot run as written: the SQLSTATE and message the client gets. */
    public static final class CallException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String sqlState;

        public CallException(String sqlState, String message) {
            super(message);
            this.sqlState = sqlState;
        }

        public String sqlState() {
            return sqlState;
        }
    }

    static SurfaceCall createExtension() {
        return new SurfaceCall(Function.CREATE_EXTENSION, List.of());
    }

    /** Argument {@code index} as text (no NULL). */
    public String text(int index, Parameters params, String name) throws CallException {
        Arg a = args.get(index);
        String v = a.parameter() > 0 ? parameterText(a.parameter(), params) : a.literal();
        if (a.elements() != null) {
            throw new CallException("42804", "[multimaster] " + name + " must be text, not an array");
        }
        if (v == null) {
            throw new CallException("22004", "[multimaster] " + name + " must not be NULL");
        }
        return v;
    }

    /**
     * Argument {@code index} as an integer: a number or string literal, or a parameter in text or binary (int2, int4
     * or int8) format; no NULL.
     */
    public int integer(int index, Parameters params, String name) throws CallException {
        Arg a = args.get(index);
        String v;
        if (a.parameter() > 0 && params.binary(a.parameter())) {
            byte[] raw = params.value(a.parameter());
            if (raw == null) {
                throw new CallException("22004", "[multimaster] " + name + " must not be NULL");
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw);
            long n = switch (raw.length) {
                case 2 -> b.getShort();
                case 4 -> b.getInt();
                case 8 -> b.getLong();
                default -> throw new CallException("22P03", "[multimaster] " + name + ": a binary integer of "
                    + raw.length + " bytes");
            };
            v = Long.toString(n);
        } else {
            v = text(index, params, name);
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new CallException("22P02", "[multimaster] invalid input syntax for type integer: \"" + v + "\" ("
                + name + ")");
        }
    }

    /** Argument {@code index} as a text array: an array literal, ARRAY[...] or an array parameter (no NULLs). */
    public List<String> textArray(int index, Parameters params, String name) throws CallException {
        Arg a = args.get(index);
        List<String> values;
        try {
            if (a.elements() != null) {
                values = new ArrayList<>(a.elements().size());
                for (Arg e : a.elements()) {
                    values.add(e.parameter() > 0 ? parameterText(e.parameter(), params) : e.literal());
                }
            } else if (a.parameter() > 0) {
                byte[] raw = params.value(a.parameter());
                if (raw == null) {
                    throw new CallException("22004", "[multimaster] " + name + " must not be NULL");
                }
                values = params.binary(a.parameter()) ? PgArrays.decodeBinary(raw)
                        : PgArrays.parse(new String(raw, StandardCharsets.UTF_8));
            } else if (a.literal() != null) {
                values = PgArrays.parse(a.literal());
            } else {
                throw new CallException("22004", "[multimaster] " + name + " must not be NULL");
            }
        } catch (IllegalArgumentException e) {
            throw new CallException("22P02", e.getMessage());
        }
        for (String v : values) {
            if (v == null) {
                throw new CallException("22004", "[multimaster] " + name + " must not contain NULL");
            }
        }
        return values;
    }

    private static String parameterText(int n, Parameters params) throws CallException {
        byte[] raw;
        try {
            raw = params.value(n);
        } catch (IllegalArgumentException e) {
            throw new CallException("08P01", e.getMessage());
        }
        return raw == null ? null : new String(raw, StandardCharsets.UTF_8);
    }

    /**
     * The query PostgreSQL parses in place of this call in the extended protocol: same parameters (with the
     * types the function declares), same result column and type, so Parse, Bind and Describe are the server's
     * own answers; the gateway answers the Execute.
     */
    public String standIn() {
        StringBuilder b = new StringBuilder("SELECT ");
        String value = switch (function) {
            case ALTER_SEQUENCES, CHECK_QUERY, PING -> "true";
            case GET_SNAPSHOTS -> "''::pg_catalog.text";
            case ADD_NODE -> "0::pg_catalog.int4";
            default -> "''::pg_catalog.void";
        };
        b.append(value).append(" AS ").append(function.column());
        TreeMap<Integer, String> types = new TreeMap<>();
        for (int i = 0; i < args.size(); i++) {
            Arg a = args.get(i);
            boolean arrayArgument = function == Function.INIT_CLUSTER && i == 1;
            if (a.parameter() > 0) {
                types.put(a.parameter(), function == Function.DROP_NODE || (function == Function.JOIN_NODE && i == 0)
                        ? "pg_catalog.int4"
                        : arrayArgument ? "pg_catalog.text[]" : "pg_catalog.text");
            } else if (a.elements() != null) {
                for (Arg e : a.elements()) {
                    if (e.parameter() > 0) {
                        types.put(e.parameter(), "pg_catalog.text");
                    }
                }
            }
        }
        if (!types.isEmpty()) {
            StringBuilder list = new StringBuilder();
            types.forEach((n, type) -> list.append(list.length() == 0 ? "" : ", ").append('$').append(n).append("::")
                    .append(type));
            b.append(" FROM (SELECT ").append(list).append(") AS mtm_arguments");
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return function == Function.CREATE_EXTENSION ? "CREATE EXTENSION multimaster" : "mtm." + function.column() + args;
    }
}
