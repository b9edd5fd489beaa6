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
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/SourceTypes.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step C.3: create the Materialize source from the publication (default mz_source), with TEXT COLUMNS for the column types Materialize cannot ingest.

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
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
 * Guide step C.3 — "Start ingesting data". The docs' tip first: the snapshot is read in parallel and
 * sized from the upstream statistics, so run ANALYZE upstream (--analyze). Then either syntax:
 * legacy, one CREATE SOURCE … FOR ALL TABLES that makes a subsource per table (deprecated from v26.25); or new
 * (on by default from v26.25, public preview; before, behind the feature flag enable_create_table_from_source),
 * CREATE SOURCE plus one CREATE TABLE … FROM SOURCE per table in one transaction. Columns of types Materialize
 * cannot ingest go in TEXT COLUMNS (found from the upstream catalog, one query over the publication's tables), so
 * purification does not
 * fail with "referenced tables use unsupported types".
 */
@Command(name = "source", mixinStandardHelpOptions = true,
        description = {"Guide step C.3: CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION "
                + "pg_connection (PUBLICATION 'mz_source') FOR ALL TABLES (legacy syntax), or the new syntax with one "
                + "CREATE TABLE … FROM SOURCE per table where the server has it on (by default from v26.25). Columns of "
                + "types Materialize cannot ingest are added to TEXT COLUMNS, each with the reason. An existing source is reported, with "
                + "the publication's tables it lacks; --add-new-tables adds them."},
        footer = {"%nExamples:",
                "  ./jbang source --analyze",
                "  ./jbang source --for-tables 'orders,\"Order Items\"' --exclude-column public.page_views.referrer",
                "  ./jbang source --syntax new --dry-run   # reads the upstream catalog; no Materialize needed",
                "  ./jbang source --add-new-tables         # after ./jbang publication --table new_table"})
public class CreateSource implements Callable<Integer>, Cli.Resumable {
    // The guide's SQL (C.3), legacy syntax: one statement; %s = options, then FOR ALL TABLES / TABLES (…) / SCHEMAS (…).
    static final String CREATE_LEGACY = "CREATE SOURCE %s IN CLUSTER %s FROM POSTGRES CONNECTION %s (%s) %s";
    // New syntax: the source, then one table per upstream table, in one transaction.
    static final String CREATE_NEW = "CREATE SOURCE %s IN CLUSTER %s FROM POSTGRES CONNECTION %s (PUBLICATION %s)";
    static final String CREATE_TABLE = "CREATE TABLE %s FROM SOURCE %s (REFERENCE %s)";
    static final String WITH = " WITH (%s)";
    // Tables added to the publication later (Considerations: they are not picked up by themselves).
    static final String ADD_SUBSOURCE = "ALTER SOURCE %s ADD SUBSOURCE %s";
    // The docs' tip: the snapshot is sized from the upstream statistics.
    static final String ANALYZE = "ANALYZE %s";
    // The new syntax exists from v26.0.0 behind the feature flag enable_create_table_from_source, which only
    // mz_system can read (others get "unrecognized configuration parameter"). From v26.25 it is on by default
    // (public preview, "available by default across all environments"; the docs call the legacy syntax
    // deprecated), so the version decides where the flag cannot be read (Mz.NEW_SOURCE_SYNTAX_DEFAULT).
    // force_source_table_syntax, readable by every user, makes Materialize refuse the legacy syntax ("FOR ALL
    // TABLES not supported; use CREATE TABLE .. FROM SOURCE instead"). Facts: src/sql/src/session/vars/
    // definitions.rs, src/sql/src/plan/error.rs (docs/materialize-facts.md, "Version gates").
    static final String FLAG = "SHOW enable_create_table_from_source";
    static final String FORCE = "SHOW force_source_table_syntax";

    static final String PUBLICATION = "SELECT pubviaroot FROM pg_publication WHERE pubname = ?";

    /** Materialize: the source in the session's current schema, with its cluster, connection and statement. */
    static final String EXISTING_SOURCE = """
            SELECT s.id, s.type, cl.name AS cluster_name, cn.name AS connection_name, s.create_sql
            FROM mz_catalog.mz_sources s
            JOIN mz_catalog.mz_schemas sc ON sc.id = s.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = sc.database_id
            LEFT JOIN mz_catalog.mz_clusters cl ON cl.id = s.cluster_id
            LEFT JOIN mz_catalog.mz_connections cn ON cn.id = s.connection_id
            WHERE s.name = ? AND sc.name = current_schema() AND d.name = current_database()""";
    /**
     * The upstream tables a source already has: its subsources (legacy syntax; each depends on its source,
     * object_id = the subsource) or its tables FROM SOURCE (new syntax, mz_tables.source_id).
     */
    static final String SOURCE_TABLES = """
            SELECT t.schema_name, t.table_name, t.id IN (SELECT id FROM mz_catalog.mz_tables) AS is_table
            FROM mz_internal.mz_postgres_source_tables t
            WHERE t.id IN (SELECT object_id FROM mz_internal.mz_object_dependencies WHERE referenced_object_id = ?
                           UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id = ?)
            ORDER BY 1, 2""";
    static final String CLUSTER = "SELECT name FROM mz_catalog.mz_clusters WHERE name = ?";
    static final String CONNECTION = """
            SELECT c.type FROM mz_catalog.mz_connections c
            JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = s.database_id
            WHERE c.name = ? AND s.name = current_schema() AND d.name = current_database()""";


    enum Syntax { auto, legacy, new_ }

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = "--source", paramLabel = "NAME", description = "Source name (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--cluster", paramLabel = "NAME", description = "Cluster the source runs in (default ${DEFAULT-VALUE}; guide C.1).")
    String cluster = "ingest_postgres";

    @Option(names = "--connection", paramLabel = "NAME", description = "Connection (default ${DEFAULT-VALUE}; guide C.2).")
    String connection = "pg_connection";

    @Option(names = "--publication", paramLabel = "NAME", description = "Upstream publication (default ${DEFAULT-VALUE}; guide A.2.2).")
    String publication = "mz_source";

    @Option(names = "--syntax", paramLabel = "auto|legacy|new",
            description = "legacy: CREATE SOURCE … FOR ALL TABLES (deprecated from v26.25); new: CREATE TABLE … FROM "
                    + "SOURCE per table (on by default from v26.25, before behind the flag enable_create_table_from_source); "
                    + "auto (default): new where the server has it on, by its flag or else its version.")
    String syntax = "auto";

    @Option(names = "--for-tables", paramLabel = "TABLES",
            description = "Only these tables of the publication (FOR TABLES (…)): name or schema.name, comma-separated, "
                    + "repeatable; double quotes keep a name exactly.")
    List<String> forTables = new ArrayList<>();

    @Option(names = "--for-schemas", paramLabel = "SCHEMAS", description = "Only the publication's tables in these schemas (FOR SCHEMAS (…)).")
    List<String> forSchemas = new ArrayList<>();

    @Option(names = "--text-column", paramLabel = "COLUMN",
            description = "Also ingest this column as text: [schema.]table.column, comma-separated, repeatable.")
    List<String> textColumns = new ArrayList<>();

    @Option(names = "--exclude-column", paramLabel = "COLUMN",
            description = "Leave this column out (EXCLUDE COLUMNS): [schema.]table.column, comma-separated, repeatable.")
    List<String> excludeColumns = new ArrayList<>();

    @Option(names = "--analyze", description = "Run ANALYZE upstream on the tables first (the snapshot is sized from the statistics).")
    boolean analyze;

    @Option(names = "--add-new-tables", description = "When the source exists: add the publication's tables it lacks "
            + "(ALTER SOURCE … ADD SUBSOURCE, or CREATE TABLE … FROM SOURCE).")
    boolean addNewTables;

    public static void main(String... args) {
        Cli.main(new CreateSource(), args);
    }

    /** The syntax the statements take, and why (both printed and in the JSON). */
    record Choice(boolean newSyntax, String why) {}

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        SourcePlan.Asked asked = SourcePlan.Asked.of(this);

        o.put("source", source);
        o.put("cluster", cluster);
        o.put("connection", connection);
        o.put("publication", publication);
        try (Pg up = pg.connect(o)) {
            // ---- the upstream: what the publication holds, and how Materialize will see its columns
            SourcePlan pub = new SourcePlan(publication, published(o, up));
            List<SourcePlan.Tbl> selected = pub.select(asked);
            SourcePlan.Columns cols = pub.columns(selected, asked);

            try (Mz db = Mz.connect(mz, o)) {
                // ---- which syntax
                Choice syntax = chooseSyntax(o, db, asked.syntax());
                o.put("syntax", syntax.newSyntax() ? "new" : "legacy");
                o.put("syntax_reason", syntax.why());

                // ---- what Materialize has: the source already, or else the cluster and connection it needs
                if (!db.planOnly()) {
                    List<Map<String, Object>> existing = db.query(EXISTING_SOURCE, source);
                    if (!existing.isEmpty()) {
                        return existingSource(o, up, db, existing.get(0), selected, cols, syntax.newSyntax());
                    }
                    requireClusterAndConnection(db);
                }

                // ---- the plan, then the source
                return create(o, up, db, syntax, selected, cols, asked);
            }
        }
    }

    /** The publication upstream (it must exist, and have tables) and its tables with their columns. */
    private List<SourcePlan.Tbl> published(Out o, Pg up) throws Exception {
        List<Map<String, Object>> pub = up.query(PUBLICATION, publication);
        if (pub.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist upstream ("
                    + up.info.dbname + ")", "create it: ./jbang publication --table … (guide A.2.2)");
        }
        if (Boolean.TRUE.equals(pub.get(0).get("pubviaroot"))) {
            o.warn("publication " + publication + " has publish_via_partition_root = true, which Materialize does "
                    + "not support (\"can produce incorrect results\"); upstream: ALTER PUBLICATION "
                    + Sql.ident(publication) + " SET (publish_via_partition_root = false)");
        }
        List<SourcePlan.Tbl> published = SourcePlan.read(up, publication);
        if (published.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " is empty", "add tables to it: "
                    + "./jbang publication --table … (guide A.2.2)");
        }
        return published;
    }

    /**
     * --syntax auto: the new syntax where the server has it on: its enable_create_table_from_source when
     * readable, else its version (on by default from v26.25); legacy before. A server that forces the new
     * syntax (force_source_table_syntax) gets it whatever was asked.
     */
    private Choice chooseSyntax(Out o, Mz db, Syntax asked) throws Exception {
        if (db.planOnly()) {
            return new Choice(asked != Syntax.legacy, asked == Syntax.legacy ? "--syntax legacy"
                    : asked == Syntax.new_ ? "--syntax new"
                    : "dry run: Materialize was not read; the new syntax, its default from "
                    + Mz.NEW_SOURCE_SYNTAX_DEFAULT + " (--syntax legacy for an older release)");
        }
        SourcePlan.Setting flag = SourcePlan.Setting.read(db, FLAG);
        if (flag.error() != null) {
            o.put("syntax_flag_error", flag.error());
        }
        boolean byDefault = db.atLeast(Mz.NEW_SOURCE_SYNTAX_DEFAULT);
        boolean on = flag.value() != null ? flag.on() : byDefault;
        boolean forced = on && SourcePlan.Setting.read(db, FORCE).on();
        o.put("syntax_forced", forced);
        if (forced) {
            if (asked == Syntax.legacy) {
                throw new Fail(Exit.USAGE, "--syntax legacy, but this Materialize has force_source_table_syntax on: "
                        + "it refuses CREATE SOURCE … FOR ALL TABLES (\"not supported; use CREATE TABLE .. FROM SOURCE "
                        + "instead\")", "use --syntax new (or auto), which makes one CREATE TABLE … FROM SOURCE per table");
            }
            return new Choice(true, "this server has force_source_table_syntax on: only the new syntax");
        }
        if (asked == Syntax.legacy) {
            return new Choice(false, "--syntax legacy" + (on ? " (deprecated on this server, which has the new syntax "
                    + "on; it still works)" : ""));
        }
        if (asked == Syntax.new_) {
            if (flag.value() != null && !on) {
                throw new Fail(Exit.NOT_READY, "--syntax new, but this Materialize has "
                        + "enable_create_table_from_source off", "use --syntax legacy (or auto), or ask Materialize "
                        + "to turn the flag on");
            }
            return new Choice(true, "--syntax new");
        }
        String flagNote = "enable_create_table_from_source, a feature flag only mz_system can read";
        return new Choice(on, flag.value() != null
                ? "this server has enable_create_table_from_source " + (on ? "on" : "off")
                : byDefault ? "Materialize " + db.version + ": the new syntax is on by default from "
                        + Mz.NEW_SOURCE_SYNTAX_DEFAULT + " (" + flagNote + ")"
                : "Materialize " + db.version + ": before " + Mz.NEW_SOURCE_SYNTAX_DEFAULT + " the new syntax is "
                        + "off unless Materialize turned it on (" + flagNote + "), so the legacy syntax");
    }

    /** The cluster (guide C.1) and the Postgres connection (guide C.2) the source needs. */
    private void requireClusterAndConnection(Mz db) throws Exception {
        if (db.query(CLUSTER, cluster).isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "cluster " + cluster + " does not exist in Materialize",
                    "create it: ./jbang cluster (guide C.1), or name another with --cluster");
        }
        List<Map<String, Object>> conn = db.query(CONNECTION, connection);
        if (conn.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "connection " + connection + " does not exist in Materialize",
                    "create it: ./jbang connection (guide C.2), or name another with --connection");
        }
        if (!"postgres".equalsIgnoreCase(String.valueOf(conn.get(0).get("type")))) {
            throw new Fail(Exit.CONFLICT, "connection " + connection + " is a " + conn.get(0).get("type")
                    + " connection, not postgres", "name the Postgres connection with --connection");
        }
    }

    /** The plan printed and checked, ANALYZE upstream (--analyze), then the source in the chosen syntax. */
    private int create(Out o, Pg up, Mz db, Choice syntax, List<SourcePlan.Tbl> selected, SourcePlan.Columns cols,
                       SourcePlan.Asked asked) throws Exception {
        boolean newSyntax = syntax.newSyntax();
        Map<String, String> names = SourcePlan.mzNames(selected, List.of());
        SourcePlan.show(o, selected, names, cols);
        o.line("syntax: %s (%s)", newSyntax ? "new" : "legacy", syntax.why());
        SourcePlan.identity(o, db.planOnly(), selected, publication);
        if (db.planOnly()) {
            o.line("-- dry run: no Materialize was contacted; the plan assumes source %s does not exist yet", source);
            if (addNewTables) {
                o.line("-- (--add-new-tables: which tables an existing source lacks is read from Materialize at run time)");
            }
        }
        if (analyze) {
            if (db.planOnly()) {
                o.line("-- upstream first (the docs' tip: the snapshot is sized from the statistics):");
            }
            up.exec(String.format(ANALYZE, SourcePlan.refs(selected)));
        }
        String clause = null;
        if (newSyntax) {
            db.exec(String.format(CREATE_NEW, Sql.ident(source), Sql.ident(cluster), Sql.ident(connection),
                    Sql.literal(publication)));
            db.transaction(SourcePlan.createTables(source, selected, names, cols));
        } else {
            clause = SourcePlan.forClause(selected, names, asked);
            db.exec(String.format(CREATE_LEGACY, Sql.ident(source), Sql.ident(cluster), Sql.ident(connection),
                    SourcePlan.legacyOptions(publication, selected, cols), clause));
        }
        SourcePlan.created(o, source, db.planOnly(), clause, selected.size(), cols);
        return Exit.OK;
    }

    // ---- an existing source -------------------------------------------------------------------------------

    /** The source exists: the selected tables it lacks are reported, or added (--add-new-tables) in its syntax. */
    private int existingSource(Out o, Pg up, Mz db, Map<String, Object> src, List<SourcePlan.Tbl> selected,
                               SourcePlan.Columns cols, boolean newSyntaxDefault) throws Exception {
        checkExisting(o, src);
        String id = String.valueOf(src.get("id"));
        SourcePlan.Existing have = SourcePlan.Existing.of(db, db.query(SOURCE_TABLES, id, id));
        boolean newSyntax = have.anyTable() || (!have.anySubsource() && newSyntaxDefault);
        List<SourcePlan.Tbl> missing = selected.stream().filter(t -> !have.has(t)).toList();
        List<String> gone = forTables.isEmpty() && forSchemas.isEmpty() ? have.notIn(selected) : List.of();
        o.put("already_done", true);
        o.put("existing_tables", have.size());
        o.put("missing_tables", missing.stream().map(SourcePlan.Tbl::ref).toList());
        if (!gone.isEmpty()) {
            o.warn("source " + source + " has table(s) no longer in publication " + publication + ": " + String.join(", ", gone)
                    + "; Materialize errors them once it notices; drop their subsources/tables in Materialize");
        }
        if (missing.isEmpty()) {
            o.line("source %s: already done (exists with %d table%s; every selected table of publication %s is in it)",
                    source, have.size(), have.size() == 1 ? "" : "s", publication);
            return Exit.OK;
        }
        return addMissing(o, up, db, have, missing, cols.of(missing), newSyntax);
    }

    /** An existing source must be a postgres source reading this publication; another cluster or connection is only said. */
    private void checkExisting(Out o, Map<String, Object> src) {
        String type = String.valueOf(src.get("type"));
        if (!type.equalsIgnoreCase("postgres")) {
            throw new Fail(Exit.CONFLICT, "source " + source + " exists but is a " + type + " source; nothing was changed",
                    "choose another --source");
        }
        String reads = SourcePlan.publicationOf(String.valueOf(src.get("create_sql")));
        if (reads != null && !reads.equals(publication)) {
            throw new Fail(Exit.CONFLICT, "source " + source + " exists and reads publication " + reads
                    + ", not " + publication + "; nothing was changed",
                    "give --publication " + reads + ", or choose another --source");
        }
        if (src.get("cluster_name") != null && !cluster.equals(src.get("cluster_name"))) {
            o.warn("source " + source + " runs in cluster " + src.get("cluster_name") + ", not " + cluster + "; left as it is");
        }
        if (src.get("connection_name") != null && !connection.equals(src.get("connection_name"))) {
            o.warn("source " + source + " uses connection " + src.get("connection_name") + ", not " + connection
                    + "; left as it is");
        }
    }

    /** The tables an existing source lacks: the fix said, or (--add-new-tables) the tables added. */
    private int addMissing(Out o, Pg up, Mz db, SourcePlan.Existing have, List<SourcePlan.Tbl> missing,
                           SourcePlan.Columns cols, boolean newSyntax) throws Exception {
        Map<String, String> names = SourcePlan.mzNames(missing, have.tables());
        List<String> sqls = newSyntax ? SourcePlan.createTables(source, missing, names, cols)
                : List.of(SourcePlan.addSubsources(source, missing, names, cols));
        if (!addNewTables) {
            o.line("source %s: already done (exists with %d table%s)", source, have.size(), have.size() == 1 ? "" : "s");
            o.warn(missing.size() + " table(s) of publication " + publication + " are not in source " + source + ": "
                    + SourcePlan.refs(missing) + " (tables added to a publication are not picked up by themselves); fix: "
                    + "./jbang source --add-new-tables, which runs: " + String.join("; ", sqls));
            return Exit.OK;
        }
        SourcePlan.show(o, missing, names, cols);
        SourcePlan.identity(o, false, missing, publication);
        if (analyze) {
            up.exec(String.format(ANALYZE, SourcePlan.refs(missing)));
        }
        if (newSyntax) {
            db.transaction(sqls);
        } else {
            db.exec(sqls.get(0));
        }
        o.put("added", missing.stream().map(SourcePlan.Tbl::ref).toList());
        o.line("source %s: %d table%s added (%s); while %s snapshot%s, the source's other tables wait", source,
                missing.size(), missing.size() == 1 ? "" : "s", newSyntax ? "CREATE TABLE … FROM SOURCE" : "ADD SUBSOURCE",
                missing.size() == 1 ? "it takes its" : "they take their", missing.size() == 1 ? "" : "s");
        return Exit.OK;
    }
}

