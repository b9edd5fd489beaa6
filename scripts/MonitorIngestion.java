///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step C.4: monitor a source's ingestion: status, snapshot progress, lag, hydration and the upstream slot's WAL; --watch, --until-snapshotted.

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzErrors;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step C.4 — "Monitor the ingestion status". The docs give two queries, both starting from the
 * source and the objects it feeds (mz_object_dependencies): the status of each (mz_source_statuses;
 * each should be {@code running}; on {@code stalled} or {@code failed}, read {@code error}) and whether
 * each finished its snapshot (mz_source_statistics.snapshot_committed; "wait until every row is t").
 * Snapshot progress is {@code round(100.0 * snapshot_records_staged / NULLIF(snapshot_records_known, 0), 2)}
 * while not committed; afterwards the lag is {@code offset_known - offset_committed} (LSN bytes for
 * Postgres). Hydration is mz_hydration_statuses. Upstream, the slot named in mz_postgres_sources shows how
 * much WAL the source holds back: {@code pg_current_wal_lsn() - confirmed_flush_lsn} (C.5's check).
 *
 * <p>Each tick sends exactly one query to Materialize ({@link #TICK}, the docs' queries joined) and, with
 * an upstream URL, one to Postgres ({@link #SLOT}).
 */
@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = {"Guide step C.4: status, snapshot progress, lag and hydration of a source and of every "
                + "subsource/table it feeds, and (with --pg-url or DATABASE_URL) the upstream slot's retained WAL. "
                + "Once, or every --interval with --watch; --until-snapshotted waits until every snapshot is "
                + "committed. A stalled or failed object exits with the code of its error (and the fix). With --json "
                + "and repeats: one object per tick, one per line, then the result object. Changes nothing."},
        footer = {"%nExamples:",
                "  ./jbang monitor --mz-url \"$MZ_URL\"",
                "  ./jbang monitor --until-snapshotted --timeout 2h --interval 30s",
                "  ./jbang monitor --watch --json | jq .snapshot.percent",
                "  ./jbang monitor --dry-run   # the queries; no Materialize needed"})
public class MonitorIngestion implements Callable<Integer> {
    /**
     * The docs' two C.4 queries as one (one round trip per tick): the objects are the source and what it
     * feeds, status and error from mz_source_statuses. Changed from the docs: a subsource depends on its
     * source (mz_object_dependencies: object_id = the subsource, referenced_object_id = the source, as
     * Materialize's own view mz_source_statuses joins them); the docs' query goes the other way and finds the
     * progress subsource instead. Added: tables made with CREATE TABLE … FROM SOURCE (mz_tables.source_id, the new
     * syntax), mz_source_statistics aggregated per object over replicas (since 2025-07-17 a cluster with
     * sources may have several, each with its own row: bool_and(snapshot_committed) as the docs say for
     * that case; max() of the counters and offsets, since each replica reads the same stream and a sum
     * would count it twice), hydration (bool_and over replicas) and the slot name. The lag is computed in
     * numeric: the offsets are uint8 in Materialize, where a negative difference would be an error.
     */
    static final String TICK = """
            WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = %s),
            sources AS (
              SELECT d.referenced_object_id AS object_id, d.object_id AS referenced_object_id
              FROM mz_internal.mz_object_dependencies AS d
                JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
              WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
              UNION SELECT source_id, id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)
              UNION SELECT id, id FROM source_ids),
            stats AS (
              SELECT id, count(*) AS replicas,
                     bool_and(snapshot_committed) AS snapshot_committed,
                     max(snapshot_records_known) AS snapshot_records_known,
                     max(snapshot_records_staged) AS snapshot_records_staged,
                     max(offset_known) AS offset_known,
                     max(offset_committed) AS offset_committed
              FROM mz_internal.mz_source_statistics
              WHERE id IN (SELECT referenced_object_id FROM sources)
              GROUP BY id),
            hydration AS (
              SELECT object_id, bool_and(hydrated) AS hydrated
              FROM mz_internal.mz_hydration_statuses
              WHERE object_id IN (SELECT referenced_object_id FROM sources)
              GROUP BY object_id)
            SELECT mz_source_statuses.id, mz_source_statuses.name, mz_source_statuses.type,
                   mz_source_statuses.status, mz_source_statuses.error, mz_source_statuses.details,
                   mz_source_statuses.last_status_change_at,
                   source_ids.id IS NOT NULL AS is_source,
                   stats.replicas, stats.snapshot_committed,
                   stats.snapshot_records_known, stats.snapshot_records_staged,
                   CASE WHEN NOT stats.snapshot_committed
                        THEN round(100.0 * stats.snapshot_records_staged / NULLIF(stats.snapshot_records_known, 0), 2)
                   END AS snapshot_percent,
                   CASE WHEN stats.snapshot_committed
                        THEN stats.offset_known::numeric - stats.offset_committed::numeric
                   END AS offset_lag,
                   hydration.hydrated,
                   mz_postgres_sources.replication_slot
            FROM mz_internal.mz_source_statuses
              JOIN (SELECT DISTINCT referenced_object_id FROM sources) AS objects
                ON mz_source_statuses.id = objects.referenced_object_id
              LEFT JOIN source_ids ON source_ids.id = mz_source_statuses.id
              LEFT JOIN stats ON stats.id = mz_source_statuses.id
              LEFT JOIN hydration ON hydration.object_id = mz_source_statuses.id
              LEFT JOIN mz_internal.mz_postgres_sources ON mz_postgres_sources.id = mz_source_statuses.id
            ORDER BY source_ids.id IS NULL, mz_source_statuses.name, mz_source_statuses.id""";

    /**
     * Upstream, one query per tick: the slot the source reads (its name from mz_postgres_sources). C.5's
     * check is pg_current_wal_lsn() - confirmed_flush_lsn (WAL sent but not yet confirmed by Materialize);
     * pg_current_wal_lsn() - restart_lsn is what the slot keeps on disk, the figure max_slot_wal_keep_size
     * limits (safe_wal_size: how much more before the slot is invalidated).
     */
    static final String SLOT = """
            SELECT slot_name, active, wal_status, safe_wal_size,
                   restart_lsn::text AS restart_lsn, confirmed_flush_lsn::text AS confirmed_flush_lsn,
                   pg_current_wal_lsn() - restart_lsn AS retained_bytes,
                   pg_current_wal_lsn() - confirmed_flush_lsn AS lag_bytes,
                   pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn) AS replication_lag
            FROM pg_catalog.pg_replication_slots WHERE slot_name = %s""";

    /** Statuses that need attention (docs: "On stalled or failed, read error"; ceased: a table dropped upstream). */
    static final Set<String> BAD = Set.of("stalled", "failed", "ceased");

    /** Docs: "If one stays starting for more than a few minutes, contact support". */
    static final Duration STARTING_TOO_LONG = Duration.ofMinutes(5);

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-s", "--source"}, paramLabel = "NAME", description = "The source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--watch", description = "Repeat every --interval until Ctrl-C (or --timeout).")
    boolean watch;

    @Option(names = "--interval", paramLabel = "DURATION", converter = Durations.class,
            description = "Time between ticks with --watch/--until-snapshotted (default 5s; e.g. 500ms, 30s, 1m).")
    Duration interval = Duration.ofSeconds(5);

    @Option(names = "--until-snapshotted", description = "Repeat until every object has snapshot_committed (exit 0), "
            + "an object is stalled or failed (its error's exit code), the snapshot stops moving (--stall-after, "
            + "exit 14) or --timeout passes (exit 13).")
    boolean untilSnapshotted;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Stop after DURATION (e.g. 2h). With --until-snapshotted that is a failure (exit 13); "
                    + "with --watch the last tick decides the exit code.")
    Duration timeout;

    @Option(names = "--stall-after", paramLabel = "DURATION", converter = Durations.class,
            description = "A stall: snapshot_records_staged has not moved for DURATION while a snapshot is not "
                    + "committed (default 15m). Exit 14 with --until-snapshotted; a warning with --watch.")
    Duration stallAfter = Duration.ofMinutes(15);

    /** Where the snapshot's staged records last moved, for the stall check (--stall-after). */
    private BigDecimal lastStaged;
    private long lastMove;

    public static void main(String... args) {
        Cli.main(new MonitorIngestion(), args);
    }

    /** One tick's verdict. */
    enum State { RUNNING, SNAPSHOTTING, ERROR, STALLED }

    record Verdict(State state, Fail fail, boolean snapshotted) {}

    /** One tick read: its objects, the whole snapshot, the upstream slot (null without one), the verdict, its JSON. */
    record Tick(List<Map<String, Object>> objects, Map<String, Object> snapshot, Map<String, Object> slot, Verdict verdict,
                Map<String, Object> json) {}

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (source.isEmpty()) {
            throw Fail.usage("the source name is empty", "give --source NAME (default mz_source)");
        }
        Durations.requirePositive("--interval", interval, "5s");
        Durations.requirePositive("--stall-after", stallAfter, "15m");
        Durations.requirePositive("--timeout", timeout, "2h");
        boolean repeat = watch || untilSnapshotted;
        boolean upstream = pg.given();
        String tick = String.format(TICK, Sql.literal(source));
        o.put("source", source);
        try (Mz db = Mz.connect(mz, o)) {
            if (db.planOnly()) {
                IngestionReport.plan(o, db, this, tick, upstream, repeat);
                return Exit.OK;
            }
            try (Pg up = upstream ? pg.connect(o) : null) {
                return loop(o, db, up, tick, repeat);
            }
        }
    }

    /** The ticks: once, or every --interval until {@link #finished} says so or --timeout passes. */
    private int loop(Out o, Mz db, Pg up, String tickSql, boolean repeat) throws Exception {
        long started = System.nanoTime();
        long deadline = timeout == null ? Long.MAX_VALUE : started + timeout.toNanos();
        lastMove = started;
        IngestionReport report = new IngestionReport(o, source, repeat);
        Tick tick = null;
        int n = 0;
        try {
            while (true) {
                n++;
                tick = tick(report, db, up, tickSql, n, repeat);
                show(report, tick);
                if (!repeat || finished(report, tick.verdict())) {
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (untilSnapshotted) {
                        IngestionReport.put(o, tick.json(), n);
                        throw timedOut(tick.snapshot());
                    }
                    break;
                }
                Thread.sleep(Math.max(1, Math.min(interval.toMillis(), left / 1_000_000 + 1)));
            }
        } finally {
            report.close();
        }
        IngestionReport.put(o, tick.json(), n);
        if (tick.verdict().fail() != null) {
            throw tick.verdict().fail();
        }
        return Exit.OK;
    }

    /** One tick: the one query, its objects, the whole snapshot, the upstream slot and the verdict. */
    private Tick tick(IngestionReport report, Mz db, Pg up, String tickSql, int n, boolean repeat) throws SQLException {
        List<Map<String, Object>> rows = db.query(tickSql);
        if (rows.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "source " + source + " not found in Materialize (mz_catalog.mz_sources)",
                    "create it: ./jbang source (guide C.3); SHOW SOURCES lists the sources there are");
        }
        List<Map<String, Object>> objects = IngestionReport.objects(rows);
        Map<String, Object> snapshot = IngestionReport.snapshot(objects);
        Map<String, Object> slot = up == null ? null : report.slot(up, rows);
        Verdict verdict = verdict(objects, snapshot, stillFor(snapshot, repeat));
        return new Tick(objects, snapshot, slot, verdict, report.json(n, verdict, objects, snapshot, slot));
    }

    /** How long the staged records have not moved (zero when run once); a committed snapshot counts as moving. */
    private Duration stillFor(Map<String, Object> snapshot, boolean repeat) {
        long now = System.nanoTime();
        BigDecimal staged = (BigDecimal) snapshot.get("records_staged");
        boolean committed = (Boolean) snapshot.get("committed");
        if (lastStaged == null || staged.compareTo(lastStaged) != 0 || committed) {
            lastStaged = staged;
            lastMove = now;
        }
        return repeat ? Duration.ofNanos(now - lastMove) : Duration.ZERO;
    }

    /** A tick on screen: the table (when it changed), the warnings of the checks, the slot, the summary, the bar. */
    private void show(IngestionReport report, Tick t) {
        boolean changed = report.showObjects(t.objects());
        startingTooLong(report, t.objects());
        report.others(t.objects(), t.verdict());
        report.showStatus(t, changed);
    }

    /**
     * Whether a repeated run ends after this tick. With --until-snapshotted: once every snapshot is committed,
     * on a stall, or on an error other than a transient one (exit BUSY: warned and waited out). --watch goes
     * on and warns.
     */
    private boolean finished(IngestionReport report, Verdict verdict) {
        if (!untilSnapshotted) {
            if (verdict.state() == State.STALLED || verdict.state() == State.ERROR) {
                report.warnOnce(verdict.fail().getMessage() + " (fix: " + verdict.fail().fix + ")");
            }
            return false;
        }
        if (verdict.snapshotted() || verdict.state() == State.STALLED) {
            return true;
        }
        if (verdict.state() == State.ERROR && verdict.fail().exit != Exit.BUSY) {
            return true;
        }
        if (verdict.state() == State.ERROR) {
            report.warnOnce("transient: " + verdict.fail().getMessage() + "; still waiting (" + verdict.fail().fix + ")");
        }
        return false;
    }

    private Fail timedOut(Map<String, Object> snapshot) {
        return new Fail(Exit.TIMEOUT, "source " + source + ": snapshot not committed after "
                + Durations.show(timeout) + " (" + IngestionReport.progressText(snapshot) + ")",
                "snapshots take minutes to hours: wait longer (--timeout 2h); follow it with "
                        + "./jbang monitor --watch; if staged records stop moving, see --stall-after");
    }

    private Verdict verdict(List<Map<String, Object>> objects, Map<String, Object> snapshot, Duration still) {
        boolean committed = (Boolean) snapshot.get("committed");
        for (Map<String, Object> obj : objects) {
            if (BAD.contains(obj.get("status"))) {
                String error = (String) obj.get("error");
                String what = obj.get("name") + " is " + obj.get("status") + ": "
                        + (error == null ? "(no error text)" : error);
                MzErrors.Known k = MzErrors.match(error);
                Fail f = k == null
                        ? new Fail(Exit.STALLED, what, "the toolkit does not know this error: look it up in Materialize's "
                                + "PostgreSQL source troubleshooting docs; the history is in mz_internal.mz_source_status_history")
                        : new Fail(k.exit(), what, k.fix());
                return new Verdict(State.ERROR, f, false);
            }
        }
        if (!committed && still.compareTo(stallAfter) >= 0) {
            boolean paused = objects.stream().anyMatch(x -> "paused".equals(x.get("status")));
            String fix = paused
                    ? "a paused source has no replica to run on: give its cluster one, e.g. ALTER CLUSTER ingest_postgres "
                            + "SET (REPLICATION FACTOR 1)"
                    : "a snapshot waits for long write transactions, prepared transactions and ACCESS EXCLUSIVE locks "
                            + "on the published tables upstream: check pg_stat_activity (pg_blocking_pids, backend_xid) and "
                            + "pg_prepared_xacts there; and the cluster's memory and CPU: ./jbang right-size";
            return new Verdict(State.STALLED, new Fail(Exit.STALLED, "source " + source + ": no snapshot progress for "
                    + Durations.show(still) + " (" + IngestionReport.progressText(snapshot) + ")", fix), false);
        }
        return new Verdict(committed ? State.RUNNING : State.SNAPSHOTTING, null, committed);
    }

    /** Docs: "If one stays starting for more than a few minutes, contact support"; a paused object says why. */
    private void startingTooLong(IngestionReport report, List<Map<String, Object>> objects) {
        for (Map<String, Object> x : objects) {
            Object since = x.get("last_status_change_at");
            if ("starting".equals(x.get("status")) && since != null) {
                Duration d;
                try {
                    d = Duration.between(Instant.parse((String) since), Instant.now());
                } catch (java.time.format.DateTimeParseException e) {
                    continue;
                }
                if (d.compareTo(STARTING_TOO_LONG) > 0) {
                    report.warnOnce(x.get("name") + " has been starting for " + Durations.show(d)
                            + "; the docs say: if it stays starting for more than a few minutes, contact Materialize support");
                }
            }
            if ("paused".equals(x.get("status")) && x.get("details") != null) {
                report.warnOnce(x.get("name") + " is paused: " + x.get("details"));
            }
        }
    }
}

/**
 * Monitor's supporting code, not the step itself: the --dry-run plan; a tick's rows as JSON-ready objects,
 * the whole snapshot summed up from them, the upstream slot read with {@link MonitorIngestion#SLOT} (its
 * problems are warnings) and the tick's JSON; and how ticks are shown (the table, redrawn in --watch only when
 * something besides the counters changed, the slot line, the summary, a live bar on a terminal, each warning
 * once).
 */
final class IngestionReport {
    static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    private final Out o;
    private final String source;
    private final boolean repeat;
    private final Set<String> warned = new HashSet<>();
    private String lastShape;
    private Out.Progress bar;

    IngestionReport(Out o, String source, boolean repeat) {
        this.o = o;
        this.source = source;
        this.repeat = repeat;
    }

    /** The --dry-run plan: the queries of a tick, and how often they would run. */
    static void plan(Out o, Mz db, MonitorIngestion step, String tick, boolean upstream, boolean repeat) {
        o.line("-- dry run: no Materialize was contacted. Each tick runs this one query on Materialize:");
        db.planned(tick);
        if (upstream) {
            o.line("-- and this one upstream, for the slot named in mz_postgres_sources.replication_slot:");
            o.statement(String.format(MonitorIngestion.SLOT, Sql.literal("<replication_slot>")));
        } else {
            o.line("-- (no --pg-url or DATABASE_URL: the upstream slot is not checked)");
        }
        if (step.untilSnapshotted) {
            o.line("-- repeated every %s until every object has snapshot_committed%s; no staged-record progress "
                    + "for %s fails", Durations.show(step.interval),
                    step.timeout == null ? "" : " (timeout " + Durations.show(step.timeout) + ")",
                    Durations.show(step.stallAfter));
        } else if (repeat) {
            o.line("-- repeated every %s%s", Durations.show(step.interval),
                    step.timeout == null ? " until Ctrl-C" : " for " + Durations.show(step.timeout));
        } else {
            o.line("-- run once (--watch or --until-snapshotted repeat it)");
        }
    }

    // ---- reading a tick ----------------------------------------------------------------------

    /** The rows as stable JSON-ready objects (numbers as BigDecimal, timestamps as ISO text). */
    static List<Map<String, Object>> objects(List<Map<String, Object>> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", text(r.get("id")));
            m.put("name", text(r.get("name")));
            m.put("type", text(r.get("type")));
            m.put("is_source", Boolean.TRUE.equals(r.get("is_source")));
            m.put("status", text(r.get("status")));
            m.put("error", text(r.get("error")));
            m.put("details", text(r.get("details")));
            m.put("last_status_change_at", time(r.get("last_status_change_at")));
            m.put("replicas", num(r.get("replicas")));
            m.put("snapshot_committed", r.get("snapshot_committed"));
            m.put("snapshot_records_known", num(r.get("snapshot_records_known")));
            m.put("snapshot_records_staged", num(r.get("snapshot_records_staged")));
            m.put("snapshot_percent", num(r.get("snapshot_percent")));
            m.put("offset_lag", num(r.get("offset_lag")));
            m.put("hydrated", r.get("hydrated"));
            m.put("replication_slot", text(r.get("replication_slot")));
            String error = (String) m.get("error");
            if (MonitorIngestion.BAD.contains(m.get("status"))) {
                MzErrors.Known k = MzErrors.match(error);
                m.put("fix", k == null ? null : k.fix());
            }
            out.add(m);
        }
        return out;
    }

    /** Objects whose snapshot counts: progress subsources carry no data of their own. */
    static boolean counts(Map<String, Object> obj) {
        return !"progress".equals(obj.get("type"));
    }

    /**
     * The whole source's snapshot: committed when every object (but progress subsources) has
     * snapshot_committed = true (a missing statistics row is not yet committed). Records: the sum over the
     * subsources/tables, or the source's own row when that is larger (whether Materialize also counts a
     * Postgres source's records on the source itself is not documented; this way nothing is counted twice).
     */
    static Map<String, Object> snapshot(List<Map<String, Object>> objects) {
        BigDecimal known = BigDecimal.ZERO;
        BigDecimal staged = BigDecimal.ZERO;
        BigDecimal ownKnown = BigDecimal.ZERO;
        BigDecimal ownStaged = BigDecimal.ZERO;
        int total = 0;
        int done = 0;
        for (Map<String, Object> obj : objects) {
            if (!counts(obj)) {
                continue;
            }
            total++;
            if (Boolean.TRUE.equals(obj.get("snapshot_committed"))) {
                done++;
            }
            BigDecimal k = orZero(obj.get("snapshot_records_known"));
            BigDecimal st = orZero(obj.get("snapshot_records_staged"));
            if (Boolean.TRUE.equals(obj.get("is_source"))) {
                ownKnown = k;
                ownStaged = st;
            } else {
                known = known.add(k);
                staged = staged.add(st);
            }
        }
        known = known.max(ownKnown);
        staged = staged.max(ownStaged);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("committed", total > 0 && done == total);
        s.put("objects", total);
        s.put("objects_committed", done);
        s.put("records_staged", staged);
        s.put("records_known", known);
        s.put("percent", known.signum() == 0 ? null
                : staged.multiply(BigDecimal.valueOf(100)).divide(known, 2, RoundingMode.HALF_UP));
        return s;
    }

    private static BigDecimal orZero(Object v) {
        return v == null ? BigDecimal.ZERO : (BigDecimal) v;
    }

    /** The upstream slot; one query. Failures are warnings: the Materialize side is what monitor is for. */
    Map<String, Object> slot(Pg up, List<Map<String, Object>> rows) {
        String name = null;
        for (Map<String, Object> r : rows) {
            if (Boolean.TRUE.equals(r.get("is_source")) && r.get("replication_slot") != null) {
                name = text(r.get("replication_slot"));
            }
        }
        if (name == null) {
            warnOnce("source " + source + " has no replication slot in mz_internal.mz_postgres_sources "
                    + "(not a PostgreSQL source?); the upstream slot is not checked");
            return null;
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("slot_name", name);
        try {
            List<Map<String, Object>> found = up.query(String.format(MonitorIngestion.SLOT, Sql.literal(name)));
            s.put("found", !found.isEmpty());
            if (found.isEmpty()) {
                warnOnce("slot " + name + " is not in pg_replication_slots upstream: it was dropped (a Neon "
                        + "branch restore deletes slots; the source then fails), or --pg-url/DATABASE_URL points at "
                        + "another server or branch");
                return s;
            }
            Map<String, Object> r = found.get(0);
            s.put("active", r.get("active"));
            s.put("wal_status", r.get("wal_status"));
            s.put("restart_lsn", r.get("restart_lsn"));
            s.put("confirmed_flush_lsn", r.get("confirmed_flush_lsn"));
            s.put("retained_bytes", num(r.get("retained_bytes")));
            s.put("lag_bytes", num(r.get("lag_bytes")));
            s.put("replication_lag", r.get("replication_lag"));
            s.put("safe_wal_size", num(r.get("safe_wal_size")));
            if ("unreserved".equals(r.get("wal_status")) || "lost".equals(r.get("wal_status"))) {
                warnOnce("slot " + name + " has wal_status " + r.get("wal_status") + ": the WAL the source needs "
                        + "is being removed; expect 'slot overcompacted' or an invalidated slot");
            }
        } catch (SQLException e) {
            warnOnce("cannot read slot " + name + " upstream: " + e.getMessage());
            s.put("error", e.getMessage());
        }
        return s;
    }

    /** The tick as one JSON object (a line per tick when repeated; the last one is the result). */
    Map<String, Object> json(int n, MonitorIngestion.Verdict verdict, List<Map<String, Object>> objects,
                             Map<String, Object> snapshot, Map<String, Object> slot) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("tick", n);
        t.put("at", Instant.now().toString());
        t.put("source", source);
        t.put("state", verdict.state().name().toLowerCase(Locale.ROOT));
        t.put("objects", objects);
        t.put("snapshot", snapshot);
        t.put("upstream", slot);
        return t;
    }

    /** The last tick into the result object, with the number of ticks. */
    static void put(Out o, Map<String, Object> last, int ticks) {
        if (last != null) {
            last.forEach((k, v) -> {
                if (!k.equals("tick") && !k.equals("source")) {
                    o.put(k, v);
                }
            });
        }
        o.put("ticks", ticks);
    }

    // ---- showing a tick ----------------------------------------------------------------------

    /**
     * The objects' table: always when run once; when repeated, only when their {@link #shape} changed (the
     * live bar is cleared first). Whether it changed.
     */
    boolean showObjects(List<Map<String, Object>> objects) {
        String shape = shape(objects);
        boolean changed = !shape.equals(lastShape);
        if (bar != null && changed) {
            bar.clear();
        }
        if (!repeat || changed) {
            table(o, objects);
            lastShape = shape;
        }
        return changed;
    }

    /** A live bar on a terminal in --watch; a line per tick elsewhere (logs, CI); --json: a line per tick. */
    void showStatus(MonitorIngestion.Tick t, boolean changed) {
        boolean live = repeat && o.ctx().terminal() && !o.json();
        Map<String, Object> snapshot = t.snapshot();
        if (t.slot() != null && (!live || changed)) {
            o.line(slotLine(t.slot()));
        }
        if (!live || changed) {
            o.line((repeat ? "[" + CLOCK.format(Instant.now()) + "] " : "") + summary(snapshot, t.verdict()));
        }
        if (repeat) {
            o.jsonLine(t.json());
        }
        if (live && !(Boolean) snapshot.get("committed") && ((BigDecimal) snapshot.get("records_known")).signum() > 0) {
            if (bar == null) {
                bar = o.progress("snapshot " + source, 0);
            }
            bar.update(((BigDecimal) snapshot.get("records_staged")).longValue(),
                    ((BigDecimal) snapshot.get("records_known")).longValue());
        }
    }

    void close() {
        if (bar != null) {
            bar.close();
        }
    }

    /** What, besides counters, makes a tick worth a new table in --watch. */
    static String shape(List<Map<String, Object>> objects) {
        StringBuilder b = new StringBuilder();
        for (Map<String, Object> x : objects) {
            b.append(x.get("id")).append(x.get("status")).append(x.get("snapshot_committed")).append(x.get("hydrated"))
                    .append(x.get("error")).append('|');
        }
        return b.toString();
    }

    private static void table(Out o, List<Map<String, Object>> objects) {
        List<List<?>> rows = new ArrayList<>();
        for (Map<String, Object> x : objects) {
            String snap;
            if (Boolean.TRUE.equals(x.get("snapshot_committed"))) {
                snap = "committed";
            } else if (x.get("snapshot_committed") == null) {
                snap = "-";
            } else if (x.get("snapshot_records_known") == null) {
                snap = "not committed";
            } else {
                snap = (x.get("snapshot_percent") == null ? "?" : x.get("snapshot_percent") + "%") + " ("
                        + plain(x.get("snapshot_records_staged")) + "/" + plain(x.get("snapshot_records_known")) + ")";
            }
            rows.add(List.of(x.get("name"), x.get("type"), x.get("status"), snap,
                    x.get("offset_lag") == null ? "-" : Out.bytes((BigDecimal) x.get("offset_lag")),
                    x.get("hydrated") == null ? "-" : Boolean.TRUE.equals(x.get("hydrated")) ? "yes" : "no",
                    x.get("replicas") == null ? "-" : plain(x.get("replicas"))));
        }
        o.table(List.of("object", "type", "status", "snapshot", "lag", "hydrated", "replicas"), rows);
    }

    /** Errors of further objects: the first one decides the exit code, the others are warnings. */
    void others(List<Map<String, Object>> objects, MonitorIngestion.Verdict v) {
        boolean first = true;
        for (Map<String, Object> x : objects) {
            if (MonitorIngestion.BAD.contains(x.get("status")) && v.state() == MonitorIngestion.State.ERROR) {
                if (!first) {
                    warnOnce("also " + x.get("name") + " is " + x.get("status") + ": " + x.get("error")
                            + (x.get("fix") == null ? "" : " (fix: " + x.get("fix") + ")"));
                }
                first = false;
            }
        }
    }

    static String slotLine(Map<String, Object> s) {
        if (!Boolean.TRUE.equals(s.get("found"))) {
            return "upstream slot " + s.get("slot_name") + ": " + (s.containsKey("error") ? "not readable" : "not found");
        }
        return "upstream slot " + s.get("slot_name") + " (" + (Boolean.TRUE.equals(s.get("active")) ? "active" : "inactive")
                + (s.get("wal_status") == null ? "" : ", wal_status " + s.get("wal_status")) + "): "
                + (s.get("lag_bytes") == null ? "-" : Out.bytes((BigDecimal) s.get("lag_bytes"))) + " not yet confirmed, "
                + (s.get("retained_bytes") == null ? "-" : Out.bytes((BigDecimal) s.get("retained_bytes"))) + " of WAL retained";
    }

    String summary(Map<String, Object> snapshot, MonitorIngestion.Verdict v) {
        String head = "monitor " + source + ": ";
        return switch (v.state()) {
            case RUNNING -> head + "snapshot committed (" + snapshot.get("objects") + " objects)";
            case SNAPSHOTTING -> head + "snapshotting " + bar(snapshot) + " " + progressText(snapshot);
            case ERROR, STALLED -> head + "not healthy (" + v.fail().getMessage().split(":")[0] + ")";
        };
    }

    /** A text bar of the staged records, e.g. [########--------------------]. */
    static String bar(Map<String, Object> s) {
        int w = 28;
        BigDecimal p = (BigDecimal) s.get("percent");
        int filled = p == null ? 0 : Math.max(0, Math.min(w, p.multiply(BigDecimal.valueOf(w))
                .divide(BigDecimal.valueOf(100), 0, RoundingMode.DOWN).intValue()));
        return "[" + "#".repeat(filled) + "-".repeat(w - filled) + "]";
    }

    static String progressText(Map<String, Object> s) {
        return s.get("objects_committed") + " of " + s.get("objects") + " objects committed, "
                + plain(s.get("records_staged")) + " of " + plain(s.get("records_known")) + " records staged"
                + (s.get("percent") == null ? "" : " (" + s.get("percent") + "%)");
    }

    void warnOnce(String text) {
        if (warned.add(text)) {
            o.warn(text);
        }
    }

    // ---- values ------------------------------------------------------------------------------

    /** Numbers from either server: Materialize's uint8 arrives as an object whose text is the number. */
    static BigDecimal num(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof BigDecimal b) {
            return b;
        }
        if (v instanceof Number n) {
            return new BigDecimal(n.toString());
        }
        return new BigDecimal(v.toString().strip());
    }

    static String text(Object v) {
        return v == null ? null : v.toString();
    }

    static String time(Object v) {
        if (v instanceof java.sql.Timestamp ts) {
            return ts.toInstant().toString();
        }
        if (v instanceof java.time.OffsetDateTime t) {
            return t.toInstant().toString();
        }
        return v == null ? null : v.toString();
    }

    static String plain(Object v) {
        return v == null ? "?" : v instanceof BigDecimal b ? b.toPlainString() : v.toString();
    }
}
