package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
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
        return new Target(r, new String[] {"integer", "character(5)", "json"}, new boolean[] {true, true, false},
                new boolean[] {false, false, false}, true);
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
    public void insertLetsEachColumnTypeItsValue() {
        assertEquals("INSERT INTO \"my \"\"schema\"\"\".\"T\" (\"id\", \"v\", \"doc\") VALUES (?, ?, ?)"
                + " /* integer, character(5), json */", Sql.insert(target(ReplicaIdentity.DEFAULT)));
    }

    @Test
    public void insertOverridesAnAlwaysIdentityAndUpdateGuardsIt() {
        Relation r = new Relation(0, 16384, "s", "T", ReplicaIdentity.DEFAULT, List.of(
                new Column(Column.FLAG_KEY, "k", 25, -1), new Column(0, "a", 20, -1), new Column(0, "v", 25, -1)));
        Target t = new Target(r, new String[] {"text", "bigint", "text"}, new boolean[] {true, true, true},
                new boolean[] {false, true, false}, true);
        assertEquals("INSERT INTO \"s\".\"T\" (\"k\", \"a\", \"v\") OVERRIDING SYSTEM VALUE VALUES (?, ?, ?) /* text, bigint, text */",
                Sql.insert(t));
        assertEquals("UPDATE ONLY \"s\".\"T\" SET \"v\" = ? WHERE \"k\" = ?::text AND \"a\" = ?::bigint /* text */",
                Sql.update(t, bits(2), bits(0), bits(), bits(1)));
    }

    @Test
    public void updateByKeySetsOnlyTheSentColumns() {
        Target t = target(ReplicaIdentity.DEFAULT);
        assertEquals("UPDATE ONLY \"my \"\"schema\"\"\".\"T\" SET \"id\" = ?, \"doc\" = ? WHERE \"id\" = ?::integer"
                + " /* integer, json */", Sql.update(t, bits(0, 2), bits(0), bits(), bits()));
    }

    @Test
    public void theTextOfAStatementChangesWithTheTypesItsParametersTake() {
        // pgjdbc reuses a server-prepared statement by its text; after ALTER COLUMN ... TYPE the text must differ
        Relation r = new Relation(0, 16384, "s", "T", ReplicaIdentity.DEFAULT, List.of(
                new Column(Column.FLAG_KEY, "id", 23, -1), new Column(0, "name", 25, -1)));
        Target before = new Target(r, new String[] {"integer", "text"}, new boolean[] {true, true}, new boolean[2], true);
        Target after = new Target(r, new String[] {"integer", "integer"}, new boolean[] {true, true}, new boolean[2], true);
        assertNotEquals(Sql.insert(before), Sql.insert(after));
        assertNotEquals(Sql.update(before, bits(1), bits(0), bits(), bits()), Sql.update(after, bits(1), bits(0), bits(), bits()));
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
