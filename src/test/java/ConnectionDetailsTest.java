import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;

import neonmz.Exit;

/** connection-details against {@link FakeNeonApi} over real HTTP. */
class ConnectionDetailsTest {
    static final String PID = "shiny-wind-028834";
    static final String PW = "npg_MaterializeSecret42";
    FakeNeonApi fake;
    String main;
    String host;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeNeonApi();
        main = fake.defaultBranch(PID);
        host = "ep-cool-" + main + ".us-east-2.aws.neon.tech";
        fake.addRole(main, "materialize", PW);
    }

    @AfterEach
    void stop() {
        fake.closeAndCheckSpec();
    }

    Map<String, String> env() {
        return new HashMap<>(fake.env());
    }

    TestPg.Run run(String... args) {
        TestPg.Run r = TestPg.run(new ConnectionDetails(), env(), args);
        assertFalse(r.all().contains(FakeNeonApi.KEY), "the API key is never shown: " + r.all());
        assertFalse(r.all().contains(PW), "the password is never shown: " + r.all());
        return r;
    }

    @Test
    void runsThroughTheRealLauncherWithItsJsonLibrary(@TempDir Path dir) throws Exception {
        // ./jbang as a user runs it: JBang resolves //DEPS gson and compiles the //SOURCES, and the API call is real
        Path pw = dir.resolve("pw");
        Map<String, String> e = env();
        LauncherRun.Result r = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, e,
                "connection-details", "--json", "--password-out", pw.toString());
        assertEquals(0, r.exit(), r.describe());
        JsonObject j = com.google.gson.JsonParser.parseString(r.out().strip().lines().reduce((a, b) -> b).orElse(""))
                .getAsJsonObject();
        assertEquals(host, j.get("host").getAsString());
        assertEquals(PW, Files.readString(pw).strip());
        assertFalse(r.out().contains(PW) || r.err().contains(PW) || r.out().contains(FakeNeonApi.KEY), r.describe());
    }

    @Test
    void splitsTheDirectUriIntoTheFieldsStepC2Needs() {
        TestPg.Run r = run();
        assertEquals(0, r.exit(), r.all());
        String out = r.out();
        assertTrue(out.contains("Neon project shop (" + PID + "), branch main: direct connection for role materialize"), out);
        assertTrue(out.contains("HOST      " + host + "\n"), out);
        assertTrue(out.contains("PORT      5432\n"), out);
        assertTrue(out.contains("USER      materialize\n"), out);
        assertTrue(out.contains("DATABASE  neondb\n"), out);
        assertTrue(out.contains("SSL MODE  require\n"), out);
        assertTrue(out.contains("PASSWORD  not shown"), out);
        assertTrue(out.contains("./jbang connection --role materialize --password-file FILE --pg-url "
                + "'postgresql://materialize@" + host + "/neondb?sslmode=require'"), out);
        assertTrue(fake.log.stream().filter(q -> q.path().endsWith("/connection_uri"))
                .allMatch(q -> !q.query().contains("pooled") && q.query().contains("role_name=materialize")
                        && q.query().contains("database_name=neondb") && q.query().contains("branch_id=")));
        assertEquals(0, fake.count("GET", "/projects/" + PID + "/branches/" + main + "/roles/materialize/reveal_password"),
                "no password is fetched unless --password-out");

        JsonObject j = run("--json", "--branch", "main").json();
        assertEquals(host, j.get("host").getAsString());
        assertEquals(5432, j.get("port").getAsInt());
        assertEquals("materialize", j.get("user").getAsString());
        assertEquals("neondb", j.get("database").getAsString());
        assertEquals("require", j.get("ssl_mode").getAsString());
        assertEquals("main", j.get("branch").getAsString());
        assertEquals(host, j.get("endpoint_host").getAsString());
        assertEquals("postgresql://materialize@" + host + "/neondb?sslmode=require", j.get("uri").getAsString());
        assertFalse(j.get("channel_binding_dropped").getAsBoolean());
    }

    @Test
    void channelBindingIsDroppedWithTheReason() {
        fake.channelBinding = true;
        TestPg.Run r = run();
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("note: channel_binding=require from Neon's URI is dropped: Materialize's CREATE "
                + "CONNECTION has no such option"), r.out());
        assertFalse(r.out().contains("channel_binding=require'"), "not in the URI shown: " + r.out());
        JsonObject j = run("--json").json();
        assertTrue(j.get("channel_binding_dropped").getAsBoolean());
        assertFalse(j.get("uri").getAsString().contains("channel_binding"));
    }

    @Test
    void aPoolerAnswerIsRefusedNamingTheDirectHost() {
        fake.pooledUris = true;
        TestPg.Run r = run();
        assertEquals(Exit.POOLER, r.exit(), r.all());
        assertTrue(r.err().contains("pooled host ep-cool-" + main + "-pooler.us-east-2.aws.neon.tech"), r.err());
        assertTrue(r.err().contains("use the direct host " + host + " "), r.err());
        assertEquals("", r.out());
    }

    @Test
    void passwordOutWritesA0600FileAndThePasswordIsShownNowhere(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/materialize.password");
        Path record = dir.resolve("transcript.md");
        TestPg.Run r = run("--password-out", file.toString(), "--record", record.toString());
        assertEquals(0, r.exit(), r.all());
        assertEquals(PW + "\n", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(r.out().contains("PASSWORD  in " + file + " (0600)"), r.out());
        assertTrue(r.out().contains("--password-file " + file), r.out());
        String transcript = Files.readString(record);
        assertFalse(transcript.contains(PW), transcript);
        assertTrue(transcript.contains("HOST      " + host), transcript);

        TestPg.Run j = run("--password-out", file.toString(), "--json");
        assertEquals(0, j.exit(), j.all());
        assertEquals(file.toString(), j.json().get("password_file").getAsString());
        assertTrue(j.json().get("password_file_replaced").getAsBoolean());

        TestPg.Run env = run("--password-out", file.toString(), "--env");
        assertEquals(0, env.exit(), env.all());
    }

    @Test
    void aDryRunReadsNoPasswordAndWritesNoFile(@TempDir Path dir) {
        Path file = dir.resolve("materialize.password");
        TestPg.Run r = run("--password-out", file.toString(), "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertFalse(Files.exists(file));
        assertTrue(r.out().contains("would be written to " + file), r.out());
        assertEquals(0, fake.count("GET", "/projects/" + PID + "/branches/" + main + "/roles/materialize/reveal_password"));
    }

    @Test
    void withoutStoredPasswordsTheMessageNamesTheReset(@TempDir Path dir) {
        fake.storePasswords = false;
        Path file = dir.resolve("materialize.password");
        TestPg.Run r = run("--password-out", file.toString());
        assertEquals(Exit.NEEDS_NEON_API, r.exit(), r.all());
        assertTrue(r.err().contains("does not store passwords") && r.err().contains("412"), r.err());
        assertTrue(r.err().contains("./jbang replication-role --via api --reset-password --password-out " + file), r.err());
        assertTrue(r.err().contains("Console: Branches > main > Roles > materialize > Reset password"), r.err());
        assertFalse(Files.exists(file));
    }

    @Test
    void anUnknownRoleOrDatabaseIsNotFound() {
        TestPg.Run r = run("--role", "nobody");
        assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
        assertTrue(r.err().contains("no role nobody on branch main of project shop"), r.err());
        assertTrue(r.err().contains("replication-role --via api"), r.err());
        TestPg.Run d = run("--database", "nodb");
        assertEquals(Exit.NOT_FOUND, d.exit(), d.all());
        assertTrue(d.err().contains("no database nodb on branch main"), d.err());
    }

    @Test
    void envOutputEvaluatesInAShell() throws Exception {
        String role = "o'brien $x";
        String db = "my db\"`";
        fake.addRole(main, role, PW);
        fake.databases.get(main).add(db);
        Map<String, String> e = env();
        TestPg.Run r = TestPg.run(new ConnectionDetails(), e, "--env", "--role", role, "--database", db);
        assertEquals(0, r.exit(), r.all());
        assertFalse(r.out().contains(PW));
        assertTrue(r.out().contains("export PGHOST=" + host + " PGPORT=5432 PGUSER="), r.out());
        Process p = new ProcessBuilder("bash", "-c", "set -eu; eval \"$1\"; printf '%s|%s|%s|%s|%s\\n' "
                + "\"$PGHOST\" \"$PGPORT\" \"$PGUSER\" \"$PGDATABASE\" \"$PGSSLMODE\"", "bash", r.out())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        String shell = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), shell);
        assertEquals(host + "|5432|" + role + "|" + db + "|require\n", shell);

        e.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1/neondb");
        TestPg.Run warned = TestPg.run(new ConnectionDetails(), e, "--env");
        assertTrue(warned.err().contains("unset DATABASE_URL"), warned.err());
        assertFalse(warned.out().contains("warning"), "stdout stays eval-able: " + warned.out());
    }

    @Test
    void envAndJsonTogetherAreAUsageError() {
        TestPg.Run r = run("--env", "--json");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertEquals(0, fake.log.size());
    }
}
