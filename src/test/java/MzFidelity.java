import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks one statement the scripts send to Materialize against the pinned facts ({@link MzFacts}):
 * <ul>
 * <li>a query (SELECT/WITH): every {@code mz_…} relation it reads is a pinned one (a bare name resolves in
 *     mz_catalog, as Materialize's search path does), nothing of pg_catalog/information_schema is read on
 *     Materialize, functions named {@code mz_…} are pinned, and the query plans ({@code EXPLAIN}) on a
 *     database whose catalog is generated from the facts: a column Materialize lacks fails here;</li>
 * <li>any other statement: it matches one of {@link #SHAPES} (the toolkit's model of the grammar it emits),
 *     the shape's anchors (pinned parser cases or docs syntax blocks that show the form) are in the facts,
 *     every keyword it uses appears in a pinned parser case, docs syntax block or anchor of its kind, and its
 *     values are pinned ones (cluster sizes, SSL modes, system variables).</li>
 * </ul>
 * Used by MaterializeFidelityTest against the stand-in here, and by MaterializeIT against a real server.
 */
final class MzFidelity {
    static final String ID = "(?:\"(?:[^\"]|\"\")+\"|[a-z_][a-z0-9_$]*)";
    static final String QN = ID + "(?:\\." + ID + "){0,2}";
    static final String STR = "'(?:[^']|'')*'";
    static final String NUM = "\\d+";

    /**
     * A statement form: its kind (as the facts' parser cases name it), the pattern over the normalised text,
     * and anchors: pinned parser-case inputs (ok or error) or "docs:KIND" syntax blocks that show the form.
     */
    record Shape(String kind, Pattern pattern, List<String> anchors) {
        static Shape of(String kind, String regex, String... anchors) {
            String r = regex.replace("{ID}", ID).replace("{QN}", QN).replace("{STR}", STR).replace("{NUM}", NUM);
            return new Shape(kind, Pattern.compile(r), List.of(anchors));
        }
    }

    static final String CONN_OPT = "(?:HOST {STR}|PORT {NUM}|USER {STR}|PASSWORD SECRET {QN}|SSL MODE {STR}|DATABASE {STR})";
    static final String COLS = "\\({QN}(?:, {QN})*\\)";

    static final List<Shape> SHAPES = List.of(
            Shape.of("CREATE CLUSTER", "CREATE CLUSTER {ID} \\(SIZE(?: =)? {STR}(?:, REPLICATION FACTOR(?: =)? {NUM})?\\)",
                    "CREATE CLUSTER cluster SIZE 'scale=1,workers=1'", "CREATE CLUSTER cluster REPLICATION FACTOR 1",
                    "docs:CREATE CLUSTER"),
            Shape.of("ALTER CLUSTER", "ALTER CLUSTER {ID} SET \\((?:SIZE(?: =)? {STR}|REPLICATION FACTOR(?: =)? {NUM})\\)",
                    "ALTER CLUSTER cluster SET (SIZE 'scale=1,workers=1')", "ALTER CLUSTER cluster SET (REPLICATION FACTOR 1)"),
            Shape.of("DROP", "DROP (?:CLUSTER|SOURCE|CONNECTION|SECRET|TABLE) (?:IF EXISTS )?{QN}(?: CASCADE)?",
                    "DROP CLUSTER IF EXISTS cluster CASCADE", "DROP SOURCE myschema.mydatasource", "DROP CONNECTION conn1",
                    "DROP SECRET IF EXISTS secret", "DROP TABLE IF EXISTS foo, bar CASCADE"),
            Shape.of("ALTER TABLE", "ALTER TABLE {QN} RENAME TO {ID}", "ALTER TABLE foo RENAME TO bar"),
            // what evolve --apply re-creates: Materialize's own create_sql, naming what it reads by id and its cluster by id
            Shape.of("CREATE VIEW", "CREATE VIEW {QN} AS SELECT .+", "SELECT * FROM [u123 AS materialize.public.foo]"),
            Shape.of("CREATE MATERIALIZED VIEW", "CREATE MATERIALIZED VIEW {QN} IN CLUSTER \\[u\\d+\\] AS SELECT .+",
                    "CREATE MATERIALIZED VIEW v IN CLUSTER [1] AS SELECT 1", "SELECT * FROM [u123 AS materialize.public.foo]"),
            Shape.of("CREATE INDEX", "CREATE INDEX {ID} IN CLUSTER \\[u\\d+\\] ON \\[u\\d+ AS {QN}\\] \\({ID}(?:, {ID})*\\)",
                    "CREATE INDEX foo IN CLUSTER [1] ON myschema.bar (a, b)", "SELECT * FROM [u123 AS materialize.public.foo]"),
            Shape.of("CREATE SECRET", "CREATE SECRET (?:IF NOT EXISTS )?{QN} AS {STR}",
                    "CREATE SECRET IF NOT EXISTS secret AS decode('c2VjcmV0Cg==', 'base64')"),
            Shape.of("ALTER SECRET", "ALTER SECRET {QN} AS {STR}", "ALTER SECRET secret AS decode('new c2VjcmV0Cg==', 'base64')"),
            Shape.of("CREATE CONNECTION", "CREATE CONNECTION {QN} TO POSTGRES \\(" + CONN_OPT + "(?:, " + CONN_OPT + ")*\\)"
                    + "(?: WITH \\(VALIDATE = (?:true|false)\\))?", "docs:CREATE CONNECTION"),
            Shape.of("VALIDATE CONNECTION", "VALIDATE CONNECTION {QN}", "VALIDATE CONNECTION kafka_conn"),
            Shape.of("SHOW CREATE", "SHOW CREATE (?:CONNECTION|SOURCE|CLUSTER|TABLE) {QN}", "SHOW CREATE CONNECTION \"FOO\""),
            Shape.of("SHOW", "SHOW [a-z_]+", "SHOW a"),
            Shape.of("CREATE SOURCE", "CREATE SOURCE {QN}(?: IN CLUSTER {ID})? FROM POSTGRES CONNECTION {QN} \\(PUBLICATION {STR}"
                    + "(?:, TEXT COLUMNS " + COLS + ")?(?:, EXCLUDE COLUMNS " + COLS + ")?\\)"
                    + "(?: FOR ALL TABLES| FOR TABLES \\({QN}(?: AS {QN})?(?:, {QN}(?: AS {QN})?)*\\)| FOR SCHEMAS \\({ID}(?:, {ID})*\\))?",
                    "CREATE SOURCE mz_source FROM POSTGRES CONNECTION pg (PUBLICATION 'mz_source') FOR ALL TABLES;",
                    "CREATE SOURCE psychic IN CLUSTER c FROM POSTGRES CONNECTION pgconn (PUBLICATION 'red') INCLUDE TIMESTAMP;",
                    "docs:CREATE SOURCE"),
            Shape.of("CREATE TABLE FROM SOURCE", "CREATE TABLE {QN} FROM SOURCE {QN} \\(REFERENCE {QN}\\)"
                    + "(?: WITH \\((?:TEXT COLUMNS " + COLS + "(?:, EXCLUDE COLUMNS " + COLS + ")?|EXCLUDE COLUMNS " + COLS + ")\\))?",
                    "CREATE TABLE t FROM SOURCE foo (REFERENCE = baz) WITH (TEXT COLUMNS (bam))", "docs:CREATE TABLE FROM SOURCE"),
            Shape.of("ALTER SOURCE", "ALTER SOURCE {QN} ADD SUBSOURCE {QN}(?: AS {QN})?(?:, {QN}(?: AS {QN})?)*"
                    + "(?: WITH \\((?:TEXT COLUMNS " + COLS + "(?:, EXCLUDE COLUMNS " + COLS + ")?|EXCLUDE COLUMNS " + COLS + ")\\))?",
                    "ALTER SOURCE n ADD SUBSOURCE a.b.c.d AS e.f.g WITH (TEXT COLUMNS [a.b, c.d])",
                    "ALTER SOURCE IF EXISTS n ADD SUBSOURCE a, b.c, c, d.e WITH ()"),
            Shape.of("CREATE VIEW", "CREATE VIEW IF NOT EXISTS {QN} AS SELECT .+", "CREATE VIEW IF NOT EXISTS v AS SELECT 1"),
            Shape.of("CREATE INDEX", "CREATE INDEX IF NOT EXISTS {ID}(?: IN CLUSTER {ID})? ON {QN} \\({ID}(?:, {ID})*\\)",
                    "CREATE INDEX foo IN CLUSTER bar ON myschema.bar (a, b)", "CREATE INDEX IF NOT EXISTS ON tab (a, b)"),
            Shape.of("CREATE MATERIALIZED VIEW", "CREATE MATERIALIZED VIEW IF NOT EXISTS {QN}(?: IN CLUSTER {ID})? AS SELECT .+",
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS v AS SELECT 1", "CREATE MATERIALIZED VIEW v IN CLUSTER bar AS SELECT 1"),
            Shape.of("DECLARE", "DECLARE {ID} CURSOR FOR SUBSCRIBE {QN}", "DECLARE c CURSOR FOR SUBSCRIBE t"),
            Shape.of("FETCH", "FETCH ALL {ID} WITH \\((?i:timeout) = {STR}\\)", "FETCH ALL c", "FETCH FROM c WITH (TIMEOUT = '5s')"));

    /** Which facts' kinds a shape's keywords may come from (DROP is one production for every object type). */
    static Set<String> evidenceKinds(String shapeKind) {
        return switch (shapeKind) {
            case "DROP" -> Set.of("DROP CLUSTER", "DROP SOURCE", "DROP CONNECTION", "DROP SECRET", "DROP TABLE");
            default -> Set.of(shapeKind);
        };
    }

    /** Whitespace collapsed, no space inside parentheses or before commas, no trailing semicolon. */
    static String norm(String sql) {
        String s = sql.strip().replaceAll("\\s+", " ");
        if (s.endsWith(";")) {
            s = s.substring(0, s.length() - 1).strip();
        }
        return s.replace("( ", "(").replace(" )", ")").replace(" ,", ",");
    }

    static boolean isQuery(String sql) {
        String n = norm(sql).toUpperCase(Locale.ROOT);
        return n.startsWith("SELECT ") || n.startsWith("WITH ");
    }

    static Shape shape(String sql) {
        String n = norm(sql);
        for (Shape s : SHAPES) {
            if (s.pattern().matcher(n).matches()) {
                return s;
            }
        }
        return null;
    }

    /** Upper-case words outside literals and quoted names (the toolkit writes keywords upper case, names lower case or quoted). */
    static Set<String> keywords(String sql) {
        String s = sql.replaceAll("'(?:[^']|'')*'", " ").replaceAll("\"(?:[^\"]|\"\")*\"", " ").replaceAll("<[^>]*>", " ");
        Set<String> out = new LinkedHashSet<>();
        Matcher m = Pattern.compile("\\b[A-Z][A-Z_]*\\b").matcher(s);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /** Problems of one statement against {@code facts}; {@code explainOn} plans the queries (null: not planned). */
    static List<String> problems(MzFacts facts, String sql, Connection explainOn) {
        return isQuery(sql) ? queryProblems(facts, sql, explainOn) : statementProblems(facts, sql);
    }

    static List<String> statementProblems(MzFacts facts, String sql) {
        List<String> out = new ArrayList<>();
        String n = norm(sql);
        Shape shape = shape(sql);
        if (shape == null) {
            out.add("no pinned grammar fact covers this statement (add its form to MzFidelity.SHAPES with anchors in "
                    + "the pinned parser cases or docs syntax): " + n);
            return out;
        }
        Set<String> evidence = new LinkedHashSet<>();
        Set<String> kinds = evidenceKinds(shape.kind());
        for (MzFacts.Case c : facts.parserCases()) {
            if (kinds.contains(c.kind()) && c.ok()) {
                evidence.addAll(keywords(c.input()));
                evidence.addAll(keywords(c.output()));
            }
        }
        for (MzFacts.Syntax d : facts.docsSyntax()) {
            if (kinds.contains(d.kind())) {
                evidence.addAll(keywords(d.code()));
            }
        }
        for (String a : shape.anchors()) {
            if (a.startsWith("docs:")) {
                if (facts.docsSyntax().stream().noneMatch(d -> d.kind() != null && d.kind().equals(a.substring(5)))) {
                    out.add("anchor gone from the pinned facts: the docs syntax block of " + a.substring(5));
                }
                continue;
            }
            MzFacts.Case c = facts.parserCases().stream().filter(x -> x.input().equals(a)).findFirst().orElse(null);
            if (c == null) {
                out.add("anchor gone from the pinned parser cases: " + a);
            } else {
                evidence.addAll(keywords(c.input()));
            }
        }
        String head = n;
        if (shape.kind().equals("CREATE VIEW") || shape.kind().equals("CREATE MATERIALIZED VIEW")) {
            head = n.substring(0, n.indexOf(" AS SELECT ") + " AS SELECT".length());   // the body is the user's query
        }
        for (String k : keywords(head)) {
            if (!evidence.contains(k)) {
                out.add("keyword " + k + " appears in no pinned parser case or docs syntax of " + shape.kind() + ": " + n);
            }
        }
        switch (shape.kind()) {
            case "CREATE CLUSTER", "ALTER CLUSTER" -> {
                Matcher m = Pattern.compile("SIZE(?: =)? '((?:[^']|'')*)'").matcher(n);
                if (m.find() && !facts.anySize().contains(m.group(1).replace("''", "'"))) {
                    out.add("size " + m.group(1) + " is in no pinned size list (cloud, cloud legacy, self-managed, emulator): " + n);
                }
            }
            case "CREATE CONNECTION" -> {
                Matcher m = Pattern.compile("SSL MODE '([^']*)'").matcher(n);
                if (m.find() && !facts.sslModes().contains(m.group(1))) {
                    out.add("SSL MODE '" + m.group(1) + "' is not one of the pinned modes " + facts.sslModes() + ": " + n);
                }
            }
            case "SHOW" -> {
                String var = n.substring(5).strip();
                if (facts.flagDefault(var) == null) {
                    out.add("SHOW " + var + ": no pinned system variable of that name");
                }
            }
            default -> {
            }
        }
        return out;
    }

    static final Pattern RELATION = Pattern.compile("(?i)\\b(?:FROM|JOIN)\\s+((?:[a-z_][a-z0-9_]*\\.)?[a-z_][a-z0-9_]*)\\b(?!\\s*\\()");
    static final Pattern CTE = Pattern.compile("(?i)(?:\\bWITH|,)\\s*([a-z_][a-z0-9_]*)\\s+AS\\s*\\(");
    static final Pattern MZ_FUNCTION = Pattern.compile("\\b(mz_[a-z0-9_]*)\\s*\\(");

    /** The relations a query reads (FROM/JOIN), lower case, without its own CTEs. */
    static List<String> relations(String sql) {
        Set<String> ctes = new LinkedHashSet<>();
        Matcher c = CTE.matcher(sql);
        while (c.find()) {
            ctes.add(c.group(1).toLowerCase(Locale.ROOT));
        }
        List<String> out = new ArrayList<>();
        Matcher m = RELATION.matcher(sql);
        while (m.find()) {
            String r = m.group(1).toLowerCase(Locale.ROOT);
            if (!ctes.contains(r)) {
                out.add(r);
            }
        }
        return out;
    }

    /** True when every relation the query reads is an mz_… one: it can be planned against the catalog alone. */
    static boolean readsOnlyCatalog(String sql) {
        return relations(sql).stream().allMatch(r -> r.substring(r.indexOf('.') + 1).startsWith("mz_"));
    }

    static List<String> queryProblems(MzFacts facts, String sql, Connection explainOn) {
        List<String> out = new ArrayList<>();
        Map<String, MzFacts.Relation> pinned = facts.relationsByName();
        for (String r : relations(sql)) {
            String schema = r.contains(".") ? r.substring(0, r.indexOf('.')) : null;
            String name = r.substring(r.indexOf('.') + 1);
            if (schema != null && (schema.equals("pg_catalog") || schema.equals("information_schema"))) {
                out.add("reads " + r + " on Materialize: not among the pinned relations");
            } else if (name.startsWith("mz_") && !pinned.containsKey(schema == null ? "mz_catalog." + name : r)) {
                out.add("reads " + r + (schema == null ? " (mz_catalog." + name + ": a bare name resolves in mz_catalog)" : "")
                        + ", which is not among the pinned relations of " + facts.tag()
                        + " (add it to ExtractMzFacts.RELATIONS and re-extract, or fix the query)");
            }
        }
        // the user's own relations (explore's row counts) leave nothing pinned to plan against
        boolean catalogOnly = readsOnlyCatalog(sql);
        Matcher f = MZ_FUNCTION.matcher(sql);
        while (f.find()) {
            if (!facts.hasFunction(f.group(1))) {
                out.add("calls " + f.group(1) + "(), which is not among the pinned functions");
            }
        }
        if (out.isEmpty() && catalogOnly && explainOn != null) {
            try (Statement s = explainOn.createStatement()) {
                s.execute("EXPLAIN " + sql.replace("?", "NULL"));
            } catch (SQLException e) {
                out.add("does not plan against the pinned catalog of " + facts.tag() + ": " + e.getMessage().replaceAll("\\s+", " "));
            }
        }
        return out;
    }
}
