///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Day 2, upstream: make the changes that stop Materialize hard to do by accident: a trigger on each published table refuses TRUNCATE (naming DELETE FROM), an event trigger logs DDL on published tables for watch (--strict refuses the breaking kinds); --remove.

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Day 2 — the upstream changes that stop a Materialize table for good, made hard to do by accident. Materialize
 * stops ingesting a table that is truncated ("table was truncated"), dropped, renamed, removed from the publication,
 * or whose ingested columns or keys change incompatibly ("incompatible schema change"); see Evolve for the rules.
 * evolve checks a migration before it is deployed; guard stands in the database for the changes nobody checked:
 *
 * <ul>
 * <li>a BEFORE TRUNCATE … FOR EACH STATEMENT trigger on each published table raises an error naming DELETE FROM
 * (Materialize ingests deletes). Tables published later are guarded when guard runs again (watch reports them);</li>
 * <li>event triggers (ddl_command_start and ddl_command_end, for the command tags in {@link GuardSql#TAGS}) keep a
 * snapshot of the published tables' shape (columns, keys, name, REPLICA IDENTITY) and, after each such command,
 * compare it with the catalog by evolve's rules: what changed is logged in neonmz_guard.ddl_log with its verdict,
 * and with --strict a breaking change raises an error naming ./jbang evolve --migration, which aborts the command's
 * transaction. ddl_command_end sees the catalog after the command ran, and after DROP TABLE the table is gone from
 * it; the snapshot still names it, so no sql_drop trigger is needed;</li>
 * <li>SET LOCAL neonmz.guard = off in a transaction lets its TRUNCATE and breaking DDL through (logged): the way to
 * do on purpose what the guard refuses. evolve sets it in its rolled-back check.</li>
 * </ul>
 *
 * <p>Event triggers need a superuser in PostgreSQL. On Neon, members of neon_superuser may create them: Neon's
 * extension switches to a superuser for CREATE EVENT TRIGGER and gives the trigger to the role (neondb_owner's
 * pgxn/neon/neon_ddl_handler.c, "Support event triggers for neon_superuser", neondatabase/neon#10624, 2025; Neon's
 * blog "Postgres event triggers"). Which Neon release brought it is unverified. Neon does not fire such a trigger
 * for a superuser's session (its own maintenance), only for its users' roles; and it skips a SECURITY DEFINER
 * event-trigger function owned by a superuser for them: the guard's functions belong to the role that installs it,
 * which on Neon is not a superuser. A role without the privilege gets exit 8 naming neon_superuser and
 * --truncate-only, with nothing changed (one transaction).
 */
@Command(name = "guard", mixinStandardHelpOptions = true,
        description = {"Day 2, upstream only: make the changes that stop Materialize ingesting a table hard to do by "
                + "accident. A BEFORE TRUNCATE trigger on each published table refuses TRUNCATE, naming DELETE FROM "
                + "instead; event triggers log DDL on published tables (ALTER TABLE, DROP TABLE, ALTER/DROP SCHEMA, "
                + "ALTER/DROP PUBLICATION, …) with evolve's verdict (safe or breaks) in neonmz_guard.ddl_log, which "
                + "watch reads; --strict also refuses the breaking ones (a published table dropped, renamed or "
                + "removed from the publication; a column dropped, renamed, retyped or made nullable; a key dropped; "
                + "REPLICA IDENTITY no longer FULL), naming ./jbang evolve --migration. SET LOCAL neonmz.guard = off "
                + "in a transaction lets it through (logged). Each CREATE TRIGGER briefly blocks writes to its table "
                + "(lock_timeout 5s). Tables published later are guarded by running guard again.",
                "Event triggers need a superuser; on Neon a member of neon_superuser (e.g. neondb_owner) on computes "
                        + "with Neon's event-trigger support. Without it: exit 8, nothing changed; --truncate-only "
                        + "installs the TRUNCATE triggers alone. --verify proves it in a transaction that is always "
                        + "rolled back (a TRUNCATE, an ADD COLUMN, with --strict a DROP COLUMN, on one table)."},
        footer = {"%nExamples:",
                "  ./jbang guard                       # TRUNCATE refused, DDL on published tables logged",
                "  ./jbang guard --strict --verify     # breaking DDL refused too; proven in a rolled-back transaction",
                "  ./jbang guard --truncate-only       # a role that may not create event triggers",
                "  ./jbang guard --remove --dry-run"})
public class Guard implements Callable<Integer>, Cli.Resumable {
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = "--publication", paramLabel = "NAME", description = "The publication whose tables are guarded "
            + "(default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--strict", description = "Also refuse the DDL that breaks ingestion (it is logged either way).")
    boolean strict;

    @Option(names = "--truncate-only", description = "Only the TRUNCATE triggers: no event triggers, so no superuser "
            + "(or neon_superuser) needed, and no DDL log.")
    boolean truncateOnly;

    @Option(names = "--remove", description = "Remove the triggers, the event triggers and the neonmz_guard schema "
            + "(its DDL log included).")
    boolean remove;

    @Option(names = "--verify", description = "Afterwards, prove it on one guarded table in a transaction that is "
            + "always rolled back: TRUNCATE is refused, ADD COLUMN is logged, with --strict DROP COLUMN is refused.")
    boolean verify;

    /** A published table, or one that still has the guard's trigger. */
    record Table(String schema, String name, boolean published, boolean guarded) {
        String ref() {
            return Sql.qualified(schema, name);
        }
    }

    /** What is there now: the guard's version (null: not installed), its settings and event triggers, the tables. */
    record State(String version, boolean publicationExists, boolean allTables, boolean superuser, Boolean neonSuperuser,
                 String role, int eventTriggers, String guardedPublication, Boolean guardedStrict, long logEntries,
                 List<Table> tables) {
        boolean installed() {
            return version != null;
        }
    }

    public static void main(String... args) {
        Cli.main(new Guard(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Sql.requireName("publication", publication);
        if (remove && (strict || truncateOnly || verify)) {
            throw Fail.usage("--remove takes no --strict, --truncate-only or --verify", "./jbang guard --remove");
        }
        if (strict && truncateOnly) {
            throw Fail.usage("--strict needs the event triggers, which --truncate-only leaves out",
                    "choose one: ./jbang guard --strict, or ./jbang guard --truncate-only");
        }
        try (Pg db = pg.connect(o)) {
            State s = read(db);
            if (remove) {
                return remove(o, db, s);
            }
            int code = install(o, db, s);
            return verify ? new GuardVerify(o, db).run(this, o.dryRun() ? s : read(db)) : code;
        }
    }

    State read(Pg db) throws SQLException {
        Map<String, Object> r = db.query(GuardSql.STATE, publication).get(0);
        String version = (String) r.get("version");
        String pub = null;
        Boolean wasStrict = null;
        long entries = 0;
        try {
            for (Map<String, Object> g : version == null ? List.<Map<String, Object>>of() : db.query(GuardSql.SETTINGS)) {
                pub = (String) g.get("publication");
                wasStrict = (Boolean) g.get("strict");
                entries = ((Number) g.get("entries")).longValue();
            }
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState())) {
                throw e;
            }
            throw new Fail(Exit.PERMISSION, "role " + r.get("role_name") + " may not read the guard's schema neonmz_guard "
                    + "(it belongs to " + r.get("owner") + "); nothing was changed", "connect as the role that installed "
                    + "it (" + r.get("owner") + ")", e);
        }
        List<Table> tables = db.list(GuardSql.TABLES, t -> new Table(t.getString("schema_name"), t.getString("table_name"),
                t.getBoolean("published"), t.getBoolean("guarded")), publication);
        return new State(version, r.get("all_tables") != null, Boolean.TRUE.equals(r.get("all_tables")),
                Boolean.TRUE.equals(r.get("superuser")),
                (Boolean) r.get("neon_superuser"), (String) r.get("role_name"), ((Number) r.get("event_triggers")).intValue(),
                pub, wasStrict, entries, tables);
    }

    /** Install or bring up to date, in one transaction; "already done" when nothing differs. */
    private int install(Out o, Pg db, State s) throws SQLException {
        o.put("publication", publication);
        o.put("strict", strict);
        o.put("ddl_log", !truncateOnly);
        if (!s.publicationExists()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist; nothing was changed",
                    "name the publication Materialize reads: --publication NAME (./jbang publication makes it)");
        }
        // told before trying where it is certain: neon_superuser exists (Neon, the lab) and the role is outside it;
        // elsewhere the server decides (a managed service may have a role of its own for event triggers)
        if (!truncateOnly && !s.superuser() && Boolean.FALSE.equals(s.neonSuperuser())) {
            throw eventTriggersDenied(s, null);
        }
        List<Table> add = s.tables().stream().filter(t -> t.published() && !t.guarded()).toList();
        List<Table> drop = s.tables().stream().filter(t -> !t.published() && t.guarded()).toList();
        List<Table> guarded = s.tables().stream().filter(Table::published).toList();
        show(o, s.tables());
        List<String> sql = plan(s, add, drop);
        o.put("tables", guarded.stream().map(t -> t.schema() + "." + t.name()).toList());
        o.put("added", add.stream().map(t -> t.schema() + "." + t.name()).toList());
        o.put("removed", drop.stream().map(t -> t.schema() + "." + t.name()).toList());
        String what = plural(guarded.size(), "table") + " (TRUNCATE refused), " + (truncateOnly ? "DDL not logged "
                + "(--truncate-only)" : "DDL on them logged" + (strict ? ", breaking DDL refused (--strict)" : ""));
        if (sql.isEmpty()) {
            o.put("already_done", true);
            o.line("guard %s: already done: %s", publication, what);
            return Exit.OK;
        }
        try {
            db.transaction(sql);
        } catch (SQLException e) {
            throw failure(e, s);
        }
        o.put("already_done", false);
        String verb = o.dryRun() ? "would be " : "";
        o.line("guard %s: %s%s: %s; %s added, %d removed", publication, verb, s.installed() ? "updated" : "installed",
                what, plural(add.size(), "trigger"), drop.size());
        if (guarded.isEmpty()) {
            o.warn("publication " + publication + " has no tables yet: run ./jbang guard again once it has");
        }
        if (s.allTables()) {
            o.warn("publication " + publication + " is FOR ALL TABLES, so it also publishes neonmz_guard.settings and "
                    + "neonmz_guard.ddl_log: a source of all its tables ingests them (they are REPLICA IDENTITY FULL), and "
                    + "the replication role needs SELECT on them (./jbang grants --schema neonmz_guard); to leave them "
                    + "out, publish the tables by name (./jbang publication --table …)");
        }
        if (!s.installed()) {
            o.line("guard: a table published later is guarded when guard runs again (watch reports it as unguarded_table)");
        }
        return Exit.OK;
    }

    /** The statements that make the guard what was asked, in order; empty when it is so already. */
    List<String> plan(State s, List<Table> add, List<Table> drop) {
        List<String> sql = new ArrayList<>();
        boolean events = s.eventTriggers() == GuardSql.EVENT_TRIGGERS.size();
        boolean settings = !s.installed() || !publication.equals(s.guardedPublication())
                || strict != Boolean.TRUE.equals(s.guardedStrict());
        if (s.eventTriggers() > 0 && (truncateOnly || !events)) {
            sql.addAll(GuardSql.DROP_EVENT_TRIGGERS);
        }
        if (!s.installed()) {
            sql.addAll(GuardSql.SCHEMA);
        }
        if (!GuardSql.VERSION.equals(s.version())) {
            sql.addAll(GuardSql.FUNCTIONS);
            sql.add(GuardSql.COMMENT);
        }
        if (settings) {
            sql.add(String.format(GuardSql.SETTINGS_UPSERT, Sql.literal(publication), strict));
        }
        for (Table t : drop) {
            sql.add(String.format(GuardSql.DROP_TRIGGER, t.ref()));
        }
        for (Table t : add) {
            sql.add(String.format(GuardSql.CREATE_TRIGGER, t.ref()));
        }
        if (!truncateOnly && (!events || settings)) {
            sql.add(GuardSql.SNAPSHOT_ALL);
        }
        if (!truncateOnly && !events) {
            sql.addAll(GuardSql.CREATE_EVENT_TRIGGERS);
        }
        if (!sql.isEmpty()) {
            sql.add(0, GuardSql.LOCK_TIMEOUT);
        }
        return sql;
    }

    /** --remove: event triggers first (so nothing else fires), the tables' triggers, then the schema. */
    private int remove(Out o, Pg db, State s) throws SQLException {
        List<Table> guarded = s.tables().stream().filter(Table::guarded).toList();
        List<String> sql = new ArrayList<>();
        if (s.eventTriggers() > 0) {
            sql.addAll(GuardSql.DROP_EVENT_TRIGGERS);
        }
        for (Table t : guarded) {
            sql.add(String.format(GuardSql.DROP_TRIGGER, t.ref()));
        }
        if (s.installed()) {
            sql.add(GuardSql.DROP_SCHEMA);
        }
        o.put("removed", guarded.stream().map(t -> t.schema() + "." + t.name()).toList());
        o.put("log_entries_dropped", s.logEntries());
        if (sql.isEmpty()) {
            o.put("already_done", true);
            o.line("guard: already done (not installed)");
            return Exit.OK;
        }
        sql.add(0, GuardSql.LOCK_TIMEOUT);
        try {
            db.transaction(sql);
        } catch (SQLException e) {
            throw failure(e, s);
        }
        o.put("already_done", false);
        if (s.logEntries() > 0) {
            o.warn("the DDL log " + (o.dryRun() ? "would go" : "went") + " with the schema (" + s.logEntries()
                    + (s.logEntries() == 1 ? " entry)" : " entries)"));
        }
        o.line("guard: %sremoved: %s, %s, the neonmz_guard schema", o.dryRun() ? "would be " : "",
                plural(guarded.size(), "TRUNCATE trigger"), plural(s.eventTriggers(), "event trigger"));
        return Exit.OK;
    }

    /** One row per table for up to 50 tables (or --verbose); beyond that, counts. */
    private static void show(Out o, List<Table> tables) {
        if (tables.size() > 50 && !o.verbose()) {
            long add = tables.stream().filter(t -> t.published() && !t.guarded()).count();
            o.line("%d tables: %d guarded already, %d to guard", tables.size(), tables.stream().filter(t -> t.published()
                    && t.guarded()).count(), add);
            return;
        }
        List<List<Object>> rows = new ArrayList<>();
        for (Table t : tables) {
            rows.add(List.of(t.ref(), !t.published() ? "remove trigger (not published)" : t.guarded() ? "ok" : "add trigger"));
        }
        if (!rows.isEmpty()) {
            o.table(List.of("table", "TRUNCATE guard"), rows);
        }
    }

    /** An error of the one transaction: it was rolled back, so nothing was changed. */
    private Fail failure(SQLException e, State s) {
        String msg = e.getMessage() == null ? "" : e.getMessage().replaceFirst("^ERROR: ", "").lines().findFirst().orElse("");
        if ("42501".equals(e.getSQLState()) && msg.contains("must be owner of event trigger")) {
            return new Fail(Exit.PERMISSION, "role " + s.role() + " may not drop the guard's event triggers (" + msg
                    + "); nothing was changed", "connect as the role that installed them (a superuser, or on Neon the "
                    + "neon_superuser member that ran ./jbang guard)", e);
        }
        if ("42501".equals(e.getSQLState()) && msg.contains("event trigger")) {
            return eventTriggersDenied(s, e);
        }
        if ("42501".equals(e.getSQLState()) && (msg.contains("must be owner") || msg.contains("permission denied for"))) {
            return new Fail(Exit.PERMISSION, "role " + s.role() + " may not change the triggers of a published table ("
                    + msg + "); nothing was changed", "connect as the tables' owner (on Neon the role that made them, "
                    + "e.g. neondb_owner), or grant it: GRANT TRIGGER ON <table> TO " + Sql.ident(s.role()), e);
        }
        Fail f = Pg.translate(e);
        return new Fail(f.exit, f.getMessage() + " (one transaction, rolled back: nothing was changed)", f.fix, e);
    }

    /** Exit 8: event triggers need a superuser, or on Neon neon_superuser on a compute that supports them. */
    static Fail eventTriggersDenied(State s, SQLException e) {
        String why = e == null ? "it is neither a superuser nor a member of neon_superuser"
                : "the server refused: " + e.getMessage().replaceFirst("^ERROR: ", "").lines().findFirst().orElse("")
                + (Boolean.TRUE.equals(s.neonSuperuser()) ? "; the role is a member of neon_superuser, so this server "
                + "does not let neon_superuser create them (plain PostgreSQL, or a Neon compute without that support)" : "");
        return new Fail(Exit.PERMISSION, "role " + s.role() + " may not create event triggers (" + why + "); nothing "
                + "was changed. PostgreSQL lets only superusers create them; Neon lets members of neon_superuser (roles "
                + "made by the Console, API or CLI, e.g. neondb_owner) create them on computes with its event-trigger "
                + "support", "connect as such a role (off Neon: a superuser), or install only the TRUNCATE triggers: "
                + "./jbang guard --truncate-only (DDL is then not logged)", e);
    }

    static String plural(long n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }
}

