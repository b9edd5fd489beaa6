import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import neonmz.ConnInfo;
import neonmz.Exit;
import neonmz.Fail;

/** Connection settings as libpq reads them (pure unit tests: nothing connects). */
class ConnInfoTest {
    static final String NEON = "postgresql://user:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/db"
            + "?sslmode=require&channel_binding=require";

    @TempDir
    Path tmp;

    /** An environment that reads no real password file. */
    Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("HOME", tmp.toString());
        env.put("PGPASSFILE", tmp.resolve("no-such-pgpass").toString());
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    ConnInfo resolve(String s, String... kv) {
        return ConnInfo.parse(s).withDefaults(env(kv));
    }

    static int usage(Runnable r) {
        Fail f = assertThrows(Fail.class, r::run);
        return f.exit;
    }

    // ---- URIs ------------------------------------------------------------------------------

    @Test
    void neonUri() {
        ConnInfo c = resolve(NEON);
        assertEquals("ep-cool-darkness-123456.us-east-2.aws.neon.tech", c.host());
        assertEquals(5432, c.port());
        assertEquals("db", c.dbname);
        assertEquals("user", c.user);
        assertEquals("pw", c.password());
        assertEquals("url", c.passwordSource);
        assertEquals("require", c.sslmode);
        assertEquals("require", c.channelBinding);
        assertTrue(c.isNeon());
        assertFalse(c.isPooler());
        c.requireDirect(); // a direct host passes

        assertEquals("jdbc:postgresql://ep-cool-darkness-123456.us-east-2.aws.neon.tech:5432/db", c.jdbcUrl());
        assertFalse(c.jdbcUrl().contains("pw"), c.jdbcUrl());
        Properties p = c.jdbcProperties("test");
        assertEquals("require", p.getProperty("channelBinding"));
        assertEquals("require", p.getProperty("sslmode"));
        assertEquals("user", p.getProperty("user"));
        assertEquals("pw", p.getProperty("password"));
        assertFalse(c.display().contains(":pw@"), c.display());
        assertTrue(c.display().contains("********"), c.display());
    }

    @Test
    void neonHostWithoutSslmodeGetsRequire() {
        assertEquals("require", resolve("postgresql://u@ep-royal-brook-a5kfgaqo.c-2.us-east-2.aws.neon.tech/neondb").sslmode);
        assertEquals("prefer", resolve("postgresql://u@localhost/db").jdbcProperties("t").getProperty("sslmode"));
    }

    @Test
    void percentEncodedUserPasswordAndDatabase() {
        ConnInfo c = resolve("postgresql://us%40er:p%40ss%3Aw%2Fd%2B%25@host/my%20db");
        assertEquals("us@er", c.user);
        assertEquals("p@ss:w/d+%", c.password());
        assertEquals("my db", c.dbname);
        assertEquals("jdbc:postgresql://host:5432/my%20db", c.jdbcUrl());
        // libpq does not turn + into a space
        assertEquals("a+b", resolve("postgresql://u:a+b@host/db").password());
        assertEquals("Ünï db", resolve("postgresql://u@host/%C3%9Cn%C3%AF%20db").dbname);
    }

    @Test
    void ipv6() {
        ConnInfo c = resolve("postgresql://u@[::1]:5433/db");
        assertEquals("::1", c.host());
        assertEquals(5433, c.port());
        assertEquals("jdbc:postgresql://[::1]:5433/db", c.jdbcUrl());
        ConnInfo d = resolve("postgresql://u@[2001:db8::1]/db");
        assertEquals("2001:db8::1", d.host());
        assertEquals(5432, d.port());
        assertEquals("jdbc:postgresql://[2001:db8::1]:5432/db", d.jdbcUrl());
    }

    @Test
    void multiHost() {
        ConnInfo c = resolve("postgresql://u@h1:5433,h2:5434/db");
        assertEquals(List.of("h1", "h2"), c.hosts);
        assertEquals(List.of(5433, 5434), c.ports);
        assertEquals("jdbc:postgresql://h1:5433,h2:5434/db", c.jdbcUrl());
        // libpq: a host without a port gets the default, not its neighbour's port
        assertEquals("jdbc:postgresql://h1:5432,h2:5434/db", resolve("postgresql://u@h1,h2:5434/db").jdbcUrl());
        assertEquals("jdbc:postgresql://h1:5433,h2:5432/db", resolve("postgresql://u@h1:5433,h2/db").jdbcUrl());
        // key=value: one port applies to every host
        assertEquals("jdbc:postgresql://h1:5433,h2:5433/db", resolve("host=h1,h2 port=5433 dbname=db user=u").jdbcUrl());
        assertEquals(Exit.USAGE, usage(() -> resolve("host=h1,h2 port=1,2,3 dbname=db user=u")));
    }

