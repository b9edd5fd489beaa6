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
//SOURCES ../lib/neonmz/ReplicaSizes.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step C.5: right-size the ingestion cluster from its replicas' CPU and memory use, the snapshot state and the upstream slot's lag; resizes only with --apply.

import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.ReplicaSizes;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step C.5 — "Right-size the cluster". The docs resize with {@code ALTER CLUSTER ingest_postgres SET
 * (SIZE '100cc')} ("this command adds a new 100cc replica and removes the 50cc replica") and check with
 * {@code SHOW CLUSTER REPLICAS WHERE cluster = 'ingest_postgres'}. Whether the source keeps up is read
 * upstream in two steps: the slot name from Materialize (mz_postgres_sources), then
 * {@code pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn)} on Neon ("a high value means the source
 * fell behind; scale the cluster up"). Replica use comes from mz_cluster_replica_utilization, with
 * heap_percent (RAM + swap) as the memory figure, as Materialize's changelog of 2025-10-20 advises.
 *
 * <p>The rule, in this order: use above 80% in every sample on any replica → the next size up; the
 * upstream slot behind by more than --max-lag → up; a snapshot not yet committed → keep (size for the
 * snapshot, shrink after it: ./jbang monitor --until-snapshotted); use below 20% in every sample on every
 * replica with the snapshot committed → the next size down; else keep. "Next" stays in the size's family
 * (legacy cc sizes, or M.1) ordered by credits_per_hour.
 */
@Command(name = "right-size", mixinStandardHelpOptions = true,
        description = {"Guide step C.5: CPU and memory (heap) use of each replica of the cluster (default "
                + "ingest_postgres), sampled --samples times, the snapshot state of its sources and (with --pg-url "
                + "or DATABASE_URL) the upstream slots' lag, then a recommended size with its reason. With --apply: "
                + "ALTER CLUSTER … SET (SIZE '…') to --size or to the recommendation; nothing when already that size."},
        footer = {"%nExamples:",
                "  ./jbang right-size --mz-url \"$MZ_URL\"",
                "  ./jbang right-size --apply                 # to the recommended size",
                "  ./jbang right-size --size 100cc --apply    # the docs' example",
                "  ./jbang right-size --dry-run --size 100cc --apply   # no Materialize needed"})
public class RightSize implements Callable<Integer> {
    /** The guide's statement (C.5; the docs write SIZE without "="). */
    static final String ALTER = "ALTER CLUSTER %s SET (SIZE %s)";

    static final String CLUSTER = """
            SELECT id, size, replication_factor, managed FROM mz_catalog.mz_clusters WHERE name = %s""";

    /**
     * From v26.35 ALTER CLUSTER … SET (SIZE …) returns at once and resizes in the background: Materialize adds
     * replicas of the new size beside the old ones, cuts over once they have hydrated (no downtime), and rolls
     * back after 24 h without hydrating. Until the cut-over mz_clusters.size shows the old size; the resize is
     * this relation's row (v26.34+; status in-progress, then finalized, timed-out, cancelled or
     * resource-exhausted; target and changes as JSON). SHOW CLUSTERS shows it as "reconfiguring size to …".
     * Facts: src/catalog/src/builtin/mz_internal.rs, doc/user/content/sql/alter-cluster.md.
     */
    static final String RECONFIGURATION = """
            SELECT r.status, r.target ->> 'size' AS target_size, r.changes ->> 'size' AS pending_size, r.on_timeout
            FROM mz_internal.mz_cluster_reconfigurations AS r JOIN mz_catalog.mz_clusters AS c ON c.id = r.cluster_id
            WHERE c.name = %s""";

    /**
     * The docs' SHOW CLUSTER REPLICAS WHERE cluster = '…' (cluster | replica | size | ready) from the catalog,
     * with each replica's use. A replica of several processes has a row per process: the busiest one counts.
     */
    static final String UTILIZATION = """
            SELECT r.id AS replica_id, r.name AS replica, r.size,
                   max(u.cpu_percent) AS cpu_percent, max(u.heap_percent) AS memory_percent
            FROM mz_catalog.mz_cluster_replicas AS r
              JOIN mz_catalog.mz_clusters AS c ON c.id = r.cluster_id
              LEFT JOIN mz_internal.mz_cluster_replica_utilization AS u ON u.replica_id = r.id
            WHERE c.name = %s
            GROUP BY r.id, r.name, r.size
            ORDER BY r.name""";

    /** Before heap_percent existed (Materialize older than the 2025-10-20 change): memory_percent. */
    static final String UTILIZATION_MEMORY = UTILIZATION.replace("max(u.heap_percent)", "max(u.memory_percent)");

    /** The sizes this Materialize offers, cheapest first (as ./jbang cluster checks them). */
    static final String SIZES = """
            SELECT size, credits_per_hour FROM mz_catalog.mz_cluster_replica_sizes ORDER BY credits_per_hour, size""";

    /**
     * Is a snapshot still running on this cluster? The C.4 question, for every source on it. Subsources and
     * progress subsources run on their source's cluster too: counted as the source's objects, not as sources.
     */
    static final String SNAPSHOT = """
            WITH on_cluster AS (
              SELECT s.id FROM mz_catalog.mz_sources AS s JOIN mz_catalog.mz_clusters AS c ON c.id = s.cluster_id
              WHERE c.name = %s AND s.type NOT IN ('subsource', 'progress')),
            objects AS (
              SELECT id FROM on_cluster
              UNION SELECT d.object_id FROM mz_internal.mz_object_dependencies AS d
                      JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
                    WHERE d.referenced_object_id IN (SELECT id FROM on_cluster)
              UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM on_cluster))
            SELECT (SELECT count(*) FROM on_cluster) AS sources, count(DISTINCT st.id) AS objects,
                   bool_and(st.snapshot_committed) AS snapshot_committed
            FROM mz_internal.mz_source_statistics AS st
            WHERE st.id IN (SELECT id FROM objects)""";

    /** Slot lag, step 1 (the docs' query on Materialize), for the sources on this cluster. */
    static final String SLOTS = """
            SELECT d.name AS database_name, n.name AS schema_name, s.name AS source_name, pgs.replication_slot
            FROM mz_catalog.mz_sources AS s
              JOIN mz_internal.mz_postgres_sources AS pgs ON s.id = pgs.id
              JOIN mz_catalog.mz_schemas AS n ON n.id = s.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = n.database_id
            WHERE s.cluster_id = (SELECT id FROM mz_catalog.mz_clusters WHERE name = %s)
            ORDER BY source_name""";

    /** Slot lag, step 2 (the docs' query on Neon), all slots in one query. */
    static final String SLOT_LAG = """
            SELECT slot_name, pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn) AS replication_lag_bytes,
                   pg_current_wal_lsn() - confirmed_flush_lsn AS lag_bytes
            FROM pg_catalog.pg_replication_slots WHERE slot_name IN (%s)""";

    static final double HIGH = 80;
    static final double LOW = 20;

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-c", "--cluster"}, paramLabel = "NAME", description = "Cluster (default ${DEFAULT-VALUE}).")
    String cluster = "ingest_postgres";

    @Option(names = "--size", paramLabel = "SIZE", description = "Size to resize to with --apply (default: the recommendation).")
    String size;

    @Option(names = "--apply", description = "Run ALTER CLUSTER … SET (SIZE …) (otherwise only recommend).")
    boolean apply;

    @Option(names = "--samples", paramLabel = "N", description = "Utilisation samples (default ${DEFAULT-VALUE}): "
            + "\"sustained\" means in every sample.")
    int samples = 3;

    @Option(names = "--interval", paramLabel = "DURATION", converter = Durations.class,
            description = "Time between samples (default 5s).")
    Duration interval = Duration.ofSeconds(5);

    @Option(names = "--wait", paramLabel = "DURATION", arity = "0..1", fallbackValue = "1h", converter = Durations.class,
            description = "With --apply on Materialize v26.35+, which resizes in the background: wait until the new "
                    + "replicas have hydrated and the cluster has the new size, at most DURATION (default 1h).")
    Duration waitFor;

    @Option(names = "--max-lag", paramLabel = "SIZE", description = "Upstream slot lag above which to size up "
            + "(default ${DEFAULT-VALUE}; e.g. 512MB, 2GB).")
    String maxLag = "1GB";

    public static void main(String... args) {
        Cli.main(new RightSize(), args);
    }

    record Recommendation(String action, String target, List<String> reasons) {}

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        long lagLimit = checkOptions();
        boolean upstream = pg.given();
        String lit = Sql.literal(cluster);
        o.put("cluster", cluster);
        try (Mz db = Mz.connect(mz, o)) {
            if (db.planOnly()) {
                ClusterReadings.plan(o, db, this, lit, upstream);
                return Exit.OK;
            }
            Map<String, Object> c = cluster(o, db, lit);
            Map<String, BigDecimal> credits = sizes(o, db);
            Map<String, ClusterReadings.Use> uses = new LinkedHashMap<>();
            String metric = ClusterReadings.sample(o, db, lit, samples, interval, uses);
            // an unmanaged cluster has no SIZE of its own (NULL): its replicas' size stands in when they agree
            String current = (String) c.get("size");
            if (current == null && uses.values().stream().map(u -> u.size).distinct().count() == 1) {
                current = uses.values().iterator().next().size;
            }
            o.put("memory_metric", metric);
            o.put("samples", samples);

            Map<String, Object> srcs = ClusterReadings.sources(db.query(String.format(SNAPSHOT, lit)).get(0));
            o.put("sources", srcs);
            long sources = (Long) srcs.get("sources");
            boolean snapshotting = sources > 0 && !Boolean.TRUE.equals(srcs.get("snapshot_committed"));
            List<Map<String, Object>> slots = slots(o, db, lit, upstream);

            Recommendation rec = recommend(current, credits, uses, snapshotting, sources, slots, lagLimit, metric);
            ClusterReadings.show(o, cluster, c, uses, metric, srcs, slots, rec);
            String target = size != null ? size : rec.target();
            if (!apply) {
                return advise(o, current, target);
            }
            return new ClusterResize(this, o, db, lit).apply(c, current, target, snapshotting, credits);
        }
    }

    /** The options' checks (before any connection); the --max-lag limit in bytes. */
    private long checkOptions() {
        Sql.requireName("cluster", cluster);
        if (samples < 1) {
            throw Fail.usage("--samples must be 1 or more", "e.g. --samples 3");
        }
        Durations.requirePositive("--interval", interval, "5s");
        long lagLimit = ClusterReadings.bytes(maxLag);
        if (size != null && size.isBlank()) {
            throw Fail.usage("--size is empty", "e.g. --size 100cc");
        }
        if (waitFor != null) {
            if (!apply) {
                throw Fail.usage("--wait follows a resize: it needs --apply", "./jbang right-size --apply --wait");
            }
            Durations.requirePositive("--wait", waitFor, "1h");
        }
        return lagLimit;
    }

    /** The cluster's row ({@link #CLUSTER}); it must exist. */
    private Map<String, Object> cluster(Out o, Mz db, String lit) throws SQLException {
        List<Map<String, Object>> found = db.query(String.format(CLUSTER, lit));
        if (found.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "cluster " + cluster + " does not exist",
                    "create it: ./jbang cluster --name " + Out.shellQuote(cluster) + " (guide C.1); SHOW CLUSTERS lists them");
        }
        Map<String, Object> c = found.get(0);
        o.put("size", c.get("size"));
        o.put("replication_factor", c.get("replication_factor"));
        o.put("managed", !Boolean.FALSE.equals(c.get("managed")));
        return c;
    }

    /** The sizes this Materialize offers ({@link #SIZES}): size → credits per hour. --size must be one of them. */
    private Map<String, BigDecimal> sizes(Out o, Mz db) throws SQLException {
        List<String> sizes = new ArrayList<>();
        Map<String, BigDecimal> credits = new LinkedHashMap<>();
        for (Map<String, Object> r : db.query(SIZES)) {
            sizes.add((String) r.get("size"));
            credits.put((String) r.get("size"),
                    r.get("credits_per_hour") == null ? null : new BigDecimal(r.get("credits_per_hour").toString()));
        }
        o.put("sizes", sizes);
        if (size != null && !sizes.isEmpty() && !sizes.contains(size)) {
            throw Fail.usage("size " + size + " is not one this Materialize offers",
                    "choose one of: " + String.join(", ", sizes));
        }
        return credits;
    }

    /** Slot lag in the docs' two steps; the upstream step only with an upstream URL. */
    private List<Map<String, Object>> slots(Out o, Mz db, String lit, boolean upstream) throws SQLException {
        List<Map<String, Object>> out = ClusterReadings.slots(db.query(String.format(SLOTS, lit)));
        if (!upstream || out.isEmpty()) {
            return out;
        }
        List<String> names = new ArrayList<>();
        for (Map<String, Object> m : out) {
            names.add(Sql.literal(String.valueOf(m.get("slot"))));
        }
        try (Pg up = pg.connect(o)) {
            ClusterReadings.lag(o, out, up.query(String.format(SLOT_LAG, String.join(", ", names))));
        }
        return out;
    }

    /** The rule of the class comment, in its order: up, up, keep while snapshotting, down, else keep. */
    static Recommendation recommend(String current, Map<String, BigDecimal> credits, Map<String, ClusterReadings.Use> uses,
                                    boolean snapshotting, long sources, List<Map<String, Object>> slots, long lagLimit,
                                    String metric) {
        List<String> reasons = new ArrayList<>();
        String mem = metric.equals("heap_percent") ? "heap" : "memory";
        boolean measured = uses.values().stream().anyMatch(ClusterReadings.Use::measured);
        String high = high(uses, mem);
        String lagging = lagging(slots, lagLimit);
        boolean low = measured && uses.values().stream().allMatch(u ->
                (u.cpuMax == null || u.cpuMax < LOW) && (u.memMax == null || u.memMax < LOW) && u.measured());
        if (high != null || lagging != null) {
            if (high != null) {
                reasons.add(high);
            }
            if (lagging != null) {
                reasons.add(lagging);
            }
            String up = ReplicaSizes.next(credits, current, +1);
            if (up == null) {
                reasons.add(current == null ? "the cluster's size is not known" : current + " is the largest size of its kind here");
                return new Recommendation("keep", current, reasons);
            }
            return new Recommendation("up", up, reasons);
        }
        if (!measured) {
            reasons.add("no utilisation data yet for its replicas (mz_cluster_replica_utilization)");
            return new Recommendation("keep", current, reasons);
        }
        if (snapshotting) {
            reasons.add("a snapshot is still running: size for the snapshot, shrink after it is committed "
                    + "(./jbang monitor --until-snapshotted)");
            return new Recommendation("keep", current, reasons);
        }
        if (low) {
            reasons.add("CPU and " + mem + " below " + ClusterReadings.pct(LOW) + " in every sample on every replica"
                    + (sources > 0 ? ", and the snapshot is committed" : ""));
            String down = ReplicaSizes.next(credits, current, -1);
            if (down == null) {
                reasons.add(current == null ? "the cluster's size is not known" : current + " is the smallest size of its kind here");
                return new Recommendation("keep", current, reasons);
            }
            return new Recommendation("down", down, reasons);
        }
        reasons.add("use is between " + ClusterReadings.pct(LOW) + " and " + ClusterReadings.pct(HIGH));
        return new Recommendation("keep", current, reasons);
    }

    /** Use above {@link #HIGH} in every sample (the minimum) on a replica, as a reason; null when none. */
    private static String high(Map<String, ClusterReadings.Use> uses, String mem) {
        String high = null;
        for (ClusterReadings.Use u : uses.values()) {
            if (u.cpuMin != null && u.cpuMin > HIGH) {
                high = "CPU " + ClusterReadings.pct(u.cpuMin) + " or more on " + u.replica + " (above "
                        + ClusterReadings.pct(HIGH) + " in every sample)";
            } else if (u.memMin != null && u.memMin > HIGH) {
                high = mem + " " + ClusterReadings.pct(u.memMin) + " or more on " + u.replica + " (above "
                        + ClusterReadings.pct(HIGH) + " in every sample)";
            }
        }
        return high;
    }

    /** An upstream slot behind by more than --max-lag (the docs: the source fell behind), as a reason; null when none. */
    private static String lagging(List<Map<String, Object>> slots, long lagLimit) {
        String lagging = null;
        for (Map<String, Object> s : slots) {
            BigDecimal b = (BigDecimal) s.get("lag_bytes");
            if (b != null && b.compareTo(BigDecimal.valueOf(lagLimit)) > 0) {
                lagging = "upstream slot " + s.get("slot") + " is " + s.get("replication_lag_bytes") + " behind (more than "
                        + ClusterReadings.pretty(lagLimit) + "): per the docs the source fell behind";
            }
        }
        return lagging;
    }

    /** Without --apply: the size to resize to, as the command that would do it, or keep. */
    private int advise(Out o, String current, String target) {
        o.put("applied", false);
        if (target != null && !target.equals(current)) {
            o.line("right-size %s: recommend %s (now %s); to resize: ./jbang right-size%s --size %s --apply",
                    cluster, target, current, cluster.equals("ingest_postgres") ? "" : " --cluster " + Out.shellQuote(cluster),
                    Out.shellQuote(target));
        } else {
            o.line("right-size %s: keep %s", cluster, current);
        }
        return Exit.OK;
    }

}