/**
 * --verify: one guarded table, in a transaction that is always rolled back (lock_timeout 2s): TRUNCATE must be
 * refused by the guard, ADD COLUMN must be logged (when the event triggers are there), and with --strict DROP COLUMN
 * of that column must be refused. The probes take the table's ACCESS EXCLUSIVE lock for a moment each.
 */
final class GuardVerify {
    static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = '2s'";
    static final String TRUNCATE = "TRUNCATE %s";
    static final String ADD_PROBE = "ALTER TABLE %s ADD COLUMN neonmz_guard_probe integer";
    static final String DROP_PROBE = "ALTER TABLE %s DROP COLUMN neonmz_guard_probe";
    static final String LAST_ID = "SELECT coalesce(max(id), 0) FROM neonmz_guard.ddl_log";
    static final String LOGGED = "SELECT verdict, change FROM neonmz_guard.ddl_log WHERE id > ? ORDER BY id";

    private final Out o;
    private final Pg db;
    private final List<List<Object>> rows = new ArrayList<>();
    private final List<Map<String, Object>> checks = new ArrayList<>();

    GuardVerify(Out o, Pg db) {
        this.o = o;
        this.db = db;
    }

    int run(Guard g, Guard.State s) throws SQLException {
        Guard.Table t = s.tables().stream().filter(Guard.Table::published).findFirst().orElse(null);
        if (t == null) {
            throw new Fail(Exit.NOT_FOUND, "--verify: publication " + g.publication + " has no table to verify on",
                    "add tables to it first (./jbang publication --table …)");
        }
        String ref = t.ref();
        boolean events = !g.truncateOnly;
        if (o.dryRun()) {
            o.line("-- --verify, in one transaction that is always rolled back:");
            List.of("BEGIN", LOCK_TIMEOUT, String.format(TRUNCATE, ref)).forEach(o::statement);
            if (events) {
                List.of(LAST_ID, String.format(ADD_PROBE, ref), LOGGED.replace("?", "<the id read before>"))
                        .forEach(o::statement);
            }
            if (g.strict) {
                o.statement(String.format(DROP_PROBE, ref));
            }
            o.statement("ROLLBACK");
            return Exit.OK;
        }
        Connection c = db.conn();
        c.setAutoCommit(false);
        try {
            exec(c, LOCK_TIMEOUT);
            refused(c, "TRUNCATE " + ref, String.format(TRUNCATE, ref), "neonmz guard: TRUNCATE");
            if (events) {
                long last = ((Number) db.value(LAST_ID)).longValue();
                exec(c, String.format(ADD_PROBE, ref));
                List<Map<String, Object>> logged = db.query(LOGGED, last);
                boolean ok = logged.stream().anyMatch(r -> String.valueOf(r.get("change")).contains("neonmz_guard_probe"));
                record("ALTER TABLE " + ref + " ADD COLUMN", "logged", ok, ok ? "logged: " + logged.get(0).get("verdict")
                        + ", " + logged.get(0).get("change") : "not logged");
            }
            if (g.strict) {
                refused(c, "ALTER TABLE " + ref + " DROP COLUMN", String.format(DROP_PROBE, ref),
                        "neonmz guard: ALTER TABLE refused");
            }
        } catch (SQLException e) {
            throw Pg.translate(e);
        } finally {
            c.rollback();
            c.setAutoCommit(true);
        }
        return report(ref);
    }

