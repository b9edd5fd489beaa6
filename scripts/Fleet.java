///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
//SOURCES Doctor.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/SourceTypes.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Any time, for a whole Neon organization: every project and branch through the Neon API, doctor's checks, slot health and publication coverage on each branch with logical replication on, Materialize sources matched to their branches; read-only, rate-limited, one table or a Markdown report.

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static neonmz.NeonApi.str;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.NeonApi.RateLimit;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Issue #13's fleet: doctor for every branch of an organization. The Neon API gives the projects (paged, 400 at a
 * time), each project's branches and endpoints, each branch's databases and a direct connection URI per database
 * (as the database's owner, or --role); each database then gets {@link #HEALTH} (slots, retained WAL, publication
 * coverage) and doctor's checklist, run in-process ({@code doctor --json}). Nothing is changed anywhere. All API
 * requests of all threads share one {@link RateLimit} under Neon's published limits, and a 429 holds every thread
 * for its Retry-After. A branch that cannot be reached is a row with the reason, never left out.
 */
@Command(name = "fleet", mixinStandardHelpOptions = true,
        description = {"Any time, for a whole Neon organization: lists every project the API key sees (--org-id, "
                + "--project and --branch narrow it) and its branches; for each branch of a project with logical "
                + "replication on, and each of its databases (or --database), asks Neon for the direct connection "
                + "(as the database's owner, or --role) and runs doctor's checks there, plus slot health (slots, "
                + "inactive ones, retained WAL) and publication coverage. With --mz-url, each Materialize PostgreSQL "
                + "source is matched to its branch (host and database; its slot must exist there). Read-only.",
                "One aligned row per branch and database (worst check first), --json, or --report FILE (Markdown "
                        + "with every failing check and its fix). --parallel branches at a time; the Neon API is held "
                        + "to --api-rate requests a minute and --api-burst per route a second (Neon allows 700 and "
                        + "40), 429 and 5xx retried. Checking a branch wakes its compute if it is suspended: "
                        + "--skip-idle leaves those out (listed as skipped). Exit 9 when a check FAILs, 3 when a "
                        + "branch could not be reached, else 0."},
        footer = {"%nExamples:",
                "  NEON_API_KEY=… ./jbang fleet --org-id org-morning-bread-81040908",
                "  ./jbang fleet --project shop,billing --database neondb --report fleet.md",
                "  MZ_URL=… MZ_PASSWORD=… ./jbang fleet --json | jq '.branches[] | select(.state != \"ok\")'"})
public class Fleet implements Callable<Integer> {
    /**
     * Slot health (this database's logical slots, the inactive ones, the most WAL one of them keeps) and publication
     * coverage (the tables of the publication's schemas that it publishes, a partitioned table counting when any of
     * its partitions is), in one read-only query. Doctor's own checks still see every slot of the server.
     */
    static final String HEALTH = """
            WITH pub AS (SELECT DISTINCT format('%I.%I', schemaname, tablename)::regclass AS oid, schemaname
                         FROM pg_publication_tables WHERE pubname = ?),
                 tabs AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                            AND n.nspname IN (SELECT schemaname FROM pub))
            SELECT current_setting('wal_level') AS wal_level,
                   (SELECT count(*) FROM pg_replication_slots WHERE database = current_database())::int AS slots,
                   (SELECT count(*) FROM pg_replication_slots WHERE database = current_database() AND NOT active)::int AS inactive,
                   (SELECT max(pg_current_wal_lsn() - restart_lsn) FROM pg_replication_slots
                    WHERE database = current_database())::bigint AS retained_bytes,
                   (SELECT pg_size_pretty(max(pg_current_wal_lsn() - restart_lsn)) FROM pg_replication_slots
                    WHERE database = current_database()) AS retained,
                   (SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots
                    WHERE database = current_database()) AS slot_names,
                   (SELECT count(*) FROM tabs WHERE EXISTS (SELECT 1 FROM pub WHERE pub.oid = tabs.oid OR pub.oid IN
                                                            (SELECT relid FROM pg_partition_tree(tabs.oid))))::int AS published,
                   (SELECT count(*) FROM tabs)::int AS tables""";

    /** Materialize: every PostgreSQL source, its slot and status, and its connection's text (HOST, DATABASE). */
    static final String MZ_SOURCES = """
            SELECT s.name AS source, ps.replication_slot, c.name AS connection, c.create_sql, st.status
            FROM mz_catalog.mz_sources s
            JOIN mz_internal.mz_postgres_sources ps ON ps.id = s.id
            LEFT JOIN mz_catalog.mz_connections c ON c.id = s.connection_id
            LEFT JOIN mz_internal.mz_source_statuses st ON st.id = s.id
            ORDER BY s.name""";

    /** reference/neon.md §1d: Neon's published API limits. */
    static final int NEON_PER_MINUTE = 700;
    static final int NEON_PER_ROUTE_SECOND = 40;

    @Mixin MzOptions mz;
    @Mixin OutputOptions out;

