package org.mtm.postgres.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * The OS user the PostgreSQL tools run as, and how this JVM gets there. PostgreSQL refuses to run as
 * root, so a root JVM switches to an unprivileged user with {@code runuser} (util-linux; no password,
 * no login shell) or, where that is missing, {@code setpriv}; any other JVM runs the tools as itself.
 */
public record RunAs(String user, String group, Switch how, String tool) {

    public enum Switch { DIRECT, RUNUSER, SETPRIV }

    public static final String DEFAULT_ROOT_TARGET = "postgres";

    /**
     * Decides who runs the server.
     *
     * @param configured the configured OS user (database.osuser), null or empty for automatic
     * @param jvmUser    the OS user this JVM runs as
     * @param jvmIsRoot  whether this JVM runs as root
     * @param group      the primary group of the target user (used by setpriv)
     * @param runuser    path of runuser, or null when absent
     * @param setpriv    path of setpriv, or null when absent
     * @throws IllegalStateException when the choice is impossible, saying what to change
     */
    public static RunAs decide(String configured, String jvmUser, boolean jvmIsRoot, String group,
                               String runuser, String setpriv) {
        boolean auto = configured == null || configured.isBlank();
        if (!jvmIsRoot) {
            if (!auto && !configured.equals(jvmUser)) {
                throw new IllegalStateException("cannot run PostgreSQL as OS user '" + configured + "': this JVM runs as '"
                        + jvmUser + "', not root, and cannot switch users; leave database.osuser empty or set it to '"
                        + jvmUser + "'");
            }
            return new RunAs(jvmUser, group, Switch.DIRECT, null);
        }
        String target = auto ? DEFAULT_ROOT_TARGET : configured.strip();
        if (target.equals("root")) {
            throw new IllegalStateException("PostgreSQL refuses to run as root: set database.osuser to an "
                    + "unprivileged OS user (default '" + DEFAULT_ROOT_TARGET + "')");
        }
        if (runuser != null) {
            return new RunAs(target, group, Switch.RUNUSER, runuser);
        }
        if (setpriv != null) {
            return new RunAs(target, group, Switch.SETPRIV, setpriv);
        }
        throw new IllegalStateException("this JVM runs as root and needs runuser or setpriv to start PostgreSQL as '"
                + target + "', but neither is installed: install util-linux, or run Karaf as '" + target + "'");
    }

    /** {@code argv} wrapped so that it runs as {@link #user()}. */
    public List<String> wrap(List<String> argv) {
        List<String> cmd = new ArrayList<>();
        switch (how) {
            case DIRECT -> {
            }
            case RUNUSER -> cmd.addAll(List.of(tool, "-u", user, "--"));
            case SETPRIV -> cmd.addAll(List.of(tool, "--reuid=" + user, "--regid=" + group, "--init-groups", "--"));
        }
        cmd.addAll(argv);
        return cmd;
    }

    /** True when the tools run as another user than the JVM, so files we write must be handed over. */
    public boolean switchesUser() {
        return how != Switch.DIRECT;
    }
}