/**
 * right-size --apply: the guide's ALTER CLUSTER, then the cluster must have the size: at once before v26.35 (the
 * cluster restarts at the new size), or after the background resize (v26.35+), which --wait follows and which is
 * otherwise reported as under way (RightSize.RECONFIGURATION).
 */
final class ClusterResize {
    private final RightSize cmd;
    private final Out o;
    private final Mz db;
    private final String lit;

    ClusterResize(RightSize cmd, Out o, Mz db, String lit) {
        this.cmd = cmd;
        this.o = o;
        this.db = db;
        this.lit = lit;
    }

    /**
     * The guide's ALTER CLUSTER, unless already that size or a resize to it is already under way (v26.34+: the
     * cluster's row of mz_cluster_reconfigurations).
     */
    int apply(Map<String, Object> c, String current, String target, boolean snapshotting,
              Map<String, BigDecimal> credits) throws Exception {
        String cluster = cmd.cluster;
        Map<String, Object> pending = db.atLeast(Mz.CLUSTER_RECONFIGURATIONS) ? reconfiguration() : null;
        boolean underWay = pending != null && "in-progress".equals(pending.get("status"));
        if (underWay && target != null && target.equals(pending.get("target_size")) && !target.equals(current)) {
            o.put("applied", false);
            o.put("already_done", true);
            o.put("in_progress", true);
            o.line("right-size %s: already under way: resizing %s -> %s in the background", cluster, current, target);
            return cmd.waitFor == null ? followIt(current, target) : waitForResize(current, target);
        }
        if (target == null || target.equals(current)) {
            o.put("applied", false);
            o.put("already_done", true);
            o.line("right-size %s: already done (SIZE %s%s)", cluster, current, cmd.size == null ? ", the recommended size" : "");
            if (underWay) {
                o.warn("a resize of " + cluster + " to " + pending.get("target_size") + " is under way; ALTER CLUSTER "
                        + Sql.ident(cluster) + " SET (SIZE " + Sql.literal(current) + ") would cancel it");
            }
            return Exit.OK;
        }
        if (Boolean.FALSE.equals(c.get("managed"))) {
            throw new Fail(Exit.CONFLICT, "cluster " + cluster + " is unmanaged: its replicas are sized one by one, "
                    + "ALTER CLUSTER … SET (SIZE …) does not apply",
                    "add a replica of the new size and drop the old one: CREATE CLUSTER REPLICA " + Sql.ident(cluster)
                            + ".r2 (SIZE = " + Sql.literal(target) + "); DROP CLUSTER REPLICA " + Sql.ident(cluster) + ".<old>");
        }
        if (underWay) {
            throw new Fail(Exit.CONFLICT, "a resize of " + cluster + " to " + pending.get("target_size")
                    + " is under way; nothing was changed", "let it finish (./jbang right-size --apply --size "
                    + Out.shellQuote(String.valueOf(pending.get("target_size"))) + " --wait), or cancel it first: "
                    + "ALTER CLUSTER " + Sql.ident(cluster) + " SET (SIZE " + Sql.literal(current) + ")");
        }
        if (pending != null && target.equals(pending.get("target_size")) && !"finalized".equals(pending.get("status"))) {
            o.warn("the last resize to " + target + " ended with " + pending.get("status") + "; trying again");
        }
        if (snapshotting && ReplicaSizes.compare(credits, target, current) < 0) {
            o.warn("a snapshot is still running on " + cluster + "; shrinking now may slow it or run it out of memory");
        }
        return alter(current, target);
    }

