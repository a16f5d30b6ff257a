package org.mtm.itests.replication;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;

/** A referee node for a test class: a Karaf of role mtm-referee from the distribution beside its own PostgreSQL. */
final class TestReferee implements AutoCloseable {
    private final Path postgresRoot;
    private final KarafNode node;

    private TestReferee(Path postgresRoot, KarafNode node) {
        this.postgresRoot = postgresRoot;
        this.node = node;
    }

    /** Boots a referee under {@code mtm.work/<name>} and waits until it is ready. */
    static TestReferee start(String name) {
        Path assembly = Path.of(System.getProperty("mtm.assembly", "target/mtm-karaf-assembly.tar.gz"));
        Path work = Path.of(System.getProperty("mtm.work", "target/mtm-work")).resolve(name);
        Path postgres = KarafNode.postgresRoot("mtm-referee-");
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        KarafNode node = KarafNode.create("referee", assembly, work, postgres, HexFormat.of().formatHex(secret));
        try {
            node.role("referee").start().awaitReady(LocalCluster.BOOT);
        } catch (RuntimeException | Error e) {
            node.close();
            KarafNode.deletePostgresRoot(postgres);
            throw e;
        }
        return new TestReferee(postgres, node);
    }

    KarafNode node() {
        return node;
    }

    /**
     * The referee's conninfo, for {@code referee_connstring}: with its password, as the referee has a secret of its own
     * (the data nodes' generated password, from their secret, is not the referee's).
     */
    String conninfo() {
        return node.conninfo() + " password=" + node.databasePassword();
    }

    @Override
    public void close() {
        try {
            node.close();
        } finally {
            KarafNode.deletePostgresRoot(postgresRoot);
        }
    }
}
