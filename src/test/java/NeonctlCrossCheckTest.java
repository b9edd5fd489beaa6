import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.NeonApi;

/**
 * Cross-checks our Neon API client, and {@link FakeNeonApi} with it, against a client nobody here wrote:
 * Neon's own CLI {@code neonctl} (npm, pinned in {@code .ci/run}). Each operation runs twice, neonctl
 * against one fresh fake and our code against another; then both servers must be in the same state
 * (project settings, roles per branch, databases), both must have sent the same mutating requests
 * (method, path, JSON body), and the connection strings must name the same host, port, user, password,
 * database and sslmode. Every exchange of both sides is checked against Neon's OpenAPI spec, so what
 * neonctl asks also checks the fake's answers.
 *
 * <p>Our side runs the scripts themselves, in-process, with the fake's URL and key in their environment:
 * {@code projects update --enable-logical-replication} ↔ {@code check-logical-replication --enable --yes};
 * {@code roles create} ↔ {@code replication-role --via api}; {@code ip-allow add} ↔ {@code ip-allow};
 * {@code connection-string} ↔ {@code connection-details --json --password-out}.
 *
 * <p>Where neonctl legitimately differs, the difference is asserted, not ignored: it never polls Neon's
 * operations, it reads different endpoints (it builds the connection string itself from the endpoint's host
 * and reveal_password, where we ask Neon's connection_uri), it adds {@code channel_binding=require},
 * {@code ip-allow add} puts the new addresses before the existing ones, and it gives up on a 423 (locked
 * project) where our client retries.
 */
class NeonctlCrossCheckTest {
    static final String PID = "shiny-wind-028834";
    /** Where {@code .ci/run} installs the pinned neonctl; {@code $NEONCTL} overrides. */
    static final Path DEFAULT = Path.of("target", "neonctl", "node_modules", ".bin", "neonctl");
    static Path neonctl;
    static String version;

    @TempDir
    Path tmp;
    FakeNeonApi theirs;   // neonctl's server
    FakeNeonApi ours;     // our client's server

    /** One side of an operation, against its own server; returns what it printed (or the URI it got). */
    interface Side {
        String run(FakeNeonApi fake) throws Exception;
    }

    static Path file() {
        String env = System.getenv("NEONCTL");
        return env != null && !env.isEmpty() ? Path.of(env) : DEFAULT;
    }

    /** Null when neonctl is there and runs; else why the cross-check is skipped. */
    static String missing;