    /** A statement the guard must refuse, under a savepoint: refused with its message, or a failed check. */
    private void refused(Connection c, String what, String sql, String expected) throws SQLException {
        exec(c, "SAVEPOINT neonmz_guard_verify");
        try {
            exec(c, sql);
            record(what, "refused", false, "it ran (rolled back)");
        } catch (SQLException e) {
            if ("55P03".equals(e.getSQLState())) {
                throw e;
            }
            String msg = e.getMessage() == null ? "" : e.getMessage().replaceFirst("^ERROR: ", "").lines().findFirst().orElse("");
            record(what, "refused", msg.startsWith(expected), msg);
        }
        exec(c, "ROLLBACK TO SAVEPOINT neonmz_guard_verify");
    }

    private void record(String what, String expected, boolean ok, String detail) {
        rows.add(List.of(what, ok ? expected : "NOT " + expected, detail));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("check", what);
        m.put("expected", expected);
        m.put("ok", ok);
        m.put("detail", detail);
        checks.add(m);
    }

    private int report(String ref) {
        o.table(List.of("verify", "result", "detail"), rows);
        o.put("verify", checks);
        long failed = checks.stream().filter(m -> !Boolean.TRUE.equals(m.get("ok"))).count();
        if (failed > 0) {
            o.line("guard: --verify: %d of %d checks failed on %s (rolled back)", failed, checks.size(), ref);
            return Exit.VERIFY;
        }
        o.line("guard: --verify: %d of %d checks passed on %s (rolled back: nothing changed)", checks.size(), checks.size(), ref);
        return Exit.OK;
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}

/**
 * guard's SQL, in the order it runs. Everything lives in the schema neonmz_guard; the functions the triggers run are
 * SECURITY DEFINER with a fixed search_path, so the role that runs the DDL needs no privilege on the schema, and
 * its log keeps only DDL on published tables: a role's DDL (ALTER ROLE … PASSWORD) is never logged, and a PASSWORD
 * '…' in the text of a logged command (a multi-statement string) is masked; at most 2,000 characters are kept.
 */
final class GuardSql {
    private GuardSql() {}

