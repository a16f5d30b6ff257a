package org.mtm.admin.internal.check;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class QueryOrderTest {

    @Test
    public void aTopLevelOrderByOrdersTheRows() {
        assertTrue(QueryOrder.ordersRows("SELECT * FROM my_table ORDER BY id"));
        assertTrue(QueryOrder.ordersRows("select a from t order\n  by 1 desc limit 3;"));
        assertTrue(QueryOrder.ordersRows("SELECT * FROM (SELECT 1 AS x) s ORDER BY x"));
    }

    @Test
    public void anOrderByElsewhereDoesNot() {
        assertFalse(QueryOrder.ordersRows("SELECT * FROM my_table"));
        assertFalse("in a subquery", QueryOrder.ordersRows("SELECT * FROM (SELECT * FROM t ORDER BY id) s"));
        assertFalse("in an aggregate's arguments", QueryOrder.ordersRows("SELECT string_agg(v, ',' ORDER BY v) FROM t"));
        assertFalse("in a window", QueryOrder.ordersRows("SELECT row_number() OVER (ORDER BY id) FROM t"));
        assertFalse("in a string", QueryOrder.ordersRows("SELECT 'ORDER BY id' FROM t"));
        assertFalse("in a quoted identifier", QueryOrder.ordersRows("SELECT \"order by\" FROM t"));
        assertFalse("in a line comment", QueryOrder.ordersRows("SELECT * FROM t -- ORDER BY id"));
        assertFalse("in a block comment", QueryOrder.ordersRows("SELECT * FROM t /* ORDER /* nested */ BY id */"));
        assertFalse("in a dollar-quoted string", QueryOrder.ordersRows("SELECT $x$ ) ORDER BY id $x$ FROM t"));
        assertFalse("not adjacent", QueryOrder.ordersRows("SELECT \"order\", by FROM t"));
    }

    @Test
    public void quotesInsideQuotesDoNotEndThem() {
        assertFalse(QueryOrder.ordersRows("SELECT 'it''s ORDER BY' FROM t"));
        assertTrue(QueryOrder.ordersRows("SELECT 'it''s' AS s FROM t ORDER BY s"));
        assertTrue("a parameter is no dollar quote", QueryOrder.ordersRows("SELECT * FROM t WHERE a = $1 ORDER BY a"));
    }
}