/**
 * What {@link CreateSource} plans from: its options checked and parsed; the publication's tables, read from
 * the upstream catalog with how Materialize sees each column ({@link SourceTypes}), selected by --for-tables
 * or --for-schemas, with their TEXT COLUMNS and EXCLUDE COLUMNS and their names in Materialize; the tables an
 * existing source has; a setting read from Materialize. Then the clauses and statements (CreateSource's SQL
 * constants, filled in) and the plan as printed.
 */
final class SourcePlan {
    /** A published column; {@code reason} says why Materialize needs it as text (null: it ingests the type). */
    record Col(String name, String type, String reason) {}

    /** A published table with its columns; {@code identity} is pg_class.relreplident. */
    record Tbl(String schema, String name, char identity, List<Col> cols) {
        String ref() {
            return Sql.qualified(schema, name);
        }

        String key() {
            return schema + "\u0000" + name;
        }
    }

    /** TEXT COLUMNS (table key → column → reason) and EXCLUDE COLUMNS (table key → columns). */
    record Columns(Map<String, Map<String, String>> text, Map<String, Set<String>> excluded) {
        /** The same, for these tables only. */
        Columns of(List<Tbl> tables) {
            Map<String, Map<String, String>> t = new LinkedHashMap<>();
            Map<String, Set<String>> x = new LinkedHashMap<>();
            for (Tbl tb : tables) {
                if (text.containsKey(tb.key())) {
                    t.put(tb.key(), text.get(tb.key()));
                }
                if (excluded.containsKey(tb.key())) {
                    x.put(tb.key(), excluded.get(tb.key()));
                }
            }
            return new Columns(t, x);
        }
    }

