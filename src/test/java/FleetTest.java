import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.NeonApi.RateLimit;

/**
 * fleet against the spec-validated fake Neon API at the scale: 300 projects and 1,000 branches in pages,
 * 429 bursts and 503s on the way, the branches with logical replication on backed by real databases of the lab
 * server in different states (good, a published table's REPLICA IDENTITY reset, an inactive slot holding WAL),
 * one backed by a closed port. Every request is counted against the rate limits by the fake.
 */
class FleetTest {
    static final String ROLE = "fleet_mz_" + ProcessHandle.current().pid();
    static final String TABLES = "customers,orders,\"Order Items\",page_views";
    static String good;
    static String badIdentity;
    static String staleSlot;
    static String slot;

    @BeforeAll
    static void databases() throws Exception {
        good = prepared(true);
        badIdentity = prepared(false);
        TestPg.execAsOwner(badIdentity, "ALTER TABLE customers REPLICA IDENTITY DEFAULT");
        staleSlot = prepared(false);
        slot = "fleet_stale_" + ProcessHandle.current().pid();
        TestPg.exec(staleSlot, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        TestPg.execAsOwner(staleSlot, "INSERT INTO page_views (viewed_at, path) SELECT now(), '/p' || g FROM generate_series(1, 2000) g");
    }

    @AfterAll
    static void dropSlot() {
        TestPg.exec(staleSlot, "SELECT pg_drop_replication_slot('" + slot + "')");
    }

    /** A database the Neon-side steps have set up for ROLE (the role made once: roles are the server's). */
    static String prepared(boolean makeRole) throws Exception {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        List<String[]> steps = new ArrayList<>();
        steps.add(new String[] {"replica-identity", "--table", TABLES});
        steps.add(new String[] {"publication", "--table", TABLES});
        if (makeRole) {
            Path pw = Files.createTempFile("neonmz-fleet", ".password");
            Files.delete(pw);
            steps.add(new String[] {"replication-role", "--role", ROLE, "--password-out", pw.toString()});
        }
        steps.add(new String[] {"grants", "--role", ROLE});
        for (String[] step : steps) {
            TestPg.Run r = TestPg.run(Commands.of(step[0]), env, java.util.Arrays.copyOfRange(step, 1, step.length));
            assertEquals(0, r.exit(), step[0] + ": " + r.all());
        }
        return db;
    }

    /**
     * 300 projects (5 of another organization), 2 branches each plus 2 more in the first 200: 1,000 branches of
     * the organization... less the other organization's 10. Projects 250..299 have logical replication off.
     */
    static FakeNeonApi fleet(int projects) throws Exception {
        FakeNeonApi api = new FakeNeonApi();
        api.projects.clear();
        api.branches.clear();
        Lab.Server s = TestPg.server();
        String owner = s.readSecret("owner.password");
        String hostPort = "127.0.0.1:" + s.port();
        for (int i = 0; i < projects; i++) {
            String pid = String.format("fleet-%03d-000000", i);
            String org = i % 60 == 59 ? "org-other-00000000" : FakeNeonApi.ORG_ID;
            api.addProject(pid, String.format("proj-%03d", i), org, i < projects - projects / 6);
            if (i < Math.max(1, projects * 2 / 3)) {
                api.addBranch(pid, "br-a-" + pid, "feature-a");
                api.addBranch(pid, "br-b-" + pid, "feature-b");
            }
            for (JsonObject b : api.branches.get(pid)) {
                String bid = b.get("id").getAsString();
                api.back(bid, hostPort, List.of(good), "neondb_owner", owner);
            }
        }
        String first = api.projects.keySet().iterator().next();
        List<JsonObject> bs = api.branches.get(first);
        api.back(bs.get(0).get("id").getAsString(), hostPort, List.of(badIdentity), "neondb_owner", owner);
        api.back(bs.get(1).get("id").getAsString(), hostPort, List.of(staleSlot), "neondb_owner", owner);
        api.back(bs.get(2).get("id").getAsString(), "127.0.0.1:" + TestPg.freePort(), List.of("neondb"), "neondb_owner", owner);
        api.endpointState.put(bs.get(3).get("id").getAsString(), "active");
        return api;
    }

    /**
     * notebooks/23-fleet.md's organization: shop (logical replication on; main and dev backed by {@code db}),
     * billing (off), analytics (on; its compute at a closed port).
     */
    static FakeNeonApi notebookFleet(String db) throws Exception {
        FakeNeonApi api = new FakeNeonApi();
        Lab.Server s = TestPg.server();
        String owner = s.readSecret("owner.password");
        api.projects.get(FakeNeonApi.PROJECT_ID).getAsJsonObject("settings").addProperty("enable_logical_replication", true);
        for (JsonObject b : api.branches.get(FakeNeonApi.PROJECT_ID)) {
            api.back(b.get("id").getAsString(), "127.0.0.1:" + s.port(), List.of(db), "neondb_owner", owner);
        }
        api.addProject("billing-frost-519277", "billing", FakeNeonApi.ORG_ID, false);
        api.addProject("analytics-dew-774630", "analytics", FakeNeonApi.ORG_ID, true);
        for (JsonObject b : api.branches.get("analytics-dew-774630")) {
            api.back(b.get("id").getAsString(), "127.0.0.1:" + TestPg.freePort(), List.of("neondb"), "neondb_owner", owner);
        }
        return api;
    }

    static Map<String, String> env(FakeNeonApi api) {
        Map<String, String> env = new HashMap<>(api.env());
        env.remove("NEON_PROJECT_ID");
        return env;
    }

    static JsonObject json(TestPg.Run r) {
        return JsonParser.parseString(r.out().strip()).getAsJsonObject();
    }

    static List<JsonObject> rows(JsonObject j) {
        List<JsonObject> l = new ArrayList<>();
        for (JsonElement e : j.getAsJsonArray("branches")) {
            l.add(e.getAsJsonObject());
        }
        return l;
    }

    /** The scale: about a minute here, so in the slow tier that .ci/run runs after mvn test (with the faults). */
    @Test
    @org.junit.jupiter.api.Tag("scale")
    void threeHundredProjectsAThousandBranchesUnderTheRateLimitWithBurstsOf429And503() throws Exception {
        atScale(300, 1000, 295);
    }

    /** The same at a tenth of the scale, in every mvn test. */
    @Test
    void thirtyProjectsAHundredBranchesUnderTheRateLimitWithBurstsOf429And503() throws Exception {
        atScale(30, 100, 30);
    }

    static void atScale(int projects, int allBranches, int ofTheOrganization) throws Exception {
        FakeNeonApi api = fleet(projects);
        assertEquals(allBranches, api.branches.values().stream().mapToInt(List::size).sum());
        // a bigger account than Neon's published limits, so the test runs in seconds; the limits are still counted
        api.perMinute = 7000;
        api.perRouteSecond = 400;
        api.rateLimitPath = "/projects/fleet-007-000000/branches";   // (projects 0..N: 7 exists at both scales)
        api.rateLimited = 3;
        api.unavailable = 4;
        Map<String, String> env = env(api);
        env.put("NEONMZ_API_PAGE", "3");   // pages of 3 projects, and 2 pages of branches where a project has 4
        TestPg.Run r = TestPg.run(new Fleet(), env, "--org-id", FakeNeonApi.ORG_ID, "--replication-role", ROLE,
                "--api-rate", "6000", "--api-burst", "300", "--parallel", "8", "--json");
        JsonObject j = json(r);
        List<JsonObject> rows = rows(j);
        // 295 projects of the organization: 290 branches... every branch listed once, none dropped
        long ours = api.projects.keySet().stream().filter(p -> FakeNeonApi.ORG_ID.equals(api.projectOrg.get(p))).count();
        long branches = api.projects.keySet().stream().filter(p -> FakeNeonApi.ORG_ID.equals(api.projectOrg.get(p)))
                .mapToLong(p -> api.branches.get(p).size()).sum();
        assertEquals(ofTheOrganization, ours);
        assertEquals(branches, rows.size(), r.err());
        assertEquals(branches, rows.stream().map(o -> o.get("branch_id").getAsString()).distinct().count());
        Map<String, Long> states = rows.stream().collect(Collectors.groupingBy(o -> o.get("state").getAsString(),
                Collectors.counting()));
        assertEquals(1L, states.get("unreachable"), states.toString());
        assertEquals(1L, states.get("fail"), states.toString());
        long off = api.projects.keySet().stream().filter(p -> FakeNeonApi.ORG_ID.equals(api.projectOrg.get(p))
                && !api.projects.get(p).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean())
                .mapToLong(p -> api.branches.get(p).size()).sum();
        assertEquals(off, (long) states.get("skipped"), states.toString());
        JsonObject unreachable = rows.stream().filter(o -> o.get("state").getAsString().equals("unreachable")).findFirst().orElseThrow();
        assertTrue(unreachable.get("reason").getAsString().contains("127.0.0.1"), unreachable.toString());
        assertEquals(3, unreachable.get("exit").getAsInt());
        JsonObject fail = rows.stream().filter(o -> o.get("state").getAsString().equals("fail")).findFirst().orElseThrow();
        assertEquals(badIdentity, fail.get("database").getAsString());
        assertTrue(fail.get("worst").getAsString().startsWith("FAIL"), fail.toString());
        JsonObject stale = rows.stream().filter(o -> staleSlot.equals(o.has("database") && !o.get("database").isJsonNull()
                ? o.get("database").getAsString() : "")).findFirst().orElseThrow();
        assertTrue(stale.get("slot_names").toString().contains(slot), stale.toString());
        assertTrue(stale.get("retained_bytes").getAsLong() > 0, stale.toString());
        assertTrue(stale.get("inactive_slots").getAsInt() >= 1, stale.toString());
        assertEquals(9, r.exit(), "a FAIL wins over an unreachable branch");
        JsonObject a = j.getAsJsonObject("api");
        assertEquals(3, a.get("answered_429").getAsInt());
        assertTrue(a.get("answered_5xx").getAsInt() >= 4, a.toString());
        assertEquals(0, api.overLimit.get(), "no request over the fake's limits");
        synchronized (api.log) {
            assertTrue(api.log.stream().filter(q -> q.path().equals("/projects") && q.status() == 200).count()
                    >= ofTheOrganization / 3, "paged");
            assertTrue(api.log.stream().anyMatch(q -> q.path().endsWith("/branches") && q.query() != null
                    && q.query().contains("cursor=")), "branches paged");
        }
        api.closeAndCheckSpec();
    }

    @Test
    void aTableAMarkdownReportAndTheFiltersOnASmallFleet() throws Exception {
        FakeNeonApi api = fleet(6);
        api.listWithoutSettings = true;   // then each project is read for its logical replication setting
        Path report = Files.createTempFile("fleet", ".md");
        String first = api.projects.keySet().iterator().next();
        TestPg.Run r = TestPg.run(new Fleet(), env(api), "--project", first + ",proj-001", "--replication-role", ROLE,
                "--database", good, "--report", report.toString());
        // --database: the first project's branches backed by other databases have no database of that name
        String out = r.out();
        assertTrue(out.contains("PROJECT") && out.contains("RETAINED") && out.contains("COVERAGE"), out);
        assertTrue(out.contains("fleet: 2 projects, 8 branches (8 with logical replication on)"), out);
        assertTrue(out.lines().filter(l -> l.startsWith("proj-001")).allMatch(l -> l.contains("4 of 4")), out);
        String md = Files.readString(report);
        assertTrue(md.startsWith("# Neon fleet report"), md);
        assertTrue(md.contains("| proj-001 |"), md);
        assertTrue(md.contains("## Not checked"), md);
        assertFalse(out.contains(TestPg.server().readSecret("owner.password")), "no password in the output");
        assertFalse(md.contains(TestPg.server().readSecret("owner.password")), "no password in the report");
        assertFalse(out.contains(FakeNeonApi.KEY) || r.err().contains(FakeNeonApi.KEY), "no API key in the output");
        api.closeAndCheckSpec();
    }

    @Test
    void materializeSourcesAreMatchedToTheirBranchBySlotHostAndDatabase() throws Exception {
        FakeNeonApi api = fleet(2);
        MzStandIn mz = new MzStandIn();
        mz.source("u10", "shop_source", "u2", slot, "running", null)
                .source("u11", "lost_source", "u2", "materialize_gone", "stalled", "slot does not exist");
        mz.exec("UPDATE mz_catalog.mz_sources SET connection_id = 'u50' WHERE id = 'u10'",
                "UPDATE mz_catalog.mz_sources SET connection_id = 'u51' WHERE id = 'u11'",
                "INSERT INTO mz_catalog.mz_connections (id, schema_id, name, type, create_sql) VALUES ('u50', 'u3', "
                        + "'pg_connection', 'postgres', 'CREATE CONNECTION \"materialize\".\"public\".\"pg_connection\" TO "
                        + "POSTGRES (HOST = ''127.0.0.1'', PORT = " + TestPg.server().port() + ", USER = ''materialize'', "
                        + "PASSWORD = SECRET \"materialize\".\"public\".\"pgpass\", DATABASE = ''" + staleSlot + "'')')",
                "INSERT INTO mz_catalog.mz_connections (id, schema_id, name, type, create_sql) VALUES ('u51', 'u3', "
                        + "'old_connection', 'postgres', 'CREATE CONNECTION old_connection TO POSTGRES (HOST ''ep-gone.neon.tech'', "
                        + "DATABASE ''neondb'')')");
        Map<String, String> env = env(api);
        env.putAll(mz.env(null));
        TestPg.Run r = TestPg.run(new Fleet(), env, "--replication-role", ROLE, "--json");
        JsonObject j = json(r);
        JsonObject stale = rows(j).stream().filter(o -> !o.get("database").isJsonNull()
                && o.get("database").getAsString().equals(staleSlot)).findFirst().orElseThrow();
        assertEquals("[\"shop_source\"]", stale.get("materialize_sources").toString(), r.out());
        List<JsonObject> sources = new ArrayList<>();
        j.getAsJsonArray("materialize_sources").forEach(e -> sources.add(e.getAsJsonObject()));
        JsonObject lost = sources.stream().filter(s -> s.get("source").getAsString().equals("lost_source")).findFirst().orElseThrow();
        assertTrue(lost.get("branch").isJsonNull(), lost.toString());
        assertEquals("ep-gone.neon.tech", lost.get("host").getAsString());
        TestPg.Run human = TestPg.run(new Fleet(), env, "--replication-role", ROLE);
        assertTrue(human.out().contains("Materialize source lost_source (host ep-gone.neon.tech, database neondb) matches no branch"),
                human.out());
        api.close();
    }

    @Test
    void skipIdleLeavesSuspendedComputesAloneAndDryRunSendsNothing() throws Exception {
        FakeNeonApi api = fleet(1);
        TestPg.Run r = TestPg.run(new Fleet(), env(api), "--replication-role", ROLE, "--skip-idle", "--json");
        Map<String, Long> states = rows(json(r)).stream().collect(Collectors.groupingBy(o -> o.get("state").getAsString(),
                Collectors.counting()));
        assertEquals(3L, states.get("skipped"), states.toString());
        assertEquals(4L, states.values().stream().mapToLong(Long::longValue).sum(), states.toString());
        int before = api.log.size();
        TestPg.Run dry = TestPg.run(new Fleet(), env(api), "--dry-run", "--org-id", FakeNeonApi.ORG_ID);
        assertEquals(0, dry.exit(), dry.all());
        assertEquals(before, api.log.size(), "--dry-run sends nothing");
        assertTrue(dry.out().contains("GET " + api.url() + "/projects?limit=400&org_id=" + FakeNeonApi.ORG_ID), dry.out());
        assertTrue(dry.out().contains("pg_replication_slots"), dry.out());
        api.close();
    }

    @Test
    void aBranchsPasswordIsTriedOnItsSiblingsAndTheirOwnIsAskedForWhenItFails() throws Exception {
        FakeNeonApi api = fleet(1);
        Lab.Server s = TestPg.server();
        String role = "fleet_reuse_" + ProcessHandle.current().pid();
        TestPg.exec(good, "CREATE ROLE " + role + " LOGIN PASSWORD 'right-pw-1'");
        List<String> ids = api.branches.get(api.projects.keySet().iterator().next()).stream()
                .map(b -> b.get("id").getAsString()).toList();
        // the first branch's stored password is wrong (reset on that branch only); the others' are right
        api.back(ids.get(0), "127.0.0.1:" + s.port(), List.of(good), role, "wrong-pw-0");
        for (String id : ids.subList(1, ids.size())) {
            api.back(id, "127.0.0.1:" + s.port(), List.of(good), role, "right-pw-1");
        }
        TestPg.Run r = TestPg.run(new Fleet(), env(api), "--replication-role", ROLE, "--role", role, "--database", good,
                "--parallel", "1", "--json");
        List<JsonObject> rows = rows(json(r));
        Map<String, String> state = rows.stream().collect(Collectors.toMap(o -> o.get("branch_id").getAsString(),
                o -> o.get("state").getAsString() + " " + o.get("exit").getAsInt()));
        assertEquals("unreachable 4", state.get(ids.get(0)), r.out());
        for (String id : ids.subList(1, ids.size())) {
            assertTrue(state.get(id).startsWith("warn") || state.get(id).startsWith("ok"), id + ": " + r.out());
        }
        // asked for the first branch (wrong), the second (its fallback); the third and fourth reused the second's
        assertEquals(2, api.count("GET", "/projects/" + api.projects.keySet().iterator().next() + "/connection_uri"));
        assertEquals(2, json(r).getAsJsonObject("api").get("connection_uris_reused").getAsInt());
        assertFalse(r.out().contains("right-pw-1") || r.out().contains("wrong-pw-0"), "no password in the output");
        TestPg.exec(good, "DROP ROLE " + role);
        api.close();
    }

    @Test
    void theRateLimitHoldsInEverySlidingWindowAcrossThreads() throws Exception {
        // compressed time: 20 requests per 500 ms, 4 per route per 100 ms; 3 threads, 2 routes, 60 requests
        RateLimit limit = new RateLimit(20, Duration.ofMillis(500), 4, Duration.ofMillis(100));
        ConcurrentLinkedQueue<long[]> sent = new ConcurrentLinkedQueue<>();
        CountDownLatch done = new CountDownLatch(3);
        long t0 = System.nanoTime();
        for (int t = 0; t < 3; t++) {
            int id = t;
            new Thread(() -> {
                try {
                    for (int i = 0; i < 20; i++) {
                        String path = (i + id) % 2 == 0 ? "/projects/a/branches" : "/projects/b/endpoints";
                        RateLimit.Slot slot = limit.acquire("GET", path);
                        sent.add(new long[] {System.nanoTime(), path.hashCode()});
                        slot.done();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            }).start();
        }
        done.await();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        List<long[]> all = new ArrayList<>(sent);
        all.sort((x, y) -> Long.compare(x[0], y[0]));
        for (int i = 0; i < all.size(); i++) {
            int inWindow = 0;
            int inRoute = 0;
            for (int k = i; k < all.size() && all.get(k)[0] - all.get(i)[0] < 500_000_000L; k++) {
                inWindow++;
            }
            for (int k = i; k < all.size() && all.get(k)[0] - all.get(i)[0] < 100_000_000L; k++) {
                inRoute += all.get(k)[1] == all.get(i)[1] ? 1 : 0;
            }
            assertTrue(inWindow <= 20, "window from request " + i + ": " + inWindow);
            assertTrue(inRoute <= 4, "route window from request " + i + ": " + inRoute);
        }
        assertEquals(60, all.size());
        assertTrue(ms >= 1000, "60 requests at 20 per 500 ms take at least 1 s: " + ms);
        // a request counts until its answer has come back (+ the window): Neon may see it arrive late
        RateLimit two = new RateLimit(100, Duration.ofMillis(500), 2, Duration.ofMillis(100));
        RateLimit.Slot a = two.acquire("GET", "/projects");
        RateLimit.Slot b = two.acquire("GET", "/projects");
        java.util.concurrent.CompletableFuture<Long> third = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                two.acquire("GET", "/projects").done();
                return System.nanoTime();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        assertFalse(third.isDone(), "two requests still in flight hold the route's window");
        long released = System.nanoTime();
        a.done();
        b.done();
        long after = (third.get() - released) / 1_000_000;
        assertTrue(after >= 90 && after < 1000, "the third waits for the window after the answers: " + after + " ms");
        assertEquals("GET /projects/{}/branches/{}/databases", RateLimit.route("GET", "/projects/p-1/branches/br-2/databases?x=1"));
        assertEquals("GET /projects", RateLimit.route("GET", "/projects?limit=400"));
    }

    @Test
    void aResetBranchNamesItsOperationsAndRebuildAndTheMaintenanceWindowIsShown() throws Exception {
        FakeNeonApi api = fleet(2);
        List<String> ids = new ArrayList<>(api.projects.keySet());
        String reset = api.branches.get(ids.get(1)).get(0).get("id").getAsString();
        List<String> ops = api.restoreBranch(ids.get(1), reset, java.time.Instant.now().minusSeconds(3600));
        api.restoreBranch(ids.get(1), api.branches.get(ids.get(1)).get(1).get("id").getAsString(),
                java.time.Instant.now().minus(Duration.ofDays(8)));   // too long ago to say
        api.maintenanceWindow(ids.get(0), List.of(2, 5), "03:00", "04:30");
        TestPg.Run r = TestPg.run(new Fleet(), env(api), "--replication-role", ROLE, "--database", good, "--json");
        JsonObject j = json(r);
        int withReset = 0;
        for (JsonObject row : rows(j)) {
            String bid = row.get("branch_id").getAsString();
            assertEquals(row.get("project_id").getAsString().equals(ids.get(0)), row.has("maintenance_window"), row.toString());
            if (row.has("maintenance_window")) {
                assertEquals("03:00", row.getAsJsonObject("maintenance_window").get("start_time").getAsString());
            }
            assertEquals(bid.equals(reset), row.has("neon_reset"), row.toString());
            if (bid.equals(reset)) {
                withReset++;
                JsonObject n = row.getAsJsonObject("neon_reset");
                assertEquals(List.of("suspend_compute " + ops.get(0), "create_timeline " + ops.get(1), "start_compute " + ops.get(2)),
                        new com.google.gson.Gson().fromJson(n.get("operations"), List.class), n.toString());
                assertFalse(n.get("materialize_slot_left").getAsBoolean(), n.toString());
                assertEquals("./jbang rebuild --mz-url \"$MZ_URL\"", n.get("fix").getAsString());
            }
        }
        assertEquals(1, withReset, r.out());
        // one request more, and only for the project with a recent reset
        assertEquals(1, api.count("GET", "/projects/" + ids.get(1) + "/operations"));
        assertEquals(0, api.count("GET", "/projects/" + ids.get(0) + "/operations"));
        TestPg.Run table = TestPg.run(new Fleet(), env(api), "--replication-role", ROLE, "--database", good);
        assertTrue(table.out().contains("NEON"), table.out());
        assertTrue(table.out().contains(": no materialize_% slot left, ./jbang rebuild --mz-url \"$MZ_URL\""), table.out());
        assertTrue(table.out().contains("maintenance Tue,Fri 03:00-04:30 UTC"), table.out());
        api.closeAndCheckSpec();
    }
}