    /** Written as the schema's comment: functions of another version are replaced on the next run. */
    static final String VERSION = "neonmz guard 1";
    static final String TRIGGER = "neonmz_guard_truncate";
    static final List<String> EVENT_TRIGGERS = List.of("neonmz_guard_ddl_start", "neonmz_guard_ddl_end");
    /** The commands that can change what Materialize checks of a published table (or publish one). */
    static final String TAGS = "'ALTER TABLE', 'DROP TABLE', 'ALTER SCHEMA', 'DROP SCHEMA', 'ALTER PUBLICATION', "
            + "'DROP PUBLICATION', 'ALTER INDEX', 'DROP OWNED', 'DROP TYPE', 'DROP DOMAIN', 'DROP EXTENSION'";

    static final String STATE = """
            SELECT (SELECT obj_description(n.oid, 'pg_namespace') FROM pg_namespace n
                    WHERE n.nspname = 'neonmz_guard') AS version,
                   (SELECT n.nspowner::regrole::text FROM pg_namespace n WHERE n.nspname = 'neonmz_guard') AS owner,
                   (SELECT p.puballtables FROM pg_publication p WHERE p.pubname = ?) AS all_tables,
                   (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS superuser,
                   (SELECT pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_roles r
                    WHERE r.rolname = 'neon_superuser') AS neon_superuser,
                   current_user::text AS role_name,
                   (SELECT count(*) FROM pg_event_trigger WHERE evtname IN ('neonmz_guard_ddl_start', 'neonmz_guard_ddl_end')
                      AND evtenabled <> 'D') AS event_triggers""";
    static final String SETTINGS = """
            SELECT publication::text AS publication, strict, (SELECT count(*) FROM neonmz_guard.ddl_log) AS entries
            FROM neonmz_guard.settings""";
    /** The published tables, and any other table that still has the guard's trigger. */
    static final String TABLES = """
            WITH published AS (SELECT format('%I.%I', t.schemaname, t.tablename)::regclass AS oid
                               FROM pg_publication_tables t WHERE t.pubname = ? AND t.schemaname <> 'neonmz_guard')
            SELECT n.nspname AS schema_name, c.relname AS table_name, c.oid IN (SELECT oid FROM published) AS published,
                   EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'neonmz_guard_truncate') AS guarded
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid IN (SELECT oid FROM published)
               OR c.oid IN (SELECT g.tgrelid FROM pg_trigger g WHERE g.tgname = 'neonmz_guard_truncate')
            ORDER BY 1, 2""";

