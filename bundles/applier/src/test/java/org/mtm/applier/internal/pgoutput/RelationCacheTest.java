package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;

import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamStop;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Type;

public class RelationCacheTest {

    private static Relation relation(int oid, String name) {
        return new Relation(0, oid, "public", name, ReplicaIdentity.DEFAULT, List.of(new Column(1, "id", 23, -1)));
    }

    @Test
    public void laterRelationMessageReplacesTheEarlierOne() {
        RelationCache cache = new RelationCache();
        assertTrue(cache.accept(relation(16384, "a")));
        Relation renamed = relation(16384, "b");
        cache.put(renamed);
        assertSame(renamed, cache.get(16384));
        assertEquals(1, cache.size());
    }

    @Test
    public void unknownRelationIsNullOrANamedError() {
        RelationCache cache = new RelationCache();
        assertNull(cache.get(16384));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.require(-2));
        assertTrue(e.getMessage(), e.getMessage().contains("relation oid 4294967294 before describing it"));
    }

    @Test
    public void holdsManyRelationsIncludingOidsAbove2Pow31() {
        RelationCache cache = new RelationCache();
        for (int i = 1; i <= 5000; i++) {
            cache.put(relation(i * 7919, "r" + i));
            cache.put(relation(-i, "high" + i));
        }
        assertEquals(10000, cache.size());
        for (int i = 1; i <= 5000; i++) {
            assertEquals("r" + i, cache.require(i * 7919).name());
            assertEquals("high" + i, cache.require(-i).name());
        }
        assertNull(cache.get(7918));
        cache.clear();
        assertEquals(0, cache.size());
        assertNull(cache.get(7919));
    }

    @Test
    public void typesAreKeptApartFromRelations() {
        RelationCache cache = new RelationCache();
        Type mood = new Type(0, 16387, "app", "mood");
        assertTrue(cache.accept(mood));
        assertSame(mood, cache.type(16387));
        assertNull(cache.get(16387));
        assertFalse(cache.accept(new StreamStop()));
        assertEquals(0, cache.size());
    }

    @Test
    public void invalidOidIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RelationCache().put(relation(0, "zero")));
    }
}
