///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
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
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/SourceTypes.java
//SOURCES ../lib/neonmz/Sql.java
//SOURCES ../lib/neonmz/SqlScript.java
//DESCRIPTION Day 2: check a schema migration before it is deployed: runs it upstream in a transaction that is always rolled back, or for real on a temporary Neon branch that is always deleted (--on-branch), and says per published table whether Materialize keeps ingesting it (safe) or stops it for good (breaks), with the order that avoids it.

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

import com.google.gson.JsonObject;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzDependents;
import neonmz.MzOptions;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Secrets;
import neonmz.SourceTypes;
import neonmz.Sql;
import neonmz.SqlScript;
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
 *
 * <p>{@code --on-branch} runs it instead on a temporary Neon branch made through the API (what Neon's branching is
 * for): for real, statement by statement as psql -f runs a file, so CREATE INDEX CONCURRENTLY and VACUUM run too,
 * and nothing waits on the production compute's locks. The branch is deleted whatever happens ({@link EvolveBranch}).
 */
@Command(name = "evolve", mixinStandardHelpOptions = true,
        description = {"Day 2: check a schema migration before it is deployed. Runs --migration FILE upstream in one "
                + "transaction that is always rolled back (its locks are held for that time, at most --lock-timeout "
                + "each and --statement-timeout in all), compares every published table's shape before and after, "
                + "and says per table whether Materialize keeps ingesting it (safe) or stops it for good (breaks), "
                + "in Materialize's words, with the order that avoids the break for the syntax in use. Exit 9 when "
                + "any change breaks ingestion. No Materialize needed; no prompt (fit for CI).",
                "--on-branch (Neon, the way to check against production): the same check on a temporary branch of "
                        + "--branch (default: the project's default branch) as it is now, made through the Neon API "
                        + "(NEON_API_KEY) and used through its own connection URI; the migration runs there for real, "
                        + "statement by statement as psql -f runs it, so statements no transaction takes (CREATE INDEX "
                        + "CONCURRENTLY, VACUUM) run too. The branch is deleted always: after the check, when the "
                        + "migration fails, and on Ctrl-C; exit 21 names it with the command to delete it if it could "
                        + "not be. The parent is never connected to."},
        footer = {"%nExamples:",
                "  ./jbang evolve --migration db/migrate/042_orders_qty_bigint.sql",
                "  ./jbang evolve --migration m.sql --syntax legacy --json | jq '.tables[] | select(.verdict==\"breaks\")'",
                "  ./jbang evolve --migration m.sql --dry-run   # the statements; nothing is run",
                "  NEON_API_KEY=… ./jbang evolve --migration m.sql --on-branch --project shiny-wind-028834"})
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
    /**
     * TRUNCATE is noticed by a statement trigger on each published table into a temporary table: dropped with the
     * rolled-back transaction, or kept by the session on a branch (where the migration commits as it goes).
     */
    static final String WATCH_TABLE = "CREATE TEMP TABLE evolve_truncated (relid oid) ON COMMIT DROP";
    static final String WATCH_TABLE_SESSION = "CREATE TEMP TABLE evolve_truncated (relid oid)";
    static final String WATCH_TRUNCATE = """
            CREATE FUNCTION pg_temp.evolve_truncated() RETURNS trigger LANGUAGE plpgsql AS
              $f$ BEGIN INSERT INTO evolve_truncated VALUES (TG_RELID); RETURN NULL; END $f$;
            DO $d$ DECLARE r record; BEGIN
              FOR r IN SELECT unnest(%s::oid[])::regclass AS t LOOP
                EXECUTE format('CREATE TRIGGER evolve_truncate_watch BEFORE TRUNCATE ON %%s FOR EACH STATEMENT '
                               'EXECUTE FUNCTION pg_temp.evolve_truncated()', r.t);
              END LOOP; END $d$""";
    static final String TRUNCATED = "SELECT DISTINCT relid::bigint AS oid FROM evolve_truncated";
    /** SET LOCAL in the rolled-back transaction; SET SESSION on a branch, where each statement is a transaction. */
    static final String LOCK_TIMEOUT = "SET %s lock_timeout = %s";
    static final String STATEMENT_TIMEOUT = "SET %s statement_timeout = %s";
    /** ./jbang guard refuses TRUNCATE (with --strict, breaking DDL too) unless this is set: the check must see it run. */
    static final String GUARD_OFF = "SET %s neonmz.guard = off";
    /** The migration, inside DO: a COMMIT in it fails instead of committing, and so do statements no transaction takes. */
    static final String RUN = "DO %s";
    static final String PUBLICATION = "SELECT 1 FROM pg_publication WHERE pubname = ?";

    @Mixin PgOptions pg;
    @Mixin MzOptions mz;
    @Mixin OutputOptions out;
    @Mixin NeonOptions neon;

    @Option(names = "--migration", paramLabel = "FILE",
            description = "The migration to check: SQL statements as psql -f would run them (no psql \\commands). "
                    + "Without it, and with --mz-url: what has drifted since, and the plan to follow it.")
    Path migration;

    @Option(names = "--source", paramLabel = "NAME", description = "With --mz-url/MZ_URL: the Materialize source whose "
            + "tables are judged, with the TEXT COLUMNS, EXCLUDE COLUMNS and syntax it uses (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--apply", description = "With --mz-url and no --migration: carry the plan out (re-create each "
            + "drifted table in Materialize and what is built on it; resumable from --capture).")
    boolean apply;

    @Option(names = "--drop-gone", description = "With --apply: also drop the Materialize tables whose upstream table "
            + "is gone (with what is built on them); without it they are only reported.")
    boolean dropGone;

    @Option(names = "--capture", paramLabel = "FILE", description = "With --apply: where the definitions of what is "
            + "re-created are kept until it is done (default ./evolve-<source>.capture).")
    Path capture;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "With --apply: how long to wait for each new table's snapshot and each re-created object's "
                    + "hydration (default 30m).")
    Duration timeout = Duration.ofMinutes(30);

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
            description = "statement_timeout for the run (default 2m): its locks are held at most this long "
                    + "(with --on-branch: for each statement).")
    Duration statementTimeout = Duration.ofMinutes(2);

    /** With --mz-url: the upstream tables (schema-qualified, as SQL) the source ingests; null: every published one. */
    Set<String> ingested;

    @Option(names = "--on-branch", description = "Run the migration for real on a temporary Neon branch of --branch, "
            + "as it is now, made through the Neon API and always deleted (needs NEON_API_KEY and --project or "
            + "NEON_PROJECT_ID). The database and role are those --pg-url, DATABASE_URL, PGDATABASE and PGUSER name "
            + "(default neondb and its owner); the branch's own connection URI comes from the API.")
    boolean onBranch;

    @Option(names = "--api-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5m",
            description = "With --on-branch: how long the Neon API may take to make the branch, and again to delete "
                    + "it (default ${DEFAULT-VALUE}).")
    Duration apiTimeout;

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
        Durations.requirePositive("--api-timeout", apiTimeout, "5m");
        if (!onBranch && neon.givenOption() != null) {
            throw Fail.usage(neon.givenOption() + " is for --on-branch (the Neon API)", "add --on-branch, or drop "
                    + neon.givenOption());
        }
        if (migration == null && !mz.given()) {
            throw Fail.usage("nothing to check: give --migration FILE (a migration to check before it is deployed) or "
                    + "--mz-url (what has drifted in Materialize)", "./jbang evolve --migration m.sql, or ./jbang evolve "
                    + "--mz-url \"$MZ_URL\" to see drift, --apply to follow it");
        }
        if ((apply || onBranch) && (migration == null) != apply) {
            throw Fail.usage(apply ? "--apply follows drift that is already there; it does not go with --migration"
                    : "--on-branch checks a --migration FILE", apply ? "deploy the migration first, then ./jbang "
                    + "evolve --mz-url … --apply" : "give the migration: --migration FILE --on-branch");
        }
        String text = migration == null ? null : read(migration);
        o.put("migration", migration == null ? null : migration.toString());
        o.put("publication", publication);
        if (text == null) {
            try (Mz m = Mz.connectToRead(mz, o)) {
                return EvolveMz.read(this, o, m).drift(this, m);
            }
        }
        if (onBranch) {
            return new EvolveBranch(this, o).check(text);
        }
        try (Pg db = pg.connect(o)) {
            return checkOn(o, db, withoutOwnTransaction(text), null);
        }
    }

    /** The upstream has the publication (on the branch: its copy), or nothing is run. */
    void requirePublication(Pg db, String branch) throws SQLException {
        if (db.query(PUBLICATION, publication).isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist "
                    + (branch == null ? "upstream" : "on branch " + branch) + "; nothing was run",
                    "name the publication Materialize reads: --publication NAME (./jbang publication makes it)");
        }
    }

    /**
     * The check on {@code db}: upstream in a transaction that is rolled back ({@code branch} null), or for real on
     * that branch; the plan under --dry-run.
     */
    int checkOn(Out o, Pg db, String sql, String branch) throws Exception {
        EvolveCheck check = new EvolveCheck(this, o, db, db.serverVersionNum(), branch != null);
        if (mz.given()) {
            try (Mz m = Mz.connectToRead(mz, o)) {
                EvolveMz.read(this, o, m).judgeAs(this);   // judge what the source ingests, as it ingests it
            }
        }
        o.put("syntax", syntax);
        requirePublication(db, branch);
        if (o.dryRun()) {
            return check.plan(sql);
        }
        if (branch == null) {
            o.line("evolve: running %s in a transaction that is rolled back (lock_timeout %s, statement_timeout %s: "
                            + "its locks are taken for that time)", migration, Durations.show(lockTimeout),
                    Durations.show(statementTimeout));
        } else {
            o.line("evolve: running %s on it for real, statement by statement as psql -f runs it (lock_timeout %s, "
                    + "statement_timeout %s each)", migration, Durations.show(lockTimeout),
                    Durations.show(statementTimeout));
        }
        List<EvolveCheck.Verdict> verdicts = check.run(sql);
        if (ingested != null) {
            // with --mz-url: only what the source ingests can stop; the publication's other tables are not read
            verdicts = verdicts.stream().filter(v -> ingested.contains(v.table())).toList();
        }
        return check.report(verdicts);
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
 * evolve's check: the published tables' shape read before and after the migration, run in one rolled-back
 * transaction or for real on a branch, each table judged by Materialize's rules, and the report. Three queries a
 * snapshot, however many tables.
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
    /** The session; null for the plan of a branch that is not made (--on-branch --dry-run). */
    private final Pg db;
    /** server_version_num, read once: which catalog columns this server has. */
    private final int serverVersion;
    /** On a branch: the migration runs for real, statement by statement; else in a transaction rolled back. */
    private final boolean onBranch;

    EvolveCheck(Evolve cmd, Out o, Pg db, int serverVersion, boolean onBranch) {
        this.cmd = cmd;
        this.o = o;
        this.db = db;
        this.serverVersion = serverVersion;
        this.onBranch = onBranch;
    }

    /** --dry-run: the statements of the run, in order; nothing is run. */
    int plan(String sql) {
        o.line(onBranch ? "-- on the branch, each statement on its own (no transaction around them), as psql -f runs "
                + "the file:" : "-- dry run: nothing was run. In one transaction, always rolled back:");
        if (!onBranch) {
            o.statement("BEGIN");
        }
        settings().forEach(o::statement);
        snapshotPlan("'{}'");
        o.line("-- the columns ./jbang source would ingest as text (types Materialize lacks):");
        o.statement(String.format(SourceTypes.COLUMNS, publishedColumns()).replace("?", Sql.literal(cmd.publication)));
        o.statement(onBranch ? Evolve.WATCH_TABLE_SESSION : Evolve.WATCH_TABLE);
        o.statement(String.format(Evolve.WATCH_TRUNCATE, "'{<the published tables' oids>}'"));
        // a migration may set a role's password: shown masked, as every secret the toolkit prints
        for (String s : onBranch ? SqlScript.split(sql).stream().map(SqlScript.Statement::sql).toList()
                : List.of(Evolve.wrapped(sql))) {
            o.statement(s.replaceAll("(?i)(PASSWORD\\s+)'(?:[^']|'')*'", "$1'********'"));
        }
        snapshotPlan("'{<the oids read before>}'");
        o.statement(Evolve.TRUNCATED);
        if (!onBranch) {
            o.statement("ROLLBACK");
        }
        return Exit.OK;
    }

    /** lock_timeout and statement_timeout: for the transaction, or for the branch's session. */
    private List<String> settings() {
        String scope = onBranch ? "SESSION" : "LOCAL";
        return List.of(String.format(Evolve.LOCK_TIMEOUT, scope, Sql.literal(pgDuration(cmd.lockTimeout))),
                String.format(Evolve.STATEMENT_TIMEOUT, scope, Sql.literal(pgDuration(cmd.statementTimeout))),
                String.format(Evolve.GUARD_OFF, scope));
    }

    /** One snapshot's three queries, with their parameters in place: the publication, and table oids. */
    private void snapshotPlan(String also) {
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

    /**
     * The run: before, the migration, after; the verdicts. In the check's transaction, ROLLBACK whatever happened;
     * on a branch each statement commits as it runs (the branch is thrown away).
     */
    List<Verdict> run(String sql) throws Exception {
        Connection c = db.conn();
        c.setAutoCommit(onBranch);
        try {
            for (String s : settings()) {
                exec(c, s);
            }
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
            if (onBranch) {
                runStatements(c, SqlScript.split(sql));
            } else {
                try {
                    exec(c, Evolve.wrapped(sql));
                } catch (SQLException e) {
                    throw migrationFailed(e);
                }
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
            if (!onBranch) {
                c.rollback();
                c.setAutoCommit(true);
            }
        }
    }

    /**
     * On a branch: each statement on its own, as psql -f sends them (a BEGIN … COMMIT in the file is a transaction
     * there too); the first that fails stops the run. A transaction the file leaves open is rolled back, as it is
     * when psql ends.
     */
    private void runStatements(Connection c, List<SqlScript.Statement> statements) throws SQLException {
        try (Out.Progress p = o.progress("migration", statements.size())) {
            for (SqlScript.Statement s : statements) {
                try {
                    exec(c, s.sql());
                } catch (SQLException e) {
                    throw migrationFailed(e, " (statement " + s.number() + " of " + statements.size() + ", line "
                            + s.line() + ")");
                }
                p.step(1);
            }
        }
        if (c.unwrap(org.postgresql.core.BaseConnection.class).getTransactionState()
                != org.postgresql.core.TransactionState.IDLE) {
            o.warn("the migration leaves a transaction open (BEGIN without COMMIT): psql rolls it back when it ends, "
                    + "and so did the check");
            exec(c, "ROLLBACK");
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * The truncate watch, under a savepoint (on a branch: in one transaction of its own): a role that does not own
     * the tables cannot make it, and goes on without.
     */
    private boolean watchTruncate(Connection c, Set<Long> oids) throws SQLException {
        String watch = (onBranch ? Evolve.WATCH_TABLE_SESSION : Evolve.WATCH_TABLE) + ";\n"
                + String.format(Evolve.WATCH_TRUNCATE, Sql.literal(oidArray(oids)));
        if (onBranch) {
            try {
                exec(c, watch);   // several statements in one string: one implicit transaction, all or nothing
                return true;
            } catch (SQLException e) {
                return false;
            }
        }
        exec(c, "SAVEPOINT evolve_watch");
        try {
            exec(c, watch);
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

    private Fail migrationFailed(SQLException e) {
        return migrationFailed(e, "");
    }

    /**
     * A migration that failed ({@code at}: which statement, on a branch), or a statement no transaction takes (it
     * needs a run of its own: on a branch, where the migration runs as written, it fails as it would when deployed).
     */
    private Fail migrationFailed(SQLException e, String at) {
        // the server's message and hint, without its "Where:" (the whole migration, as EXECUTE's text)
        String msg = e.getMessage() == null ? e.toString()
                : e.getMessage().replaceFirst("^ERROR: ", "").replaceFirst("(?s)\\n\\s*Where: .*", "");
        String unchanged = onBranch ? "; it ran on the branch only, nothing upstream was changed"
                : "; it was rolled back, nothing was changed";
        if (!onBranch && ("25001".equals(e.getSQLState()) || msg.contains("cannot be executed from a function")
                || msg.contains("cannot run inside a transaction block") || msg.contains("invalid transaction termination")
                || msg.contains("EXECUTE of transaction commands is not implemented"))) {
            return new Fail(Exit.NEEDS_OWN_RUN, "the migration has a statement that cannot run inside a transaction ("
                    + msg + "); nothing was changed", "check it on a temporary Neon branch, where it runs for real: "
                    + "--on-branch (needs NEON_API_KEY); or check it without that statement (CREATE INDEX CONCURRENTLY, "
                    + "VACUUM, and BEGIN/COMMIT lines change nothing Materialize ingests)", e);
        }
        if ("55P03".equals(e.getSQLState()) || "57014".equals(e.getSQLState())) {
            return new Fail(Exit.TIMEOUT, "the check waited too long for a lock or past its statement_timeout (" + msg
                    + ")" + at + unchanged, "run it when the tables are quieter, or allow more: --lock-timeout 30s / "
                    + "--statement-timeout 10m", e);
        }
        return new Fail(Exit.MIGRATION_FAILED, "the migration fails" + (onBranch ? " on the branch: " : " upstream: ")
                + msg + at + unchanged, "fix the migration; it would fail the same way when deployed", e);
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

/**
 * evolve with --mz-url: what the source ingests, read from Materialize (its tables FROM SOURCE, new syntax, or its
 * subsources, legacy; their columns; the TEXT COLUMNS and EXCLUDE COLUMNS of their create_sql); with --migration,
 * the check judges exactly that; without, what has drifted upstream since, the plan that follows it, and --apply.
 */
final class EvolveMz {
    /** The source's tables (new syntax: mz_tables.source_id) and subsources (legacy: each depends on its source). */
    private static final String INGESTED_CTE = """
            WITH src AS (SELECT id FROM mz_catalog.mz_sources WHERE name = ? AND type = 'postgres'),
            ingested AS (
              SELECT d.object_id AS id, 'subsource' AS kind FROM mz_internal.mz_object_dependencies AS d
                JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
              WHERE d.referenced_object_id IN (SELECT id FROM src)
              UNION ALL SELECT id, 'table' FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM src))
            """;
    /** The source itself, for the statements that name it. */
    static final String SOURCE = """
            SELECT s.id, d.name AS database_name, sc.name AS schema_name, s.name FROM mz_catalog.mz_sources AS s
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = s.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
            WHERE s.name = ? AND s.type = 'postgres'""";
    /** Each ingested table: its name, the upstream table, its create_sql (for TEXT/EXCLUDE COLUMNS) and its status. */
    static final String TABLES = INGESTED_CTE + """
            SELECT i.id, i.kind, d.name AS database_name, sc.name AS schema_name, o.name,
                   t.schema_name AS upstream_schema, t.table_name AS upstream_table,
                   coalesce(tb.create_sql, sub.create_sql) AS create_sql, st.status, st.error
            FROM ingested AS i
              JOIN mz_catalog.mz_objects AS o ON o.id = i.id
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
              JOIN mz_internal.mz_postgres_source_tables AS t ON t.id = i.id
              LEFT JOIN mz_catalog.mz_tables AS tb ON tb.id = i.id
              LEFT JOIN mz_catalog.mz_sources AS sub ON sub.id = i.id
              LEFT JOIN mz_internal.mz_source_statuses AS st ON st.id = i.id
            ORDER BY t.schema_name, t.table_name, i.id""";
    /** Their columns, as Materialize ingests them. */
    static final String COLUMNS = INGESTED_CTE + """
            SELECT c.id, c.name FROM mz_catalog.mz_columns AS c WHERE c.id IN (SELECT id FROM ingested)
            ORDER BY c.id, c.position""";
    // The statements of the plan (the docs' source-versioning guide and upstream-schema-change-behavior; facts
    // schema_rules.statements): new syntax, a new version of the table beside the old one, then the swap;
    // legacy, the subsource dropped and added again.
    static final String NEW_TABLE = "CREATE TABLE %s FROM SOURCE %s (REFERENCE %s)%s";
    static final String DROP_TABLE = "DROP TABLE %s CASCADE";
    static final String RENAME_TABLE = "ALTER TABLE %s RENAME TO %s";
    static final String DROP_SUBSOURCE = "DROP SOURCE %s CASCADE";
    static final String ADD_SUBSOURCE = "ALTER SOURCE %s ADD SUBSOURCE %s AS %s%s";

    /** One table the source ingests. */
    record Table(String id, String kind, String database, String schema, String name, String upstreamSchema,
                 String upstreamTable, String status, String error, List<String> columns, List<String> text,
                 List<String> excluded) {
        String ref() {
            return EvolveMz.ref(database, schema, name);
        }

        String upstream() {
            return Sql.qualified(upstreamSchema, upstreamTable);
        }
    }

    /** A drifted table: what was found, and what follows it (recreate, drop) with the columns it keeps as text or out. */
    record Drift(Table table, List<String> found, String action, List<String> text, List<String> excluded) {}

    final Evolve cmd;
    final Out o;
    final Mz m;
    final String[] source;   // id, database, schema, name
    final List<Table> tables;

    private EvolveMz(Evolve cmd, Out o, Mz m, String[] source, List<Table> tables) {
        this.cmd = cmd;
        this.o = o;
        this.m = m;
        this.source = source;
        this.tables = tables;
    }

    static String ref(String database, String schema, String name) {
        return Sql.ident(database) + "." + Sql.ident(schema) + "." + Sql.ident(name);
    }

    String sourceRef() {
        return ref(source[1], source[2], source[3]);
    }

    /** The source's ingestion: three queries. */
    static EvolveMz read(Evolve cmd, Out o, Mz m) throws SQLException {
        List<Map<String, Object>> src = m.query(SOURCE, cmd.source);
        if (src.size() != 1) {
            throw new Fail(Exit.NOT_FOUND, src.isEmpty() ? "Materialize has no PostgreSQL source " + cmd.source
                    : "Materialize has " + src.size() + " sources named " + cmd.source + " (in several schemas)",
                    "name the source that reads the publication: --source NAME (./jbang monitor lists them)");
        }
        Map<String, Object> s = src.get(0);
        Map<String, List<String>> cols = new LinkedHashMap<>();
        for (Map<String, Object> r : m.query(COLUMNS, cmd.source)) {
            cols.computeIfAbsent((String) r.get("id"), k -> new ArrayList<>()).add((String) r.get("name"));
        }
        List<Table> tables = new ArrayList<>();
        for (Map<String, Object> r : m.query(TABLES, cmd.source)) {
            String sql = (String) r.get("create_sql");
            tables.add(new Table((String) r.get("id"), (String) r.get("kind"), (String) r.get("database_name"),
                    (String) r.get("schema_name"), (String) r.get("name"), m.sourceTableName((String) r.get("upstream_schema")),
                    m.sourceTableName((String) r.get("upstream_table")), (String) r.get("status"), (String) r.get("error"),
                    cols.getOrDefault((String) r.get("id"), List.of()), Mz.optionColumns(sql, "TEXT"), Mz.optionColumns(sql, "EXCLUDE")));
        }
        return new EvolveMz(cmd, o, m, new String[] {(String) s.get("id"), (String) s.get("database_name"),
                (String) s.get("schema_name"), (String) s.get("name")}, tables);
    }

    /** With --migration: judge what this source ingests, as it ingests it (its TEXT/EXCLUDE COLUMNS and syntax). */
    void judgeAs(Evolve c) {
        if (!tables.isEmpty()) {
            c.syntax = tables.stream().anyMatch(t -> t.kind().equals("subsource")) ? "legacy" : "new";
        }
        c.textColumns = new ArrayList<>();
        c.excludeColumns = new ArrayList<>();
        c.ingested = new LinkedHashSet<>();
        for (Table t : tables) {
            c.ingested.add(t.upstream());
            t.text().forEach(col -> c.textColumns.add(t.upstream() + "." + Sql.ident(col)));
            t.excluded().forEach(col -> c.excludeColumns.add(t.upstream() + "." + Sql.ident(col)));
        }
        o.line("evolve: judging what %s ingests: %d table(s), %s syntax", sourceRef(), tables.size(), c.syntax);
    }

    /** Without --migration: what has drifted, the plan, and with --apply the plan carried out. */
    int drift(Evolve c, Mz mzDb) throws Exception {
        try (Pg db = c.pg.connect(o)) {
            c.requirePublication(db, null);
            EvolveMz now = this;
            if (c.apply && !o.dryRun() && new EvolveApply(this).resume()) {
                now = read(c, o, mzDb);   // what the resumed run changed
            }
            return now.drift(new EvolveCheck(c, o, db, db.serverVersionNum(), false));
        }
    }

    private int drift(EvolveCheck check) throws Exception {
        Map<String, EvolveCheck.Shape> upstream = new LinkedHashMap<>();
        check.snapshot(List.of()).values().stream().filter(EvolveCheck.Shape::published).forEach(s -> upstream.put(s.ref(), s));
        List<Drift> drifts = new ArrayList<>();
        List<List<String>> rows = new ArrayList<>();
        Set<String> ingestedRefs = new LinkedHashSet<>();
        for (Table t : tables) {
            ingestedRefs.add(t.upstream());
            Drift d = drift(t, upstream.get(t.upstream()));
            if (d != null) {
                drifts.add(d);
                rows.add(List.of(t.ref(), t.upstream(), String.join("; ", d.found()), d.action()));
            }
        }
        List<String> notIngested = upstream.keySet().stream().filter(r -> !ingestedRefs.contains(r)).toList();
        o.put("source", sourceRef());
        o.put("drift", drifts.stream().map(d -> Map.<String, Object>of("table", d.table().ref(), "upstream",
                d.table().upstream(), "found", d.found(), "action", d.action())).toList());
        o.put("not_ingested", notIngested);
        if (!notIngested.isEmpty()) {
            o.line("evolve: published but not ingested by %s (./jbang source --add-new-tables takes them): %s", sourceRef(),
                    String.join(", ", notIngested));
        }
        if (drifts.isEmpty()) {
            o.line("evolve: %s ingests every published table as it is upstream now (%d table(s)); nothing to do",
                    sourceRef(), tables.size());
            return Exit.OK;
        }
        o.table(List.of("table", "upstream", "drift", "action"), rows);
        return new EvolveApply(this).plan(drifts);
    }

    /** One table against its upstream shape now: null when nothing drifted. */
    Drift drift(Table t, EvolveCheck.Shape up) {
        List<String> found = new ArrayList<>();
        if (up == null) {
            found.add("gone upstream (dropped, renamed, or not in publication " + cmd.publication + ")");
            return new Drift(t, found, "drop", List.of(), List.of());
        }
        String err = t.error() == null ? "" : t.error();
        if (err.contains("table was truncated") || err.contains("incompatible schema change") || err.contains("table was dropped")) {
            found.add("stopped: " + err);
        }
        List<String> now = up.cols().stream().map(EvolveCheck.Col::name).toList();
        Mz.ColumnDrift cd = Mz.columnDrift(t.columns(), t.excluded(), now);
        List<String> gone = cd.gone().stream().map(Sql::ident).toList();
        List<String> added = cd.added().stream().map(Sql::ident).toList();
        if (!gone.isEmpty()) {
            found.add("column(s) " + String.join(", ", gone) + " gone upstream (the table stops at Materialize's next check)");
        }
        if (!added.isEmpty()) {
            found.add("column(s) " + String.join(", ", added) + " not ingested (added upstream since)");
        }
        if (found.isEmpty()) {
            return null;
        }
        return new Drift(t, found, "recreate", t.text().stream().filter(now::contains).toList(),
                t.excluded().stream().filter(now::contains).toList());
    }

    /** The statement that makes the new version (new syntax: {@code into} is its temporary name) or the subsource again. */
    String create(Drift d, String into) {
        Table t = d.table();
        boolean legacy = t.kind().equals("subsource");
        List<String> opts = new ArrayList<>();
        if (!d.text().isEmpty()) {
            opts.add("TEXT COLUMNS (" + columns(t, d.text(), legacy) + ")");
        }
        if (!d.excluded().isEmpty()) {
            opts.add("EXCLUDE COLUMNS (" + columns(t, d.excluded(), legacy) + ")");
        }
        String with = opts.isEmpty() ? "" : " WITH (" + String.join(", ", opts) + ")";
        return legacy ? String.format(ADD_SUBSOURCE, sourceRef(), t.upstream(), t.ref(), with)
                : String.format(NEW_TABLE, into, sourceRef(), t.upstream(), with);
    }

    /** Columns as the statement takes them: bare for a table FROM SOURCE, schema.table.column for ADD SUBSOURCE. */
    private static String columns(Table t, List<String> cols, boolean qualified) {
        return String.join(", ", cols.stream().map(c -> (qualified ? t.upstream() + "." : "") + Sql.ident(c)).toList());
    }
}

/**
 * evolve --apply: each drifted table re-created in Materialize with what is built on it. Before anything is dropped,
 * the definitions of what depends on the table go to the capture file ({@link MzDependents}), which keeps them until
 * the table is done: a run stopped anywhere is continued by the next from that file. New syntax: the new version
 * beside the old one until its snapshot is done, then the old one dropped with what is built on it, the new one
 * renamed into its place, and what was built re-created on it (the table itself is never without data; what was
 * built on it is gone from the drop until it is re-created and hydrated). Legacy: the subsource dropped with what is
 * built on it and added again (unavailable until its new snapshot is done).
 */
final class EvolveApply {
    private final EvolveMz mz;
    private final Out o;
    private final Path file;
    private final java.util.Properties cap = new java.util.Properties();
    private MzDependents deps;

    EvolveApply(EvolveMz mz) {
        this.mz = mz;
        this.o = mz.o;
        this.file = mz.cmd.capture != null ? mz.cmd.capture : Path.of("evolve-" + mz.cmd.source + ".capture");
    }

    /** A capture file left by a run that stopped: its tables are finished first. */
    boolean resume() throws Exception {
        if (!Files.exists(file)) {
            return false;
        }
        try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            cap.load(in);
        }
        deps = new MzDependents(mz.m, o, false, mz.cmd.timeout);
        List<String> keys = keys();
        if (!keys.isEmpty()) {
            o.line("evolve: continuing from %s (%d table(s) not finished by the last run)", file, keys.size());
        }
        for (String k : keys) {
            carry(k);
        }
        return !keys.isEmpty();
    }

    private List<String> keys() {
        String t = cap.getProperty("tables", "");
        return t.isEmpty() ? new ArrayList<>() : new ArrayList<>(List.of(t.split(",")));
    }

    /** The plan for the drifted tables: printed; with --apply carried out (exit 0), else exit 17 (drift). */
    int plan(List<EvolveMz.Drift> drifts) throws Exception {
        deps = new MzDependents(mz.m, o, !mz.cmd.apply || o.dryRun(), mz.cmd.timeout);
        if (deps.print()) {
            o.line("-- the plan%s:", mz.cmd.apply ? " (dry run: nothing is run)" : "; ./jbang evolve --mz-url … --apply carries it out");
        }
        int skipped = 0;
        for (EvolveMz.Drift d : drifts) {
            if (d.action().equals("drop") && !mz.cmd.dropGone) {
                o.line("-- %s: its upstream table is gone; dropping it (with what is built on it) is left to you: "
                        + "--drop-gone, or DROP %s %s CASCADE", d.table().ref(), kind(d.table()), d.table().ref());
                skipped++;
                continue;
            }
            List<MzDependents.Dependent> built = deps.on(Set.of(d.table().id()));
            MzDependents.requireRecreatable(built, d.table().ref(), "re-create " + d.table().ref() + " by hand, with "
                    + "SHOW CREATE for what is built on it");
            carry(capture(d, built));
        }
        if (deps.print()) {
            o.put("plan", deps.planned());
            return Exit.DRIFT;
        }
        o.line("evolve: %d table(s) re-created in Materialize%s", drifts.size() - skipped,
                skipped > 0 ? "; " + skipped + " whose upstream table is gone left as they are" : "");
        return Exit.OK;
    }

    private static String kind(EvolveMz.Table t) {
        return t.kind().equals("subsource") ? "SOURCE" : "TABLE";
    }

    /** The table's plan and the definitions built on it, written to the capture file before anything changes. */
    private String capture(EvolveMz.Drift d, List<MzDependents.Dependent> built) throws java.io.IOException {
        EvolveMz.Table t = d.table();
        String k = t.id();
        cap.setProperty(k + ".kind", d.action().equals("drop") ? "drop-" + t.kind() : t.kind());
        cap.setProperty(k + ".ref", t.ref());
        cap.setProperty(k + ".at", t.database() + "\u0000" + t.schema() + "\u0000" + t.name());
        String temp = EvolveMz.ref(t.database(), t.schema(), t.name() + "_evolve");
        cap.setProperty(k + ".temp", temp);
        cap.setProperty(k + ".create", mz.create(d, temp));
        MzDependents.store(cap, k, built);
        List<String> keys = keys();
        keys.add(k);
        cap.setProperty("tables", String.join(",", keys));
        save();
        return k;
    }

    private void save() throws java.io.IOException {
        if (deps.print()) {
            return;
        }
        if (keys().isEmpty()) {
            Files.deleteIfExists(file);
            return;
        }
        try (var w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            cap.store(w, "evolve --apply: what is re-created in Materialize, kept until it is done; re-run to continue");
        }
    }

    /** One table's steps, each skipped when the catalog shows it done (so a second run continues where one stopped). */
    private void carry(String k) throws Exception {
        String kind = cap.getProperty(k + ".kind");
        String ref = cap.getProperty(k + ".ref");
        String[] at = cap.getProperty(k + ".at").split("\u0000");
        Map<String, String> ids = new LinkedHashMap<>();
        try {
            if (kind.startsWith("drop-")) {
                if (k.equals(idOf(at))) {
                    deps.exec(String.format(kind.equals("drop-subsource") ? EvolveMz.DROP_SUBSOURCE : EvolveMz.DROP_TABLE, ref));
                }
            } else {
                ids.put(k, kind.equals("table") ? newVersion(k, ref, at) : newSubsource(k, ref, at));
                deps.recreate(MzDependents.load(cap, k), ids);
            }
        } catch (Fail f) {
            throw new Fail(f.exit, f.getMessage() + "; the definitions of " + ref + " and what is built on it are kept in "
                    + file, (f.fix == null ? "" : f.fix + "; then ") + "run the same command again: it continues from there", f);
        }
        List<String> keys = keys();
        keys.remove(k);
        cap.setProperty("tables", String.join(",", keys));
        cap.stringPropertyNames().stream().filter(p -> p.startsWith(k + ".")).toList().forEach(cap::remove);
        save();
    }

    private String idOf(String[] at) throws SQLException {
        return deps.print() ? null : deps.idOf(at[0], at[1], at[2]);
    }

    /** New syntax: the new version under a temporary name, its snapshot, the old one dropped, the new one renamed. */
    private String newVersion(String k, String ref, String[] at) throws Exception {
        boolean print = deps.print();
        String temp = cap.getProperty(k + ".temp");
        String[] tempAt = {at[0], at[1], at[2] + "_evolve"};
        if (print || (k.equals(idOf(at)) && idOf(tempAt) == null)) {
            deps.exec(cap.getProperty(k + ".create"));
        }
        String made = print ? "<new>" : idOf(tempAt) != null ? idOf(tempAt) : idOf(at);
        deps.await(made, MzDependents.SNAPSHOT_DONE, "the snapshot of " + temp + " (./jbang right-size can size the cluster for it)");
        if (print || k.equals(idOf(at))) {
            deps.exec(String.format(EvolveMz.DROP_TABLE, ref));
        }
        if (print || idOf(tempAt) != null) {
            deps.exec(String.format(EvolveMz.RENAME_TABLE, temp, Sql.ident(at[2])));
        }
        return made;
    }

    /** Legacy: the subsource dropped (with what is built on it) and added again, then its snapshot. */
    private String newSubsource(String k, String ref, String[] at) throws Exception {
        boolean print = deps.print();
        if (print || k.equals(idOf(at))) {
            deps.exec(String.format(EvolveMz.DROP_SUBSOURCE, ref));
        }
        if (print || idOf(at) == null) {
            deps.exec(cap.getProperty(k + ".create"));
        }
        String made = print ? "<new>" : idOf(at);
        deps.await(made, MzDependents.SNAPSHOT_DONE, "the snapshot of " + ref + " (./jbang right-size can size the cluster for it)");
        return made;
    }
}

/**
 * evolve --on-branch: a temporary Neon branch of --branch (default: the project's default branch) as it is now, made
 * through the Neon API with a read_write compute of its own, and used through its own connection URI (database and
 * role as the PG options name them; the parent is never connected to). The branch is deleted whatever happens: in a
 * finally block after the check or its failure, and by a shutdown hook on Ctrl-C or kill; both go through
 * {@link #deleteOnce}, so it is deleted once. When it cannot be, exit 21 names it with the command that deletes it.
 */
final class EvolveBranch {
    private final Evolve cmd;
    private final Out o;
    private final Map<String, Object> branch = new LinkedHashMap<>();
    private final Object deleting = new Object();
    private NeonApi api;
    private String pid;
    private String name;
    private volatile String branchId;
    private boolean gone;
    /** The branch deleted (null while none is, or when none was made). */
    private String deletedId;
    /** Counted down when the POST that makes the branch has its answer (or failed): Ctrl-C during it waits for it. */
    private final java.util.concurrent.CountDownLatch posted = new java.util.concurrent.CountDownLatch(1);

    EvolveBranch(Evolve cmd, Out o) {
        this.cmd = cmd;
        this.o = o;
    }

    int check(String sql) throws Exception {
        api = cmd.neon.client(o, cmd.apiTimeout);
        JsonObject project = api.resolveProject(cmd.neon.project());
        pid = NeonApi.str(project, "id");
        JsonObject parent = api.resolveBranch(pid, cmd.neon.branch);
        String parentId = NeonApi.str(parent, "id");
        name = "evolve-check-" + java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .format(java.time.LocalDateTime.now(java.time.ZoneOffset.UTC))
                + String.format("-%04x", new java.security.SecureRandom().nextInt(0x10000));
        branch.put("project", pid);
        branch.put("parent", NeonApi.str(parent, "name"));
        branch.put("parent_id", parentId);
        branch.put("name", name);
        o.put("branch", branch);
        String[] dbRole = databaseAndRole(parentId);
        if (o.dryRun()) {
            return plan(sql, project, parentId, dbRole);
        }
        Thread hook = new Thread(this::onSignal, "evolve-delete-branch");
        Runtime.getRuntime().addShutdownHook(hook);
        Exception failed = null;
        try {
            try {
                branchId = NeonApi.str(api.createBranch(pid, parentId, name), "id");
            } finally {
                posted.countDown();
            }
            branch.put("id", branchId);
            o.line("evolve: branch %s (%s) made from %s (%s) as it is now, in project %s (%s)", name, branchId,
                    branch.get("parent"), parentId, NeonApi.str(project, "name"), pid);
            ConnInfo ci = ConnInfo.parse(api.connectionUri(pid, branchId, dbRole[0], dbRole[1])).withDefaults(Map.of());
            ci.requireDirect();
            try (Pg db = Pg.connect(ci, o)) {
                return cmd.checkOn(o, db, sql, branchId);
            }
        } catch (Exception e) {
            failed = e;
            throw e;
        } finally {
            boolean signalled = false;
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                signalled = true;   // the hook deletes the branch and says so; deleteOnce waits for it
            }
            deleted(deleteOnce(o), signalled ? new Fail(Exit.INTERRUPTED, "stopped by a signal (Ctrl-C or kill) while "
                    + "the check ran on branch " + branchId, "run it again") : failed);
        }
    }

    /**
     * After the run: the branch deleted, said so (by the hook when a signal came); or exit 21 naming it, with what
     * failed before if anything did.
     */
    private void deleted(Fail left, Exception failed) {
        branch.put("deleted", left == null && deletedId != null);
        if (left == null && failed instanceof Fail f && f.exit == Exit.INTERRUPTED) {
            throw f;   // not the migration's failure: its session was ended with the branch
        }
        if (left == null) {
            if (deletedId != null) {
                o.line("evolve: branch %s deleted", deletedId);
            } else {
                branch.put("made", false);   // its POST failed: nothing to delete
            }
            if (failed instanceof NeonApi.Uncertain u) {   // the POST's answer was lost: what was done about it
                throw new Fail(u.exit, u.getMessage().replaceFirst("; Neon may or may not have applied it.*", "")
                        + (deletedId != null ? "; the branch it made (" + deletedId + ") was found by its name and deleted"
                        : "; it made no branch") + ", nothing is left", "run it again", u);
            }
            return;
        }
        Fail before = failed == null ? null : Cli.asFail(failed);
        throw before == null ? left : new Fail(left.exit, left.getMessage() + "; before that: " + before.getMessage(),
                left.fix, left);
    }

    /**
     * The database and role to use on the branch (a branch has its parent's): as --pg-url, DATABASE_URL, PGDATABASE
     * and PGUSER name them, else neondb and the role that owns it (the Neon API's databases of the parent).
     */
    private String[] databaseAndRole(String parentId) {
        ConnInfo given = ConnInfo.parse(cmd.pg.url != null ? cmd.pg.url : o.ctx().env("DATABASE_URL"));
        String db = given.dbname != null ? given.dbname
                : o.ctx().env("PGDATABASE") != null ? o.ctx().env("PGDATABASE") : "neondb";
        String role = given.user != null ? given.user : o.ctx().env("PGUSER");
        if (role == null) {
            role = api.listDatabases(pid, parentId).stream().filter(d -> db.equals(NeonApi.str(d, "name")))
                    .map(d -> NeonApi.str(d, "owner_name")).findFirst().orElseThrow(() -> new Fail(Exit.NOT_FOUND,
                            "no database " + db + " on branch " + branch.get("parent") + " of project " + pid,
                            "name the database: --pg-url or PGDATABASE (Neon's first database is neondb)"));
        }
        branch.put("database", db);
        branch.put("role", role);
        return new String[] {db, role};
    }

    /** --dry-run: the Neon API calls (the key only ever in a header, masked here) and the SQL; nothing is made. */
    private int plan(String sql, JsonObject project, String parentId, String[] dbRole) {
        o.line("-- dry run: nothing was made or run. The Neon API calls (each with Authorization: Bearer %s):",
                Secrets.MASK);
        api.createBranch(pid, parentId, name);   // under --dry-run: printed, not sent
        String uri = api.url("/projects/" + pid + "/connection_uri") + "?database_name="
                + java.net.URLEncoder.encode(dbRole[0], StandardCharsets.UTF_8) + "&role_name="
                + java.net.URLEncoder.encode(dbRole[1], StandardCharsets.UTF_8) + "&branch_id={branch_id}";
        o.line("GET " + uri);
        o.line("-- then connect with that URI (its password is never shown)");
        String version = NeonApi.str(project, "pg_version");
        int server = version == null ? 170000 : Integer.parseInt(version) * 10000;
        new EvolveCheck(cmd, o, null, server, true).plan(sql);
        o.line("-- and always, after the check, when it fails, and on Ctrl-C:");
        o.request("DELETE", api.url("/projects/" + pid + "/branches/") + "{branch_id}", null);
        return Exit.OK;
    }

    /** Ctrl-C or kill: the branch is deleted before the JVM ends, and stderr says so (also under --json). */
    private void onSignal() {
        java.io.PrintWriter err = o.ctx().err();
        err.println("evolve: stopped by a signal; deleting branch " + (branchId != null ? branchId : name));
        err.flush();
        try {
            // the JVM's other threads go on meanwhile: the POST gets its answer
            posted.await(cmd.apiTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Fail left = deleteOnce(null);
        if (left == null) {
            err.println(deletedId != null ? "evolve: branch " + deletedId + " deleted" : "evolve: no branch was made");
        } else {
            err.println("error: " + Secrets.mask(left.getMessage()));
            err.println("  fix: " + Secrets.mask(left.fix));
        }
        err.flush();
    }

    /**
     * Deletes the branch once, with a client whose deadline starts now (the check may have run long). Made by a POST
     * whose answer never came (or is still coming, under Ctrl-C), it is looked up by its name. Null when it is gone.
     */
    private Fail deleteOnce(Out out) {
        synchronized (deleting) {
            if (gone) {
                return null;
            }
            String id = branchId;
            try {
                NeonApi fresh = api.again(out, cmd.apiTimeout);
                if (id == null) {
                    JsonObject found = fresh.findBranch(pid, name);
                    id = found == null ? null : NeonApi.str(found, "id");
                    if (id != null) {
                        branch.put("id", id);
                    }
                }
                if (id != null) {
                    fresh.deleteBranch(pid, id);
                }
                deletedId = id;
                gone = true;
                return null;
            } catch (Fail f) {
                String what = id != null ? id : name;
                return new Fail(Exit.BRANCH_LEFT, "the temporary branch " + name + (id != null ? " (" + id + ")" : "")
                        + " of project " + pid + " could not be deleted: " + f.getMessage(), "delete it: neonctl "
                        + "branches delete " + what + " --project-id " + pid + " (or in the Neon Console: Branches > "
                        + name + " > Delete)", f);
            }
        }
    }
}