    /** CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock (it waits for, and blocks, writes): wait at most this long. */
    static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'";

    static final List<String> SCHEMA = List.of(
            "CREATE SCHEMA neonmz_guard",
            """
            CREATE TABLE neonmz_guard.settings (
              only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
              publication name NOT NULL,
              strict boolean NOT NULL)""",
            """
            CREATE TABLE neonmz_guard.ddl_log (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              at timestamptz NOT NULL DEFAULT clock_timestamp(),
              role_name text NOT NULL,
              command_tag text NOT NULL,
              object_identity text NOT NULL,
              verdict text NOT NULL,
              change text NOT NULL,
              statement text)""",
            "CREATE INDEX ddl_log_at ON neonmz_guard.ddl_log (at)",
            // a FOR ALL TABLES publication publishes these two as well: Materialize can then ingest their changes
            "ALTER TABLE neonmz_guard.settings REPLICA IDENTITY FULL",
            "ALTER TABLE neonmz_guard.ddl_log REPLICA IDENTITY FULL",
            // the published tables' shape as Materialize checks it (src/postgres-util/src/desc.rs), as evolve reads it:
            // UNLOGGED, so never published; emptied by a crash (or a Neon compute restart), it is read again before
            // the next command (on_ddl_start), which is all it needs
            "CREATE UNLOGGED TABLE neonmz_guard.shape (relid oid PRIMARY KEY, nspname name NOT NULL, relname name NOT NULL, "
                    + "replident \"char\" NOT NULL)",
            "CREATE UNLOGGED TABLE neonmz_guard.shape_column (relid oid, attnum int2, attname name NOT NULL, "
                    + "atttypid oid NOT NULL, atttypmod int4 NOT NULL, attnotnull boolean NOT NULL, PRIMARY KEY (relid, attnum))",
            "CREATE UNLOGGED TABLE neonmz_guard.shape_key (relid oid, conoid oid, conname name NOT NULL, conkey int2[] NOT NULL, "
                    + "contype \"char\" NOT NULL, PRIMARY KEY (relid, conoid))");

