///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
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
 * legacy, one CREATE SOURCE … FOR ALL TABLES that makes a subsource per table; or new (private preview,
 * behind the system flag enable_create_table_from_source), CREATE SOURCE plus one CREATE TABLE … FROM
 * SOURCE per table in one transaction. Columns of types Materialize cannot ingest go in TEXT COLUMNS
 * (found from the upstream catalog, one query over the publication's tables), so purification does not
 * fail with "referenced tables use unsupported types".
 */
@Command(name = "source", mixinStandardHelpOptions = true,
        description = {"Guide step C.3: CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION "
                + "pg_connection (PUBLICATION 'mz_source') FOR ALL TABLES (legacy syntax), or the new syntax with one "
                + "CREATE TABLE … FROM SOURCE per table where the server has it on. Columns of types Materialize "
                + "cannot ingest are added to TEXT COLUMNS, each with the reason. An existing source is reported, with "
                + "the publication's tables it lacks; --add-new-tables adds them."},
        footer = {"%nExamples:",
                "  ./jbang source --analyze",
                "  ./jbang source --for-tables 'orders,\"Order Items\"' --exclude-column public.page_views.referrer",
                "  ./jbang source --syntax new --dry-run   # reads the upstream catalog; no Materialize needed",
                "  ./jbang source --add-new-tables         # after ./jbang publication --table new_table"})
public class CreateSource implements Callable<Integer> {
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
    // The new syntax: Materialize v26.0.0+ ("You must be on v26+", private preview), and only where Materialize
    // turned its feature flag on (enable_create_table_from_source, default false; as a feature flag, only
    // mz_system can read it: others get "unrecognized configuration parameter"). Pinned facts of v26.12.0:
    // src/sql/src/session/vars/definitions.rs, doc/user/data/examples/create_table_postgres.yml.
    static final Mz.Version NEW_SYNTAX_SINCE = new Mz.Version(26, 0, 0, "v26.0.0");
    static final String FLAG = "SHOW enable_create_table_from_source";

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
    /** The upstream tables a source already has (its subsources, or its tables FROM SOURCE), either dependency direction. */
    static final String SOURCE_TABLES = """
            SELECT t.schema_name, t.table_name, t.id IN (SELECT id FROM mz_catalog.mz_tables) AS is_table
            FROM mz_internal.mz_postgres_source_tables t
            WHERE t.id IN (SELECT object_id FROM mz_internal.mz_object_dependencies WHERE referenced_object_id = ?
                           UNION SELECT referenced_object_id FROM mz_internal.mz_object_dependencies WHERE object_id = ?)
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
            description = "legacy: CREATE SOURCE … FOR ALL TABLES; new: CREATE TABLE … FROM SOURCE per table (needs the "
                    + "flag enable_create_table_from_source); auto (default): new only where the server has it on.")
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

    /** A published column; {@code reason} says why Materialize needs it as text (null: it ingests the type). */
    record Col(String name, String type, String reason, boolean uningestable) {}

    /** A published table with its columns; {@code identity} is pg_class.relreplident. */
    record Tbl(String schema, String name, char identity, List<Col> cols) {
        String ref() {
            return Sql.qualified(schema, name);
        }

        String key() {
            return schema + "\u0000" + name;
        }
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Sql.requireName("source", source);
        Sql.requireName("cluster", cluster);
        Sql.requireName("connection", connection);
        Sql.requireName("publication", publication);
        Syntax asked = switch (syntax.toLowerCase(Locale.ROOT)) {
            case "auto" -> Syntax.auto;
            case "legacy" -> Syntax.legacy;
            case "new" -> Syntax.new_;
            default -> throw Fail.usage("--syntax " + syntax + " is not auto, legacy or new", "e.g. --syntax legacy");
        };
        if (!forTables.isEmpty() && !forSchemas.isEmpty()) {
            throw Fail.usage("--for-tables and --for-schemas both given", "choose one (or neither: FOR ALL TABLES)");
        }
        List<Sql.ColumnRef> textRefs = new ArrayList<>();
        textColumns.forEach(s -> textRefs.addAll(Sql.parseColumns(s)));
        List<Sql.ColumnRef> excludeRefs = new ArrayList<>();
        excludeColumns.forEach(s -> excludeRefs.addAll(Sql.parseColumns(s)));
        List<Sql.Name> tableNames = new ArrayList<>();
        forTables.forEach(s -> tableNames.addAll(Sql.parseNames(s)));
        List<Sql.Name> schemaNames = new ArrayList<>();
        forSchemas.forEach(s -> schemaNames.addAll(Sql.parseNames(s)));

        o.put("source", source);
        o.put("cluster", cluster);
        o.put("connection", connection);
        o.put("publication", publication);
        try (Pg up = pg.connect(o)) {
            // ---- the upstream: what the publication holds, and how Materialize will see its columns
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
            List<Tbl> published = published(up);
            if (published.isEmpty()) {
                throw new Fail(Exit.NOT_FOUND, "publication " + publication + " is empty", "add tables to it: "
                        + "./jbang publication --table … (guide A.2.2)");
            }
            List<Tbl> selected = select(published, tableNames, schemaNames);
            Map<String, Map<String, String>> text = new LinkedHashMap<>();     // table key → column → reason
            Map<String, Set<String>> excluded = new LinkedHashMap<>();          // table key → columns
            columns(published, selected, textRefs, excludeRefs, text, excluded);

            try (Mz db = Mz.connect(mz, o)) {
                // ---- which syntax
                boolean newSyntax;
                String why;
                if (asked == Syntax.legacy) {
                    newSyntax = false;
                    why = "--syntax legacy";
                } else if (db.planOnly()) {
                    newSyntax = asked == Syntax.new_;
                    why = asked == Syntax.new_ ? "--syntax new" : "dry run: the server's enable_create_table_from_source "
                            + "was not read; the legacy syntax works on every version";
                } else if (!db.version.atLeast(NEW_SYNTAX_SINCE)) {
                    if (asked == Syntax.new_) {
                        throw new Fail(Exit.NOT_READY, "--syntax new, but Materialize " + db.version + " predates "
                                + "CREATE TABLE … FROM SOURCE (" + NEW_SYNTAX_SINCE + "+)", "use --syntax legacy (or auto)");
                    }
                    newSyntax = false;
                    why = "Materialize " + db.version + " predates the new syntax (" + NEW_SYNTAX_SINCE + "+)";
                } else {
                    String flag = null;
                    String error = null;
                    try {
                        Object v = db.value(FLAG);
                        flag = v == null ? null : v.toString();
                    } catch (Fail f) {
                        error = f.getMessage();
                    }
                    if (error != null) {
                        o.put("syntax_flag_error", error);
                    }
                    boolean on = flag != null && List.of("on", "true", "yes", "1").contains(flag.toLowerCase(Locale.ROOT));
                    if (asked == Syntax.new_) {
                        if (flag != null && !on) {
                            throw new Fail(Exit.NOT_READY, "--syntax new, but this Materialize has "
                                    + "enable_create_table_from_source off (the new syntax is in private preview)",
                                    "use --syntax legacy (or auto), or ask Materialize to turn the flag on");
                        }
                        newSyntax = true;
                        why = "--syntax new";
                    } else {
                        newSyntax = on;
                        why = error != null ? "Materialize " + db.version + "; its enable_create_table_from_source "
                                + "could not be read (a feature flag only mz_system sees; off unless Materialize turned "
                                + "it on), so the legacy syntax, which works on every version"
                                : on ? "this server has enable_create_table_from_source on"
                                : "this server has enable_create_table_from_source off (the default)";
                    }
                }
                o.put("syntax", newSyntax ? "new" : "legacy");
                o.put("syntax_reason", why);

                if (!db.planOnly()) {
                    List<Map<String, Object>> existing = db.query(EXISTING_SOURCE, source);
                    if (!existing.isEmpty()) {
                        return existingSource(o, up, db, existing.get(0), selected, text, excluded, newSyntax);
                    }
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

                // ---- the plan
                Map<String, String> names = mzNames(selected, List.of());
                show(o, selected, names, text, excluded);
                o.line("syntax: %s (%s)", newSyntax ? "new" : "legacy", why);
                identity(o, db.planOnly(), selected);
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
                    up.exec(String.format(ANALYZE, refs(selected)));
                }
                String forWhat;
                if (newSyntax) {
                    db.exec(String.format(CREATE_NEW, Sql.ident(source), Sql.ident(cluster), Sql.ident(connection),
                            Sql.literal(publication)));
                    db.transaction(createTables(selected, names, text, excluded));
                    forWhat = selected.size() + " table" + (selected.size() == 1 ? "" : "s") + " FROM SOURCE";
                } else {
                    String clause = forClause(selected, names, tableNames, schemaNames);
                    db.exec(String.format(CREATE_LEGACY, Sql.ident(source), Sql.ident(cluster), Sql.ident(connection),
                            legacyOptions(selected, text, excluded), clause));
                    forWhat = clause.replaceAll(" \\(.*", "") + ": " + selected.size() + " subsource"
                            + (selected.size() == 1 ? "" : "s");
                }
                int nText = text.values().stream().mapToInt(Map::size).sum();
                o.put("created", !db.planOnly());
                o.line("source %s: %s (%s syntax, %s, %d text column%s)", source,
                        db.planOnly() ? "would be created" : "created; its snapshot runs now (watch it: guide C.4)", newSyntax ? "new" : "legacy", forWhat, nText, nText == 1 ? "" : "s");
                return Exit.OK;
            }
        }
    }

    // ---- upstream -------------------------------------------------------------------------------------

    private List<Tbl> published(Pg up) throws Exception {
        String filter = up.serverVersionNum() >= 150000 ? SourceTypes.PUBLISHED_COLUMNS_15 : SourceTypes.PUBLISHED_COLUMNS_14;
        Map<String, Tbl> tables = new LinkedHashMap<>();
        for (Map<String, Object> r : up.query(String.format(SourceTypes.COLUMNS, filter), publication)) {
            String schema = (String) r.get("schema_name");
            String name = (String) r.get("table_name");
            Tbl t = tables.computeIfAbsent(schema + "\u0000" + name,
                    k -> new Tbl(schema, name, r.get("identity").toString().charAt(0), new ArrayList<>()));
            String typeSchema = (String) r.get("type_schema");
            String typname = (String) r.get("typname");
            String declared = (String) r.get("declared");
            boolean reg = "pg_catalog".equals(typeSchema) && (typname.startsWith("reg") || typname.startsWith("_reg"));
            t.cols().add(new Col((String) r.get("attname"), declared,
                    reg ? "a reg* type: Materialize cannot ingest it, not even as text" : SourceTypes.reason(r), reg));
        }
        return new ArrayList<>(tables.values());
    }

    /** The publication's tables that the source takes: all, --for-tables, or --for-schemas. */
    private List<Tbl> select(List<Tbl> published, List<Sql.Name> tableNames, List<Sql.Name> schemaNames) {
        if (!tableNames.isEmpty()) {
            Set<Tbl> out = new LinkedHashSet<>();
            List<String> missing = new ArrayList<>();
            for (Sql.Name n : tableNames) {
                Tbl t = findTable(published, n.schema(), n.schemaQuoted(), n.name(), n.quoted(), n.display());
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
    private Tbl findTable(List<Tbl> published, String schema, boolean schemaQuoted, String name, boolean quoted,
                          String display) {
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
    private void columns(List<Tbl> published, List<Tbl> selected, List<Sql.ColumnRef> textRefs,
                         List<Sql.ColumnRef> excludeRefs, Map<String, Map<String, String>> text,
                         Map<String, Set<String>> excluded) {
        Map<String, Set<String>> askedText = new LinkedHashMap<>();
        for (boolean exclude : List.of(true, false)) {
            for (Sql.ColumnRef c : exclude ? excludeRefs : textRefs) {
                String opt = exclude ? "--exclude-column" : "--text-column";
                Tbl t = findTable(published, c.schema(), c.schemaQuoted(), c.table(), c.tableQuoted(), c.display());
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
                if (!exclude && excluded.getOrDefault(t.key(), Set.of()).contains(col)) {
                    throw Fail.usage(t.ref() + "." + Sql.ident(col) + " is given to both --text-column and "
                            + "--exclude-column", "keep one (Materialize refuses duplicated column references)");
                }
                (exclude ? excluded : askedText).computeIfAbsent(t.key(), k -> new LinkedHashSet<>()).add(col);
            }
        }
        List<String> uningestable = new ArrayList<>();
        for (Tbl t : selected) {
            Set<String> ex = excluded.getOrDefault(t.key(), Set.of());
            Set<String> asked = askedText.getOrDefault(t.key(), Set.of());
            for (Col c : t.cols()) {
                if (ex.contains(c.name())) {
                    continue;
                }
                if (c.uningestable()) {
                    uningestable.add(t.ref() + "." + Sql.ident(c.name()) + " (" + c.type() + ")");
                } else if (c.reason() != null) {
                    text.computeIfAbsent(t.key(), k -> new LinkedHashMap<>()).put(c.name(), c.reason());
                } else if (asked.contains(c.name())) {
                    text.computeIfAbsent(t.key(), k -> new LinkedHashMap<>()).put(c.name(), "asked with --text-column");
                }
            }
        }
        if (!uningestable.isEmpty()) {
            throw Fail.usage("Materialize cannot ingest " + String.join(", ", uningestable) + ", not even as text "
                    + "(reg* types)", "leave " + (uningestable.size() == 1 ? "it" : "them") + " out: --exclude-column "
                    + String.join(",", uningestable.stream().map(s -> s.replaceAll(" \\(.*", "")).toList()));
        }
    }

    // ---- the statements ---------------------------------------------------------------------------------

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

    private static String refs(List<Tbl> tables) {
        return String.join(", ", tables.stream().map(Tbl::ref).toList());
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

    /** Legacy: PUBLICATION 'p'[, TEXT COLUMNS (schema.table.col, …)][, EXCLUDE COLUMNS (…)]. */
    private String legacyOptions(List<Tbl> tables, Map<String, Map<String, String>> text, Map<String, Set<String>> excluded) {
        List<String> opts = new ArrayList<>();
        opts.add("PUBLICATION " + Sql.literal(publication));
        opts.addAll(columnOptions(tables, text, excluded));
        return String.join(", ", opts);
    }

    /** TEXT COLUMNS (schema.table.col, …) and EXCLUDE COLUMNS (…), each only when it has columns. */
    private static List<String> columnOptions(List<Tbl> tables, Map<String, Map<String, String>> text,
                                              Map<String, Set<String>> excluded) {
        List<String> opts = new ArrayList<>();
        Map<String, Set<String>> textCols = new LinkedHashMap<>();
        text.forEach((k, v) -> textCols.put(k, v.keySet()));
        String t = columnRefs(tables, textCols);
        if (!t.isEmpty()) {
            opts.add("TEXT COLUMNS (" + t + ")");
        }
        String e = columnRefs(tables, excluded);
        if (!e.isEmpty()) {
            opts.add("EXCLUDE COLUMNS (" + e + ")");
        }
        return opts;
    }

    /** FOR ALL TABLES, FOR TABLES (…) or FOR SCHEMAS (…); FOR TABLES with AS when two tables share a name. */
    private static String forClause(List<Tbl> tables, Map<String, String> names, List<Sql.Name> tableNames,
                                    List<Sql.Name> schemaNames) {
        boolean clash = tables.stream().anyMatch(t -> !names.get(t.key()).equals(t.name()));
        if (clash || !tableNames.isEmpty()) {
            List<String> list = new ArrayList<>();
            for (Tbl t : tables) {
                String n = names.get(t.key());
                list.add(t.ref() + (n.equals(t.name()) ? "" : " AS " + Sql.ident(n)));
            }
            return "FOR TABLES (" + String.join(", ", list) + ")";
        }
        if (!schemaNames.isEmpty()) {
            Set<String> schemas = new LinkedHashSet<>();
            tables.forEach(t -> schemas.add(t.schema()));
            return "FOR SCHEMAS (" + Sql.identList(new ArrayList<>(schemas)) + ")";
        }
        return "FOR ALL TABLES";
    }

    /** New syntax: CREATE TABLE name FROM SOURCE s (REFERENCE schema.table) [WITH (TEXT COLUMNS (c), EXCLUDE COLUMNS (c))]. */
    private List<String> createTables(List<Tbl> tables, Map<String, String> names, Map<String, Map<String, String>> text,
                                      Map<String, Set<String>> excluded) {
        List<String> out = new ArrayList<>();
        for (Tbl t : tables) {
            String sql = String.format(CREATE_TABLE, Sql.ident(names.get(t.key())), Sql.ident(source), t.ref());
            List<String> with = new ArrayList<>();
            if (text.containsKey(t.key())) {
                with.add("TEXT COLUMNS (" + Sql.identList(new ArrayList<>(text.get(t.key()).keySet())) + ")");
            }
            if (excluded.containsKey(t.key())) {
                with.add("EXCLUDE COLUMNS (" + Sql.identList(new ArrayList<>(excluded.get(t.key()))) + ")");
            }
            out.add(sql + (with.isEmpty() ? "" : String.format(WITH, String.join(", ", with))));
        }
        return out;
    }

    /** Legacy, for an existing source: ALTER SOURCE s ADD SUBSOURCE t1 [AS n1], … [WITH (TEXT COLUMNS (…), …)]. */
    private String addSubsources(List<Tbl> tables, Map<String, String> names, Map<String, Map<String, String>> text,
                                 Map<String, Set<String>> excluded) {
        List<String> list = new ArrayList<>();
        for (Tbl t : tables) {
            String n = names.get(t.key());
            list.add(t.ref() + (n.equals(t.name()) ? "" : " AS " + Sql.ident(n)));
        }
        String sql = String.format(ADD_SUBSOURCE, Sql.ident(source), String.join(", ", list));
        List<String> opts = columnOptions(tables, text, excluded);
        return opts.isEmpty() ? sql : sql + String.format(WITH, String.join(", ", opts));
    }

    // ---- output -----------------------------------------------------------------------------------------

    private void show(Out o, List<Tbl> tables, Map<String, String> names, Map<String, Map<String, String>> text,
                      Map<String, Set<String>> excluded) {
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

    /** Materialize refuses tables without REPLICA IDENTITY FULL; say so before it does. */
    private void identity(Out o, boolean planOnly, List<Tbl> tables) {
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

    // ---- an existing source -------------------------------------------------------------------------------

    private int existingSource(Out o, Pg up, Mz db, Map<String, Object> src, List<Tbl> selected,
                               Map<String, Map<String, String>> text, Map<String, Set<String>> excluded,
                               boolean newSyntaxDefault) throws Exception {
        String id = String.valueOf(src.get("id"));
        String type = String.valueOf(src.get("type"));
        if (!type.equalsIgnoreCase("postgres")) {
            throw new Fail(Exit.CONFLICT, "source " + source + " exists but is a " + type + " source; nothing was changed",
                    "choose another --source");
        }
        Matcher m = Pattern.compile("PUBLICATION\\s*=?\\s*'((?:[^']|'')*)'", Pattern.CASE_INSENSITIVE)
                .matcher(String.valueOf(src.get("create_sql")));
        if (m.find() && !m.group(1).replace("''", "'").equals(publication)) {
            throw new Fail(Exit.CONFLICT, "source " + source + " exists and reads publication " + m.group(1).replace("''", "'")
                    + ", not " + publication + "; nothing was changed",
                    "give --publication " + m.group(1).replace("''", "'") + ", or choose another --source");
        }
        if (src.get("cluster_name") != null && !cluster.equals(src.get("cluster_name"))) {
            o.warn("source " + source + " runs in cluster " + src.get("cluster_name") + ", not " + cluster + "; left as it is");
        }
        if (src.get("connection_name") != null && !connection.equals(src.get("connection_name"))) {
            o.warn("source " + source + " uses connection " + src.get("connection_name") + ", not " + connection
                    + "; left as it is");
        }
        List<String[]> have = new ArrayList<>();
        boolean anyTable = false;
        boolean anySubsource = false;
        for (Map<String, Object> r : db.query(SOURCE_TABLES, id, id)) {
            have.add(new String[] {(String) r.get("schema_name"), (String) r.get("table_name")});
            if (Boolean.TRUE.equals(r.get("is_table"))) {
                anyTable = true;
            } else {
                anySubsource = true;
            }
        }
        boolean newSyntax = anyTable || (!anySubsource && newSyntaxDefault);
        Set<String> haveKeys = new LinkedHashSet<>();
        have.forEach(h -> haveKeys.add(h[0] + "\u0000" + h[1]));
        List<Tbl> missing = selected.stream().filter(t -> !haveKeys.contains(t.key())).toList();
        Set<String> selectedKeys = new LinkedHashSet<>();
        selected.forEach(t -> selectedKeys.add(t.key()));
        List<String> gone = have.stream().filter(h -> forTables.isEmpty() && forSchemas.isEmpty()
                && !selectedKeys.contains(h[0] + "\u0000" + h[1])).map(h -> Sql.qualified(h[0], h[1])).toList();
        o.put("already_done", true);
        o.put("existing_tables", have.size());
        o.put("missing_tables", missing.stream().map(Tbl::ref).toList());
        if (!gone.isEmpty()) {
            o.warn("source " + source + " has table(s) no longer in publication " + publication + ": " + String.join(", ", gone)
                    + "; Materialize errors them once it notices; drop their subsources/tables in Materialize");
        }
        if (missing.isEmpty()) {
            o.line("source %s: already done (exists with %d table%s; every selected table of publication %s is in it)",
                    source, have.size(), have.size() == 1 ? "" : "s", publication);
            return Exit.OK;
        }
        Map<String, String> names = mzNames(missing, have);
        Map<String, Map<String, String>> t = new LinkedHashMap<>();
        Map<String, Set<String>> x = new LinkedHashMap<>();
        for (Tbl tb : missing) {
            if (text.containsKey(tb.key())) {
                t.put(tb.key(), text.get(tb.key()));
            }
            if (excluded.containsKey(tb.key())) {
                x.put(tb.key(), excluded.get(tb.key()));
            }
        }
        List<String> sqls = newSyntax ? createTables(missing, names, t, x) : List.of(addSubsources(missing, names, t, x));
        if (!addNewTables) {
            o.line("source %s: already done (exists with %d table%s)", source, have.size(), have.size() == 1 ? "" : "s");
            o.warn(missing.size() + " table(s) of publication " + publication + " are not in source " + source + ": "
                    + refs(missing) + " (tables added to a publication are not picked up by themselves); fix: "
                    + "./jbang source --add-new-tables, which runs: " + String.join("; ", sqls));
            return Exit.OK;
        }
        show(o, missing, names, t, x);
        identity(o, false, missing);
        if (analyze) {
            up.exec(String.format(ANALYZE, refs(missing)));
        }
        if (newSyntax) {
            db.transaction(sqls);
        } else {
            db.exec(sqls.get(0));
        }
        o.put("added", missing.stream().map(Tbl::ref).toList());
        o.line("source %s: %d table%s added (%s); while %s snapshot%s, the source's other tables wait", source,
                missing.size(), missing.size() == 1 ? "" : "s", newSyntax ? "CREATE TABLE … FROM SOURCE" : "ADD SUBSOURCE",
                missing.size() == 1 ? "it takes its" : "they take their", missing.size() == 1 ? "" : "s");
        return Exit.OK;
    }
}
