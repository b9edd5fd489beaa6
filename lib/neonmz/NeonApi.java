//DEPS com.google.code.gson:gson:2.13.2
package neonmz;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * A small Neon API v2 client (java.net.http + gson) with the retry rules of the API's own spec
 * (reference/neon.md §1d): 423 Locked and 503 are always safe to retry (backoff); 429 waits for
 * Retry-After; a network error or another 5xx is retried only for GET. A POST/PATCH/DELETE whose
 * connection broke is never sent again, since Neon may have applied it: the caller re-reads the state
 * instead (see {@link #createRole}). After every mutating call the operations it returned are polled until
 * terminal. Everything runs under one overall deadline. The API key is registered with {@link Secrets}
 * and only ever travels in the Authorization header.
 */
public final class NeonApi {
    public static final String DEFAULT_HOST = "https://console.neon.tech/api/v2";
    /** SPEC: a project id matches this; anything else can only be a name. */
    static final Pattern PROJECT_ID = Pattern.compile("^[a-z0-9-]{1,60}$");
    static final Set<String> DONE = Set.of("finished", "skipped", "cancelled");
    static final int PAGE = 100;
    /** SPEC: GET /projects takes limit 1..400. */
    static final int PROJECTS_PAGE = 400;
    /** A retry is not started with less time than this left before the deadline. */
    static final Duration MIN_RETRY = Duration.ofMillis(500);

    private final URI base;
    private final String key;
    private final Out out;
    private final HttpClient http;
    private final long deadline;
    private final Duration timeout;
    private Duration backoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private Duration poll = Duration.ofSeconds(1);
    private Duration maxPoll = Duration.ofSeconds(5);
    private String orgId;
    private RateLimit limit;
    private int page = PAGE;
    private int projectsPage = PROJECTS_PAGE;
    private final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger throttled = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger serverErrors = new java.util.concurrent.atomic.AtomicInteger();

    /** A failure reported by the API: the HTTP status and the error body's code, message and request id. */
    public static final class ApiError extends Fail {
        private static final long serialVersionUID = 1L;
        public final int status;
        public final String code;
        public final String apiMessage;
        public final String requestId;

        ApiError(int exit, String message, String fix, int status, String code, String apiMessage, String requestId) {
            super(exit, message, fix);
            this.status = status;
            this.code = code;
            this.apiMessage = apiMessage;
            this.requestId = requestId;
        }
    }

    /** A mutating request whose connection broke: Neon may or may not have applied it. */
    public static final class Uncertain extends Fail {
        private static final long serialVersionUID = 1L;

        Uncertain(String message, String fix, Throwable cause) {
            super(Exit.CONNECT, message, fix, cause);
        }
    }

    /**
     * @param host    the API base, e.g. {@link #DEFAULT_HOST}
     * @param key     the API key (registered as a secret here)
     * @param out     where progress goes; null for none
     * @param timeout the overall deadline for everything this client does
     */
    public NeonApi(String host, String key, Out out, Duration timeout) {
        if (key == null || key.isBlank()) {
            throw Fail.usage("no Neon API key", "set NEON_API_KEY, or pass --api-key-file FILE");
        }
        String h = host.endsWith("/") ? host.substring(0, host.length() - 1) : host;
        try {
            this.base = URI.create(h);
            if (base.getScheme() == null || !base.getScheme().startsWith("http") || base.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL");
            }
        } catch (IllegalArgumentException e) {
            throw Fail.usage("the Neon API host " + host + " is not an http(s) URL", "give --api-host (or NEON_API_HOST) "
                    + "as a URL, e.g. " + DEFAULT_HOST);
        }
        this.key = Secrets.register(key.strip());
        this.out = out;
        this.timeout = timeout;
        this.deadline = System.nanoTime() + timeout.toNanos();
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** Backoff and polling intervals (tests make them short). */
    public NeonApi intervals(Duration backoff, Duration maxBackoff, Duration poll, Duration maxPoll) {
        this.backoff = backoff;
        this.maxBackoff = maxBackoff;
        this.poll = poll;
        this.maxPoll = maxPoll;
        return this;
    }

    /** Every request waits for this limit first (many threads sharing one client; see {@link RateLimit}). */
    public NeonApi rateLimit(RateLimit limit) {
        this.limit = limit;
        return this;
    }

    /** Smaller pages than the defaults (100 branches, 400 projects): tests page through a small fake with it. */
    public NeonApi pageSize(int n) {
        this.page = Math.max(1, Math.min(n, PAGE));
        this.projectsPage = Math.max(1, Math.min(n, PROJECTS_PAGE));
        return this;
    }

    /** Requests sent so far (retries included). */
    public int requests() {
        return requests.get();
    }

    /** Answers 429 Too Many Requests so far (each was waited out and retried). */
    public int throttled() {
        return throttled.get();
    }

    /** Answers 5xx so far. */
    public int serverErrors() {
        return serverErrors.get();
    }

    /** The organization for project searches (needed with a personal API key). */
    public NeonApi orgId(String orgId) {
        this.orgId = orgId;
        return this;
    }

    // ---- the endpoints the steps use -----------------------------------------------------------

    public JsonObject getProject(String projectId) {
        return get("/projects/" + enc(projectId)).getAsJsonObject("project");
    }

    /** A project by id, else by exact name (GET /projects?search=, paged). */
    public JsonObject resolveProject(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) {
            throw Fail.usage("no Neon project given", "pass --project ID|NAME (or set NEON_PROJECT_ID)");
        }
        if (PROJECT_ID.matcher(idOrName).matches()) {
            try {
                return getProject(idOrName);
            } catch (ApiError e) {
                if (e.status != 404) {
                    throw e;
                }
            }
        }
        List<JsonObject> found = new ArrayList<>();
        String cursor = null;
        while (true) {
            String q = "/projects?limit=" + PAGE + "&search=" + enc(idOrName)
                    + (orgId == null ? "" : "&org_id=" + enc(orgId)) + (cursor == null ? "" : "&cursor=" + enc(cursor));
            JsonObject page;
            try {
                page = get(q);
            } catch (ApiError e) {
                if (e.status == 400 && e.apiMessage != null && e.apiMessage.contains("org_id")) {
                    String orgs = organizations();
                    throw new Fail(Exit.USAGE, "the Neon API needs an organization for this key: " + e.apiMessage
                            + (orgs == null ? "" : "; your organizations: " + orgs),
                            "pass --org-id ORG (or set NEON_ORG_ID), or --project with the project's id");
                }
                throw e;
            }
            JsonArray projects = arr(page, "projects");
            for (JsonElement p : projects) {
                JsonObject o = p.getAsJsonObject();
                if (idOrName.equals(str(o, "name")) || idOrName.equals(str(o, "id"))) {
                    found.add(o);
                }
            }
            String next = page.has("pagination") && page.get("pagination").isJsonObject()
                    ? str(page.getAsJsonObject("pagination"), "cursor") : null;
            if (projects.size() < PAGE || next == null || next.equals(cursor)) {
                break;
            }
            cursor = next;
        }
        if (found.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "no Neon project with id or name '" + idOrName + "'",
                    "check --project (the id is in the Console under Settings), and that NEON_API_KEY can see it");
        }
        if (found.size() > 1) {
            List<String> ids = found.stream().map(o -> str(o, "id")).toList();
            throw new Fail(Exit.CONFLICT, "several Neon projects are named '" + idOrName + "': " + String.join(", ", ids),
                    "pass --project with one of the ids");
        }
        return found.get(0);
    }

    /**
     * Every project the key sees (in {@code orgId} when set), page by page at the spec's largest page (400),
     * following {@code pagination.cursor} until a short page.
     */
    public List<JsonObject> listProjects() {
        List<JsonObject> all = new ArrayList<>();
        String cursor = null;
        while (true) {
            JsonObject page = get("/projects?limit=" + projectsPage + (orgId == null ? "" : "&org_id=" + enc(orgId))
                    + (cursor == null ? "" : "&cursor=" + enc(cursor)));
            List<JsonObject> got = objects(page, "projects");
            all.addAll(got);
            String next = page.has("pagination") && page.get("pagination").isJsonObject()
                    ? str(page.getAsJsonObject("pagination"), "cursor") : null;
            if (got.size() < projectsPage || next == null || next.isEmpty() || next.equals(cursor)) {
                return all;
            }
            cursor = next;
        }
    }

    /** The databases of a branch (each with its owner_name). */
    public List<JsonObject> listDatabases(String projectId, String branchId) {
        return objects(get(branchPath(projectId, branchId) + "/databases"), "databases");
    }

    /** "id (name), …" of the key's organizations (GET /users/me/organizations), or null when unreadable. */
    String organizations() {
        try {
            List<String> l = new ArrayList<>();
            for (JsonObject o : objects(get("/users/me/organizations"), "organizations")) {
                l.add(str(o, "id") + " (" + str(o, "name") + ")");
            }
            return l.isEmpty() ? null : String.join(", ", l);
        } catch (Fail f) {
            return null;
        }
    }

    /** PATCH project.settings. allowed_ips is replaced as a whole object (the API cannot append). */
    public JsonObject updateProjectSettings(String projectId, JsonObject settings) {
        JsonObject project = new JsonObject();
        project.add("settings", settings);
        JsonObject body = new JsonObject();
        body.add("project", project);
        JsonObject r = send("PATCH", "/projects/" + enc(projectId), body);
        waitFor(projectId, r, "update project settings");
        return r.getAsJsonObject("project");
    }

    /** Every branch, page by page ({@code limit} and {@code pagination.next}; a project may have hundreds). */
    public List<JsonObject> listBranches(String projectId) {
        List<JsonObject> all = new ArrayList<>();
        String cursor = null;
        while (true) {
            JsonObject page = get("/projects/" + enc(projectId) + "/branches?limit=" + this.page
                    + (cursor == null ? "" : "&cursor=" + enc(cursor)));
            List<JsonObject> got = objects(page, "branches");
            all.addAll(got);
            String next = page.has("pagination") && page.get("pagination").isJsonObject()
                    ? str(page.getAsJsonObject("pagination"), "next") : null;
            if (got.size() < this.page || next == null || next.isEmpty() || next.equals(cursor)) {
                return all;
            }
            cursor = next;
        }
    }

    /** A branch by id or name; the default branch ({@code "default": true}) when null. */
    public JsonObject resolveBranch(String projectId, String idOrName) {
        List<JsonObject> branches = listBranches(projectId);
        for (JsonObject b : branches) {
            if (idOrName == null ? b.has("default") && b.get("default").getAsBoolean()
                    : idOrName.equals(str(b, "id")) || idOrName.equals(str(b, "name"))) {
                return b;
            }
        }
        List<String> names = branches.stream().map(b -> str(b, "name")).toList();
        throw new Fail(Exit.NOT_FOUND, idOrName == null ? "project " + projectId + " has no default branch"
                : "no branch '" + idOrName + "' in project " + projectId + " (branches: " + String.join(", ", names) + ")",
                "pass --branch ID|NAME");
    }

    public List<JsonObject> listRoles(String projectId, String branchId) {
        return objects(get(branchPath(projectId, branchId) + "/roles"), "roles");
    }

    /** The role, or null when the branch has none by that name. */
    public JsonObject getRole(String projectId, String branchId, String role) {
        try {
            return get(branchPath(projectId, branchId) + "/roles/" + enc(role)).getAsJsonObject("role");
        } catch (ApiError e) {
            if (e.status == 404) {
                return null;
            }
            throw e;
        }
    }

    /**
     * Creates a role and returns its password (registered as a secret) once Neon's operations are done. When
     * the connection breaks after the POST was sent, the role is looked up again and the failure says
     * whether it exists (then its password was lost with the response: reset it) or not (run again).
     */
    public String createRole(String projectId, String branchId, String role) {
        JsonObject r = new JsonObject();
        r.addProperty("name", role);
        JsonObject body = new JsonObject();
        body.add("role", r);
        JsonObject resp;
        try {
            resp = send("POST", branchPath(projectId, branchId) + "/roles", body);
        } catch (Uncertain e) {
            JsonObject now = getRole(projectId, branchId, role);
            if (now != null) {
                throw new Fail(Exit.CONNECT, e.getMessage() + "; re-read: role " + role
                        + " exists now, but its password was in the lost response",
                        "reset its password (POST .../roles/" + role + "/reset_password), or run the step again", e);
            }
            throw new Fail(Exit.CONNECT, e.getMessage() + "; re-read: role " + role + " does not exist, nothing changed",
                    "run the step again", e);
        }
        String password = Secrets.register(str(resp.getAsJsonObject("role"), "password"));
        waitFor(projectId, resp, "create role " + role);
        return password;
    }

    /** A new password for the role (registered as a secret), ready to use once the operations are done. */
    public String resetRolePassword(String projectId, String branchId, String role) {
        JsonObject resp = send("POST", branchPath(projectId, branchId) + "/roles/" + enc(role) + "/reset_password", null);
        String password = Secrets.register(str(resp.getAsJsonObject("role"), "password"));
        waitFor(projectId, resp, "reset password of " + role);
        return password;
    }

    /** The stored password (registered as a secret); 412 when the project does not store passwords. */
    public String revealRolePassword(String projectId, String branchId, String role) {
        try {
            JsonObject r = get(branchPath(projectId, branchId) + "/roles/" + enc(role) + "/reveal_password");
            return Secrets.register(str(r, "password"));
        } catch (ApiError e) {
            if (e.status == 412) {
                throw new ApiError(Exit.NEEDS_NEON_API, "Neon does not store passwords for this project, so it cannot "
                        + "reveal the password of " + role + " (412: " + e.apiMessage + ")",
                        "use the password saved when the role was created, or reset it", 412, e.code, e.apiMessage,
                        e.requestId);
            }
            throw e;
        }
    }

    /** The direct (never pooled: replication needs the direct host) connection URI; its password is a secret. */
    public String connectionUri(String projectId, String branchId, String database, String role) {
        String q = "/projects/" + enc(projectId) + "/connection_uri?database_name=" + enc(database)
                + "&role_name=" + enc(role) + (branchId == null ? "" : "&branch_id=" + enc(branchId));
        String uri = str(get(q), "uri");
        if (uri != null) {
            try {
                String userInfo = URI.create(uri).getRawUserInfo();
                int colon = userInfo == null ? -1 : userInfo.indexOf(':');
                if (colon >= 0) {
                    Secrets.register(java.net.URLDecoder.decode(userInfo.substring(colon + 1), StandardCharsets.UTF_8));
                    Secrets.register(userInfo.substring(colon + 1));
                }
            } catch (IllegalArgumentException e) {
                Secrets.register(uri);
            }
        }
        return uri;
    }

    // ---- branches --------------------------------------------------------------------------------

    /**
     * POST /projects/{id}/branches: a branch of {@code parentId} (null: the default branch) as it is now (no
     * parent_lsn or parent_timestamp: the parent's head) named {@code name}, with a read_write endpoint (a compute of
     * its own to connect to), once Neon's operations are done; the answer's branch. The answer's role passwords and connection URIs are
     * registered as secrets. A POST whose connection broke throws {@link Uncertain}: look the name up
     * ({@link #findBranch}) to learn whether it was made.
     */
    public JsonObject createBranch(String projectId, String parentId, String name) {
        JsonObject branch = new JsonObject();
        if (parentId != null) {   // SPEC: without it, the project's default branch
            branch.addProperty("parent_id", parentId);
        }
        branch.addProperty("name", name);
        JsonObject endpoint = new JsonObject();
        endpoint.addProperty("type", "read_write");
        JsonArray endpoints = new JsonArray();
        endpoints.add(endpoint);
        JsonObject body = new JsonObject();
        body.add("endpoints", endpoints);
        body.add("branch", branch);
        JsonObject r = send("POST", "/projects/" + enc(projectId) + "/branches", body);
        objects(r, "roles").forEach(role -> Secrets.register(str(role, "password")));
        objects(r, "connection_uris").forEach(c -> Secrets.register(str(c, "connection_uri")));
        waitFor(projectId, r, "create branch " + name);
        return r.has("branch") && r.get("branch").isJsonObject() ? r.getAsJsonObject("branch") : new JsonObject();
    }

    /** The branch with this id or name, or null when the project has none (nothing thrown). */
    public JsonObject findBranch(String projectId, String idOrName) {
        for (JsonObject b : listBranches(projectId)) {
            if (idOrName.equals(str(b, "id")) || idOrName.equals(str(b, "name"))) {
                return b;
            }
        }
        return null;
    }

    /**
     * DELETE /projects/{id}/branches/{id}, then its operations waited for: true when it was deleted now, false when
     * it was already gone (SPEC: 204 for a branch that does not exist or was deleted; a 404 is taken the same way).
     * A DELETE whose connection broke is checked by reading the branch again.
     */
    public boolean deleteBranch(String projectId, String branchId) {
        JsonObject r;
        try {
            r = send("DELETE", branchPath(projectId, branchId), null);
        } catch (ApiError e) {
            if (e.status == 404) {
                return false;
            }
            throw e;
        } catch (Uncertain e) {
            if (findBranch(projectId, branchId) == null) {
                return true;
            }
            throw e;
        }
        waitFor(projectId, r, "delete branch " + branchId);
        return r.has("branch");
    }

    /**
     * This client again with a new deadline from now (host, key, intervals, organization, page size and rate limit
     * kept), and its progress and requests noted on {@code out}: for a clean-up after long work, which must not
     * fail for the time the work took.
     */
    public NeonApi again(Out out, Duration timeout) {
        NeonApi a = new NeonApi(base.toString(), key, out, timeout).intervals(backoff, maxBackoff, poll, maxPoll);
        a.orgId = orgId;
        a.limit = limit;
        a.page = page;
        a.projectsPage = projectsPage;
        return a;
    }

    public List<JsonObject> listEndpoints(String projectId, String branchId) {
        String p = branchId == null ? "/projects/" + enc(projectId) + "/endpoints"
                : branchPath(projectId, branchId) + "/endpoints";
        return objects(get(p), "endpoints");
    }

    /**
     * The project's operations created at or after {@code since}, as listed (GET /projects/{id}/operations, SPEC
     * listProjectOperations: {@code limit} 1..1000, then {@code pagination.cursor}), at most {@code maxPages} pages.
     * The spec does not say the order (its cursor example is a timestamp; unverified: newest first): paging stops at a
     * short page, a missing or repeated cursor, or a page holding an operation older than {@code since}.
     */
    public List<JsonObject> listOperations(String projectId, java.time.Instant since, int maxPages) {
        List<JsonObject> all = new ArrayList<>();
        String cursor = null;
        for (int n = 0; n < maxPages; n++) {
            JsonObject page = get("/projects/" + enc(projectId) + "/operations?limit=" + this.page
                    + (cursor == null ? "" : "&cursor=" + enc(cursor)));
            List<JsonObject> got = objects(page, "operations");
            boolean older = false;
            for (JsonObject op : got) {
                java.time.Instant at = instant(str(op, "created_at"));
                if (since == null || at != null && !at.isBefore(since)) {
                    all.add(op);
                } else {
                    older = true;
                }
            }
            String next = page.has("pagination") && page.get("pagination").isJsonObject()
                    ? str(page.getAsJsonObject("pagination"), "cursor") : null;
            if (older || got.size() < this.page || next == null || next.isEmpty() || next.equals(cursor)) {
                break;
            }
            cursor = next;
        }
        return all;
    }

    /** An API timestamp (RFC 3339, SPEC format date-time), or null when absent or unreadable. */
    public static java.time.Instant instant(String s) {
        try {
            return s == null ? null : java.time.OffsetDateTime.parse(s).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /**
     * A project's {@code settings.maintenance_window} (SPEC MaintenanceWindow: {@code weekdays} 1 = Monday … 7 = Sunday,
     * {@code start_time} and {@code end_time} "HH:MM" in UTC), during which "compute endpoints may be unavailable and
     * existing connections can be interrupted" (SPEC). An end at or before the start is read as running past midnight into
     * the next day, the weekday being the start's (unverified: the spec does not say); the end is exclusive.
     */
    public record MaintenanceWindow(Set<Integer> weekdays, java.time.LocalTime start, java.time.LocalTime end) {
        static final String[] DAYS = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

        /** The window of a project (its settings), or null when it has none or it cannot be read. */
        public static MaintenanceWindow of(JsonObject project) {
            JsonObject settings = project == null || !project.has("settings") || !project.get("settings").isJsonObject()
                    ? null : project.getAsJsonObject("settings");
            if (settings == null || !settings.has("maintenance_window") || !settings.get("maintenance_window").isJsonObject()) {
                return null;
            }
            JsonObject w = settings.getAsJsonObject("maintenance_window");
            try {
                Set<Integer> days = new java.util.TreeSet<>();
                for (JsonElement d : arr(w, "weekdays")) {
                    if (d.getAsInt() >= 1 && d.getAsInt() <= 7) {
                        days.add(d.getAsInt());
                    }
                }
                return days.isEmpty() ? null : new MaintenanceWindow(days, java.time.LocalTime.parse(str(w, "start_time")),
                        java.time.LocalTime.parse(str(w, "end_time")));
            } catch (RuntimeException e) {
                return null;
            }
        }

        /** Whether {@code t} falls inside the window. */
        public boolean contains(java.time.Instant t) {
            ZonedDateTime u = t.atZone(java.time.ZoneOffset.UTC);
            int day = u.getDayOfWeek().getValue();
            java.time.LocalTime at = u.toLocalTime();
            if (start.isBefore(end)) {
                return weekdays.contains(day) && !at.isBefore(start) && at.isBefore(end);
            }
            int before = day == 1 ? 7 : day - 1;
            return weekdays.contains(day) && !at.isBefore(start) || weekdays.contains(before) && at.isBefore(end);
        }

        /** "Mon,Thu 02:00-04:00 UTC". */
        public String describe() {
            return String.join(",", weekdays.stream().map(d -> DAYS[d - 1]).toList()) + " " + start + "-" + end + " UTC";
        }

        public Map<String, Object> json() {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("weekdays", List.copyOf(weekdays));
            m.put("start_time", start.toString());
            m.put("end_time", end.toString());
            return m;
        }
    }

    // ---- operations ----------------------------------------------------------------------------

    /**
     * Polls every operation in a mutating call's response until it is terminal. finished, skipped and
     * cancelled are terminal (DOCS manage/operations.md); error fails at once; failed is not terminal
     * (Neon may retry it), so it is polled on and fails only if it is still failed at the deadline.
     */
    public void waitFor(String projectId, JsonObject response, String what) {
        List<String> ids = new ArrayList<>();
        for (JsonElement e : arr(response, "operations")) {
            ids.add(str(e.getAsJsonObject(), "id"));
        }
        if (ids.isEmpty()) {
            return;
        }
        Set<String> pending = new LinkedHashSet<>(ids);
        Out.Progress progress = out == null ? null : out.progress(what + ": Neon operations", ids.size());
        Duration wait = poll;
        JsonObject failedBefore = null;
        try {
            while (true) {
                JsonObject lastFailed = null;
                for (String id : List.copyOf(pending)) {
                    JsonObject op;
                    try {
                        op = get("/projects/" + enc(projectId) + "/operations/" + enc(id)).getAsJsonObject("operation");
                    } catch (Fail f) {
                        // the deadline came during a poll: an operation last seen failed is the news
                        if (f.exit == Exit.TIMEOUT && failedBefore != null) {
                            throw opFailed(what, failedBefore);
                        }
                        throw f;
                    }
                    String status = str(op, "status");
                    if (DONE.contains(status)) {
                        pending.remove(id);
                    } else if ("error".equals(status)) {
                        throw opFailed(what, op);
                    } else if ("failed".equals(status)) {
                        lastFailed = op;
                    }
                }
                if (progress != null) {
                    progress.update(ids.size() - pending.size(), ids.size());
                }
                if (pending.isEmpty()) {
                    return;
                }
                if (remaining().compareTo(wait) < 0) {
                    if (lastFailed != null) {
                        throw opFailed(what, lastFailed);
                    }
                    throw new Fail(Exit.TIMEOUT, what + ": Neon operations " + String.join(", ", pending)
                            + " still running after " + Durations.show(timeout),
                            "wait and check the project's operations in the Console, or raise --timeout");
                }
                failedBefore = lastFailed;
                sleep(wait);
                wait = min(wait.multipliedBy(2), maxPoll);
            }
        } finally {
            if (progress != null) {
                progress.close();
            }
        }
    }

    private static Fail opFailed(String what, JsonObject op) {
        String err = str(op, "error");
        return new Fail(Exit.VERIFY, what + ": Neon operation " + str(op, "action") + " " + str(op, "id") + " "
                + str(op, "status") + (err == null ? "" : ": " + err),
                "check the project's operations in the Console (Monitoring > Operations), then run the step again");
    }

    // ---- HTTP with retries ---------------------------------------------------------------------

    public JsonObject get(String path) {
        return send("GET", path, null);
    }

    /** The full URL of a path (for plans and messages). */
    public String url(String path) {
        return base + path;
    }

    /**
     * One request with the retries the spec allows, under the deadline. A request that changes something
     * (POST/PATCH/DELETE) is noted with {@link Out#request}; under --dry-run it is only printed, and the
     * answer is an empty object (no operations to wait for).
     */
    public JsonObject send(String method, String path, JsonObject body) {
        boolean safe = method.equals("GET");
        if (!safe && out != null) {
            out.request(method, url(pathOnly(path)) + query(path), body == null ? null : body.toString());
            if (out.dryRun()) {
                return new JsonObject();
            }
        }
        Duration wait = backoff;
        String last = null;
        int attempt = 0;
        while (true) {
            attempt++;
            Duration left = remaining();
            // a retry needs time for an answer: one cut off by the deadline would leave a change in doubt
            if (left.isNegative() || left.isZero() || (attempt > 1 && left.compareTo(MIN_RETRY) < 0)) {
                throw timedOut(method, path, last);
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base + path))
                    .timeout(min(left, Duration.ofSeconds(60)))
                    .header("Accept", "application/json")
                    .header("Authorization", "Bearer " + key)
                    .header("X-Request-ID", UUID.randomUUID().toString());
            if (body != null) {
                rb.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8));
            } else {
                rb.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> resp;
            try {
                RateLimit.Slot slot = limit == null ? null : limit.acquire(method, path);
                requests.incrementAndGet();
                try {
                    resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                } finally {
                    if (slot != null) {
                        slot.done();
                    }
                }
            } catch (IOException e) {
                String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                if (!safe) {
                    // SPEC: non-idempotent requests are not safe to retry after a network error
                    throw new Uncertain("Neon API " + method + " " + pathOnly(path) + ": the connection broke ("
                            + why + "); Neon may or may not have applied it, so it was not sent again",
                            "check the state, then run the step again", e);
                }
                last = "network error: " + why;
                wait = pause(wait, null, method, path, last);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Fail(Exit.INTERRUPTED, "interrupted", "run the step again");
            }
            int status = resp.statusCode();
            if (status >= 200 && status < 300) {
                return parse(method, path, status, resp.body());
            }
            ApiError err = error(method, path, resp);
            last = err.getMessage();
            if (status >= 500) {
                serverErrors.incrementAndGet();
            }
            if (status == 423 || status == 503) {
                wait = pause(wait, null, method, path, last);
            } else if (status == 429) {
                throttled.incrementAndGet();
                Duration after = retryAfter(resp);
                if (limit != null) {
                    limit.hold(after != null ? after : wait);
                }
                wait = pause(wait, after, method, path, last);
            } else if (status >= 500 && safe) {
                wait = pause(wait, null, method, path, last);
            } else {
                throw err;
            }
        }
    }

    /** Sleeps before a retry (Retry-After when given, else the backoff); returns the next backoff. */
    private Duration pause(Duration wait, Duration retryAfter, String method, String path, String last) {
        Duration d = retryAfter != null ? retryAfter : wait;
        if (remaining().compareTo(d) < 0) {
            throw timedOut(method, path, last);
        }
        if (out != null && out.verbose()) {
            out.warn("Neon API " + method + " " + pathOnly(path) + ": " + last + "; retrying in " + Durations.show(d));
        }
        sleep(d);
        return min(wait.multipliedBy(2), maxBackoff);
    }

    private Fail timedOut(String method, String path, String last) {
        return new Fail(Exit.TIMEOUT, "Neon API " + method + " " + pathOnly(path) + " did not succeed within "
                + Durations.show(timeout) + (last == null ? "" : " (last: " + last + ")"),
                "try again later, or raise --timeout");
    }

    /** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
    static Duration retryAfter(HttpResponse<?> resp) {
        String v = resp.headers().firstValue("Retry-After").orElse(null);
        if (v == null) {
            return null;
        }
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(v.strip())));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime t = ZonedDateTime.parse(v.strip(), DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(t.getZone()), t);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException e2) {
                return null;
            }
        }
    }

    private ApiError error(String method, String path, HttpResponse<String> resp) {
        int status = resp.statusCode();
        String code = null;
        String message = null;
        String requestId = null;
        try {
            JsonObject o = JsonParser.parseString(resp.body()).getAsJsonObject();
            code = str(o, "code");
            message = str(o, "message");
            requestId = str(o, "request_id");
        } catch (RuntimeException e) {
            message = resp.body() == null ? "" : resp.body().strip();
            if (message.length() > 200) {
                message = message.substring(0, 200) + "...";
            }
        }
        String text = "Neon API " + method + " " + pathOnly(path) + " returned " + status + ": "
                + (message == null || message.isEmpty() ? "(no message)" : message)
                + (requestId == null ? "" : " (request_id " + requestId + ")");
        int exit;
        String fix;
        switch (status) {
            case 401 -> {
                exit = Exit.AUTH;
                fix = "check NEON_API_KEY (or --api-key-file): the key is missing, mistyped or revoked";
            }
            case 403 -> {
                exit = Exit.PERMISSION;
                fix = "check that NEON_API_KEY may access this project (a project-scoped or organization key "
                        + "only sees its own projects)";
            }
            case 404 -> {
                exit = Exit.NOT_FOUND;
                fix = "check the project id (--project), branch and names, and that NEON_API_KEY can see the project";
            }
            case 423 -> {
                exit = Exit.BUSY;
                fix = "the project is busy with other operations; try again in a minute";
            }
            case 429 -> {
                exit = Exit.BUSY;
                fix = "too many requests; try again in a minute";
            }
            default -> {
                exit = status >= 500 ? Exit.CONNECT : Exit.USAGE;
                fix = status >= 500 ? "Neon's API had a problem; try again later" : "check the options given";
            }
        }
        return new ApiError(exit, text, fix, status, code, message, requestId);
    }

    // ---- small helpers -------------------------------------------------------------------------

    private Duration remaining() {
        return Duration.ofNanos(deadline - System.nanoTime());
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(0, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Fail(Exit.INTERRUPTED, "interrupted", "run the step again");
        }
    }

    private static String query(String path) {
        int q = path.indexOf('?');
        return q < 0 ? "" : path.substring(q);
    }

    private static String pathOnly(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    private static String branchPath(String projectId, String branchId) {
        return "/projects/" + enc(projectId) + "/branches/" + enc(branchId);
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * A 2xx answer's object. Not JSON (an HTML page from a proxy, a cut-off body) or an error body under a 2xx
     * status is the server's fault, not the tool's: Exit.CONNECT with what came back, and for a change, that
     * Neon may have applied it.
     */
    private static JsonObject parse(String method, String path, int status, String body) {
        if (body == null || body.isBlank()) {
            return new JsonObject();
        }
        String what = "Neon API " + method + " " + pathOnly(path) + " answered " + status;
        String fix = method.equals("GET") ? "check --api-host/NEON_API_HOST (Neon's is " + DEFAULT_HOST
                + "), then try again later" : "check the state (Neon may have applied it), then run the step again";
        JsonElement e;
        try {
            e = JsonParser.parseString(body);
        } catch (JsonParseException | IllegalStateException x) {
            String start = body.strip();
            throw new Fail(Exit.CONNECT, what + " with something that is not JSON (or is cut off): "
                    + (start.length() > 60 ? start.substring(0, 60) + "..." : start), fix);
        }
        if (!e.isJsonObject()) {
            return new JsonObject();
        }
        JsonObject o = e.getAsJsonObject();
        if (o.has("message") && java.util.Set.of("code", "message", "request_id").containsAll(o.keySet())) {
            throw new Fail(Exit.CONNECT, what + " with an error: " + str(o, "message")
                    + (str(o, "request_id") == null ? "" : " (request_id " + str(o, "request_id") + ")"), fix);
        }
        return o;
    }

    /** A field as text (a non-primitive as its JSON); null when absent or null. */
    public static String str(JsonObject o, String k) {
        if (o == null || !o.has(k) || o.get(k).isJsonNull()) {
            return null;
        }
        JsonElement e = o.get(k);
        return e.isJsonPrimitive() ? e.getAsString() : e.toString();
    }

    private static JsonArray arr(JsonObject o, String k) {
        return o != null && o.has(k) && o.get(k).isJsonArray() ? o.getAsJsonArray(k) : new JsonArray();
    }

    private static List<JsonObject> objects(JsonObject o, String k) {
        List<JsonObject> l = new ArrayList<>();
        for (JsonElement e : arr(o, k)) {
            l.add(e.getAsJsonObject());
        }
        return l;
    }

    /**
     * A client-side limit on Neon API requests, so that many threads together stay under the account's published
     * limits (reference/neon.md §1d: 700 requests per minute, bursts of 40 per second per route): at most
     * {@code perMinute} requests in any 60 s and at most {@code perRouteSecond} requests of one route in any 1 s.
     * Neon counts a request when it arrives, which is some time between our sending it and its answer coming back,
     * so a request counts here from {@link #acquire} until its {@link Slot#done} plus the window: however late it
     * reaches Neon, no window there can hold more than the limit. {@link #acquire} blocks until a request may go.
     * A route is the method and the path with its ids replaced ({@code GET /projects/{}/branches/{}/databases}).
     */
    public static final class RateLimit {
        /** A path segment after one of these is an id. */
        private static final Pattern COLLECTION = Pattern.compile(
                "projects|branches|endpoints|roles|databases|operations|organizations|api_keys|snapshots");

        private final int perMinute;
        private final int perRouteSecond;
        private final long window;
        private final long routeWindow;
        private final List<Slot> minute = new ArrayList<>();
        private final Map<String, List<Slot>> routes = new HashMap<>();
        private long waitedNanos;
        private long heldUntil = Long.MIN_VALUE;

        /** One request: counted until {@link #done} + the window. */
        public final class Slot {
            private long end = Long.MAX_VALUE;

            public void done() {
                synchronized (RateLimit.this) {
                    end = System.nanoTime();
                    RateLimit.this.notifyAll();
                }
            }
        }

        public RateLimit(int perMinute, int perRouteSecond) {
            this(perMinute, java.time.Duration.ofMinutes(1), perRouteSecond, java.time.Duration.ofSeconds(1));
        }

        /** Other windows than a minute and a second (tests compress time with them). */
        public RateLimit(int perWindow, java.time.Duration window, int perRoute, java.time.Duration routeWindow) {
            if (perWindow < 1 || perRoute < 1) {
                throw Fail.usage("API rate limits must be at least 1", "e.g. --api-rate 600");
            }
            this.perMinute = perWindow;
            this.perRouteSecond = perRoute;
            this.window = window.toNanos();
            this.routeWindow = routeWindow.toNanos();
        }

        /** Total time callers spent waiting here. */
        public synchronized long waitedMillis() {
            return waitedNanos / 1_000_000;
        }

        /** Blocks until one more request of this route stays within both windows; call done() on its answer. */
        public synchronized Slot acquire(String method, String path) throws InterruptedException {
            String route = route(method, path);
            long started = System.nanoTime();
            List<Slot> r = routes.computeIfAbsent(route, k -> new ArrayList<>());
            while (true) {
                long now = System.nanoTime();
                long wait = Math.max(Math.max(until(minute, perMinute, window, now), until(r, perRouteSecond, routeWindow, now)),
                        heldUntil == Long.MIN_VALUE ? 0 : heldUntil - now);
                if (wait <= 0) {
                    Slot slot = new Slot();
                    minute.add(slot);
                    r.add(slot);
                    waitedNanos += now - started;
                    return slot;
                }
                long ms = wait == Long.MAX_VALUE ? 50 : Math.max(1, (wait + 999_999) / 1_000_000);
                wait(ms);   // also woken when a slot is done
            }
        }

        /** 0 when one more fits; else how long until the oldest finished slot leaves the window (MAX: all in flight). */
        private static long until(List<Slot> slots, int limit, long window, long now) {
            slots.removeIf(s -> s.end != Long.MAX_VALUE && now - s.end >= window);
            if (slots.size() < limit) {
                return 0;
            }
            long first = Long.MAX_VALUE;
            for (Slot s : slots) {
                if (s.end != Long.MAX_VALUE) {
                    first = Math.min(first, s.end + window - now);
                }
            }
            return first;
        }

        /** After a 429: no request of any thread goes for this long (the server's Retry-After). */
        public synchronized void hold(java.time.Duration d) {
            long until = System.nanoTime() + d.toNanos();
            if (heldUntil == Long.MIN_VALUE || until - heldUntil > 0) {
                heldUntil = until;
            }
        }

        /** The method and the path without its query, ids replaced by {}. */
        public static String route(String method, String path) {
            int q = path.indexOf('?');
            String p = q < 0 ? path : path.substring(0, q);
            String[] parts = p.split("/");
            StringBuilder b = new StringBuilder(method).append(' ');
            for (int i = 1; i < parts.length; i++) {
                b.append('/').append(COLLECTION.matcher(parts[i - 1]).matches() ? "{}" : parts[i]);
            }
            return b.toString();
        }
    }
}