    @Option(names = "--org-id", paramLabel = "ORG", description = "The organization (default: $NEON_ORG_ID; a personal key in an organization needs it).")
    String orgId;

    @Option(names = "--project", paramLabel = "ID|NAME", split = ",", description = "Only these projects (repeat or comma-separate).")
    List<String> projects = new ArrayList<>();

    @Option(names = "--branch", paramLabel = "ID|NAME", split = ",", description = "Only these branches (repeat or comma-separate).")
    List<String> branches = new ArrayList<>();

    @Option(names = "--database", paramLabel = "NAME", description = "Check only this database of each branch (default: every database, from the API).")
    String database;

    @Option(names = "--role", paramLabel = "NAME", description = "Connect as this role (default: each database's owner).")
    String role;

    @Option(names = "--publication", paramLabel = "NAME", description = "The publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--replication-role", paramLabel = "NAME", description = "The role Materialize replicates as (default ${DEFAULT-VALUE}).")
    String replicationRole = "materialize";

    @Option(names = "--parallel", paramLabel = "N", description = "Branches checked at a time (default ${DEFAULT-VALUE}).")
    int parallel = 16;

    @Option(names = "--api-rate", paramLabel = "N", description = "Neon API requests per minute, all threads together (default ${DEFAULT-VALUE}; Neon allows 700).")
    int apiRate = 600;

    @Option(names = "--api-burst", paramLabel = "N", description = "Requests per second to one API route (default ${DEFAULT-VALUE}; Neon allows 40).")
    int apiBurst = 30;

