///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/SourceTypes.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Day 2: check a schema migration before it is deployed: runs it upstream in a transaction that is always rolled back, and says per published table whether Materialize keeps ingesting it (safe) or stops it for good (breaks), with the order that avoids it.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.SourceTypes;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Day 2 — upstream schema changes. Materialize's PostgreSQL source checks each table it ingests against the
 * upstream's current shape and stops the table for good ("incompatible schema change: source table t with oid
 * N has been altered", "table was truncated", "table was dropped") unless every ingested column keeps its name,
 * position, type and type modifier (TEXT COLUMNS may change type), a NOT NULL column stays NOT NULL, every key
 * stays as it was, and the table keeps its oid, schema and name. Adding a column or a key, or setting NOT NULL,
 * is harmless. Excluded columns, and the keys that name them, are not checked. These rules are Materialize's
 * (src/postgres-util/src/desc.rs, src/storage/src/source/postgres.rs, src/sql/src/pure/postgres.rs; the facts'
 * schema_rules), and EvolveTest replays Materialize's own scenarios (test/pg-cdc/alter-table-*.td, …).
 *
 * <p>{@code --migration FILE} runs the file in one transaction that is always rolled back, inside a DO block so
 * that no COMMIT in it can escape, with lock_timeout and statement_timeout bounded: it reads the published tables'
 * shape before and after (a fixed number of queries, however many tables), and judges each table.
 */
@Command(name = "evolve", mixinStandardHelpOptions = true,
        description = {"Day 2: check a schema migration before it is deployed. Runs --migration FILE upstream in one "
                + "transaction that is always rolled back (its locks are held for that time, at most --lock-timeout "
                + "each and --statement-timeout in all), compares every published table's shape before and after, "
                + "and says per table whether Materialize keeps ingesting it (safe) or stops it for good (breaks), "
                + "in Materialize's words, with the order that avoids the break for the syntax in use. Exit 9 when "
                + "any change breaks ingestion. No Materialize needed; no prompt (fit for CI)."},
        footer = {"%nExamples:",
                "  ./jbang evolve --migration db/migrate/042_orders_qty_bigint.sql",
                "  ./jbang evolve --migration m.sql --syntax legacy --json | jq '.tables[] | select(.verdict==\"breaks\")'",
                "  ./jbang evolve --migration m.sql --dry-run   # the statements; nothing is run"})
