package org.mtm.itests.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Test;
import org.mtm.itests.harness.Sql;

/**
 * The README's first command and the membership commands of the local cluster, as a user runs them (issue 11 point
 * 2): {@code ./mtm up --nodes 3} returns 0 with every node online, a table written through gateway 1 is read through
 * gateway 3; {@code ./mtm add-node} (mtm:add-node, a managed PostgreSQL made by pg_basebackup of node 1, mtm:join-node)
 * prints the backup's bytes and the catch-up and returns 0 with node 4 online, which holds the rows and takes writes;
 * {@code ./mtm drop-node 4} leaves nodes 1–3 in a generation of {1,2,3}; {@code ./mtm upgrade 3 --pg 17} (issue 15:
 * node 3 leaves, node 5 on PostgreSQL 17 made from a logical copy takes its place, online with the rows, taking
 * writes); {@code ./mtm down --purge} stops everything.
 * The state goes to {@code target/} ({@code MTM_STATE}), never to the developer's own {@code .mtm/}.
 */
public class MtmScriptIT {
    private static final Path ROOT = Path.of(System.getProperty("mtm.root", "../..")).toAbsolutePath().normalize();
    private static final long STEP_SECONDS = 600;
    private final Path state = Path.of("target/mtm-script").toAbsolutePath();
    private boolean up;

    @After
    public void down() throws Exception {
        if (up) {
            run("down", "--purge");
        }
    }

    @Test
    public void upAddNodeDropNodeUpgradeDown() throws Exception {
        assertTrue("the script is at " + ROOT.resolve("mtm"), Files.isExecutable(ROOT.resolve("mtm")));
        up = true;
        String out = run("up", "--nodes", "3");
        log("./mtm up --nodes 3:\n" + out);
        Map<String, String> env = env();
        for (int i = 1; i <= 3; i++) {
            String jvm = javaCommandLine(i);
            assertTrue("node " + i + "'s JVM runs with the quick compiler only (MTM_JAVA_OPTS' default): " + jvm,
                jvm.contains("-XX:TieredStopAtLevel=1"));
        }
        try (Connection one = gateway(env, 1); Connection three = gateway(env, 3)) {
            Sql.execute(one, "CREATE TABLE script_rows (id int PRIMARY KEY, via int NOT NULL)");
            Sql.execute(one, "INSERT INTO script_rows SELECT g, 1 FROM generate_series(1, 100) g");
            assertEquals("100", Sql.scalar(three, "SELECT count(*) FROM script_rows"));
        }

        out = run("add-node");
        log("./mtm add-node:\n" + out);
        assertTrue(out, out.contains("base backup"));
        env = env();
        assertEquals("4", env.get("MTM_NODES"));
        try (Connection four = gateway(env, 4)) {
            assertEquals("online", Sql.scalar(four, "SELECT status FROM mtm.status()"));
            assertEquals("{1,2,3,4}", Sql.scalar(four, "SELECT gen_members::text FROM mtm.status()"));
            assertEquals("100", Sql.scalar(four, "SELECT count(*) FROM script_rows"));
            Sql.execute(four, "INSERT INTO script_rows VALUES (101, 4)");
        }
        try (Connection two = gateway(env, 2)) {
            assertEquals("1", Sql.scalar(two, "SELECT count(*) FROM script_rows WHERE via = 4"));
        }

        out = run("drop-node", "4");
        log("./mtm drop-node 4:\n" + out);
        for (int i = 1; i <= 3; i++) {
            try (Connection c = gateway(env, i)) {
                assertEquals("node " + i, "{1,2,3}", Sql.scalar(c, "SELECT gen_configured::text FROM mtm.status()"));
                assertEquals("node " + i, "101", Sql.scalar(c, "SELECT count(*) FROM script_rows"));
                assertEquals("node " + i + " keeps no slot for node 4", "0", Sql.scalar(c,
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mtm_slot_4'"));
            }
        }
        try (Connection one = gateway(env, 1)) {
            Sql.execute(one, "INSERT INTO script_rows VALUES (102, 1)");
        }

        // issue 15: the rolling upgrade of one node — it leaves, a node on 17 made from a logical copy takes its place
        out = run("upgrade", "3", "--pg", "17");
        log("./mtm upgrade 3 --pg 17:\n" + out);
        env = env();
        try (Connection five = gateway(env, 5)) {
            assertTrue(Sql.scalar(five, "SELECT current_setting('server_version_num')").startsWith("17"));
            assertEquals("online", Sql.scalar(five, "SELECT status FROM mtm.status()"));
            assertEquals("{1,2,5}", Sql.scalar(five, "SELECT gen_members::text FROM mtm.status()"));
            assertEquals("102", Sql.scalar(five, "SELECT count(*) FROM script_rows"));
            Sql.execute(five, "INSERT INTO script_rows VALUES (103, 5)");
        }
        try (Connection one = gateway(env, 1)) {
            assertEquals("1", Sql.scalar(one, "SELECT count(*) FROM script_rows WHERE via = 5"));
        }
        out = run("down", "--purge");
        up = false;
        assertTrue("./mtm down --purge removes the state folder", !Files.exists(state.resolve("cluster.env")));
    }

    /** The command line of node {@code i}'s JVM: the java process in the group ./mtm started (node<i>/karaf.pgid). */
    private String javaCommandLine(int i) throws IOException {
        String group = Files.readString(state.resolve("node" + i).resolve("karaf.pgid")).trim();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs.filter(p -> p.getFileName().toString().matches("\\d+"))::iterator) {
                try {
                    String stat = Files.readString(proc.resolve("stat"));
                    // pid (comm) state ppid pgrp ...: the fields after the command name's closing parenthesis
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    String cmdline = Files.readString(proc.resolve("cmdline")).replace('\0', ' ');
                    if (fields[2].equals(group) && cmdline.contains("java") && cmdline.contains("karaf")) {
                        return cmdline;
                    }
                } catch (IOException gone) {
                    // the process ended while we looked
                }
            }
        }
        throw new AssertionError("no java process in node " + i + "'s process group " + group);
    }