    static final String COMMENT = "COMMENT ON SCHEMA neonmz_guard IS '" + VERSION + "'";
    static final String SETTINGS_UPSERT = "INSERT INTO neonmz_guard.settings (publication, strict) VALUES (%s, %s) "
            + "ON CONFLICT (only_row) DO UPDATE SET publication = excluded.publication, strict = excluded.strict";

    /** Who ran the command: the role SET ROLE chose, else the session's (current_user is the definer here). */
    static final String WHO = """
            CREATE OR REPLACE FUNCTION neonmz_guard.who() RETURNS text LANGUAGE sql STABLE
            SET search_path = pg_catalog, pg_temp AS
            $f$ SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END $f$""";
    static final String MASKED = """
            CREATE OR REPLACE FUNCTION neonmz_guard.masked(q text) RETURNS text LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog, pg_temp AS
            $f$ SELECT left(regexp_replace(q, '(password\\s*)(E?''(?:[^'']|'''')*'')', '\\1''********''', 'gi'), 2000) $f$""";
    static final String PUBLISHED = """
            CREATE OR REPLACE FUNCTION neonmz_guard.published() RETURNS SETOF oid LANGUAGE sql STABLE
            SET search_path = pg_catalog, pg_temp AS
            $f$ SELECT format('%I.%I', t.schemaname, t.tablename)::regclass::oid FROM pg_publication_tables t
                WHERE t.pubname = (SELECT publication FROM neonmz_guard.settings) AND t.schemaname <> 'neonmz_guard' $f$""";
    /** Forget tables no longer published and those in {@code again} (null: all), then read the missing ones. */
    static final String SNAPSHOT = """
            CREATE OR REPLACE FUNCTION neonmz_guard.snapshot(again oid[]) RETURNS void LANGUAGE plpgsql
            SET search_path = pg_catalog, pg_temp AS
            $f$ BEGIN
              DELETE FROM neonmz_guard.shape
              WHERE again IS NULL OR relid = ANY (again) OR relid NOT IN (SELECT neonmz_guard.published());
              DELETE FROM neonmz_guard.shape_column WHERE relid NOT IN (SELECT relid FROM neonmz_guard.shape);
              DELETE FROM neonmz_guard.shape_key WHERE relid NOT IN (SELECT relid FROM neonmz_guard.shape);
              WITH added AS (
                INSERT INTO neonmz_guard.shape
                SELECT c.oid, n.nspname, c.relname, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid IN (SELECT neonmz_guard.published()) AND c.oid NOT IN (SELECT relid FROM neonmz_guard.shape)
                ON CONFLICT DO NOTHING RETURNING relid),
              cols AS (
                INSERT INTO neonmz_guard.shape_column
                SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull FROM pg_attribute a
                WHERE a.attrelid IN (SELECT relid FROM added) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                ON CONFLICT DO NOTHING)
              INSERT INTO neonmz_guard.shape_key
              SELECT k.conrelid, k.oid, k.conname, k.conkey, k.contype FROM pg_constraint k
              WHERE k.conrelid IN (SELECT relid FROM added) AND k.contype IN ('p', 'u')
              ON CONFLICT DO NOTHING;
            END $f$""";
    /**
     * What changed since the snapshot, per table, by evolve's rules (EvolveRules): breaks = Materialize stops the
     * table. Columns are matched by position, so a rename is told from a drop. What it cannot know: the columns the
     * source ingests as text (whose type may change) or leaves out; a type change of those is reported as breaking.
     */
    static final String CHANGES = """
            CREATE OR REPLACE FUNCTION neonmz_guard.changes() RETURNS TABLE (relid oid, ident text, breaks boolean, change text)
            LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
              WITH s AS (
                SELECT s.*, format('%I.%I', s.nspname, s.relname) AS ident, c.oid IS NOT NULL AS present,
                       n.nspname AS now_nspname, c.relname AS now_relname, c.relreplident AS now_replident,
                       c.oid IN (SELECT neonmz_guard.published()) AS now_published
                FROM neonmz_guard.shape s LEFT JOIN pg_class c ON c.oid = s.relid
                LEFT JOIN pg_namespace n ON n.oid = c.relnamespace)
              SELECT s.relid, s.ident, v.breaks, v.change
              FROM s CROSS JOIN LATERAL (VALUES
                (NOT s.present, true, 'table dropped'),
                (s.present AND NOT s.now_published, true, 'removed from the publication'),
                ((s.now_nspname, s.now_relname) <> (s.nspname, s.relname), true,
                 'renamed to ' || quote_ident(s.now_nspname) || '.' || quote_ident(s.now_relname)),
                (s.replident = 'f' AND s.now_replident <> 'f', true, 'REPLICA IDENTITY no longer FULL'),
                (s.replident <> 'f' AND s.now_replident = 'f', false, 'REPLICA IDENTITY FULL')) AS v(hit, breaks, change)
              WHERE v.hit
              UNION ALL
              SELECT s.relid, s.ident, v.breaks, v.change
              FROM s JOIN neonmz_guard.shape_column sc ON sc.relid = s.relid
              LEFT JOIN pg_attribute a ON a.attrelid = sc.relid AND a.attnum = sc.attnum AND NOT a.attisdropped
              CROSS JOIN LATERAL (VALUES
                (a.attnum IS NULL, true, 'column ' || quote_ident(sc.attname) || ' dropped'),
                (a.attname <> sc.attname, true, 'column ' || quote_ident(sc.attname) || ' renamed to ' || quote_ident(a.attname)),
                (a.atttypid <> sc.atttypid OR a.atttypmod <> sc.atttypmod, true, 'column ' || quote_ident(a.attname)
                 || ' type ' || format_type(sc.atttypid, sc.atttypmod) || ' → ' || format_type(a.atttypid, a.atttypmod)),
                (sc.attnotnull AND NOT a.attnotnull, true, 'column ' || quote_ident(a.attname) || ' DROP NOT NULL'),
                (NOT sc.attnotnull AND a.attnotnull, false, 'column ' || quote_ident(a.attname) || ' SET NOT NULL'))
                AS v(hit, breaks, change)
              WHERE s.present AND v.hit
              UNION ALL
              SELECT s.relid, s.ident, false, 'column ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                     || ' added'
              FROM s JOIN pg_attribute a ON a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
              WHERE NOT EXISTS (SELECT 1 FROM neonmz_guard.shape_column sc WHERE sc.relid = s.relid AND sc.attnum = a.attnum)
              UNION ALL
              SELECT s.relid, s.ident, true, CASE k.contype WHEN 'p' THEN 'primary key ' ELSE 'unique constraint ' END
                     || quote_ident(k.conname) || ' dropped or changed'
              FROM s JOIN neonmz_guard.shape_key k ON k.relid = s.relid
              WHERE s.present AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = k.conoid AND c.conname = k.conname
                                              AND c.conkey = k.conkey AND c.contype = k.contype)
              UNION ALL
              SELECT s.relid, s.ident, false, CASE c.contype WHEN 'p' THEN 'primary key ' ELSE 'unique constraint ' END
                     || quote_ident(c.conname) || ' added'
              FROM s JOIN pg_constraint c ON c.conrelid = s.relid AND c.contype IN ('p', 'u')
              WHERE NOT EXISTS (SELECT 1 FROM neonmz_guard.shape_key k WHERE k.conoid = c.oid)
              UNION ALL
              SELECT p.relid, p.relid::regclass::text, false, 'added to the publication (ingested after ./jbang source --add-new-tables)'
              FROM neonmz_guard.published() AS p(relid) WHERE p.relid NOT IN (SELECT relid FROM neonmz_guard.shape)
            $f$""";
    /** Before the command: the published tables the snapshot lacks (published since, e.g. FOR ALL TABLES). */
    static final String ON_DDL_START = """
            CREATE OR REPLACE FUNCTION neonmz_guard.on_ddl_start() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS
            $f$ BEGIN PERFORM neonmz_guard.snapshot('{}'); END $f$""";
    /** After the command: each published table it changed (or touched) logged; with strict, a break refused. */
    static final String ON_DDL_END = """
            CREATE OR REPLACE FUNCTION neonmz_guard.on_ddl_end() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS
            $f$ DECLARE
              r record;
              refusing boolean := (SELECT s.strict FROM neonmz_guard.settings s);
              allowed boolean := current_setting('neonmz.guard', true) = 'off';
              seen oid[] := '{}';
            BEGIN
              FOR r IN
                WITH c AS (SELECT * FROM neonmz_guard.changes()),
                touched AS (SELECT coalesce(i.indrelid, d.objid) AS relid FROM pg_event_trigger_ddl_commands() d
                            LEFT JOIN pg_index i ON i.indexrelid = d.objid WHERE d.classid = 'pg_class'::regclass)
                SELECT c.relid, min(c.ident) AS ident, bool_or(c.breaks) AS breaks,
                       string_agg(c.change, '; ' ORDER BY NOT c.breaks, c.change) AS change
                FROM c GROUP BY c.relid
                UNION ALL
                SELECT s.relid, format('%I.%I', s.nspname, s.relname), false, 'nothing Materialize checks changed'
                FROM neonmz_guard.shape s WHERE s.relid IN (SELECT relid FROM touched) AND s.relid NOT IN (SELECT relid FROM c)
              LOOP
                IF r.breaks AND refusing AND allowed IS NOT TRUE THEN
                  RAISE EXCEPTION USING
                    MESSAGE = format('neonmz guard: %s refused: Materialize would stop ingesting %s for good (%s)',
                                     tg_tag, r.ident, r.change),
                    HINT = 'check the migration first with ./jbang evolve --migration FILE, which gives the order that '
                        || 'avoids the break; to run it anyway: SET LOCAL neonmz.guard = off in its transaction '
                        || '(or ./jbang guard --remove)';
                END IF;
                INSERT INTO neonmz_guard.ddl_log (role_name, command_tag, object_identity, verdict, change, statement)
                VALUES (neonmz_guard.who(), tg_tag, r.ident, CASE WHEN r.breaks THEN 'breaks' ELSE 'safe' END,
                        r.change || CASE WHEN r.breaks AND refusing THEN ' (allowed: neonmz.guard = off)' ELSE '' END,
                        neonmz_guard.masked(current_query()));
                seen := seen || r.relid;
              END LOOP;
              PERFORM neonmz_guard.snapshot(seen);
            END $f$""";
    /** Materialize stops ingesting a truncated table for good ("table was truncated"); it ingests DELETE. */
    static final String REFUSE_TRUNCATE = """
            CREATE OR REPLACE FUNCTION neonmz_guard.refuse_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS
            $f$ DECLARE
              t text := format('%I.%I', tg_table_schema, tg_table_name);
            BEGIN
              IF current_setting('neonmz.guard', true) = 'off' THEN
                INSERT INTO neonmz_guard.ddl_log (role_name, command_tag, object_identity, verdict, change, statement)
                VALUES (neonmz_guard.who(), 'TRUNCATE', t, 'breaks', 'TRUNCATE (allowed: neonmz.guard = off)',
                        neonmz_guard.masked(current_query()));
                RETURN NULL;
              END IF;
              RAISE EXCEPTION USING
                MESSAGE = format('neonmz guard: TRUNCATE %s refused: Materialize stops ingesting a truncated table for '
                                 'good ("table was truncated")', t),
                HINT = format('use DELETE FROM %s instead (Materialize ingests deletes); to truncate anyway: '
                              'SET LOCAL neonmz.guard = off in the same transaction (or ./jbang guard --remove)', t);
            END $f$""";
    static final List<String> FUNCTIONS = List.of(WHO, MASKED, PUBLISHED, SNAPSHOT, CHANGES, ON_DDL_START, ON_DDL_END,
            REFUSE_TRUNCATE);

