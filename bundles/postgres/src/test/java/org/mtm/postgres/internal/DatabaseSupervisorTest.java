package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.mtm.api.LocalDatabase;

/** The LocalPostgres component's engine, without OSGi: publish when up, withdraw when down, restart. */
public class DatabaseSupervisorTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private volatile LocalDatabase published;

    private AutoCloseable publish(LocalDatabase db) {
        published = db;
        events.add("published");
        return () -> {
            published = null;
            events.add("withdrawn");
        };
    }

    private DatabaseOptions managedOptions(Path data) {
        return DatabaseOptions.from(Configs.config(Map.of("database_datadir", data.toString(),
                "database_max__connections", 20)), null);
    }

    private static String one(LocalDatabase db, String sql) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void managedServerIsPublishedRestartedAfterACrashAndOutlivesABundleStop() throws Exception {
        Path data = dirs.newDir().resolve("postgres");
        DatabaseSupervisor first = new DatabaseSupervisor(managedOptions(data), this::publish).start();
        ManagedPostgres pg = dirs.track(first.managedServer());
        assertEquals("published", events.poll(60, TimeUnit.SECONDS));
        assertEquals("mydb", one(published, "SELECT current_database()"));
        assertEquals("20", one(published, "SHOW max_connections"));

        pg.kill(); // the server crashes: withdrawn, started again, published again
        assertEquals("withdrawn", events.poll(10, TimeUnit.SECONDS));
        assertEquals("published", events.poll(60, TimeUnit.SECONDS));
        long pid = pg.postmasterPid();

        first.close(false); // bundle stop or update: the server keeps running
        assertEquals("withdrawn", events.poll(10, TimeUnit.SECONDS));
        assertTrue(pg.isRunning());

        DatabaseSupervisor second = new DatabaseSupervisor(managedOptions(data), this::publish).start();
        assertEquals("published", events.poll(60, TimeUnit.SECONDS));
        assertTrue(second.managedServer().wasAdopted());
        assertEquals(pid, second.managedServer().postmasterPid());

        second.close(true); // framework shutdown
        assertEquals("withdrawn", events.poll(10, TimeUnit.SECONDS));
        assertFalse(pg.isRunning());
        assertNull(published);
    }

    @Test
    public void externalServerIsPublishedByConninfoAndWaitedFor() throws Exception {
        ManagedPostgres pg = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("ext"))
                .setting("shared_buffers", "16MB").password("pw").build());
        pg.start();
        DatabaseOptions options = DatabaseOptions.from(Configs.config(Map.of("database_managed", false,
                "database_conninfo", "postgresql://mtmuser:pw@127.0.0.1:" + pg.port() + "/mydb")), null);
        DatabaseSupervisor supervisor = new DatabaseSupervisor(options, this::publish).start();
        try {
            assertEquals("published", events.poll(30, TimeUnit.SECONDS));
            assertFalse(published.isManaged());
            assertEquals("mydb", published.databaseName());
            assertEquals("mtmuser", published.userName());
            assertEquals(pg.endpoint(), published.endpoint());
            assertEquals("mydb", one(published, "SELECT current_database()"));

            pg.stop();
            assertEquals("withdrawn", events.poll(15, TimeUnit.SECONDS));
            pg.start();
            assertEquals("published", events.poll(30, TimeUnit.SECONDS));
        } finally {
            supervisor.close(true);
        }
        assertEquals("withdrawn", events.poll(10, TimeUnit.SECONDS));
        assertTrue("an external server is never stopped by the node", pg.isRunning());
        assertNotEquals(0, pg.port());
    }
}
