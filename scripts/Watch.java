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
//DESCRIPTION Any time: watch one upstream (and Materialize with --mz-url) until stopped: one line per new drift (replica identity, unpublished tables, lost grants, slots, retained WAL, source status, lag) with its fix; Prometheus metrics; --fail-on exit codes for cron; --heartbeat for idle databases.

import java.io.IOException;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzErrors;
import neonmz.MzOptions;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Issue #13's watch: doctor's drift checks, repeated. Each tick connects to the upstream, reads its state in
 * a few catalog queries, closes the connection (a Neon compute may then suspend), and compares the problems it
 * found with the previous tick's: a problem that appears is printed once with its fix, one that goes away once
 * more. The baseline lives in memory, so a tick that cannot connect (a restart, a suspended compute waking up)
 * changes nothing: the next good tick compares with the last good one.
 *
 * <p>--heartbeat writes a non-transactional logical message each tick (pg_logical_emit_message, prefix
 * {@code neonmz_heartbeat}): on an idle database a consumer that acknowledges only the positions of the
 * messages it receives (Debezium's pattern; PeerDB does the same) then has something to acknowledge, so the
 * slot's confirmed position moves and the WAL written meanwhile elsewhere is released (docs/heartbeat.md).
 */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = {"Any time: runs until stopped (Ctrl-C), every --interval, against one upstream database (and "
                + "Materialize with --mz-url or MZ_URL). Each tick compares what it finds with the previous tick and "
                + "prints one line per new problem, with its fix, and one when it clears: a published table no longer "
                + "REPLICA IDENTITY FULL, a table of the schema not in the publication (--all-in-schema), a grant the "
                + "replication role lost, a slot inactive or with wal_status unreserved/lost, a slot retaining more "
                + "than --max-retained, a source stalled or failed, lag over --max-lag and growing; with ./jbang guard "
                + "installed, the DDL it logged on published tables (schema_change, once each) and a published table "
                + "it does not guard yet. The first tick reports what is wrong now (and the DDL of the last --interval).",
                "Each tick opens a connection and closes it: a tick itself wakes a suspended Neon compute (and "
                        + "restarts its suspend timer, 5 minutes by default), so if scale-to-zero matters, use an "
                        + "--interval longer than the suspend timeout (it says so on a Neon host with --interval "
                        + "under 5m). --keep-awake keeps one connection open instead. A connection lost after the first "
                        + "tick is said once and retried each tick; the baseline is kept.",
                "--metrics-port serves Prometheus metrics (text format 0.0.4). --fail-on stops at the first tick "
                        + "where a problem of those kinds is present and exits 17 (with --once or --ticks for cron). "
                        + "--json: one object per tick, then the summary. --dry-run prints each tick's SQL."},
        footer = {"%nExamples:",
                "  ./jbang watch --interval 10m --metrics-port 9187",
                "  ./jbang watch --once --all-in-schema --fail-on any    # cron: 17 = drift",
                "  MZ_URL=… MZ_PASSWORD=… ./jbang watch --heartbeat --max-lag 64MB",
                "  ./jbang watch --dry-run --heartbeat     # a tick's SQL; contacts nothing"})
public class Watch implements Callable<Integer> {
    /** Once per tick: the WAL position, whether the publication and the role exist, Neon's endpoint id. */
    static final String STATE = """
            SELECT pg_current_wal_lsn()::text AS wal_lsn,
                   current_setting('neon.endpoint_id', true) AS neon_endpoint,
                   EXISTS (SELECT 1 FROM pg_publication WHERE pubname = %1$s) AS publication_exists,
                   EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %2$s) AS role_exists,
                   (SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') FROM pg_namespace n
                    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'ddl_log' WHERE n.nspname = 'neonmz_guard') AS guard_log""";

    /** Guide A.2.1 and A.2.4, per published table: its identity, the role's USAGE on its schema and SELECT on it. */
    static final String PUBLISHED = """
            WITH role AS (SELECT oid FROM pg_roles WHERE rolname = %2$s)
            SELECT t.schemaname AS schema_name, t.tablename AS table_name, c.relreplident::text AS identity,
                   has_schema_privilege((SELECT oid FROM role), n.oid, 'USAGE') AS usage,
                   has_table_privilege((SELECT oid FROM role), c.oid, 'SELECT') AS can_select,
                   array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                         AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
                   EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'neonmz_guard_truncate') AS guarded
            FROM pg_publication_tables t
            JOIN pg_namespace n ON n.nspname = t.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
            WHERE t.pubname = %1$s
            ORDER BY 1, 2""";

    /** --all-in-schema: the schema's tables the publication lacks (partitions go with their parent). */
    static final String UNPUBLISHED = """
            SELECT n.nspname AS schema_name, c.relname AS table_name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN (%2$s)
              AND NOT EXISTS (SELECT 1 FROM pg_publication_tables t
                              WHERE t.pubname = %1$s AND t.schemaname = n.nspname AND t.tablename = c.relname)
              AND NOT EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                              WHERE p.pubname = %1$s AND pr.prrelid = c.oid)
            ORDER BY 1, 2""";
    /** Without --schema: the schemas of the published tables. */
    static final String PUBLISHED_SCHEMAS = "SELECT schemaname FROM pg_publication_tables WHERE pubname = %s";

    /**
     * The slots of this database (and physical ones), not temporary ones: what they keep is
     * pg_current_wal_lsn() - restart_lsn (what max_slot_wal_keep_size limits), what their consumer has not
     * confirmed is pg_current_wal_lsn() - confirmed_flush_lsn (C.5's figure); the WAL position read once for both.
     */
    static final String SLOTS = """
            SELECT s.slot_name, s.slot_type, s.active, s.wal_status,
                   wal.lsn - s.restart_lsn AS retained_bytes,
                   wal.lsn - s.confirmed_flush_lsn AS unconfirmed_bytes
            FROM pg_replication_slots s CROSS JOIN (SELECT pg_current_wal_lsn() AS lsn) AS wal
            WHERE NOT s.temporary AND (s.database = current_database() OR s.database IS NULL)
            ORDER BY s.slot_name""";

    /** --heartbeat: a non-transactional logical message (decoded at once, whatever else runs) with our prefix. */
    static final String HEARTBEAT = "SELECT pg_logical_emit_message(false, 'neonmz_heartbeat', now()::text)::text AS lsn";

    /** The application_name of watch's sessions (unless PGAPPNAME or the URL names one): pg_stat_activity shows it. */
    static final String APPLICATION = "neonmz_watch";
    /** Neon's default suspend timeout: shorter intervals keep a compute awake. */
    static final Duration NEON_SUSPEND = Duration.ofMinutes(5);

    @Mixin PgOptions pg;
    @Mixin MzOptions mz;
    @Mixin OutputOptions out;
    @Mixin WatchNeon neon;
    @Mixin SnapForecast.Limit snapLimit;

    @Option(names = "--publication", paramLabel = "NAME", description = "The publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--role", paramLabel = "NAME", description = "The role Materialize replicates as, whose grants "
            + "are watched (default ${DEFAULT-VALUE}).")
    String role = "materialize";

    @Option(names = "--source", paramLabel = "NAME", description = "With --mz-url/MZ_URL: the source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--all-in-schema", description = "Every table of the schemas (--schema, else those of the "
            + "published tables) belongs in the publication: a table that is not is a problem.")
    boolean allInSchema;

    @Option(names = "--schema", paramLabel = "SCHEMA", split = ",", description = "With --all-in-schema: the schemas.")
    List<String> schemas = new ArrayList<>();

    @Option(names = "--interval", paramLabel = "DURATION", converter = Durations.class, defaultValue = "1m",
            description = "Time between ticks (default ${DEFAULT-VALUE}; on Neon, longer than the suspend timeout "
                    + "lets the compute scale to zero between ticks).")
    Duration interval;

    @Option(names = "--once", description = "One tick, then the summary (for cron; same as --ticks 1).")
    boolean once;

    @Option(names = "--ticks", paramLabel = "N", description = "Stop after N ticks.")
    Integer ticks;

    @Option(names = "--for", paramLabel = "DURATION", converter = Durations.class, description = "Stop after DURATION.")
    Duration forDuration;

    @Option(names = "--max-retained", paramLabel = "SIZE", converter = WatchChecks.Size.class, defaultValue = "1GB",
            description = "A slot retaining more WAL than this is a problem (default ${DEFAULT-VALUE}; kB, MB, GB, TB).")
    long maxRetained;

    @Option(names = "--max-lag", paramLabel = "SIZE", converter = WatchChecks.Size.class, defaultValue = "256MB",
            description = "With --mz-url: the source's lag (offset_known - offset_committed) over SIZE and growing "
                    + "is a problem (default ${DEFAULT-VALUE}).")
    long maxLag;

