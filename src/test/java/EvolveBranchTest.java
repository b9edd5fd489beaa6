import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * evolve --on-branch against {@link FakeNeonApi} over real HTTP, whose default branch is backed by a real database
 * (the shop, published): a created branch is backed by a real copy of it (CREATE DATABASE … TEMPLATE), reached
 * through the branch's own connection_uri, and dropped when the branch is deleted. The parent's database is named
 * at a port where nothing listens: a run that connected to it would fail.
 */
class EvolveBranchTest {
    static final String PID = FakeNeonApi.PROJECT_ID;
    static final AtomicInteger N = new AtomicInteger();
    FakeNeonApi api;
    String db;
    String ownerPassword;
    Map<String, String> env;

    @BeforeEach
    void setUp() throws Exception {
        api = new FakeNeonApi();
        db = EvolveTest.shop();
        Lab.Server s = TestPg.server();
        ownerPassword = s.readSecret("owner.password");
        api.back(api.defaultBranch(PID), "127.0.0.1:" + s.port(), List.of(db), "neondb_owner", ownerPassword);
        env = new HashMap<>(api.env());
        env.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:" + TestPg.freePort() + "/" + db + "?sslmode=disable");
        env.put("HOME", System.getProperty("java.io.tmpdir"));
    }

    @AfterEach
    void tearDown() {
        api.closeAndCheckSpec();
    }

