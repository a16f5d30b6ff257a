package org.mtm.tlsnative;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.junit.Test;

/**
 * The fragment's manifest as bnd wrote it into target/classes (the jar plugin packs it as is): the native code
 * names both Linux platforms and ends with the optional clause "*", so that a node on any other platform still
 * resolves it (and runs TLS on the JDK's engine); the host and the library path are upstream's.
 */
public class TlsNativeManifestTest {

    static final Path CLASSES = Paths.get("target", "classes");

    static Manifest builtManifest() throws IOException {
        try (InputStream in = Files.newInputStream(CLASSES.resolve("META-INF/MANIFEST.MF"))) {
            return new Manifest(in);
        }
    }

    /** The clauses of a Bundle-NativeCode header (no quoted commas in it). */
    static List<String> clauses(String header) {
        List<String> out = new ArrayList<>();
        for (String c : header.split(",")) {
            out.add(c.trim());
        }
        return out;
    }

    /** Upstream's linux-x86_64 fragment, the jar on the test class path. */
    static Path upstreamFragment() throws URISyntaxException {
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (entry.contains("netty-tcnative-boringssl-static") && entry.endsWith("-linux-x86_64.jar")) {
                return Paths.get(entry);
            }
        }
        throw new AssertionError("netty-tcnative-boringssl-static linux-x86_64 is not on the test class path");
    }

    @Test
    public void nativeCodeNamesLinuxX8664AndAarch64AndIsOptional() throws IOException {
        Attributes a = builtManifest().getMainAttributes();
        List<String> clauses = clauses(a.getValue("Bundle-NativeCode"));
        assertEquals(List.of(
                "META-INF/native/libnetty_tcnative_linux_x86_64.so;osname=linux;processor=x86_64",
                "META-INF/native/libnetty_tcnative_linux_aarch_64.so;osname=linux;processor=aarch64",
                "*"), clauses);
        for (String clause : clauses.subList(0, 2)) {
            Path lib = CLASSES.resolve(clause.substring(0, clause.indexOf(';')));
            assertTrue(lib + " is in the bundle", Files.isRegularFile(lib));
            assertTrue(lib + " is a native library, not a placeholder", Files.size(lib) > 1_000_000);
        }
    }

    @Test
    public void hostAndLibraryPathAreUpstreams() throws Exception {
        Attributes ours = builtManifest().getMainAttributes();
        try (JarFile upstream = new JarFile(upstreamFragment().toFile())) {
            Attributes theirs = upstream.getManifest().getMainAttributes();
            assertEquals(theirs.getValue("Fragment-Host"), ours.getValue("Fragment-Host"));
            String theirLib = clauses(theirs.getValue("Bundle-NativeCode")).get(0);
            theirLib = theirLib.substring(0, theirLib.indexOf(';'));
            assertTrue(theirLib, ours.getValue("Bundle-NativeCode").startsWith(theirLib + ";"));
            // the same bytes as upstream's library
            assertTrue(java.util.Arrays.equals(
                    upstream.getInputStream(upstream.getEntry(theirLib)).readAllBytes(),
                    Files.readAllBytes(CLASSES.resolve(theirLib))));
        }
    }
}
