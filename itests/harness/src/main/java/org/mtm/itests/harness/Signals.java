package org.mtm.itests.harness;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Unix signals to processes and process groups through kill(1); Java can signal neither a group nor with SIGINT. */
final class Signals {
    private Signals() {
    }

    static void send(String signal, long pid) {
        run("kill", "-" + signal, Long.toString(pid));
    }

    /** Signals every process of the group {@code pgid} (the node's Karaf script and its JVM). */
    static void sendToGroup(String signal, long pgid) {
        run("kill", "-" + signal, "--", "-" + pgid);
    }

    static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis()); // the fault's own duration (a SIGSTOP held this long)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static void run(String... command) {
        try {
            Process kill = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