    /** What {@code ./mtm env} prints, as a map. */
    private Map<String, String> env() throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : run("env").split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return env;
    }

    /** A client of node {@code i}'s gateway as ./mtm env describes it (TLS verified against the local CA). */
    private static Connection gateway(Map<String, String> env, int i) throws SQLException {
        String endpoint = env.get("MTM_NODE" + i + "_GATEWAY");
        assertTrue("./mtm env names node " + i + "'s gateway: " + env, endpoint != null);
        Properties props = new Properties();
        props.setProperty("user", env.getOrDefault("MTM_PGUSER", "mtmuser"));
        if (env.containsKey("MTM_PGPASSWORD")) {
            props.setProperty("password", env.get("MTM_PGPASSWORD"));
        }
        if (env.containsKey("MTM_TLS_CA")) {
            props.setProperty("sslmode", "verify-full");
            props.setProperty("sslrootcert", env.get("MTM_TLS_CA"));
        }
        String host = endpoint.substring(0, endpoint.lastIndexOf(':'));
        String port = endpoint.substring(endpoint.lastIndexOf(':') + 1);
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + env.getOrDefault("MTM_PGDATABASE", "mydb"), props);
    }

    /** Runs {@code ./mtm args} with this test's state folder; its output, or a failure with it. */
    private String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ROOT.resolve("mtm").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
        pb.environment().put("MTM_STATE", state.toString());
        String assembly = System.getProperty("mtm.assembly");
        if (assembly != null) {
            pb.environment().put("MTM_ASSEMBLY", assembly);
        }
        // to a file, not a pipe: the nodes it starts in the background may keep a pipe open
        Files.createDirectories(state.getParent());
        Path output = Files.createTempFile(state.getParent(), "mtm-" + args[0] + "-", ".out");
        pb.redirectOutput(output.toFile());
        Process p = pb.start();
        if (!p.waitFor(STEP_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./mtm " + String.join(" ", args) + " did not end within " + STEP_SECONDS
                + " s; its output:\n" + Files.readString(output, StandardCharsets.UTF_8));
        }
        String out = Files.readString(output, StandardCharsets.UTF_8);
        assertEquals("./mtm " + String.join(" ", args) + " exit status; its output:\n" + out, 0, p.exitValue());
        return out;
    }

    private static void log(String text) {
        System.out.println("[MtmScriptIT] " + text);
    }
}
