package org.mtm.applier.internal.pgoutput;

import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Type;

/**
 * The relations (and non-built-in types) a replication stream has described so far, by oid: row
 * changes name their relation only by oid, and pgoutput sends each {@code R} once per stream (again
 * after a schema change), so the receiver must remember them.
 *
 * <p>A later {@code R} for the same oid replaces the earlier one. Lookups do not allocate (open
 * addressing on the raw int oid). One cache per replication stream, used from one thread; clear it
 * when the stream is restarted (the server describes every relation again on a new stream).
 */
public final class RelationCache {

    private final OidMap<Relation> relations = new OidMap<>();
    private final OidMap<Type> types = new OidMap<>();

    /**
     * Remembers {@code R} and {@code Y} messages.
     *
     * @return true when {@code message} was a relation or type message
     */
    public boolean accept(PgOutputMessage message) {
        if (message instanceof Relation r) {
            put(r);
            return true;
        }
        if (message instanceof Type t) {
            putType(t);
            return true;
        }
        return false;
    }

    public void put(Relation relation) {
        relations.put(relation.relationId(), relation);
    }

    /** @return the relation described for {@code relationId}, or null when none was */
    public Relation get(int relationId) {
        return relations.get(relationId);
    }

    /**
     * @return the relation described for {@code relationId}
     * @throws IllegalStateException when no {@code R} message described it (the stream is out of step)
     */
    public Relation require(int relationId) {
        Relation r = relations.get(relationId);
        if (r == null) {
            throw new IllegalStateException("pgoutput stream used relation oid " + Integer.toUnsignedString(relationId)
                    + " before describing it in a Relation (R) message; restart replication from the last confirmed LSN "
                    + "with a cleared relation cache");
        }
        return r;
    }

    public void putType(Type type) {
        types.put(type.typeOid(), type);
    }

    /** @return the type described for {@code typeOid}, or null (built-in types are never described) */
    public Type type(int typeOid) {
        return types.get(typeOid);
    }

    /** Number of relations described. */
    public int size() {
        return relations.size;
    }

    public void clear() {
        relations.clear();
        types.clear();
    }

    /** int → V map with linear probing; oid 0 (InvalidOid) marks a free slot and is refused as a key. */
    private static final class OidMap<V> {
        private int[] keys = new int[16];
        private Object[] values = new Object[16];
        private int size;

        @SuppressWarnings("unchecked")
        V get(int key) {
            int mask = keys.length - 1;
            for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
                int k = keys[i];
                if (k == key && k != 0) {
                    return (V) values[i];
                }
                if (k == 0) {
                    return null;
                }
            }
        }

        void put(int key, V value) {
            if (key == 0) {
                throw new IllegalArgumentException("oid 0 (InvalidOid) cannot name a relation or type");
            }
            if ((size + 1) * 2 > keys.length) {
                grow();
            }
            insert(key, value);
        }

        private void insert(int key, Object value) {
            int mask = keys.length - 1;
            for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
                if (keys[i] == key) {
                    values[i] = value;
                    return;
                }
                if (keys[i] == 0) {
                    keys[i] = key;
                    values[i] = value;
                    size++;
                    return;
                }
            }
        }

        private void grow() {
            int[] oldKeys = keys;
            Object[] oldValues = values;
            keys = new int[oldKeys.length * 2];
            values = new Object[oldKeys.length * 2];
            size = 0;
            for (int i = 0; i < oldKeys.length; i++) {
                if (oldKeys[i] != 0) {
                    insert(oldKeys[i], oldValues[i]);
                }
            }
        }

        void clear() {
            keys = new int[16];
            values = new Object[16];
            size = 0;
        }

        private static int mix(int key) {
            int h = key * 0x9E3779B9;
            return h ^ (h >>> 16);
        }
    }
}
