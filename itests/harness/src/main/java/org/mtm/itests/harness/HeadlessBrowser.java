package org.mtm.itests.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real browser for page tests: headless Chromium (the Debian package {@code chromium}; {@code .ci/run} installs it).
 * Each call starts a fresh browser with its own profile, lets the page run its scripts for a few seconds of virtual
 * time (network requests included) and returns what it rendered: the DOM, or a screenshot.
 */
public final class HeadlessBrowser {

    private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome");
    private static final Pattern NODE_STATE = Pattern.compile("id=\"node-(\\d+)-state\"[^>]*>([^<]*)<");

    private HeadlessBrowser() {
    }

    /** The page's DOM after its scripts ran for {@code settleMillis} of virtual time. */
    public static String renderedDom(String url, int settleMillis) {
        return run(List.of("--dump-dom", url), settleMillis);
    }

    /** Saves a PNG of the page as rendered after {@code settleMillis} of virtual time. */
    public static void screenshot(String url, int settleMillis, Path png) {
        try {
            Files.createDirectories(png.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the folder of " + png, e);
        }
        run(List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=1200,1300", url), settleMillis);
        if (!Files.isRegularFile(png)) {
            throw new IllegalStateException("chromium made no screenshot of " + url + " at " + png);
        }
    }

    /** The status page's rendered node states: node id → the word in its row ("online", "disconnected", …). */
    public static Map<Integer, String> nodeStates(String dom) {
        Map<Integer, String> states = new LinkedHashMap<>();
        Matcher m = NODE_STATE.matcher(dom);
        while (m.find()) {
            states.put(Integer.parseInt(m.group(1)), m.group(2));
        }
        return states;
    }

    private static String run(List<String> args, int settleMillis) {
        Path profile = null;
        try {
            profile = Files.createTempDirectory("mtm-chromium-");
            List<String> command = new ArrayList<>(List.of(executable(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
                "--virtual-time-budget=" + settleMillis));
            command.addAll(args);
            Path out = profile.resolve("stdout");
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(profile.resolve("stderr").toFile()).start();
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("chromium did not finish within 90 s: " + command);
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("chromium exited with " + p.exitValue() + ": " + command + "\n"
                    + Files.readString(profile.resolve("stderr"), StandardCharsets.UTF_8));
            }
            return stdout;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run chromium: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while chromium ran", e);
        } finally {
            if (profile != null) {
                deleteQuietly(profile);
            }
        }
    }

    private static String executable() {
        for (String name : NAMES) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return candidate.toString();
                }
            }
        }
        throw new IllegalStateException("no headless browser found (" + NAMES + " on PATH): install the Debian package"
            + " chromium (apt-get install chromium), as .ci/run does");
    }

    private static void deleteQuietly(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
