import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * The runbook on a real PostgreSQL: the lab it starts itself (--lab) and databases of the shared test
 * server. Every step runs in-process, as the runbook runs them. There is no Materialize here, so the
 * Materialize half is planned only and the summary says so (exit 0). The stream-check step is not in this
 * build: no assertion depends on it.
 */
class RunbookTest {
    static final AtomicInteger ROLES = new AtomicInteger();
    static final List<String> NEON_STEPS = List.of("check-logical-replication", "replica-identity", "publication",
            "replication-role", "grants", "stream-check");
    static final List<String> MZ_STEPS = List.of("cluster", "connection", "source", "monitor", "right-size", "explore");

    @AfterEach
    void noHook() {
        Runbook.beforeStep = alias -> { };
    }

    /** No Materialize URL and, unless Docker is really absent, no emulator either: the plan-only path. */
    static String emulatorSetting(Map<String, String> env) {
        return Runbook.Emulator.dockerHint(env) == null ? "auto" : "never";
    }

    static Map<String, String> labEnv(Path dir) throws IOException {
        Map<String, String> env = new HashMap<>();
        env.put("NEONMZ_LAB_DIR", dir.toString());
        env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
        env.put("HOME", Files.createTempDirectory("neonmz-rb-home").toString());
        env.put("NO_COLOR", "1");
        return env;
    }

    /** A database of the shared server, a role of its own (roles are cluster-wide) and a password file. */
    record Db(String name, String role, Path passwordFile, Map<String, String> env) {
        String[] args(String... more) {
            List<String> a = new java.util.ArrayList<>(List.of("--role", role, "--password-file", passwordFile.toString(),
                    "--emulator", emulatorSetting(env)));
            a.addAll(List.of(more));
            return a.toArray(String[]::new);
        }
    }

    static Db db() throws IOException {
        String name = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(name);
        Path home = Files.createTempDirectory("neonmz-rb-home");
        env.put("HOME", home.toString());
        return new Db(name, "rb_role_" + ProcessHandle.current().pid() + "_" + ROLES.incrementAndGet(),
                home.resolve("materialize.password"), env);
    }