    /** ALTER CLUSTER, then the size read back: at once before v26.35 (a restart), after the cut-over from then. */
    private int alter(String current, String target) throws Exception {
        String cluster = cmd.cluster;
        boolean background = db.atLeast(Mz.BACKGROUND_RESIZE);
        if (!background) {
            o.warn("Materialize " + db.version + " resizes by restarting the cluster at the new size: its sources "
                    + "pause until the new replica has caught up (from " + Mz.BACKGROUND_RESIZE + ", ALTER CLUSTER "
                    + "resizes in the background without downtime)");
        }
        db.exec(String.format(RightSize.ALTER, Sql.ident(cluster), Sql.literal(target)));
        Object now = db.query(String.format(RightSize.CLUSTER, lit)).get(0).get("size");
        o.put("applied", true);
        o.put("size", target);
        if (target.equals(now)) {
            o.line("right-size %s: resized %s -> %s (%s; follow it: SHOW CLUSTER REPLICAS WHERE cluster = %s)", cluster,
                    current, target, background ? "cut over at once" : "the cluster restarted at the new size",
                    Sql.literal(cluster));
            return Exit.OK;
        }
        if (!background) {
            throw new Fail(Exit.VERIFY, "cluster " + cluster + " still has SIZE " + now + " after ALTER CLUSTER",
                    "check SHOW CLUSTER REPLICAS WHERE cluster = " + Sql.literal(cluster));
        }
        Map<String, Object> r = reconfiguration();
        if (r == null || !"in-progress".equals(r.get("status"))) {
            throw ended(r, current, target);
        }
        o.put("in_progress", true);
        o.line("right-size %s: resizing %s -> %s in the background: Materialize adds %s replicas beside the %s ones "
                + "and switches once they have hydrated (no downtime; rolled back after 24 h without hydrating)",
                cluster, current, target, target, current);
        return cmd.waitFor == null ? followIt(current, target) : waitForResize(current, target);
    }

