package org.mtm.applier.internal.pgoutput;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One set of golden messages under {@code src/test/resources/pgoutput/<name>/} (see {@link GoldenCapture}),
 * decoded in stream order with one decoder, and grouped by workload step. The step of each message is
 * recomputed here from the decoded {@code golden.step} markers (and checked against the index).
 */
final class GoldenSet {

    /** One captured message: the index line and the decoded message. */
    record Entry(String file, char indexedType, String lsn, String indexedStep, String step, byte[] bytes,
                 PgOutputMessage message) {
    }

    final String name;
    final List<Entry> entries;

    private GoldenSet(String name, List<Entry> entries) {
        this.name = name;
        this.entries = Collections.unmodifiableList(entries);
    }

    static GoldenSet load(String name) {
        String index = new String(resource(name + "/index.txt"), StandardCharsets.UTF_8);
        PgOutputDecoder decoder = new PgOutputDecoder();
        List<Entry> entries = new ArrayList<>();
        String step = "-";
        for (String line : index.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", 5);
            byte[] bytes = resource(name + "/" + f[0]);
            PgOutputMessage m = decoder.decode(bytes);
            if (m instanceof PgOutputMessage.LogicalMessage lm && lm.prefix().equals("golden.step")) {
                step = lm.contentText();
            }
            entries.add(new Entry(f[0], f[1].charAt(0), f[2], f[3], step, bytes, m));
        }
        return new GoldenSet(name, entries);
    }

    static byte[] resource(String path) {
        try (InputStream in = GoldenSet.class.getResourceAsStream("/pgoutput/" + path)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /pgoutput/" + path + "; re-run GoldenCapture");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The messages of a workload step, the step's own marker first. */
    List<PgOutputMessage> step(String step) {
        List<PgOutputMessage> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.step.equals(step)) {
                out.add(e.message);
            }
        }
        if (out.isEmpty()) {
            throw new AssertionError("no step '" + step + "' in golden set " + name);
        }
        return out;
    }

    /** The type bytes of a step's messages, e.g. "MBRIIC". */
    String types(String step) {
        StringBuilder sb = new StringBuilder();
        for (PgOutputMessage m : step(step)) {
            sb.append(m.type());
        }
        return sb.toString();
    }

    /** The only message of class {@code type} in {@code step}. */
    <T extends PgOutputMessage> T only(String step, Class<T> type) {
        List<T> found = all(step, type);
        if (found.size() != 1) {
            throw new AssertionError("step '" + step + "' has " + found.size() + " " + type.getSimpleName() + " messages");
        }
        return found.get(0);
    }

    <T extends PgOutputMessage> List<T> all(String step, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (PgOutputMessage m : step(step)) {
            if (type.isInstance(m)) {
                out.add(type.cast(m));
            }
        }
        return out;
    }

    <T extends PgOutputMessage> List<T> all(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Entry e : entries) {
            if (type.isInstance(e.message)) {
                out.add(type.cast(e.message));
            }
        }
        return out;
    }

    /** A relation cache fed with every R and Y message of the set. */
    RelationCache relations() {
        RelationCache cache = new RelationCache();
        for (Entry e : entries) {
            cache.accept(e.message);
        }
        return cache;
    }
}
