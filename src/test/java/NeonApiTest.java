import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Secrets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The Neon API client against {@link FakeNeonApi} over real HTTP on localhost. */
class NeonApiTest {
    static final String PID = "shiny-wind-028834";
    FakeNeonApi fake;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeNeonApi();
    }

    @AfterEach
    void stop() {
        fake.closeAndCheckSpec();
    }

    @Test
    void exchangesAreCheckedAgainstNeonsOpenApiSpec() {
        Assumptions.assumeTrue(NeonSpec.validator() != null, "Neon's OpenAPI spec not found at " + NeonSpec.file()
                + ": the spec check of every exchange is skipped (run .ci/run, or set NEON_API_SPEC)");
        // a request the spec forbids is caught: connection_uri needs database_name and role_name
        fake.log.add(new FakeNeonApi.Request("GET", "/projects/" + PID + "/connection_uri", "role_name=x",
                "", Map.of("Authorization", List.of("Bearer " + FakeNeonApi.KEY)), 0, 200, "{\"uri\":\"postgresql://x\"}"));
        assertFalse(NeonSpec.check(fake.log).isEmpty());
        fake.log.clear();
        // and an answer the spec forbids: a project without its required fields
        fake.log.add(new FakeNeonApi.Request("GET", "/projects/" + PID, null, "",
                Map.of("Authorization", List.of("Bearer " + FakeNeonApi.KEY)), 0, 200, "{\"project\":{\"id\":\"x\"}}"));
        assertFalse(NeonSpec.check(fake.log).isEmpty());
        fake.log.clear();
    }

    NeonApi api(Duration timeout) {
        return api(FakeNeonApi.KEY, timeout);
    }

    NeonApi api(String key, Duration timeout) {
        return new NeonApi(fake.url(), key, null, timeout)
                .intervals(Duration.ofMillis(10), Duration.ofMillis(40), Duration.ofMillis(10), Duration.ofMillis(20));
    }

    String main() {
        return fake.defaultBranch(PID);
    }

    @Test
    void resolvesProjectAndBranchByIdOrName() {
        NeonApi api = api(Duration.ofSeconds(10));
        assertEquals("shop", api.resolveProject(PID).get("name").getAsString());
        assertEquals(PID, api.resolveProject("shop").get("id").getAsString());
        fake.addProject("other-project-1", "shop-archive");   // a search hit whose name differs
        assertEquals(PID, api.resolveProject("shop").get("id").getAsString());
        assertEquals(main(), api.resolveBranch(PID, null).get("id").getAsString());
        assertEquals("dev", api.resolveBranch(PID, "dev").get("name").getAsString());
        assertEquals(main(), api.resolveBranch(PID, "main").get("id").getAsString());
        Fail f = assertThrows(Fail.class, () -> api.resolveProject("nope"));
        assertEquals(Exit.NOT_FOUND, f.exit);
        Fail b = assertThrows(Fail.class, () -> api.resolveBranch(PID, "nope"));
        assertEquals(Exit.NOT_FOUND, b.exit);
        assertTrue(b.getMessage().contains("dev, main"), b.getMessage());
    }

    @Test
    void aPersonalKeyWithoutOrgIdIsToldItsOrganizations() {
        fake.requireOrgId = true;
        Fail f = assertThrows(Fail.class, () -> api(Duration.ofSeconds(10)).resolveProject("shop"));
        assertEquals(Exit.USAGE, f.exit);
        assertTrue(f.getMessage().contains("org_id is required") && f.getMessage().contains("org-morning-bread-81040908 (Shop Inc)"),
                f.getMessage());
        assertTrue(f.fix.contains("--org-id"), f.fix);
        assertEquals(PID, api(Duration.ofSeconds(10)).orgId("org-morning-bread-81040908").resolveProject("shop")
                .get("id").getAsString());
    }

    @Test
    void branchesAreReadPageByPage() {
        // 250 newer branches come first (Neon sorts by updated_at, newest first): main is on the third page
        List<JsonObject> bs = fake.branches.get(PID);
        for (int i = 0; i < 250; i++) {
            bs.add(0, FakeNeonApi.branch(PID, "br-feature-" + i, "feature-" + i, false));
        }
        NeonApi api = api(Duration.ofSeconds(10));
        assertEquals(252, api.listBranches(PID).size());
        assertEquals(main(), api.resolveBranch(PID, null).get("id").getAsString());
        assertEquals(3, fake.count("GET", "/projects/" + PID + "/branches") / 2, "three pages per listing");
        assertTrue(fake.log.stream().anyMatch(r -> r.query() != null && r.query().contains("cursor=c200")),
                "the third page is asked for with the second page's pagination.next");
    }

    @Test
    void createRoleReturnsThePasswordAfterPollingItsOperations() {
        fake.opPolls = 3;
        NeonApi api = api(Duration.ofSeconds(10));
        assertNull(api.getRole(PID, main(), "materialize"));
        String pw = api.createRole(PID, main(), "materialize");
        assertEquals(fake.roles.get(main()).get("materialize").get("password").getAsString(), pw);
        assertEquals(Secrets.MASK, Secrets.mask(pw), "the password is registered as a secret");
        assertEquals(4, fake.count("GET", "/projects/" + PID + "/operations/"), "polled until finished");
        assertTrue(fake.ops.values().stream().allMatch(o -> o.pollsLeft == 0));
        assertEquals("materialize", api.getRole(PID, main(), "materialize").get("name").getAsString());
        assertTrue(api.listRoles(PID, main()).stream().anyMatch(r -> r.get("name").getAsString().equals("materialize")));
        assertTrue(api.listRoles(PID, main()).stream().noneMatch(r -> r.has("password")));
    }

    @Test
    void resetAndRevealPassword() {
        NeonApi api = api(Duration.ofSeconds(10));
        String old = api.revealRolePassword(PID, main(), "neondb_owner");
        String fresh = api.resetRolePassword(PID, main(), "neondb_owner");
        assertNotEquals(old, fresh);
        assertEquals(fresh, api.revealRolePassword(PID, main(), "neondb_owner"));
        assertEquals(2 * 3, fake.count("GET", "/projects/" + PID + "/operations/"), "both operations polled");
        fake.storePasswords = false;
        Fail f = assertThrows(Fail.class, () -> api.revealRolePassword(PID, main(), "neondb_owner"));
        assertTrue(f.getMessage().contains("412") && f.getMessage().contains("Storing passwords is disabled"), f.getMessage());
        assertTrue(f.fix.contains("reset"), f.fix);
    }

    @Test
    void connectionUriIsDirectAndItsPasswordMasked() {
        NeonApi api = api(Duration.ofSeconds(10));
        String uri = api.connectionUri(PID, main(), "neondb", "neondb_owner");
        assertFalse(uri.contains("-pooler"), uri);
        assertTrue(fake.log.stream().filter(r -> r.path().endsWith("/connection_uri"))
                .noneMatch(r -> r.query().contains("pooled")));
        assertFalse(Secrets.mask(uri).contains("owner_pw_"), Secrets.mask(uri));
        assertEquals(2, api.listEndpoints(PID, null).size());
        assertEquals("read_write", api.listEndpoints(PID, main()).get(0).get("type").getAsString());
    }

    @Test
    void updateProjectSettingsWaitsAndReplacesAllowedIps() {
        NeonApi api = api(Duration.ofSeconds(10));
        JsonObject s = JsonParser.parseString("{\"enable_logical_replication\":true,"
                + "\"allowed_ips\":{\"ips\":[\"203.0.113.1\"],\"protected_branches_only\":false}}").getAsJsonObject();
        JsonObject p = api.updateProjectSettings(PID, s);
        assertTrue(p.getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean());
        JsonObject now = api.getProject(PID).getAsJsonObject("settings");
        assertTrue(now.get("enable_logical_replication").getAsBoolean());
        assertEquals("[\"203.0.113.1\"]", now.getAsJsonObject("allowed_ips").get("ips").toString());
        assertEquals(3, fake.count("GET", "/projects/" + PID + "/operations/"));
        String sent = fake.log.stream().filter(r -> r.method().equals("PATCH")).findFirst().orElseThrow().body();
        assertTrue(sent.startsWith("{\"project\":{\"settings\":{"), sent);
    }

    @Test
    void retries423UntilTheProjectIsFree() {
        fake.locked = 3;
        NeonApi api = api(Duration.ofSeconds(10));
        api.createRole(PID, main(), "materialize");
        List<Integer> posts = fake.log.stream().filter(r -> r.method().equals("POST")).map(r -> r.status()).toList();
        assertEquals(List.of(423, 423, 423, 201), posts);
    }

    @Test
    void aMutationWhileAnOperationRunsGets423UntilTheDeadline() {
        fake.opPolls = 1000;
        NeonApi api = api(Duration.ofSeconds(2));
        JsonObject body = JsonParser.parseString("{\"project\":{\"settings\":{\"enable_logical_replication\":true}}}")
                .getAsJsonObject();
        api.send("PATCH", "/projects/" + PID, body);   // leaves its operation running
        long t0 = System.nanoTime();
        Fail f = assertThrows(Fail.class, () -> api.createRole(PID, main(), "materialize"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Exit.TIMEOUT, f.exit);
        assertTrue(f.getMessage().contains("423"), f.getMessage());
        assertTrue(ms < 3000, "deadline respected: " + ms + " ms");
        assertTrue(fake.count("POST", "/projects/" + PID + "/branches") >= 2, "retried");
        assertFalse(fake.roles.get(main()).containsKey("materialize"));
    }

    @Test
    void honours429RetryAfter() {
        fake.rateLimitPath = "/projects/" + PID + "/branches";
        fake.rateLimited = 1;
        fake.retryAfterSeconds = 1;
        NeonApi api = api(Duration.ofSeconds(10));
        assertEquals(2, api.listBranches(PID).size());
        List<FakeNeonApi.Request> calls = fake.log.stream().filter(r -> r.path().endsWith("/branches")).toList();
        assertEquals(429, calls.get(0).status());
        assertEquals(200, calls.get(1).status());
        long waited = (calls.get(1).nanos() - calls.get(0).nanos()) / 1_000_000;
        assertTrue(waited >= 1000, "waited " + waited + " ms, Retry-After 1 s");
    }

    @Test
    void a429WithRetryAfterBeyondTheDeadlineFailsAtOnce() {
        fake.rateLimitPath = "/projects";
        fake.rateLimited = 5;
        fake.retryAfterSeconds = 30;
        NeonApi api = api(Duration.ofSeconds(2));
        long t0 = System.nanoTime();
        Fail f = assertThrows(Fail.class, () -> api.getProject(PID));
        assertEquals(Exit.TIMEOUT, f.exit);
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 1500, "did not wait for a Retry-After past the deadline");
        assertTrue(f.getMessage().contains("rate limit exceeded"), f.getMessage());
    }

    @Test
    void retries503() {
        fake.unavailable = 2;
        NeonApi api = api(Duration.ofSeconds(10));
        assertEquals("shop", api.getProject(PID).get("name").getAsString());
        assertEquals(List.of(503, 503, 200), fake.log.stream().map(r -> r.status()).toList());
        fake.unavailable = 1;   // 503 is safe to retry for a POST too (SPEC GeneralError)
        api.createRole(PID, main(), "materialize");
        assertEquals(List.of(503, 201), fake.log.stream().filter(r -> r.method().equals("POST")).map(r -> r.status()).toList());
    }

    @Test
    void aPostWhoseConnectionDropsIsNotSentAgainAndTheStateIsReRead() {
        fake.dropNextMutation = true;
        NeonApi api = api(Duration.ofSeconds(10));
        Fail f = assertThrows(Fail.class, () -> api.createRole(PID, main(), "materialize"));
        assertEquals(Exit.CONNECT, f.exit);
        assertTrue(f.getMessage().contains("connection broke") && f.getMessage().contains("not sent again"), f.getMessage());
        assertTrue(f.getMessage().contains("re-read: role materialize exists now"), f.getMessage());
        assertTrue(f.fix.contains("reset"), f.fix);
        assertEquals(1, fake.count("POST", "/projects/" + PID + "/branches"), "the POST is sent once");
        assertEquals(1, fake.count("GET", "/projects/" + PID + "/branches/" + main() + "/roles/materialize"), "re-read");
    }

    @Test
    void aDroppedPatchIsNotSentAgain() {
        fake.dropNextMutation = true;
        NeonApi api = api(Duration.ofSeconds(10));
        JsonObject s = JsonParser.parseString("{\"enable_logical_replication\":true}").getAsJsonObject();
        Fail f = assertThrows(NeonApi.Uncertain.class, () -> api.updateProjectSettings(PID, s));
        assertTrue(f.getMessage().contains("PATCH /projects/" + PID), f.getMessage());
        assertEquals(1, fake.count("PATCH", "/projects/"));
    }

    @Test
    void unauthorizedShowsTheApiMessageAndNeverTheKey() {
        String wrong = "napi_wrong_key_for_this_test_77";
        NeonApi api = api(wrong, Duration.ofSeconds(10));
        Fail f = assertThrows(Fail.class, () -> api.getProject(PID));
        assertEquals(Exit.AUTH, f.exit);
        assertTrue(f.getMessage().contains("401") && f.getMessage().contains("authentication failed: invalid API key"),
                f.getMessage());
        assertTrue(f.getMessage().contains("request_id"), f.getMessage());
        assertTrue(f.fix.contains("NEON_API_KEY"), f.fix);
        assertFalse((f.getMessage() + f.fix).contains(wrong));
        assertEquals(Secrets.MASK, Secrets.mask(wrong));
        assertEquals(1, fake.log.size(), "401 is not retried");
    }

    @Test
    void notFoundShowsTheApiMessageAndTheFix() {
        NeonApi api = api(Duration.ofSeconds(10));
        NeonApi.ApiError e = assertThrows(NeonApi.ApiError.class, () -> api.getProject("no-such-project"));
        assertEquals(Exit.NOT_FOUND, e.exit);
        assertEquals(404, e.status);
        assertTrue(e.getMessage().contains("project not found") && e.getMessage().contains(e.requestId), e.getMessage());
        assertTrue(e.fix.contains("project id"), e.fix);
        assertFalse((e.getMessage() + e.fix).contains(FakeNeonApi.KEY));
    }

    @Test
    void anOperationInErrorFailsWithItsText() {
        fake.opEnds = "error";
        NeonApi api = api(Duration.ofSeconds(10));
        Fail f = assertThrows(Fail.class, () -> api.createRole(PID, main(), "materialize"));
        assertEquals(Exit.VERIFY, f.exit);
        assertTrue(f.getMessage().contains("apply_config") && f.getMessage().contains("out of capacity"), f.getMessage());
    }

    @Test
    void aFailedOperationIsPolledOnAndFailsAtTheDeadline() {
        fake.opEnds = "failed";
        NeonApi api = api(Duration.ofMillis(1500));
        long t0 = System.nanoTime();
        Fail f = assertThrows(Fail.class, () -> api.createRole(PID, main(), "materialize"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Exit.VERIFY, f.exit);
        assertTrue(f.getMessage().contains("failed: compute failed to start"), f.getMessage());
        assertTrue(ms >= 1000 && ms < 3000, "polled until the deadline: " + ms + " ms");
        assertTrue(fake.count("GET", "/projects/" + PID + "/operations/") > 5);
    }

    @Test
    void noKeyIsAUsageError() {
        Fail f = assertThrows(Fail.class, () -> new NeonApi(fake.url(), " ", null, Duration.ofSeconds(1)));
        assertEquals(Exit.USAGE, f.exit);
    }

    // ---- NeonOptions through a command ---------------------------------------------------------

    @Command(name = "neon-probe")
    static class Probe implements Callable<Integer> {
        @Mixin NeonOptions neon;
        @Mixin OutputOptions output;
        @picocli.CommandLine.Option(names = "--create-role") String createRole;

        @Override
        public Integer call() {
            Out out = output.out();
            NeonApi api = neon.client(out, Duration.ofSeconds(20));
            JsonObject p = api.resolveProject(neon.project());
            JsonObject b = api.resolveBranch(p.get("id").getAsString(), neon.branch);
            if (createRole != null) {
                String pw = api.createRole(p.get("id").getAsString(), b.get("id").getAsString(), createRole);
                out.line("role " + createRole + " password " + pw);
            }
            out.line("project " + p.get("id").getAsString() + " branch " + b.get("name").getAsString());
            return 0;
        }
    }

    String[] run(Map<String, String> env, String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int code = Cli.execute(new Probe(), new Cli.Ctx(env, new BufferedReader(new StringReader("")),
                new PrintWriter(o), new PrintWriter(e), false), args);
        return new String[] {String.valueOf(code), o.toString(), e.toString()};
    }

    @Test
    void optionsTakeTheKeyFromEnvOrFileAndTheHostFromEnv(@TempDir Path dir) throws Exception {
        String[] r = run(Map.of("NEON_API_KEY", FakeNeonApi.KEY, "NEON_API_HOST", fake.url()), "--project", "shop");
        assertEquals("0", r[0], r[2]);
        assertEquals("project " + PID + " branch main", r[1].strip());
        Path keyFile = dir.resolve("key");
        Files.writeString(keyFile, FakeNeonApi.KEY + "\n");
        r = run(Map.of("NEON_PROJECT_ID", PID), "--api-host", fake.url(), "--api-key-file", keyFile.toString(),
                "--branch", "dev");
        assertEquals("0", r[0], r[2]);
        assertEquals("project " + PID + " branch dev", r[1].strip());
        r = run(Map.of(), "--api-host", fake.url(), "--project", "shop");
        assertEquals(String.valueOf(Exit.USAGE), r[0]);
        assertTrue(r[2].contains("NEON_API_KEY"), r[2]);
        String wrong = "napi_another_wrong_key_4242";
        r = run(Map.of("NEON_API_KEY", wrong, "NEON_API_HOST", fake.url()), "--project", PID, "--json");
        assertEquals(String.valueOf(Exit.AUTH), r[0]);
        assertFalse((r[1] + r[2]).contains(wrong), r[1] + r[2]);
        assertTrue(r[1].contains("authentication failed: invalid API key"), r[1]);
    }

    @Test
    void aLongWaitForOperationsShowsProgressAndMasksThePassword() {
        fake.opPolls = 2;   // with the default intervals (1 s, then 2 s) the wait passes the 2 s progress threshold
        String[] r = run(Map.of("NEON_API_KEY", FakeNeonApi.KEY, "NEON_API_HOST", fake.url()), "--project", PID,
                "--create-role", "materialize");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("create role materialize: Neon operations: 1/1"), r[2]);
        assertTrue(r[1].contains("role materialize password " + Secrets.MASK), r[1]);
        assertFalse(r[1].contains(fake.roles.get(main()).get("materialize").get("password").getAsString()));
    }

    /**
     * A branch as its parent is now, with a read_write compute, through POST /branches (the spec's body: no
     * parent_lsn or parent_timestamp), its operations waited for; deleted through DELETE, which an already deleted
     * branch answers 204 (taken as gone); a deletion Neon refuses is an ApiError; a client whose deadline passed
     * deletes with {@code again}.
     */
    @Test
    void aBranchIsMadeFromItsParentsHeadWithAComputeAndDeleted() throws Exception {
        NeonApi api = api(Duration.ofSeconds(10));
        fake.locked = 1;   // a system operation is running: the POST waits it out (423 is safe to retry)
        JsonObject b = api.createBranch(PID, main(), "evolve-check-1");
        String id = b.get("id").getAsString();
        assertTrue(id.startsWith("br-"), id);
        assertEquals(main(), b.get("parent_id").getAsString());
        FakeNeonApi.Request post = fake.log.stream().filter(r -> r.method().equals("POST") && r.status() == 201)
                .findFirst().orElseThrow();
        assertEquals(JsonParser.parseString("{\"endpoints\":[{\"type\":\"read_write\"}],\"branch\":{\"parent_id\":\""
                + main() + "\",\"name\":\"evolve-check-1\"}}"), JsonParser.parseString(post.body()));
        assertTrue(fake.ops.values().stream().allMatch(o -> o.pollsLeft == 0), "its operations were waited for");
        assertEquals(id, api.findBranch(PID, "evolve-check-1").get("id").getAsString());
        assertEquals(main(), NeonApi.str(api.findBranch(PID, main()), "id"));
        assertNull(api.findBranch(PID, "no-such-branch"));
        // the new branch has its parent's roles, with their passwords
        assertTrue(api.connectionUri(PID, id, "neondb", "neondb_owner").contains(":owner_pw_" + PID + "@"));

        NeonApi expired = api(Duration.ofMillis(1));
        Thread.sleep(5);
        assertEquals(Exit.TIMEOUT, assertThrows(Fail.class, () -> expired.deleteBranch(PID, id)).exit);
        assertTrue(expired.again(null, Duration.ofSeconds(10)).deleteBranch(PID, id));
        assertNull(api.findBranch(PID, id));
        assertFalse(api.deleteBranch(PID, id), "already gone: 204");
        assertEquals(1, fake.log.stream().filter(r -> r.method().equals("DELETE") && r.status() == 204).count());

        String other = api.createBranch(PID, null, "evolve-check-2").get("id").getAsString();
        fake.branchDeleteErrors = 1;
        NeonApi.ApiError e = assertThrows(NeonApi.ApiError.class, () -> api.deleteBranch(PID, other));
        assertEquals(500, e.status);
        assertNotNull(api.findBranch(PID, other), "a refused deletion leaves the branch");
        assertTrue(api.deleteBranch(PID, other));
        assertEquals(400, assertThrows(NeonApi.ApiError.class, () -> api.deleteBranch(PID, main())).status,
                "the default branch is not deleted");
    }

    // ---- issue #20: the operations list and the maintenance window ---------------------------------------------

    @Test
    void listsOperationsSinceAnInstantPageByPage() {
        java.time.Instant now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        for (int i = 0; i < 7; i++) {   // one a minute, the newest a minute ago
            fake.addOperation(PID, main(), "start_compute", now.minusSeconds(60L * (i + 1)));
        }
        NeonApi api = api(Duration.ofSeconds(10)).pageSize(3);
        List<com.google.gson.JsonObject> recent = api.listOperations(PID, now.minusSeconds(60 * 4), 10);
        assertEquals(4, recent.size(), recent.toString());
        // the page holding an older one is the last read: 2 pages of 3, not the third
        assertEquals(2, fake.count("GET", "/projects/" + PID + "/operations"));
        assertEquals("limit=3&cursor=op3", fake.log.get(fake.log.size() - 1).query());
        assertEquals(7, api.listOperations(PID, null, 10).size());
        assertEquals(3, api.listOperations(PID, null, 1).size(), "at most maxPages pages");
        assertEquals(List.of(), api.listOperations(PID, now, 10));
    }

    @Test
    void readsTheMaintenanceWindowAndPlacesInstantsInItExactly() {
        NeonApi api = api(Duration.ofSeconds(10));
        assertNull(NeonApi.MaintenanceWindow.of(api.getProject(PID)), "none set");
        fake.maintenanceWindow(PID, List.of(1, 4), "02:00", "04:00");
        NeonApi.MaintenanceWindow w = NeonApi.MaintenanceWindow.of(api.getProject(PID));
        assertEquals("Mon,Thu 02:00-04:00 UTC", w.describe());
        // 2026-12-07 is a Monday
        assertFalse(w.contains(java.time.Instant.parse("2026-12-07T01:59:59Z")));
        assertTrue(w.contains(java.time.Instant.parse("2026-12-07T02:00:00Z")));
        assertTrue(w.contains(java.time.Instant.parse("2026-12-07T03:59:59Z")));
        assertFalse(w.contains(java.time.Instant.parse("2026-12-07T04:00:00Z")), "the end is exclusive");
        assertFalse(w.contains(java.time.Instant.parse("2026-12-08T03:00:00Z")), "Tuesday is not in it");
        assertTrue(w.contains(java.time.Instant.parse("2026-12-10T03:00:00Z")), "Thursday");
        assertTrue(w.contains(java.time.Instant.parse("2026-12-07T03:00:00+01:00")), "03:00 at +01:00 is 02:00 UTC");
        // past midnight: Sunday 23:00 to Monday 01:00
        fake.maintenanceWindow(PID, List.of(7), "23:00", "01:00");
        w = NeonApi.MaintenanceWindow.of(api.getProject(PID));
        assertTrue(w.contains(java.time.Instant.parse("2026-12-06T23:30:00Z")), "Sunday night");
        assertTrue(w.contains(java.time.Instant.parse("2026-12-07T00:30:00Z")), "into Monday");
        assertFalse(w.contains(java.time.Instant.parse("2026-12-07T23:30:00Z")), "Monday night is not");
        assertFalse(w.contains(java.time.Instant.parse("2026-12-06T00:30:00Z")), "nor the small hours of Sunday");
    }
}