    static final String CREATE_TRIGGER = "CREATE TRIGGER neonmz_guard_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT "
            + "EXECUTE FUNCTION neonmz_guard.refuse_truncate()";
    static final String DROP_TRIGGER = "DROP TRIGGER IF EXISTS neonmz_guard_truncate ON %s";
    static final String SNAPSHOT_ALL = "SELECT neonmz_guard.snapshot(NULL)";
    static final List<String> CREATE_EVENT_TRIGGERS = List.of(
            "CREATE EVENT TRIGGER neonmz_guard_ddl_start ON ddl_command_start WHEN TAG IN (" + TAGS + ") "
                    + "EXECUTE FUNCTION neonmz_guard.on_ddl_start()",
            "CREATE EVENT TRIGGER neonmz_guard_ddl_end ON ddl_command_end WHEN TAG IN (" + TAGS + ") "
                    + "EXECUTE FUNCTION neonmz_guard.on_ddl_end()");
    static final List<String> DROP_EVENT_TRIGGERS = List.of("DROP EVENT TRIGGER IF EXISTS neonmz_guard_ddl_end",
            "DROP EVENT TRIGGER IF EXISTS neonmz_guard_ddl_start");
    static final String DROP_SCHEMA = "DROP SCHEMA IF EXISTS neonmz_guard CASCADE";
}
