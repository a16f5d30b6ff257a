package org.mtm.api;

/** Mode of the receiver that applies a peer's changes ({@code receiver_mode} of {@code mtm.nodes()}). */
public enum ReceiverMode {
    DISABLED, RECOVERY, NORMAL;

    public String sqlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