    /** What the options ask for, checked and parsed: --syntax, the tables (--for-tables, --for-schemas), the columns. */
    record Asked(CreateSource.Syntax syntax, List<Sql.ColumnRef> text, List<Sql.ColumnRef> exclude, List<Sql.Name> tables,
                 List<Sql.Name> schemas) {
        static Asked of(CreateSource c) {
            Sql.requireName("source", c.source);
            Sql.requireName("cluster", c.cluster);
            Sql.requireName("connection", c.connection);
            Sql.requireName("publication", c.publication);
            CreateSource.Syntax asked = switch (c.syntax.toLowerCase(Locale.ROOT)) {
                case "auto" -> CreateSource.Syntax.auto;
                case "legacy" -> CreateSource.Syntax.legacy;
                case "new" -> CreateSource.Syntax.new_;
                default -> throw Fail.usage("--syntax " + c.syntax + " is not auto, legacy or new", "e.g. --syntax legacy");
            };
            if (!c.forTables.isEmpty() && !c.forSchemas.isEmpty()) {
                throw Fail.usage("--for-tables and --for-schemas both given", "choose one (or neither: FOR ALL TABLES)");
            }
            List<Sql.ColumnRef> textRefs = new ArrayList<>();
            c.textColumns.forEach(s -> textRefs.addAll(Sql.parseColumns(s)));
            List<Sql.ColumnRef> excludeRefs = new ArrayList<>();
            c.excludeColumns.forEach(s -> excludeRefs.addAll(Sql.parseColumns(s)));
            List<Sql.Name> tableNames = new ArrayList<>();
            c.forTables.forEach(s -> tableNames.addAll(Sql.parseNames(s)));
            List<Sql.Name> schemaNames = new ArrayList<>();
            c.forSchemas.forEach(s -> schemaNames.addAll(Sql.parseNames(s)));
            return new Asked(asked, textRefs, excludeRefs, tableNames, schemaNames);
        }
    }