    /** The background resize is under way and not waited for: how to follow it. */
    private int followIt(String current, String target) {
        o.line("right-size %s: until the cut-over mz_clusters shows %s; follow it: SHOW CLUSTERS (activity), or "
                + "./jbang right-size%s --size %s --apply --wait", cmd.cluster, current,
                cmd.cluster.equals("ingest_postgres") ? "" : " --cluster " + Out.shellQuote(cmd.cluster), Out.shellQuote(target));
        return Exit.OK;
    }

    /** --wait: polls the cluster's size and its reconfiguration until the cut-over, its end, or the time is up. */
    private int waitForResize(String current, String target) throws Exception {
        long deadline = System.nanoTime() + cmd.waitFor.toNanos();
        long pause = Math.min(5000, Math.max(100, cmd.waitFor.toMillis() / 20));
        while (true) {
            Object now = db.query(String.format(RightSize.CLUSTER, lit)).get(0).get("size");
            Map<String, Object> r = reconfiguration();
            if (target.equals(now)) {
                o.put("in_progress", false);
                o.put("size", target);
                o.line("right-size %s: resized %s -> %s (the new replicas hydrated; cut over)", cmd.cluster, current, target);
                return Exit.OK;
            }
            if (r == null || !"in-progress".equals(r.get("status"))) {
                throw ended(r, current, target);
            }
            if (System.nanoTime() > deadline) {
                throw new Fail(Exit.TIMEOUT, "cluster " + cmd.cluster + " is still resizing " + current + " -> " + target
                        + " after " + Durations.show(cmd.waitFor) + " (the resize goes on)",
                        "wait longer: ./jbang right-size --size " + Out.shellQuote(target) + " --apply --wait 2h; "
                                + "SHOW CLUSTERS shows its activity");
            }
            Thread.sleep(pause);
        }
    }