    @Option(names = "--fail-on", paramLabel = "KINDS", split = ",", description = "Stop at the first tick where a "
            + "problem of these kinds is present and exit 17: drift (identity, publication, grants, unguarded), slot "
            + "(inactive, wal_status, neon_restore), wal (retained), source (status), lag, schema (DDL guard logged), or any.")
    List<String> failOn = new ArrayList<>();

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics on "
            + "http://--metrics-bind:PORT/metrics (0: any free port, printed).")
    Integer metricsPort;

    @Option(names = "--metrics-bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "The address the metrics server listens on (default ${DEFAULT-VALUE}; 0.0.0.0 for all).")
    String metricsBind;

    @Option(names = "--heartbeat", description = "Each tick, write a logical message (" + "pg_logical_emit_message, "
            + "non-transactional, prefix neonmz_heartbeat) so an idle database's slot can advance (docs/heartbeat.md).")
    boolean heartbeat;

    @Option(names = "--keep-awake", description = "Keep one upstream connection open between ticks (a Neon compute "
            + "then never suspends).")
    boolean keepAwake;

    /** Counted down by main() once the output is written, so a Ctrl-C lets the summary out first. */
    static final CountDownLatch PRINTED = new CountDownLatch(1);
    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);

    private Out o;
    private WatchChecks checks;
    private WatchReport report;
    private Pg kept;
    private Mz mzDb;

    public static void main(String... args) {
        int code = Cli.execute(new Watch(), Cli.systemCtx(), args);
        System.out.flush();
        System.err.flush();
        PRINTED.countDown();
        System.exit(code);
    }

    /** Ends the watch after the tick under way (Ctrl-C and SIGTERM call this; so can tests). */
    void stop() {
        stop.countDown();
    }

    @Override
    public Integer call() throws Exception {
        try {
            o = out.out();
            requireOptions();
            ConnInfo ci = pg.resolve(o);
            if (ci.applicationName == null) {
                ci.applicationName = APPLICATION;
            }
            checks = new WatchChecks(this);
            report = new WatchReport(o, this, ci, mz.given());
            report.neonHint(ci.isNeon());
            if (o.dryRun()) {
                return report.plan();
            }
            report.start();
            try (WatchMetrics metrics = WatchMetrics.serve(o, metricsBind, metricsPort, report)) {
                return loop(ci, metrics);
            }
        } finally {
            done.countDown();
        }
    }

    private void requireOptions() {
        Sql.requireName("publication", publication);
        Sql.requireName("role", role);
        Sql.requireName("source", source);
        schemas.forEach(s -> Sql.requireName("schema", s));
        Durations.requirePositive("--interval", interval, "10m");
        Durations.requirePositive("--for", forDuration, "1h");
        if (ticks != null && ticks < 1 || once && ticks != null && ticks != 1) {
            throw Fail.usage("--ticks must be 1 or more (and 1 with --once)", "e.g. --ticks 10, or --once");
        }
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            throw Fail.usage("--metrics-port " + metricsPort + " is not a port", "e.g. --metrics-port 9187 (0: any free port)");
        }
        WatchChecks.categories(failOn);
    }

    /** The upstream's reads, in order (the slots' query follows). */
    List<String> upstreamQueries() {
        List<String> q = new ArrayList<>(List.of(String.format(STATE, Sql.literal(publication), Sql.literal(role)),
                String.format(PUBLISHED, Sql.literal(publication), Sql.literal(role))));
        if (allInSchema) {
            String in = schemas.isEmpty() ? String.format(PUBLISHED_SCHEMAS, Sql.literal(publication))
                    : String.join(", ", schemas.stream().map(Sql::literal).toList());
            q.add(String.format(UNPUBLISHED, Sql.literal(publication), in));
        }
        return q;
    }

    /** The ticks: until Ctrl-C, --ticks, --for, or a --fail-on problem; then the summary. */
    private int loop(ConnInfo ci, WatchMetrics metrics) throws Exception {
        Thread hook = new Thread(this::onSignal, "watch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        long deadline = forDuration == null ? Long.MAX_VALUE : System.nanoTime() + forDuration.toNanos();
        int last = once ? 1 : ticks == null ? Integer.MAX_VALUE : ticks;
        try {
            for (int n = 1; ; n++) {
                report.tick(n, neon.tick(o, ci, upstream(ci)), materialize());
                metrics.update(report);
                long left = deadline - System.nanoTime();
                if (report.failOnSeen(failOn) || n >= last || left <= 0
                        || stop.await(Math.min(interval.toNanos(), left), TimeUnit.NANOSECONDS)) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeSessions(true);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and waits for the summary
            }
        }
        return report.finish(failOn);
    }

    /** The shutdown hook (Ctrl-C, SIGTERM): stop, then wait until the summary is out. */
    private void onSignal() {
        stop();
        try {
            if (done.await(10, TimeUnit.SECONDS)) {
                PRINTED.await(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException ignored) {
            // the JVM is going away
        }
    }

    /** One tick upstream: connect (or reuse --keep-awake's session), read, heartbeat, close. A failure after the first tick is kept. */
    private WatchChecks.Side upstream(ConnInfo ci) {
        Pg db = null;
        try {
            db = kept != null ? kept : Pg.connect(ci, o);
            List<String> q = upstreamQueries();
            Map<String, Object> state = db.query(q.get(0)).get(0);
            report.neonHint(state.get("neon_endpoint") != null && !state.get("neon_endpoint").toString().isEmpty());
            List<Map<String, Object>> published = db.query(q.get(1));
            List<Map<String, Object>> unpublished = allInSchema ? db.query(q.get(2)) : List.of();
            List<Map<String, Object>> slots = checks.slots(db, state);
            List<Map<String, Object>> guardLog = checks.guardLog(db, state);
            String beat = heartbeat ? heartbeat(db) : null;
            if (keepAwake) {
                kept = db;
                db = null;
            }
            return checks.upstream(state, published, unpublished, slots, guardLog, beat);
        } catch (SQLException | Fail e) {
            closeSessions(false);
            if (e instanceof Fail f && f.exit == Exit.PERMISSION) {
                throw f;
            }
            return report.failed("upstream", e);
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    /** The heartbeat's LSN; a role that may not emit it stops the watch (exit 8). */
    private String heartbeat(Pg db) throws SQLException {
        try {
            return (String) db.value(HEARTBEAT);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw WatchChecks.heartbeatDenied(db.info.user, e);
            }
            throw e;
        }
    }

    /** One tick on Materialize (with --mz-url/MZ_URL): its session is kept between ticks and reopened after a failure. */
    private WatchChecks.Side materialize() {
        if (!mz.given()) {
            return null;
        }
        try {
            if (mzDb == null) {
                mzDb = Mz.connect(mz, o);
            }
            List<Map<String, Object>> rows = mzDb.query(String.format(WatchChecks.MZ_SOURCE, Sql.literal(source)));
            return checks.materialize(rows, checks.drift(mzDb), report.present(), report.lastLag());
        } catch (SQLException | Fail e) {
            mzDb = mzDb == null ? null : WatchChecks.closed(mzDb);
            return report.failed("materialize", e);
        }
    }

    /** Closes --keep-awake's upstream session (and Materialize's, with {@code all}). */
    private void closeSessions(boolean all) {
        kept = kept == null ? null : WatchChecks.closed(kept);
        mzDb = mzDb == null || !all ? mzDb : WatchChecks.closed(mzDb);
    }
}

/**
 * Watch's checks: a tick's rows turned into problems, each with the alias (or SQL) that fixes it. A problem's
 * key (kind, subject and, where it matters, its state) is what the next tick compares: the same key is the
 * same problem, however its figures moved.
 */
final class WatchChecks {
    /** One problem: what, where, its state (wal_status, a source's status), the detail and the fix. */
    record Problem(String kind, String subject, String state, String detail, String fix) {
        String key() {
            return kind + "|" + subject + (state.isEmpty() ? "" : "|" + state);
        }

        String category() {
            return CATEGORY.get(kind);
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", kind);
            m.put("category", category());
            m.put("subject", subject);
            if (!state.isEmpty()) {
                m.put("state", state);
            }
            m.put("detail", detail);
            m.put("fix", fix);
            return m;
        }
    }

    /** One side of a tick (upstream or Materialize): its problems and figures, or why it could not be read. */
    record Side(String target, boolean ok, String error, Map<String, Problem> problems, Map<String, Object> facts) {}

    /** Each kind of problem and the --fail-on category it belongs to, in the order they are shown. */
    static final Map<String, String> CATEGORY = new LinkedHashMap<>();

    static {
        CATEGORY.put("publication", "drift");
        CATEGORY.put("replica_identity", "drift");
        CATEGORY.put("unpublished_table", "drift");
        CATEGORY.put("grant", "drift");
        CATEGORY.put("schema_drift", "drift");
        CATEGORY.put("unguarded_table", "drift");
        CATEGORY.put("schema_change", "schema");
        CATEGORY.put("slot_inactive", "slot");
        CATEGORY.put("slot_wal_status", "slot");
        CATEGORY.put("neon_restore", "slot");
        CATEGORY.put("slot_snap_files", "slot");
        CATEGORY.put("retained_wal", "wal");
        CATEGORY.put("source_status", "source");
        CATEGORY.put("lag", "lag");
    }

    static final Set<String> MZ_KINDS = Set.of("source_status", "lag", "schema_drift");
    /** Events, not states: said once when seen, never "cleared" (they leave the window unsaid). */
    static final Set<String> EVENT_KINDS = Set.of("schema_change");

    /** With ./jbang guard installed and readable: the DDL it logged on published tables in the window (newest 100). */
    static final String GUARD_LOG = """
            SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, role_name, command_tag,
                   object_identity, verdict, change
            FROM neonmz_guard.ddl_log WHERE at > now() - interval '%d milliseconds'
            ORDER BY id DESC LIMIT 100""";
    /** A transaction that commits up to this long after its DDL is still seen by the next tick. */
    static final Duration GUARD_OVERLAP = Duration.ofMinutes(15);

    /** A numeric value as BigDecimal (PostgreSQL's numeric, Materialize's uint8 as text), or null. */
    static BigDecimal num(Object v) {
        return v == null ? null : v instanceof BigDecimal b ? b : new BigDecimal(v.toString().strip());
    }

    private final Watch w;
    /** The last tick's forecast of Neon's removal of slots (its files beyond each slot give the growth). */
    SnapForecast snap;
    /** When the guard's log was last read (System.nanoTime), 0 before the first read. */
    private long guardReadAt;

    WatchChecks(Watch w) {
        this.w = w;
    }

    /** --fail-on's words, checked: drift, slot, wal, source, lag, any. */
    static Set<String> categories(List<String> failOn) {
        Set<String> all = new LinkedHashSet<>(CATEGORY.values());
        for (String k : failOn) {
            if (!k.equals("any") && !all.contains(k)) {
                throw Fail.usage("--fail-on " + k + " is not a kind of problem", "give some of drift, slot, wal, source, "
                        + "lag, schema, or any (e.g. --fail-on drift,slot)");
            }
        }
        return failOn.contains("any") ? all : new LinkedHashSet<>(failOn);
    }

    private static void add(Map<String, Problem> p, String kind, String subject, String state, String detail, String fix) {
        Problem x = new Problem(kind, subject, state, detail, fix);
        p.putIfAbsent(x.key(), x);
    }

    /** The upstream's problems: the publication and role, each published table, --all-in-schema, the slots. */
    Side upstream(Map<String, Object> state, List<Map<String, Object>> published, List<Map<String, Object>> unpublished,
                  List<Map<String, Object>> slots, List<Map<String, Object>> guardLog, String heartbeatLsn) {
        Map<String, Problem> p = new LinkedHashMap<>();
        upstreamColumns.clear();
        for (Map<String, Object> t : published) {
            List<String> cols = new ArrayList<>();
            ((List<?>) t.getOrDefault("columns", List.of())).forEach(c -> cols.add(String.valueOf(c)));
            upstreamColumns.put(Sql.qualified((String) t.get("schema_name"), (String) t.get("table_name")), cols);
        }
        String pubOpt = w.publication.equals("mz_source") ? "" : " --publication " + Out.shellQuote(w.publication);
        if (!Boolean.TRUE.equals(state.get("publication_exists"))) {
            add(p, "publication", w.publication, "", "does not exist",
                    "./jbang publication --table …" + (pubOpt.isEmpty() ? "" : " --name " + Out.shellQuote(w.publication))
                            + " (guide A.2.2)");
        }
        boolean roleExists = Boolean.TRUE.equals(state.get("role_exists"));
        if (!roleExists) {
            add(p, "grant", "role " + w.role, "", "does not exist", "./jbang replication-role --role "
                    + Out.shellQuote(w.role) + " --password-out FILE, then ./jbang grants --role " + Out.shellQuote(w.role));
        }
        for (Map<String, Object> t : published) {
            tableProblems(p, t, roleExists, pubOpt);
        }
        for (Map<String, Object> t : unpublished) {
            String ref = Sql.qualified((String) t.get("schema_name"), (String) t.get("table_name"));
            String schema = Out.shellQuote((String) t.get("schema_name"));
            add(p, "unpublished_table", ref, "", "in schema " + t.get("schema_name") + " but not in publication "
                    + w.publication, "./jbang replica-identity --schema " + schema + " && ./jbang publication --schema "
                    + schema + (pubOpt.isEmpty() ? "" : " --name " + Out.shellQuote(w.publication))
                    + "; then, for a source that exists: ./jbang source --add-new-tables");
        }
        guardProblems(p, state, published, guardLog, pubOpt);
        boolean neon = state.get("neon_endpoint") != null && !state.get("neon_endpoint").toString().isEmpty();
        List<Map<String, Object>> slotFacts = new ArrayList<>();
        for (Map<String, Object> s : slots) {
            slotFacts.add(slotProblems(p, s, neon));
        }
        snapProblems(p);
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("wal_lsn", state.get("wal_lsn"));
        String[] lsn = String.valueOf(state.get("wal_lsn")).split("/");
        facts.put("wal_position", Long.parseLong(lsn[0], 16) << 32 | Long.parseLong(lsn[1], 16));
        facts.put("slots", slotFacts);
        if (neon) {
            facts.put("neon_endpoint", state.get("neon_endpoint"));
        }
        facts.put("snap_forecast", snap.json());
        facts.put("guard", state.get("guard_log") == null ? "absent" : guardLog != null ? "installed" : "unreadable");
        if (heartbeatLsn != null) {
            facts.put("heartbeat_lsn", heartbeatLsn);
        }
        return new Side("upstream", true, null, p, facts);
    }

    /** A published table: REPLICA IDENTITY FULL (A.2.1), the role's USAGE on its schema and SELECT on it (A.2.4). */
    private void tableProblems(Map<String, Problem> p, Map<String, Object> t, boolean roleExists, String pubOpt) {
        String schema = (String) t.get("schema_name");
        String ref = Sql.qualified(schema, (String) t.get("table_name"));
        String identity = switch (String.valueOf(t.get("identity"))) {
            case "f" -> "full";
            case "i" -> "index";
            case "n" -> "nothing";
            default -> "default";
        };
        if (!identity.equals("full")) {
            add(p, "replica_identity", ref, "", "REPLICA IDENTITY " + identity + ", not FULL (Materialize needs the "
                    + "whole old row of each UPDATE and DELETE)", "./jbang replica-identity --table " + Out.shellQuote(ref));
        }
        String grants = "./jbang grants --role " + Out.shellQuote(w.role) + " --schema " + Out.shellQuote(schema) + pubOpt;
        if (roleExists && !Boolean.TRUE.equals(t.get("usage"))) {
            add(p, "grant", "schema " + Sql.ident(schema), "", "role " + w.role + " lost USAGE on schema " + Sql.ident(schema),
                    grants);
        }
        if (roleExists && !Boolean.TRUE.equals(t.get("can_select"))) {
            add(p, "grant", ref, "", "role " + w.role + " lost SELECT on " + ref, grants);
        }
    }

    /**
     * The guard's query for this tick: the DDL logged since the last read (the first: in the last --interval), and
     * GUARD_OVERLAP more, for transactions that committed after the last read; what was seen already stays present.
     */
    String guardQuery(boolean first) {
        long ms = first ? w.interval.toMillis() : (System.nanoTime() - guardReadAt) / 1_000_000 + GUARD_OVERLAP.toMillis();
        return String.format(GUARD_LOG, ms);
    }

    /** The guard's log rows, oldest first; null when it is not installed (or not readable by this role). */
    List<Map<String, Object>> guardLog(Pg db, Map<String, Object> state) throws SQLException {
        if (!Boolean.TRUE.equals(state.get("guard_log"))) {
            return null;
        }
        List<Map<String, Object>> rows = new ArrayList<>(db.query(guardQuery(guardReadAt == 0)));
        guardReadAt = System.nanoTime();
        java.util.Collections.reverse(rows);
        return rows;
    }

    /** With the guard installed: a published table without its TRUNCATE trigger; each DDL it logged, once. */
    private void guardProblems(Map<String, Problem> p, Map<String, Object> state, List<Map<String, Object>> published,
                               List<Map<String, Object>> guardLog, String pubOpt) {
        if (state.get("guard_log") == null) {
            return;
        }
        for (Map<String, Object> t : published) {
            if (!Boolean.TRUE.equals(t.get("guarded")) && !"neonmz_guard".equals(t.get("schema_name"))) {
                String ref = Sql.qualified((String) t.get("schema_name"), (String) t.get("table_name"));
                add(p, "unguarded_table", ref, "", "published, but its TRUNCATE is not refused (published after ./jbang "
                        + "guard ran)", "./jbang guard" + pubOpt + " (with the options it was installed with, e.g. --strict)");
            }
        }
        for (Map<String, Object> r : guardLog == null ? List.<Map<String, Object>>of() : guardLog) {
            boolean breaks = "breaks".equals(r.get("verdict"));
            add(p, "schema_change", (String) r.get("object_identity"), "#" + r.get("id"), r.get("command_tag") + " by "
                    + r.get("role_name") + " at " + r.get("at") + ": " + r.get("change") + (breaks ? " (Materialize "
                    + "stops ingesting the table)" : " (safe for Materialize)"), breaks ? "./jbang monitor shows the "
                    + "table's error; ./jbang evolve --migration FILE checks the next migration before it runs, and gives "
                    + "the order that avoids a break" : "none needed; ./jbang evolve --migration FILE checks the next "
                    + "migration before it runs");
        }
    }

    /** The slots' query, then Neon's forecast (SnapForecast, shared with doctor): its growth is across ticks. */
    List<Map<String, Object>> slots(Pg db, Map<String, Object> state) throws SQLException {
        List<Map<String, Object>> rows = db.query(Watch.SLOTS);
        boolean neon = state.get("neon_endpoint") != null && !state.get("neon_endpoint").toString().isEmpty();
        snap = SnapForecast.read(db::query, w.snapLimit.maxSnapFiles, neon, snap);
        return rows;
    }

    /**
     * Neon's removal of slots: a slot near it (at or past the limit: state "due"; within 80% of it or a day) once,
     * with what hastens it; on Neon, the directory unlisted, once, while there are logical slots.
     */
    private void snapProblems(Map<String, Problem> p) {
        if (snap.error != null) {
            if (snap.neon && !snap.slots.isEmpty()) {   // off Neon nothing drops them: the error stays in the tick's facts
                add(p, "slot_snap_files", SnapForecast.SNAPDIR, "unlisted", snap.error + ": Neon's removal of slots "
                        + "cannot be forecast", "GRANT pg_monitor TO " + Sql.ident(snap.role) + " (on Neon: a role made "
                        + "through the Console, API or CLI is in neon_superuser)");
            }
            return;
        }
        List<String> hasten = snap.hasteners();
        for (SnapForecast.Slot s : snap.slots) {
            if (snap.near(s)) {
                add(p, "slot_snap_files", s.name(), s.dropped() ? "due" : "", snap.describe(s) + "; " + snap.basis()
                        + (hasten.isEmpty() ? "" : "; decoding now: " + String.join(", ", hasten)), "let its consumer "
                        + "catch up (./jbang monitor); stop decoders you do not need; if no one uses it: SELECT "
                        + "pg_drop_replication_slot(" + Sql.literal(s.name()) + ")");
            }
        }
    }

    /** A slot: inactive, wal_status unreserved or lost, more WAL retained than --max-retained; its figures. */
    private Map<String, Object> slotProblems(Map<String, Problem> p, Map<String, Object> s, boolean neon) {
        String name = (String) s.get("slot_name");
        BigDecimal retained = WatchChecks.num(s.get("retained_bytes"));
        String drop = "SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")";
        if (!Boolean.TRUE.equals(s.get("active"))) {
            add(p, "slot_inactive", name, "", "inactive (no consumer connected), keeping "
                    + (retained == null ? "no" : Out.bytes(retained)) + " of WAL" + (neon ? "; Neon drops it once its "
                    + ".snap files pass the limit (slot_snap_files)" : ""), "start its consumer (a Materialize source's slot is inactive while its "
                    + "cluster is down: ./jbang monitor); if no one uses it: " + drop);
        }
        String walStatus = (String) s.get("wal_status");
        if ("unreserved".equals(walStatus)) {
            add(p, "slot_wal_status", name, walStatus, "wal_status unreserved: past "
                    + "max_slot_wal_keep_size, its WAL goes at the next checkpoint", "let its consumer catch up now; if no "
                    + "one uses it: " + drop);
        } else if ("lost".equals(walStatus)) {
            add(p, "slot_wal_status", name, walStatus, "wal_status lost: the WAL it needs is gone "
                    + "(Materialize: \"slot overcompacted\")", drop + "; a Materialize source on it must be recreated "
                    + "(DROP SOURCE … CASCADE; ./jbang source)");
        }
        if (retained != null && retained.compareTo(BigDecimal.valueOf(w.maxRetained)) > 0) {
            add(p, "retained_wal", name, "", "retains " + Out.bytes(retained) + " of WAL (over --max-retained "
                    + Out.bytes(BigDecimal.valueOf(w.maxRetained)) + ")", "its consumer is behind or stopped (Materialize: "
                    + "./jbang monitor); on an idle database, a consumer that only acknowledges what it receives needs "
                    + "./jbang watch --heartbeat; if no one uses it: " + drop);
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("slot_name", name);
        f.put("slot_type", s.get("slot_type"));
        f.put("active", s.get("active"));
        f.put("wal_status", walStatus);
        f.put("retained_bytes", retained);
        f.put("unconfirmed_bytes", WatchChecks.num(s.get("unconfirmed_bytes")));
        return f;
    }

    /**
     * Materialize's problems: the source missing, an object stalled, failed or ceased (with the fix of its error),
     * lag over --max-lag that grows (raised when over and growing, kept while over, cleared when under).
     */
    Side materialize(List<Map<String, Object>> rows, Map<String, Mz.ColumnDrift> drift, Map<String, Problem> present,
                     BigDecimal lastLag) {
        Map<String, Problem> p = new LinkedHashMap<>();
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("source", w.source);
        Map<String, Object> src = rows.stream().filter(r -> Boolean.TRUE.equals(r.get("is_source"))).findFirst().orElse(null);
        if (src == null) {
            add(p, "source_status", w.source, "missing", "not found in Materialize",
                    "./jbang source (guide C.3); SHOW SOURCES lists the sources there are");
            return new Side("materialize", true, null, p, facts);
        }
        facts.put("status", src.get("status"));
        for (Map<String, Object> r : rows) {
            String status = String.valueOf(r.get("status"));
            // mz_source_statuses shows a stalled source's status and error on each of its subsources and tables too
            // (its view uses the parent's event then): one problem, the source's, not one more per table
            boolean parents = r != src && "stalled".equals(src.get("status")) && status.equals(src.get("status"))
                    && Objects.equals(r.get("error"), src.get("error"));
            if (!parents && Set.of("stalled", "failed", "ceased").contains(status)) {
                String error = r.get("error") == null ? "" : String.valueOf(r.get("error"));
                MzErrors.Known k = MzErrors.match(error);
                add(p, "source_status", String.valueOf(r.get("name")), status, status
                        + (error.isEmpty() ? "" : ": " + error), k != null ? k.fix()
                        : "./jbang monitor --source " + Out.shellQuote(w.source) + " (the error's fix)");
            }
        }
        schemaDrift(p, drift);
        BigDecimal lag = WatchChecks.num(src.get("offset_lag"));
        facts.put("lag_bytes", lag);
        Problem lagged = new Problem("lag", w.source, "", (lag == null ? "?" : Out.bytes(lag))
                + " behind (over --max-lag " + Out.bytes(BigDecimal.valueOf(w.maxLag)) + ") and growing",
                "a bigger cluster: ./jbang right-size; follow it: ./jbang monitor --source " + Out.shellQuote(w.source) + " --watch");
        if (lag != null && lag.compareTo(BigDecimal.valueOf(w.maxLag)) > 0
                && (present.containsKey(lagged.key()) || lastLag == null || lag.compareTo(lastLag) > 0)) {
            p.put(lagged.key(), lagged);
        }
        return new Side("materialize", true, null, p, facts);
    }

    /** Materialize (C.4's status query, narrowed): the source and what it feeds, their status, the source's lag. */
    static final String MZ_SOURCE = """
            WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = %s),
            objects AS (
              SELECT id FROM source_ids
              UNION SELECT d.object_id FROM mz_internal.mz_object_dependencies AS d
                      JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
                    WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
              UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)),
            stats AS (
              SELECT id, bool_and(snapshot_committed) AS snapshot_committed,
                     max(offset_known) AS offset_known, max(offset_committed) AS offset_committed
              FROM mz_internal.mz_source_statistics WHERE id IN (SELECT id FROM source_ids) GROUP BY id)
            SELECT st.name, st.type, st.status, st.error, source_ids.id IS NOT NULL AS is_source,
                   CASE WHEN stats.snapshot_committed
                        THEN stats.offset_known::numeric - stats.offset_committed::numeric END AS offset_lag
            FROM mz_internal.mz_source_statuses st
              JOIN objects ON objects.id = st.id
              LEFT JOIN source_ids ON source_ids.id = st.id
              LEFT JOIN stats ON stats.id = st.id
            ORDER BY source_ids.id IS NULL, st.name""";

    /** What the source ingests against this tick's upstream columns (doctor's query and comparison). */
    Map<String, Mz.ColumnDrift> drift(Mz mzDb) throws SQLException {
        return Doctor.schemaDrift(mzDb, w.source, upstreamColumns);
    }

    /** The published tables' columns upstream, from this tick's upstream read (schema drift compares them). */
    private final Map<String, List<String>> upstreamColumns = new LinkedHashMap<>();

    /**
     * Schema drift: an ingested table whose upstream columns are no longer what Materialize ingests: a column gone
     * upstream (Materialize stops the table at its next check) or one added upstream and not ingested (not excluded).
     */
    private void schemaDrift(Map<String, Problem> p, Map<String, Mz.ColumnDrift> drift) {
        String fix = "./jbang evolve --mz-url \"$MZ_URL\"" + (w.source.equals("mz_source") ? "" : " --source "
                + Out.shellQuote(w.source)) + " (the plan; --apply carries it out)";
        drift.forEach((ref, d) -> {
            List<String> gone = d.gone().stream().map(Sql::ident).toList();
            List<String> added = d.added().stream().map(Sql::ident).toList();
            if (!gone.isEmpty()) {
                add(p, "schema_drift", ref, "gone", "column(s) " + String.join(", ", gone) + " gone upstream: Materialize "
                        + "stops the table at its next check", fix);
            }
            if (!added.isEmpty()) {
                add(p, "schema_drift", ref, "not_ingested", "column(s) " + String.join(", ", added) + " added upstream, not "
                        + "ingested", fix);
            }
        });
    }

    /** --heartbeat refused: the role may not run pg_logical_emit_message (exit 8, with the GRANT). */
    static Fail heartbeatDenied(String user, SQLException e) {
        return new Fail(Exit.PERMISSION, "--heartbeat: role " + user + " may not run pg_logical_emit_message: "
                + e.getMessage(), "grant it (as a superuser): GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, "
                + "text, text, boolean) TO " + Sql.ident(user) + " (before PostgreSQL 17: (boolean, text, text)); or run "
                + "watch as a role that may, or without --heartbeat", e);
    }

    /** Closes a session whose failure has nothing left to report; null, for the caller's field. */
    static <T extends AutoCloseable> T closed(T session) {
        try {
            session.close();
        } catch (Exception ignored) {
            // a broken session: nothing left to report
        }
        return null;
    }

    /** Sizes as PostgreSQL's memory settings take them: 100 (bytes), 64kB, 512MB, 1GB, 1.5TB (1024-based). */
    static final class Size implements ITypeConverter<Long> {
        private static final Pattern FORM =
                Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*(b|bytes|kb|mb|gb|tb)?\\s*");

        @Override
        public Long convert(String value) {
            Matcher m = FORM.matcher(value);
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a size (e.g. 512MB, 1GB, 64kB)");
            }
            String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
            int shift = switch (unit) {
                case "kb" -> 10;
                case "mb" -> 20;
                case "gb" -> 30;
                case "tb" -> 40;
                default -> 0;
            };
            return new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(1L << shift)).longValue();
        }
    }
}

/**
 * Watch's memory and output: the problems of the last good tick of each side (the baseline), what appeared
 * and cleared, lost and regained connections, the lines (one per change), the --json line per tick, the
 * summary and --fail-on's verdict. The metrics are read from here.
 */
final class WatchReport {
    private final Out o;
    private final Watch w;
    private final ConnInfo ci;
    final boolean withMz;
    private boolean neonHinted;
    int ticks;
    Instant lastTickAt;
    /** Each side's problems at its last good tick. */
    private final Map<String, Map<String, WatchChecks.Problem>> baseline = new LinkedHashMap<>();
    private Map<String, WatchChecks.Problem> present = new LinkedHashMap<>();
    /** Each side's figures at its last good tick (slots, WAL position, the source's lag). */
    final Map<String, Map<String, Object>> facts = new HashMap<>();
    final Map<String, Boolean> up = new LinkedHashMap<>();
    final Map<String, Long> appeared = new LinkedHashMap<>();
    final Map<String, Long> failures = new LinkedHashMap<>();
    private final Map<String, Integer> down = new HashMap<>();
    /** Failed ticks inside Neon's maintenance window, and the sides down since one. */
    final Map<String, Long> expected = new LinkedHashMap<>();
    private final Set<String> downInWindow = new HashSet<>();
    private final Set<String> everOk = new HashSet<>();
    private final List<WatchChecks.Problem> hits = new ArrayList<>();
    long cleared;
    long reconnects;
    long heartbeats;
    private BigDecimal lastLag;

    WatchReport(Out o, Watch w, ConnInfo ci, boolean withMz) {
        this.o = o;
        this.w = w;
        this.ci = ci;
        this.withMz = withMz;
    }

    boolean repeating() {
        return !w.once && (w.ticks == null || w.ticks > 1);
    }

    String until() {
        return w.once ? "" : w.ticks != null ? " for " + w.ticks + " ticks" + (w.forDuration == null ? "" : " or "
                + Durations.show(w.forDuration)) : w.forDuration != null ? " for " + Durations.show(w.forDuration) : " until Ctrl-C";
    }

    /** On Neon, a tick more often than the suspend timeout keeps the compute awake: said once. */
    void neonHint(boolean neon) {
        if (neon && !neonHinted && w.interval.compareTo(Watch.NEON_SUSPEND) < 0 && repeating()) {
            neonHinted = true;
            o.warn("each tick connects, which wakes a suspended Neon compute and restarts its suspend timer (5m by "
                    + "default): with --interval " + Durations.show(w.interval) + " it never scales to zero"
                    + (w.keepAwake ? " (nor with --keep-awake)" : "") + "; if that matters, use --interval 10m or longer "
                    + "(while a Materialize source replicates, the compute stays awake anyway)");
        }
    }

    /** --dry-run: the statements of one tick, in order, with their values in place; nothing is contacted. */
    int plan() throws java.sql.SQLException {
        o.line("-- dry run: nothing was contacted. Each tick opens a connection upstream, runs these, and "
                + (w.keepAwake ? "keeps it open (--keep-awake):" : "closes it:"));
        w.upstreamQueries().forEach(o::statement);
        o.statement(Watch.SLOTS);
        List.of(SnapForecast.SETTINGS, SnapForecast.FILES, SnapForecast.SLOTS).forEach(o::statement);
        if (w.heartbeat) {
            o.statement(Watch.HEARTBEAT);
        }
        o.line("-- and, when ./jbang guard is installed (guard_log above), its log (the first tick: the last --interval):");
        o.statement(String.format(WatchChecks.GUARD_LOG, w.interval.toMillis()));
        w.neon.plan(o);
        if (withMz) {
            o.line("-- and on Materialize (the session stays open between ticks):");
            try (Mz db = Mz.connect(w.mz, o)) {
                db.planned(String.format(WatchChecks.MZ_SOURCE, Sql.literal(w.source)));
                db.planned(Doctor.inline(Doctor.MZ_INGESTED, w.source));
            }
        }
        o.line("watch: would tick %s%s; changes nothing%s", w.once ? "once" : "every " + Durations.show(w.interval), until(),
                w.metricsPort == null ? "" : "; no metrics served under --dry-run");
        return Exit.OK;
    }

    /** The header of a repeated watch: what, where, how often. */
    void start() {
        w.neon.on();   // a Neon option without a project fails here, before the first tick
        if (!withMz && w.failOn.stream().anyMatch(k -> k.equals("source") || k.equals("lag"))) {
            o.warn("--fail-on source/lag needs Materialize (--mz-url or MZ_URL); without it they are never seen");
        }
        o.put("database", ci.dbname);
        o.put("interval_ms", w.interval.toMillis());
        if (repeating()) {
            o.line("watch: %s at %s:%d every %s%s (publication %s, role %s%s): a line per change", ci.dbname, ci.host(),
                    ci.port(), Durations.show(w.interval), until(), w.publication, w.role,
                    withMz ? "; Materialize source " + w.source : "");
        }
    }

    /** Whether the Neon API is read (then neon_restore is a kind the metrics show). */
    boolean neonApi() {
        return w.neon.on();
    }

    Map<String, WatchChecks.Problem> present() {
        return present;
    }

    BigDecimal lastLag() {
        return lastLag;
    }

    /** A side that could not be read: fatal before its first good tick (a wrong URL fails at once), else kept. */
    WatchChecks.Side failed(String target, Exception e) {
        Fail f = Cli.asFail(e);
        if (!everOk.contains(target)) {
            throw f != null ? f : new IllegalStateException(e);
        }
        return new WatchChecks.Side(target, false, f != null ? f.getMessage() : String.valueOf(e.getMessage()), null, null);
    }

    /** One tick: each side's news (lost, back), the problems compared with the baseline, the --json line. */
    void tick(int n, WatchChecks.Side upstream, WatchChecks.Side mz) {
        ticks = n;
        lastTickAt = Instant.now();
        String ts = lastTickAt.truncatedTo(ChronoUnit.SECONDS).toString();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("tick", n);
        json.put("at", ts);
        for (WatchChecks.Side s : mz == null ? List.of(upstream) : List.of(upstream, mz)) {
            json.put(s.target(), side(ts, s));
        }
        Map<String, WatchChecks.Problem> now = new LinkedHashMap<>();
        baseline.values().forEach(now::putAll);
        List<Map<String, Object>> added = new ArrayList<>();
        List<Map<String, Object>> gone = new ArrayList<>();
        for (WatchChecks.Problem p : now.values()) {
            if (!present.containsKey(p.key())) {
                appeared.merge(p.kind(), 1L, Long::sum);
                line(ts, "new", p.kind(), p.subject() + ": " + p.detail());
                o.line(" ".repeat(ts.length() + 2) + "fix: " + p.fix());
                added.add(p.json());
            }
        }
        for (WatchChecks.Problem p : present.values()) {
            if (!now.containsKey(p.key()) && !WatchChecks.EVENT_KINDS.contains(p.kind())) {
                cleared++;
                line(ts, "cleared", p.kind(), p.subject() + (p.state().isEmpty() ? "" : " (" + p.state() + ")"));
                gone.add(p.json());
            }
        }
        present = now;
        if (n == 1 && repeating()) {
            o.line("watch: baseline: %s; from now on a line per change", now.isEmpty() ? "no problems"
                    : plural(now.size(), "problem") + " (above)");
        }
        json.put("new", added);
        json.put("cleared", gone);
        json.put("problems", now.values().stream().map(WatchChecks.Problem::json).toList());
        o.jsonLine(json);
    }

    /** A side's part of the tick: kept as the baseline when read, else the outage said once. */
    private Map<String, Object> side(String ts, WatchChecks.Side s) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("ok", s.ok());
        up.put(s.target(), s.ok());
        if (s.ok()) {
            Integer lost = down.remove(s.target());
            if (lost != null) {
                reconnects++;
                line(ts, "back", s.target(), "reconnected after " + plural(lost, "failed tick")
                        + (downInWindow.remove(s.target()) ? " (inside Neon's maintenance window)" : "") + "; the baseline is kept");
            }
            everOk.add(s.target());
            baseline.put(s.target(), s.problems());
            facts.put(s.target(), s.facts());
            if (s.facts().containsKey("heartbeat_lsn")) {
                heartbeats++;
            }
            if (s.target().equals("materialize")) {
                lastLag = (BigDecimal) s.facts().get("lag_bytes");
            }
            j.putAll(s.facts());
        } else {
            failures.merge(s.target(), 1L, Long::sum);
            String window = s.target().equals("upstream") ? w.neon.inWindow(lastTickAt) : null;
            if (window != null) {
                expected.merge(s.target(), 1L, Long::sum);
                downInWindow.add(s.target());
                j.put("maintenance_window", window);
            }
            if (!down.containsKey(s.target())) {
                line(ts, "lost", s.target(), s.error().lines().findFirst().orElse("") + (window == null ? ""
                        : "; inside Neon's maintenance window (" + window + "): expected, not a fault") + "; retrying every "
                        + Durations.show(w.interval) + ", the baseline is kept");
            }
            down.merge(s.target(), 1, Integer::sum);
            j.put("error", s.error());
        }
        return j;
    }

    private void line(String ts, String what, String kind, String text) {
        o.line(String.format("%s  %-7s  %-17s  %s", ts, what, kind, text));
    }

    static String plural(long n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }

    /** --fail-on: the problems present now of those kinds (they stop the watch after this tick). */
    boolean failOnSeen(List<String> failOn) {
        hits.clear();
        if (!failOn.isEmpty()) {
            Set<String> cats = WatchChecks.categories(failOn);
            present.values().stream().filter(p -> cats.contains(p.category())).forEach(hits::add);
        }
        return !hits.isEmpty();
    }

    /** The summary line and the --json result; exit 17 when --fail-on saw its problems. */
    int finish(List<String> failOn) {
        Map<String, Long> byKind = new LinkedHashMap<>();
        WatchChecks.CATEGORY.keySet().forEach(k -> present.values().stream().filter(p -> p.kind().equals(k))
                .forEach(p -> byKind.merge(k, 1L, Long::sum)));
        StringBuilder b = new StringBuilder("watch: " + plural(ticks, "tick") + ": ");
        b.append(present.isEmpty() ? "no problems" : plural(present.size(), "problem") + " now (" + String.join(", ",
                byKind.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()) + ")");
        long appearedAll = appeared.values().stream().mapToLong(Long::longValue).sum();
        if (ticks > 1) {
            b.append("; ").append(appearedAll).append(" appeared, ").append(cleared).append(" cleared");
        }
        long failed = failures.values().stream().mapToLong(Long::longValue).sum();
        if (failed > 0) {
            long inWindow = expected.values().stream().mapToLong(Long::longValue).sum();
            b.append("; ").append(plural(failed, "failed tick")).append(inWindow == 0 ? "" : " (" + inWindow
                    + " inside Neon's maintenance window)").append(", ").append(plural(reconnects, "reconnect"));
        }
        if (heartbeats > 0) {
            b.append("; ").append(plural(heartbeats, "heartbeat"));
        }
        o.line(b.toString());
        o.put("ticks", ticks);
        o.put("problems", present.values().stream().map(WatchChecks.Problem::json).toList());
        o.put("appeared", appeared);
        o.put("cleared", cleared);
        o.put("failed_ticks", failures);
        o.put("reconnects", reconnects);
        if (!expected.isEmpty()) {
            o.put("failed_ticks_in_maintenance_window", expected);
        }
        o.put("heartbeats", heartbeats);
        if (hits.isEmpty()) {
            return Exit.OK;
        }
        o.put("fail_on", hits.stream().map(WatchChecks.Problem::json).toList());
        throw new Fail(Exit.DRIFT, "--fail-on " + String.join(",", failOn) + ": " + String.join(", ",
                hits.stream().map(p -> p.kind() + " " + p.subject()).toList()) + " (tick " + ticks + ")",
                "apply each problem's fix (above, or in --json), then run again; or leave that kind out of --fail-on");
    }
}

