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
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step D: explore the ingested data: sources, tables, row counts beside upstream's, example views (--create-examples) and live changes (--subscribe-seconds).

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
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
 * Guide section D — "Explore your data". The docs' next steps: look with {@code SHOW SOURCES} /
 * {@code SHOW TABLES} and {@code SELECT}; compute with {@code CREATE VIEW} + {@code CREATE INDEX} (kept in
 * memory) or {@code CREATE MATERIALIZED VIEW} (durable); serve with {@code SELECT} or {@code SUBSCRIBE}.
 * Here SHOW SOURCES and SHOW TABLES are their catalog equivalents (one answer to read; SHOW is Materialize
 * syntax and lists only the current schema), the row counts of every ingested table stand beside the
 * upstream counts (one UNION ALL query per system), the examples are built over the lab's shop tables, and
 * SUBSCRIBE runs through a cursor for a bounded time.
 */
@Command(name = "explore", mixinStandardHelpOptions = true,
        description = {"Guide step D: the sources (SHOW SOURCES), the tables a source feeds (SHOW TABLES) with their "
                + "row counts beside the upstream counts (with --pg-url or DATABASE_URL; exit 9 when they differ), "
                + "optional example views over the lab's shop tables (--create-examples: a view with an index and a "
                + "materialized view, made once) and live changes (--subscribe-seconds N: SUBSCRIBE through a cursor)."},
        footer = {"%nExamples:",
                "  ./jbang explore --mz-url \"$MZ_URL\"",
                "  ./jbang explore --create-examples --subscribe-seconds 30",
                "  ./jbang explore --dry-run --create-examples --subscribe-seconds 10   # no Materialize needed"})
public class Explore implements Callable<Integer> {
    /** SHOW SOURCES, from the catalog: the user's sources (not subsources, not progress relations). */
    static final String SOURCES = """
            SELECT s.id, s.name, s.type, c.name AS cluster
            FROM mz_catalog.mz_sources AS s LEFT JOIN mz_catalog.mz_clusters AS c ON c.id = s.cluster_id
            WHERE s.id LIKE 'u%' AND s.type NOT IN ('subsource', 'progress')
            ORDER BY s.name""";

    /**
     * SHOW TABLES for what the source feeds: its subsources (legacy syntax) and its tables (new syntax,
     * mz_tables.source_id), each with the upstream table it reads (mz_postgres_source_tables) and whether its
     * snapshot is committed (a SELECT waits until it is). A subsource depends on its source
     * (mz_object_dependencies: object_id = the subsource, referenced_object_id = the source), as Materialize's
     * own view mz_source_statuses joins them; the docs' C.4 query, which goes the other way, finds only the
     * source's progress subsource and connection (docs/materialize-facts.md).
     */
    static final String TABLES = """
            WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = %s),
            ingested AS (
              SELECT d.object_id AS id FROM mz_internal.mz_object_dependencies AS d
                JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
              WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
              UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)),
            stats AS (
              SELECT id, bool_and(snapshot_committed) AS snapshot_committed FROM mz_internal.mz_source_statistics
              WHERE id IN (SELECT id FROM ingested) GROUP BY id)
            SELECT o.id, d.name AS database_name, sc.name AS schema_name, o.name,
                   t.schema_name AS upstream_schema, t.table_name AS upstream_table, stats.snapshot_committed
            FROM ingested AS i
              JOIN mz_catalog.mz_objects AS o ON o.id = i.id
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
              JOIN mz_internal.mz_postgres_source_tables AS t ON t.id = i.id
              LEFT JOIN stats ON stats.id = i.id
            ORDER BY t.schema_name, t.table_name""";

    /** One part of the count query (the same shape on both systems); the parts joined by UNION ALL. */
    static final String COUNT = "SELECT %s AS id, count(*) AS n FROM %s";