    /** The cluster's reconfiguration row (v26.34+), or null when it has none. */
    private Map<String, Object> reconfiguration() throws SQLException {
        List<Map<String, Object>> rows = db.query(String.format(RightSize.RECONFIGURATION, lit));
        return rows.isEmpty() ? null : rows.get(0);
    }

    /** A background resize that ended without the new size: rolled back, cancelled, or out of resources. */
    private Fail ended(Map<String, Object> r, String current, String target) {
        String status = r == null ? "no reconfiguration recorded" : String.valueOf(r.get("status"));
        return new Fail(Exit.VERIFY, "cluster " + cmd.cluster + " did not reach SIZE " + target + ": its resize ended "
                + "with " + status + " and it keeps " + current, "timed-out means the new replicas did not hydrate "
                + "in time (a bigger size, or fewer objects on the cluster); resource-exhausted: choose a size the "
                + "region has room for; see SHOW CLUSTERS and mz_internal.mz_cluster_reconfigurations");
    }
}

/**
 * Right-size's supporting code, not the step itself: each replica's use over the samples ({@link Use}; the
 * sampling, which falls back to memory_percent where heap_percent is missing), the snapshot state and the
 * slots shaped for JSON, the report and the --dry-run plan, and sizes as text (--max-lag, percentages).
 */
