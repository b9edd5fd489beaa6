import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A local, stateful stand-in for the Neon API v2 endpoints the toolkit uses, shaped as the spec says
 * (reference/neon.md §1): projects with settings, branches (one default; created and deleted, a branch of a parent
 * backed by a real PostgreSQL backed by a real copy of its databases), roles with passwords and operations,
 * connection_uri, operations that run for a few polls, 423 while an operation runs, and error bodies
 * {@code {"code","message","request_id"}}. Knobs make it answer 429/503, fail an operation or drop a connection.
 */
final class FakeNeonApi implements AutoCloseable {
    static final String KEY = "napi_test_key_0123456789abcdef";
    /** The project every fake starts with. */
    static final String PROJECT_ID = "shiny-wind-028834";
    /** The organization of every project unless {@link #projectOrg} says otherwise. */
    static final String ORG_ID = "org-morning-bread-81040908";

    record Request(String method, String path, String query, String body, Map<String, List<String>> headers,
                   long nanos, int status, String response) {}

    final HttpServer server;
    final List<Request> log = Collections.synchronizedList(new ArrayList<>());

    // state
    final Map<String, JsonObject> projects = new LinkedHashMap<>();
    final Map<String, List<JsonObject>> branches = new LinkedHashMap<>();
    final Map<String, Map<String, JsonObject>> roles = new LinkedHashMap<>();   // branch id → name → role
    final Map<String, Op> ops = new LinkedHashMap<>();
    final Map<String, List<String>> databases = new LinkedHashMap<>();   // branch id → database names (owner neondb_owner)
    boolean storePasswords = true;

    // knobs
    int opPolls = 2;                       // polls an operation stays running
    String opEnds = "finished";            // how the next operations end
    int locked;                            // the next N mutating requests get 423 (a system operation)
    int unavailable;                       // the next N requests get 503
    String rateLimitPath;                  // requests whose path starts with this get 429 ...
    int rateLimited;                       // ... this many times
    int retryAfterSeconds = 1;
    boolean dropNextMutation;              // apply the next POST/PATCH, then close the socket unanswered
    boolean requireOrgId;                  // GET /projects without org_id answers 400 (a personal key in an org)
    boolean channelBinding;                // connection_uri adds channel_binding=require (as the Console's strings do)
    boolean pooledUris;                    // connection_uri answers with a -pooler host even when not asked to
    String badAnswer;                      // the next 2xx answers' bodies: "not-json", "truncated" or "error-200" ...
    int badAnswers;                        // ... this many of them
    final Map<String, String> otherKeys = new LinkedHashMap<>();   // key → "expired" (401) or "other-org" (404/403)
    // what the control plane does to the compute (tests plug a real PostgreSQL in here); run on a new thread
    Runnable onEnableLogicalReplication;   // settings.enable_logical_replication went false → true
    java.util.function.BiConsumer<String, String> onRoleCreated;   // (name, password) of a role the API made
    final AtomicInteger requestIds = new AtomicInteger();
    // scale and the published rate limits (reference/neon.md §1d: 700 a minute, 40 a second per route)
    boolean listWithoutSettings;           // GET /projects leaves out each item's settings (optional in the spec)
    volatile long latencyMs;               // every answer waits this long first (outside the lock: answers overlap)
    boolean enforceRateLimit = true;       // over the limits: 429 with Retry-After, as Neon answers
    int perMinute = 700;
    int perRouteSecond = 40;
    final List<long[]> arrivals = new ArrayList<>();          // {nanos, route hash} of every request
    final AtomicInteger overLimit = new AtomicInteger();      // requests that arrived over a limit
    final Map<String, String> projectOrg = new LinkedHashMap<>();   // project id → org id
    final Map<String, String> backing = new LinkedHashMap<>();      // branch id → "host:port" of a real PostgreSQL
    final Map<String, String> endpointState = new LinkedHashMap<>(); // branch id → current_state (default idle)
    // branches made through the API: a backed parent's databases copied for real (CREATE DATABASE … TEMPLATE)
    final Map<String, Map<String, String>> realDbs = new LinkedHashMap<>();   // branch id → database → the real one
    final Map<String, List<String>> copies = new LinkedHashMap<>();           // branch id → real databases made for it
    final AtomicInteger branchesMade = new AtomicInteger();
    int branchDeleteErrors;                // the next N DELETEs of a branch answer 500 and leave it
    volatile long branchPostMs;            // a POST of a branch waits this long before it makes it ...
    final java.util.concurrent.CountDownLatch branchPosted = new java.util.concurrent.CountDownLatch(1);   // ... and arrived

    static final class Op {
        final JsonObject json;
        int pollsLeft;
        final String ends;

        Op(JsonObject json, int polls, String ends) {
            this.json = json;
            this.pollsLeft = polls;
            this.ends = ends;
        }
    }

    FakeNeonApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/api/v2", this::arrive);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(32, r -> {
            Thread t = new Thread(r, "fake-neon-api");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        addProject(PROJECT_ID, "shop");
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/api/v2";
    }

    /** The environment a script needs to use this server: its URL, the key, the project, short polls. */
    Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("NEON_API_HOST", url());
        env.put("NEON_API_KEY", KEY);
        env.put("NEON_PROJECT_ID", PROJECT_ID);
        env.put("NEONMZ_API_POLL_MS", "10");
        env.put("NO_COLOR", "1");
        return env;
    }

    @Override
    public void close() {
        server.stop(0);
    }

    /** Stops the server, then asserts every exchange matched Neon's OpenAPI spec (when the spec is there). */
    void closeAndCheckSpec() {
        close();
        if (NeonSpec.validator() != null) {
            org.junit.jupiter.api.Assertions.assertEquals(List.of(), NeonSpec.check(log),
                    "every request and answer matches Neon's OpenAPI spec");
        }
    }

    JsonObject addProject(String id, String name) {
        JsonObject settings = JsonParser.parseString("{\"allowed_ips\":{\"ips\":[],\"protected_branches_only\":false},"
                + "\"enable_logical_replication\":false,\"block_public_connections\":false,"
                + "\"block_vpc_connections\":false}").getAsJsonObject();
        JsonObject p = new JsonObject();
        p.addProperty("id", id);
        p.addProperty("name", name);
        p.addProperty("region_id", "aws-us-east-2");
        p.add("settings", settings);
        // the rest of the spec's required Project fields
        fill(p, "platform_id", "aws", "pg_version", 17, "proxy_host", "us-east-2.aws.neon.tech",
                "branch_logical_size_limit", 0, "branch_logical_size_limit_bytes", 0, "store_passwords", true,
                "cpu_used_sec", 0, "active_time_seconds", 0, "compute_time_seconds", 0,
                "written_data_bytes", 0, "data_transfer_bytes", 0, "data_storage_bytes_hour", 0,
                "consumption_period_start", T, "consumption_period_end", T, "provisioner", "k8s-neonvm",
                "creation_source", "console", "history_retention_seconds", 86400, "created_at", T, "updated_at", T,
                "owner_id", "user-1");
        projects.put(id, p);
        List<JsonObject> bs = new ArrayList<>();
        bs.add(branch(id, "br-dev-" + id.hashCode(), "dev", false));
        bs.add(branch(id, "br-main-" + id.hashCode(), "main", true));
        branches.put(id, bs);
        for (JsonObject b : bs) {
            Map<String, JsonObject> r = new LinkedHashMap<>();
            r.put("neondb_owner", role(b.get("id").getAsString(), "neondb_owner", "owner_pw_" + id));
            roles.put(b.get("id").getAsString(), r);
            databases.put(b.get("id").getAsString(), new ArrayList<>(List.of("neondb")));
        }
        return p;
    }

    static JsonObject branch(String project, String id, String name, boolean dflt) {
        JsonObject b = new JsonObject();
        b.addProperty("id", id);
        b.addProperty("project_id", project);
        b.addProperty("name", name);
        b.addProperty("default", dflt);
        b.addProperty("primary", dflt);
        fill(b, "current_state", "ready", "state_changed_at", T, "creation_source", "console", "created_at", T,
                "updated_at", T, "protected", false, "cpu_used_sec", 0, "active_time_seconds", 0,
                "compute_time_seconds", 0, "written_data_bytes", 0, "data_transfer_bytes", 0);
        return b;
    }

    private static JsonObject role(String branch, String name, String password) {
        JsonObject r = new JsonObject();
        r.addProperty("branch_id", branch);
        r.addProperty("name", name);
        r.addProperty("password", password);
        r.addProperty("protected", false);
        r.addProperty("created_at", "2026-01-01T00:00:00Z");
        r.addProperty("updated_at", "2026-01-01T00:00:00Z");
        return r;
    }

    String defaultBranch(String project) {
        return branches.get(project).stream().filter(b -> b.get("default").getAsBoolean()).findFirst()
                .orElseThrow().get("id").getAsString();
    }

    long count(String method, String pathPrefix) {
        synchronized (log) {
            return log.stream().filter(r -> r.method.equals(method) && r.path.startsWith(pathPrefix)).count();
        }
    }

    // ---- the handler ---------------------------------------------------------------------------

    static final Pattern PROJECT = Pattern.compile("/projects/([^/]+)(/.*)?");

    /** Counts the request against the limits where it arrives, waits the injected latency, then answers. */
    private void arrive(HttpExchange ex) throws IOException {
        long now = System.nanoTime();
        String route = neonmz.NeonApi.RateLimit.route(ex.getRequestMethod(),
                ex.getRequestURI().getRawPath().substring("/api/v2".length()));
        boolean over;
        synchronized (arrivals) {
            arrivals.add(new long[] {now, route.hashCode()});
            over = countSince(now - 60_000_000_000L, 0, false) > perMinute
                    || countSince(now - 1_000_000_000L, route.hashCode(), true) > perRouteSecond;
        }
        if (over) {
            overLimit.incrementAndGet();
        }
        if (latencyMs > 0) {
            try {
                Thread.sleep(latencyMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (over && enforceRateLimit) {
            ex.getResponseHeaders().set("Retry-After", "1");
            String rid = ex.getRequestHeaders().getFirst("X-Request-ID");
            Reply r = error(429, "", "rate limit exceeded", rid == null ? "req-limit" : rid);
            log.add(new Request(ex.getRequestMethod(), ex.getRequestURI().getRawPath().substring("/api/v2".length()),
                    ex.getRequestURI().getRawQuery(), "", Map.of(), now, 429, r.json.toString()));
            byte[] bytes = r.json.toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(429, bytes.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
            return;
        }
        handle(ex);
    }

    private int countSince(long since, int route, boolean byRoute) {
        int n = 0;
        for (int i = arrivals.size() - 1; i >= 0 && arrivals.get(i)[0] > since; i--) {
            if (!byRoute || arrivals.get(i)[1] == route) {
                n++;
            }
        }
        return n;
    }

    /** The most requests that arrived within any 60 s, and of one route within any 1 s (sliding windows). */
    int[] peaks() {
        synchronized (arrivals) {
            int minute = 0;
            int second = 0;
            Map<Long, List<Long>> byRoute = new LinkedHashMap<>();
            for (int i = 0, j = 0; i < arrivals.size(); i++) {
                while (arrivals.get(i)[0] - arrivals.get(j)[0] >= 60_000_000_000L) {
                    j++;
                }
                minute = Math.max(minute, i - j + 1);
                byRoute.computeIfAbsent(arrivals.get(i)[1], k -> new ArrayList<>()).add(arrivals.get(i)[0]);
            }
            for (List<Long> ts : byRoute.values()) {
                for (int i = 0, j = 0; i < ts.size(); i++) {
                    while (ts.get(i) - ts.get(j) >= 1_000_000_000L) {
                        j++;
                    }
                    second = Math.max(second, i - j + 1);
                }
            }
            return new int[] {minute, second};
        }
    }

    /** A project with its two branches (dev, main) in an organization, logical replication on or off. */
    JsonObject addProject(String id, String name, String org, boolean logical) {
        JsonObject p = addProject(id, name);
        projectOrg.put(id, org);
        p.getAsJsonObject("settings").addProperty("enable_logical_replication", logical);
        return p;
    }

    /** One more branch (with neondb and its owner), returned by id. */
    String addBranch(String project, String id, String name) {
        branches.get(project).add(branch(project, id, name, false));
        Map<String, JsonObject> r = new LinkedHashMap<>();
        r.put("neondb_owner", role(id, "neondb_owner", "owner_pw_" + project));
        roles.put(id, r);
        databases.put(id, new ArrayList<>(List.of("neondb")));
        return id;
    }

    /**
     * The branch's connection_uri points at a real PostgreSQL (host:port, no TLS) with these databases, as
     * {@code role} with {@code password}.
     */
    void back(String branchId, String hostPort, List<String> dbs, String role, String password) {
        backing.put(branchId, hostPort);
        databases.put(branchId, new ArrayList<>(dbs));
        roles.get(branchId).put(role, role(branchId, role, password));
    }

    private synchronized void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath().substring("/api/v2".length());
        String query = ex.getRequestURI().getRawQuery();
        String body;
        try (InputStream in = ex.getRequestBody()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String requestId = ex.getRequestHeaders().getFirst("X-Request-ID");
        if (requestId == null) {
            requestId = "req-" + requestIds.incrementAndGet();
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String h : List.of("Authorization", "Content-Type", "Accept", "X-Request-ID")) {
            List<String> v = ex.getRequestHeaders().get(h);
            if (v != null) {
                headers.put(h, List.copyOf(v));
            }
        }
        Reply r = route(method, path, query, body, requestId, ex);
        if (r == null) {
            // dropped: the change is applied, then the socket closes with no answer
            log.add(new Request(method, path, query, body, headers, System.nanoTime(), -1, ""));
            ex.close();
            return;
        }
        if (r.json == null) {   // 204: no body
            log.add(new Request(method, path, query, body, headers, System.nanoTime(), r.status, ""));
            ex.sendResponseHeaders(r.status, -1);
            ex.close();
            return;
        }
        String text = r.json.toString();
        if (badAnswers > 0 && r.status / 100 == 2) {
            badAnswers--;
            text = switch (badAnswer) {
                case "not-json" -> "<html><body>502 Bad Gateway</body></html>";
                case "truncated" -> text.substring(0, text.length() / 2);
                case "error-200" -> error(200, "internal", "internal error, please retry", requestId).json.toString();
                default -> throw new IllegalStateException(badAnswer);
            };
        }
        log.add(new Request(method, path, query, body, headers, System.nanoTime(), r.status, text));
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(r.status, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }

    record Reply(int status, JsonObject json) {}

    private static Reply error(int status, String code, String message, String requestId) {
        JsonObject o = new JsonObject();
        o.addProperty("request_id", requestId);
        o.addProperty("code", code);
        o.addProperty("message", message);
        return new Reply(status, o);
    }

    static Map<String, List<String>> queryParams(String q) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        query(q).forEach((k, v) -> m.put(k, List.of(v)));
        return m;
    }

    private static Map<String, String> query(String q) {
        Map<String, String> m = new LinkedHashMap<>();
        if (q != null) {
            for (String kv : q.split("&")) {
                int i = kv.indexOf('=');
                m.put(URLDecoder.decode(i < 0 ? kv : kv.substring(0, i), StandardCharsets.UTF_8),
                        i < 0 ? "" : URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    private Reply route(String method, String path, String rawQuery, String body, String rid, HttpExchange ex) {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String other = auth == null || !auth.startsWith("Bearer ") ? null : otherKeys.get(auth.substring(7));
        if ("expired".equals(other)) {
            return error(401, "", "authentication failed: the API key has expired", rid);
        }
        if ("other-org".equals(other)) {
            // a valid key of another organization: its projects are not found, the rest is not allowed
            return path.startsWith("/projects/") ? error(404, "", "not found", rid)
                    : error(403, "", "the API key does not have access to this organization", rid);
        }
        if (auth == null || !auth.equals("Bearer " + KEY)) {
            return error(401, "", "authentication failed: invalid API key", rid);
        }
        if (unavailable > 0) {
            unavailable--;
            return error(503, "", "service unavailable, please retry", rid);
        }
        if (rateLimitPath != null && rateLimited > 0 && path.startsWith(rateLimitPath)) {
            rateLimited--;
            ex.getResponseHeaders().set("Retry-After", String.valueOf(retryAfterSeconds));
            return error(429, "", "rate limit exceeded", rid);
        }
        boolean mutating = !method.equals("GET");
        if (mutating && (locked > 0 || ops.values().stream().anyMatch(o -> o.pollsLeft > 0))) {
            if (locked > 0) {
                locked--;
            }
            return error(423, "", "project already has running conflicting operations, scheduling of new ones is prohibited", rid);
        }
        Map<String, String> q = query(rawQuery);
        if (path.equals("/users/me/organizations") && method.equals("GET")) {
            JsonObject org = new JsonObject();
            fill(org, "id", "org-morning-bread-81040908", "name", "Shop Inc", "handle", "shop-inc-org-morning-bread-81040908",
                    "plan", "scale", "created_at", T, "updated_at", T, "managed_by", "console");
            JsonArray orgs = new JsonArray();
            orgs.add(org);
            return new Reply(200, wrap("organizations", orgs));
        }
        if (path.equals("/projects") && method.equals("GET") && requireOrgId && !q.containsKey("org_id")) {
            return error(400, "", "org_id is required, you can find it on your organization settings page", rid);
        }
        if (path.equals("/projects") && method.equals("GET")) {
            String search = q.getOrDefault("search", "");
            String org = q.get("org_id");
            int limit = q.containsKey("limit") ? Integer.parseInt(q.get("limit")) : 10;
            String after = q.get("cursor");
            boolean started = after == null || after.isEmpty();
            String last = null;
            JsonArray list = new JsonArray();
            for (JsonObject p : projects.values()) {
                if (!started) {
                    started = p.get("id").getAsString().equals(after);
                    continue;
                }
                if (list.size() >= limit) {
                    break;
                }
                if (org != null && !org.equals(projectOrg.getOrDefault(p.get("id").getAsString(), ORG_ID))) {
                    continue;
                }
                if (p.get("name").getAsString().contains(search) || p.get("id").getAsString().contains(search)) {
                    last = p.get("id").getAsString();
                    // a ProjectListItem: active_time instead of the usage fields of a Project
                    JsonObject item = p.deepCopy();
                    for (String k : List.of("consumption_period_start", "consumption_period_end", "active_time_seconds",
                            "compute_time_seconds", "written_data_bytes", "data_transfer_bytes", "data_storage_bytes_hour",
                            "history_retention_seconds")) {
                        item.remove(k);
                    }
                    item.addProperty("active_time", 0);
                    item.addProperty("org_id", projectOrg.getOrDefault(p.get("id").getAsString(), ORG_ID));
                    if (listWithoutSettings) {
                        item.remove("settings");
                    }
                    list.add(item);
                }
            }
            JsonObject o = new JsonObject();
            o.add("projects", list);
            JsonObject pag = new JsonObject();
            pag.addProperty("cursor", last == null ? "c-end" : last);
            o.add("pagination", pag);
            o.add("applications", new JsonObject());
            o.add("integrations", new JsonObject());
            return new Reply(200, o);
        }
        Matcher m = PROJECT.matcher(path);
        if (!m.matches()) {
            return error(404, "", "not found", rid);
        }
        JsonObject project = projects.get(m.group(1));
        if (project == null) {
            return error(404, "", "project not found", rid);
        }
        String pid = m.group(1);
        String rest = m.group(2) == null ? "" : m.group(2);
        String[] parts = rest.isEmpty() ? new String[0] : rest.substring(1).split("/");
        if (parts.length == 0) {
            if (method.equals("GET")) {
                return new Reply(200, wrap("project", project));
            }
            if (method.equals("PATCH")) {
                JsonObject req = JsonParser.parseString(body).getAsJsonObject().getAsJsonObject("project");
                JsonObject settings = project.getAsJsonObject("settings");
                boolean wasLogical = settings.get("enable_logical_replication").getAsBoolean();
                if (req.has("settings")) {
                    for (var e : req.getAsJsonObject("settings").entrySet()) {
                        settings.add(e.getKey(), e.getValue());   // allowed_ips replaced as a whole
                    }
                }
                JsonObject o = wrap("project", project);
                JsonArray opsJson = new JsonArray();
                if (req.has("settings") && req.getAsJsonObject("settings").has("enable_logical_replication")) {
                    opsJson.add(newOp(pid, defaultBranch(pid), "suspend_compute"));
                    if (!wasLogical && settings.get("enable_logical_replication").getAsBoolean()
                            && onEnableLogicalReplication != null) {
                        new Thread(onEnableLogicalReplication, "fake-neon-compute-restart").start();
                    }
                }
                o.add("operations", opsJson);
                return mutated(o);
            }
        }
        if (parts.length == 1 && parts[0].equals("operations") && method.equals("GET")) {
            return listOperations(pid, q);
        }
        if (parts.length == 2 && parts[0].equals("operations") && method.equals("GET")) {
            Op op = ops.get(parts[1]);
            if (op == null) {
                return error(404, "", "operation not found", rid);
            }
            if (op.pollsLeft > 0) {
                op.pollsLeft--;
                op.json.addProperty("status", "running");
            } else {
                op.json.addProperty("status", op.ends);
                if (!op.ends.equals("finished")) {
                    op.json.addProperty("error", "compute failed to start: out of capacity");
                    op.json.addProperty("failures_count", 1);
                }
            }
            return new Reply(200, wrap("operation", op.json));
        }
        if (parts.length == 1 && parts[0].equals("connection_uri") && method.equals("GET")) {
            String db = q.get("database_name");
            String roleName = q.get("role_name");
            if (db == null || roleName == null) {
                return error(400, "", "database_name and role_name are required", rid);
            }
            String br = q.getOrDefault("branch_id", defaultBranch(pid));
            JsonObject role = roles.getOrDefault(br, Map.of()).get(roleName);
            if (role == null) {
                return error(404, "", "role not found", rid);
            }
            if (!databases.getOrDefault(br, List.of()).contains(db)) {
                return error(404, "", "database not found", rid);
            }
            boolean pooled = pooledUris || "true".equals(q.get("pooled"));
            String host = "ep-cool-" + br + (pooled ? "-pooler" : "") + ".us-east-2.aws.neon.tech";
            boolean real = backing.containsKey(br);
            JsonObject o = new JsonObject();
            o.addProperty("uri", "postgresql://" + enc(roleName) + ":" + enc(role.get("password").getAsString()) + "@"
                    + (real ? backing.get(br) : host) + "/" + enc(realDbs.getOrDefault(br, Map.of()).getOrDefault(db, db)) + (real ? "?sslmode=disable" : "?sslmode=require")
                    + (channelBinding ? "&channel_binding=require" : ""));
            return new Reply(200, o);
        }
        if (parts.length == 1 && parts[0].equals("endpoints") && method.equals("GET")) {
            JsonArray eps = new JsonArray();
            for (JsonObject b : branches.get(pid)) {
                eps.add(endpoint(pid, b.get("id").getAsString()));
            }
            return new Reply(200, wrap("endpoints", eps));
        }
        if (parts.length >= 1 && parts[0].equals("branches")) {
            if (parts.length == 1 && method.equals("POST")) {
                return mutated(createBranch(pid, body, rid));
            }
            if (parts.length == 2 && method.equals("DELETE")) {
                return mutated(deleteBranch(pid, parts[1], rid));
            }
            if (parts.length == 1 && method.equals("GET")) {
                // cursor paging as the spec describes: limit, then pagination.next as the next cursor
                List<JsonObject> all = branches.get(pid);
                int from = q.containsKey("cursor") ? Integer.parseInt(q.get("cursor").substring("c".length())) : 0;
                int limit = q.containsKey("limit") ? Integer.parseInt(q.get("limit")) : all.size();
                JsonArray bs = new JsonArray();
                all.subList(Math.min(from, all.size()), Math.min(from + limit, all.size())).forEach(bs::add);
                JsonObject o = wrap("branches", bs);
                o.add("annotations", new JsonObject());
                if (from + limit < all.size()) {
                    JsonObject pag = new JsonObject();
                    pag.addProperty("next", "c" + (from + limit));
                    pag.addProperty("sort_by", "updated_at");
                    pag.addProperty("sort_order", "desc");
                    o.add("pagination", pag);
                }
                return new Reply(200, o);
            }
            String br = parts[1];
            if (branches.get(pid).stream().noneMatch(b -> b.get("id").getAsString().equals(br))) {
                return error(404, "", "branch not found", rid);
            }
            Map<String, JsonObject> rs = roles.get(br);
            if (parts.length == 3 && parts[2].equals("endpoints") && method.equals("GET")) {
                JsonArray eps = new JsonArray();
                eps.add(endpoint(pid, br));
                return new Reply(200, wrap("endpoints", eps));
            }
            if (parts.length == 3 && parts[2].equals("databases") && method.equals("GET")) {
                JsonArray list = new JsonArray();
                for (String db : databases.getOrDefault(br, List.of())) {
                    JsonObject d = new JsonObject();
                    d.addProperty("id", list.size() + 1);
                    fill(d, "branch_id", br, "name", db, "owner_name", "neondb_owner", "created_at", T, "updated_at", T);
                    list.add(d);
                }
                return new Reply(200, wrap("databases", list));
            }
            if (parts.length == 3 && parts[2].equals("roles")) {
                if (method.equals("GET")) {
                    JsonArray list = new JsonArray();
                    for (JsonObject r : rs.values()) {
                        JsonObject c = r.deepCopy();
                        c.remove("password");
                        list.add(c);
                    }
                    return new Reply(200, wrap("roles", list));
                }
                if (method.equals("POST")) {
                    String name = JsonParser.parseString(body).getAsJsonObject().getAsJsonObject("role").get("name").getAsString();
                    if (rs.containsKey(name)) {
                        return error(409, "", "role already exists", rid);
                    }
                    JsonObject r = role(br, name, "npg_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
                    rs.put(name, r);
                    if (onRoleCreated != null) {
                        onRoleCreated.accept(name, r.get("password").getAsString());
                    }
                    JsonObject o = wrap("role", r);
                    JsonArray opsJson = new JsonArray();
                    opsJson.add(newOp(pid, br, "apply_config"));
                    o.add("operations", opsJson);
                    return mutated(new Reply(201, o));
                }
            }
            if (parts.length >= 4 && parts[2].equals("roles")) {
                String name = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
                JsonObject r = rs.get(name);
                if (r == null) {
                    return error(404, "", "role not found", rid);
                }
                if (parts.length == 4 && method.equals("GET")) {
                    JsonObject c = r.deepCopy();
                    c.remove("password");
                    return new Reply(200, wrap("role", c));
                }
                if (parts.length == 5 && parts[4].equals("reveal_password") && method.equals("GET")) {
                    if (!storePasswords) {
                        return error(412, "", "Storing passwords is disabled", rid);
                    }
                    JsonObject o = new JsonObject();
                    o.addProperty("password", r.get("password").getAsString());
                    return new Reply(200, o);
                }
                if (parts.length == 5 && parts[4].equals("reset_password") && method.equals("POST")) {
                    r.addProperty("password", "npg_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
                    JsonObject o = wrap("role", r);
                    JsonArray opsJson = new JsonArray();
                    opsJson.add(newOp(pid, br, "apply_config"));
                    opsJson.add(newOp(pid, br, "suspend_compute"));
                    o.add("operations", opsJson);
                    return mutated(o);
                }
            }
        }
        return error(404, "", "not found: " + method + " " + path, rid);
    }

    /**
     * POST /projects/{id}/branches (SPEC createProjectBranch): a branch of parent_id (default: the default branch)
     * with the parent's roles (same passwords) and databases. A parent backed by a real PostgreSQL gets a real copy
     * of each database, made as its owner role neondb_owner with CREATE DATABASE … TEMPLATE (no other session may be
     * on the template), and the branch's connection_uri points at the copy. 201 with the branch, its endpoints (one
     * read_write when asked), operations, roles (without passwords) and databases.
     */
    private Reply createBranch(String pid, String body, String rid) {
        branchPosted.countDown();
        if (branchPostMs > 0) {
            try {
                wait(branchPostMs);   // the monitor is let go meanwhile: other requests see no such branch yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        JsonObject req = body == null || body.isBlank() ? new JsonObject() : JsonParser.parseString(body).getAsJsonObject();
        JsonObject b = req.has("branch") ? req.getAsJsonObject("branch") : new JsonObject();
        String parent = b.has("parent_id") && !b.get("parent_id").getAsString().isEmpty()
                ? b.get("parent_id").getAsString() : defaultBranch(pid);
        if (branches.get(pid).stream().noneMatch(x -> x.get("id").getAsString().equals(parent))) {
            return error(404, "", "parent branch not found", rid);
        }
        int n = branchesMade.incrementAndGet();
        String id = String.format("br-fresh-copy-%06d", n);
        JsonObject made = branch(pid, id, b.has("name") ? b.get("name").getAsString() : id, false);
        made.addProperty("parent_id", parent);
        made.addProperty("init_source", "parent-data");
        Map<String, JsonObject> rs = new LinkedHashMap<>();
        roles.get(parent).forEach((k, v) -> rs.put(k, role(id, k, v.get("password").getAsString())));
        if (backing.containsKey(parent)) {
            try {
                copy(parent, id, n);
            } catch (java.sql.SQLException e) {
                return error(500, "", "the fake could not copy the parent's databases: " + e.getMessage(), rid);
            }
        }
        roles.put(id, rs);
        databases.put(id, new ArrayList<>(databases.getOrDefault(parent, List.of())));
        branches.get(pid).add(made);
        JsonObject o = wrap("branch", made);
        JsonArray eps = new JsonArray();
        JsonArray opsJson = new JsonArray();
        opsJson.add(newOp(pid, id, "create_branch"));
        if (req.has("endpoints") && !req.getAsJsonArray("endpoints").isEmpty()) {
            eps.add(endpoint(pid, id));
            opsJson.add(newOp(pid, id, "start_compute"));
        }
        o.add("endpoints", eps);
        o.add("operations", opsJson);
        JsonArray roleList = new JsonArray();
        rs.values().forEach(r -> {
            JsonObject c = r.deepCopy();
            c.remove("password");
            roleList.add(c);
        });
        o.add("roles", roleList);
        JsonArray dbs = new JsonArray();
        for (String db : databases.get(id)) {
            JsonObject d = new JsonObject();
            d.addProperty("id", dbs.size() + 1);
            fill(d, "branch_id", id, "name", db, "owner_name", "neondb_owner", "created_at", T, "updated_at", T);
            dbs.add(d);
        }
        o.add("databases", dbs);
        return new Reply(201, o);
    }

    /** The real copies behind a new branch, made as the parent's neondb_owner on the parent's server. */
    private void copy(String parent, String id, int n) throws java.sql.SQLException {
        String hostPort = backing.get(parent);
        JsonObject owner = roles.get(parent).get("neondb_owner");
        Map<String, String> real = new LinkedHashMap<>();
        List<String> made = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + hostPort + "/postgres",
                "neondb_owner", owner.get("password").getAsString()); java.sql.Statement st = c.createStatement()) {
            for (String db : databases.get(parent)) {
                String from = realDbs.getOrDefault(parent, Map.of()).getOrDefault(db, db);
                String to = ("b" + n + "_" + from);
                to = to.substring(0, Math.min(63, to.length()));
                st.execute("CREATE DATABASE " + neonmz.Sql.ident(to) + " TEMPLATE " + neonmz.Sql.ident(from));
                real.put(db, to);
                made.add(to);
            }
        }
        realDbs.put(id, real);
        copies.put(id, made);
        backing.put(id, hostPort);
    }

    /**
     * DELETE /projects/{id}/branches/{id} (SPEC deleteProjectBranch): 204 when there is no such branch; the default
     * branch is refused (the status Neon uses for that is unverified: 400 here); else its real copies are dropped
     * (WITH (FORCE): Neon's delete breaks the branch's connections too) and 200 with the branch and its operations.
     */
    private Reply deleteBranch(String pid, String br, String rid) {
        JsonObject b = branches.get(pid).stream().filter(x -> x.get("id").getAsString().equals(br)).findFirst().orElse(null);
        if (b == null) {
            return new Reply(204, null);
        }
        if (b.get("default").getAsBoolean()) {
            return error(400, "", "cannot delete the project's default branch", rid);
        }
        if (branchDeleteErrors > 0) {
            branchDeleteErrors--;
            return error(500, "", "internal error, please retry", rid);
        }
        if (copies.containsKey(br)) {
            JsonObject owner = roles.get(br).get("neondb_owner");
            try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + backing.get(br)
                    + "/postgres", "neondb_owner", owner.get("password").getAsString()); java.sql.Statement st = c.createStatement()) {
                for (String db : copies.get(br)) {
                    dropForced(st, db);
                }
            } catch (java.sql.SQLException e) {
                return error(500, "", "the fake could not drop the branch's databases: " + e.getMessage(), rid);
            }
        }
        branches.get(pid).remove(b);
        List.of(roles, databases, backing, realDbs, copies).forEach(m -> m.remove(br));
        JsonObject o = wrap("branch", b);
        JsonArray opsJson = new JsonArray();
        opsJson.add(newOp(pid, br, "suspend_compute"));
        opsJson.add(newOp(pid, br, "delete_timeline"));
        o.add("operations", opsJson);
        return new Reply(200, o);
    }

    /**
     * DROP DATABASE … WITH (FORCE), again while a session neondb_owner may not end holds it: an autovacuum worker
     * (the bootstrap superuser's) can start on a fresh copy, and PostgreSQL refuses to terminate it for another role.
     */
    private static void dropForced(java.sql.Statement st, String db) throws java.sql.SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                st.execute("DROP DATABASE IF EXISTS " + neonmz.Sql.ident(db) + " WITH (FORCE)");
                return;
            } catch (java.sql.SQLException e) {
                if (attempt >= 50 || !String.valueOf(e.getMessage()).contains("permission denied to terminate")) {
                    throw e;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private Reply mutated(JsonObject o) {
        return mutated(new Reply(200, o));
    }

    private Reply mutated(Reply r) {
        if (dropNextMutation) {
            dropNextMutation = false;
            return null;
        }
        return r;
    }

    private JsonObject newOp(String project, String branch, String action) {
        JsonObject o = new JsonObject();
        String id = UUID.randomUUID().toString();
        o.addProperty("id", id);
        o.addProperty("project_id", project);
        o.addProperty("branch_id", branch);
        o.addProperty("action", action);
        o.addProperty("status", opPolls > 0 ? "running" : opEnds);
        o.addProperty("failures_count", 0);
        o.addProperty("created_at", "2026-01-01T00:00:00Z");
        o.addProperty("updated_at", "2026-01-01T00:00:00Z");
        o.addProperty("total_duration_ms", 100);
        ops.put(id, new Op(o, opPolls, opEnds));
        return o.deepCopy();
    }

    /**
     * GET /projects/{id}/operations (SPEC listProjectOperations): newest first (as the Console lists them; the spec
     * does not say), {@code limit} 1..1000 (default 10 here), then {@code pagination.cursor}, which is always there.
     */
    private Reply listOperations(String pid, Map<String, String> q) {
        List<JsonObject> mine = new ArrayList<>();
        for (Op op : ops.values()) {
            if (op.json.get("project_id").getAsString().equals(pid)) {
                mine.add(0, op.json);   // the later made first among equal times
            }
        }
        mine.sort(java.util.Comparator.comparing((JsonObject o) -> o.get("created_at").getAsString()).reversed());
        int from = q.containsKey("cursor") ? Integer.parseInt(q.get("cursor").substring("op".length())) : 0;
        int limit = q.containsKey("limit") ? Integer.parseInt(q.get("limit")) : 10;
        JsonArray list = new JsonArray();
        mine.subList(Math.min(from, mine.size()), Math.min(from + limit, mine.size())).forEach(o -> list.add(o.deepCopy()));
        JsonObject o = wrap("operations", list);
        JsonObject pag = new JsonObject();
        pag.addProperty("cursor", "op" + Math.min(from + limit, mine.size()));
        o.add("pagination", pag);
        return new Reply(200, o);
    }

    /** A finished operation on a branch at a given time (another one in the project's history). */
    synchronized JsonObject addOperation(String project, String branch, String action, java.time.Instant at) {
        JsonObject o = newOp(project, branch, action);
        Op op = ops.get(o.get("id").getAsString());
        op.pollsLeft = 0;
        String ts = at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        fill(op.json, "status", "finished", "created_at", ts, "updated_at", ts);
        op.json.addProperty("endpoint_id", "ep-cool-" + branch);
        return op.json.deepCopy();
    }

    /**
     * A branch restore (or reset from its parent, the same POST …/branches/{id}/restore) as the API shows it afterwards:
     * the branch's {@code last_reset_at} (SPEC Branch) and operations on the branch. Their actions are this stand-in's
     * guess (the spec's OperationAction has no restore or reset; unverified): suspend_compute, create_timeline,
     * start_compute. What Neon does to the compute (its slots are gone: reference/neon.md §3) the test does itself.
     */
    synchronized List<String> restoreBranch(String project, String branchId, java.time.Instant at) {
        JsonObject b = branches.get(project).stream().filter(x -> x.get("id").getAsString().equals(branchId))
                .findFirst().orElseThrow();
        b.addProperty("last_reset_at", at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        List<String> ids = new ArrayList<>();
        for (String action : List.of("suspend_compute", "create_timeline", "start_compute")) {
            ids.add(addOperation(project, branchId, action, at).get("id").getAsString());
        }
        return ids;
    }

    /** The project's settings.maintenance_window (SPEC MaintenanceWindow: weekdays 1-7, "HH:MM" UTC). */
    synchronized void maintenanceWindow(String project, List<Integer> weekdays, String start, String end) {
        JsonObject w = new JsonObject();
        JsonArray days = new JsonArray();
        weekdays.forEach(days::add);
        w.add("weekdays", days);
        w.addProperty("start_time", start);
        w.addProperty("end_time", end);
        projects.get(project).getAsJsonObject("settings").add("maintenance_window", w);
    }

    private JsonObject endpoint(String project, String branch) {
        JsonObject e = new JsonObject();
        e.addProperty("id", "ep-cool-" + branch);
        e.addProperty("project_id", project);
        e.addProperty("branch_id", branch);
        // a branch backed by a real PostgreSQL: its host (the port is in connection_uri, as Neon's is always 5432)
        String real = backing.get(branch);
        e.addProperty("host", real != null ? real.substring(0, real.lastIndexOf(':')) : "ep-cool-" + branch + ".us-east-2.aws.neon.tech");
        e.addProperty("type", "read_write");
        e.addProperty("current_state", endpointState.getOrDefault(branch, "idle"));
        fill(e, "region_id", "aws-us-east-2", "autoscaling_limit_max_cu", 1, "autoscaling_limit_min_cu", 0.25,
                "pooler_enabled", false, "pooler_mode", "transaction", "disabled", false, "passwordless_access", false,
                "creation_source", "console", "created_at", T, "updated_at", T, "proxy_host", "us-east-2.aws.neon.tech",
                "suspend_timeout_seconds", 0, "provisioner", "k8s-neonvm");
        e.add("settings", new JsonObject());
        return e;
    }

    static final String T = "2026-01-01T00:00:00Z";

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A role made outside the tests' commands (e.g. with the Console). */
    void addRole(String branchId, String name, String password) {
        roles.get(branchId).put(name, role(branchId, name, password));
    }

    private static void fill(JsonObject o, Object... kv) {
        for (int i = 0; i < kv.length; i += 2) {
            String k = (String) kv[i];
            Object v = kv[i + 1];
            if (v instanceof String str) {
                o.addProperty(k, str);
            } else if (v instanceof Boolean b) {
                o.addProperty(k, b);
            } else {
                o.addProperty(k, (Number) v);
            }
        }
    }

    private static JsonObject wrap(String k, com.google.gson.JsonElement v) {
        JsonObject o = new JsonObject();
        o.add(k, v);
        return o;
    }
}