    /** The examples (docs: a view plus an index is kept up to date in memory; a materialized view is durable). */
    static final String VIEW = """
            CREATE VIEW IF NOT EXISTS orders_per_customer AS
              SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.total), 0) AS total_spent
              FROM %s AS c LEFT JOIN %s AS o ON o.customer_id = c.id
              GROUP BY c.id, c.name""";
    static final String INDEX = "CREATE INDEX IF NOT EXISTS orders_per_customer_idx%s ON orders_per_customer (customer_id)";
    static final String MATERIALIZED_VIEW = """
            CREATE MATERIALIZED VIEW IF NOT EXISTS revenue_per_day%s AS
              SELECT date_trunc('day', placed_at) AS day, count(*) AS orders, sum(total) AS revenue
              FROM %s
              GROUP BY date_trunc('day', placed_at)""";
    static final List<String> EXAMPLES = List.of("orders_per_customer", "orders_per_customer_idx", "revenue_per_day");

    /** Which examples exist already, in the session's schema (where the unqualified CREATEs put them). */
    static final String EXISTING = """
            SELECT o.name, o.type FROM mz_catalog.mz_objects AS o
              JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
            WHERE sc.name = current_schema() AND d.name = current_database()
              AND o.name IN ('orders_per_customer', 'orders_per_customer_idx', 'revenue_per_day')""";