final class ClusterReadings {
    private ClusterReadings() {}

    /** A replica's use over the samples. */
    static final class Use {
        final String replica;
        final String size;
        Double cpuMin;
        Double cpuMax;
        Double memMin;
        Double memMax;

        Use(String replica, String size) {
            this.replica = replica;
            this.size = size;
        }

        void add(Object cpu, Object mem) {
            if (cpu != null) {
                double c = ((Number) cpu).doubleValue();
                cpuMin = cpuMin == null ? c : Math.min(cpuMin, c);
                cpuMax = cpuMax == null ? c : Math.max(cpuMax, c);
            }
            if (mem != null) {
                double m = ((Number) mem).doubleValue();
                memMin = memMin == null ? m : Math.min(memMin, m);
                memMax = memMax == null ? m : Math.max(memMax, m);
            }
        }

        boolean measured() {
            return cpuMin != null || memMin != null;
        }
    }

    /** The --dry-run plan: the queries on Materialize and upstream, and the ALTER CLUSTER --apply would run. */
    static void plan(Out o, Mz db, RightSize step, String lit, boolean upstream) {
        o.line("-- dry run: no Materialize was contacted. On Materialize (the utilisation query --samples times, "
                + Durations.show(step.interval) + " apart):");
        db.planned(String.format(RightSize.CLUSTER, lit));
        db.planned(RightSize.SIZES);
        db.planned(String.format(RightSize.UTILIZATION, lit));
        db.planned(String.format(RightSize.SNAPSHOT, lit));
        db.planned(String.format(RightSize.SLOTS, lit));
        if (upstream) {
            o.line("-- upstream, for the slots found above:");
            o.statement(String.format(RightSize.SLOT_LAG, Sql.literal("<replication_slot>")));
        }
        if (step.apply && step.size != null) {
            o.line("-- then, unless %s already has SIZE %s (or a resize to it is under way, v26.34+):", step.cluster, step.size);
            db.planned(String.format(RightSize.RECONFIGURATION, lit));
            db.planned(String.format(RightSize.ALTER, Sql.ident(step.cluster), Sql.literal(step.size)));
            o.line("-- then the size read back; from v26.35 the resize runs in the background (the query above%s)",
                    step.waitFor != null ? ", until the cut-over, at most " + Durations.show(step.waitFor) : "");
        } else if (step.apply) {
            o.line("-- then ALTER CLUSTER %s SET (SIZE '<the recommended size>'), known only from the readings",
                    Sql.ident(step.cluster));
        } else {
            o.line("-- no change without --apply");
        }
    }