    @BeforeAll
    static void locate() throws Exception {
        Path p = file();
        String fix = " (run .ci/run, or npm install --prefix target/neonctl neonctl@VERSION as pinned there, or set NEONCTL)";
        if (!Files.isRegularFile(p)) {
            missing = "neonctl not found at " + p + ": the cross-check against Neon's own CLI is skipped" + fix;
            return;
        }
        neonctl = p.toAbsolutePath();
        Path dir = Files.createTempDirectory("neonctl-version");
        Run v;
        try {
            v = exec(List.of(neonctl.toString(), "--version"), Map.of(), dir);
        } catch (IOException e) {
            v = new Run(-1, "", String.valueOf(e.getMessage()));
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        if (v.exit != 0) {
            missing = "neonctl at " + p + " does not run (is node on the PATH?): " + v.err.strip()
                    + "; the cross-check against Neon's own CLI is skipped" + fix;
            return;
        }
        version = v.out.strip();
    }

    @BeforeEach
    void start() throws Exception {
        // per test (not in @BeforeAll), so that each test shows up as skipped, with the reason
        Assumptions.assumeTrue(missing == null, missing);
        theirs = new FakeNeonApi();
        ours = new FakeNeonApi();
        for (FakeNeonApi f : List.of(theirs, ours)) {
            f.opPolls = 1;   // one "running" answer, so whether a client waits for operations shows
        }
    }

    @AfterEach
    void stop() {
        if (theirs == null) {
            return;   // skipped
        }
        theirs.close();
        ours.close();
        if (NeonSpec.validator() != null) {
            assertEquals(List.of(), NeonSpec.check(theirs.log), "every request neonctl " + version
                    + " sent, and every answer the fake gave it, matches Neon's OpenAPI spec");
            assertEquals(List.of(), NeonSpec.check(ours.log), "every request and answer of our client matches the spec");
        }
    }

    // ---- the four operations -------------------------------------------------------------------

    @Test
    void enableLogicalReplication() throws Exception {
        cross(f -> neonctl(f, "projects", "update", PID, "--enable-logical-replication", "--yes"),
                this::enableLogicalReplicationOurs);
        assertTrue(ours.projects.get(PID).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean());
        assertEquals(List.of(mutation("PATCH", "/projects/" + PID, 200,
                "{\"project\":{\"settings\":{\"enable_logical_replication\":true}}}")), mutations(theirs));
        assertEquals(mutations(theirs), mutations(ours), "the same PATCH");
        // neonctl sends the PATCH without reading the project first
        assertEquals(List.of(), reads(theirs));
        assertOperations("suspend_compute");
    }

    @Test
    void createRole() throws Exception {
        String printed = cross(f -> neonctl(f, "-o", "json", "roles", "create", "--name", "materialize", "--project-id", PID),
                this::createRoleOurs);
        String main = theirs.defaultBranch(PID);
        assertEquals(List.of(mutation("POST", "/projects/" + PID + "/branches/" + main + "/roles", 201,
                "{\"role\":{\"name\":\"materialize\"}}")), mutations(theirs),
                "the same body as ours: neonctl leaves no_login out unless --no-login is given");
        assertEquals(mutations(theirs), mutations(ours), "the same POST, on the default branch");
        // neonctl prints the created role with its password; ours returns the password (each its own server's)
        JsonObject role = JsonParser.parseString(printed).getAsJsonObject();
        assertEquals("materialize", role.get("name").getAsString());
        assertEquals(password(theirs, main, "materialize"), role.get("password").getAsString());
        assertEquals(password(ours, main, "materialize"), ourOutput);
        // both find the default branch by listing the branches page by page, 100 a page
        assertEquals(List.of("GET /projects/" + PID + "/branches?limit=100"), reads(theirs));
        // ours resolves the project first (--project takes an id or a name), then lists the branches; after
        // the POST it polls the operation neonctl leaves running
        assertEquals(List.of("GET /projects/" + PID, "GET /projects/" + PID + "/branches?limit=100",
                "GET /projects/" + PID + "/branches/" + main + "/roles/materialize"), reads(ours).subList(0, 3));
        assertOperations("apply_config");
    }

    @Test
    void addToIpAllowList() throws Exception {
        // an existing list, applied to protected branches only: both must keep the entry and the flag
        for (FakeNeonApi f : List.of(theirs, ours)) {
            f.projects.get(PID).getAsJsonObject("settings").add("allowed_ips", JsonParser.parseString(
                    "{\"ips\":[\"198.51.100.0/24\"],\"protected_branches_only\":true}"));
        }
        cross(f -> neonctl(f, "-o", "json", "ip-allow", "add", "203.0.113.7", "--project-id", PID),
                this::addToIpAllowListOurs, "allowed_ips");
        // the same PATCH up to the order of the list: neonctl puts the new addresses first
        // ([...new Set(props.ips.concat(existing))]); we append. The API keeps the list as sent, so the
        // stored lists differ in order only, which is the one difference allowed in the state above.
        String patch = "{\"project\":{\"settings\":{\"allowed_ips\":{\"ips\":[%s],\"protected_branches_only\":true}}}}";
        assertEquals(List.of(mutation("PATCH", "/projects/" + PID, 200,
                patch.formatted("\"203.0.113.7\",\"198.51.100.0/24\""))), mutations(theirs));
        assertEquals(List.of(mutation("PATCH", "/projects/" + PID, 200,
                patch.formatted("\"198.51.100.0/24\",\"203.0.113.7\""))), mutations(ours));
        // both read the project first (read, merge, write: the API can only replace the list); ours reads it
        // once more after the PATCH, to verify the entries are there
        assertEquals(List.of("GET /projects/" + PID), reads(theirs));
        assertEquals(List.of("GET /projects/" + PID, "GET /projects/" + PID), reads(ours));
        // an allowed_ips-only PATCH starts no operation in the fake, so there is nothing to wait for
        assertTrue(theirs.ops.isEmpty() && ours.ops.isEmpty());
    }

    @Test
    void connectionString() throws Exception {
        // the same role with the same stored password on both servers, so the whole URI can be compared
        for (FakeNeonApi f : List.of(theirs, ours)) {
            String main = f.defaultBranch(PID);
            JsonObject r = f.roles.get(main).get("neondb_owner").deepCopy();
            r.addProperty("name", "materialize");
            r.addProperty("password", "npg_Cr0ssCheck42");
            f.roles.get(main).put("materialize", r);
        }
        String printed = cross(f -> neonctl(f, "connection-string", "--project-id", PID, "--role-name", "materialize",
                        "--database-name", "neondb"),
                this::connectionStringOurs);
        Map<String, String> theirUri = uriFields(printed.strip());
        Map<String, String> ourUri = uriFields(ourOutput);
        // neonctl adds channel_binding=require to every --ssl require string; Neon's connection_uri (what we
        // use) has no such parameter in the fake unless fake.channelBinding is set, and the toolkit drops it for
        // Materialize anyway (CREATE CONNECTION has no channel binding). Everything else must be equal.
        assertEquals("require", theirUri.remove("channel_binding"), printed);
        assertNull(ourUri.get("channel_binding"), ourOutput);
        assertEquals(theirUri, ourUri, "host, port, user, password, database and sslmode");
        assertEquals("materialize", ourUri.get("user"));
        assertEquals("npg_Cr0ssCheck42", ourUri.get("password"));
        assertEquals("5432", ourUri.get("port"));
        assertEquals("require", ourUri.get("sslmode"));
        assertFalse(ourUri.get("host").contains("-pooler"), ourUri.get("host"));
        // nothing changes; neonctl reads the parts (endpoint host, database list, stored password), we ask Neon
        // for the URI
        assertEquals(List.of(), mutations(theirs));
        assertEquals(List.of(), mutations(ours));
        String b = "/projects/" + PID + "/branches/" + theirs.defaultBranch(PID);
        assertEquals(List.of("GET /projects/" + PID + "/branches?limit=100", "GET " + b + "/endpoints",
                "GET " + b + "/databases", "GET " + b + "/roles/materialize/reveal_password"), reads(theirs));
        // ours asks Neon for the URI, checks its host against the branch's read_write endpoint, and reveals the
        // password only because --password-out asked for it
        assertEquals(List.of("GET /projects/" + PID, "GET /projects/" + PID + "/branches?limit=100", "GET /projects/" + PID
                + "/connection_uri?database_name=neondb&role_name=materialize&branch_id=" + theirs.defaultBranch(PID),
                "GET " + b + "/endpoints", "GET " + b + "/roles/materialize/reveal_password"), reads(ours));
    }

    @Test
    void aLockedProject() throws Exception {
        // Neon answers 423 while conflicting operations run (a system one included); the spec says that is
        // always safe to retry. neonctl retries 423 only around roles create/delete (5 tries, 3 s apart), so
        // projects update fails at once; our client backs off and retries every call. Same request, different
        // persistence: here the states are meant to differ.
        theirs.locked = 1;
        ours.locked = 1;
        Run r = neonctlRun(theirs, "projects", "update", PID, "--enable-logical-replication", "--yes");
        assertNotEquals(0, r.exit, r.out + r.err);
        assertTrue(r.err.contains("project already has running conflicting operations"), r.err);
        assertFalse(theirs.projects.get(PID).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean());
        enableLogicalReplicationOurs(ours);
        assertTrue(ours.projects.get(PID).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean());
        assertEquals(List.of(423), mutations(theirs).stream().map(Mutation::status).toList());
        assertEquals(List.of(423, 200), mutations(ours).stream().map(Mutation::status).toList());
    }

    // ---- our side: each script, run in-process against the fake ------------------------------------

    /** check-logical-replication --enable --yes (against a lab database, whose wal_level is logical already). */
    String enableLogicalReplicationOurs(FakeNeonApi f) {
        return script(f, new CheckLogicalReplication(), "--enable", "--yes").out();
    }

    /** replication-role --via api: the role on the default branch; returns its password (from the 0600 file). */
    String createRoleOurs(FakeNeonApi f) throws IOException {
        Path pw = tmp.resolve("materialize.password");
        script(f, new CreateReplicationRole(), "--via", "api", "--password-out", pw.toString());
        return Files.readString(pw).strip();
    }

    /** ip-allow --ip 203.0.113.7: read the list, append, PATCH the whole allowed_ips object (flag kept). */
    String addToIpAllowListOurs(FakeNeonApi f) {
        return script(f, new AllowMaterializeIps(), "--ip", "203.0.113.7").out();
    }

    /** connection-details --json --password-out: the direct URI's fields, and the password from its file. */
    String connectionStringOurs(FakeNeonApi f) throws IOException {
        Path pw = tmp.resolve("details.password");
        TestPg.Run r = script(f, new ConnectionDetails(), "--json", "--password-out", pw.toString());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        String password = Files.readString(pw).strip();
        assertFalse(r.out().contains(password), "the password is only in its file");
        return "postgresql://" + j.get("user").getAsString() + ":" + password + "@" + j.get("host").getAsString() + ":"
                + j.get("port").getAsInt() + "/" + j.get("database").getAsString() + "?sslmode=" + j.get("ssl_mode").getAsString();
    }

    /** A script in-process with the fake's URL and key in its environment (and a lab database); must exit 0. */
    TestPg.Run script(FakeNeonApi f, Object command, String... args) {
        Map<String, String> env = new LinkedHashMap<>(TestPg.env(TestPg.newDatabase()));
        env.putAll(f.env());
        env.put("HOME", tmp.toString());
        TestPg.Run r = TestPg.run(command, env, args);
        assertEquals(0, r.exit(), command.getClass().getSimpleName() + " " + String.join(" ", args) + ": " + r.all());
        assertFalse(r.all().contains(FakeNeonApi.KEY), "the API key is never printed");
        return r;
    }

    // ---- running both sides and comparing ------------------------------------------------------

    String ourOutput;

    /**
     * Runs neonctl against {@link #theirs} and our side against {@link #ours}, then asserts both servers hold
     * the same state. {@code orderFree} names allowed_ips-like settings whose {@code ips} list may differ in
     * order only. Returns neonctl's output; ours is in {@link #ourOutput}.
     */
    String cross(Side neonctlSide, Side ourSide, String... orderFree) throws Exception {
        String out = neonctlSide.run(theirs);
        ourOutput = ourSide.run(ours);
        assertEquals(state(theirs, orderFree), state(ours, orderFree), "neonctl " + version
                + " and our client leave the server in the same state");
        return out;
    }

    /** Project settings, role names per branch, databases per branch (passwords differ by design). */
    static Map<String, Object> state(FakeNeonApi f, String... orderFree) {
        Map<String, Object> s = new LinkedHashMap<>();
        JsonObject settings = f.projects.get(PID).getAsJsonObject("settings").deepCopy();
        for (String k : orderFree) {
            JsonObject a = settings.getAsJsonObject(k);
            List<String> ips = new ArrayList<>();
            a.getAsJsonArray("ips").forEach(ip -> ips.add(ip.getAsString()));
            ips.sort(null);
            JsonArray sorted = new JsonArray();
            ips.forEach(sorted::add);
            a.add("ips", sorted);
        }
        s.put("settings", settings);
        Map<String, List<String>> roles = new TreeMap<>();
        f.roles.forEach((b, rs) -> roles.put(b, List.copyOf(rs.keySet())));
        s.put("roles", roles);
        s.put("databases", new TreeMap<>(f.databases));
        return s;
    }

    record Mutation(String method, String path, int status, JsonElement body) {}

    static Mutation mutation(String method, String path, int status, String body) {
        return new Mutation(method, path, status, JsonParser.parseString(body));
    }

    /** The requests that may change something, in order, with the parsed body (key order does not count). */
    static List<Mutation> mutations(FakeNeonApi f) {
        synchronized (f.log) {
            return f.log.stream().filter(r -> !r.method().equals("GET"))
                    .map(r -> new Mutation(r.method(), r.path() + (r.query() == null ? "" : "?" + r.query()), r.status(),
                            r.body().isEmpty() ? JsonNull.INSTANCE : JsonParser.parseString(r.body())))
                    .toList();
        }
    }

    /** The reads, in order, without the polls of operations. */
    static List<String> reads(FakeNeonApi f) {
        synchronized (f.log) {
            return f.log.stream().filter(r -> r.method().equals("GET") && !r.path().contains("/operations/"))
                    .map(r -> "GET " + r.path() + (r.query() == null ? "" : "?" + r.query())).toList();
        }
    }

    /**
     * neonctl does not wait for the operations a mutating call starts (it never GETs /operations, so the
     * fake's operation is still running when it exits); our client polls each one until it is terminal.
     */
    void assertOperations(String action) {
        assertEquals(0, theirs.count("GET", "/projects/" + PID + "/operations"), "neonctl never polls operations");
        assertEquals(List.of(action), theirs.ops.values().stream().map(o -> o.json.get("action").getAsString()).toList());
        assertTrue(theirs.ops.values().stream().allMatch(o -> o.pollsLeft > 0), "left running by neonctl");
        assertEquals(List.of(action), ours.ops.values().stream().map(o -> o.json.get("action").getAsString()).toList());
        assertTrue(ours.ops.values().stream().allMatch(o -> o.pollsLeft == 0
                && o.json.get("status").getAsString().equals("finished")), "waited for by our client");
    }

    static String password(FakeNeonApi f, String branch, String role) {
        return f.roles.get(branch).get(role).get("password").getAsString();
    }

    /** user, password, host, port (5432 when absent), database and each query parameter of a postgresql:// URI. */
    static Map<String, String> uriFields(String uri) {
        URI u = URI.create(uri);
        assertEquals("postgresql", u.getScheme(), uri);
        Map<String, String> m = new TreeMap<>();
        String info = u.getRawUserInfo();
        int colon = info.indexOf(':');
        m.put("user", URLDecoder.decode(info.substring(0, colon), StandardCharsets.UTF_8));
        m.put("password", URLDecoder.decode(info.substring(colon + 1), StandardCharsets.UTF_8));
        m.put("host", u.getHost());
        m.put("port", String.valueOf(u.getPort() < 0 ? 5432 : u.getPort()));
        m.put("database", URLDecoder.decode(u.getRawPath().substring(1), StandardCharsets.UTF_8));
        if (u.getRawQuery() != null) {
            for (String kv : u.getRawQuery().split("&")) {
                int i = kv.indexOf('=');
                m.put(kv.substring(0, i), URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    // ---- the two clients -----------------------------------------------------------------------

    static NeonApi api(FakeNeonApi f) {
        return new NeonApi(f.url(), FakeNeonApi.KEY, null, Duration.ofSeconds(20))
                .intervals(Duration.ofMillis(10), Duration.ofMillis(40), Duration.ofMillis(10), Duration.ofMillis(20));
    }

    /**
     * neonctl against the fake: its hidden --api-host, the key in NEON_API_KEY, analytics off, and a config
     * dir, context file, HOME and working directory of its own, so nothing of the machine's Neon setup leaks in;
     * CI=true and no stdin, so it never prompts. Fails the test unless it exits 0.
     */
    String neonctl(FakeNeonApi f, String... args) throws IOException, InterruptedException {
        Run r = neonctlRun(f, args);
        assertEquals(0, r.exit, "neonctl " + version + " " + String.join(" ", args) + " failed: " + r.err + r.out);
        return r.out;
    }

    Run neonctlRun(FakeNeonApi f, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(neonctl.toString(), "--api-host", f.url(), "--no-analytics",
                "--no-color", "--config-dir", tmp.resolve("config").toString(),
                "--context-file", tmp.resolve(".neon").toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, Map.of("NEON_API_KEY", FakeNeonApi.KEY), tmp);
    }

    record Run(int exit, String out, String err) {}

    static Run exec(List<String> cmd, Map<String, String> env, Path dir) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("NEON_"));
        pb.environment().putAll(env);
        pb.environment().put("HOME", dir.toString());
        pb.environment().put("CI", "true");
        pb.environment().put("NO_COLOR", "1");
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Path err = Files.createTempFile(dir, "neonctl", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Run(-1, out, "timed out after 30 s");
        }
        return new Run(p.exitValue(), out, Files.readString(err));
    }
}