    /** SUBSCRIBE through a cursor (docs' form), read with FETCH … WITH (timeout) until the time is up. */
    static final String DECLARE = "DECLARE c CURSOR FOR SUBSCRIBE %s";
    static final String FETCH = "FETCH ALL c WITH (timeout = '1s')";

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-s", "--source"}, paramLabel = "NAME", description = "The source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--create-examples", description = "Create, if missing, the view orders_per_customer with an "
            + "index and the materialized view revenue_per_day over the lab's customers and orders.")
    boolean createExamples;

    @Option(names = "--cluster", paramLabel = "NAME", description = "Cluster for the example index and materialized "
            + "view (default: the session's cluster).")
    String cluster;

    @Option(names = "--subscribe-seconds", paramLabel = "N", description = "SUBSCRIBE for N seconds and print the "
            + "changes (0, the default: no SUBSCRIBE).")
    int subscribeSeconds;

    @Option(names = "--subscribe-to", paramLabel = "NAME", description = "What to SUBSCRIBE to (default ${DEFAULT-VALUE}).")
    String subscribeTo = "orders_per_customer";

    @Option(names = "--count-timeout", paramLabel = "SECONDS", description = "Give up counting after SECONDS "
            + "(default ${DEFAULT-VALUE}).")
    int countTimeout = 60;

    public static void main(String... args) {
        Cli.main(new Explore(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (source.isEmpty()) {
            throw Fail.usage("the source name is empty", "give --source NAME (default mz_source)");
        }
        if (subscribeSeconds < 0 || countTimeout < 1) {
            throw Fail.usage("--subscribe-seconds must be 0 or more and --count-timeout 1 or more",
                    "e.g. --subscribe-seconds 30 --count-timeout 60");
        }
        if (cluster != null) {
            Sql.requireName("cluster", cluster);
        }
        String target = ExploreReport.subscribeTarget(subscribeTo);
        boolean upstream = pg.given();
        String tablesSql = String.format(TABLES, Sql.literal(source));
        o.put("source", source);
        try (Mz db = Mz.connect(mz, o)) {
            if (db.planOnly()) {
                ExploreReport.plan(o, db, this, tablesSql, upstream, target);
                return Exit.OK;
            }
            // ---- look: SHOW SOURCES, then SHOW TABLES with the row counts beside upstream's
            showSources(o, db);
            List<Map<String, Object>> tables = ExploreReport.tables(db, db.query(tablesSql));
            Fail parityFail = parity(o, db, tables, upstream);
            o.put("tables", tables);

            // ---- compute (--create-examples), serve (--subscribe-seconds)
            if (createExamples) {
                examples(o, db, tables);
            }
            if (subscribeSeconds > 0) {
                subscribe(o, db, target);
            }
            if (parityFail != null) {
                throw parityFail;
            }
            return Exit.OK;
        }
    }

    /** SHOW SOURCES: the sources printed; the one asked for must be among them. */
    private void showSources(Out o, Mz db) throws SQLException {
        List<Map<String, Object>> sources = db.query(SOURCES);
        o.put("sources", sources);
        if (sources.stream().noneMatch(s -> source.equals(s.get("name")))) {
            o.table(List.of("source", "type", "cluster"), ExploreReport.rows(sources, "name", "type", "cluster"));
            throw new Fail(Exit.NOT_FOUND, "source " + source + " not found in Materialize",
                    sources.isEmpty() ? "create it: ./jbang source (guide C.3)" : "give one of the sources above with --source");
        }
        o.table(List.of("source", "type", "cluster"), ExploreReport.rows(sources, "name", "type", "cluster"));
    }

    List<String> exampleStatements(String customers, String orders) {
        String in = cluster == null ? "" : " IN CLUSTER " + Sql.ident(cluster);
        return List.of(String.format(VIEW, customers, orders), String.format(INDEX, in),
                String.format(MATERIALIZED_VIEW, in, orders));
    }

    // ---- parity ------------------------------------------------------------------------------

    /** Counts on both sides, one query each; the table printed; a VERIFY failure (returned) when they differ. */
    private Fail parity(Out o, Mz db, List<Map<String, Object>> tables, boolean upstream) throws SQLException {
        List<Map<String, Object>> counted = tables.stream().filter(t -> Boolean.TRUE.equals(t.get("snapshot_committed"))).toList();
        Map<String, Object> mzCounts = new LinkedHashMap<>();
        Map<String, Object> upCounts = new LinkedHashMap<>();
        if (!counted.isEmpty()) {
            mzCounts = countInMaterialize(db, counted);
            if (upstream) {
                upCounts = countUpstream(o, counted);
            }
        }
        ExploreReport.Parity parity = new ExploreReport.Parity(upstream);
        for (Map<String, Object> t : tables) {
            Object m = mzCounts.get(t.get("id"));
            Object u = upCounts.get(t.get("id"));
            parity.add(t, m, u, verdict(t, m, u, upstream));
        }
        parity.print(o, counted.size());
        int skipped = tables.size() - counted.size();
        String tail = skipped == 0 ? "" : "; " + skipped + " still snapshotting (not counted: a SELECT would wait for it)";
        if (tables.isEmpty()) {
            o.warn("source " + source + " feeds no tables yet: with the new syntax add them with CREATE TABLE … FROM SOURCE");
        }
        if (!upstream) {
            o.line("explore %s: %d tables%s (give --pg-url or DATABASE_URL to compare with upstream)", source, tables.size(), tail);
            return null;
        }
        if (parity.differ.isEmpty()) {
            o.line("explore %s: %d tables; row counts match upstream for %d%s", source, tables.size(), parity.matching, tail);
            return null;
        }
        o.line("explore %s: %d tables; row counts differ for %d%s", source, tables.size(), parity.differ.size(), tail);
        return new Fail(Exit.VERIFY, "row counts differ from upstream: " + String.join(", ", parity.differ),
                "the two counts are taken a moment apart: while writes go on upstream a difference is lag (./jbang "
                        + "monitor shows it), so run again; one that stays means rows are missing: check the source with "
                        + "./jbang monitor");
    }

    /** A table's parity: snapshotting (not counted), "" without upstream, ok when both counts match, else DIFFERS. */
    private static String verdict(Map<String, Object> t, Object m, Object u, boolean upstream) {
        if (!Boolean.TRUE.equals(t.get("snapshot_committed"))) {
            return "snapshotting";
        }
        if (!upstream) {
            return "";
        }
        return Objects.equals(ExploreReport.num(m), ExploreReport.num(u)) ? "ok" : "DIFFERS";
    }

    /** The row counts in Materialize (one query, table id → count), given up after --count-timeout. */
    private Map<String, Object> countInMaterialize(Mz db, List<Map<String, Object>> counted) throws SQLException {
        Map<String, Object> counts = new LinkedHashMap<>();
        try {
            for (Map<String, Object> r : db.queryWithin(countTimeout, countQuery(counted, "name"))) {
                counts.put((String) r.get("id"), r.get("n"));
            }
        } catch (Fail f) {
            if (f.getCause() instanceof SQLException s && "57014".equals(s.getSQLState())) {
                throw new Fail(Exit.TIMEOUT, "counting the rows in Materialize took more than " + countTimeout + "s",
                        "a table may still be catching up: ./jbang monitor; or raise --count-timeout", f);
            }
            throw f;
        }
        return counts;
    }

    /** The row counts upstream, of the same tables (one query, table id → count). */
    private Map<String, Object> countUpstream(Out o, List<Map<String, Object>> counted) throws SQLException {
        Map<String, Object> counts = new LinkedHashMap<>();
        String sql = countQuery(counted, "upstream");
        try (Pg p = pg.connect(o)) {
            for (Map<String, Object> r : p.query(sql)) {
                counts.put((String) r.get("id"), r.get("n"));
            }
        }
        return counts;
    }

    /** The COUNT of each table, by its {@code name} (in Materialize) or {@code upstream} name, joined by UNION ALL. */
    private static String countQuery(List<Map<String, Object>> counted, String nameKey) {
        List<String> parts = new ArrayList<>();
        for (Map<String, Object> t : counted) {
            parts.add(String.format(COUNT, Sql.literal((String) t.get("id")), t.get(nameKey)));
        }
        return String.join("\nUNION ALL\n", parts);
    }

    // ---- examples ----------------------------------------------------------------------------

    private void examples(Out o, Mz db, List<Map<String, Object>> tables) throws SQLException {
        String customers = ExploreReport.find(tables, "customers");
        String orders = ExploreReport.find(tables, "orders");
        if (customers == null || orders == null) {
            throw new Fail(Exit.NOT_FOUND, "the examples need the lab's customers and orders tables among those " + source
                    + " feeds", "ingest them (./jbang publication --table customers,orders upstream, then ./jbang source), "
                    + "or write your own: CREATE VIEW … AS SELECT … FROM <table>");
        }
        List<String> existing = new ArrayList<>();
        for (Map<String, Object> r : db.query(EXISTING)) {
            existing.add((String) r.get("name"));
        }
        List<String> sqls = exampleStatements(customers, orders);
        List<String> made = new ArrayList<>();
        for (int i = 0; i < EXAMPLES.size(); i++) {
            if (!existing.contains(EXAMPLES.get(i))) {
                db.exec(sqls.get(i));
                made.add(EXAMPLES.get(i));
            }
        }
        ExploreReport.examples(o, made, existing);
    }

    // ---- subscribe ---------------------------------------------------------------------------

    /**
     * SUBSCRIBE in a transaction through a cursor: each FETCH waits up to 1s for changes; stops after
     * --subscribe-seconds. The first rows are the current contents (inserts at the first timestamp).
     */
    private void subscribe(Out o, Mz db, String target) throws SQLException {
        String declare = String.format(DECLARE, target);
        o.statement("BEGIN");
        o.statement(declare);
        o.statement(FETCH);
        o.line("SUBSCRIBE %s for %ds (mz_diff: +1 a row added, -1 a row removed):", target, subscribeSeconds);
        List<Map<String, Object>> changes = new ArrayList<>();
        Connection c = db.conn();
        long end = System.nanoTime() + subscribeSeconds * 1_000_000_000L;
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            db.sent(declare);
            s.execute(declare);
            while (System.nanoTime() < end) {
                db.sent(FETCH);
                try (ResultSet rs = s.executeQuery(FETCH)) {
                    ExploreReport.changes(o, rs, changes);
                }
            }
            c.commit();
            o.statement("COMMIT");
        } catch (SQLException e) {
            c.rollback();
            throw Mz.translate("SUBSCRIBE " + target, e);
        } finally {
            c.setAutoCommit(true);
        }
        o.put("changes", changes);
        o.line("subscribe: %d changes in %ds", changes.size(), subscribeSeconds);
    }
}

