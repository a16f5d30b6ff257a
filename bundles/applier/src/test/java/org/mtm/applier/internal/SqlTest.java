package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.BitSet;
import java.util.List;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;

public class SqlTest {

    private static Target target(ReplicaIdentity identity) {
        Relation r = new Relation(0, 16384, "my \"schema\"", "T", identity, List.of(
                new Column(Column.FLAG_KEY, "id", 23, -1),
                new Column(0, "v", 25, -1),
                new Column(0, "doc", 114, -1)));
        return new Target(r, new String[] {"integer", "text", "json"}, new boolean[] {true, true, false}, true);
    }

    private static BitSet bits(int... i) {
        BitSet b = new BitSet();
        for (int x : i) {
            b.set(x);
        }
        return b;
    }

    @Test
    public void quotesIdentifiersAndLiterals() {
        assertEquals("\"a\"\"b\"", Sql.quoteIdent("a\"b"));
        assertEquals("'it''s'", Sql.quoteLiteral("it's"));
        assertThrows(IllegalArgumentException.class, () -> Sql.quoteLiteral("a\0b"));
    }

    @Test
    public void insertCastsEveryValueToTheLocalType() {
        assertEquals("INSERT INTO \"my \"\"schema\"\"\".\"T\" (\"id\", \"v\", \"doc\") VALUES (?::integer, ?::text, ?::json)",
                Sql.insert(target(ReplicaIdentity.DEFAULT)));
    }

    @Test
    public void updateByKeySetsOnlyTheSentColumns() {
        Target t = target(ReplicaIdentity.DEFAULT);
        assertEquals("UPDATE ONLY \"my \"\"schema\"\"\".\"T\" SET \"id\" = ?::integer, \"doc\" = ?::json WHERE \"id\" = ?::integer",
                Sql.update(t, bits(0, 2), bits(0), bits()));
    }

    @Test
    public void fullIdentityMatchesNullsAndTypesWithoutEqualityAndChangesOneRow() {
        Target t = target(ReplicaIdentity.FULL);
        assertEquals("DELETE FROM ONLY \"my \"\"schema\"\"\".\"T\" WHERE ctid = (SELECT ctid FROM ONLY \"my \"\"schema\"\"\".\"T\""
                + " WHERE \"id\" = ?::integer AND \"v\" IS NULL AND \"doc\"::text = (?::json)::text LIMIT 1 FOR UPDATE)",
                Sql.delete(t, bits(0, 1, 2), bits(1)));
    }

    @Test
    public void noIdentityColumnsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Sql.delete(target(ReplicaIdentity.DEFAULT), bits(), bits()));
    }

    @Test
    public void truncateCarriesItsOptions() {
        Target t = target(ReplicaIdentity.DEFAULT);
        assertEquals("TRUNCATE ONLY \"my \"\"schema\"\"\".\"T\"", Sql.truncate(List.of(t), false, false));
        assertEquals("TRUNCATE ONLY \"my \"\"schema\"\"\".\"T\", \"my \"\"schema\"\"\".\"T\" RESTART IDENTITY CASCADE",
                Sql.truncate(List.of(t, t), true, true));
    }
}
