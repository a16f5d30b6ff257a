package org.mtm.admin.internal.check;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import org.junit.Test;

public class ResultComparisonTest {

    private static ResultDigest result(boolean ordered, String[]... rows) {
        ResultDigest d = new ResultDigest(List.of("a", "b"), ordered);
        for (String[] r : rows) {
            d.add(Arrays.asList(r));
        }
        return d;
    }

    private static TreeMap<Integer, ResultDigest> byNode(ResultDigest... results) {
        TreeMap<Integer, ResultDigest> m = new TreeMap<>();
        for (int i = 0; i < results.length; i++) {
            m.put(i + 1, results[i]);
        }
        return m;
    }

    @Test
    public void withoutOrderByTheSameRowsInAnotherOrderAreTheSame() {
        ResultDigest one = result(false, new String[] {"1", "x"}, new String[] {"2", null});
        ResultDigest two = result(false, new String[] {"2", null}, new String[] {"1", "x"});
        assertEquals(one.hash(), two.hash());
        ResultComparison.Outcome o = ResultComparison.compare(byNode(one, two, result(false, new String[] {"1", "x"},
            new String[] {"2", null})));
        assertTrue(o.same());
        assertEquals(List.of(1, 2, 3), o.nodes());
        assertEquals(List.of(), o.differing());
        assertNull(o.firstDifference());
    }

    @Test
    public void withOrderByTheOrderCounts() {
        ResultDigest one = result(true, new String[] {"1", "x"}, new String[] {"2", "y"});
        ResultDigest two = result(true, new String[] {"2", "y"}, new String[] {"1", "x"});
        assertNotEquals(one.hash(), two.hash());
        ResultComparison.Outcome o = ResultComparison.compare(byNode(one, two));
        assertFalse(o.same());
        assertEquals("on a tie the group with the lowest node is the reference", 1, o.reference());
        assertEquals(List.of(2), o.differing());
        assertEquals("mismatch in column 'a' of row 0: 1 on node1, 2 on node2", o.firstDifference());
    }

    @Test
    public void theNodeThatDiffersFromTheOthersIsNamedWithTheFirstDifference() {
        String[][] rows = {{"1", "256"}, {"2", "7"}};
        ResultComparison.Outcome o = ResultComparison.compare(byNode(result(false, rows),
            result(false, new String[] {"2", "7"}, new String[] {"1", "255"}), result(false, rows)));
        assertFalse(o.same());
        assertEquals(1, o.reference());
        assertEquals(List.of(2), o.differing());
        assertEquals("mismatch in column 'b' of row 0: 256 on node1, 255 on node2", o.firstDifference());

        o = ResultComparison.compare(byNode(result(false, new String[] {"1", "255"}), result(false, rows), result(false, rows)));
        assertEquals("the majority is the reference", 2, o.reference());
        assertEquals(List.of(1), o.differing());
    }

    @Test
    public void anExtraRowIsAMismatchInRowCount() {
        ResultComparison.Outcome o = ResultComparison.compare(byNode(result(false, new String[] {"1", "x"}),
            result(false, new String[] {"1", "x"}, new String[] {"9", "z"})));
        assertEquals(List.of(2), o.differing());
        assertEquals("mismatch in row count: 1 on node1, 2 on node2", o.firstDifference());
    }

    @Test
    public void nullIsNotTheTextNull() {
        assertNotEquals(result(true, new String[] {null, "x"}).hash(), result(true, new String[] {"null", "x"}).hash());
        assertNotEquals("values do not run into each other", result(true, new String[] {"ab", ""}).hash(),
            result(true, new String[] {"a", "b"}).hash());
    }

    @Test
    public void beyondTheKeptRowsOnlyTheDigestsTell() {
        ResultDigest a = new ResultDigest(List.of("a", "b"), false);
        ResultDigest b = new ResultDigest(List.of("a", "b"), false);
        for (int i = 0; i <= ResultDigest.KEPT_ROWS; i++) {
            a.add(List.of(Integer.toString(i), "v"));
            b.add(List.of(Integer.toString(i), i == ResultDigest.KEPT_ROWS ? "w" : "v"));
        }
        assertFalse(a.complete());
        String difference = ResultComparison.compare(byNode(a, b)).firstDifference();
        assertTrue(difference, difference.startsWith("mismatch in rows beyond the first 1000 (1001 rows each): digest "));
    }

    @Test
    public void differentColumnsAreAMismatch() {
        ResultDigest a = new ResultDigest(List.of("a"), true);
        ResultDigest b = new ResultDigest(List.of("b"), true);
        assertEquals("mismatch in columns: [a] on node1, [b] on node2", ResultComparison.compare(byNode(a, b)).firstDifference());
    }
}
