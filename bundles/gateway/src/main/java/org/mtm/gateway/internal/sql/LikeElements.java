package org.mtm.gateway.internal.sql;

import java.util.List;

/**
 * The {@code LIKE source [INCLUDING|EXCLUDING option ...]} elements of a CREATE TABLE's column list, and the
 * statement's text cut around them: {@code between} holds the text before the first element, between two and after
 * the last (one more than the elements). Each element's text runs from just after the {@code (} or {@code ,} before
 * it to just before the {@code ,} or {@code )} after it, so that the pieces around it end and start with exactly
 * those characters. A source on the origin only (a temporary table, a stand-in) is given to the other nodes as its
 * columns written out ({@code mtm.like_text}); the other elements are kept as written.
 *
 * @param sources   the sources as written ({@code to_regclass} reads them)
 * @param elements  each element's text as written
 * @param including each element's options in effect after its INCLUDING and EXCLUDING clauses, read left to right
 *                  as PostgreSQL does: lower-case names ({@code defaults}, {@code constraints}, ...) separated by a
 *                  space, {@code ""} for none
 * @param between   the text around the elements, one more than them
 */
public record LikeElements(List<String> sources, List<String> elements, List<String> including, List<String> between) {
    /** PostgreSQL 15's LIKE options ({@code TableLikeOption}), which INCLUDING ALL turns on. */
    public static final List<String> OPTIONS = List.of("comments", "compression", "constraints", "defaults", "generated",
            "identity", "indexes", "statistics", "storage");

    public LikeElements {
        sources = List.copyOf(sources);
        elements = List.copyOf(elements);
        including = List.copyOf(including);
        between = List.copyOf(between);
        if (elements.size() != sources.size() || including.size() != sources.size()
                || between.size() != sources.size() + 1) {
            throw new IllegalArgumentException("between must hold one more piece than there are elements");
        }
    }
}
