import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * The two steps that use the Neon API — {@code check-logical-replication --enable} (A.1) and
 * {@code replication-role --via api} (A.2.3) — end to end: real HTTP against {@link FakeNeonApi}, real
 * PostgreSQL (for --enable, a server of its own that the fake's control plane restarts with
 * wal_level=logical, as Neon restarts the computes). Every exchange is checked against Neon's OpenAPI spec.
 */
class NeonStepsApiTest {
    static final String PID = "shiny-wind-028834";
    static final AtomicInteger N = new AtomicInteger();
    FakeNeonApi fake;
    final List<TestPg.Run> runs = new ArrayList<>();
    @TempDir Path tmp;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeNeonApi();
    }

    @AfterEach
    void stop() {
        for (TestPg.Run r : runs) {
            assertFalse(r.all().contains(FakeNeonApi.KEY), "the API key is never printed: " + r.all());
        }
        fake.closeAndCheckSpec();
    }

    static String unique(String prefix) {
        return prefix + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
    }

    Map<String, String> env(Lab.Server s, String db) {
        Map<String, String> env = new HashMap<>(TestPg.env(s, db));
        env.putAll(fake.env());
        return env;
    }

    Map<String, String> labEnv() {
        return env(TestPg.server(), TestPg.newDatabase());
    }

    TestPg.Run run(Object cmd, Map<String, String> env, String... args) {
        TestPg.Run r = TestPg.run(cmd, env, args);
        runs.add(r);
        return r;
    }

    boolean settingOn() {
        return fake.projects.get(PID).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean();
    }

    long patches() {
        return fake.count("PATCH", "/projects/" + PID);
    }

    String main() {
        return fake.defaultBranch(PID);
    }

    static String fix(TestPg.Run r) {
        return r.err().lines().filter(l -> l.startsWith("  fix: ")).findFirst().orElse("");
    }

    /** A Neon look-alike compute of the fake's project: its endpoint id is the default branch's endpoint. */
    Lab.Server neonCompute(String walLevel) {
        return TestPg.startServer(computeSettings(walLevel));
    }

    Map<String, String> computeSettings(String walLevel) {
        return Map.of("wal_level", walLevel, "neon.endpoint_id", "'ep-cool-" + main() + "'");
    }

    // ---- check-logical-replication --enable ----------------------------------------------------

    @Test
    void enableTurnsTheSettingOnWaitsForTheRestartedComputeAndChecks() {
        Lab.Server s = neonCompute("replica");
        AtomicReference<Throwable> hookFailed = new AtomicReference<>();
        AtomicInteger restarts = new AtomicInteger();
        // Neon's control plane restarts the project's computes with wal_level=logical
        fake.onEnableLogicalReplication = () -> {
            try {
                Thread.sleep(200);
                s.stop();
                s.start(0, computeSettings("logical"), null);
                restarts.incrementAndGet();
            } catch (Throwable t) {
                hookFailed.set(t);
            }
        };
        try {
            Map<String, String> env = env(s, "neondb");
            String before = TestPg.catalogState(s, "neondb");
            TestPg.Run r = run(new CheckLogicalReplication(), env, "--enable", "--yes");
            assertNull(hookFailed.get());
            assertEquals(0, r.exit(), r.all());
            assertEquals(1, patches(), "one PATCH");
            FakeNeonApi.Request patch = fake.log.stream().filter(q -> q.method().equals("PATCH")).findFirst().orElseThrow();
            assertEquals("{\"project\":{\"settings\":{\"enable_logical_replication\":true}}}", patch.body());
            assertTrue(settingOn());
            assertEquals(1, restarts.get());
            assertEquals("logical", TestPg.rows(s, "neondb", "SHOW wal_level").get(0).get("wal_level"));
            assertTrue(r.err().contains("cannot be disabled again") && r.err().contains("every database")
                    && r.err().contains("open connections drop") && r.err().contains("scale to zero"), r.err());
            assertTrue(r.out().contains("logical replication enabled; waiting for the compute to restart"), r.out());
            assertTrue(r.out().contains("logical replication: enabled (wal_level=logical"), r.out());
            assertEquals(before, TestPg.catalogState(s, "neondb"), "the check itself changes nothing");

            TestPg.Run again = run(new CheckLogicalReplication(), env, "--enable");
            assertEquals(0, again.exit(), again.all());
            assertTrue(again.out().contains("logical replication already enabled"), again.out());
            assertFalse(again.err().contains("warning"), again.err());
            assertEquals(1, patches(), "no second PATCH");

            JsonObject j = run(new CheckLogicalReplication(), env, "--enable", "--json").json();
            assertEquals(PID, j.get("neon_project").getAsString());
            assertTrue(j.get("setting_was_enabled").getAsBoolean());
            assertFalse(j.get("setting_changed").getAsBoolean());
            assertEquals("logical", j.get("wal_level").getAsString());
        } finally {
            s.stopQuietly();
        }
    }

    @Test
    void enableTimesOutWhenTheComputeNeverComesBackLogical() {
        Lab.Server s = neonCompute("replica");   // and no control plane restarting it
        try {
            TestPg.Run r = run(new CheckLogicalReplication(), env(s, "neondb"), "--enable", "--yes", "--timeout", "2s");
            assertEquals(Exit.TIMEOUT, r.exit(), r.all());
            assertTrue(r.err().contains("did not come back with wal_level=logical")
                    && r.err().contains("wal_level is replica"), r.err());
            assertTrue(fix(r).contains("--timeout"), r.err());
            assertTrue(settingOn());
            // the setting is on now: a check without --enable says the project has it, not how to enable it
            TestPg.Run check = run(new CheckLogicalReplication(), env(s, "neondb"), "--enable");
            assertEquals(Exit.NOT_READY, check.exit(), check.all());
            assertTrue(check.err().contains("has logical replication enabled, but this database reports wal_level "
                    + "replica"), check.err());
            assertEquals(1, patches());
        } finally {
            s.stopQuietly();
        }
    }

    @Test
    void withoutYesAndNoTerminalNothingChanges() {
        TestPg.Run r = run(new CheckLogicalReplication(), labEnv(), "--enable");
        assertEquals(Exit.DECLINED, r.exit(), r.all());
        assertTrue(r.err().contains("cannot be disabled again"), "the warning comes first: " + r.err());
        assertTrue(fix(r).contains("--yes"), r.err());
        assertEquals(0, patches());
        assertFalse(settingOn());
        TestPg.Run json = run(new CheckLogicalReplication(), labEnv(), "--enable", "--json");
        assertEquals(Exit.DECLINED, json.exit(), json.all());
        assertEquals(Exit.DECLINED, json.json().get("exit").getAsInt());
        assertEquals(0, patches());
    }

    @Test
    void dryRunPrintsThePatchAndChangesNothing() {
        // the lab says wal_level=logical already; the dry run only shows the API half and exits 0
        TestPg.Run r = run(new CheckLogicalReplication(), labEnv(), "--enable", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("PATCH " + fake.url() + "/projects/" + PID + "\n  "
                + "{\"project\":{\"settings\":{\"enable_logical_replication\":true}}}"), r.out());
        assertTrue(r.out().contains("logical replication would be enabled"), r.out());
        assertFalse(r.out().contains("wal_level  "), "no check after a dry run: " + r.out());
        assertEquals(0, patches());
        assertFalse(settingOn());
        assertTrue(fake.log.stream().allMatch(q -> q.method().equals("GET")), "only reads");
    }

    @Test
    void aFailedOperationIsAClearError() {
        fake.opEnds = "error";
        TestPg.Run r = run(new CheckLogicalReplication(), labEnv(), "--enable", "--yes");
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        assertTrue(r.err().contains("Neon operation suspend_compute") && r.err().contains("out of capacity"), r.err());
        assertTrue(fix(r).contains("Operations"), r.err());
    }

    @Test
    void aWrongKeyIsAnAuthErrorWithTheApisMessage() {
        String wrong = "napi_wrong_key_in_the_steps_test_31";
        Map<String, String> env = labEnv();
        env.put("NEON_API_KEY", wrong);
        TestPg.Run r = run(new CheckLogicalReplication(), env, "--enable", "--yes");
        assertEquals(Exit.AUTH, r.exit(), r.all());
        assertTrue(r.err().contains("authentication failed: invalid API key"), r.err());
        assertFalse(r.all().contains(wrong), r.all());
        TestPg.Run role = run(new CreateReplicationRole(), env, "--via", "api", "--password-out",
                tmp.resolve("pw").toString());
        assertEquals(Exit.AUTH, role.exit(), role.all());
        assertFalse(role.all().contains(wrong), role.all());
        assertEquals(0, patches());
    }

    @Test
    void aComputeOfAnotherProjectIsRefusedBeforeAnyChange() {
        Lab.Server other = ExtraServers.neon();   // endpoint ep-test-123, not one of the fake project's
        TestPg.Run r = run(new CheckLogicalReplication(), env(other, "neondb"), "--enable", "--yes");
        assertEquals(Exit.CONFLICT, r.exit(), r.all());
        assertTrue(r.err().contains(ExtraServers.ENDPOINT) && r.err().contains("not one of project"), r.err());
        assertEquals(0, patches());
    }

    @Test
    void withoutEnableNoApiIsUsedAndTheFixNamesEnable() {
        Map<String, String> env = labEnv();
        TestPg.Run r = run(new CheckLogicalReplication(), env);
        assertEquals(0, r.exit(), r.all());
        assertTrue(fake.log.isEmpty(), "no API call without --enable");
        env.remove("NEON_API_KEY");
        assertEquals(0, run(new CheckLogicalReplication(), env).exit(), "no key needed without --enable");

        TestPg.Run neon = run(new CheckLogicalReplication(), env(ExtraServers.neon(), "neondb"));
        assertEquals(Exit.NOT_READY, neon.exit(), neon.all());
        assertTrue(fix(neon).contains("check-logical-replication --enable") && fix(neon).contains("Neon Console"),
                neon.err());
        TestPg.Run plain = run(new CheckLogicalReplication(), env(ExtraServers.replica(), "neondb"));
        assertEquals(Exit.NOT_READY, plain.exit(), plain.all());
        assertTrue(fix(plain).contains("--enable") && fix(plain).contains("ALTER SYSTEM"), plain.err());
        assertTrue(fake.log.isEmpty());
    }

    @Test
    void apiOptionsGoWithTheApiModesOnly() {
        TestPg.Run r = run(new CheckLogicalReplication(), labEnv(), "--enable", "--branch", "dev");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("setting of the whole project"), r.err());
        TestPg.Run check = run(new CheckLogicalReplication(), labEnv(), "--project", PID);
        assertEquals(Exit.USAGE, check.exit(), check.all());
        assertTrue(fix(check).contains("add --enable"), check.err());
        TestPg.Run role = run(new CreateReplicationRole(), labEnv(), "--branch", "dev", "--password-out",
                tmp.resolve("pw").toString());
        assertEquals(Exit.USAGE, role.exit(), role.all());
        assertTrue(fix(role).contains("add --via api"), role.err());
        assertTrue(fake.log.isEmpty());
    }

    // ---- replication-role --via api --------------------------------------------------------------

    long rolePosts() {
        return fake.log.stream().filter(q -> q.method().equals("POST") && q.path().endsWith("/roles")).count();
    }

    String fakePassword(String role) {
        return fake.roles.get(main()).get(role).get("password").getAsString();
    }

    @Test
    void viaApiCreatesTheRoleAndKeepsThePasswordOnlyInTheFile() throws Exception {
        String role = unique("mz_api_");
        Map<String, String> env = labEnv();
        // the control plane makes the role on the compute (here: the lab server), as Neon does
        fake.onRoleCreated = (name, pw) -> TestPg.exec("postgres",
                "CREATE ROLE \"" + name + "\" LOGIN REPLICATION PASSWORD '" + pw + "'");
        Path file = tmp.resolve("dir/materialize.password");
        Path rec = tmp.resolve("record.md");
        TestPg.Run r = run(new CreateReplicationRole(), env, "--via", "api", "--role", role, "--password-out",
                file.toString(), "--record", rec.toString(), "--verbose");
        assertEquals(0, r.exit(), r.all());
        String pw = fakePassword(role);
        assertEquals(pw + "\n", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(r.out().contains("role " + role + ": created in Neon project shop (" + PID + "), branch main "
                + "(LOGIN REPLICATION, member of neon_superuser); password in " + file + " (0600)"), r.out());
        assertTrue(r.err().contains("open connections to its compute drop"), r.err());
        assertTrue(r.out().contains("POST " + fake.url() + "/projects/" + PID + "/branches/" + main() + "/roles"), r.out());
        String transcript = Files.readString(rec);
        assertFalse(r.all().contains(pw) || transcript.contains(pw), "the password is only in the file");
        assertEquals(1, rolePosts());
        // the password in the file is the one the role logs in with
        Properties props = new Properties();
        props.setProperty("user", role);
        props.setProperty("password", Files.readString(file).strip());
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + TestPg.server().port()
                + "/postgres?sslmode=disable", props)) {
            assertTrue(c.isValid(5));
        }

        TestPg.Run again = run(new CreateReplicationRole(), env, "--via", "api", "--role", role);
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("role " + role + ": already done (exists in Neon project shop (" + PID
                + "), branch main; password unchanged)"), again.out());
        assertEquals(1, rolePosts(), "no second POST");

        JsonObject j = run(new CreateReplicationRole(), env, "--via", "api", "--role", role, "--json").json();
        assertTrue(j.get("already_done").getAsBoolean());
        assertEquals("api", j.get("via").getAsString());

        TestPg.Run reset = run(new CreateReplicationRole(), env, "--via", "api", "--role", role, "--reset-password",
                "--password-out", file.toString(), "--json");
        assertEquals(0, reset.exit(), reset.all());
        String fresh = fakePassword(role);
        assertNotEquals(pw, fresh);
        assertEquals(fresh + "\n", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        JsonObject rj = reset.json();
        assertTrue(rj.get("password_reset").getAsBoolean());
        assertEquals(file.toString(), rj.get("password_file").getAsString());
        assertFalse(reset.all().contains(fresh) || reset.all().contains(pw), reset.all());
        assertTrue(rj.get("warnings").toString().contains("old password stays valid")
                && rj.get("warnings").toString().contains("Materialize secret"), rj.toString());
        assertEquals(1, fake.count("POST", "/projects/" + PID + "/branches/" + main() + "/roles/" + role + "/reset_password"));
        TestPg.exec("postgres", "DROP ROLE \"" + role + "\"");
    }

    @Test
    void viaApiNeedsSomewhereForThePasswordBeforeCreating() throws Exception {
        String role = unique("mz_api_");
        TestPg.Run r = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--role", role);
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("nowhere was given") && fix(r).contains("--password-out"), r.err());
        assertEquals(0, rolePosts());
        assertNull(fake.roles.get(main()).get(role));
        // --show-password needs a terminal, and the tests have none
        TestPg.Run show = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--role", role, "--show-password");
        assertEquals(Exit.USAGE, show.exit(), show.all());
        assertEquals(0, rolePosts());
        // an existing file is not overwritten by a new role's password
        Path exists = tmp.resolve("taken");
        Files.writeString(exists, "old\n");
        TestPg.Run taken = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--role", role,
                "--password-out", exists.toString());
        assertEquals(Exit.CONFLICT, taken.exit(), taken.all());
        assertEquals(0, rolePosts());
    }

    @Test
    void viaApiDryRunPrintsThePost() {
        String role = unique("mz_api_");
        Path file = tmp.resolve("pw");
        TestPg.Run r = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--role", role, "--password-out",
                file.toString(), "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("POST " + fake.url() + "/projects/" + PID + "/branches/" + main() + "/roles\n"
                + "  {\"role\":{\"name\":\"" + role + "\"}}"), r.out());
        assertTrue(r.out().contains("would be created"), r.out());
        assertEquals(0, rolePosts());
        assertNull(fake.roles.get(main()).get(role));
        assertFalse(Files.exists(file));
    }

    @Test
    void viaApiTakesAnOddRoleNameAndEncodesItInPaths() throws Exception {
        String role = "Mz \"ingest\" " + N.incrementAndGet();
        Path file = tmp.resolve("odd.password");
        Map<String, String> env = labEnv();
        TestPg.Run r = run(new CreateReplicationRole(), env, "--via", "api", "--role", role, "--password-out",
                file.toString(), "--json");
        assertEquals(0, r.exit(), r.all());
        assertNotNull(fake.roles.get(main()).get(role));
        assertEquals(fakePassword(role) + "\n", Files.readString(file));
        assertFalse(r.out().contains(fakePassword(role)), "--json never holds the password: " + r.out());
        assertEquals(file.toString(), r.json().get("password_file").getAsString());
        assertTrue(r.json().get("created").getAsBoolean());
        assertTrue(fake.log.stream().anyMatch(q -> q.method().equals("GET")
                && q.path().endsWith("/roles/Mz%20%22ingest%22%20" + N.get())), "the name is one encoded path segment");
        TestPg.Run again = run(new CreateReplicationRole(), env, "--via", "api", "--role", role);
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("already done"), again.out());
        assertEquals(1, rolePosts());
    }

    @Test
    void viaApiRejectsGivenPasswordsAndReservedNames() throws Exception {
        Path given = tmp.resolve("given");
        Files.writeString(given, "a-password-of-mine\n");
        TestPg.Run r = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--password-file", given.toString(),
                "--password-out", tmp.resolve("out").toString());
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("Neon generates the password"), r.err());
        TestPg.Run stdin = TestPg.runWithStdin(new CreateReplicationRole(), labEnv(), "pw-from-stdin\n", "--via", "api",
                "--password-stdin", "--password-out", tmp.resolve("out").toString());
        runs.add(stdin);
        assertEquals(Exit.USAGE, stdin.exit(), stdin.all());
        TestPg.Run reserved = run(new CreateReplicationRole(), labEnv(), "--via", "api", "--role", "neon_superuser",
                "--password-out", tmp.resolve("out").toString());
        assertEquals(Exit.USAGE, reserved.exit(), reserved.all());
        assertTrue(reserved.err().contains("reserves"), reserved.err());
        TestPg.Run bad = run(new CreateReplicationRole(), labEnv(), "--via", "ftp");
        assertEquals(Exit.USAGE, bad.exit(), bad.all());
        assertTrue(fake.log.isEmpty(), "refused before any API call");
    }

    @Test
    void sqlModeOnNeonPointsAtViaApi() {
        String role = unique("mz_api_");
        TestPg.Run r = run(new CreateReplicationRole(), env(ExtraServers.neon(), "neondb"), "--role", role);
        assertEquals(Exit.NEEDS_NEON_API, r.exit(), r.all());
        assertTrue(fix(r).contains("./jbang replication-role --via api --role " + role), r.err());
        assertTrue(fake.log.isEmpty());
    }
}