    /** A Materialize setting read with SHOW: its value (null when unreadable), and the error when unreadable. */
    record Setting(String value, String error) {
        static Setting read(Mz db, String show) throws SQLException {
            try {
                Object v = db.value(show);
                return new Setting(v == null ? null : v.toString(), null);
            } catch (Fail f) {
                return new Setting(null, f.getMessage());
            }
        }

        boolean on() {
            return value != null && List.of("on", "true", "yes", "1").contains(value.toLowerCase(Locale.ROOT));
        }
    }

    /**
     * The upstream tables an existing source has (mz_postgres_source_tables: quoted where needed before
     * v26.19, raw from then on), and whether as tables or subsources.
     */
    record Existing(List<String[]> tables, boolean anyTable, boolean anySubsource) {
        static Existing of(Mz db, List<Map<String, Object>> rows) {
            List<String[]> have = new ArrayList<>();
            boolean anyTable = false;
            boolean anySubsource = false;
            for (Map<String, Object> r : rows) {
                have.add(new String[] {db.sourceTableName((String) r.get("schema_name")),
                        db.sourceTableName((String) r.get("table_name"))});
                if (Boolean.TRUE.equals(r.get("is_table"))) {
                    anyTable = true;
                } else {
                    anySubsource = true;
                }
            }
            return new Existing(have, anyTable, anySubsource);
        }

