package org.mtm.itests.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;

/**
 * Runs Karaf console commands on one node over its SSH server (the in-JVM counterpart of
 * {@code bin/client}, without starting a JVM per command). One session is kept and re-opened after
 * a failure, so polling a command costs a channel, not a login.
 */
public final class KarafConsole implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    /** What a command printed (stdout and stderr, in that order) and its exit status. */
    public record Result(int exitStatus, String output) {
        public boolean ok() {
            return exitStatus == 0 && !output.contains("Command not found") && !output.startsWith("Error executing command")
                && !output.startsWith("ERROR");
        }
    }

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final SshClient client;
    private ClientSession session;

    public KarafConsole(String host, int port, String user, String password) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.client = SshClient.setUpDefaultClient();
        // a test client: trust the node's fresh host key, ignore ~/.ssh of whoever runs the build
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.setHostConfigEntryResolver(HostConfigEntryResolver.EMPTY);
        client.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
        client.start();
    }

    /** Runs {@code command}; throws when the node cannot be reached or the command outlives {@code timeout}. */
    public synchronized Result execute(String command, Duration timeout) {
        try {
            ClientSession current = session();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            ChannelExec opened;
            try {
                opened = open(current, command, out, err);
            } catch (IOException | RuntimeException closing) {
                // the server was closing this session as the channel was asked for: the command did not run; once more
                // on a new session
                dropSession();
                opened = open(session(), command, out, err);
            }
            try (ChannelExec channel = opened) {
                Set<ClientChannelEvent> events = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
                if (!events.contains(ClientChannelEvent.CLOSED)) {
                    throw new IOException("command '" + command + "' on " + host + ":" + port + " did not finish within " + timeout);
                }
                Integer status = channel.getExitStatus();
                String text = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
                return new Result(status == null ? -1 : status, ShellTable.stripAnsi(text));
            }
        } catch (IOException | RuntimeException e) {
            dropSession();
            throw e instanceof IOException io ? new UncheckedIOException("console of " + host + ":" + port + ": " + e.getMessage(), io)
                : (RuntimeException) e;
        }
    }

    private static ChannelExec open(ClientSession session, String command, ByteArrayOutputStream out, ByteArrayOutputStream err)
        throws IOException {
        ChannelExec channel = session.createExecChannel(command);
        channel.setOut(out);
        channel.setErr(err);
        try {
            channel.open().verify(CONNECT_TIMEOUT);
        } catch (IOException | RuntimeException e) {
            channel.close(true);
            throw e;
        }
        return channel;
    }

    public Result execute(String command) {
        return execute(command, Duration.ofSeconds(60));
    }

    /**
     * What the interactive console offers when {@code partial} is typed and TAB pressed, as a user at a terminal sees
     * it: a shell channel with a terminal, the text and a TAB written once the prompt is there, everything printed
     * until it has been quiet a moment (ANSI escapes stripped). The line is not run: the channel is closed after.
     */
    public synchronized String complete(String partial, Duration timeout) {
        try (org.apache.sshd.client.channel.ChannelShell shell = session().createShellChannel()) {
            shell.setPtyType("xterm");
            shell.setPtyColumns(200);
            shell.setPtyLines(50);
            java.io.PipedOutputStream typed = new java.io.PipedOutputStream();
            shell.setIn(new java.io.PipedInputStream(typed));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            shell.setOut(out);
            shell.setErr(out);
            shell.open().verify(CONNECT_TIMEOUT);
            long deadline = System.nanoTime() + timeout.toNanos();
            awaitQuiet(out, deadline); // the banner and the prompt
            int before = out.size();
            typed.write((partial + "\t").getBytes(StandardCharsets.UTF_8));
            typed.flush();
            awaitQuiet(out, deadline);
            typed.write(new byte[] {3}); // Ctrl-C: drop the line
            typed.flush();
            byte[] all = out.toByteArray();
            return ShellTable.stripAnsi(new String(all, before, all.length - before, StandardCharsets.UTF_8));
        } catch (IOException e) {
            dropSession();
            throw new UncheckedIOException("completion of '" + partial + "' on " + host + ":" + port + " failed", e);
        }
    }

    /** Waits until {@code out} has grown and then not grown for 1.5 s, or the deadline. */
    private static void awaitQuiet(ByteArrayOutputStream out, long deadline) {
        int seen = out.size();
        long quietSince = System.nanoTime();
        boolean grew = false;
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(100); // a poll with a deadline (see the loop's condition)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (out.size() != seen) {
                seen = out.size();
                quietSince = System.nanoTime();
                grew = true;
            } else if (grew && System.nanoTime() - quietSince > 1_500_000_000L) {
                return;
            }
        }
    }

    private ClientSession session() throws IOException {
        if (session == null || !session.isOpen()) {
            ClientSession opened = client.connect(user, host, port).verify(CONNECT_TIMEOUT).getSession();
            try {
                opened.addPasswordIdentity(password);
                opened.auth().verify(CONNECT_TIMEOUT);
            } catch (IOException | RuntimeException e) {
                opened.close(true);
                throw e;
            }
            session = opened;
        }
        return session;
    }

    private void dropSession() {
        if (session != null) {
            session.close(true);
            session = null;
        }
    }

    @Override
    public synchronized void close() {
        dropSession();
        client.stop();
    }
}