    @Test
    void jdbcPrefixAndPostgresScheme() {
        assertEquals("h", resolve("jdbc:postgresql://h:6000/db").host());
        assertEquals(6000, resolve("postgres://u@h:6000/db").port());
        assertEquals("justadb", resolve("justadb").dbname);
    }

    // ---- key=value --------------------------------------------------------------------------

    @Test
    void keyValueWithQuotesAndEscapes() {
        ConnInfo c = resolve("host=localhost port = 5433 dbname='my db' user=bob "
                + "password='it\\'s a \\\\ secret' sslmode=disable application_name=x\\ y");
        assertEquals("localhost", c.host());
        assertEquals(5433, c.port());
        assertEquals("my db", c.dbname);
        assertEquals("bob", c.user);
        assertEquals("it's a \\ secret", c.password());
        assertEquals("connection string", c.passwordSource);
        assertEquals("disable", c.sslmode);
        assertEquals("x y", c.applicationName);
        assertEquals("", resolve("host=h password='' dbname=d").password());
    }

    @Test
    void keyValueErrorsAreUsage() {
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("host=h password='unterminated-pw-1")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("host=h dbname")));
        // a key without "=" in the middle must not become a key "dbname port"
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("host=h dbname port=5432")));
    }

    // ---- environment -----------------------------------------------------------------------

    @Test
    void urlBeatsEnvironment() {
        Map<String, String> e = Map.of("PGHOST", "envhost", "PGPORT", "7000", "PGUSER", "envuser", "PGDATABASE",
                "envdb", "PGSSLMODE", "disable", "PGPASSWORD", "pw-envpw", "PGAPPNAME", "envapp");
        String[] kv = e.entrySet().stream().flatMap(x -> java.util.stream.Stream.of(x.getKey(), x.getValue()))
                .toArray(String[]::new);
        ConnInfo c = resolve("postgresql://u:pw-urlpw@h:6000/d?sslmode=require&application_name=urlapp", kv);
        assertEquals("h", c.host());
        assertEquals(6000, c.port());
        assertEquals("u", c.user);
        assertEquals("d", c.dbname);
        assertEquals("require", c.sslmode);
        assertEquals("pw-urlpw", c.password());
        assertEquals("url", c.passwordSource);
        assertEquals("urlapp", c.applicationName);

        ConnInfo fromEnv = resolve(null, kv);
        assertEquals("envhost", fromEnv.host());
        assertEquals(7000, fromEnv.port());
        assertEquals("envuser", fromEnv.user);
        assertEquals("envdb", fromEnv.dbname);
        assertEquals("disable", fromEnv.sslmode);
        assertEquals("pw-envpw", fromEnv.password());
        assertEquals("PGPASSWORD", fromEnv.passwordSource);
        assertEquals("envapp", fromEnv.applicationName);

        ConnInfo partly = resolve("postgresql://u@h/d", kv);
        assertEquals("pw-envpw", partly.password(), "PGPASSWORD fills a URL without a password");
        assertEquals(7000, partly.port(), "PGPORT fills a URL without a port");
        assertEquals("disable", partly.sslmode);
    }

    @Test
    void defaults() {
        ConnInfo c = resolve(null);
        assertEquals("localhost", c.host());
        assertEquals(5432, c.port());
        assertEquals(System.getProperty("user.name"), c.user);
        assertEquals(c.user, c.dbname, "database defaults to the user name");
        assertNull(c.password());
        assertNull(c.sslmode);
    }

    @Test
    void emptyEnvironmentVariablesCountAsUnset() throws IOException {
        // CI systems export empty variables for missing secrets; libpq treats them as not set
        Files.writeString(tmp.resolve("pgpass"), "*:*:*:*:pw-frompass\n");
        ConnInfo c = resolve(null, "PGPORT", "", "PGHOST", "", "PGPASSWORD", "", "PGSSLMODE", "", "PGUSER", "",
                "PGDATABASE", "", "PGPASSFILE", tmp.resolve("pgpass").toString());
        assertEquals(5432, c.port());
        assertEquals("localhost", c.host());
        assertEquals(System.getProperty("user.name"), c.user);
        assertEquals(c.user, c.dbname);
        assertEquals("pw-frompass", c.password());
    }

    // ---- password file ---------------------------------------------------------------------

    @Test
    void passFileWildcardsEscapesFirstMatch() throws IOException {
        Path f = tmp.resolve("pgpass");
        Files.writeString(f, String.join("\n",
                "# a comment:*:*:*:pw-no",
                "",
                "other:5432:*:*:pw-wrong",
                "127.0.0.1:*:mydb:alice:pw-first",
                "127.0.0.1:*:*:alice:pw-second",
                "*:5433:*:bob:pw-star",
                "\\:\\:1:5432:*:carol:pw-ipv6",
                "db.example.com:5432:we\\:ird:dave:pa\\:ss\\\\word",
                "*:*:*:*:pw-fallback") + "\n");
        String pf = f.toString();
        assertEquals("pw-first", resolve("postgresql://alice@127.0.0.1/mydb", "PGPASSFILE", pf).password());
        assertEquals("pw-second", resolve("postgresql://alice@127.0.0.1/otherdb", "PGPASSFILE", pf).password());
        assertEquals("pw-star", resolve("postgresql://bob@anywhere:5433/x", "PGPASSFILE", pf).password());
        assertEquals("pw-fallback", resolve("postgresql://bob@anywhere:5432/x", "PGPASSFILE", pf).password());
        assertEquals("pw-ipv6", resolve("postgresql://carol@[::1]/x", "PGPASSFILE", pf).password());
        assertEquals("pa:ss\\word", resolve("host=db.example.com dbname=we:ird user=dave", "PGPASSFILE", pf).password());
        ConnInfo c = resolve("postgresql://alice@127.0.0.1/mydb", "PGPASSFILE", pf);
        assertTrue(c.passwordSource.startsWith("passfile "), c.passwordSource);
        // a given password wins over the file
        assertEquals("pw-given", resolve("postgresql://alice@127.0.0.1/mydb", "PGPASSFILE", pf, "PGPASSWORD", "pw-given").password());
    }

    @Test
    void passFileLocations() throws IOException {
        Files.writeString(tmp.resolve(".pgpass"), "*:*:*:*:pw-fromhome\n");
        Path other = tmp.resolve("other.pgpass");
        Files.writeString(other, "*:*:*:*:pw-frompgpassfile\n");
        Path param = tmp.resolve("param.pgpass");
        Files.writeString(param, "*:*:*:*:pw-fromparam\n");
        Map<String, String> home = new HashMap<>(Map.of("HOME", tmp.toString()));
        assertEquals("pw-fromhome", ConnInfo.parse("postgresql://u@h/d").withDefaults(home).password());
        home.put("PGPASSFILE", other.toString());
        assertEquals("pw-frompgpassfile", ConnInfo.parse("postgresql://u@h/d").withDefaults(home).password());
        assertEquals("pw-fromparam", ConnInfo.parse("postgresql://u@h/d?passfile=" + param).withDefaults(home).password());
    }

    // ---- Neon --------------------------------------------------------------------------------

    @Test
    void neonHostDetection() {
        assertTrue(resolve("postgresql://u@ep-cool-darkness-123456.us-east-2.aws.neon.tech/d").isNeon());
        assertTrue(resolve("postgresql://u@ep-x.c-2.us-east-2.aws.neon.tech/d").isNeon());
        assertTrue(resolve("postgresql://u@ep-x.westus3.azure.neon.tech/d").isNeon());
        assertTrue(resolve("postgresql://u@ep-x-pooler.c-2.us-east-2.aws.neon.tech/d").isNeon());
        assertTrue(resolve("postgresql://u@EP-X.US-EAST-2.AWS.NEON.TECH/d").isNeon());
        assertFalse(resolve("postgresql://u@localhost/d").isNeon());
        assertFalse(resolve("postgresql://u@neon.tech.example.com/d").isNeon());
        assertFalse(resolve("postgresql://u@my-pooler.example.com/d").isPooler(), "only Neon hosts are refused");
        assertFalse(resolve("postgresql://u@ep-x.c-2.us-east-2.aws.neon.tech/d").isPooler());
    }

    @Test
    void poolerHostFailsNamingTheDirectHost() {
        ConnInfo c = resolve("postgresql://u:pw@ep-x-pooler.c-2.us-east-2.aws.neon.tech/neondb?sslmode=require");
        assertTrue(c.isPooler());
        assertEquals("ep-x.c-2.us-east-2.aws.neon.tech", c.directHost());
        Fail f = assertThrows(Fail.class, c::requireDirect);
        assertEquals(Exit.POOLER, f.exit);
        assertTrue(f.getMessage().contains("ep-x-pooler.c-2.us-east-2.aws.neon.tech"), f.getMessage());
        assertTrue(f.fix.contains("ep-x.c-2.us-east-2.aws.neon.tech"), f.fix);
        assertTrue(f.fix.contains("-pooler"), f.fix);
    }

    @Test
    void poolerDetectedWhateverTheCaseOrPosition() {
        ConnInfo upper = resolve("postgresql://u@EP-X-POOLER.C-2.US-EAST-2.AWS.NEON.TECH/d");
        assertEquals(Exit.POOLER, assertThrows(Fail.class, upper::requireDirect).exit);
        ConnInfo second = resolve("postgresql://u@ep-x.c-2.us-east-2.aws.neon.tech,ep-y-pooler.c-2.us-east-2.aws.neon.tech/d");
        Fail f = assertThrows(Fail.class, second::requireDirect);
        assertEquals(Exit.POOLER, f.exit);
        assertTrue(f.fix.contains("ep-y.c-2.us-east-2.aws.neon.tech"), f.fix);
        ConnInfo kv = resolve("host=ep-z-pooler.us-east-2.aws.neon.tech dbname=d user=u");
        assertEquals(Exit.POOLER, assertThrows(Fail.class, kv::requireDirect).exit);
    }

    // ---- invalid values ----------------------------------------------------------------------

    @Test
    void invalidValuesAreUsageErrors() {
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@h/d?sslmode=requir")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("host=h sslmode=bogus")));
        assertEquals(Exit.USAGE, usage(() -> resolve("postgresql://u@h/d", "PGSSLMODE", "nope")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@h:99999/d")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@h:abc/d")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("host=h port=0")));
        assertEquals(Exit.USAGE, usage(() -> resolve(null, "PGPORT", "x")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@h/d?channel_binding=always")));
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@h/d?connect_timeout=soon")));
        Fail f = assertThrows(Fail.class, () -> ConnInfo.parse("postgresql://u@h/d?sslmode=requir"));
        assertTrue(f.fix.contains("require"), f.fix);
        assertEquals(Exit.USAGE, usage(() -> ConnInfo.parse("postgresql://u@[::1/d")));
    }

    @Test
    void malformedUrlsFailWithoutEchoingThePassword() {
        // a raw % in the password: bad percent-encoding
        Fail pct = assertThrows(Fail.class, () -> ConnInfo.parse("postgresql://u:Secr3t%zzTail@h/d"));
        assertEquals(Exit.USAGE, pct.exit);
        // a raw / in the password: the host part ends early and "Secr3tHead" would read as the port
        Fail slash = assertThrows(Fail.class, () -> ConnInfo.parse("postgresql://u:Secr3tHead/Tail@h:5432/d"));
        assertEquals(Exit.USAGE, slash.exit);
        assertTrue(slash.fix.contains("%2F"), slash.fix);
        Fail question = assertThrows(Fail.class, () -> ConnInfo.parse("postgresql://u:Secr3tHead?Tail@h/d"));
        assertEquals(Exit.USAGE, question.exit);
        for (Fail f : List.of(pct, slash, question)) {
            for (String piece : List.of("Secr3t", "Tail", "zz")) {
                assertFalse(f.getMessage().contains(piece), f.getMessage());
                assertFalse(f.fix.contains(piece), f.fix);
            }
        }
        // an ordinary bad port still names the value
        assertTrue(assertThrows(Fail.class, () -> ConnInfo.parse("postgresql://u@h:54x/d")).getMessage().contains("54x"));
    }
}