        int size() {
            return tables.size();
        }

        boolean has(Tbl t) {
            return tables.stream().anyMatch(h -> (h[0] + "\u0000" + h[1]).equals(t.key()));
        }

        /** Those of its tables that are not among {@code selected}, qualified. */
        List<String> notIn(List<Tbl> selected) {
            Set<String> selectedKeys = new LinkedHashSet<>();
            selected.forEach(t -> selectedKeys.add(t.key()));
            return tables.stream().filter(h -> !selectedKeys.contains(h[0] + "\u0000" + h[1]))
                    .map(h -> Sql.qualified(h[0], h[1])).toList();
        }
    }

    final String publication;
    final List<Tbl> published;

    SourcePlan(String publication, List<Tbl> published) {
        this.publication = publication;
        this.published = published;
    }

    // ---- upstream -------------------------------------------------------------------------------------

    /** The publication's tables and columns, from the upstream catalog (one query). */
    static List<Tbl> read(Pg up, String publication) throws Exception {
        String filter = up.serverVersionNum() >= 150000 ? SourceTypes.PUBLISHED_COLUMNS_15 : SourceTypes.PUBLISHED_COLUMNS_14;
        Map<String, Tbl> tables = new LinkedHashMap<>();
        for (Map<String, Object> r : up.query(String.format(SourceTypes.COLUMNS, filter), publication)) {
            String schema = (String) r.get("schema_name");
            String name = (String) r.get("table_name");
            Tbl t = tables.computeIfAbsent(schema + "\u0000" + name,
                    k -> new Tbl(schema, name, r.get("identity").toString().charAt(0), new ArrayList<>()));
            t.cols().add(new Col((String) r.get("attname"), (String) r.get("declared"), SourceTypes.reason(r)));
        }
        return new ArrayList<>(tables.values());
    }

