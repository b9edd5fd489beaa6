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
//SOURCES ../lib/neonmz/MzDependents.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Recovery: re-create a Materialize source that cannot go on (slot lost, timeline changed, publication dropped) with everything built on it: says why, captures every dependent's definition to a file first, then drops, re-creates, waits for the snapshot and re-creates the dependents; resumable.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzDependents;
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
 * Recovery. Some failures end a Materialize PostgreSQL source for good: its replication slot lost (invalidated,
 * "overcompacted", removed by Neon), the upstream's timeline changed (a branch restore: "Expected timeline ID"), the
 * publication dropped. Materialize's documented fix is DROP SOURCE … CASCADE and CREATE SOURCE again, after capturing
 * the definitions of what was built on it, which are re-created once the new source has snapshotted. This step does
 * that: it names the reason (the source's status and error, the slot upstream, the timeline, the publication), writes
 * the source's parts (connection, cluster, publication, syntax, each table with its TEXT/EXCLUDE COLUMNS) and every
 * dependent's create_sql to a capture file, then with --apply drops and re-creates, waits for each table's snapshot,
 * re-creates the dependents in order (each hydrated), drops the old slot upstream if it is still there, and compares
 * each table on both sides (rows, and its key column's range). A run stopped anywhere continues from the capture file.
 */
@Command(name = "rebuild", mixinStandardHelpOptions = true,
        description = {"Recovery: re-create a Materialize source that cannot go on, with everything built on it. Says "
                + "why (the source's error, its slot upstream missing or lost, the timeline, the publication), captures "
                + "the source's parts and every view, materialized view and index built on it (create_sql, dependency "
                + "order) to --capture first; --apply then drops the source with CASCADE, re-creates it as it was, waits "
                + "for the snapshot, re-creates the dependents (each hydrated), drops the old slot upstream and compares "
                + "each table (rows, key range). Resumable: the same command continues a stopped run. Without a reason, "
                + "nothing to do."},
        footer = {"%nExamples:",
                "  ./jbang rebuild --mz-url \"$MZ_URL\"                 # why, and the plan; changes nothing",
                "  ./jbang rebuild --mz-url \"$MZ_URL\" --apply",
                "  ./jbang rebuild --mz-url \"$MZ_URL\" --apply --force  # a source that looks healthy, rebuilt anyway",
                "  ./jbang rebuild --mz-url \"$MZ_URL\" --table orders --apply   # one table and what is built on it"})
public class Rebuild implements Callable<Integer> {
    /** The source, with what re-creating it needs: its cluster, connection, slot and timeline, its status. */
    static final String SOURCE = """
            SELECT s.id, d.name AS database_name, sc.name AS schema_name, s.name, s.create_sql, c.name AS cluster_name,
                   cd.name AS connection_database, csc.name AS connection_schema, cn.name AS connection_name,
                   ps.replication_slot, ps.timeline_id, st.status, st.error
            FROM mz_catalog.mz_sources AS s
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = s.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
              LEFT JOIN mz_catalog.mz_clusters AS c ON c.id = s.cluster_id
              LEFT JOIN mz_catalog.mz_connections AS cn ON cn.id = s.connection_id
              LEFT JOIN mz_catalog.mz_schemas AS csc ON csc.id = cn.schema_id
              LEFT JOIN mz_catalog.mz_databases AS cd ON cd.id = csc.database_id
              LEFT JOIN mz_internal.mz_postgres_sources AS ps ON ps.id = s.id
              LEFT JOIN mz_internal.mz_source_statuses AS st ON st.id = s.id
            WHERE s.name = ? AND s.type = 'postgres'""";
    /** Its tables (new syntax) or subsources (legacy), with the upstream table and create_sql (TEXT/EXCLUDE COLUMNS). */
    static final String TABLES = """
            WITH ingested AS (
              SELECT d.object_id AS id, 'subsource' AS kind FROM mz_internal.mz_object_dependencies AS d
                JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
              WHERE d.referenced_object_id = ?
              UNION ALL SELECT id, 'table' FROM mz_catalog.mz_tables WHERE source_id = ?)
            SELECT i.id, i.kind, db.name AS database_name, sc.name AS schema_name, o.name,
                   t.schema_name AS upstream_schema, t.table_name AS upstream_table,
                   coalesce(tb.create_sql, sub.create_sql) AS create_sql
            FROM ingested AS i
              JOIN mz_catalog.mz_objects AS o ON o.id = i.id
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              JOIN mz_catalog.mz_databases AS db ON db.id = sc.database_id
              JOIN mz_internal.mz_postgres_source_tables AS t ON t.id = i.id
              LEFT JOIN mz_catalog.mz_tables AS tb ON tb.id = i.id
              LEFT JOIN mz_catalog.mz_sources AS sub ON sub.id = i.id
            ORDER BY t.schema_name, t.table_name, i.id""";
    /** Upstream: the source's slot, the server's timeline, the publication. */
    static final String UPSTREAM = """
            SELECT (SELECT wal_status FROM pg_replication_slots WHERE slot_name = ?) AS wal_status,
                   (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline_id,
                   EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ?) AS publication_exists""";
    static final String DROP_SLOT = """
            SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s AND NOT active""";
    /** Materialize's statements (the guide's C.3 and the docs' recovery: DROP SOURCE … CASCADE, CREATE SOURCE again). */
    static final String DROP_SOURCE = "DROP SOURCE %s CASCADE";
    static final String CREATE_NEW = "CREATE SOURCE %s IN CLUSTER %s FROM POSTGRES CONNECTION %s (PUBLICATION %s)";
    static final String CREATE_LEGACY = "CREATE SOURCE %s IN CLUSTER %s FROM POSTGRES CONNECTION %s (PUBLICATION %s%s) "
            + "FOR TABLES (%s)";
    static final String CREATE_TABLE = "CREATE TABLE %s FROM SOURCE %s (REFERENCE %s)%s";
    static final String DROP_TABLE = "DROP TABLE %s CASCADE";
    static final String ADD_SUBSOURCE = "ALTER SOURCE %s ADD SUBSOURCE %s AS %s%s";
    /** Per table, on both sides: its rows, and the range of its key's first column (a fingerprint both systems compute). */
    static final String FINGERPRINT = "SELECT count(*) AS n, min(%2$s)::text AS lo, max(%2$s)::text AS hi FROM %1$s";
    static final String COUNT = "SELECT count(*) AS n, NULL::text AS lo, NULL::text AS hi FROM %s";
    /** Upstream: the first column of each table's primary key. */
    static final String KEY = """
            SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = ?::regclass AND i.indisprimary""";

    @Mixin PgOptions pg;
    @Mixin MzOptions mz;
    @Mixin OutputOptions out;

    @Option(names = "--source", paramLabel = "NAME", description = "The Materialize source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--apply", description = "Carry the plan out (without it: the reason and the plan; nothing changes).")
    boolean apply;

    @Option(names = "--table", paramLabel = "NAME", description = "Only this table of the source (new syntax) or subsource "
            + "(legacy), by its Materialize name ([schema.]name), with what is built on it: dropped and made again, its "
            + "snapshot, its dependents; the source itself stays.")
    String table;

    @Option(names = "--force", description = "Rebuild a source that shows no reason to (e.g. to move it to a new slot).")
    boolean force;

    @Option(names = "--parallel", description = "Build the new source beside the old one and swap: not done (see --help's "
            + "refusal); kept so that asking for it is answered.")
    boolean parallel;

    @Option(names = "--capture", paramLabel = "FILE", description = "Where the definitions are kept until it is done "
            + "(default ./rebuild-<source>.capture).")
    Path capture;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "How long to wait for each snapshot and each hydration (default 30m).")
    Duration timeout = Duration.ofMinutes(30);

    public static void main(String... args) {
        Cli.main(new Rebuild(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (parallel) {
            throw Fail.usage("--parallel is not done: ALTER SCHEMA … SWAP (the pinned release has it) swaps whole schemas, "
                    + "and the source's schema holds other objects; replacement materialized views cover materialized "
                    + "views only, not views and indexes", "rebuild in place (readers get errors from the drop until "
                    + "the new snapshot is done): ./jbang rebuild --apply");
        }
        Durations.requirePositive("--timeout", timeout, "30m");
        Path file = capture != null ? capture : Path.of("rebuild-" + source + ".capture");
        o.put("source", source);
        o.put("capture", file.toString());
        try (Mz m = Mz.connectToRead(mz, o)) {
            RebuildPlan plan = Files.exists(file) ? RebuildPlan.load(this, o, m, file) : RebuildPlan.read(this, o, m, file);
            if (plan == null) {
                return Exit.OK;
            }
            return plan.run();
        }
    }

    /** The upstream: the reasons it gives (slot missing or lost, another timeline, no publication); none when unreachable. */
    List<String> upstreamReasons(Out o, String slot, String publication, Object timeline) {
        List<String> why = new ArrayList<>();
        try (Pg db = pg.connect(o)) {
            Map<String, Object> u = db.query(UPSTREAM, slot, publication).get(0);
            if (u.get("wal_status") == null) {
                why.add("its slot " + slot + " does not exist upstream (dropped, removed by Neon, or a branch restore)");
            } else if ("lost".equals(u.get("wal_status"))) {
                why.add("its slot " + slot + " is lost upstream (wal_status lost: past max_slot_wal_keep_size)");
            }
            if (timeline != null && u.get("timeline_id") != null
                    && ((Number) timeline).longValue() != ((Number) u.get("timeline_id")).longValue()) {
                why.add("the upstream is on timeline " + u.get("timeline_id") + ", the source on " + timeline
                        + " (restored: on Neon, a branch restore)");
            }
            if (!Boolean.TRUE.equals(u.get("publication_exists"))) {
                why.add("publication " + publication + " does not exist upstream (create it first: ./jbang publication)");
            }
        } catch (SQLException | Fail e) {
            o.warn("the upstream could not be read (" + e.getMessage() + "): the reasons come from Materialize alone");
        }
        return why;
    }

    /** Drops the old slot upstream when it is still there and unused (a source dropped in Materialize may leave it). */
    void dropOldSlot(Out o, String slot, boolean print) {
        String sql = String.format(DROP_SLOT, Sql.literal(slot));
        if (print) {
            o.line("-- upstream, then: " + sql + ";");
            return;
        }
        try (Pg db = pg.connect(o)) {
            if (!db.query(sql).isEmpty()) {
                o.line("rebuild: dropped the old slot %s upstream", slot);
            }
        } catch (SQLException | Fail e) {
            o.warn("the old slot " + slot + " could not be dropped upstream (" + e.getMessage() + "): " + sql);
        }
    }

    /** Row counts on both sides, per table (once the source has caught up they agree). */
    List<List<String>> counts(Out o, Mz m, List<String[]> tables) {
        List<List<String>> rows = new ArrayList<>();
        try (Pg db = pg.connect(o)) {
            for (String[] t : tables) {
                try {
                    Object key = db.value(KEY, t[1]);
                    Map<String, Object> up = db.query(key == null ? String.format(COUNT, t[1])
                            : String.format(FINGERPRINT, t[1], Sql.ident((String) key))).get(0);
                    Map<String, Object> mine = m.query(key == null ? String.format(COUNT, t[0])
                            : String.format(FINGERPRINT, t[0], Sql.ident((String) key))).get(0);
                    boolean same = String.valueOf(up).equals(String.valueOf(mine));
                    rows.add(List.of(t[0], String.valueOf(mine.get("n")), String.valueOf(up.get("n")), key == null
                            ? "— (no key)" : up.get("lo") + " … " + up.get("hi"), same ? "same"
                            : "differ (still catching up? ./jbang explore compares again)"));
                } catch (SQLException | Fail e) {
                    rows.add(List.of(t[0], "?", "?", "?", "not compared: " + String.valueOf(e.getMessage()).lines().findFirst().orElse("")));
                }
            }
        } catch (Fail e) {
            o.warn("the tables could not be compared (" + e.getMessage() + ")");
        }
        return rows;
    }

    static String capturedNote() {
        return "rebuild: what re-creates the source and what is built on it; kept until it is done; re-run to continue";
    }

    static void save(Properties p, Path file) throws java.io.IOException {
        try (var w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, capturedNote());
        }
    }
}

/**
 * rebuild's plan: the source's parts and its dependents, read from Materialize (or from the capture file of a run
 * that stopped), the reason, and the steps, each skipped when the catalog shows it done.
 */
final class RebuildPlan {
    private final Rebuild cmd;
    private final Out o;
    private final Mz m;
    private final Path file;
    private final Properties cap;
    private final boolean resumed;

    private RebuildPlan(Rebuild cmd, Out o, Mz m, Path file, Properties cap, boolean resumed) {
        this.cmd = cmd;
        this.o = o;
        this.m = m;
        this.file = file;
        this.cap = cap;
        this.resumed = resumed;
    }

    /** A run that stopped: its capture is the plan (the source may be gone already). */
    static RebuildPlan load(Rebuild cmd, Out o, Mz m, Path file) throws java.io.IOException {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        }
        o.line("rebuild: continuing from %s (a run that stopped: nothing it captured is lost)", file);
        return new RebuildPlan(cmd, o, m, file, p, true);
    }

    /** The source now: null (exit 0) when there is no reason to rebuild it. */
    static RebuildPlan read(Rebuild cmd, Out o, Mz m, Path file) throws SQLException {
        List<Map<String, Object>> rows = m.query(Rebuild.SOURCE, cmd.source);
        if (rows.size() != 1) {
            throw new Fail(Exit.NOT_FOUND, rows.isEmpty() ? "Materialize has no PostgreSQL source " + cmd.source
                    : "Materialize has " + rows.size() + " sources named " + cmd.source, "name it: --source NAME");
        }
        Map<String, Object> s = rows.get(0);
        String publication = publication((String) s.get("create_sql"));
        Properties p = new Properties();
        List<String> why = reasons(s);
        why.addAll(cmd.upstreamReasons(o, (String) s.get("replication_slot"), publication, s.get("timeline_id")));
        o.put("reasons", why);
        String error = s.get("error") == null ? "" : (String) s.get("error");
        if (cmd.table != null) {
            why.add("asked for one table: --table " + cmd.table);
        }
        if (why.isEmpty() && !cmd.force) {
            o.line("rebuild: %s is %s%s; nothing to rebuild%s", cmd.source, s.get("status"), error.isEmpty() ? "" : " (" + error + ")",
                    error.contains("connection closed") ? " (\"connection closed\" is transient: the source reconnects by "
                            + "itself; ./jbang monitor follows it)" : "");
            return null;
        }
        why.forEach(w -> o.line("rebuild: why: %s", w));
        p.setProperty("source.id", (String) s.get("id"));
        p.setProperty("source.ref", ref(s.get("database_name"), s.get("schema_name"), s.get("name")));
        p.setProperty("source.at", s.get("database_name") + "\u0000" + s.get("schema_name") + "\u0000" + s.get("name"));
        p.setProperty("source.cluster", Sql.ident((String) s.get("cluster_name")));
        p.setProperty("source.connection", ref(s.get("connection_database"), s.get("connection_schema"), s.get("connection_name")));
        p.setProperty("source.publication", publication);
        p.setProperty("source.slot", String.valueOf(s.get("replication_slot")));
        List<Map<String, Object>> tables = m.query(Rebuild.TABLES, s.get("id"), s.get("id"));
        boolean legacy = tables.stream().anyMatch(t -> "subsource".equals(t.get("kind")));
        if (cmd.table != null) {
            tables = tables.stream().filter(t -> cmd.table.equals(t.get("name"))
                    || cmd.table.equals(t.get("schema_name") + "." + t.get("name"))).toList();
            if (tables.size() != 1) {
                throw new Fail(Exit.NOT_FOUND, cmd.source + " has " + (tables.isEmpty() ? "no" : tables.size()) + " table(s) or "
                        + "subsource(s) named " + cmd.table, "name one of its tables: SHOW TABLES / SHOW SUBSOURCES ON " + cmd.source);
            }
            p.setProperty("scope", "table");
        }
        List<String> keys = new ArrayList<>();
        p.setProperty("source.syntax", legacy ? "legacy" : "new");
        for (Map<String, Object> t : tables) {
            String k = (String) t.get("id");
            keys.add(k);
            p.setProperty(k + ".ref", ref(t.get("database_name"), t.get("schema_name"), t.get("name")));
            p.setProperty(k + ".at", t.get("database_name") + "\u0000" + t.get("schema_name") + "\u0000" + t.get("name"));
            p.setProperty(k + ".upstream", Sql.qualified(m.sourceTableName((String) t.get("upstream_schema")),
                    m.sourceTableName((String) t.get("upstream_table"))));
            p.setProperty(k + ".text", String.join(",", Mz.optionColumns((String) t.get("create_sql"), "TEXT")));
            p.setProperty(k + ".exclude", String.join(",", Mz.optionColumns((String) t.get("create_sql"), "EXCLUDE")));
        }
        p.setProperty("tables", String.join(",", keys));
        return new RebuildPlan(cmd, o, m, file, p, false);
    }

    /** The reasons Materialize gives: the source stalled or failed with an error that ends it. */
    private static List<String> reasons(Map<String, Object> s) {
        List<String> why = new ArrayList<>();
        String error = s.get("error") == null ? "" : (String) s.get("error");
        for (String ends : List.of("overcompacted", "compacted past snapshot point", "has been invalidated",
                "Expected timeline ID", "does not exist", "mysteriously missing")) {
            if (error.contains(ends)) {
                why.add("the source is " + s.get("status") + ": " + error);
                break;
            }
        }
        return why;
    }

    /** The publication a source's create_sql names ({@code PUBLICATION = '…'}, as SHOW CREATE SOURCE prints it). */
    static String publication(String createSql) {
        java.util.regex.Matcher mt = java.util.regex.Pattern.compile("PUBLICATION\\s*=?\\s*'((?:[^']|'')*)'")
                .matcher(createSql == null ? "" : createSql);
        return mt.find() ? mt.group(1).replace("''", "'") : "mz_source";
    }

    static String ref(Object database, Object schema, Object name) {
        return Sql.ident((String) database) + "." + Sql.ident((String) schema) + "." + Sql.ident((String) name);
    }

    /** The plan, printed (no --apply, or --dry-run; exit 0) or carried out (exit 0; the capture file goes at the end). */
    int run() throws Exception {
        boolean print = !cmd.apply || o.dryRun();
        MzDependents deps = new MzDependents(m, o, print, cmd.timeout);
        List<String> keys = List.of(cap.getProperty("tables", "").split(",")).stream().filter(k -> !k.isEmpty()).toList();
        if (!resumed) {
            Set<String> roots = new LinkedHashSet<>(keys);
            if (!oneTable()) {
                roots.add(cap.getProperty("source.id"));
            }
            List<MzDependents.Dependent> built = deps.on(roots);
            MzDependents.requireRecreatable(built, cap.getProperty("source.ref"), "re-create it by hand: SHOW CREATE for "
                    + "each object built on it, DROP SOURCE … CASCADE, ./jbang source, then the objects");
            MzDependents.store(cap, "source", built);
            if (!print) {
                Rebuild.save(cap, file);   // before anything is dropped
                o.line("rebuild: %d table(s) and %d object(s) built on them captured in %s", keys.size(), built.size(), file);
            }
        }
        if (print) {
            o.line("-- the plan%s:", cmd.apply ? " (dry run: nothing is run)" : "; --apply carries it out");
        }
        try {
            Map<String, String> ids = oneTable() ? carryTable(deps, keys.get(0)) : carry(deps, keys);
            deps.recreate(MzDependents.load(cap, "source"), ids);
        } catch (Fail f) {
            throw new Fail(f.exit, f.getMessage() + "; the definitions are kept in " + file, (f.fix == null ? ""
                    : f.fix + "; then ") + "run the same command again: it continues from there", f);
        }
        if (!oneTable()) {
            cmd.dropOldSlot(o, cap.getProperty("source.slot"), print);
        }
        if (print) {
            o.put("plan", deps.planned());
            return Exit.OK;
        }
        Files.deleteIfExists(file);
        List<String[]> pairs = new ArrayList<>();
        keys.forEach(k -> pairs.add(new String[] {cap.getProperty(k + ".ref"), cap.getProperty(k + ".upstream")}));
        List<List<String>> counts = cmd.counts(o, m, pairs);
        if (!counts.isEmpty()) {
            o.table(List.of("table", "rows in Materialize", "rows upstream", "key range", ""), counts);
            o.put("verified", counts.stream().map(r -> Map.of("table", r.get(0), "rows", r.get(1), "rows_upstream", r.get(2),
                    "same", r.get(4).equals("same"))).toList());
        }
        o.line("rebuild: %s re-created with %d table(s) and what was built on them", cap.getProperty("source.ref"), keys.size());
        return Exit.OK;
    }

    private boolean oneTable() {
        return "table".equals(cap.getProperty("scope"));
    }

    /** --table: that table dropped (if the old one is there) and made again (legacy: the subsource added again). */
    private Map<String, String> carryTable(MzDependents deps, String k) throws Exception {
        boolean print = deps.print();
        String ref = cap.getProperty(k + ".ref");
        String[] t = cap.getProperty(k + ".at").split("\u0000");
        boolean legacy = cap.getProperty("source.syntax").equals("legacy");
        String now = print ? k : deps.idOf(t[0], t[1], t[2]);
        if (k.equals(now)) {
            deps.exec(String.format(legacy ? Rebuild.DROP_SOURCE : Rebuild.DROP_TABLE, ref));
            now = null;
        }
        if (now == null) {
            String up = cap.getProperty(k + ".upstream");
            deps.exec(legacy ? String.format(Rebuild.ADD_SUBSOURCE, cap.getProperty("source.ref"), up, ref,
                    legacyWith(k)) : String.format(Rebuild.CREATE_TABLE, ref, cap.getProperty("source.ref"), up,
                    with(cap.getProperty(k + ".text"), cap.getProperty(k + ".exclude"))));
        }
        Map<String, String> ids = new LinkedHashMap<>();
        ids.put(k, print ? "<new>" : deps.idOf(t[0], t[1], t[2]));
        deps.await(ids.get(k), MzDependents.SNAPSHOT_DONE, "the snapshot of " + ref + " (./jbang right-size can size the "
                + "cluster for it)");
        return ids;
    }

    /** ADD SUBSOURCE's WITH: the table's TEXT/EXCLUDE COLUMNS, each schema.table.column. */
    private String legacyWith(String k) {
        String opts = legacyOptions(List.of(k));
        return opts.isEmpty() ? "" : " WITH (" + opts.substring(2) + ")";
    }

    /** The source dropped (if the old one is there), made again with its tables, each snapshot waited for. */
    private Map<String, String> carry(MzDependents deps, List<String> keys) throws Exception {
        boolean print = deps.print();
        String ref = cap.getProperty("source.ref");
        String[] at = cap.getProperty("source.at").split("\u0000");
        String now = print ? cap.getProperty("source.id") : deps.idOf(at[0], at[1], at[2]);
        if (now != null && now.equals(cap.getProperty("source.id"))) {
            deps.exec(String.format(Rebuild.DROP_SOURCE, ref));
            now = null;
        }
        boolean legacy = cap.getProperty("source.syntax").equals("legacy");
        String pub = Sql.literal(cap.getProperty("source.publication"));
        if (now == null) {
            deps.exec(legacy ? String.format(Rebuild.CREATE_LEGACY, ref, cap.getProperty("source.cluster"),
                    cap.getProperty("source.connection"), pub, legacyOptions(keys), forTables(keys))
                    : String.format(Rebuild.CREATE_NEW, ref, cap.getProperty("source.cluster"), cap.getProperty("source.connection"), pub));
        }
        Map<String, String> ids = new LinkedHashMap<>();
        ids.put(cap.getProperty("source.id"), print ? "<new>" : deps.idOf(at[0], at[1], at[2]));
        for (String k : keys) {
            String[] t = cap.getProperty(k + ".at").split("\u0000");
            String id = print ? null : deps.idOf(t[0], t[1], t[2]);
            if (!legacy && id == null) {
                deps.exec(String.format(Rebuild.CREATE_TABLE, cap.getProperty(k + ".ref"), ref, cap.getProperty(k + ".upstream"),
                        with(cap.getProperty(k + ".text"), cap.getProperty(k + ".exclude"))));
                id = print ? null : deps.idOf(t[0], t[1], t[2]);
            }
            ids.put(k, print ? "<new>" : id);
            deps.await(ids.get(k), MzDependents.SNAPSHOT_DONE, "the snapshot of " + cap.getProperty(k + ".ref")
                    + " (./jbang right-size can size the cluster for it)");
        }
        return ids;
    }

    private static String with(String text, String exclude) {
        List<String> opts = new ArrayList<>();
        if (!text.isEmpty()) {
            opts.add("TEXT COLUMNS (" + String.join(", ", List.of(text.split(",")).stream().map(Sql::ident).toList()) + ")");
        }
        if (!exclude.isEmpty()) {
            opts.add("EXCLUDE COLUMNS (" + String.join(", ", List.of(exclude.split(",")).stream().map(Sql::ident).toList()) + ")");
        }
        return opts.isEmpty() ? "" : " WITH (" + String.join(", ", opts) + ")";
    }

    /** Legacy: TEXT/EXCLUDE COLUMNS at the source, each schema.table.column. */
    private String legacyOptions(List<String> keys) {
        List<String> text = new ArrayList<>();
        List<String> exclude = new ArrayList<>();
        for (String k : keys) {
            String up = cap.getProperty(k + ".upstream");
            List.of(cap.getProperty(k + ".text").split(",")).stream().filter(c -> !c.isEmpty()).forEach(c -> text.add(up + "." + Sql.ident(c)));
            List.of(cap.getProperty(k + ".exclude").split(",")).stream().filter(c -> !c.isEmpty()).forEach(c -> exclude.add(up + "." + Sql.ident(c)));
        }
        return (text.isEmpty() ? "" : ", TEXT COLUMNS (" + String.join(", ", text) + ")")
                + (exclude.isEmpty() ? "" : ", EXCLUDE COLUMNS (" + String.join(", ", exclude) + ")");
    }

    private String forTables(List<String> keys) {
        return String.join(", ", keys.stream().map(k -> cap.getProperty(k + ".upstream") + " AS " + cap.getProperty(k + ".ref")).toList());
    }
}