/**
 * Prometheus metrics over HTTP (the JDK's com.sun.net.httpserver; text exposition format 0.0.4): the text is
 * made once per tick from {@link WatchReport} and served as it is, so a scrape never waits for a tick.
 */
final class WatchMetrics implements AutoCloseable {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService executor;
    private volatile String text = "";
    final String url;

    private WatchMetrics(HttpServer server, ExecutorService executor, String url) {
        this.server = server;
        this.executor = executor;
        this.url = url;
    }

    /** Serves /metrics on bind:port (nothing when port is null); a port in use is a usage error. */
    static WatchMetrics serve(Out o, String bind, Integer port, WatchReport r) {
        if (port == null) {
            return new WatchMetrics(null, null, null);
        }
        ExecutorService ex = Executors.newSingleThreadExecutor(t -> {
            Thread th = new Thread(t, "watch-metrics");
            th.setDaemon(true);
            return th;
        });
        try {
            HttpServer s = HttpServer.create(
                    new InetSocketAddress(bind, port), 0);
            s.setExecutor(ex);
            String host = bind.contains(":") ? "[" + bind + "]" : bind;
            WatchMetrics m = new WatchMetrics(s, ex, "http://" + host + ":" + s.getAddress().getPort() + "/metrics");
            s.createContext("/", m::handle);
            m.update(r);
            s.start();
            o.put("metrics_url", m.url);
            o.line("watch: metrics on %s", m.url);
            return m;
        } catch (IOException e) {
            ex.shutdownNow();
            throw Fail.usage("cannot serve metrics on " + bind + ":" + port + ": " + e.getMessage(),
                    "choose another --metrics-port (0: any free port) or --metrics-bind");
        }
    }