    /** The publication's tables that the source takes: all, --for-tables, or --for-schemas. */
    List<Tbl> select(Asked asked) {
        List<Sql.Name> tableNames = asked.tables();
        List<Sql.Name> schemaNames = asked.schemas();
        if (!tableNames.isEmpty()) {
            Set<Tbl> out = new LinkedHashSet<>();
            List<String> missing = new ArrayList<>();
            for (Sql.Name n : tableNames) {
                Tbl t = findTable(n.schema(), n.schemaQuoted(), n.name(), n.quoted(), n.display());
                if (t == null) {
                    missing.add(n.display());
                } else {
                    out.add(t);
                }
            }
            if (!missing.isEmpty()) {
                throw new Fail(Exit.NOT_FOUND, "not in publication " + publication + ": " + String.join(", ", missing)
                        + " (it has " + String.join(", ", published.stream().map(Tbl::ref).toList()) + ")",
                        "publish it first: ./jbang publication --table … (guide A.2.2), or check the name");
            }
            return new ArrayList<>(out);
        }
        if (!schemaNames.isEmpty()) {
            List<Tbl> out = new ArrayList<>();
            for (Sql.Name n : schemaNames) {
                if (n.schema() != null) {
                    throw Fail.usage("--for-schemas takes schema names, not " + n.display(), "e.g. --for-schemas public");
                }
                List<Tbl> in = published.stream().filter(t -> t.schema().equals(n.name())).toList();
                if (in.isEmpty() && !n.quoted()) {
                    in = published.stream().filter(t -> t.schema().equals(Sql.fold(n.name()))).toList();
                }
                if (in.isEmpty()) {
                    throw new Fail(Exit.NOT_FOUND, "publication " + publication + " has no tables in schema "
                            + Sql.ident(n.name()), "publish them first: ./jbang publication --schema " + n.name());
                }
                in.stream().filter(t -> !out.contains(t)).forEach(out::add);
            }
            return out;
        }
        return published;
    }

    /** A published table by name: exact first, then folded when unquoted; ambiguous across schemas is an error. */
    private Tbl findTable(String schema, boolean schemaQuoted, String name, boolean quoted, String display) {
        for (boolean fold : quoted ? List.of(false) : List.of(false, true)) {
            String nm = fold ? Sql.fold(name) : name;
            List<Tbl> hits = published.stream().filter(t -> t.name().equals(nm) && (schema == null
                    || t.schema().equals(schema) || !schemaQuoted && t.schema().equals(Sql.fold(schema)))).toList();
            if (hits.size() > 1) {
                throw Fail.usage(display + " is in more than one schema of publication " + publication + ": "
                        + String.join(", ", hits.stream().map(Tbl::ref).toList()), "qualify it: schema.table");
            }
            if (hits.size() == 1) {
                return hits.get(0);
            }
        }
        return null;
    }

    /** TEXT COLUMNS (found, and --text-column) and EXCLUDE COLUMNS (--exclude-column) of the selected tables. */
    Columns columns(List<Tbl> selected, Asked options) {
        Map<String, Map<String, String>> text = new LinkedHashMap<>();
        Map<String, Set<String>> excluded = new LinkedHashMap<>();
        Map<String, Set<String>> askedText = new LinkedHashMap<>();
        for (boolean exclude : List.of(true, false)) {
            for (Sql.ColumnRef c : exclude ? options.exclude() : options.text()) {
                String opt = exclude ? "--exclude-column" : "--text-column";
                Tbl t = findTable(c.schema(), c.schemaQuoted(), c.table(), c.tableQuoted(), c.display());
                String col = column(opt, c, t, selected);
                if (!exclude && excluded.getOrDefault(t.key(), Set.of()).contains(col)) {
                    throw Fail.usage(t.ref() + "." + Sql.ident(col) + " is given to both --text-column and "
                            + "--exclude-column", "keep one (Materialize refuses duplicated column references)");
                }
                (exclude ? excluded : askedText).computeIfAbsent(t.key(), k -> new LinkedHashSet<>()).add(col);
            }
        }
        for (Tbl t : selected) {
            Set<String> ex = excluded.getOrDefault(t.key(), Set.of());
            Set<String> asked = askedText.getOrDefault(t.key(), Set.of());
            for (Col c : t.cols()) {
                if (ex.contains(c.name())) {
                    continue;
                }
                if (c.reason() != null) {
                    text.computeIfAbsent(t.key(), k -> new LinkedHashMap<>()).put(c.name(), c.reason());
                } else if (asked.contains(c.name())) {
                    text.computeIfAbsent(t.key(), k -> new LinkedHashMap<>()).put(c.name(), "asked with --text-column");
                }
            }
        }
        return new Columns(text, excluded);
    }

