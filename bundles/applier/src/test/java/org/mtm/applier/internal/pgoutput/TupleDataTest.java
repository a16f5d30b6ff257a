package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;

import java.nio.charset.StandardCharsets;

import org.junit.Test;

public class TupleDataTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    public void builtTupleAnswersLikeADecodedOne() {
        TupleData row = TupleData.of(new byte[] {'t', 'n', 'u', 'b', 't'},
                new byte[][] {utf8("1"), null, null, new byte[] {0, 0, 0, 7}, utf8("")});
        assertEquals(5, row.size());
        assertEquals("1", row.text(0));
        assertNull(row.text(1));
        assertEquals(4, row.valueLength(3));
        assertArrayEquals(new byte[] {0, 0, 0, 7}, row.bytes(3));
        assertEquals(7, row.value(3).getInt());
        assertEquals("", row.text(4));
        assertEquals("('1', NULL, UNCHANGED, <4 binary bytes>, '')", row.toString());
        byte[] copy = row.bytes(0);
        copy[0] = 'x';
        assertEquals("1", row.text(0));
    }

    @Test
    public void equalityIsByContent() {
        TupleData a = TupleData.of(new byte[] {'t', 'n'}, new byte[][] {utf8("ab"), null});
        TupleData b = TupleData.of(new byte[] {'t', 'n'}, new byte[][] {utf8("ab"), null});
        TupleData split = TupleData.of(new byte[] {'t', 't'}, new byte[][] {utf8("a"), utf8("b")});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, split);
        assertNotEquals(split, TupleData.of(new byte[] {'t', 't'}, new byte[][] {utf8("ab"), utf8("")}));
    }

    @Test
    public void inconsistentValuesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TupleData.of(new byte[] {'t'}, new byte[][] {null}));
        assertThrows(IllegalArgumentException.class, () -> TupleData.of(new byte[] {'n'}, new byte[][] {utf8("x")}));
        assertThrows(IllegalArgumentException.class, () -> TupleData.of(new byte[] {'x'}, new byte[][] {null}));
        assertThrows(IllegalArgumentException.class, () -> TupleData.of(new byte[] {'n'}, new byte[0][]));
    }

    @Test
    public void longTextIsCutInToString() {
        TupleData row = TupleData.of(new byte[] {'t'}, new byte[][] {utf8("x".repeat(100))});
        assertEquals("('" + "x".repeat(40) + "...(100 chars)')", row.toString());
    }
}
