package org.mtm.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate authority and certificates it signs, made by /usr/bin/openssl (as {@code ./mtm up} makes the
 * local cluster's): P-256 keys in unencrypted PKCS#8 PEM, certificates for both server and client use.
 * Shared through mtm-api's test-jar.
 */
public final class TestCertificates {
    private static final String OPENSSL = "/usr/bin/openssl";

    /** A certificate and its key. */
    public record Issued(Path cert, Path key) { }

    /** A CA whose files lie in {@code dir}. */
    public record Authority(Path dir, Path cert, Path key) {
        /**
         * Signs a certificate for {@code name}, valid for the subject alternative names given (e.g.
         * {@code "DNS:localhost", "IP:127.0.0.1"}), written as {@code <name>.crt} and {@code <name>.key}.
         */
        public Issued issue(String name, String... subjectAltNames) {
            Path crt = dir.resolve(name + ".crt");
            Path key = dir.resolve(name + ".key");
            Path csr = dir.resolve(name + ".csr");
            Path ext = dir.resolve(name + ".ext");
            try {
                Files.writeString(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                        + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=" + String.join(",", subjectAltNames)
                        + "\n", StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + name);
            openssl("x509", "-req", "-in", csr.toString(), "-CA", cert.toString(), "-CAkey", this.key.toString(),
                    "-CAcreateserial", "-CAserial", dir.resolve(cert.getFileName() + ".srl").toString(),
                    "-days", "30", "-extfile", ext.toString(), "-out", crt.toString());
            return new Issued(crt, key);
        }

        /**
         * A node's certificate for this host: {@code localhost}, 127.0.0.1 and the node's identity on the transport,
         * {@code URI:urn:mtm:node:<id>}.
         */
        public Issued issueNode(String name, int nodeId) {
            return issue(name, "DNS:localhost", "IP:127.0.0.1", "URI:urn:mtm:node:" + nodeId);
        }

        /**
         * This CA's certificate revocation list listing {@code revoked} (none: an empty list), written to {@code crl}
         * atomically (a reader sees the old list or the new one), valid 30 days; {@code openssl ca -revoke/-gencrl}.
         */
        public Path revocationList(Path crl, Issued... revoked) {
            Path db = dir.resolve(cert.getFileName() + ".crl-db-" + System.nanoTime());
            try {
                Files.createDirectories(db);
                Files.writeString(db.resolve("index.txt"), "");
                Files.writeString(db.resolve("crlnumber"), "01\n");
                Files.writeString(db.resolve("ca.cnf"), "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = "
                        + db.resolve("index.txt") + "\ncrlnumber = " + db.resolve("crlnumber")
                        + "\ndefault_md = sha256\ndefault_crl_days = 30\n", StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            String cnf = db.resolve("ca.cnf").toString();
            for (Issued r : revoked) {
                openssl("ca", "-config", cnf, "-keyfile", key.toString(), "-cert", cert.toString(), "-revoke", r.cert().toString());
            }
            Path tmp = crl.resolveSibling(crl.getFileName() + ".new");
            openssl("ca", "-config", cnf, "-keyfile", key.toString(), "-cert", cert.toString(), "-gencrl", "-out", tmp.toString());
            try {
                Files.move(tmp, crl, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return crl;
        }

        /** A certificate for this host: {@code localhost} and 127.0.0.1. */
        public Issued issueLocal(String name) {
            return issue(name, "DNS:localhost", "IP:127.0.0.1");
        }
    }

    private TestCertificates() {
    }

    /** A new self-signed CA named {@code name} ({@code <name>.crt}, {@code <name>.key} in {@code dir}). */
    public static Authority authority(Path dir, String name) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Path crt = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", crt.toString(), "-days", "30", "-subj", "/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return new Authority(dir, crt, key);
    }

    private static void openssl(String... args) {
        List<String> command = new ArrayList<>();
        command.add(OPENSSL);
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + OPENSSL + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