    /** The published column {@code c} names in table {@code t} (null: not published), which must be selected. */
    private String column(String opt, Sql.ColumnRef c, Tbl t, List<Tbl> selected) {
        if (t == null) {
            throw new Fail(Exit.NOT_FOUND, opt + " " + c.display() + ": no such table in publication " + publication,
                    "give schema.table.column of a published table: " + String.join(", ",
                            published.stream().map(Tbl::ref).toList()));
        }
        if (!selected.contains(t)) {
            throw Fail.usage(opt + " " + c.display() + ": table " + t.ref() + " is not among the tables "
                    + "being added", "drop the option, or add the table (--for-tables)");
        }
        String col = null;
        for (String cand : c.columnQuoted() ? List.of(c.column()) : List.of(c.column(), Sql.fold(c.column()))) {
            if (col == null && t.cols().stream().anyMatch(x -> x.name().equals(cand))) {
                col = cand;
            }
        }
        if (col == null) {
            throw new Fail(Exit.NOT_FOUND, opt + " " + c.display() + ": table " + t.ref() + " has no published "
                    + "column " + Sql.ident(c.column()), "its columns: " + String.join(", ",
                    t.cols().stream().map(x -> Sql.ident(x.name())).toList()));
        }
        return col;
    }

    /** Materialize refuses tables without REPLICA IDENTITY FULL; say so before it does. */
    static void identity(Out o, boolean planOnly, List<Tbl> tables, String publication) {
        List<String> lacking = tables.stream().filter(t -> t.identity() != 'f').map(Tbl::ref).toList();
        if (lacking.isEmpty()) {
            return;
        }
        String msg = lacking.size() + " table(s) lack REPLICA IDENTITY FULL, which Materialize requires: "
                + String.join(", ", lacking);
        String fix = "./jbang replica-identity --publication " + Out.shellQuote(publication) + " (guide A.2.1)";
        if (planOnly) {
            o.warn(msg + "; fix: " + fix);
        } else {
            throw new Fail(Exit.NOT_READY, msg + "; nothing was created", fix);
        }
    }

    // ---- Materialize --------------------------------------------------------------------------------------

    /**
     * Materialize's name for each table: its own name, or schema_name when two tables (of the selection and
     * of the source already) share a name, since Materialize names them in one schema.
     */
    static Map<String, String> mzNames(List<Tbl> tables, List<String[]> alsoPresent) {
        Map<String, Integer> count = new LinkedHashMap<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Tbl t : tables) {
            if (seen.add(t.key())) {
                count.merge(t.name(), 1, Integer::sum);
            }
        }
        for (String[] p : alsoPresent) {
            if (seen.add(p[0] + "\u0000" + p[1])) {
                count.merge(p[1], 1, Integer::sum);
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Tbl t : tables) {
            out.put(t.key(), count.get(t.name()) > 1 ? t.schema() + "_" + t.name() : t.name());
        }
        return out;
    }

    /** The publication an existing source reads, from its create_sql (null: not found there). */
    static String publicationOf(String createSql) {
        Matcher m = Pattern.compile("PUBLICATION\\s*=?\\s*'((?:[^']|'')*)'", Pattern.CASE_INSENSITIVE).matcher(createSql);
        return m.find() ? m.group(1).replace("''", "'") : null;
    }

    // ---- the clauses that list the tables ------------------------------------------------------------------

    static String refs(List<Tbl> tables) {
        return String.join(", ", tables.stream().map(Tbl::ref).toList());
    }

    /** schema.table [AS name], …: AS where Materialize's name is not the table's own. */
    static String aliased(List<Tbl> tables, Map<String, String> names) {
        List<String> list = new ArrayList<>();
        for (Tbl t : tables) {
            String n = names.get(t.key());
            list.add(t.ref() + (n.equals(t.name()) ? "" : " AS " + Sql.ident(n)));
        }
        return String.join(", ", list);
    }

    private static String columnRefs(List<Tbl> tables, Map<String, Set<String>> cols) {
        List<String> out = new ArrayList<>();
        for (Tbl t : tables) {
            for (String c : cols.getOrDefault(t.key(), Set.of())) {
                out.add(t.ref() + "." + Sql.ident(c));
            }
        }
        return String.join(", ", out);
    }

    /** TEXT COLUMNS (schema.table.col, …) and EXCLUDE COLUMNS (…), each only when it has columns. */
    static List<String> columnOptions(List<Tbl> tables, Columns cols) {
        List<String> opts = new ArrayList<>();
        Map<String, Set<String>> textCols = new LinkedHashMap<>();
        cols.text().forEach((k, v) -> textCols.put(k, v.keySet()));
        String t = columnRefs(tables, textCols);
        if (!t.isEmpty()) {
            opts.add("TEXT COLUMNS (" + t + ")");
        }
        String e = columnRefs(tables, cols.excluded());
        if (!e.isEmpty()) {
            opts.add("EXCLUDE COLUMNS (" + e + ")");
        }
        return opts;
    }

    /** FOR ALL TABLES, FOR TABLES (…) or FOR SCHEMAS (…); FOR TABLES with AS when two tables share a name. */
    static String forClause(List<Tbl> tables, Map<String, String> names, Asked asked) {
        boolean clash = tables.stream().anyMatch(t -> !names.get(t.key()).equals(t.name()));
        if (clash || !asked.tables().isEmpty()) {
            return "FOR TABLES (" + aliased(tables, names) + ")";
        }
        if (!asked.schemas().isEmpty()) {
            Set<String> schemas = new LinkedHashSet<>();
            tables.forEach(t -> schemas.add(t.schema()));
            return "FOR SCHEMAS (" + Sql.identList(new ArrayList<>(schemas)) + ")";
        }
        return "FOR ALL TABLES";
    }