    /**
     * The utilisation query --samples times, --interval apart, into {@code uses}; the memory metric read:
     * heap_percent, or memory_percent on a Materialize older than the 2025-10-20 change.
     */
    static String sample(Out o, Mz db, String lit, int samples, Duration interval, Map<String, Use> uses) throws Exception {
        String metric = "heap_percent";
        String util = String.format(RightSize.UTILIZATION, lit);
        for (int i = 0; i < samples; i++) {
            if (i > 0) {
                Thread.sleep(interval.toMillis());
            }
            List<Map<String, Object>> rows;
            try {
                rows = db.query(util);
            } catch (Fail f) {
                if (!metric.equals("heap_percent") || !noHeapColumn(f)) {
                    throw f;
                }
                metric = "memory_percent";
                util = String.format(RightSize.UTILIZATION_MEMORY, lit);
                o.warn("this Materialize has no heap_percent (added 2025-10-20); using memory_percent");
                rows = db.query(util);
            }
            for (Map<String, Object> r : rows) {
                uses.computeIfAbsent((String) r.get("replica"), k -> new Use(k, (String) r.get("size")))
                        .add(r.get("cpu_percent"), r.get("memory_percent"));
            }
        }
        return metric;
    }

    /** Whether the utilisation query failed for want of heap_percent (undefined column, 42703). */
    static boolean noHeapColumn(Fail f) {
        Throwable t = f.getCause();
        if (t instanceof SQLException s && "42703".equals(s.getSQLState())) {
            return true;
        }
        return String.valueOf(f.getMessage()).contains("heap_percent");
    }

    /** The {@link RightSize#SNAPSHOT} row as the "sources" object; snapshot_committed is null without sources. */
    static Map<String, Object> sources(Map<String, Object> snap) {
        long sources = ((Number) snap.get("sources")).longValue();
        Boolean committed = (Boolean) snap.get("snapshot_committed");
        Map<String, Object> srcs = new LinkedHashMap<>();
        srcs.put("sources", sources);
        srcs.put("objects", ((Number) snap.get("objects")).longValue());
        srcs.put("snapshot_committed", sources == 0 ? null : Boolean.TRUE.equals(committed));
        return srcs;
    }

