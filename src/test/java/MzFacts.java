import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The facts about Materialize the toolkit relies on, extracted from Materialize's own source at a pinned
 * build (a dev build of main, see {@link #commit()}) by bench/materialize-facts/ExtractMzFacts.java into
 * src/test/resources/materialize/facts.json (each fact with its path and commit; no Materialize code), with
 * the emulator release apart ({@link #emulatorTag()}) and the behaviour changes within v26 ({@link #gates()}). The stand-in ({@link MzStandIn}) is generated
 * from it, and MaterializeFidelityTest checks every statement the scripts send against it.
 */
final class MzFacts {
    static final Path FILE = Path.of(System.getProperty("repo.root", "."))
            .resolve("src/test/resources/materialize/facts.json");

    final JsonObject json;

    private MzFacts(JsonObject json) {
        this.json = json;
    }

    static MzFacts load() {
        return load(FILE);
    }

    static MzFacts load(Path file) {
        try {
            return new MzFacts(JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }

    private static MzFacts PINNED;

    /** The committed facts (read once). */
    static synchronized MzFacts pinned() {
        if (PINNED == null) {
            PINNED = load();
        }
        return PINNED;
    }

    /** A copy to break on purpose in a test. */
    MzFacts copy() {
        return new MzFacts(json.deepCopy());
    }

    /** The build the facts are from, as its mz_version() would start (v26.40.0-dev): not a release. */
    String tag() {
        return json.getAsJsonObject("materialize").get("tag").getAsString();
    }

    /** The repository the facts were read from (owner/name) and its commit (40 hex). */
    String repo() {
        return json.getAsJsonObject("materialize").get("repo").getAsString();
    }

    String commit() {
        JsonElement c = json.getAsJsonObject("materialize").get("commit");
        return c == null ? null : c.getAsString();
    }

    /** src/environmentd/Cargo.toml's version at that commit (26.40.0-dev.0). */
    String cargoVersion() {
        JsonElement c = json.getAsJsonObject("materialize").get("cargo_version");
        return c == null ? null : c.getAsString();
    }

    /** The emulator's release tag (the newest release the docs list), apart from the facts' build. */
    String emulatorTag() {
        return json.getAsJsonObject("emulator").get("tag").getAsString();
    }

    /** materialize/materialized:&lt;emulator tag&gt;, the image the Docker tier and runbook --lab run. */
    String emulatorImage() {
        return json.getAsJsonObject("emulator").get("image").getAsString();
    }

    /** The size of the emulator's default cluster (quickstart) on a machine with {@code cpus} CPUs. */
    String emulatorDefaultSize(int cpus) {
        JsonArray by = json.getAsJsonObject("sizes").getAsJsonObject("emulator").getAsJsonArray("default_cluster_size_by_cpus");
        for (JsonElement e : by) {
            if (cpus >= e.getAsJsonObject().get("min_cpus").getAsInt()) {
                return e.getAsJsonObject().get("size").getAsString();
            }
        }
        return null;
    }

    /**
     * A behaviour that changed at a known release: the commit that changed it, its date, the release it first
     * shipped in (by src/environmentd/Cargo.toml at the commit), what it was before and after.
     * {@code releaseNotesVersion} is the release the notes name when they say otherwise (or null).
     */
    record Gate(String name, String firstVersion, String commit, String date, String path, String what, String before,
            String after, String releaseNotesVersion) {
        neonmz.Mz.Version first() {
            return neonmz.Mz.Version.parse(firstVersion);
        }

        /** Whether a server answering {@code mzVersion} (e.g. "v26.35.1 (abc)") has the new behaviour. */
        boolean appliesTo(String mzVersion) {
            neonmz.Mz.Version v = neonmz.Mz.Version.parse(mzVersion);
            if (v == null) {
                throw new IllegalArgumentException("no version in " + mzVersion);
            }
            return v.atLeast(first());
        }
    }

    List<Gate> gates() {
        List<Gate> out = new ArrayList<>();
        JsonArray a = json.getAsJsonArray("gates");
        if (a == null) {
            return out;
        }
        for (JsonElement e : a) {
            JsonObject g = e.getAsJsonObject();
            out.add(new Gate(g.get("name").getAsString(), g.get("first_version").getAsString(), g.get("commit").getAsString(),
                    g.get("date").getAsString(), g.get("path").getAsString(), str(g, "what"), str(g, "before"), str(g, "after"),
                    str(g, "release_notes_version")));
        }
        return out;
    }

    /** The gate of that name; fails when the facts have none (a test names a gate the pin lost). */
    Gate gate(String name) {
        return gates().stream().filter(g -> g.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no gate " + name + " in the facts"));
    }

    private static String str(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    record Column(String name, String type, boolean nullable) {}

    record Relation(String schema, String name, String kind, List<Column> columns, String path, String commit) {
        String qualified() {
            return schema + "." + name;
        }
    }

    List<Relation> relations() {
        List<Relation> out = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("relations")) {
            JsonObject r = e.getAsJsonObject();
            List<Column> cols = new ArrayList<>();
            for (JsonElement c : r.getAsJsonArray("columns")) {
                JsonObject o = c.getAsJsonObject();
                cols.add(new Column(o.get("name").getAsString(), o.get("type").getAsString(), o.get("nullable").getAsBoolean()));
            }
            JsonObject src = r.getAsJsonObject("source");
            out.add(new Relation(r.get("schema").getAsString(), r.get("name").getAsString(), r.get("kind").getAsString(),
                    cols, src.get("path").getAsString(), src.get("commit").getAsString()));
        }
        return out;
    }

    Map<String, Relation> relationsByName() {
        Map<String, Relation> m = new LinkedHashMap<>();
        relations().forEach(r -> m.put(r.qualified(), r));
        return m;
    }

    /** Drops one column of one relation (to show a test fails when a fact no longer holds). */
    MzFacts withoutColumn(String relation, String column) {
        for (JsonElement e : json.getAsJsonArray("relations")) {
            JsonObject r = e.getAsJsonObject();
            if ((r.get("schema").getAsString() + "." + r.get("name").getAsString()).equals(relation)) {
                JsonArray cols = r.getAsJsonArray("columns");
                for (int i = 0; i < cols.size(); i++) {
                    if (cols.get(i).getAsJsonObject().get("name").getAsString().equals(column)) {
                        cols.remove(i);
                        return this;
                    }
                }
            }
        }
        throw new IllegalArgumentException("no column " + relation + "." + column + " in the facts");
    }

    record Case(String kind, boolean ok, String input, String output, String path) {}

    List<Case> parserCases() {
        List<Case> out = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("parser_cases")) {
            JsonObject c = e.getAsJsonObject();
            out.add(new Case(c.get("kind").getAsString(), c.get("ok").getAsBoolean(), c.get("input").getAsString(),
                    c.get("output").getAsString(), c.getAsJsonObject("source").get("path").getAsString()));
        }
        return out;
    }

    record Syntax(String name, String kind, String code, String path) {}

    List<Syntax> docsSyntax() {
        List<Syntax> out = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("docs_syntax")) {
            JsonObject c = e.getAsJsonObject();
            out.add(new Syntax(c.get("name").getAsString(), c.get("kind").isJsonNull() ? null : c.get("kind").getAsString(),
                    c.get("code").getAsString(), c.getAsJsonObject("source").get("path").getAsString()));
        }
        return out;
    }

    /** The SSL MODE values of the docs' CREATE CONNECTION … TO POSTGRES syntax ({ 'disable' | 'require' | … }). */
    Set<String> sslModes() {
        Set<String> out = new LinkedHashSet<>();
        for (Syntax s : docsSyntax()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("SSL MODE =? ?\\{([^}]*)\\}").matcher(s.code());
            if ("CREATE CONNECTION".equals(s.kind()) && m.find()) {
                java.util.regex.Matcher v = java.util.regex.Pattern.compile("'([^']*)'").matcher(m.group(1));
                while (v.find()) {
                    out.add(v.group(1));
                }
            }
        }
        return out;
    }

    /** Every pinned size name, whatever the deployment. */
    Set<String> anySize() {
        Set<String> out = new LinkedHashSet<>();
        for (String d : List.of("cloud", "cloud_legacy", "self_managed", "emulator")) {
            out.addAll(sizes(d));
        }
        return out;
    }

    /** An error text Materialize's testdrive files expect; {@code skipped} when the file skips itself (not checked by its CI). */
    record ErrorText(String text, String detail, String path, boolean skipped) {
        ErrorText(String text, String detail, String path) {
            this(text, detail, path, false);
        }
    }

    List<ErrorText> errors() {
        List<ErrorText> out = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("errors")) {
            JsonObject c = e.getAsJsonObject();
            out.add(new ErrorText(c.get("text").getAsString(), c.has("detail") ? c.get("detail").getAsString() : null,
                    c.getAsJsonObject("source").get("path").getAsString(), c.has("skipped") && c.get("skipped").getAsBoolean()));
        }
        return out;
    }

    /**
     * An error text as the code writes it ({placeholders} kept), with its detail and hint, e.g.
     * DefiniteError::DefaultReplicaIdentity, PlanError::UseTablesForSources(FOR ALL TABLES).
     */
    record CodeError(String name, String stage, String text, String detail, String hint, String path, String commit) {}

    List<CodeError> runtimeErrors() {
        List<CodeError> out = new ArrayList<>();
        JsonArray a = json.getAsJsonArray("runtime_errors");
        if (a == null) {
            return out;
        }
        for (JsonElement e : a) {
            JsonObject c = e.getAsJsonObject();
            JsonObject src = c.getAsJsonObject("source");
            out.add(new CodeError(c.get("name").getAsString(), str(c, "stage"), c.get("text").getAsString(), str(c, "detail"),
                    str(c, "hint"), src.get("path").getAsString(), src.get("commit").getAsString()));
        }
        return out;
    }

    CodeError runtimeError(String name) {
        return runtimeErrors().stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no runtime error " + name + " in the facts"));
    }

    Set<String> supportedTypes() {
        Set<String> out = new LinkedHashSet<>();
        json.getAsJsonObject("types").getAsJsonArray("supported").forEach(t -> out.add(t.getAsString()));
        return out;
    }

    /** Size names per deployment: emulator, self_managed, cloud. */
    Set<String> sizes(String deployment) {
        Set<String> out = new LinkedHashSet<>();
        JsonObject s = json.getAsJsonObject("sizes").getAsJsonObject(deployment);
        if (s != null) {
            s.getAsJsonArray("names").forEach(t -> out.add(t.getAsString()));
        }
        return out;
    }

    MzFacts renameSize(String deployment, String from, String to) {
        JsonArray names = json.getAsJsonObject("sizes").getAsJsonObject(deployment).getAsJsonArray("names");
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).getAsString().equals(from)) {
                names.set(i, new com.google.gson.JsonPrimitive(to));
                return this;
            }
        }
        throw new IllegalArgumentException("no size " + from + " for " + deployment);
    }

    /** A boolean flag's default; null when there is no such flag (or its default is not a boolean, e.g. a duration). */
    Boolean flagDefault(String name) {
        JsonObject f = flag(name);
        if (f == null) {
            return null;
        }
        JsonElement d = f.get("default");
        return d.isJsonPrimitive() && d.getAsJsonPrimitive().isBoolean() ? d.getAsBoolean() : null;
    }

    /** Whether a normal user can SHOW the flag (false for feature flags and dyncfgs); null when there is none. */
    Boolean flagUserVisible(String name) {
        JsonObject f = flag(name);
        return f == null ? null : f.get("user_visible").getAsBoolean();
    }

    /** feature flag | system variable | dyncfg; null when there is none. */
    String flagKind(String name) {
        JsonObject f = flag(name);
        return f == null || !f.has("kind") ? null : f.get("kind").getAsString();
    }

    private JsonObject flag(String name) {
        for (JsonElement e : json.getAsJsonArray("flags")) {
            if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                return e.getAsJsonObject();
            }
        }
        return null;
    }

    boolean hasFunction(String name) {
        for (JsonElement e : json.getAsJsonArray("functions")) {
            if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Materialize's column type as a PostgreSQL type for the stand-in. Unsigned integers widen (uint8 →
     * numeric), mz_timestamp is numeric (it is a uint8), aclitem lists are text[]. An unknown type fails, so
     * a new type in a pinned relation is noticed, not guessed.
     */
    static String pgType(String mzType) {
        String t = mzType.strip();
        if (t.startsWith("Array(") && t.endsWith(")")) {
            String inner = pgType(t.substring(6, t.length() - 1));
            return (inner.equals("aclitem") ? "text" : inner) + "[]";
        }
        if (t.startsWith("List(")) {
            return pgType(t.substring(5, t.length() - 1)) + "[]";
        }
        if (t.startsWith("Map(")) {
            return "jsonb";
        }
        if (t.startsWith("Numeric")) {
            return "numeric";
        }
        return switch (t) {
            case "String", "VarChar", "Char", "PgLegacyName" -> "text";
            case "Oid", "RegClass", "RegProc", "RegType" -> "oid";
            case "Bool" -> "boolean";
            case "Int16" -> "smallint";
            case "Int32" -> "integer";
            case "Int64" -> "bigint";
            case "UInt16" -> "integer";
            case "UInt32" -> "bigint";
            case "UInt64", "MzTimestamp" -> "numeric";
            case "Float32" -> "real";
            case "Float64" -> "double precision";
            case "TimestampTz" -> "timestamptz";
            case "Timestamp" -> "timestamp";
            case "Date" -> "date";
            case "Time" -> "time";
            case "Interval" -> "interval";
            case "Jsonb" -> "jsonb";
            case "Uuid" -> "uuid";
            case "Bytes" -> "bytea";
            case "MzAclItem", "AclItem" -> "text";
            default -> throw new IllegalArgumentException("no PostgreSQL type for Materialize's " + mzType
                    + " in the stand-in; add one to MzFacts.pgType");
        };
    }

    /** A builtin view's SQL as Materialize defines it (facts "views"), with where it was read. */
    record View(String schema, String name, String sql, String path, String commit) {
        String qualified() {
            return schema + "." + name;
        }
    }

    List<View> views() {
        List<View> out = new ArrayList<>();
        if (json.has("views")) {
            for (JsonElement e : json.getAsJsonArray("views")) {
                JsonObject v = e.getAsJsonObject();
                JsonObject src = v.getAsJsonObject("source");
                out.add(new View(v.get("schema").getAsString(), v.get("name").getAsString(), v.get("sql").getAsString(),
                        src.get("path").getAsString(), src.get("commit").getAsString()));
            }
        }
        return out;
    }

    /** The string literals of the planner function that builds a SHOW statement's query (facts "show_queries"). */
    record Show(String statement, String function, List<String> literals, String path, String commit) {
        /** The literal that is the query template (the one that starts with SELECT). */
        String template() {
            return literals.stream().filter(l -> l.strip().startsWith("SELECT")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no query template among the literals of " + function));
        }

        boolean has(String literal) {
            return literals.contains(literal);
        }
    }

    Show show(String statement) {
        if (json.has("show_queries")) {
            for (JsonElement e : json.getAsJsonArray("show_queries")) {
                JsonObject v = e.getAsJsonObject();
                if (v.get("statement").getAsString().equals(statement)) {
                    List<String> lits = new ArrayList<>();
                    v.getAsJsonArray("literals").forEach(l -> lits.add(l.getAsString()));
                    JsonObject src = v.getAsJsonObject("source");
                    return new Show(statement, v.get("function").getAsString(), lits, src.get("path").getAsString(),
                            src.get("commit").getAsString());
                }
            }
        }
        return null;
    }

    /** A view's SQL made runnable on PostgreSQL, or why it cannot be. */
    record Rewrite(String sql, String refused) {}

    /**
     * Materialize's SQL as PostgreSQL SQL, by mechanical rules only: (1) the trailing semicolon goes; (2) a cast to a
     * type PostgreSQL lacks becomes a cast to the type the stand-in stores it as ({@link #pgType}: {@code ::uint8} →
     * {@code ::numeric}, {@code ::uint4} → {@code ::bigint}, {@code ::uint2} → {@code ::integer},
     * {@code ::mz_timestamp} → {@code ::numeric}, {@code ::mz_catalog.mz_aclitem[]} → {@code ::text[]}). Nothing
     * else is changed. Text that needs Materialize itself is refused with the reason, and the relation stays a table
     * filled by hand: {@code mz_now()} (Materialize's logical time), functions of mz_internal (e.g.
     * {@code parse_catalog_id}: they read Materialize's durable catalog), list and map functions and literals, and
     * materialized-view options ({@code IN CLUSTER}, {@code ASSERT NOT NULL}).
     */
    static Rewrite pgSql(String mzSql) {
        String sql = mzSql.strip();
        while (sql.endsWith(";")) {
            sql = sql.substring(0, sql.length() - 1).strip();
        }
        String noComments = sql.replaceAll("--[^\n]*", "");
        Map<String, String> refuse = new LinkedHashMap<>();
        refuse.put("(?i)\\bmz_now\\s*\\(", "mz_now() is Materialize's logical timestamp");
        refuse.put("(?i)\\bmz_internal\\.\\w+\\s*\\(", "a function of mz_internal (it reads Materialize's own state)");
        refuse.put("(?i)\\b(list|map)_\\w+\\s*\\(|\\bLIST\\s*\\[|\\bMAP\\s*\\[", "a list or map function or literal (Materialize-only types)");
        refuse.put("(?i)\\bIN\\s+CLUSTER\\b|\\bASSERT\\s+NOT\\s+NULL\\b", "a materialized view's options (IN CLUSTER, ASSERT NOT NULL)");
        for (Map.Entry<String, String> r : refuse.entrySet()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(r.getKey()).matcher(noComments);
            if (m.find()) {
                return new Rewrite(null, r.getValue() + ": " + m.group().strip());
            }
        }
        sql = sql.replaceAll("(?i)::\\s*mz_catalog\\.mz_aclitem\\[\\]", "::text[]")
                .replaceAll("(?i)::\\s*uint8\\b", "::numeric")
                .replaceAll("(?i)::\\s*uint4\\b", "::bigint")
                .replaceAll("(?i)::\\s*uint2\\b", "::integer")
                .replaceAll("(?i)::\\s*mz_timestamp\\b", "::numeric");
        return new Rewrite(sql, null);
    }

    /** The pinned relations the stand-in defines as views over its tables (with Materialize's SQL), in order. */
    List<View> standInViews() {
        Map<String, Relation> rels = relationsByName();
        List<View> out = new ArrayList<>();
        for (View v : views()) {
            if (rels.containsKey(v.qualified()) && pgSql(v.sql()).refused() == null) {
                out.add(v);
            }
        }
        return out;
    }

    /** The stand-in's DDL: exactly the pinned relations and columns, nothing written by hand (views: {@link #standInViews}). */
    String standInDdl() {
        StringBuilder ddl = new StringBuilder();
        Set<String> schemas = new LinkedHashSet<>();
        relations().forEach(r -> schemas.add(r.schema()));
        for (String s : schemas) {
            ddl.append("CREATE SCHEMA ").append(s).append(";\n");
        }
        Set<String> views = new LinkedHashSet<>();
        standInViews().forEach(v -> views.add(v.qualified()));
        for (Relation r : relations()) {
            if (views.contains(r.qualified())) {
                continue;
            }
            List<String> cols = new ArrayList<>();
            for (Column c : r.columns()) {
                cols.add(ident(c.name()) + " " + pgType(c.type()));
            }
            ddl.append("CREATE TABLE ").append(r.schema()).append('.').append(ident(r.name())).append(" (")
                    .append(String.join(", ", cols)).append(");\n");
        }
        // exactly the pinned columns, in the pinned order, of what Materialize's SQL computes (a column the SQL lacks fails here)
        Map<String, Relation> rels = relationsByName();
        for (View v : standInViews()) {
            List<String> cols = new ArrayList<>();
            rels.get(v.qualified()).columns().forEach(c -> cols.add("mz_view." + ident(c.name())));
            ddl.append("CREATE VIEW ").append(v.schema()).append('.').append(ident(v.name())).append(" AS SELECT ")
                    .append(String.join(", ", cols)).append(" FROM (").append(pgSql(v.sql()).sql()).append("\n) AS mz_view;\n");
        }
        return ddl.toString();
    }

    static String ident(String s) {
        return s.matches("[a-z_][a-z0-9_]*") && !Set.of("table", "type", "name", "user", "default", "position").contains(s.toLowerCase(Locale.ROOT))
                ? s : "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
