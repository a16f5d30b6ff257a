package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.Test;

public class ConninfoTest {

    @Test
    public void keyValueFormWithDefaults() {
        Conninfo c = Conninfo.parse("host=10.0.0.1 port=5433 dbname=mydb user=mtmuser");
        assertEquals(Map.of("host", "10.0.0.1", "port", "5433", "dbname", "mydb", "user", "mtmuser"), c.parameters());
        assertEquals(new Endpoint("10.0.0.1", 5433), c.endpoint());
        assertEquals("jdbc:postgresql://10.0.0.1:5433/mydb", c.jdbcUrl());
        assertEquals("mtmuser", c.jdbcProperties().getProperty("user"));

        Conninfo empty = Conninfo.parse("  ");
        assertEquals(new Endpoint("localhost", 5432), empty.endpoint());
        assertEquals("jdbc:postgresql://localhost:5432/", empty.jdbcUrl());
        assertEquals("dbname defaults to the user, as in libpq", "bob", Conninfo.parse("user=bob").dbname().orElseThrow());
    }

    @Test
    public void quotingAndEscapesFollowLibpq() {
        Conninfo c = Conninfo.parse("  password = 'it\\'s' application_name='my app' options='-c x=\\'a b\\'' user=a\\ b dbname=''");
        assertEquals("it's", c.parameters().get("password"));
        assertEquals("my app", c.parameters().get("application_name"));
        assertEquals("-c x='a b'", c.parameters().get("options"));
        assertEquals("a b", c.parameters().get("user"));
        assertEquals("", c.parameters().get("dbname"));
        assertEquals("a b", c.dbname().orElseThrow());

        Conninfo roundTrip = Conninfo.parse(c.format());
        assertEquals(c, roundTrip);
        assertEquals("'a b'", Conninfo.quote("a b"));
        assertEquals("'it\\'s'", Conninfo.quote("it's"));
        assertEquals("'c:\\\\dir'", Conninfo.quote("c:\\dir"));
        assertEquals("''", Conninfo.quote(""));
        assertEquals("plain", Conninfo.quote("plain"));
    }

    @Test
    public void laterDuplicatesWin() {
        assertEquals("b", Conninfo.parse("user=a user=b").user().orElseThrow());
    }

    @Test
    public void malformedKeyValueIsRefusedWithTheReason() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("host"))
                .getMessage().contains("missing \"=\" after \"host\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("password='abc"))
                .getMessage().contains("unterminated quoted string"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("hots=x"))
                .getMessage().contains("invalid connection option \"hots\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("port=99999").endpoint())
                .getMessage().contains("invalid port number \"99999\""));
    }

    @Test
    public void uriForm() {
        Conninfo c = Conninfo.parse("postgresql://us%40er:p%3Aw@db.example:6000/my%20db?sslmode=require&application_name=x");
        assertEquals("us@er", c.user().orElseThrow());
        assertEquals("p:w", c.password().orElseThrow());
        assertEquals(new Endpoint("db.example", 6000), c.endpoint());
        assertEquals("my db", c.dbname().orElseThrow());
        assertEquals("jdbc:postgresql://db.example:6000/my%20db", c.jdbcUrl());
        Properties p = c.jdbcProperties();
        assertEquals("require", p.getProperty("sslmode"));
        assertEquals("x", p.getProperty("ApplicationName"));
        assertEquals("p:w", p.getProperty("password"));

        assertEquals(Map.of(), Conninfo.parse("postgresql://").parameters());
        assertEquals(Map.of("dbname", "mydb"), Conninfo.parse("postgres:///mydb").parameters());
        assertEquals("require", Conninfo.parse("postgresql://h?ssl=true").parameters().get("sslmode"));
        assertEquals(Map.of("host", "h", "user", "u"), Conninfo.parse("postgresql://h?user=u").parameters());
    }

    @Test
    public void multipleHostsAndIpv6() {
        Conninfo c = Conninfo.parse("postgresql://a:1,[::1]:2,b/db");
        assertEquals("a,::1,b", c.parameters().get("host"));
        assertEquals("1,2,", c.parameters().get("port"));
        assertEquals(List.of(new Endpoint("a", 1), new Endpoint("::1", 2), new Endpoint("b", 5432)), c.endpoints());
        assertEquals("jdbc:postgresql://a:1,[::1]:2,b:5432/db", c.jdbcUrl());

        Conninfo onePort = Conninfo.parse("host=a,b port=7000");
        assertEquals(List.of(new Endpoint("a", 7000), new Endpoint("b", 7000)), onePort.endpoints());
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("host=a,b,c port=1,2").endpoints());
    }

    @Test
    public void malformedUriIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("postgresql://[::1/db"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("postgresql://h/db?bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("postgresql://h/db?user"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("postgresql://h/d%zzb"));
    }

    @Test
    public void jdbcTranslation() {
        Properties p = Conninfo.parse("user=u password='' connect_timeout=10 target_session_attrs=read-write "
                + "keepalives=1 client_encoding=UTF8 replication=database fallback_application_name=fb").jdbcProperties();
        assertEquals("u", p.getProperty("user"));
        assertEquals("", p.getProperty("password"));
        assertEquals("10", p.getProperty("connectTimeout"));
        assertEquals("primary", p.getProperty("targetServerType"));
        assertEquals("true", p.getProperty("tcpKeepAlive"));
        assertEquals("database", p.getProperty("replication"));
        assertEquals("fb", p.getProperty("ApplicationName"));
        assertFalse(p.containsKey("client_encoding"));

        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Conninfo.parse("host=/var/run/postgresql").jdbcUrl()).getMessage().contains("Unix-domain socket"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("service=foo").jdbcProperties());
    }

    @Test
    public void toStringMasksThePassword() {
        Conninfo c = Conninfo.parse("host=h password=secret");
        assertEquals("host=h password=********", c.toString());
        assertEquals("host=h password=secret", c.format());
        assertEquals("host=h", c.with("password", null).format());
        assertEquals("host=h password=secret port=1", c.with("port", "1").format());
        assertEquals(c, Conninfo.of(c.parameters()));
    }
}
