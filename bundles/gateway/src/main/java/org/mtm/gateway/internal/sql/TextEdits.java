package org.mtm.gateway.internal.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * The replacements a rewrite of the client's statement made ({@link TempStandIns}), kept so that a position in the
 * rewritten text — PostgreSQL's error cursor — can be taken back to the client's text (issue 8 part 5: the client
 * sees its own statement's positions). Indexes are of the same unit on both sides (chars of a {@code Latin1View},
 * i.e. bytes of the client's text). Pure.
 */
public final class TextEdits {
    /** Original {@code [from, to)} replaced by {@code text}. */
    private record Edit(int from, int to, String text) { }

    private final String original;
    private final List<Edit> edits = new ArrayList<>();

    /** No edits yet of {@code original} (copied: the client's buffer it may view is released). */
    public TextEdits(CharSequence original) {
        this.original = original.toString();
    }

    /** Replaces {@code [from, to)} of the original; edits must come in order and not overlap. */
    public TextEdits replace(int from, int to, String text) {
        if (from > to || (!edits.isEmpty() && from < edits.get(edits.size() - 1).to())) {
            throw new IllegalArgumentException("edit [" + from + ", " + to + ") out of order");
        }
        edits.add(new Edit(from, to, text));
        return this;
    }

    /** The text the edits apply to. */
    public String original() {
        return original;
    }

    public boolean isEmpty() {
        return edits.isEmpty();
    }

    /** The rewritten text. */
    public String apply() {
        StringBuilder b = new StringBuilder(original.length() + 32);
        int copied = 0;
        for (Edit e : edits) {
            b.append(original, copied, e.from()).append(e.text());
            copied = e.to();
        }
        return b.append(original, copied, original.length()).toString();
    }

    /**
     * The original index of rewritten index {@code index}. Inside a replacement: the same character of the original
     * where the two end alike (the name {@code foo} of {@code "schema".foo} for {@code pg_temp.foo}, TABLE of
     * {@code CREATE UNLOGGED TABLE} for {@code CREATE TEMP TABLE}), else where the replaced text began.
     */
    public int originalIndex(int index) {
        int shift = 0; // rewritten minus original, before the current edit
        for (Edit e : edits) {
            int start = e.from() + shift;
            if (index < start) {
                break;
            }
            int end = start + e.text().length();
            if (index < end) {
                int fromEnd = end - index; // 1 for the replacement's last char
                int common = commonSuffix(e);
                return fromEnd <= common ? e.to() - fromEnd : e.from();
            }
            shift += e.text().length() - (e.to() - e.from());
        }
        return index - shift;
    }

    private int commonSuffix(Edit e) {
        int n = 0;
        while (n < e.text().length() && n < e.to() - e.from()
                && Character.toLowerCase(e.text().charAt(e.text().length() - 1 - n)) == Character.toLowerCase(original.charAt(e.to() - 1 - n))) {
            n++;
        }
        return n;
    }
}
