package org.mtm.itests.harness;

/**
 * Which fault the cluster was going through between two times of a {@link BankLoad} (milliseconds of its clock): a
 * label that starts with the fault's kind (see {@link Violation#during()}).
 */
@FunctionalInterface
public interface FaultClock {
    String during(long fromMillis, long toMillis);

    /** The fault a write happened under: from its start until its client learnt the outcome. */
    default String during(Attempt attempt) {
        return during(attempt.atMillis(), attempt.atMillis() + attempt.millis());
    }
}