    static Map<String, String> results(JsonObject summary) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (JsonElement e : summary.getAsJsonArray("steps")) {
            JsonObject s = e.getAsJsonObject();
            out.put(s.get("alias").getAsString(), s.get("result").getAsString());
        }
        return out;
    }

    @Test
    void labRunDoesTheNeonHalfPlansMaterializeThenEverythingIsAlreadyDone() throws Exception {
        Path dir = LabTest.labDir();
        Map<String, String> env = labEnv(dir);
        Path record = dir.resolveSibling(dir.getFileName() + ".md");
        try {
            TestPg.Run first = TestPg.run(new Runbook(), env, "--lab", "--keep-lab", "--emulator", emulatorSetting(env),
                    "--record", record.toString());
            assertEquals(0, first.exit(), first.all());
            Lab.Server lab = new Lab.Server(dir);
            assertTrue(lab.running(), "--keep-lab leaves the lab running");
            for (String alias : List.of("replica-identity", "publication", "replication-role", "grants")) {
                assertTrue(first.out().lines().anyMatch(l -> l.matches("A\\.\\S+\\s+" + alias + "\\s+done\\s.*")),
                        alias + " done in the summary:\n" + first.out());
            }
            for (String alias : MZ_STEPS) {
                assertTrue(first.out().lines().anyMatch(l -> l.matches("\\S+\\s+" + alias + "\\s+skipped\\s+Materialize not run.*")),
                        alias + " skipped with the reason:\n" + first.out());
            }
            assertTrue(first.out().contains("Materialize: not run (no --mz-url or MZ_URL"), first.out());
            // short by default (issue #21, item 6): each planned Materialize step is its header; the SQL is behind
            // --plan (planChangesNothingAndPrintsEveryStepsSql); the last line says what to do next
            assertFalse(first.out().contains("CREATE CLUSTER ingest_postgres"), first.out());
            assertTrue(first.out().contains("\n== C.1 ./jbang cluster --name ingest_postgres --size 50cc\n== C.2 ./jbang connection"),
                    first.out());
            assertTrue(first.out().contains("  Its SQL, nothing run: ./jbang runbook --lab --keep-lab --emulator "
                    + emulatorSetting(env) + " --plan --from cluster\n"), first.out());
            List<String> lines = first.out().lines().toList();
            assertTrue(lines.size() < 90, lines.size() + " lines:\n" + first.out());
            assertEquals("next: work on the lab: ./jbang lab start --detach, eval \"$(./jbang lab env)\", then any step, e.g. "
                    + "./jbang tap --role materialize --password-file " + Path.of(env.get("HOME"), ".neonmz", "materialize.password")
                    + " --demo-changes 5; "
                    + "Materialize: see above", lines.get(lines.size() - 1));
            assertEquals(List.of(Map.of("pubname", "mz_source", "n", 4L)), TestPg.rows(lab, "neondb",
                    "SELECT pubname, count(*) AS n FROM pg_publication_tables GROUP BY pubname"));
            // the password: in a 0600 file in its one default place (as with every step), never printed, never in
            // the transcript; nothing in the lab's folder
            Path pw = Path.of(env.get("HOME"), ".neonmz", "materialize.password");
            assertFalse(Files.exists(dir.resolve("materialize.password")));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(pw)));
            String password = Files.readAllLines(pw).get(0);
            String transcript = Files.readString(record);
            assertTrue(transcript.startsWith("```console\n$ ./jbang runbook --lab --keep-lab"), transcript);
            assertFalse(transcript.contains("CREATE SECRET"), transcript);
            assertFalse(first.all().contains(password), "password printed");
            assertFalse(transcript.contains(password), "password in the transcript");

            TestPg.Run second = TestPg.run(new Runbook(), env, "--lab", "--emulator", emulatorSetting(env), "--json");
            assertEquals(0, second.exit(), second.all());
            JsonObject j = second.json();
            Map<String, String> results = results(j);
            for (String alias : NEON_STEPS) {
                assertEquals("already done", results.get(alias), alias + ": " + second.out());
            }
            for (String alias : MZ_STEPS) {
                assertEquals("skipped", results.get(alias), alias);
            }
            JsonObject mz = j.getAsJsonObject("materialize");
            assertEquals("plan", mz.get("mode").getAsString());
            assertFalse(mz.get("run").getAsBoolean());
            assertTrue(mz.get("reason").getAsString().startsWith("no --mz-url or MZ_URL"), mz.toString());
            JsonObject grants = j.getAsJsonArray("steps").asList().stream().map(JsonElement::getAsJsonObject)
                    .filter(s -> s.get("alias").getAsString().equals("grants")).findFirst().orElseThrow();
            assertEquals(new TreeSet<>(List.of("id", "alias", "result", "exit", "elapsed_ms", "note", "command")),
                    new TreeSet<>(grants.keySet()));
            assertEquals("A.2.4", grants.get("id").getAsString());
            assertEquals(6, j.getAsJsonObject("counts").get("already done").getAsInt());
            assertTrue(j.get("ok").getAsBoolean());
            assertTrue(lab.running(), "a lab that was running is left running");
            assertFalse(second.all().contains(password));
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
            Files.deleteIfExists(record);
        }
    }

    @Test
    void aFailureStopsAtItsStepWithTheFixAndTheResumeCommand() throws Exception {
        Db d = db();
        TestPg.Run part = TestPg.run(new Runbook(), d.env(), d.args("--to", "publication"));
        assertEquals(0, part.exit(), part.all());
        // someone else takes over a published table: the owner can no longer grant SELECT on it
        TestPg.exec(d.name(), "ALTER TABLE page_views OWNER TO postgres");
        String before = TestPg.catalogState(d.name());
        TestPg.Run bad = TestPg.run(new Runbook(), d.env(), d.args());
        assertEquals(Exit.PERMISSION, bad.exit(), bad.all());
        assertTrue(bad.err().contains("error: step A.2.4 grants failed: permission denied"), bad.err());
        assertTrue(bad.err().contains("page_views"), bad.err());
        assertTrue(bad.err().contains("fix: connect as the owner of the objects"), "the step's own fix: " + bad.err());
        assertTrue(bad.err().contains("then resume: ./jbang runbook --role " + d.role()), bad.err());
        assertTrue(bad.err().contains("--from grants"), bad.err());
        assertTrue(bad.out().lines().anyMatch(l -> l.matches("A\\.2\\.4\\s+grants\\s+failed\\s+exit 8 PERMISSION\\s.*")), bad.out());
        assertTrue(bad.out().lines().anyMatch(l -> l.matches("C\\.1\\s+cluster\\s+skipped\\s+after the failure\\s.*")), bad.out());
        assertNotEquals(before, TestPg.catalogState(d.name()), "the steps before grants ran");
        assertFalse(bad.out().contains("Materialize: not run"), "after a failure the run says where it stopped, nothing else");

        TestPg.exec(d.name(), "ALTER TABLE page_views OWNER TO neondb_owner");
        TestPg.Run resumed = TestPg.run(new Runbook(), d.env(), d.args("--from", "grants", "--json"));
        assertEquals(0, resumed.exit(), resumed.all());
        Map<String, String> r = results(resumed.json());
        assertEquals("done", r.get("grants"));
        assertEquals("skipped", r.get("publication"));
        TestPg.Run again = TestPg.run(new Runbook(), d.env(), d.args("--json"));
        assertEquals(0, again.exit(), again.all());
        for (String alias : NEON_STEPS) {
            assertEquals("already done", results(again.json()).get(alias), alias);
        }
    }

    @Test
    void planChangesNothingAndPrintsEveryStepsSql() throws Exception {
        Db d = db();
        String before = TestPg.catalogState(d.name());
        TestPg.Run plan = TestPg.run(new Runbook(), d.env(), d.args("--plan"));
        assertEquals(0, plan.exit(), plan.all());
        assertEquals(before, TestPg.catalogState(d.name()), "--plan changed the catalog");
        assertFalse(Files.exists(d.passwordFile()), "--plan wrote the password file");
        for (String sql : List.of("ALTER TABLE public.customers REPLICA IDENTITY FULL;",
                "CREATE PUBLICATION mz_source FOR TABLE public.",
                "CREATE ROLE " + d.role() + " WITH LOGIN REPLICATION PASSWORD '********';",
                "GRANT USAGE ON SCHEMA public TO " + d.role() + ";",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + d.role() + ";",
                "CREATE CLUSTER ingest_postgres (SIZE = '50cc');",
                "CREATE SECRET IF NOT EXISTS pgpass AS '********';",
                "CREATE CONNECTION pg_connection TO POSTGRES (HOST '127.0.0.1'",
                "FROM mz_internal.mz_source_statistics",
                "FROM mz_catalog.mz_cluster_replica_sizes",
                "DECLARE c CURSOR FOR SUBSCRIBE")) {
            assertTrue(plan.out().contains(sql), "plan lacks " + sql + "\n" + plan.out());
        }
        // the source's statement needs the publication, which the plan has not created
        assertTrue(plan.out().lines().anyMatch(l -> l.matches("C\\.3\\s+source\\s+planned\\s+exact plan after the steps above.*")),
                plan.out());
        assertTrue(plan.out().contains("runbook --plan: "), plan.out());
        assertFalse(plan.out().contains("Materialize: not run"), "a plan runs nothing, it says so once");

        // after the Neon half, the plan shows the source's exact statement, and still changes nothing
        assertEquals(0, TestPg.run(new Runbook(), d.env(), d.args("--to", "grants")).exit());
        String done = TestPg.catalogState(d.name());
        TestPg.Run plan2 = TestPg.run(new Runbook(), d.env(), d.args("--plan", "--json"));
        assertEquals(0, plan2.exit(), plan2.all());
        assertEquals(done, TestPg.catalogState(d.name()));
        Map<String, String> r = results(plan2.json());
        for (String alias : NEON_STEPS) {
            // the stream check is a check, not a state: a plan only says what it would do
            assertEquals(alias.equals("stream-check") ? "planned" : "already done", r.get(alias), alias);
        }
        assertEquals("planned", r.get("source"));
        String password = Files.readAllLines(d.passwordFile()).get(0);
        TestPg.Run plan3 = TestPg.run(new Runbook(), d.env(), d.args("--plan", "--only", "connection,source"));
        assertTrue(plan3.out().contains("CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection"),
                plan3.out());
        assertTrue(plan3.out().contains("CREATE SECRET IF NOT EXISTS pgpass AS '********';"), plan3.out());
        assertFalse(plan3.all().contains(password), "the password is masked");
    }

    @Test
    void theLabStoppedMidRunFailsWithConnectAndARerunCompletes() throws Exception {
        Path dir = LabTest.labDir();
        Map<String, String> env = labEnv(dir);
        try {
            Runbook.beforeStep = alias -> {
                if (alias.equals("publication")) {
                    new Lab.Server(dir).stop();   // the server goes away between two steps
                }
            };
            TestPg.Run r = TestPg.run(new Runbook(), env, "--lab", "--emulator", "never");
            assertEquals(Exit.CONNECT, r.exit(), r.all());
            assertTrue(r.err().contains("error: step A.2.2 publication failed: cannot connect"), r.err());
            assertTrue(r.err().contains("then resume: ./jbang runbook --lab --emulator never --from publication"), r.err());
            assertTrue(r.out().lines().anyMatch(l -> l.matches("A\\.2\\.1\\s+replica-identity\\s+done\\s.*")), r.out());
            assertFalse(new Lab.Server(dir).running());

            Runbook.beforeStep = alias -> { };
            TestPg.Run again = TestPg.run(new Runbook(), env, "--lab", "--emulator", "never", "--json");
            assertEquals(0, again.exit(), again.all());
            Map<String, String> res = results(again.json());
            assertEquals("already done", res.get("replica-identity"));
            assertEquals("done", res.get("publication"));
            assertEquals("done", res.get("grants"));
            assertFalse(new Lab.Server(dir).running(), "the lab this run started is stopped");
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    @Test
    void slicesByAliasOrGuideId() throws Exception {
        Db d = db();
        TestPg.Run only = TestPg.run(new Runbook(), d.env(), d.args("--only", "A.2.2,replica-identity", "--json"));
        assertEquals(0, only.exit(), only.all());
        Map<String, String> r = results(only.json());
        assertEquals("done", r.get("replica-identity"));
        assertEquals("done", r.get("publication"));
        assertEquals("skipped", r.get("check-logical-replication"));
        assertEquals("skipped", r.get("grants"));
        assertEquals("not in the slice", only.json().getAsJsonObject("materialize").get("mode").getAsString());

        TestPg.Run range = TestPg.run(new Runbook(), d.env(), d.args("--from", "A.2.2", "--to", "grants", "--json"));
        assertEquals(0, range.exit(), range.all());
        r = results(range.json());
        assertEquals("skipped", r.get("replica-identity"));
        assertEquals("already done", r.get("publication"));
        assertEquals("done", r.get("replication-role"));
        assertEquals("done", r.get("grants"));
        assertEquals("skipped", r.get("cluster"));

        TestPg.Run backwards = TestPg.run(new Runbook(), d.env(), d.args("--from", "grants", "--to", "A.1"));
        assertEquals(Exit.USAGE, backwards.exit(), backwards.all());
        TestPg.Run unknown = TestPg.run(new Runbook(), d.env(), d.args("--only", "publish"));
        assertEquals(Exit.USAGE, unknown.exit());
        assertTrue(unknown.err().contains("the steps: check-logical-replication (A.1)"), unknown.err());
        TestPg.Run api = TestPg.run(new Runbook(), d.env(), d.args("--only", "ip-allow"));
        assertEquals(Exit.USAGE, api.exit());
        assertTrue(api.err().contains("--with-neon-api"), api.err());
    }

    /**
     * --with-neon-api against the local Neon API stand-in and a lab database: A.1 turns the project setting on
     * (PATCH) before its SQL check, A.2.3 makes the role through the API, and the stand-in does what Neon's
     * control plane does with such a role, creating it in PostgreSQL with that password (LOGIN REPLICATION);
     * the grants and the stream check then work as that role, with the password the API returned.
     */
    @Test
    void withTheNeonApiTheApiStepsRunInTheirPlaces() throws Exception {
        Db d = db();
        try (FakeNeonApi fake = new FakeNeonApi()) {
            fake.onRoleCreated = (name, password) -> TestPg.exec("postgres", "CREATE ROLE " + neonmz.Sql.ident(name)
                    + " LOGIN REPLICATION PASSWORD " + neonmz.Sql.literal(password));
            fake.opPolls = 1;
            Map<String, String> env = new java.util.HashMap<>(d.env());
            env.putAll(fake.env());
            env.remove("NO_COLOR");
            TestPg.Run r = TestPg.run(new Runbook(), env, d.args("--with-neon-api", "--yes", "--to", "connection-details",
                    "--json"));
            assertEquals(0, r.exit(), r.all());
            Map<String, String> results = results(r.json());
            assertEquals(List.of("check-logical-replication", "replica-identity", "publication", "replication-role",
                    "grants", "stream-check", "ip-allow", "cluster", "connection-details", "connection", "source",
                    "monitor", "right-size", "explore"), List.copyOf(results.keySet()), "the guide's order, API steps in place");
            assertEquals("already done", results.get("ip-allow"), "the project's IP Allow list is empty: not in use");
            assertEquals("done", results.get("connection-details"));
            assertEquals("skipped", results.get("connection"), "after --to");
            assertEquals("done", results.get("replication-role"));
            assertEquals("already done", results.get("stream-check"), "streamed as the role the API made");
            assertTrue(fake.projects.get(FakeNeonApi.PROJECT_ID).getAsJsonObject("settings")
                    .get("enable_logical_replication").getAsBoolean(), "A.1 --enable turned the setting on");
            assertTrue(fake.roles.get(fake.defaultBranch(FakeNeonApi.PROJECT_ID)).containsKey(d.role()));
            String password = Files.readAllLines(d.passwordFile()).get(0);
            assertEquals(fake.roles.get(fake.defaultBranch(FakeNeonApi.PROJECT_ID)).get(d.role()).get("password")
                    .getAsString(), password, "the password file holds the API's password");
            assertFalse(r.all().contains(password) || r.all().contains(FakeNeonApi.KEY), "no secret printed");
            // a second run: every step already done, no second role, no second PATCH
            long patches = fake.count("PATCH", "/projects/");
            TestPg.Run again = TestPg.run(new Runbook(), env, d.args("--with-neon-api", "--yes", "--to", "grants", "--json"));
            assertEquals(0, again.exit(), again.all());
            Map<String, String> second = results(again.json());
            for (String alias : List.of("check-logical-replication", "replica-identity", "publication", "replication-role",
                    "grants")) {
                assertEquals("already done", second.get(alias), alias + ": " + again.out());
            }
            assertEquals(patches, fake.count("PATCH", "/projects/"));
            fake.closeAndCheckSpec();
        }
    }

    @Test
    void settingsComeFromFlagsThenTheFileThenTheEnvironment() throws Exception {
        Db d = db();
        Path file = Files.createTempDirectory("neonmz-rb-conf").resolve("runbook.properties");
        Files.writeString(file, "publication = pub_file\ncluster = cl_file\nsize = 25cc\npassword-file = pw/role.password\n");
        Map<String, String> env = new HashMap<>(d.env());
        env.put("RUNBOOK_PUBLICATION", "pub_env");
        env.put("RUNBOOK_CLUSTER", "cl_env");
        env.put("RUNBOOK_SOURCE", "src_env");
        TestPg.Run r = TestPg.run(new Runbook(), env, "--config", file.toString(), "--publication", "pub_flag",
                "--role", d.role(), "--emulator", "never", "--plan", "--json");
        assertEquals(0, r.exit(), r.all());
        Map<String, String> cmds = new HashMap<>();
        for (JsonElement e : r.json().getAsJsonArray("steps")) {
            cmds.put(e.getAsJsonObject().get("alias").getAsString(), e.getAsJsonObject().get("command").getAsString());
        }
        assertTrue(cmds.get("publication").contains("--name pub_flag"), "flag beats file and env: " + cmds);
        assertTrue(cmds.get("cluster").contains("--name cl_file --size 25cc"), "file beats env: " + cmds);
        assertTrue(cmds.get("source").contains("--source src_env"), "env beats default: " + cmds);
        assertTrue(cmds.get("monitor").contains("--timeout 30m"), "default: " + cmds);
        assertTrue(cmds.get("replication-role").contains(file.getParent().resolve("pw/role.password").toString()),
                "a relative path is relative to the file: " + cmds);

        // secrets never in the file
        Files.writeString(file, "pg-password = hunter2hunter2\n");
        TestPg.Run secret = TestPg.run(new Runbook(), env, "--config", file.toString(), "--plan");
        assertEquals(Exit.USAGE, secret.exit());
        assertTrue(secret.err().contains("secrets never go in the settings file"), secret.err());
        assertFalse(secret.all().contains("hunter2hunter2"), secret.all());
        Files.writeString(file, "pg-url = postgresql://neondb_owner:hunter2hunter2@127.0.0.1/neondb\n");
        TestPg.Run inUrl = TestPg.run(new Runbook(), env, "--config", file.toString(), "--plan");
        assertEquals(Exit.USAGE, inUrl.exit());
        assertFalse(inUrl.all().contains("hunter2hunter2"), inUrl.all());
        Files.writeString(file, "tabels = orders\n");
        TestPg.Run typo = TestPg.run(new Runbook(), env, "--config", file.toString(), "--plan");
        assertEquals(Exit.USAGE, typo.exit());
        assertTrue(typo.err().contains("unknown key tabels"), typo.err());
    }

    @Test
    void theExampleFileNamesEveryKeyAndTheEmulatorIsThePomsImage() throws Exception {
        Properties p = new Properties();
        String text = Files.readString(LauncherRun.ROOT.resolve("runbook.properties.example"));
        // every key is there, commented out with its default or an example
        p.load(new java.io.StringReader(text.replaceAll("(?m)^#(?=[a-z-]+ = )", "")));
        assertEquals(new TreeSet<>(Runbook.KEYS), new TreeSet<>(p.stringPropertyNames()));
        assertEquals(System.getProperty("materialize.image"), Runbook.EMULATOR_IMAGE);
        assertNotNull(Runbook.Emulator.dockerHint(Map.of("DOCKER_HOST", "tcp://127.0.0.1:2375")));
    }
}