/**
 * What {@link Explore} shows, shaped for the tables and the JSON: the dry-run plan, the tables a source feeds,
 * their row counts beside upstream's (the parity table), the examples made, and the changes SUBSCRIBE fetches;
 * also --subscribe-to read as SQL.
 */
final class ExploreReport {
    private ExploreReport() {}

    // ---- options and plan ----------------------------------------------------------------------

    /** --subscribe-to as SQL: one name, [schema.]name, folded to lower case unless quoted. */
    static String subscribeTarget(String subscribeTo) {
        List<Sql.Name> names = Sql.parseNames(subscribeTo);
        if (names.size() != 1) {
            throw Fail.usage("--subscribe-to takes one name", "e.g. --subscribe-to orders_per_customer");
        }
        Sql.Name n = names.get(0);
        String name = n.quoted() ? n.name() : n.name().toLowerCase(java.util.Locale.ROOT);
        if (n.schema() == null) {
            return Sql.ident(name);
        }
        String schema = n.schemaQuoted() ? n.schema() : n.schema().toLowerCase(java.util.Locale.ROOT);
        return Sql.qualified(schema, name);
    }

    /** The dry run: what explore would send, with the example statements and the SUBSCRIBE as options ask. */
    static void plan(Out o, Mz db, Explore e, String tablesSql, boolean upstream, String target) {
        o.line("-- dry run: no Materialize was contacted. On Materialize:");
        db.planned(Explore.SOURCES);
        db.planned(tablesSql);
        o.line("-- then one count query per system over the tables found, for those with snapshot_committed, e.g.");
        o.line("--   %s UNION ALL …", String.format(Explore.COUNT, "'u5'", "materialize.public.orders"));
        if (upstream) {
            o.line("--   upstream: %s UNION ALL …", String.format(Explore.COUNT, "'u5'", "public.orders"));
        }
        if (e.createExamples) {
            o.line("-- examples, each only if missing (checked in mz_objects); the customers and orders tables are "
                    + "looked up among those found above and shown here unqualified:");
            for (String s : e.exampleStatements("customers", "orders")) {
                db.planned(s);
            }
        }
        if (e.subscribeSeconds > 0) {
            o.line("-- SUBSCRIBE for %ds: FETCH repeats until then", e.subscribeSeconds);
            o.statement("BEGIN");
            db.planned(String.format(Explore.DECLARE, target));
            db.planned(Explore.FETCH);
            o.statement("COMMIT");
        }
    }

