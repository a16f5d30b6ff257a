package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.Test;
import org.mtm.api.DatabasePassword;

public class DatabaseOptionsTest {

    @Test
    public void defaultsDescribeTheEmbeddedServerUnderKarafData() {
        DatabaseOptions o = DatabaseOptions.from(Configs.config(Map.of()), "/opt/karaf/data");
        assertTrue(o.managed());
        assertEquals(Path.of("/opt/karaf/data/postgres"), o.dataDir());
        assertNull(o.binDir());
        assertEquals("127.0.0.1", o.host());
        assertEquals(0, o.port());
        assertEquals("mydb", o.name());
        assertEquals("mtmuser", o.user());
        assertEquals(DatabasePassword.derive(Configs.SECRET, "mtmuser"), o.password());
        assertTrue(o.passwordGenerated());
        assertNull(o.osUser());
        assertEquals(100, o.maxConnections());
        assertEquals(5, o.maxNodes());
        ServerSettings s = o.managedServer().settings();
        assertEquals("scram-sha-256", s.authMethod());
        assertFalse(s.hbaConf(), ServerSettings.trusts(s.hbaConf()));
        assertFalse("the password stays out of toString", o.toString().contains(o.password()));
    }

    @Test
    public void aManagedServerWithoutPasswordOrSecretIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DatabaseOptions.from(Configs.config(Map.of("cluster_secret", "")), "/k"));
        assertTrue(e.getMessage(), e.getMessage().contains("database.password and cluster.secret are empty"));
        assertEquals("pw", DatabaseOptions.from(Configs.config(Map.of("cluster_secret", "", "database_password", "pw")), "/k")
                .password());
        assertNull("an existing server brings its own authentication", DatabaseOptions.from(Configs.config(Map.of(
                "cluster_secret", "", "database_managed", false, "database_conninfo", "host=db user=u")), "/k").password());
    }

    @Test
    public void explicitValues() {
        DatabaseOptions o = DatabaseOptions.from(Configs.config(Map.of("database_datadir", "/srv/pg",
                "database_bindir", "/usr/lib/postgresql/15/bin", "database_port", 6543, "database_password", "pw",
                "database_osuser", "pgowner", "database_max__connections", 50, "database_max__nodes", 3)), null);
        assertEquals(Path.of("/srv/pg"), o.dataDir());
        assertEquals(Path.of("/usr/lib/postgresql/15/bin"), o.binDir());
        assertEquals(6543, o.port());
        assertEquals("pw", o.password());
        assertFalse(o.passwordGenerated());
        assertEquals("pgowner", o.osUser());
        ServerSettings s = o.managedServer().settings();
        assertEquals("scram-sha-256", s.authMethod());
        assertEquals("150", s.settings(1).get("max_prepared_transactions"));
        assertTrue("the password stays out of toString", !o.toString().contains("pw"));
    }

    @Test
    public void unmanagedNeedsConninfo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DatabaseOptions.from(Configs.config(Map.of("database_managed", false)), "/k"));
        assertTrue(e.getMessage().contains("database.conninfo is empty"));
        DatabaseOptions o = DatabaseOptions.from(Configs.config(Map.of("database_managed", false,
                "database_conninfo", "host=db port=5432 dbname=x user=u password=secret")), null);
        assertNull(o.dataDir());
        assertTrue(o.toString(), o.toString().contains("password=********"));
    }

    @Test
    public void managedWithoutDataDirOutsideKarafIsRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DatabaseOptions.from(Configs.config(Map.of()), null))
                .getMessage().contains("set database.datadir"));
    }

    @Test
    public void otherKeysOfThePidDoNotChangeTheOptions() {
        assertEquals(DatabaseOptions.from(Configs.config(Map.of()), "/k"), DatabaseOptions.from(Configs.config(Map.of()), "/k"));
        assertNotEquals(DatabaseOptions.from(Configs.config(Map.of()), "/k"),
                DatabaseOptions.from(Configs.config(Map.of("database_port", 1)), "/k"));
    }
}
