package org.mtm.applier.internal;

import java.sql.SQLException;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;

/**
 * A column of the local table a peer's relation is applied to, as the catalog describes it.
 *
 * @param type           {@code format_type(atttypid, atttypmod)}
 * @param equality       the type has a default btree equality (or is a string type)
 * @param typeModifier   {@code atttypmod}
 * @param typeOid        {@code atttypid}
 * @param identityAlways {@code GENERATED ALWAYS AS IDENTITY}
 * @param generated      a stored generated column: computed here, never written
 * @param domain         the type is a domain: its constraints are checked whenever a value is assigned
 */
record LocalColumn(String type, boolean equality, int typeModifier, long typeOid, boolean identityAlways,
                   boolean generated, boolean domain) {

    LocalColumn(String type, boolean equality, int typeModifier, long typeOid, boolean identityAlways, boolean generated) {
        this(type, equality, typeModifier, typeOid, identityAlways, generated, false);
    }

    /** Oids below this are built in and the same on every server; user types get a different oid on each node. */
    private static final long FIRST_NORMAL_OID = 16384;

    /**
     * Refuses (0A000) a column the origin describes differently: the value would be converted on the way
     * (numeric(10,2) into numeric(10,1) rounds, char(5) into char(3) cuts), so the nodes would silently diverge.
     */
    void checkSameAs(Column origin, Relation relation, int peer, int self) throws SQLException {
        boolean sameType = origin.typeOid() == (int) typeOid || (typeOid >= FIRST_NORMAL_OID
                && Integer.toUnsignedLong(origin.typeOid()) >= FIRST_NORMAL_OID);
        if (generated || !sameType || origin.typeModifier() != typeModifier) {
            throw new SQLException("column \"" + origin.name() + "\" of relation " + relation.qualifiedName() + " of node "
                    + peer + " is " + (generated ? "a generated column" : type) + " on node " + self
                    + " but of type oid " + Integer.toUnsignedString(origin.typeOid()) + " with modifier "
                    + origin.typeModifier() + " on node " + peer + ": the nodes' schemas differ, its values would change"
                    + " on the way", "0A000");
        }
    }
}