    /** The {@link RightSize#SLOTS} rows (slot lag, step 1) as the "slots" objects: the source and its slot. */
    static List<Map<String, Object>> slots(List<Map<String, Object>> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("source", r.get("database_name") + "." + r.get("schema_name") + "." + r.get("source_name"));
            m.put("slot", r.get("replication_slot"));
            out.add(m);
        }
        return out;
    }

    /** The {@link RightSize#SLOT_LAG} rows (slot lag, step 2) into the slots; a slot not found upstream is a warning. */
    static void lag(Out o, List<Map<String, Object>> out, List<Map<String, Object>> rows) {
        Map<String, Map<String, Object>> lag = new LinkedHashMap<>();
        for (Map<String, Object> r : rows) {
            lag.put((String) r.get("slot_name"), r);
        }
        for (Map<String, Object> m : out) {
            Map<String, Object> r = lag.get(String.valueOf(m.get("slot")));
            m.put("found", r != null);
            if (r == null) {
                o.warn("slot " + m.get("slot") + " (" + m.get("source") + ") is not in pg_replication_slots upstream; "
                        + "is --pg-url/DATABASE_URL the source's database?");
                continue;
            }
            m.put("replication_lag_bytes", r.get("replication_lag_bytes"));
            m.put("lag_bytes", r.get("lag_bytes") == null ? null : new BigDecimal(r.get("lag_bytes").toString()));
        }
    }

    /** The readings and the recommendation: the cluster, a table of its replicas' use, sources, slots. */
    static void show(Out o, String cluster, Map<String, Object> c, Map<String, Use> uses, String metric,
                     Map<String, Object> srcs, List<Map<String, Object>> slots, RightSize.Recommendation rec) {
        if (Boolean.FALSE.equals(c.get("managed"))) {
            o.line("cluster %s: unmanaged (replicas sized one by one)", cluster);
        } else {
            o.line("cluster %s: SIZE %s, REPLICATION FACTOR %s", cluster, c.get("size"), c.get("replication_factor"));
        }
        List<List<?>> rows = new ArrayList<>();
        List<Map<String, Object>> json = new ArrayList<>();
        for (Use u : uses.values()) {
            rows.add(List.of(u.replica, u.size, range(u.cpuMin, u.cpuMax), range(u.memMin, u.memMax)));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("replica", u.replica);
            m.put("size", u.size);
            m.put("cpu_percent_min", u.cpuMin);
            m.put("cpu_percent_max", u.cpuMax);
            m.put("memory_percent_min", u.memMin);
            m.put("memory_percent_max", u.memMax);
            json.add(m);
        }
        o.put("replicas", json);
        o.table(List.of("replica", "size", "cpu", metric.equals("heap_percent") ? "heap" : "memory"), rows);
        if (uses.values().stream().map(u -> u.size).distinct().count() > 1) {
            o.warn("the replicas have different sizes: a resize may be under way");
        }
        if (uses.isEmpty()) {
            o.warn("cluster " + cluster + " has no replicas (REPLICATION FACTOR 0?): its sources are paused");
        }
        long n = (Long) srcs.get("sources");
        o.line("sources on %s: %d%s", cluster, n, n == 0 ? "" : ", snapshot "
                + (Boolean.TRUE.equals(srcs.get("snapshot_committed")) ? "committed" : "still running"));
        for (Map<String, Object> s : slots) {
            if (s.containsKey("replication_lag_bytes")) {
                o.line("upstream slot %s (%s): %s behind (pg_current_wal_lsn() - confirmed_flush_lsn)", s.get("slot"),
                        s.get("source"), s.get("replication_lag_bytes"));
            }
        }
        o.put("slots", slots);
        o.line("recommendation: %s%s: %s", rec.action(), rec.action().equals("keep") ? "" : " to " + rec.target(),
                String.join("; ", rec.reasons()));

        Map<String, Object> recJson = new LinkedHashMap<>();
        recJson.put("action", rec.action());
        recJson.put("size", rec.target());
        recJson.put("reasons", rec.reasons());
        o.put("recommendation", recJson);
    }

    static String range(Double min, Double max) {
        if (min == null) {
            return "-";
        }
        return min.equals(max) ? pct(min) : pct(min) + "-" + pct(max);
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.0f%%", v);
    }

    /** 1GB, 512MB, 64kB, 1000 (bytes): 1024-based like pg_size_pretty. */
    static long bytes(String s) {
        Matcher m = Pattern.compile("(?i)\\s*(\\d+)\\s*(b|bytes|kb|mb|gb|tb)?\\s*").matcher(s);
        if (!m.matches()) {
            throw Fail.usage("--max-lag " + s + " is not a size", "e.g. --max-lag 512MB or 2GB");
        }
        long n = Long.parseLong(m.group(1));
        String u = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (u) {
            case "kb" -> n << 10;
            case "mb" -> n << 20;
            case "gb" -> n << 30;
            case "tb" -> n << 40;
            default -> n;
        };
    }

    /** pg_size_pretty-like text for a byte count. */
    static String pretty(long n) {
        String[] units = {"bytes", "kB", "MB", "GB", "TB"};
        double v = n;
        int u = 0;
        while (v >= 10 * 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return Math.round(v) + " " + units[u];
    }
}