public class Evolve implements Callable<Integer> {
    /**
     * How Materialize's source reads a table (src/postgres-util/src/schemas.rs): oid, schema, name; and its
     * REPLICA IDENTITY, which must stay FULL (the docs' upstream-schema-change-behavior).
     */
    static final String TABLES = """
            WITH published AS (SELECT format('%I.%I', p.schemaname, p.tablename)::regclass::oid AS relid
                               FROM pg_publication_tables p WHERE p.pubname = ?)
            SELECT c.oid::bigint AS oid, n.nspname AS schema_name, c.relname AS table_name, c.relreplident::text AS identity,
                   c.oid IN (SELECT relid FROM published) AS published
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid IN (SELECT relid FROM published UNION SELECT unnest(?::text::oid[]))""";
    /** Its columns: no dropped or generated ones (the replication protocol has no generated columns). */
    static final String COLUMNS = """
            SELECT a.attrelid::bigint AS oid, a.attname AS name, a.attnum AS num, a.atttypid::bigint AS type_oid,
                   a.atttypmod AS typmod, a.attnotnull AS not_null, format_type(a.atttypid, a.atttypmod) AS declared
            FROM pg_attribute a
            WHERE a.attrelid = ANY (?::text::oid[]) AND a.attnum > 0 AND NOT a.attisdropped %s
            ORDER BY a.attrelid, a.attnum""";
    static final String NOT_GENERATED = "AND a.attgenerated = ''";
    /** Its keys: primary keys and unique constraints, each by its constraint's oid and name. */
    static final String KEYS = """
            SELECT k.conrelid::bigint AS oid, k.oid::bigint AS key_oid, k.conname AS name, k.conkey::text AS cols,
                   k.contype = 'p' AS is_primary, %s AS nulls_not_distinct
            FROM unnest(?::text::oid[]) r(oid) JOIN pg_constraint k ON k.conrelid = r.oid
                 LEFT JOIN pg_index i ON i.indexrelid = k.conindid
            WHERE k.contype IN ('p', 'u')
            ORDER BY k.conrelid, k.oid""";
    /** TRUNCATE is noticed by a statement trigger on each published table, created (and rolled back) with the run. */
    static final String WATCH_TRUNCATE = """
            CREATE TEMP TABLE evolve_truncated (relid oid) ON COMMIT DROP;
            CREATE FUNCTION pg_temp.evolve_truncated() RETURNS trigger LANGUAGE plpgsql AS
              $f$ BEGIN INSERT INTO evolve_truncated VALUES (TG_RELID); RETURN NULL; END $f$;
            DO $d$ DECLARE r record; BEGIN
              FOR r IN SELECT unnest(%s::oid[])::regclass AS t LOOP
                EXECUTE format('CREATE TRIGGER evolve_truncate_watch BEFORE TRUNCATE ON %%s FOR EACH STATEMENT '
                               'EXECUTE FUNCTION pg_temp.evolve_truncated()', r.t);
              END LOOP; END $d$""";
    static final String TRUNCATED = "SELECT DISTINCT relid::bigint AS oid FROM evolve_truncated";
    static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = %s";
    static final String STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = %s";
    /** The migration, inside DO: a COMMIT in it fails instead of committing, and so do statements no transaction takes. */
    static final String RUN = "DO %s";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = "--migration", paramLabel = "FILE", required = true,
            description = "The migration to check: SQL statements as psql -f would run them (no psql \\commands).")
    Path migration;

    @Option(names = "--publication", paramLabel = "NAME", description = "Publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--syntax", paramLabel = "new|legacy", description = "How the source ingests the tables, for "
            + "the advice: new (CREATE TABLE … FROM SOURCE, the default from Materialize v26.25, as ./jbang source "
            + "makes it) or legacy (subsources). Default ${DEFAULT-VALUE}.")
    String syntax = "new";

    @Option(names = "--text-column", paramLabel = "COLUMNS", description = "Columns the source ingests as text besides "
            + "those of types Materialize lacks (as ./jbang source --text-column): their type may change.")
    List<String> textColumns = new ArrayList<>();

    @Option(names = "--exclude-column", paramLabel = "COLUMNS", description = "Columns the source leaves out (as "
            + "./jbang source --exclude-column): not checked, nor the keys that name them.")
    List<String> excludeColumns = new ArrayList<>();

    @Option(names = "--lock-timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "lock_timeout for the run (default 5s): how long one of its locks may be waited for.")
    Duration lockTimeout = Duration.ofSeconds(5);

    @Option(names = "--statement-timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "statement_timeout for the run (default 2m): its locks are held at most this long.")
    Duration statementTimeout = Duration.ofMinutes(2);

    public static void main(String... args) {
        Cli.main(new Evolve(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (!List.of("new", "legacy").contains(syntax)) {
            throw Fail.usage("--syntax must be new or legacy, not " + syntax, "--syntax new (CREATE TABLE … FROM SOURCE)");
        }
        Durations.requirePositive("--lock-timeout", lockTimeout, "5s");
        Durations.requirePositive("--statement-timeout", statementTimeout, "2m");
        String sql = withoutOwnTransaction(read(migration));
        o.put("migration", migration.toString());
        o.put("publication", publication);
        o.put("syntax", syntax);
        try (Pg db = pg.connect(o)) {
            EvolveCheck check = new EvolveCheck(this, o, db);
            if (db.query("SELECT 1 FROM pg_publication WHERE pubname = ?", publication).isEmpty()) {
                throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist upstream; nothing was run",
                        "name the publication Materialize reads: --publication NAME (./jbang publication makes it)");
            }
            if (o.dryRun()) {
                return check.plan(sql);
            }
            o.line("evolve: running %s in a transaction that is rolled back (lock_timeout %s, statement_timeout %s: "
                            + "its locks are taken for that time)", migration, Durations.show(lockTimeout),
                    Durations.show(statementTimeout));
            List<EvolveCheck.Verdict> verdicts = check.run(sql);
            return check.report(verdicts);
        }
    }

    private static String read(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            if (s.isBlank()) {
                throw Fail.usage("migration " + file + " is empty", "give the SQL file the deployment would run");
            }
            return s;
        } catch (java.nio.file.NoSuchFileException e) {
            throw Fail.usage("migration " + file + ": no such file", "give the path of the SQL file to check");
        } catch (java.io.IOException e) {
            throw Fail.usage("migration " + file + " cannot be read: " + e.getMessage(), "check the path and its permissions");
        }
    }

    /** The migration wrapped for {@link #RUN}: EXECUTE of its text, each in a dollar quote the text does not contain. */
    static String wrapped(String sql) {
        String outer = tag("evolve", sql);
        String inner = tag("migration", sql);
        return String.format(RUN, outer + " BEGIN EXECUTE " + inner + "\n" + sql.strip() + "\n" + inner + "; END " + outer);
    }

    private static String tag(String word, String sql) {
        String tag = "$" + word + "$";
        for (int i = 1; sql.contains(tag); i++) {
            tag = "$" + word + i + "$";
        }
        return tag;
    }

    /**
     * The migration without the lines that only open or close its own transaction (BEGIN; … COMMIT;), which the
     * check's transaction stands in for; any other transaction control in it is refused when it runs.
     */
    static String withoutOwnTransaction(String sql) {
        StringBuilder b = new StringBuilder();
        for (String line : sql.split("\n", -1)) {
            if (!line.strip().matches("(?i)(BEGIN|BEGIN\\s+TRANSACTION|BEGIN\\s+WORK|START\\s+TRANSACTION|COMMIT|COMMIT\\s+WORK|END)\\s*;")) {
                b.append(line).append('\n');
            }
        }
        return b.toString();
    }
}

/**
 * evolve's check: the published tables' shape read before and after the migration in one rolled-back transaction,
 * each table judged by Materialize's rules, and the report. Three queries a snapshot, however many tables.
 */
final class EvolveCheck {
    record Col(String name, int num, long typeOid, int typmod, boolean notNull, String declared) {}

    /** A key is compared whole (a re-created one is a new key); equals written out, see {@link #equals}. */
    record Key(long oid, String name, String cols, boolean primary, boolean nullsNotDistinct) {
        /** Not the record's own: that one is bootstrapped through method handles, tens of ms in a cold JVM. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.oid == oid && k.name.equals(name) && k.cols.equals(cols)
                    && k.primary == primary && k.nullsNotDistinct == nullsNotDistinct;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(oid);
        }
    }

    record Shape(long oid, String schema, String name, String identity, boolean published, List<Col> cols, List<Key> keys) {
        String ref() {
            return Sql.qualified(schema, name);
        }
    }

    /** One table's judgement: safe or breaks, what changed, Materialize's words, and the advice. */
    record Verdict(String table, String verdict, List<String> changes, String error, String advice) {}

    private final Evolve cmd;
    private final Out o;
    private final Pg db;
    /** server_version_num, read once: which catalog columns this server has. */
    private final int serverVersion;

    EvolveCheck(Evolve cmd, Out o, Pg db) throws SQLException {
        this.cmd = cmd;
        this.o = o;
        this.db = db;
        this.serverVersion = db.serverVersionNum();
    }

    /** --dry-run: the statements of the run, in order; nothing is run. */
    int plan(String sql) throws SQLException {
        o.line("-- dry run: nothing was run. In one transaction, always rolled back:");
        o.statement("BEGIN");
        o.statement(String.format(Evolve.LOCK_TIMEOUT, Sql.literal(pgDuration(cmd.lockTimeout))));
        o.statement(String.format(Evolve.STATEMENT_TIMEOUT, Sql.literal(pgDuration(cmd.statementTimeout))));
        snapshotPlan("'{}'");
        o.line("-- the columns ./jbang source would ingest as text (types Materialize lacks):");
        o.statement(String.format(SourceTypes.COLUMNS, publishedColumns()).replace("?", Sql.literal(cmd.publication)));
        o.statement(String.format(Evolve.WATCH_TRUNCATE, "'{<the published tables' oids>}'"));
        // a migration may set a role's password: shown masked, as every secret the toolkit prints
        o.statement(Evolve.wrapped(sql).replaceAll("(?i)(PASSWORD\\s+)'(?:[^']|'')*'", "$1'********'"));
        snapshotPlan("'{<the oids read before>}'");
        o.statement(Evolve.TRUNCATED);
        o.statement("ROLLBACK");
        return Exit.OK;
    }

    /** One snapshot's three queries, with their parameters in place: the publication, and table oids. */
    private void snapshotPlan(String also) throws SQLException {
        String pub = Sql.literal(cmd.publication);
        o.statement(Evolve.TABLES.replaceFirst("\\?", pub)
                .replaceFirst("\\?", java.util.regex.Matcher.quoteReplacement(also)));
        String read = "'{<the tables' oids read above>}'";
        o.statement(String.format(Evolve.COLUMNS, generated()).replace("?", read));
        o.statement(String.format(Evolve.KEYS, nullsNotDistinct()).replace("?", read));
    }

    private String generated() {
        return serverVersion >= 120000 ? Evolve.NOT_GENERATED : "";
    }

    private String nullsNotDistinct() {
        return serverVersion >= 150000 ? "coalesce(i.indnullsnotdistinct, false)" : "false";
    }

    private String publishedColumns() {
        return serverVersion >= 150000 ? SourceTypes.PUBLISHED_COLUMNS_15 : SourceTypes.PUBLISHED_COLUMNS_14;
    }

    static String pgDuration(Duration d) {
        return d.toMillis() + "ms";
    }

    /** The run: before, the migration, after, then ROLLBACK whatever happened; the verdicts. */
    List<Verdict> run(String sql) throws Exception {
        Connection c = db.conn();
        c.setAutoCommit(false);
        try {
            exec(c, String.format(Evolve.LOCK_TIMEOUT, Sql.literal(pgDuration(cmd.lockTimeout))));
            exec(c, String.format(Evolve.STATEMENT_TIMEOUT, Sql.literal(pgDuration(cmd.statementTimeout))));
            Map<Long, Map<String, String>> ingestedAsText;
            Map<Long, Shape> before;
            try {
                before = snapshot(List.of());
                ingestedAsText = textColumns(before);
            } catch (SQLException e) {
                throw migrationFailed(e);
            }
            Set<Long> truncated = new LinkedHashSet<>();
            boolean watching = watchTruncate(c, before.keySet());
            try {
                exec(c, Evolve.wrapped(sql));
            } catch (SQLException e) {
                throw migrationFailed(e);
            }
            Map<Long, Shape> after = snapshot(new ArrayList<>(before.keySet()));
            if (watching) {
                db.query(Evolve.TRUNCATED).forEach(r -> truncated.add(((Number) r.get("oid")).longValue()));
            } else if (sql.matches("(?is).*\\btruncate\\b.*")) {
                o.warn("the migration names TRUNCATE, and its tables could not be watched (not their owner): "
                        + "TRUNCATE of a published table stops it in Materialize (table was truncated)");
            }
            return EvolveRules.judge(before, after, truncated, ingestedAsText, excluded(before), cmd.syntax);
        } finally {
            c.rollback();
            c.setAutoCommit(true);
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The truncate watch, under a savepoint: a role that does not own the tables cannot make it, and goes on without. */
    private boolean watchTruncate(Connection c, Set<Long> oids) throws SQLException {
        exec(c, "SAVEPOINT evolve_watch");
        try {
            exec(c, String.format(Evolve.WATCH_TRUNCATE, Sql.literal(oidArray(oids))));
            return true;
        } catch (SQLException e) {
            exec(c, "ROLLBACK TO SAVEPOINT evolve_watch");
            return false;
        }
    }

    static String oidArray(java.util.Collection<Long> oids) {
        return "{" + String.join(",", oids.stream().map(String::valueOf).toList()) + "}";
    }

    /** The published tables (and {@code also}, by oid) with their columns and keys: three queries. */
    Map<Long, Shape> snapshot(List<Long> also) throws SQLException {
        // typed getters, no map per row: a cold JVM pays for every generic call, a row per column of every table
        Map<Long, Shape> tables = new LinkedHashMap<>();
        for (Shape t : db.list(Evolve.TABLES, rs -> new Shape(rs.getLong("oid"), rs.getString("schema_name"),
                rs.getString("table_name"), rs.getString("identity"), rs.getBoolean("published"), new ArrayList<>(),
                new ArrayList<>()), cmd.publication, oidArray(also))) {
            tables.put(t.oid(), t);
        }
        String oids = oidArray(tables.keySet());
        for (Map.Entry<Long, Col> c : db.list(String.format(Evolve.COLUMNS, generated()),
                rs -> Map.entry(rs.getLong("oid"), new Col(rs.getString("name"), rs.getInt("num"), rs.getLong("type_oid"),
                        rs.getInt("typmod"), rs.getBoolean("not_null"), rs.getString("declared"))), oids)) {
            tables.get(c.getKey()).cols().add(c.getValue());
        }
        for (Map.Entry<Long, Key> k : db.list(String.format(Evolve.KEYS, nullsNotDistinct()),
                rs -> Map.entry(rs.getLong("oid"), new Key(rs.getLong("key_oid"), rs.getString("name"), rs.getString("cols"),
                        rs.getBoolean("is_primary"), rs.getBoolean("nulls_not_distinct"))), oids)) {
            tables.get(k.getKey()).keys().add(k.getValue());
        }
        return tables;
    }

    /** What ./jbang source puts in TEXT COLUMNS (types Materialize lacks, and --text-column): table → column → why. */
    private Map<Long, Map<String, String>> textColumns(Map<Long, Shape> before) throws SQLException {
        Map<Long, Map<String, String>> text = new LinkedHashMap<>();
        Map<String, Long> oidOf = oidOf(before);
        for (Map<String, Object> r : db.query(String.format(SourceTypes.COLUMNS, publishedColumns()), cmd.publication)) {
            String why = SourceTypes.reason(r);
            Long oid = oidOf.get(r.get("schema_name") + "\u0000" + r.get("table_name"));
            if (why != null && oid != null) {
                text.computeIfAbsent(oid, k -> new LinkedHashMap<>()).put((String) r.get("attname"), why);
            }
        }
        for (String spec : cmd.textColumns) {
            for (Sql.ColumnRef ref : Sql.parseColumns(spec)) {
                text.computeIfAbsent(find(oidOf, ref, "--text-column"), k -> new LinkedHashMap<>())
                        .put(ref.column(), "asked with --text-column");
            }
        }
        return text;
    }

    /** --exclude-column, by table oid. */
    private Map<Long, Set<String>> excluded(Map<Long, Shape> before) {
        Map<String, Long> oidOf = oidOf(before);
        Map<Long, Set<String>> out = new LinkedHashMap<>();
        for (String spec : cmd.excludeColumns) {
            for (Sql.ColumnRef ref : Sql.parseColumns(spec)) {
                out.computeIfAbsent(find(oidOf, ref, "--exclude-column"), k -> new LinkedHashSet<>()).add(ref.column());
            }
        }
        return out;
    }

    /** The published tables' oids by schema and name (NUL between them: no name holds one). */
    private static Map<String, Long> oidOf(Map<Long, Shape> tables) {
        Map<String, Long> oidOf = new LinkedHashMap<>();
        tables.values().stream().filter(Shape::published).forEach(t -> oidOf.put(t.schema() + "\u0000" + t.name(), t.oid()));
        return oidOf;
    }

    private Long find(Map<String, Long> oidOf, Sql.ColumnRef ref, String opt) {
        List<Long> hits = new ArrayList<>();
        oidOf.forEach((k, v) -> {
            String[] p = k.split("\u0000");
            if (p[1].equals(ref.table()) && (ref.schema() == null || p[0].equals(ref.schema()))) {
                hits.add(v);
            }
        });
        if (hits.size() != 1) {
            throw Fail.usage(opt + " " + ref.display() + ": " + (hits.isEmpty() ? "no such table in publication "
                    + cmd.publication : "the table is in more than one schema"), "give schema.table.column of a published table");
        }
        return hits.get(0);
    }

    /** A migration that failed, or a statement no transaction takes (it needs a run of its own). */
    private Fail migrationFailed(SQLException e) {
        // the server's message and hint, without its "Where:" (the whole migration, as EXECUTE's text)
        String msg = e.getMessage() == null ? e.toString()
                : e.getMessage().replaceFirst("^ERROR: ", "").replaceFirst("(?s)\\n\\s*Where: .*", "");
        if ("25001".equals(e.getSQLState()) || msg.contains("cannot be executed from a function")
                || msg.contains("cannot run inside a transaction block") || msg.contains("invalid transaction termination")
                || msg.contains("EXECUTE of transaction commands is not implemented")) {
            return new Fail(Exit.NEEDS_OWN_RUN, "the migration has a statement that cannot run inside a transaction ("
                    + msg + "); nothing was changed", "check it without that statement (CREATE INDEX CONCURRENTLY, "
                    + "VACUUM, and BEGIN/COMMIT lines change nothing Materialize ingests): keep them in a file of their own", e);
        }
        if ("55P03".equals(e.getSQLState()) || "57014".equals(e.getSQLState())) {
            return new Fail(Exit.TIMEOUT, "the check waited too long for a lock or past its statement_timeout (" + msg
                    + "); it was rolled back, nothing was changed", "run it when the tables are quieter, or allow more: "
                    + "--lock-timeout 30s / --statement-timeout 10m", e);
        }
        return new Fail(Exit.MIGRATION_FAILED, "the migration fails upstream: " + msg + "; it was rolled back, nothing "
                + "was changed", "fix the migration; it would fail the same way when deployed", e);
    }

    /** The verdicts as one aligned table and --json's tables; exit 9 when any change breaks ingestion. */
    int report(List<Verdict> verdicts) {
        List<Map<String, Object>> tables = new ArrayList<>();
        List<List<String>> rows = new ArrayList<>();
        int breaks = 0;
        for (Verdict v : verdicts) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("table", v.table());
            t.put("verdict", v.verdict());
            t.put("changes", v.changes());
            t.put("materialize_error", v.error());
            t.put("advice", v.advice());
            tables.add(t);
            rows.add(List.of(v.table(), v.verdict(), String.join("; ", v.changes())));
            breaks += v.verdict().equals("breaks") ? 1 : 0;
        }
        o.put("tables", tables);
        o.put("breaks", breaks);
        if (!rows.isEmpty()) {
            o.table(List.of("table", "verdict", "change"), rows);
        }
        for (Verdict v : verdicts) {
            if (v.verdict().equals("breaks")) {
                o.line("%s: Materialize: %s", v.table(), v.error());
                o.line("  order: %s", v.advice());
            }
        }
        if (breaks > 0) {
            o.line("evolve: %d of %d table(s) the migration changes would stop ingesting in Materialize", breaks, verdicts.size());
            return Exit.VERIFY;
        }
        o.line("evolve: %s", verdicts.isEmpty() ? "the migration changes no published table"
                : "every change is safe for Materialize (" + verdicts.size() + " table(s))");
        return Exit.OK;
    }
}

/**
 * Materialize's rules for a table its PostgreSQL source ingests (src/postgres-util/src/desc.rs
 * determine_compatibility / PostgresColumnDesc::is_compatible; src/storage/src/source/postgres.rs verify_schema,
 * which lets TEXT COLUMNS change type; src/sql/src/pure/postgres.rs, which leaves excluded columns and the keys
 * naming them out of what is checked), and the order that avoids a break for each syntax (the docs'
 * source-versioning and upstream-schema-changes pages).
 */
final class EvolveRules {
    private EvolveRules() {}

    static List<EvolveCheck.Verdict> judge(Map<Long, EvolveCheck.Shape> before, Map<Long, EvolveCheck.Shape> after,
                                           Set<Long> truncated, Map<Long, Map<String, String>> text,
                                           Map<Long, Set<String>> excluded, String syntax) {
        List<EvolveCheck.Verdict> out = new ArrayList<>();
        for (EvolveCheck.Shape b : before.values()) {
            if (!b.published()) {
                continue;
            }
            EvolveCheck.Shape a = after.get(b.oid());
            Set<String> ex = excluded.getOrDefault(b.oid(), Set.of());
            Set<String> asText = text.getOrDefault(b.oid(), Map.of()).keySet();
            List<String> breaking = new ArrayList<>();
            List<String> safe = new ArrayList<>();
            String error;
            if (a == null) {
                breaking.add("table dropped");
                error = "table was dropped";
            } else if (!a.published()) {
                breaking.add("removed from publication");
                error = "table was dropped";
            } else if (truncated.contains(b.oid())) {
                breaking.add("TRUNCATE");
                error = "table was truncated";
            } else {
                compare(b, a, ex, asText, breaking, safe);
                error = "incompatible schema change: source table " + b.name() + " with oid " + b.oid() + " has been altered";
                if (breaking.isEmpty() && "f".equals(b.identity()) && !"f".equals(a.identity())) {
                    breaking.add("REPLICA IDENTITY no longer FULL");
                    error = "old row missing from replication stream. Did you forget to set REPLICA IDENTITY to FULL "
                            + "for your table? (at its next UPDATE or DELETE)";
                }
            }
            if (!breaking.isEmpty()) {
                out.add(new EvolveCheck.Verdict(b.ref(), "breaks", breaking, error, advice(b, breaking, syntax)));
            } else if (!safe.isEmpty()) {
                out.add(new EvolveCheck.Verdict(b.ref(), "safe", safe, null, null));
            }
        }
        for (EvolveCheck.Shape a : after.values()) {
            if (a.published() && (!before.containsKey(a.oid()) || !before.get(a.oid()).published())) {
                out.add(new EvolveCheck.Verdict(a.ref(), "safe", List.of("added to the publication: not ingested until "
                        + "./jbang source --add-new-tables"), null, null));
            }
        }
        return out;
    }

    /** The table's oid stays; its name, schema, ingested columns and keys against Materialize's rules. */
    private static void compare(EvolveCheck.Shape b, EvolveCheck.Shape a, Set<String> ex, Set<String> asText,
                                List<String> breaking, List<String> safe) {
        if (!a.name().equals(b.name()) || !a.schema().equals(b.schema())) {
            breaking.add("renamed to " + a.ref());
        }
        Map<String, EvolveCheck.Col> now = new LinkedHashMap<>();
        a.cols().forEach(c -> now.put(c.name(), c));
        Set<Integer> excludedNums = new LinkedHashSet<>();
        for (EvolveCheck.Col c : b.cols()) {
            if (ex.contains(c.name())) {
                excludedNums.add(c.num());
                continue;
            }
            EvolveCheck.Col n = now.get(c.name());
            String col = Sql.ident(c.name());
            if (n == null) {
                breaking.add("column " + col + " dropped or renamed");
            } else if (n.num() != c.num()) {
                breaking.add("column " + col + " re-created (position " + c.num() + " → " + n.num() + ")");
            } else {
                boolean typeChanged = n.typeOid() != c.typeOid() || n.typmod() != c.typmod();
                if (typeChanged && !asText.contains(c.name())) {
                    breaking.add("column " + col + " type " + c.declared() + " → " + n.declared());
                } else if (typeChanged) {
                    safe.add("column " + col + " type " + c.declared() + " → " + n.declared() + " (ingested as text)");
                }
                if (c.notNull() && !n.notNull()) {
                    breaking.add("column " + col + " DROP NOT NULL");
                } else if (!c.notNull() && n.notNull()) {
                    safe.add("column " + col + " SET NOT NULL");
                }
            }
        }
        Set<String> beforeCols = new LinkedHashSet<>();
        b.cols().forEach(c -> beforeCols.add(c.name()));
        a.cols().stream().filter(c -> !beforeCols.contains(c.name()))
                .forEach(c -> safe.add("column " + Sql.ident(c.name()) + " " + c.declared() + " added (not ingested until "
                        + "the table is re-created in Materialize)"));
        for (EvolveCheck.Key k : b.keys()) {
            if (namesExcluded(k, excludedNums)) {
                continue;
            }
            if (!a.keys().contains(k)) {
                breaking.add((k.primary() ? "primary key " : "unique constraint ") + Sql.ident(k.name()) + " dropped or changed");
            }
        }
        a.keys().stream().filter(k -> !b.keys().contains(k)).forEach(k -> safe.add((k.primary() ? "primary key " : "unique "
                + "constraint ") + Sql.ident(k.name()) + " added"));
    }

    private static boolean namesExcluded(EvolveCheck.Key k, Set<Integer> excludedNums) {
        if (excludedNums.isEmpty()) {
            return false;
        }
        for (String n : k.cols().replaceAll("[{}]", "").split(",")) {
            if (!n.isBlank() && excludedNums.contains(Integer.parseInt(n.strip()))) {
                return true;
            }
        }
        return false;
    }

    /** The order that avoids the break for the syntax in use, or what becomes unavailable and for how long. */
    static String advice(EvolveCheck.Shape t, List<String> breaking, String syntax) {
        String ref = t.ref();
        String kind = breaking.get(0);
        if (kind.equals("TRUNCATE")) {
            return "use DELETE FROM " + ref + " instead (Materialize ingests deletes; a TRUNCATE stops the table for good"
                    + ", until it is re-created in Materialize with a new snapshot)";
        }
        if (kind.startsWith("REPLICA IDENTITY")) {
            return "keep REPLICA IDENTITY FULL on " + ref + " (./jbang replica-identity --table " + Out.shellQuote(ref)
                    + " puts it back): Materialize needs the old row of every UPDATE and DELETE";
        }
        if (kind.equals("table dropped") || kind.equals("removed from publication")) {
            return "first drop what ingests it in Materialize (" + (syntax.equals("new") ? "DROP TABLE <its table>"
                    : "DROP SOURCE <its subsource>") + ", with what is built on it), then run the migration";
        }
        Set<String> cols = new LinkedHashSet<>();
        breaking.stream().filter(c -> c.startsWith("column ")).forEach(c -> cols.add(c.split(" ")[1]));
        boolean onlyColumns = breaking.stream().allMatch(c -> c.startsWith("column "));
        if (syntax.equals("new") && onlyColumns) {
            boolean retyped = breaking.stream().allMatch(c -> c.contains(" type "));
            return "before the migration, make a new version of the table that " + (retyped ? "ingests "
                    + String.join(", ", cols) + " as text: CREATE TABLE <t>_v2 FROM SOURCE <source> (REFERENCE " + ref
                    + ") WITH (TEXT COLUMNS (" + String.join(", ", cols) + "))" : "leaves " + String.join(", ", cols)
                    + " out: CREATE TABLE <t>_v2 FROM SOURCE <source> (REFERENCE " + ref + ") WITH (EXCLUDE COLUMNS ("
                    + String.join(", ", cols) + "))") + "; once it has hydrated, move what reads the old table to it "
                    + "and drop the old one; then run the migration";
        }
        if (syntax.equals("new")) {
            return "no order avoids it: the table stops in Materialize when the migration runs; afterwards make a new "
                    + "version (CREATE TABLE <t>_v2 FROM SOURCE <source> (REFERENCE " + ref + ")) and move its readers "
                    + "to it: the old table's readers get errors until then (a new snapshot of the table)";
        }
        return "the legacy syntax has no versions: the subsource stops when the migration runs and stays unavailable "
                + "until it is re-created (DROP SOURCE <subsource>, then ./jbang source --add-new-tables: a new snapshot); "
                + "with the new syntax (./jbang source --syntax new) a new version could be made first";
    }
}