    @Option(names = "--skip-idle", description = "Leave branches whose compute is suspended alone (checking one wakes it).")
    boolean skipIdle;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write a Markdown report to FILE.")
    Path report;

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "Read the Neon API key from FILE (default: $NEON_API_KEY).")
    Path apiKeyFile;

    @Option(names = "--api-host", paramLabel = "URL", description = "The Neon API base URL (default: $NEON_API_HOST, else " + NeonApi.DEFAULT_HOST + ").")
    String apiHost;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, description = "Give up after this long (default ${DEFAULT-VALUE}).")
    Duration timeout = Duration.ofMinutes(30);

    private Out o;
    private NeonApi api;
    private final List<FleetRow> rows = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger projectsSeen = new AtomicInteger();
    private final AtomicInteger branchesSeen = new AtomicInteger();
    /** project, database, role → the first connection URI Neon gave for them (its password is a registered secret). */
    private final Map<String, java.util.concurrent.CompletableFuture<String>> uris = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicInteger reused = new AtomicInteger();
    private final FleetNeon events = new FleetNeon();

    public static void main(String... args) {
        Cli.main(new Fleet(), args);
    }

    @Override
    public Integer call() throws Exception {
        o = out.out();
        requireOptions();
        if (o.dryRun()) {
            return plan();
        }
        RateLimit limit = new RateLimit(apiRate, apiBurst);
        api = neon().client(o, timeout).rateLimit(limit);
        long t0 = System.nanoTime();
        List<JsonObject> listed = api.listProjects();
        walk(listed.stream().filter(p -> projects.isEmpty() || projects.contains(str(p, "id"))
                || projects.contains(str(p, "name"))).toList());
        List<Map<String, Object>> sources = mz.given() ? materializeSources() : null;
        FleetReport r = new FleetReport(events.apply(rows), sources, projectsSeen.get(), branchesSeen.get());
        r.api(api.requests(), api.throttled(), api.serverErrors(), limit.waitedMillis(), reused.get(),
                (System.nanoTime() - t0) / 1_000_000);
        return r.print(o, report);
    }

    private void requireOptions() {
        Sql.requireName("publication", publication);
        Sql.requireName("replication-role", replicationRole);
        if (parallel < 1 || parallel > 64) {
            throw Fail.usage("--parallel must be between 1 and 64", "e.g. --parallel 8");
        }
        if (apiRate < 1 || apiBurst < 1) {
            throw Fail.usage("--api-rate and --api-burst must be at least 1", "e.g. --api-rate 600 --api-burst 30");
        }
        if (apiRate > NEON_PER_MINUTE || apiBurst > NEON_PER_ROUTE_SECOND) {
            o.warn("--api-rate " + apiRate + " / --api-burst " + apiBurst + " is above Neon's published limits (700 a "
                    + "minute, 40 a second per route): Neon answers 429 over them, and every thread then waits");
        }
        Durations.requirePositive("--timeout", timeout, "30m");
    }

    /** Every project, then every branch as its project is listed, on --parallel threads; waits for all. */
    private void walk(List<JsonObject> ps) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        Phaser pending = new Phaser(1);
        try (Out.Progress bar = o.progress("fleet", 0)) {
            for (JsonObject p : ps) {
                FleetReport.submit(pool, pending, () -> project(pool, pending, p));
            }
            int phase = pending.arrive();
            while (true) {
                try {
                    pending.awaitAdvanceInterruptibly(phase, 200, TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException e) {
                    synchronized (bar) {
                        bar.update(rows.size(), Math.max(branchesSeen.get(), 1));
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One project: its branches and (when logical replication is on) its endpoints; a task per branch. */
    private void project(ExecutorService pool, Phaser pending, JsonObject p) {
        projectsSeen.incrementAndGet();
        String pid = str(p, "id");
        List<JsonObject> bs;
        Map<String, JsonObject> endpoints = new LinkedHashMap<>();
        try {
            // settings is optional in a ProjectListItem (SPEC): without it, the project itself is read
            JsonObject settings = events.window(p.has("settings") ? p : api.getProject(pid)).getAsJsonObject("settings");
            boolean logical = settings != null && settings.has("enable_logical_replication")
                    && settings.get("enable_logical_replication").getAsBoolean();
            bs = api.listBranches(pid).stream().filter(b -> branches.isEmpty()
                    || branches.contains(str(b, "id")) || branches.contains(str(b, "name"))).toList();
            if (logical && !bs.isEmpty()) {
                events.resets(api, pid, bs);
                for (JsonObject ep : api.listEndpoints(pid, null)) {
                    if ("read_write".equals(str(ep, "type"))) {
                        endpoints.put(str(ep, "branch_id"), ep);
                    }
                }
            }
            for (JsonObject b : bs) {
                branchesSeen.incrementAndGet();
                if (!logical) {
                    rows.add(FleetRow.skipped(p, b, null, false, "logical replication off: ./jbang check-logical-replication --enable"));
                } else {
                    FleetReport.submit(pool, pending, () -> branch(p, b, endpoints.get(str(b, "id"))));
                }
            }
        } catch (Fail f) {
            rows.add(FleetRow.unreachable(p, null, null, "Neon API: " + f.getMessage(), f.exit));
        }
    }

    /** One branch: its compute, its databases, then {@link #check} for each. */
    private void branch(JsonObject p, JsonObject b, JsonObject endpoint) {
        if (endpoint == null || endpoint.has("disabled") && endpoint.get("disabled").getAsBoolean()) {
            rows.add(FleetRow.skipped(p, b, null, true, endpoint == null ? "no read-write compute" : "compute disabled"));
            return;
        }
        if (skipIdle && "idle".equals(str(endpoint, "current_state"))) {
            rows.add(FleetRow.skipped(p, b, null, true, "compute suspended; not woken (--skip-idle)"));
            return;
        }
        List<String[]> dbs = new ArrayList<>();   // name, owner
        try {
            if (database != null && role != null) {
                dbs.add(new String[] {database, role});
            } else {
                for (JsonObject d : api.listDatabases(str(p, "id"), str(b, "id"))) {
                    if (database == null || database.equals(str(d, "name"))) {
                        dbs.add(new String[] {str(d, "name"), role != null ? role : str(d, "owner_name")});
                    }
                }
            }
            if (dbs.isEmpty()) {
                rows.add(FleetRow.skipped(p, b, database, true, database == null ? "no databases" : "no database " + database));
                return;
            }
        } catch (Fail f) {
            rows.add(FleetRow.unreachable(p, b, null, "Neon API: " + f.getMessage(), f.exit));
            return;
        }
        for (String[] db : dbs) {
            rows.add(check(p, b, endpoint, db[0], db[1]));
        }
    }

    /** One database: a connection (see {@link #connect}), {@link #HEALTH}, then doctor's checklist in-process as --json. */
    private FleetRow check(JsonObject p, JsonObject b, JsonObject endpoint, String db, String as) {
        FleetRow row = new FleetRow(p, b, db, true);
        row.endpointHost = str(endpoint, "host");
        try {
            if (as == null) {
                throw new Fail(Exit.NOT_FOUND, "no owner known for database " + db, "pass --role NAME");
            }
            ConnInfo ci = connect(row, p, b, db, as, pg -> row.health(pg.query(HEALTH, publication).get(0)));
            row.host = ci.host();
            row.doctor(FleetRow.doctor(ci, publication, replicationRole));
        } catch (Fail f) {
            row.unreachable(f.getMessage(), f.exit);
        } catch (Exception e) {
            Fail f = e instanceof java.sql.SQLException s ? Pg.translate(s) : new Fail(Exit.INTERNAL, String.valueOf(e), "run with --verbose");
            row.unreachable(f.getMessage(), f.exit);
        }
        return row;
    }

    interface Health {
        void read(Pg pg) throws java.sql.SQLException;
    }

    /**
     * Connects and reads. Neon copies a parent's roles, passwords included, to a child branch (a reset applies to one
     * branch only; children of a protected branch get new passwords), so within a project the first connection URI
     * of a database and role is tried on the other branches' endpoints, saving a connection_uri request per branch
     * under the rate limit; when it does not authenticate, the branch's own URI is asked for and used.
     */
    private ConnInfo connect(FleetRow row, JsonObject p, JsonObject b, String db, String as, Health read) throws Exception {
        String key = str(p, "id") + "\u0000" + db + "\u0000" + as;
        java.util.concurrent.CompletableFuture<String> mine = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<String> known = uris.putIfAbsent(key, mine);
        if (known != null && row.endpointHost != null) {
            ConnInfo ci = null;
            try {
                ci = ConnInfo.parse(known.join()).withDefaults(Map.of());
            } catch (RuntimeException e) {
                // the first branch's request failed: this branch asks for its own below
            }
            if (ci != null) {
                ci.hosts = new ArrayList<>(List.of(row.endpointHost));
                try (Pg pg = Pg.connect(ci, o)) {
                    read.read(pg);
                    reused.incrementAndGet();
                    return ci;
                } catch (Fail f) {
                    if (f.exit != Exit.AUTH) {
                        throw f;
                    }
                }
            }
        }
        String uri;
        try {
            uri = api.connectionUri(str(p, "id"), str(b, "id"), db, as);
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        }
        mine.complete(uri);
        if (known != null) {
            uris.put(key, mine);   // the other branches now try this one
        }
        ConnInfo ci = ConnInfo.parse(uri).withDefaults(Map.of());
        try (Pg pg = Pg.connect(ci, o)) {
            read.read(pg);
        }
        return ci;
    }

    /** Materialize's PostgreSQL sources, matched to the rows by host and database, their slots looked up there. */
    private List<Map<String, Object>> materializeSources() throws Exception {
        try (Mz m = Mz.connectToRead(mz, o)) {
            List<Map<String, Object>> sources = m.query(MZ_SOURCES);
            FleetReport.match(sources, rows);
            return sources;
        }
    }

    /** The Neon API options (their environment defaults are NeonOptions'), from fleet's own flags. */
    private NeonOptions neon() {
        NeonOptions n = new NeonOptions();
        n.apiKeyFile = apiKeyFile;
        n.apiHost = apiHost;
        n.orgId = orgId;
        return n;
    }

    /** --dry-run: the requests and queries, in order, with the placeholders each repeats for; nothing is sent. */
    private int plan() {
        NeonOptions n = neon();
        FleetReport.plan(o, n.apiHost(), n.orgId(), projects, database, role, apiRate, apiBurst);
        o.statement(Doctor.inline(HEALTH, publication));
        o.line("-- then doctor's checks (./jbang doctor --publication %s --role %s --dry-run lists them)",
                Sql.ident(publication), Sql.ident(replicationRole));
        if (mz.given()) {
            o.line("-- Materialize:");
            o.statement(MZ_SOURCES);
        }
        o.line("fleet: nothing sent (--dry-run)");
        return Exit.OK;
    }
}

/** One branch (and database) of the fleet: where it is, its health, doctor's verdict, or why it was not checked. */
final class FleetRow {
    final String projectId;
    final String project;
    final String branchId;
    final String branch;
    final String database;
    final boolean logical;
    String state = "ok";   // ok, warn, fail, unreachable, skipped
    String reason;
    int exit;
    String endpointHost;
    String host;
    Integer slots;
    Integer inactive;
    Long retained;
    String retainedPretty;
    Integer published;
    Integer tables;
    List<String> slotNames = List.of();
    JsonObject doctor;
    String worst;
    String snap;
    final List<String> sources = new ArrayList<>();
    /** Neon events (issue #20): the branch's recent reset, the project's maintenance window; null when none. */
    Map<String, Object> reset;
    NeonApi.MaintenanceWindow window;

    FleetRow(JsonObject p, JsonObject b, String database, boolean logical) {
        this.projectId = NeonApi.str(p, "id");
        this.project = NeonApi.str(p, "name");
        this.branchId = NeonApi.str(b, "id");
        this.branch = b == null ? null : NeonApi.str(b, "name");
        this.database = database;
        this.logical = logical;
    }

    static FleetRow skipped(JsonObject p, JsonObject b, String db, boolean logical, String why) {
        FleetRow r = new FleetRow(p, b, db, logical);
        r.state = "skipped";
        r.reason = why;
        return r;
    }

    static FleetRow unreachable(JsonObject p, JsonObject b, String db, String why, int exit) {
        FleetRow r = new FleetRow(p, b, db, true);
        r.unreachable(why, exit);
        return r;
    }

    void unreachable(String why, int code) {
        state = "unreachable";
        reason = why;
        exit = code;
    }

    void health(Map<String, Object> h) {
        slots = (Integer) h.get("slots");
        inactive = (Integer) h.get("inactive");
        retained = h.get("retained_bytes") == null ? null : ((Number) h.get("retained_bytes")).longValue();
        retainedPretty = (String) h.get("retained");
        published = (Integer) h.get("published");
        tables = (Integer) h.get("tables");
        Object names = h.get("slot_names");   // slot names are [a-z0-9_] only, so a comma cannot be in one
        slotNames = names == null ? List.of() : List.of(names.toString().split(","));
    }

    /** Doctor's JSON: the worst check decides the state; an error (no checklist) makes the row unreachable. */
    void doctor(JsonObject j) {
        doctor = j;
        snap = snapFiles(j);
        if (!j.has("checks")) {
            JsonObject err = j.has("error") ? j.getAsJsonObject("error") : new JsonObject();
            unreachable("doctor: " + NeonApi.str(err, "message"), j.get("exit").getAsInt());
            return;
        }
        List<String> fails = new ArrayList<>();
        List<String> warns = new ArrayList<>();
        for (JsonElement e : j.getAsJsonArray("checks")) {
            JsonObject c = e.getAsJsonObject();
            String s = NeonApi.str(c, "status");
            (Doctor.FAIL.equals(s) ? fails : Doctor.WARN.equals(s) ? warns : new ArrayList<String>()).add(NeonApi.str(c, "id"));
        }
        List<String> bad = !fails.isEmpty() ? fails : warns;
        state = !fails.isEmpty() ? "fail" : !warns.isEmpty() ? "warn" : "ok";
        worst = bad.isEmpty() ? "PASS" : (fails.isEmpty() ? "WARN " : "FAIL ") + bad.get(0)
                + (bad.size() > 1 ? " (+" + (bad.size() - 1) + ")" : "");
    }

    /**
     * Doctor's forecast of Neon's removal of slots (SnapForecast) as a cell: the most .snap files beyond a slot's
     * restart_lsn of the limit, and the soonest drop ("due": at Neon's next check); "unlisted" when the role may not
     * list pg_logical/snapshots, "—" without logical slots.
     */
    static String snapFiles(JsonObject j) {
        JsonObject f = j.has("neon_snap_forecast") ? j.getAsJsonObject("neon_snap_forecast") : null;
        if (f == null || f.getAsJsonArray("slots").isEmpty()) {
            return null;
        }
        if (!f.get("error").isJsonNull()) {
            return "unlisted";
        }
        long most = 0;
        Double soonest = null;
        for (JsonElement e : f.getAsJsonArray("slots")) {
            JsonObject sl = e.getAsJsonObject();
            most = Math.max(most, sl.get("files_beyond").getAsLong());
            if (!sl.get("eta_seconds").isJsonNull()) {
                double eta = sl.get("eta_seconds").getAsDouble();
                soonest = soonest == null ? eta : Math.min(soonest, eta);
            }
        }
        return most + "/" + f.get("limit").getAsInt() + (soonest == null ? "" : soonest == 0 ? " due"
                : " in " + Durations.show(Duration.ofSeconds(Math.round(soonest))));
    }

    /** Doctor's checklist for one database, run in-process; the password goes in its environment, not its arguments. */
    static JsonObject doctor(ConnInfo ci, String publication, String replicationRole) {
        StringWriter so = new StringWriter();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGPASSWORD", ci.password());
        env.put("NO_COLOR", "1");
        Cli.Ctx ctx = new Cli.Ctx(env, Cli.ctx().stdin(), new PrintWriter(so), new PrintWriter(new StringWriter()), false);
        int code = Cli.execute(new Doctor(), ctx, "--pg-url", FleetReport.withoutPassword(ci), "--publication", publication,
                "--role", replicationRole, "--json");
        JsonObject j = JsonParser.parseString(so.toString().strip()).getAsJsonObject();
        j.addProperty("exit", code);
        return j;
    }

    int rank() {
        return switch (state) {
            case "fail" -> 0;
            case "unreachable" -> 1;
            case "warn" -> 2;
            case "ok" -> 3;
            default -> 4;
        };
    }

    String key() {
        return (project == null ? "" : project) + "\u0000" + (branch == null ? "" : branch) + "\u0000"
                + (database == null ? "" : database);
    }
}

/** The fleet's rows as a table, JSON and Markdown, the tally and the exit code; Materialize sources matched to rows. */
final class FleetReport {
    static final java.util.regex.Pattern HOST = java.util.regex.Pattern.compile("\\bHOST\\s*=?\\s*'((?:[^']|'')*)'",
            java.util.regex.Pattern.CASE_INSENSITIVE);
    static final java.util.regex.Pattern DATABASE = java.util.regex.Pattern.compile("\\bDATABASE\\s*=?\\s*'((?:[^']|'')*)'",
            java.util.regex.Pattern.CASE_INSENSITIVE);

    private final List<FleetRow> rows;
    private final List<Map<String, Object>> sources;
    private final int projects;
    private final int branches;
    private final Map<String, Object> api = new LinkedHashMap<>();
    private long millis;

    FleetReport(List<FleetRow> rows, List<Map<String, Object>> sources, int projects, int branches) {
        List<FleetRow> sorted = new ArrayList<>(rows);
        sorted.sort(java.util.Comparator.comparingInt(FleetRow::rank).thenComparing(FleetRow::key));
        this.rows = sorted;
        this.sources = sources;
        this.projects = projects;
        this.branches = branches;
    }

    void api(int requests, int throttled, int serverErrors, long waitedMs, int reused, long millis) {
        api.put("requests", requests);
        api.put("connection_uris_reused", reused);
        api.put("answered_429", throttled);
        api.put("answered_5xx", serverErrors);
        api.put("waited_for_rate_limit_ms", waitedMs);
        this.millis = millis;
    }

    /** The URI without its password (which travels in the environment). */
    static String withoutPassword(ConnInfo ci) {
        return "postgresql://" + enc(ci.user) + "@" + (ci.host().contains(":") ? "[" + ci.host() + "]" : ci.host())
                + ":" + ci.port() + "/" + enc(ci.dbname) + (ci.sslmode == null ? "" : "?sslmode=" + enc(ci.sslmode));
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s == null ? "" : s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Each source to the row with its host and database (the one holding its slot when several do). */
    static void match(List<Map<String, Object>> sources, List<FleetRow> rows) {
        for (Map<String, Object> s : sources) {
            String sql = String.valueOf(s.get("create_sql"));
            String host = group(HOST, sql);
            String db = group(DATABASE, sql);
            String slot = (String) s.get("replication_slot");
            FleetRow best = null;
            synchronized (rows) {
                for (FleetRow r : rows) {
                    boolean sameHost = host != null && (host.equalsIgnoreCase(String.valueOf(r.endpointHost))
                            || host.equalsIgnoreCase(String.valueOf(r.host)));
                    if (sameHost && db != null && db.equals(r.database)
                            && (best == null || r.slotNames.contains(slot) && !best.slotNames.contains(slot))) {
                        best = r;
                    }
                }
            }
            s.remove("create_sql");
            s.put("host", host);
            s.put("database", db);
            if (best == null) {
                s.put("branch", null);
                continue;
            }
            boolean slotThere = best.slotNames.contains(slot);
            s.put("project_id", best.projectId);
            s.put("branch", best.branchId);
            s.put("slot_present", slotThere);
            best.sources.add(s.get("source") + (slotThere ? "" : " (slot " + slot + " missing)"));
        }
    }

    private static String group(java.util.regex.Pattern p, String s) {
        java.util.regex.Matcher m = p.matcher(s);
        return m.find() ? m.group(1).replace("''", "'") : null;
    }

    /** fleet's --dry-run: the Neon API requests, each with what it repeats for. */
    static void plan(Out o, String base, String orgId, List<String> projects, String database, String role, int rate, int burst) {
        String org = orgId == null ? "" : "&org_id=" + orgId;
        o.line("-- Neon API (read-only; at most %d requests a minute, %d a second per route):", rate, burst);
        o.line("GET %s/projects?limit=400%s                      -- every page (pagination.cursor)", base, org);
        o.line("GET %s/projects/{project_id}/branches?limit=100   -- each project%s", base,
                projects.isEmpty() ? "" : " of " + String.join(", ", projects));
        o.line("GET %s/projects/{project_id}/endpoints            -- each project with logical replication on", base);
        o.line("GET %s/projects/{project_id}/operations?limit=100 -- each project with a branch reset in the last 7 days "
                + "(its last_reset_at), to name the operations", base);
        if (database == null || role == null) {
            o.line("GET %s/projects/{project_id}/branches/{branch_id}/databases   -- each branch with a compute", base);
        }
        o.line("GET %s/projects/{project_id}/connection_uri?database_name=%s&role_name=%s&branch_id={branch_id}"
                + "   -- the first branch of each project (the others try its password first)", base,
                database == null ? "{database}" : database, role == null ? "{owner}" : role);
        o.line("-- each database (read-only):");
    }

    /** Runs a task on the pool, counted in {@code pending} until it ends (tasks may submit more). */
    static void submit(ExecutorService pool, Phaser pending, Runnable task) {
        pending.register();
        pool.execute(() -> {
            try {
                task.run();
            } finally {
                pending.arriveAndDeregister();
            }
        });
    }

    /** Prints the table (or --json) and writes --report; exit 9 on a FAIL, 3 when a branch was not reached. */
    int print(Out o, Path report) throws java.io.IOException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String s : List.of("ok", "warn", "fail", "unreachable", "skipped")) {
            counts.put(s, 0);
        }
        rows.forEach(r -> counts.merge(r.state, 1, Integer::sum));
        long logical = rows.stream().filter(r -> r.logical && r.branchId != null).map(r -> r.branchId).distinct().count();
        String summary = String.format("fleet: %d projects, %d branches (%d with logical replication on); %d ok, %d warn, "
                + "%d fail, %d unreachable, %d skipped; %s Neon API requests (%s answered 429, %s 5xx) in %s",
                projects, branches, logical, counts.get("ok"), counts.get("warn"), counts.get("fail"),
                counts.get("unreachable"), counts.get("skipped"), api.get("requests"), api.get("answered_429"),
                api.get("answered_5xx"), millis < 10_000 ? millis + " ms" : Durations.show(Duration.ofMillis(millis)));
        o.table(headers(), rows.stream().map(this::cells).toList());
        unmatched().forEach(s -> o.line("Materialize source %s (host %s, database %s) matches no branch listed",
                s.get("source"), s.get("host"), s.get("database")));
        o.line(summary);
        o.put("branches", rows.stream().map(FleetReport::json).toList());
        o.put("counts", counts);
        o.put("projects", projects);
        o.put("api", api);
        if (sources != null) {
            o.put("materialize_sources", sources);
        }
        if (report != null) {
            java.nio.file.Files.writeString(report, markdown(summary), java.nio.charset.StandardCharsets.UTF_8);
            o.line("report: %s", report);
        }
        return counts.get("fail") > 0 ? Exit.VERIFY : counts.get("unreachable") > 0 ? Exit.CONNECT : Exit.OK;
    }

    private List<Map<String, Object>> unmatched() {
        return sources == null ? List.of() : sources.stream().filter(s -> s.get("branch") == null).toList();
    }

    private List<String> headers() {
        List<String> h = new ArrayList<>(List.of("PROJECT", "BRANCH", "DATABASE", "LR", "SLOTS", "RETAINED", "SNAP FILES",
                "COVERAGE", "WORST"));
        if (sources != null) {
            h.add("MATERIALIZE");
        }
        if (rows.stream().anyMatch(r -> r.reset != null || r.window != null)) {
            h.add("NEON");
        }
        return h;
    }

    private List<Object> cells(FleetRow r) {
        List<Object> c = new ArrayList<>(List.of(or(r.project, r.projectId), or(r.branch, "—"), or(r.database, "—"),
                r.logical ? "on" : "off",
                r.slots == null ? "—" : r.inactive > 0 ? r.slots + " (" + r.inactive + " inactive)" : String.valueOf(r.slots),
                r.retainedPretty == null ? "—" : r.retainedPretty, or(r.snap, "—"),
                r.tables == null ? "—" : r.published + " of " + r.tables,
                r.worst != null ? r.worst : r.state.toUpperCase(Locale.ROOT) + ": " + r.reason));
        if (sources != null) {
            c.add(r.sources.isEmpty() ? "—" : String.join(", ", r.sources));
        }
        if (rows.stream().anyMatch(x -> x.reset != null || x.window != null)) {
            c.add(FleetNeon.cell(r));
        }
        return c;
    }

    private static String or(String a, String b) {
        return a == null ? b : a;
    }

    static Map<String, Object> json(FleetRow r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("project_id", r.projectId);
        m.put("project", r.project);
        m.put("branch_id", r.branchId);
        m.put("branch", r.branch);
        m.put("database", r.database);
        m.put("logical_replication", r.logical);
        m.put("state", r.state);
        m.put("reason", r.reason);
        m.put("exit", r.exit);
        m.put("host", r.endpointHost);
        m.put("slots", r.slots);
        m.put("inactive_slots", r.inactive);
        m.put("retained_bytes", r.retained);
        m.put("snap_files", r.snap);
        m.put("slot_names", r.slotNames);
        m.put("published_tables", r.published);
        m.put("tables_in_published_schemas", r.tables);
        m.put("worst", r.worst);
        m.put("materialize_sources", r.sources);
        if (r.reset != null) {
            m.put("neon_reset", r.reset);
        }
        if (r.window != null) {
            m.put("maintenance_window", r.window.json());
        }
        m.put("checks", r.doctor == null || !r.doctor.has("checks") ? List.of()
                : new com.google.gson.Gson().fromJson(r.doctor.get("checks"), List.class));
        return m;
    }

    /** The report: the summary, the table, then every FAIL and WARN with its fix, and what was not reached. */
    String markdown(String summary) {
        StringBuilder b = new StringBuilder("# Neon fleet report\n\n").append(summary).append("\n\n");
        List<String> h = headers();
        b.append("| ").append(String.join(" | ", h)).append(" |\n|").append("---|".repeat(h.size())).append('\n');
        for (FleetRow r : rows) {
            b.append("| ").append(String.join(" | ", cells(r).stream().map(c -> md(String.valueOf(c))).toList())).append(" |\n");
        }
        b.append("\n## Checks that did not pass\n");
        for (FleetRow r : rows) {
            if (r.doctor == null || !r.doctor.has("checks") || r.state.equals("ok")) {
                continue;
            }
            b.append("\n### ").append(md(or(r.project, r.projectId) + " / " + r.branch + " / " + r.database)).append("\n\n");
            for (JsonElement e : r.doctor.getAsJsonArray("checks")) {
                JsonObject c = e.getAsJsonObject();
                if (!Doctor.PASS.equals(NeonApi.str(c, "status"))) {
                    b.append("- **").append(NeonApi.str(c, "status")).append(' ').append(NeonApi.str(c, "id")).append("**: ")
                            .append(md(NeonApi.str(c, "detail"))).append(" — fix: ").append(md(NeonApi.str(c, "fix"))).append('\n');
                }
            }
        }
        b.append("\n## Not checked\n\n");
        rows.stream().filter(r -> r.state.equals("unreachable") || r.state.equals("skipped")).forEach(r ->
                b.append("- ").append(md(or(r.project, r.projectId) + " / " + or(r.branch, "(project)") + " / "
                        + or(r.database, "—"))).append(": ").append(r.state).append(", ").append(md(r.reason)).append('\n'));
        unmatched().forEach(s -> b.append("- Materialize source ").append(md(String.valueOf(s.get("source"))))
                .append(": no branch listed has its host ").append(md(String.valueOf(s.get("host")))).append('\n'));
        return b.toString();
    }

    private static String md(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }
}

/**
 * Issue #20's Neon events for fleet: each project's maintenance window (settings.maintenance_window, read with the
 * project: no request more), and each branch reset or restored in the last {@link #LOOKBACK} (the branch's
 * {@code last_reset_at}, SPEC Branch, from the branch list fleet reads anyway). A restore deletes the branch's
 * replication slots (reference/neon.md §3), so a reset branch without a {@code materialize_%} slot names
 * {@code ./jbang rebuild}. Only a project with such a branch costs one request more: a page of its operations, to name
 * the ones on the branch around the reset (the spec's OperationAction has no restore or reset action).
 */
final class FleetNeon {
    static final java.time.Duration LOOKBACK = java.time.Duration.ofDays(7);
    static final java.time.Duration NEAR = java.time.Duration.ofMinutes(5);
    private final Map<String, NeonApi.MaintenanceWindow> windows = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Map<String, Object>> resets = new java.util.concurrent.ConcurrentHashMap<>();

    /** Notes the project's window; the project back. */
    JsonObject window(JsonObject p) {
        NeonApi.MaintenanceWindow w = NeonApi.MaintenanceWindow.of(p);
        if (w != null) {
            windows.put(NeonApi.str(p, "id"), w);
        }
        return p;
    }

    /** The branches reset in the last 7 days, each with the operations on it around the reset (one request). */
    void resets(NeonApi api, String pid, List<JsonObject> branches) {
        java.time.Instant since = java.time.Instant.now().minus(LOOKBACK);
        Map<String, java.time.Instant> reset = new LinkedHashMap<>();
        for (JsonObject b : branches) {
            java.time.Instant at = NeonApi.instant(NeonApi.str(b, "last_reset_at"));
            if (at != null && at.isAfter(since)) {
                reset.put(NeonApi.str(b, "id"), at);
            }
        }
        if (reset.isEmpty()) {
            return;
        }
        java.time.Instant first = reset.values().stream().min(java.util.Comparator.naturalOrder()).orElseThrow();
        List<JsonObject> ops = api.listOperations(pid, first.minus(NEAR), 1);
        reset.forEach((branch, at) -> {
            List<String> named = new ArrayList<>();
            for (JsonObject op : ops) {
                java.time.Instant t = NeonApi.instant(NeonApi.str(op, "created_at"));
                if (branch.equals(NeonApi.str(op, "branch_id")) && t != null
                        && java.time.Duration.between(t, at).abs().compareTo(NEAR) <= 0) {
                    named.add(0, NeonApi.str(op, "action") + " " + NeonApi.str(op, "id"));   // listed newest first
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("at", at.toString());
            m.put("operations", named);
            resets.put(branch, m);
        });
    }

    /** Onto the rows: the reset (and whether a materialize_% slot is there) and the window. */
    List<FleetRow> apply(List<FleetRow> rows) {
        synchronized (rows) {
            for (FleetRow r : rows) {
                r.window = windows.get(r.projectId);
                Map<String, Object> m = r.branchId == null ? null : resets.get(r.branchId);
                if (m != null) {
                    r.reset = new LinkedHashMap<>(m);
                    if (r.slots != null) {
                        boolean left = r.slotNames.stream().anyMatch(x -> x.startsWith("materialize_"));
                        r.reset.put("materialize_slot_left", left);
                        r.reset.put("fix", left ? null : REBUILD);
                    }
                }
            }
        }
        return rows;
    }

    static final String REBUILD = "./jbang rebuild --mz-url \"$MZ_URL\"";

    static String cell(FleetRow r) {
        List<String> parts = new ArrayList<>();
        if (r.reset != null) {
            @SuppressWarnings("unchecked")
            List<String> ops = (List<String>) r.reset.get("operations");
            parts.add("reset " + r.reset.get("at") + (ops.isEmpty() ? "" : " (" + String.join(", ", ops) + ")")
                    + (Boolean.FALSE.equals(r.reset.get("materialize_slot_left")) ? ": no materialize_% slot left, "
                    + REBUILD : ""));
        }
        if (r.window != null) {
            parts.add("maintenance " + r.window.describe());
        }
        return parts.isEmpty() ? "—" : String.join("; ", parts);
    }
}