    // ---- the statements: CreateSource's SQL, filled in ----------------------------------------------------

    /** Legacy: PUBLICATION 'p'[, TEXT COLUMNS (schema.table.col, …)][, EXCLUDE COLUMNS (…)]. */
    static String legacyOptions(String publication, List<Tbl> tables, Columns cols) {
        List<String> opts = new ArrayList<>();
        opts.add("PUBLICATION " + Sql.literal(publication));
        opts.addAll(columnOptions(tables, cols));
        return String.join(", ", opts);
    }

    /** New syntax: CREATE TABLE name FROM SOURCE s (REFERENCE schema.table) [WITH (TEXT COLUMNS (c), EXCLUDE COLUMNS (c))]. */
    static List<String> createTables(String source, List<Tbl> tables, Map<String, String> names, Columns cols) {
        List<String> out = new ArrayList<>();
        for (Tbl t : tables) {
            String sql = String.format(CreateSource.CREATE_TABLE, Sql.ident(names.get(t.key())), Sql.ident(source), t.ref());
            List<String> with = new ArrayList<>();
            if (cols.text().containsKey(t.key())) {
                with.add("TEXT COLUMNS (" + Sql.identList(new ArrayList<>(cols.text().get(t.key()).keySet())) + ")");
            }
            if (cols.excluded().containsKey(t.key())) {
                with.add("EXCLUDE COLUMNS (" + Sql.identList(new ArrayList<>(cols.excluded().get(t.key()))) + ")");
            }
            out.add(sql + (with.isEmpty() ? "" : String.format(CreateSource.WITH, String.join(", ", with))));
        }
        return out;
    }

    /** Legacy, for an existing source: ALTER SOURCE s ADD SUBSOURCE t1 [AS n1], … [WITH (TEXT COLUMNS (…), …)]. */
    static String addSubsources(String source, List<Tbl> tables, Map<String, String> names, Columns cols) {
        String sql = String.format(CreateSource.ADD_SUBSOURCE, Sql.ident(source), aliased(tables, names));
        List<String> opts = columnOptions(tables, cols);
        return opts.isEmpty() ? sql : sql + String.format(CreateSource.WITH, String.join(", ", opts));
    }

    // ---- output -----------------------------------------------------------------------------------------

    /** The tables with their names in Materialize and their columns as text or excluded; then why each is text. */
    static void show(Out o, List<Tbl> tables, Map<String, String> names, Columns cols) {
        Map<String, Map<String, String>> text = cols.text();
        Map<String, Set<String>> excluded = cols.excluded();
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> json = new ArrayList<>();
        for (Tbl t : tables) {
            String tc = String.join(", ", text.getOrDefault(t.key(), Map.of()).keySet().stream().map(Sql::ident).toList());
            String ex = String.join(", ", excluded.getOrDefault(t.key(), Set.of()).stream().map(Sql::ident).toList());
            rows.add(List.of(t.ref(), Sql.ident(names.get(t.key())), tc, ex));
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("upstream", t.ref());
            j.put("name", names.get(t.key()));
            j.put("text_columns", new ArrayList<>(text.getOrDefault(t.key(), Map.of()).keySet()));
            j.put("exclude_columns", new ArrayList<>(excluded.getOrDefault(t.key(), Set.of())));
            json.add(j);
        }
        o.put("tables", json);
        o.table(List.of("upstream table", "in Materialize", "as text", "excluded"), rows);
        List<List<String>> why = new ArrayList<>();
        List<Map<String, Object>> jt = new ArrayList<>();
        for (Tbl t : tables) {
            for (Map.Entry<String, String> c : text.getOrDefault(t.key(), Map.of()).entrySet()) {
                String type = t.cols().stream().filter(x -> x.name().equals(c.getKey())).findFirst().map(Col::type).orElse("");
                why.add(List.of(t.ref() + "." + Sql.ident(c.getKey()), type, c.getValue()));
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("column", t.ref() + "." + Sql.ident(c.getKey()));
                j.put("type", type);
                j.put("reason", c.getValue());
                jt.add(j);
            }
        }
        o.put("text_columns", jt);
        if (!why.isEmpty()) {
            o.table(List.of("TEXT COLUMNS", "type", "why"), why);
        }
    }

    /** The last line: the source created (in a dry run: that it would be); {@code clause} is null in the new syntax. */
    static void created(Out o, String source, boolean planOnly, String clause, int n, Columns cols) {
        String forWhat = clause == null ? n + " table" + (n == 1 ? "" : "s") + " FROM SOURCE"
                : clause.replaceAll(" \\(.*", "") + ": " + n + " subsource" + (n == 1 ? "" : "s");
        int nText = cols.text().values().stream().mapToInt(Map::size).sum();
        o.put("created", !planOnly);
        o.line("source %s: %s (%s syntax, %s, %d text column%s)", source,
                planOnly ? "would be created" : "created; its snapshot runs now (watch it: guide C.4)",
                clause == null ? "new" : "legacy", forWhat, nText, nText == 1 ? "" : "s");
    }
}