    void update(WatchReport r) {
        if (server != null) {
            text = render(r);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try {
            String method = ex.getRequestMethod();
            if (!ex.getRequestURI().getPath().equals("/metrics")) {
                ex.sendResponseHeaders(404, -1);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, -1);
            } else {
                byte[] body = text.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
                ex.sendResponseHeaders(200, method.equals("HEAD") ? -1 : body.length);
                if (method.equals("GET")) {
                    ex.getResponseBody().write(body);
                }
            }
        } finally {
            ex.close();
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    /** The exposition text: each family's HELP and TYPE, then its samples. */
    static String render(WatchReport r) {
        StringBuilder b = new StringBuilder();
        family(b, "up", "gauge", "1 when the last tick read the target (upstream, materialize), else 0.");
        r.up.forEach((t, ok) -> sample(b, "up", ok ? 1 : 0, "target", t));
        family(b, "ticks_total", "counter", "Ticks run.");
        sample(b, "ticks_total", r.ticks);
        family(b, "tick_failures_total", "counter", "Ticks whose target could not be read (connection lost, query error).");
        r.failures.forEach((t, n) -> sample(b, "tick_failures_total", n, "target", t));
        family(b, "last_tick_timestamp_seconds", "gauge", "When the last tick ran (Unix time).");
        if (r.lastTickAt != null) {
            sample(b, "last_tick_timestamp_seconds", r.lastTickAt.toEpochMilli() / 1000.0);
        }
        upstream(b, r.facts.get("upstream"));
        materialize(b, r.facts.get("materialize"));
        Map<String, Long> now = new LinkedHashMap<>();
        r.present().values().forEach(p -> now.merge(p.kind(), 1L, Long::sum));
        List<String> kinds = WatchChecks.CATEGORY.keySet().stream()
                .filter(k -> (r.withMz || !WatchChecks.MZ_KINDS.contains(k)) && (!k.equals("neon_restore") || r.neonApi())).toList();
        family(b, "problems", "gauge", "Problems present now, by kind.");
        kinds.forEach(k -> sample(b, "problems", now.getOrDefault(k, 0L), "kind", k));
        family(b, "drifts_total", "counter", "Problems that appeared (the first tick's included), by kind.");
        kinds.forEach(k -> sample(b, "drifts_total", r.appeared.getOrDefault(k, 0L), "kind", k));
        family(b, "check_ok", "gauge", "1 when the check finds no problem now, 0 when it does.");
        kinds.forEach(k -> sample(b, "check_ok", now.containsKey(k) ? 0 : 1, "check", k));
        family(b, "heartbeats_total", "counter", "Heartbeat messages written (--heartbeat).");
        sample(b, "heartbeats_total", r.heartbeats);
        return b.toString();
    }

    @SuppressWarnings("unchecked")
    private static void upstream(StringBuilder b, Map<String, Object> f) {
        List<Map<String, Object>> slots = f == null ? List.of() : (List<Map<String, Object>>) f.get("slots");
        family(b, "wal_position_bytes", "gauge", "pg_current_wal_lsn() as bytes from 0/0 (its rate is the WAL written).");
        if (f != null) {
            sample(b, "wal_position_bytes", f.get("wal_position"));
        }
        family(b, "slot_retained_wal_bytes", "gauge", "WAL a slot keeps: pg_current_wal_lsn() - restart_lsn.");
        slots.forEach(s -> sample(b, "slot_retained_wal_bytes", s.get("retained_bytes"), "slot", (String) s.get("slot_name")));
        family(b, "slot_unconfirmed_wal_bytes", "gauge", "WAL its consumer has not confirmed: pg_current_wal_lsn() - "
                + "confirmed_flush_lsn.");
        slots.forEach(s -> sample(b, "slot_unconfirmed_wal_bytes", s.get("unconfirmed_bytes"), "slot", (String) s.get("slot_name")));
        family(b, "slot_active", "gauge", "1 when a consumer is connected to the slot.");
        slots.forEach(s -> sample(b, "slot_active", Boolean.TRUE.equals(s.get("active")) ? 1 : 0, "slot", (String) s.get("slot_name")));
        snapshots(b, f == null ? null : (Map<String, Object>) f.get("snap_forecast"));
    }

    /** Neon's removal of slots, forecast: the files, the limit, each logical slot's files beyond it and its ETA. */
    @SuppressWarnings("unchecked")
    private static void snapshots(StringBuilder b, Map<String, Object> f) {
        List<Map<String, Object>> slots = f == null ? List.of() : (List<Map<String, Object>>) f.get("slots");
        family(b, "snap_files", "gauge", "Files in pg_logical/snapshots, as Neon's monitor counts them (absent when "
                + "this role cannot list them).");
        sample(b, "snap_files", f == null ? null : f.get("files"));
        family(b, "snap_files_limit", "gauge", "The limit of .snap files the forecast uses (neon.logical_replication_"
                + "max_snap_files, --neon-max-snap-files, or Neon's default).");
        sample(b, "snap_files_limit", f == null ? null : f.get("limit"));
        family(b, "slot_snap_files_beyond", "gauge", "Snapshot files newer than the slot's restart_lsn: Neon drops the "
                + "slot once this reaches the limit.");
        slots.forEach(s -> sample(b, "slot_snap_files_beyond", f.get("files") == null ? null : s.get("files_beyond"),
                "slot", (String) s.get("slot_name")));
        family(b, "slot_neon_drop_eta_seconds", "gauge", "Seconds until Neon would drop the slot at the present growth "
                + "(0: at its next check; absent when not growing).");
        slots.forEach(s -> sample(b, "slot_neon_drop_eta_seconds", s.get("eta_seconds"), "slot", (String) s.get("slot_name")));
    }

    private static void materialize(StringBuilder b, Map<String, Object> f) {
        if (f == null) {
            return;
        }
        family(b, "source_lag_bytes", "gauge", "The source's lag: offset_known - offset_committed (LSN bytes).");
        sample(b, "source_lag_bytes", f.get("lag_bytes"), "source", (String) f.get("source"));
        family(b, "source_status", "gauge", "1 for the source's status (mz_source_statuses).");
        if (f.get("status") != null) {
            sample(b, "source_status", 1, "source", (String) f.get("source"), "status", String.valueOf(f.get("status")));
        }
    }

    private static void family(StringBuilder b, String name, String type, String help) {
        b.append("# HELP neonmz_watch_").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n"))
                .append("\n# TYPE neonmz_watch_").append(name).append(' ').append(type).append('\n');
    }

    /** One sample; no sample for a null value (a physical slot has no confirmed position). */
    private static void sample(StringBuilder b, String name, Object value, String... labels) {
        if (value == null) {
            return;
        }
        b.append("neonmz_watch_").append(name);
        if (labels.length > 0) {
            b.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                b.append(i == 0 ? "" : ",").append(labels[i]).append("=\"").append(label(labels[i + 1])).append('"');
            }
            b.append('}');
        }
        String v = value instanceof BigDecimal d ? d.toPlainString() : value instanceof Double d ? String.format(
                Locale.ROOT, "%.3f", d) : String.valueOf(value);
        b.append(' ').append(v).append('\n');
    }

    /** A label value as the format escapes it: backslash, double quote and newline. */
    static String label(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}

/**
 * Issue #20's Neon events, through the Neon API when a project ({@code --project} or $NEON_PROJECT_ID) and a key
 * ($NEON_API_KEY or --api-key-file) are there. The project's maintenance window ({@code settings.maintenance_window},
 * read at the first tick and then hourly): a lost connection inside it is said to be expected. A restore or reset of
 * the watched branch (--branch, else the branch of the endpoint watched: neon.endpoint_id or the host, else the
 * project's default branch) deletes the branch's replication slots (reference/neon.md §3): each tick lists the
 * project's operations since the last one seen (one request; the first tick looks back {@link #LOOKBACK}); when one
 * on the branch is new, the branch is read again for its {@code last_reset_at} (SPEC Branch: "when the branch was
 * last reset"; the spec's OperationAction has no restore or reset action, so the operations alone cannot say it).
 * A reset after which a slot the watch saw is gone, or no {@code materialize_%} slot is left, is the problem
 * {@code neon_restore}, fixed by {@code ./jbang rebuild}.
 */
final class WatchNeon {
    static final Duration LOOKBACK = Duration.ofDays(7);
    static final Duration SETTINGS_EVERY = Duration.ofHours(1);
    /** Operations read a tick at most (pages of NEONMZ_API_PAGE, default 100). */
    static final int PAGES = 5;
    static final String REBUILD = "./jbang rebuild --mz-url \"$MZ_URL\"";

    @Mixin NeonOptions opts;

    private final Instant started = Instant.now();
    private NeonApi api;
    private String projectId;
    private String projectName;
    private Instant settingsAt;
    private volatile NeonApi.MaintenanceWindow window;
    private JsonObject branch;
    private Instant since;
    private final Set<String> seenOps = new HashSet<>();
    private final List<JsonObject> branchOps = new ArrayList<>();
    private Instant resetAt;
    /** Each logical slot the watch saw upstream, and when first. */
    private final Map<String, Instant> slotsSeen = new LinkedHashMap<>();
    private String trouble;

    /** On when a project and a key are there; a Neon option given without a project is a usage error. */
    boolean on() {
        if (opts.project() == null) {
            if (opts.givenOption() != null) {
                throw Fail.usage(opts.givenOption() + " needs a Neon project", "pass --project ID|NAME (or set NEON_PROJECT_ID)");
            }
            return false;
        }
        return opts.apiKeyFile != null || Cli.ctx().env("NEON_API_KEY") != null || opts.givenOption() != null;
    }

    /** The window's text when {@code t} is inside it, else null. */
    String inWindow(Instant t) {
        NeonApi.MaintenanceWindow w = window;
        return w != null && w.contains(t) ? w.describe() : null;
    }

    /** --dry-run: the requests a tick makes. */
    void plan(Out o) {
        if (on()) {
            String base = opts.apiHost() + "/projects/" + opts.project();
            o.line("-- and on the Neon API (GET only): %s (settings.maintenance_window; the first tick, then hourly), "
                    + "%s/branches and %s/endpoints (the first tick), each tick %s/operations?limit=100 (until the last "
                    + "one seen), and %s/branches again when one on the branch is new (its last_reset_at)", base, base, base, base, base);
        }
    }

    /** One tick's Neon events, added to the upstream's side (a failed side is left as it is). */
    WatchChecks.Side tick(Out o, ConnInfo ci, WatchChecks.Side up) {
        if (!on()) {
            return up;
        }
        try {
            NeonApi a = client(o);
            Instant now = Instant.now();
            if (settingsAt == null || Duration.between(settingsAt, now).compareTo(SETTINGS_EVERY) >= 0) {
                JsonObject p = a.resolveProject(opts.project());
                projectId = NeonApi.str(p, "id");
                projectName = NeonApi.str(p, "name");
                window = NeonApi.MaintenanceWindow.of(p.has("settings") ? p : a.getProject(projectId));
                settingsAt = now;
            }
            if (branch == null && up.ok()) {
                branch = branchOf(a, ci, (String) up.facts().get("neon_endpoint"));
                o.line("watch: Neon project %s, branch %s (%s): maintenance window %s; restores and resets from the "
                        + "operations list", projectName, NeonApi.str(branch, "name"), NeonApi.str(branch, "id"),
                        window == null ? "none set" : window.describe());
            }
            if (branch != null) {
                operations(a, now);
            }
            trouble = null;
        } catch (Fail f) {
            if (f.exit == Exit.USAGE || f.exit == Exit.AUTH) {
                throw f;
            }
            if (!f.getMessage().equals(trouble)) {
                trouble = f.getMessage();
                o.warn("Neon API: " + trouble + "; restores and the maintenance window are not read until it answers");
            }
        }
        if (up.ok() && branch != null) {
            restored(up);
        }
        return up;
    }

    private NeonApi client(Out o) {
        if (api == null) {
            api = opts.client(o, Duration.ofMinutes(1)).rateLimit(new NeonApi.RateLimit(600, 30));
            return api;
        }
        return api.again(o, Duration.ofMinutes(1));
    }

    /** --branch; else the endpoint's branch (neon.endpoint_id, else the host's first label); else the default branch. */
    private JsonObject branchOf(NeonApi a, ConnInfo ci, String endpoint) {
        if (opts.branch != null) {
            return a.resolveBranch(projectId, opts.branch);
        }
        String host = ci.host() == null ? "" : ci.host().split("\\.")[0].replaceFirst("-pooler$", "");
        for (JsonObject e : a.listEndpoints(projectId, null)) {
            if (NeonApi.str(e, "id") != null && (NeonApi.str(e, "id").equals(endpoint) || NeonApi.str(e, "id").equals(host))) {
                return a.resolveBranch(projectId, NeonApi.str(e, "branch_id"));
            }
        }
        return a.resolveBranch(projectId, null);
    }

    /** The operations since the last one seen; a new one on the branch (or the first tick) reads its last_reset_at. */
    private void operations(NeonApi a, Instant now) {
        boolean first = since == null;
        List<JsonObject> ops = a.listOperations(projectId, first ? now.minus(LOOKBACK) : since, PAGES);
        boolean onBranch = first;
        for (JsonObject op : ops) {
            Instant at = NeonApi.instant(NeonApi.str(op, "created_at"));
            if (seenOps.add(NeonApi.str(op, "id")) && NeonApi.str(branch, "id").equals(NeonApi.str(op, "branch_id"))) {
                onBranch = true;
                branchOps.add(op);
            }
            since = at != null && (since == null || at.isAfter(since)) ? at : since;
        }
        since = since == null ? now.minus(LOOKBACK) : since;
        if (branchOps.size() > 100) {
            branchOps.subList(0, branchOps.size() - 100).clear();
        }
        if (onBranch) {
            branch = a.resolveBranch(projectId, NeonApi.str(branch, "id"));
            Instant reset = NeonApi.instant(NeonApi.str(branch, "last_reset_at"));
            resetAt = reset != null && reset.isAfter(now.minus(LOOKBACK)) ? reset : null;
        }
    }

    /** neon_restore: a reset after which a slot seen before is gone, or no materialize_% slot is left. */
    private void restored(WatchChecks.Side up) {
        Set<String> slots = new LinkedHashSet<>();
        for (Object s : (List<?>) up.facts().getOrDefault("slots", List.of())) {
            Map<?, ?> m = (Map<?, ?>) s;
            if ("logical".equals(m.get("slot_type"))) {
                slots.add(String.valueOf(m.get("slot_name")));
                slotsSeen.putIfAbsent(String.valueOf(m.get("slot_name")), Instant.now());
            }
        }
        if (resetAt == null) {
            return;
        }
        List<String> gone = slotsSeen.entrySet().stream().filter(e -> e.getValue().isBefore(resetAt)
                && !slots.contains(e.getKey())).map(Map.Entry::getKey).toList();
        boolean renewed = slotsSeen.entrySet().stream().anyMatch(e -> e.getValue().isAfter(resetAt)
                && slots.contains(e.getKey()) && e.getKey().startsWith("materialize_"));
        boolean none = slots.stream().noneMatch(s -> s.startsWith("materialize_"));
        boolean watchedBefore = started.isBefore(resetAt);
        if (watchedBefore ? gone.isEmpty() || renewed : !none) {
            return;
        }
        String at = resetAt.truncatedTo(ChronoUnit.SECONDS).toString();
        List<String> byOp = branchOps.stream().filter(op -> {
            Instant t = NeonApi.instant(NeonApi.str(op, "created_at"));
            return t != null && Duration.between(t, resetAt).abs().compareTo(Duration.ofMinutes(5)) <= 0;
        }).map(op -> NeonApi.str(op, "action") + " " + NeonApi.str(op, "id")).collect(java.util.stream.Collectors.toList());
        java.util.Collections.reverse(byOp);   // listed newest first: said in the order they ran
        String what = "reset or restored at " + at + (byOp.isEmpty() ? "" : " (operations " + String.join(", ", byOp) + ")")
                + "; " + (gone.isEmpty() ? "no materialize_% slot is left" : "slot " + String.join(", ", gone)
                + (gone.size() == 1 ? " is" : " are") + " gone, removed by it") + ": a restore deletes the branch's replication slots";
        WatchChecks.Problem p = new WatchChecks.Problem("neon_restore", "branch " + NeonApi.str(branch, "name"), at, what,
                REBUILD + " (a new slot and source: the old slot is gone)");
        up.problems().put(p.key(), p);
    }
}