    TestPg.Run evolve(String sql, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("--migration", EvolveTest.file(sql).toString(), "--on-branch"));
        args.addAll(List.of(more));
        TestPg.Run r = TestPg.run(new Evolve(), env, args.toArray(String[]::new));
        assertNoSecret(r.all());
        return r;
    }

    void assertNoSecret(String text) {
        assertFalse(text.contains(FakeNeonApi.KEY), "the API key is shown:\n" + text);
        assertFalse(text.contains(ownerPassword), "the role's password is shown:\n" + text);
    }

    /** The branch of a run: made from the default branch, reached by its own URI, deleted, its copy dropped. */
    String assertMadeUsedAndDeleted(JsonObject json) {
        JsonObject b = json.getAsJsonObject("branch");
        String id = b.get("id").getAsString();
        assertTrue(b.get("deleted").getAsBoolean(), b.toString());
        assertEquals(api.defaultBranch(PID), b.get("parent_id").getAsString());
        assertTrue(b.get("name").getAsString().matches("evolve-check-\\d{8}-\\d{6}-[0-9a-f]{4}"), b.toString());
        assertEquals(1, api.log.stream().filter(r -> r.method().equals("POST") && r.path().equals("/projects/" + PID
                + "/branches") && r.status() == 201 && r.response().contains(id)).count());
        assertTrue(api.log.stream().anyMatch(r -> r.path().endsWith("/connection_uri") && r.query().contains("branch_id="
                + id) && r.query().contains("database_name=" + db)), "its own connection URI was asked for");
        assertEquals(1, api.count("DELETE", "/projects/" + PID + "/branches/" + id));
        assertNull(api.branches.get(PID).stream().filter(x -> x.get("id").getAsString().equals(id)).findFirst()
                .orElse(null), "the branch is gone");
        assertEquals(List.of(), TestPg.rows("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'b%\\_"
                + db + "'"), "its database is dropped");
        return id;
    }

    @Test
    void theMigrationRunsForRealOnACopyThroughTheBranchsOwnUriAndTheBranchIsDeleted() throws Exception {
        String go = "evolve_go_" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        String before = TestPg.catalogState(db);
        List<Map<String, Object>> customers = TestPg.rows(db, "SELECT count(*) AS n FROM customers");
        // the second statement waits until the test lets it go (a role is cluster-wide: seen from every database)
        String sql = "ALTER TABLE customers ADD COLUMN phone text;\nDO $$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM pg_roles "
                + "WHERE rolname = '" + go + "') LOOP PERFORM pg_sleep(0.02); END LOOP; END $$;\n";
        CompletableFuture<TestPg.Run> run = CompletableFuture.supplyAsync(() -> {
            try {
                return evolve(sql, "--json");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String copy = sleepingSessionsDatabase(run);
        try {
            assertNotEquals(db, copy);
            assertTrue(TestPg.rows("postgres", "SELECT 1 FROM pg_stat_activity WHERE datname = '" + db
                    + "' AND application_name = 'neonmz'").isEmpty(), "no session of the run on the parent");
            // the first statement ran for real (committed) on the copy, which has the parent's rows; the parent has not
            assertEquals(1, TestPg.rows(copy, "SELECT 1 FROM pg_attribute WHERE attrelid = 'customers'::regclass "
                    + "AND attname = 'phone'").size());
            assertEquals(customers, TestPg.rows(copy, "SELECT count(*) AS n FROM customers"));
            assertEquals(0, TestPg.rows(db, "SELECT 1 FROM pg_attribute WHERE attrelid = 'customers'::regclass "
                    + "AND attname = 'phone'").size());
        } finally {
            TestPg.exec("postgres", "CREATE ROLE " + go);
        }
        TestPg.Run r = run.get(60, TimeUnit.SECONDS);
        TestPg.exec("postgres", "DROP ROLE " + go);
        assertEquals(Exit.OK, r.exit(), r.all());
        assertMadeUsedAndDeleted(r.json());
        assertEquals("safe", EvolveTest.verdict(r, "public.customers"), r.out());
        assertEquals(before, TestPg.catalogState(db));
        assertEquals(customers, TestPg.rows(db, "SELECT count(*) AS n FROM customers"));
        assertEquals("b1_" + db, copy, "the run's session was on the branch's copy");
    }

    /** The database of the run's session once it sleeps in the migration (pg_sleep). */
    static String sleepingSessionsDatabase(CompletableFuture<?> run) throws Exception {
        for (int i = 0; i < 3000; i++) {
            if (run.isDone()) {
                fail("the run ended before its migration slept: " + run.get());
            }
            List<Map<String, Object>> w = TestPg.rows("postgres", "SELECT datname FROM pg_stat_activity WHERE "
                    + "application_name = 'neonmz' AND wait_event = 'PgSleep'");
            if (!w.isEmpty()) {
                return (String) w.get(0).get("datname");
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the migration never slept");
    }

    @Test
    void aBreakingVerdictExits9AndTheBranchIsDeleted() throws Exception {
        String before = TestPg.catalogState(db);
        TestPg.Run r = evolve("ALTER TABLE page_views DROP COLUMN referrer;\nTRUNCATE \"we\"\"ird\";\n", "--json");
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        String id = assertMadeUsedAndDeleted(r.json());
        assertEquals("breaks", EvolveTest.verdict(r, "public.page_views"));
        // TRUNCATE is seen on the branch too (its watch lives in the run's session there)
        assertEquals("table was truncated", EvolveTest.table(r, "public.\"we\"\"ird\"").get("materialize_error")
                .getAsString());
        assertEquals(before, TestPg.catalogState(db));
        assertEquals(1, TestPg.rows(db, "SELECT 1 FROM page_views LIMIT 1").size(), "the parent's rows are there");

        TestPg.Run human = evolve("ALTER TABLE page_views DROP COLUMN referrer;\n");
        assertEquals(Exit.VERIFY, human.exit(), human.all());
        assertTrue(human.out().matches("(?s)evolve: branch evolve-check-\\S+ \\(br-fresh-copy-000002\\) made from main "
                + "\\(br-main-\\S+\\) as it is now, in project shop \\(" + PID + "\\)\nevolve: running \\S+ on it for real, "
                + "statement by statement as psql -f runs it.*public\\.page_views +breaks +column referrer dropped or "
                + "renamed.*\nevolve: branch br-fresh-copy-000002 deleted\n"), human.out());
        assertNotEquals(id, "br-fresh-copy-000002");
    }

    @Test
    void aFailingMigrationExits19AndItsBranchIsDeletedToo() throws Exception {
        String before = TestPg.catalogState(db);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.MIGRATION_FAILED, Evolve::new, env, "--migration",
                EvolveTest.file("ALTER TABLE customers ADD COLUMN phone text;\n\nALTER TABLE page_views ADD COLUMN "
                        + "path text;\n").toString(), "--on-branch");
        assertNoSecret(r.all());
        assertTrue(r.err().contains("error: the migration fails on the branch: column \"path\" of relation \"page_views\" "
                + "already exists (statement 2 of 2, line 3); it ran on the branch only, nothing upstream was changed"),
                r.err());
        assertTrue(r.out().contains("evolve: branch br-fresh-copy-000001 deleted"), r.out());
        TestPg.Run json = evolve("ALTER TABLE page_views ADD COLUMN path text;\n", "--json");
        assertEquals(Exit.MIGRATION_FAILED, json.exit());
        assertMadeUsedAndDeleted(json.json());
        assertEquals(3, api.count("DELETE", "/projects/" + PID + "/branches/"), "each run's branch is deleted");
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void statementsNoTransactionTakesRunOnTheBranchAsTheyWouldWhenDeployed() throws Exception {
        String sql = "-- an index built without blocking writes; then statistics\n"
                + "CREATE INDEX CONCURRENTLY pv_path ON page_views (path);\nVACUUM (ANALYZE) page_views;\n"
                + "ALTER TABLE customers ADD COLUMN phone text;\n";
        TestPg.Run rolledBack = BadInputTest.failsCleanly(Exit.NEEDS_OWN_RUN, Evolve::new, TestPg.env(db),
                "--migration", EvolveTest.file(sql).toString());
        assertTrue(rolledBack.err().contains("--on-branch"), rolledBack.err());
        TestPg.Run r = evolve(sql, "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertMadeUsedAndDeleted(r.json());
        assertEquals("safe", EvolveTest.verdict(r, "public.customers"));
        assertTrue(TestPg.rows(db, "SELECT 1 FROM pg_class WHERE relname = 'pv_path'").isEmpty(), "not on the parent");
        // inside the file's own transaction it fails there as it would when deployed
        TestPg.Run inTx = evolve("BEGIN;\nCREATE INDEX CONCURRENTLY pv_path ON page_views (path);\nCOMMIT;\n");
        assertEquals(Exit.MIGRATION_FAILED, inTx.exit(), inTx.all());
        assertTrue(inTx.err().contains("cannot run inside a transaction block (statement 2 of 3, line 2)"), inTx.err());
        // a transaction the file leaves open changes nothing, as when psql ends
        TestPg.Run open = evolve("BEGIN;\nALTER TABLE page_views DROP COLUMN referrer;\n", "--json");
        assertEquals(Exit.OK, open.exit(), open.all());
        assertTrue(open.json().get("warnings").toString().contains("leaves a transaction open"), open.out());
        assertEquals(0, open.json().get("breaks").getAsInt());
    }

    @Test
    void dryRunShowsTheApiCallsAndTheStatementsAndMakesNothing() throws Exception {
        TestPg.Run r = evolve("CREATE INDEX CONCURRENTLY pv_path ON page_views (path);\n"
                + "ALTER ROLE neondb_owner PASSWORD 'Migr4tion-S3cret';\n", "--dry-run");
        assertEquals(Exit.OK, r.exit(), r.all());
        String out = r.out();
        String main = api.defaultBranch(PID);
        assertTrue(out.contains("Authorization: Bearer ********"), out);
        assertTrue(out.contains("POST " + api.url() + "/projects/" + PID + "/branches\n  {\"endpoints\":[{\"type\":"
                + "\"read_write\"}],\"branch\":{\"parent_id\":\"" + main + "\",\"name\":\"evolve-check-"), out);
        assertTrue(out.contains("GET " + api.url() + "/projects/" + PID + "/connection_uri?database_name=" + db
                + "&role_name=neondb_owner&branch_id={branch_id}"), out);
        assertTrue(out.contains("SET SESSION lock_timeout = '5000ms';"), out);
        assertTrue(out.contains("\nCREATE INDEX CONCURRENTLY pv_path ON page_views (path);\n"), out);
        assertTrue(out.contains("ALTER ROLE neondb_owner PASSWORD '********';"), out);
        assertFalse(out.contains("Migr4tion-S3cret") || out.contains("ROLLBACK"), out);
        assertTrue(out.endsWith("DELETE " + api.url() + "/projects/" + PID + "/branches/{branch_id}\n"), out);
        TestPg.Run json = evolve("SELECT 1;\n", "--dry-run", "--json");
        assertEquals(Exit.OK, json.exit(), json.all());
        assertEquals(2, json.json().getAsJsonArray("requests").size(), json.out());
        assertEquals(0, api.log.stream().filter(x -> !x.method().equals("GET")).count(), "nothing was made");
        assertEquals(0, api.branchesMade.get());
    }

    @Test
    void theApiKeyIsNeverShownAndABadOneIsRefusedBeforeAnythingIsMade() throws Exception {
        Path record = Files.createTempFile("evolve-record", ".md");
        TestPg.Run verbose = evolve("ALTER TABLE customers ADD COLUMN phone text;\n", "--verbose", "--record",
                record.toString());
        assertEquals(Exit.OK, verbose.exit(), verbose.all());
        assertTrue(verbose.out().contains("DELETE " + api.url() + "/projects/" + PID + "/branches/br-fresh-copy-000001"),
                verbose.out());
        assertNoSecret(Files.readString(record));
        String wrong = "napi_wrong_key_for_evolve_0042";
        env.put("NEON_API_KEY", wrong);
        TestPg.Run bad = evolve("SELECT 1;\n");
        assertEquals(Exit.AUTH, bad.exit(), bad.all());
        assertTrue(bad.err().matches("error: Neon API GET /projects/" + PID + " returned 401: authentication failed: "
                + "invalid API key \\(request_id \\S+\\)\n  fix: check NEON_API_KEY.*\n"), bad.err());
        TestPg.Run badJson = evolve("SELECT 1;\n", "--json");
        assertEquals(Exit.AUTH, badJson.json().get("exit").getAsInt(), badJson.out());
        assertFalse(bad.all().contains(wrong), bad.all());
        env.remove("NEON_API_KEY");
        TestPg.Run none = BadInputTest.failsCleanly(Exit.USAGE, Evolve::new, env, "--migration",
                EvolveTest.file("SELECT 1;\n").toString(), "--on-branch");
        assertTrue(none.err().contains("no Neon API key"), none.err());
        TestPg.Run notOnBranch = BadInputTest.failsCleanly(Exit.USAGE, Evolve::new, TestPg.env(db), "--migration",
                EvolveTest.file("SELECT 1;\n").toString(), "--project", PID);
        assertTrue(notOnBranch.err().contains("--project is for --on-branch"), notOnBranch.err());
        assertEquals(1, api.branchesMade.get(), "no branch for a bad key");
    }

    @Test
    void aBranchThatCannotBeDeletedIsNamedWithTheCommandThatDeletesIt() throws Exception {
        api.branchDeleteErrors = 2;
        TestPg.Run r = evolve("ALTER TABLE page_views ADD COLUMN path text;\n");
        assertEquals(Exit.BRANCH_LEFT, r.exit(), r.all());
        assertTrue(r.err().matches("(?s)error: the temporary branch evolve-check-\\S+ \\(br-fresh-copy-000001\\) of project "
                + PID + " could not be deleted: Neon API DELETE /projects/" + PID + "/branches/br-fresh-copy-000001 "
                + "returned 500: .*; before that: the migration fails on the branch: .*already exists.*\n  fix: delete "
                + "it: neonctl branches delete br-fresh-copy-000001 --project-id " + PID + " .*"), r.err());
        TestPg.Run json = evolve("SELECT 1;\n", "--json");
        assertEquals(Exit.BRANCH_LEFT, json.exit(), json.all());
        assertFalse(json.json().getAsJsonObject("branch").get("deleted").getAsBoolean(), json.out());
        assertTrue(json.json().getAsJsonObject("error").get("fix").getAsString().startsWith("delete it: neonctl branches "
                + "delete br-fresh-copy-000002 --project-id " + PID), json.out());
        assertEquals(2, api.branches.get(PID).stream().filter(b -> b.get("id").getAsString().startsWith("br-fresh"))
                .count(), "both runs' branches are left");
        TestPg.Run ok = evolve("SELECT 1;\n", "--json");
        assertEquals(Exit.OK, ok.exit(), ok.all());
        neonmz.NeonApi client = new neonmz.NeonApi(api.url(), FakeNeonApi.KEY, null, java.time.Duration.ofSeconds(10));
        assertTrue(client.deleteBranch(PID, "br-fresh-copy-000001"));
        assertTrue(client.deleteBranch(PID, "br-fresh-copy-000002"));
        assertEquals(List.of(), TestPg.rows("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'b%\\_"
                + db + "'"));
    }

    /** A POST whose answer is lost may have made the branch: it is looked up by its name and deleted. */
    @Test
    void aBranchWhoseCreationAnswerWasLostIsFoundByNameAndDeleted() throws Exception {
        api.opPolls = 0;   // Neon's operations go on without being polled; the fake's only when polled
        api.dropNextMutation = true;
        TestPg.Run r = evolve("SELECT 1;\n", "--json");
        assertEquals(Exit.CONNECT, r.exit(), r.all());
        assertTrue(r.json().getAsJsonObject("error").get("message").getAsString().matches("Neon API POST /projects/"
                + PID + "/branches: the connection broke \\(.*\\); the branch it made \\(br-fresh-copy-000001\\) was "
                + "found by its name and deleted, nothing is left"), r.out());
        JsonObject b = r.json().getAsJsonObject("branch");
        assertEquals("br-fresh-copy-000001", b.get("id").getAsString(), r.out());
        assertTrue(b.get("deleted").getAsBoolean(), r.out());
        assertEquals(1, api.count("DELETE", "/projects/" + PID + "/branches/br-fresh-copy-000001"));
        assertEquals(List.of(), TestPg.rows("postgres", "SELECT datname FROM pg_database WHERE datname = 'b1_" + db + "'"));
        // a POST Neon refused (here a 500: the fake cannot copy the parent) made nothing: nothing is deleted or said to be
        api.back(api.defaultBranch(PID), "127.0.0.1:" + TestPg.server().port(), List.of(db), "neondb_owner", "not-it");
        TestPg.Run refused = evolve("SELECT 1;\n", "--json");
        assertEquals(Exit.CONNECT, refused.exit(), refused.all());
        assertTrue(refused.json().getAsJsonObject("error").get("message").getAsString().contains("returned 500"),
                refused.out());
        assertFalse(refused.json().getAsJsonObject("branch").get("made").getAsBoolean(), refused.out());
        TestPg.Run human = evolve("SELECT 1;\n");
        assertFalse(human.all().contains("deleted"), human.all());
        assertEquals(1, api.log.stream().filter(x -> x.method().equals("DELETE")).count());
    }

    /** Ctrl-C while the migration runs: the shutdown hook deletes the branch before the JVM ends, and says so. */
    @Test
    void ctrlCDeletesTheBranch() throws Exception {
        Path migration = EvolveTest.file("ALTER TABLE customers ADD COLUMN phone text;\nSELECT pg_sleep(60);\n");
        String stderr = interrupted(migration, p -> {
            String copy = sleepingSessionsDatabase(p.onExit().thenApply(x -> null));
            assertEquals("b1_" + db, copy);
        });
        assertTrue(stderr.startsWith("evolve: stopped by a signal; deleting branch br-fresh-copy-000001\n"), stderr);
        assertFalse(stderr.contains("the migration fails"), "the session ended with the branch is no failure of "
                + "the migration:\n" + stderr);
        assertEquals(0, TestPg.rows(db, "SELECT 1 FROM pg_attribute WHERE attrelid = 'customers'::regclass "
                + "AND attname = 'phone'").size());
    }

    /** Ctrl-C while the POST that makes the branch waits for its answer: the hook waits for it, then deletes the branch. */
    @Test
    void ctrlCWhileTheBranchIsBeingMadeDeletesItToo() throws Exception {
        api.branchPostMs = 1500;
        String stderr = interrupted(EvolveTest.file("SELECT 1;\n"), p -> assertTrue(api.branchPosted.await(60,
                TimeUnit.SECONDS), "the POST never came"));
        assertTrue(stderr.startsWith("evolve: stopped by a signal; deleting branch evolve-check-"), stderr);
    }

    interface Signalled {
        void when(Process p) throws Exception;
    }

    /** Evolve --on-branch in a child JVM, sent SIGINT once {@code when} returns; its stderr, once its branch is gone. */
    String interrupted(Path migration, Signalled when) throws Exception {
        // a JVM started with SIGINT ignored (a background job of a script) would ignore Ctrl-C: reset it (coreutils env)
        ProcessBuilder pb = new ProcessBuilder("env", "--default-signal=INT", Path.of(System.getProperty("java.home"),
                "bin", "java").toString(), "-cp", System.getProperty("java.class.path"), "Evolve", "--migration",
                migration.toString(), "--on-branch");
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("NEON") || k.equals("DATABASE_URL"));
        pb.environment().putAll(env);
        Path out = Files.createTempFile("evolve-out", ".txt");
        Path err = Files.createTempFile("evolve-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try {
            when.when(p);
            new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).inheritIO().start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not exit");
            String stderr = Files.readString(err);
            assertEquals(130, p.exitValue(), Files.readString(out) + stderr);
            assertTrue(stderr.contains("\nevolve: branch br-fresh-copy-000001 deleted\n"), stderr);
            assertNoSecret(Files.readString(out) + stderr);
            assertEquals(1, api.count("DELETE", "/projects/" + PID + "/branches/br-fresh-copy-000001"));
            assertTrue(api.branches.get(PID).stream().noneMatch(b -> b.get("id").getAsString().startsWith("br-fresh")));
            assertEquals(List.of(), TestPg.rows("postgres", "SELECT datname FROM pg_database WHERE datname = 'b1_" + db
                    + "'"), "its database is dropped");
            return stderr;
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
