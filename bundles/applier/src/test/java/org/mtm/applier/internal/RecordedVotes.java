package org.mtm.applier.internal;

import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;

/** The votes and acks an applier sent, in order, with waits bounded by a deadline. */
final class RecordedVotes implements VoteSender {

    record Sent(int node, CommitMessage message, long atNanos) {
    }

    private final List<Sent> sent = new ArrayList<>();

    @Override
    public synchronized void send(int node, CommitMessage message) {
        sent.add(new Sent(node, message, System.nanoTime()));
        notifyAll();
    }

    /** Waits until a message of {@code kind} for {@code gid} was sent; fails after {@code timeout}. */
    synchronized Sent await(Kind kind, String gid, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (Sent s : sent) {
                if (s.message().kind() == kind && s.message().gid().toString().equals(gid)) {
                    return s;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                fail("no " + kind + " for " + gid + " within " + timeout + "; sent: " + sent);
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    synchronized List<Sent> of(String gid) {
        return sent.stream().filter(s -> s.message().gid().toString().equals(gid)).toList();
    }

    synchronized long count(Kind kind, String gid) {
        return of(gid).stream().filter(s -> s.message().kind() == kind).count();
    }

    synchronized List<Sent> all() {
        return List.copyOf(sent);
    }

    synchronized void clear() {
        sent.clear();
    }
}
