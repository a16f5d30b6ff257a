package org.mtm.applier.internal;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;

/**
 * A relation of the origin's stream as this node applies it: the origin's description ({@code R}
 * message), the local type of each of its columns (looked up by column name, so the local column order
 * does not matter) and the prepared statements built for it. A new {@code R} for the same oid makes a
 * new target; the old one's statements are closed.
 */
final class Target {
    final Relation relation;
    /** {@code "schema"."name"}. */
    final String qualifiedName;
    /** Quoted column names, in the origin's column order (the order of TupleData). */
    final String[] columns;
    /**
     * Local type of each column with its modifier ({@code format_type(atttypid, atttypmod)}: {@code character(5)},
     * not {@code character}, which means char(1)), qualified unless in pg_catalog; used where a value is compared.
     */
    final String[] types;
    /** True when the local type has a default btree equality (or is a string type): compare with {@code =}. */
    final boolean[] equality;
    /** {@code GENERATED ALWAYS AS IDENTITY}: written with OVERRIDING SYSTEM VALUE, never assigned by UPDATE. */
    final boolean[] identityAlways;
    /** Column indexes of the replica identity key (flagged K in the relation message). */
    final int[] keyColumns;
    /** The local table has a primary key ({@code ignore_tables_without_pk} skips those that have none). */
    final boolean hasPrimaryKey;
    /** Columns of a domain type: an UPDATE assigns them only when their value changes ({@link Sql#update}). */
    boolean[] domain;
    /**
     * The base type (with its modifier) of each domain column, null for others: a value compared is cast to it, not to
     * the domain, whose NOT VALID constraints an old value the origin kept may violate.
     */
    String[] baseTypes;
    /** The sequence that feeds each column (regclass text), or null; read with {@code monotonic_sequences}. */
    String[] sequences;

    private final Map<Object, PreparedStatement> statements = new HashMap<>();

    Target(Relation relation, String[] types, boolean[] equality, boolean[] identityAlways, boolean hasPrimaryKey) {
        this.relation = relation;
        this.hasPrimaryKey = hasPrimaryKey;
        this.qualifiedName = Sql.quoteIdent(relation.schema()) + '.' + Sql.quoteIdent(relation.name());
        List<Column> cols = relation.columns();
        this.columns = new String[cols.size()];
        List<Integer> keys = new ArrayList<>();
        for (int i = 0; i < cols.size(); i++) {
            columns[i] = Sql.quoteIdent(cols.get(i).name());
            if (cols.get(i).isKey()) {
                keys.add(i);
            }
        }
        this.keyColumns = keys.stream().mapToInt(Integer::intValue).toArray();
        this.types = types.clone();
        this.equality = equality.clone();
        this.identityAlways = identityAlways.clone();
        this.domain = new boolean[cols.size()];
        this.baseTypes = new String[cols.size()];
        this.sequences = new String[cols.size()];
    }

    /** The base type of each domain column (null where none). */
    Target withBaseTypes(String[] bases) {
        this.baseTypes = bases.clone();
        return this;
    }

    /** Names the sequence feeding each column (null where none). */
    Target withSequences(String[] feeding) {
        this.sequences = feeding.clone();
        return this;
    }

    /** Marks the columns of a domain type. */
    Target withDomains(boolean[] domains) {
        this.domain = domains.clone();
        return this;
    }

    /** True when some column is {@code GENERATED ALWAYS AS IDENTITY}. */
    boolean hasIdentityAlways() {
        for (boolean b : identityAlways) {
            if (b) {
                return true;
            }
        }
        return false;
    }

    /** REPLICA IDENTITY FULL: the old row is identified by all its columns. */
    boolean fullIdentity() {
        return relation.replicaIdentity() == ReplicaIdentity.FULL;
    }

    /** Schema and name as the origin spells them, for messages. */
    String displayName() {
        return relation.qualifiedName();
    }

    PreparedStatement statement(Object shape) {
        return statements.get(shape);
    }

    void remember(Object shape, PreparedStatement statement) {
        statements.put(shape, statement);
    }

    int statementCount() {
        return statements.size();
    }

    void close() {
        for (PreparedStatement ps : statements.values()) {
            try {
                ps.close();
            } catch (SQLException e) {
                // the connection is going away or already gone: nothing to release
            }
        }
        statements.clear();
    }
}
