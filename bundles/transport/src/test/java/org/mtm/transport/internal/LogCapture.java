package org.mtm.transport.internal;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Keeps a copy of everything written to System.err (where slf4j-simple logs) while still printing it,
 * so tests can check what an operator would read.
 */
final class LogCapture {
    private static final StringBuffer CAPTURED = new StringBuffer();
    private static boolean installed;

    private LogCapture() {
    }

    static synchronized void install() {
        if (installed) {
            return;
        }
        PrintStream original = System.err;
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                original.write(b);
                CAPTURED.append((char) b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                CAPTURED.append(new String(b, off, len, StandardCharsets.UTF_8));
            }
        }, true, StandardCharsets.UTF_8));
        installed = true;
    }

    /** Whether a logged line contains every one of {@code parts}. */
    static boolean hasLine(String... parts) {
        for (String line : CAPTURED.toString().split("\n")) {
            boolean all = true;
            for (String p : parts) {
                all &= line.contains(p);
            }
            if (all) {
                return true;
            }
        }
        return false;
    }
}