    // ---- the tables and their counts --------------------------------------------------------

    /**
     * The tables of SHOW TABLES: id, name (database.schema.name), upstream (schema.table), snapshot_committed.
     * The upstream names as Materialize stores them: quoted where needed before v26.19, raw from then on.
     */
    static List<Map<String, Object>> tables(Mz db, List<Map<String, Object>> rows) {
        List<Map<String, Object>> tables = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Map<String, Object> t = new LinkedHashMap<>();
            String upstreamSchema = db.sourceTableName((String) r.get("upstream_schema"));
            String upstreamTable = db.sourceTableName((String) r.get("upstream_table"));
            t.put("id", r.get("id"));
            t.put("name", Sql.ident((String) r.get("database_name")) + "." + Sql.qualified((String) r.get("schema_name"),
                    (String) r.get("name")));
            t.put("upstream", Sql.qualified(upstreamSchema, upstreamTable));
            t.put("upstream_table", upstreamTable);
            t.put("snapshot_committed", Boolean.TRUE.equals(r.get("snapshot_committed")));
            tables.add(t);
        }
        return tables;
    }

    /** The Materialize name of the ingested table reading upstream table {@code upstreamTable} (any schema). */
    static String find(List<Map<String, Object>> tables, String upstreamTable) {
        for (Map<String, Object> t : tables) {
            if (upstreamTable.equals(t.get("upstream_table"))) {
                return (String) t.get("name");
            }
        }
        return null;
    }

    /** The row counts table, built table by table (with each table's JSON keys rows, upstream_rows, parity). */
    static final class Parity {
        final boolean upstream;
        final List<List<?>> rows = new ArrayList<>();
        final List<String> differ = new ArrayList<>();
        int matching = 0;

        Parity(boolean upstream) {
            this.upstream = upstream;
        }

        /** Table {@code t} with {@code m} rows in Materialize and {@code u} upstream (null: not counted). */
        void add(Map<String, Object> t, Object m, Object u, String verdict) {
            if (verdict.equals("ok")) {
                matching++;
            } else if (verdict.equals("DIFFERS")) {
                differ.add(t.get("upstream") + " (" + u + " upstream, " + m + " in Materialize)");
            }
            t.put("rows", num(m));
            t.put("upstream_rows", upstream ? num(u) : null);
            t.put("parity", verdict.isEmpty() ? null : verdict.toLowerCase(java.util.Locale.ROOT));
            List<Object> row = new ArrayList<>(List.of(t.get("name"), t.get("upstream"), m == null ? "-" : m));
            if (upstream) {
                row.add(u == null ? "-" : u);
                row.add(verdict);
            }
            rows.add(row);
        }

        /** The table, and the "parity" JSON ({@code counted}: the tables whose snapshot was committed). */
        void print(Out o, int counted) {
            o.table(upstream ? List.of("table", "upstream", "rows", "rows upstream", "parity")
                    : List.of("table", "upstream", "rows"), rows);
            Map<String, Object> parity = new LinkedHashMap<>();
            parity.put("checked", upstream ? counted : 0);
            parity.put("matching", matching);
            parity.put("differ", differ);
            o.put("parity", parity);
        }
    }

    static Long num(Object v) {
        return v == null ? null : Long.valueOf(v.toString());
    }

    /** The examples created now and those that existed already. */
    static void examples(Out o, List<String> made, List<String> existing) {
        Map<String, Object> ex = new LinkedHashMap<>();
        ex.put("created", made);
        ex.put("existing", existing);
        o.put("examples", ex);
        if (made.isEmpty()) {
            o.line("examples: already done (%s exist)", String.join(", ", Explore.EXAMPLES));
        } else {
            o.line("examples: created %s; try: SELECT * FROM orders_per_customer; SELECT * FROM revenue_per_day;",
                    String.join(", ", made));
        }
    }

    /** The changes one FETCH returned: each printed (+1/-1 and its columns, not mz_timestamp) and kept for the JSON. */
    static void changes(Out o, ResultSet rs, List<Map<String, Object>> changes) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>();
            StringBuilder line = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                Object v = rs.getObject(i);
                String col = md.getColumnLabel(i);
                row.put(col, v == null ? null : v instanceof Number || v instanceof Boolean ? v : v.toString());
                if (col.equals("mz_diff")) {
                    line.append(Long.parseLong(String.valueOf(v)) > 0 ? "+" : "").append(v);
                } else if (!col.equals("mz_timestamp")) {
                    line.append("  ").append(col).append('=').append(v);
                }
            }
            changes.add(row);
            o.line("%s", line);
        }
    }

    static List<List<?>> rows(List<Map<String, Object>> maps, String... keys) {
        List<List<?>> out = new ArrayList<>();
        for (Map<String, Object> m : maps) {
            List<Object> r = new ArrayList<>();
            for (String k : keys) {
                r.add(m.get(k) == null ? "-" : m.get(k));
            }
            out.add(r);
        }
        return out;
    }
}
