///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+

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
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Extracts the facts the toolkit relies on from a checkout of MaterializeInc/materialize, into the JSON file
 * the tests read (src/test/resources/materialize/facts.json). Only facts are written (names, columns, types,
 * statement texts of parser cases, error texts, size names, flag defaults), each with the path it came from
 * and its commit; never Materialize's code.
 *
 * <pre>
 *   git clone --depth 1 --branch v26.X.Y https://github.com/MaterializeInc/materialize /tmp/mz   (any later tag)
 *   java bench/materialize-facts/ExtractMzFacts.java --src /tmp/mz --tag v26.X.Y \
 *        --out src/test/resources/materialize/facts.json
 *   mvn test -Dtest='MaterializeFidelityTest,MzStandIn*'          # then review the diff of facts.json
 * </pre>
 *
 * Each file's commit is {@code git -C SRC log -1 --format=%H -- PATH} when SRC is a git checkout, else the one
 * given for it in {@code --commits FILE} (lines "path TAB commit"; several --commits may be given).
 * Without Java on the PATH's default, any JDK 17+ runs it ({@code java File.java} compiles in memory); no
 * dependencies.
 */
public class ExtractMzFacts {
    /** The builtin relations the scripts read (MaterializeFidelityTest fails when a script reads one not listed). */
    static final List<String> RELATIONS = List.of(
            "mz_catalog.mz_databases", "mz_catalog.mz_schemas", "mz_catalog.mz_clusters",
            "mz_catalog.mz_cluster_replicas", "mz_catalog.mz_cluster_replica_sizes", "mz_catalog.mz_sources",
            "mz_catalog.mz_tables", "mz_catalog.mz_objects", "mz_catalog.mz_connections", "mz_catalog.mz_secrets",
            "mz_catalog.mz_egress_ips",
            "mz_internal.mz_object_dependencies", "mz_internal.mz_source_statuses",
            "mz_internal.mz_source_status_history", "mz_internal.mz_source_statistics",
            "mz_internal.mz_hydration_statuses", "mz_internal.mz_postgres_sources",
            "mz_internal.mz_postgres_source_tables", "mz_internal.mz_cluster_replica_utilization",
            "mz_internal.mz_source_references", "mz_internal.mz_cluster_replica_metrics",
            "mz_internal.mz_cluster_reconfigurations",
            // what the stand-in's views below read, and what SHOW TABLES / SHOW SOURCES read (MzConformanceTest)
            "mz_internal.mz_source_statistics_raw", "mz_internal.mz_source_statistics_with_history",
            "mz_internal.mz_comments", "mz_internal.mz_show_tables", "mz_internal.mz_show_sources");

    /**
     * The builtin views whose SQL text is kept (the one Materialize text beyond names the facts hold): the stand-in
     * defines them as PostgreSQL views over its tables (MzFacts.standInViews, after a mechanical rewrite: MzFacts.pgSql), so a status or a
     * statistic is derived from the history and raw rows by Materialize's own rules, not by our reading of them.
     */
    static final List<String> VIEWS = List.of("mz_internal.mz_source_statuses", "mz_internal.mz_source_statistics_with_history",
            "mz_internal.mz_source_statistics", "mz_internal.mz_show_tables", "mz_internal.mz_show_sources");

    /** The SHOW statements whose query (a format! template in the planner) is kept, by the function that builds it. */
    static final Map<String, String> SHOWS = new LinkedHashMap<>();

    static {
        SHOWS.put("SHOW SUBSOURCES", "show_subsources");
        SHOWS.put("SHOW TABLES", "show_tables");
        SHOWS.put("SHOW SOURCES", "show_sources");
    }

    /** Statement kinds whose parser cases are kept, by the words they start with. */
    static final Map<String, String> KINDS = new LinkedHashMap<>();

    static {
        KINDS.put("CREATE CLUSTER", "CREATE CLUSTER ");
        KINDS.put("ALTER CLUSTER", "ALTER CLUSTER ");
        KINDS.put("DROP CLUSTER", "DROP CLUSTER ");
        KINDS.put("CREATE SECRET", "CREATE SECRET ");
        KINDS.put("ALTER SECRET", "ALTER SECRET ");
        KINDS.put("DROP SECRET", "DROP SECRET ");
        KINDS.put("CREATE CONNECTION", "CREATE CONNECTION ");
        KINDS.put("VALIDATE CONNECTION", "VALIDATE CONNECTION ");
        KINDS.put("DROP CONNECTION", "DROP CONNECTION ");
        KINDS.put("SHOW CREATE", "SHOW CREATE ");
        KINDS.put("CREATE SOURCE", "CREATE SOURCE ");
        KINDS.put("ALTER SOURCE", "ALTER SOURCE ");
        KINDS.put("DROP SOURCE", "DROP SOURCE ");
        KINDS.put("CREATE TABLE FROM SOURCE", "CREATE TABLE ");
        KINDS.put("CREATE VIEW", "CREATE VIEW ");
        KINDS.put("CREATE INDEX", "CREATE INDEX ");
        KINDS.put("CREATE MATERIALIZED VIEW", "CREATE MATERIALIZED VIEW ");
        KINDS.put("SUBSCRIBE", "SUBSCRIBE ");
        KINDS.put("DECLARE", "DECLARE ");
        KINDS.put("FETCH", "FETCH ");
        KINDS.put("SHOW", "SHOW ");
        KINDS.put("SET", "SET ");
    }

    final Path src;
    final Map<String, String> commits = new TreeMap<>();
    final Map<String, String> used = new TreeMap<>();

    ExtractMzFacts(Path src) {
        this.src = src;
    }

    public static void main(String[] args) throws IOException {
        Path src = null;
        Path out = null;
        String tag = null;
        String note = null;
        Path addTo = null;
        List<Path> manifests = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--src" -> src = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--tag" -> tag = args[++i];
                case "--commits" -> manifests.add(Path.of(args[++i]));
                case "--note" -> note = args[++i];
                case "--add-to" -> addTo = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: ExtractMzFacts --src CHECKOUT --tag vX.Y.Z --out facts.json [--commits FILE]… [--note TEXT]");
                    System.exit(2);
                }
            }
        }
        if (addTo != null && src != null) {
            // a partial refresh, without re-pinning: the relations FILE lacks, and the views and SHOW queries, from SRC
            ExtractMzFacts x = new ExtractMzFacts(src);
            Files.writeString(addTo, x.addTo(Files.readString(addTo, StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            System.out.println("added to " + addTo + " from " + src);
            return;
        }
        if (src == null || out == null || tag == null) {
            System.err.println("usage: ExtractMzFacts --src CHECKOUT --tag vX.Y.Z --out facts.json [--commits FILE]…");
            System.exit(2);
        }
        ExtractMzFacts x = new ExtractMzFacts(src);
        for (Path m : manifests) {
            for (String line : Files.readAllLines(m, StandardCharsets.UTF_8)) {
                String[] f = line.split("\t");
                if (f.length >= 2) {
                    x.commits.put(f[0].strip(), f[1].strip());
                }
            }
        }
        String json = x.extract(tag, note);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json, StandardCharsets.UTF_8);
        System.out.println("wrote " + out + " from " + x.used.size() + " files of " + tag);
    }

    String extract(String tag, String note) throws IOException {
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"materialize\": {\"repo\": \"MaterializeInc/materialize\", \"tag\": ").append(q(tag))
                .append(note == null ? "" : ", \"note\": " + q(note)).append("},\n");
        j.append("  \"relations\": [\n").append(String.join(",\n", relations())).append("\n  ],\n");
        j.append("  \"views\": [\n").append(String.join(",\n", views())).append("\n  ],\n");
        j.append("  \"show_queries\": [\n").append(String.join(",\n", showQueries())).append("\n  ],\n");
        j.append("  \"functions\": [\n").append(String.join(",\n", functions())).append("\n  ],\n");
        j.append("  \"parser_cases\": [\n").append(String.join(",\n", parserCases())).append("\n  ],\n");
        j.append("  \"docs_syntax\": [\n").append(String.join(",\n", docsSyntax())).append("\n  ],\n");
        j.append("  \"errors\": [\n").append(String.join(",\n", errors())).append("\n  ],\n");
        j.append("  \"types\": ").append(types()).append(",\n");
        j.append("  \"sizes\": ").append(sizes()).append(",\n");
        j.append("  \"flags\": [\n").append(String.join(",\n", flags())).append("\n  ],\n");
        List<String> files = new ArrayList<>();
        used.forEach((p, c) -> files.add("    {\"path\": " + q(p) + ", \"commit\": " + q(c) + "}"));
        j.append("  \"files\": [\n").append(String.join(",\n", files)).append("\n  ]\n}\n");
        return j.toString();
    }

    /**
     * {@code --add-to FILE}: FILE (a facts.json this extractor wrote) with the relations of RELATIONS it lacks appended,
     * and its views and SHOW queries replaced, each from SRC with its own path and commit; the pin (tag) and every other
     * fact are left as they are. For a relation or view a test needs before the next re-pin.
     */
    String addTo(String facts) throws IOException {
        List<String> rels = relations();
        String start = "  \"relations\": [\n";
        int from = facts.indexOf(start);
        int to = facts.indexOf("\n  ],\n", from);
        String existing = facts.substring(from + start.length(), to);
        List<String> added = new ArrayList<>();
        for (String r : rels) {
            Matcher m = Pattern.compile("\"schema\": \"(\\w+)\", \"name\": \"(\\w+)\"").matcher(r);
            if (m.find() && !existing.contains("{\"schema\": \"" + m.group(1) + "\", \"name\": \"" + m.group(2) + "\",")) {
                added.add(r);
            }
        }
        StringBuilder out = new StringBuilder(facts.substring(0, to));
        for (String r : added) {
            out.append(",\n").append(r);
        }
        out.append("\n  ],\n");
        String rest = facts.substring(to + "\n  ],\n".length());
        for (String section : List.of("views", "show_queries")) {
            String head = "  \"" + section + "\": [\n";
            if (rest.startsWith(head)) {
                rest = rest.substring(rest.indexOf("\n  ],\n") + "\n  ],\n".length());
            }
        }
        out.append("  \"views\": [\n").append(String.join(",\n", views())).append("\n  ],\n");
        out.append("  \"show_queries\": [\n").append(String.join(",\n", showQueries())).append("\n  ],\n");
        int files = rest.indexOf("  \"files\": [\n");
        out.append(rest, 0, files + "  \"files\": [\n".length());
        String fileList = rest.substring(files + "  \"files\": [\n".length(), rest.indexOf("\n  ]\n}", files));
        List<String> entries = new ArrayList<>(List.of(fileList.split(",\n")));
        used.forEach((p, c) -> {
            String e = "    {\"path\": " + q(p) + ", \"commit\": " + q(c) + "}";
            if (!entries.contains(e)) {
                entries.add(e);
            }
        });
        out.append(String.join(",\n", entries)).append("\n  ]\n}\n");
        return out.toString();
    }

    // ---- builtin relations ----------------------------------------------------------------------------

    static final Pattern STATIC = Pattern.compile("pub (?:static|const) (\\w+): (?:LazyLock<)?Builtin(Table|View|MaterializedView|Source|Log)\\b"
            + "|pub(?:\\(super\\))? fn (make_\\w+)\\(");
    /** Column lists defined apart from their relation ({@code desc: MZ_…_DESC.clone()}), by name. */
    static final List<String> DESC_FILES = List.of("src/storage-client/src/healthcheck.rs",
            "src/storage-client/src/statistics.rs", "src/catalog/src/builtin/mz_internal.rs");

    List<String> relations() throws IOException {
        Map<String, String> found = new LinkedHashMap<>();
        for (String rel : List.of("src/catalog/src/builtin.rs", "src/catalog/src/builtin/builtin.rs",
                "src/catalog/src/builtin/mz_catalog.rs", "src/catalog/src/builtin/mz_internal.rs",
                "src/catalog/src/builtin/mz_introspection.rs")) {
            String text = read(rel);
            if (text == null) {
                continue;
            }
            Matcher m = STATIC.matcher(text);
            List<int[]> starts = new ArrayList<>();
            List<String> kinds = new ArrayList<>();
            while (m.find()) {
                starts.add(new int[] {m.start()});
                if (m.group(2) != null) {
                    kinds.add(m.group(2));
                } else {
                    // a function that builds the relation (e.g. make_mz_sources): its kind from the struct it builds
                    Matcher k = Pattern.compile("Builtin(Table|View|MaterializedView|Source|Log)\\s*\\{").matcher(text);
                    kinds.add(k.find(m.end()) ? k.group(1) : "View");
                }
            }
            for (int i = 0; i < starts.size(); i++) {
                int from = starts.get(i)[0];
                int to = i + 1 < starts.size() ? starts.get(i + 1)[0] : text.length();
                String block = text.substring(from, to);
                Matcher name = Pattern.compile("\\bname: \"(\\w+)\"").matcher(block);
                Matcher schema = Pattern.compile("\\bschema: (\\w+)_SCHEMA").matcher(block);
                if (!name.find() || !schema.find()) {
                    continue;
                }
                String key = schema.group(1).toLowerCase(Locale.ROOT) + "." + name.group(1);
                if (!RELATIONS.contains(key) || found.containsKey(key)) {
                    continue;
                }
                List<String> cols = columns(block);
                String descFrom = rel;
                Matcher desc = Pattern.compile("\\bdesc: (\\w+_DESC)\\b").matcher(block);
                if (cols.isEmpty() && desc.find()) {
                    for (String f : DESC_FILES) {
                        String other = read(f);
                        int d = other == null ? -1 : other.indexOf("static " + desc.group(1) + ":");
                        if (d >= 0) {
                            int end = other.indexOf("\npub ", d + 1);
                            cols = columns(other.substring(d, end < 0 ? other.length() : end));
                            descFrom = f;
                            break;
                        }
                    }
                }
                if (cols.isEmpty()) {
                    continue;
                }
                if (VIEWS.contains(key)) {
                    String sql = rustString(block, "sql:");
                    if (sql != null) {
                        viewSql.put(key, "    {\"schema\": " + q(key.substring(0, key.indexOf('.'))) + ", \"name\": "
                                + q(key.substring(key.indexOf('.') + 1)) + ", \"source\": " + source(rel) + ",\n     \"sql\": " + q(sql) + "}");
                    }
                }
                String kind = switch (kinds.get(i)) {
                    case "MaterializedView" -> "materialized-view";
                    default -> kinds.get(i).toLowerCase(Locale.ROOT);
                };
                found.put(key, "    {\"schema\": " + q(key.substring(0, key.indexOf('.'))) + ", \"name\": "
                        + q(key.substring(key.indexOf('.') + 1)) + ", \"kind\": " + q(kind) + ", \"source\": " + source(rel)
                        + (descFrom.equals(rel) ? "" : ", \"columns_source\": " + source(descFrom))
                        + ",\n     \"columns\": [" + String.join(", ", cols) + "]}");
            }
        }
        List<String> out = new ArrayList<>();
        for (String r : RELATIONS) {
            if (found.containsKey(r)) {
                out.add(found.get(r));
            } else {
                System.err.println("not found in the builtin catalog: " + r);
            }
        }
        return out;
    }

    /** {@code .with_column("name", <type>.nullable(b))} in order; the type with its Rust paths removed. */
    static List<String> columns(String block) {
        List<String> cols = new ArrayList<>();
        int at = 0;
        while ((at = block.indexOf(".with_column(", at)) >= 0) {
            int open = at + ".with_column".length();
            int close = matching(block, open);
            String inner = block.substring(open + 1, close);
            at = close;
            Matcher n = Pattern.compile("^\\s*\"(\\w+)\"\\s*,").matcher(inner);
            if (!n.find()) {
                continue;
            }
            String rest = inner.substring(n.end()).strip();
            int nul = rest.lastIndexOf(".nullable(");
            String type = nul < 0 ? rest : rest.substring(0, nul);
            boolean nullable = nul < 0 || rest.substring(nul).contains("true");
            type = type.replaceAll("(List|Map)\\s*\\{\\s*(?:element_type|value_type):\\s*Box::new\\((?:Sql)?ScalarType::(\\w+)\\)[^}]*\\}", "$1($2)")
                    .replaceAll("\\b(?:Sql)?ScalarType::", "").replaceAll("Box::new\\(", "(")
                    .replaceAll("\\{[^}]*\\}", "").replaceAll("\\s+", "").replaceAll("\\(\\(", "(").replaceAll("\\)\\)", ")");
            cols.add("{\"name\": " + q(n.group(1)) + ", \"type\": " + q(type) + ", \"nullable\": " + nullable + "}");
        }
        return cols;
    }

    final Map<String, String> viewSql = new LinkedHashMap<>();

    /** The views' SQL, in the order of VIEWS (relations() reads them). */
    List<String> views() {
        List<String> out = new ArrayList<>();
        for (String v : VIEWS) {
            if (viewSql.containsKey(v)) {
                out.add(viewSql.get(v));
            } else {
                System.err.println("no SQL found for the view " + v);
            }
        }
        return out;
    }

    /** The string literals of each SHOW function of the planner, in order (the query template and its filter pieces). */
    List<String> showQueries() throws IOException {
        List<String> out = new ArrayList<>();
        String rel = "src/sql/src/plan/statement/show.rs";
        String text = read(rel);
        if (text == null) {
            return out;
        }
        for (Map.Entry<String, String> e : SHOWS.entrySet()) {
            int at = text.indexOf("\nfn " + e.getValue() + "<");
            if (at < 0) {
                System.err.println("no " + e.getValue() + " in " + rel);
                continue;
            }
            int end = text.indexOf("\nfn ", at + 1);
            String body = text.substring(at, end < 0 ? text.length() : end);
            List<String> literals = new ArrayList<>();
            int k = 0;
            while ((k = body.indexOf('"', k)) >= 0) {
                String lit = rustStringAt(body, k);
                literals.add(q(lit));
                k = skipRustString(body, k);
            }
            out.add("    {\"statement\": " + q(e.getKey()) + ", \"function\": " + q(e.getValue()) + ", \"source\": " + source(rel)
                    + ",\n     \"literals\": [" + String.join(", ", literals) + "]}");
        }
        return out;
    }

    /** The Rust string literal after {@code field} in {@code block} ({@code "…"} or {@code r#"…"#}), unescaped; null if none. */
    static String rustString(String block, String field) {
        Matcher m = Pattern.compile("\\b" + Pattern.quote(field) + "\\s*(r#)?\"").matcher(block);
        if (!m.find()) {
            return null;
        }
        if (m.group(1) != null) {
            int start = m.end();
            int end = block.indexOf("\"#", start);
            return block.substring(start, end);
        }
        return rustStringAt(block, m.end() - 1);
    }

    /** The plain Rust string literal opening at {@code quote}, with its escapes resolved ({@code \} + newline skips the indentation). */
    static String rustStringAt(String s, int quote) {
        StringBuilder b = new StringBuilder();
        for (int i = quote + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                return b.toString();
            }
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case '"', '\\', '\'' -> b.append(n);
                    case '\n' -> {
                        while (i + 1 < s.length() && Character.isWhitespace(s.charAt(i + 1))) {
                            i++;
                        }
                    }
                    default -> b.append('\\').append(n);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static int skipRustString(String s, int quote) {
        for (int i = quote + 1; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == '"') {
                return i + 1;
            }
        }
        return s.length();
    }

    static int matching(String s, int open) {
        int depth = 0;
        boolean str = false;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' && s.charAt(i - 1) != '\\') {
                str = !str;
            } else if (!str && c == '(') {
                depth++;
            } else if (!str && c == ')' && --depth == 0) {
                return i;
            }
        }
        return s.length();
    }

    // ---- functions ------------------------------------------------------------------------------------

    List<String> functions() throws IOException {
        List<String> out = new ArrayList<>();
        for (String rel : List.of("src/sql/src/func.rs", "src/expr/src/scalar/func/unmaterializable.rs")) {
            String text = read(rel);
            if (text == null) {
                continue;
            }
            for (String fn : List.of("mz_version", "mz_version_num")) {
                if (text.contains("\"" + fn + "\"")) {
                    out.add("    {\"name\": " + q(fn) + ", \"source\": " + source(rel) + "}");
                }
            }
            if (!out.isEmpty()) {
                break;
            }
        }
        return out;
    }

    // ---- parser cases (datadriven: directive, input, ----, output) -----------------------------------

    List<String> parserCases() throws IOException {
        List<String> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String rel : files("src/sql-parser/tests/testdata", false, "")) {
            String[] lines = read(rel).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (!lines[i].startsWith("parse-statement")) {
                    continue;
                }
                StringBuilder input = new StringBuilder();
                int k = i + 1;
                while (k < lines.length && !lines[k].equals("----")) {
                    input.append(input.length() == 0 ? "" : " ").append(lines[k].strip());
                    k++;
                }
                String output = k + 1 < lines.length ? lines[k + 1] : "";
                i = k;
                String in = input.toString().replaceAll("\\s+", " ").strip();
                String kind = kind(in);
                if (kind == null || !seen.add(in)) {
                    continue;
                }
                boolean ok = !output.startsWith("error");
                out.add("    {\"kind\": " + q(kind) + ", \"ok\": " + ok + ", \"input\": " + q(in) + ", \"output\": " + q(output)
                        + ", \"source\": " + source(rel) + "}");
            }
        }
        return out;
    }

    static String kind(String statement) {
        String up = statement.toUpperCase(Locale.ROOT);
        for (Map.Entry<String, String> e : KINDS.entrySet()) {
            if (up.startsWith(e.getValue())) {
                if (e.getKey().equals("CREATE TABLE FROM SOURCE") && !up.contains(" FROM SOURCE ")) {
                    return null;
                }
                return e.getKey();
            }
        }
        return null;
    }

    // ---- the docs' syntax blocks (doc/user/data/examples/*.yml: "- name: syntax-…" with "code: |") ---------

    List<String> docsSyntax() throws IOException {
        List<String> out = new ArrayList<>();
        for (String rel : files("doc/user/data/examples", false, ".yml")) {
            String[] lines = read(rel).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                Matcher name = Pattern.compile("^- name: \"?(syntax[^\"]*)\"?\\s*$").matcher(lines[i]);
                if (!name.find()) {
                    continue;
                }
                int c = i + 1;
                while (c < lines.length && !lines[c].startsWith("- ") && !lines[c].strip().equals("code: |")) {
                    c++;
                }
                if (c >= lines.length || !lines[c].strip().equals("code: |")) {
                    continue;
                }
                StringBuilder code = new StringBuilder();
                int k = c + 1;
                while (k < lines.length && (lines[k].startsWith("    ") || lines[k].isBlank())) {
                    code.append(lines[k].strip()).append(' ');
                    k++;
                }
                String text = code.toString().replaceAll("\\s+", " ").strip();
                String kind = kind(text.replaceAll("<[^>]*>", "x"));
                out.add("    {\"name\": " + q(name.group(1)) + ", \"kind\": " + (kind == null ? "null" : q(kind)) + ", \"code\": "
                        + q(text) + ", \"source\": " + source(rel) + "}");
                i = k - 1;
            }
        }
        return out;
    }

    // ---- Postgres-source errors from test/pg-cdc/*.td (testdrive: "! statement" then contains:/detail:) --

    List<String> errors() throws IOException {
        List<String> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String rel : files("test/pg-cdc", true, ".td")) {
            String[] lines = read(rel).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (!lines[i].startsWith("! ")) {
                    continue;
                }
                StringBuilder stmt = new StringBuilder(lines[i].substring(2).strip());
                int k = i + 1;
                while (k < lines.length && !lines[k].matches("^(contains|exact|regex):.*")) {
                    if (lines[k].isBlank() || lines[k].startsWith("! ") || lines[k].startsWith("> ")) {
                        break;
                    }
                    stmt.append(' ').append(lines[k].strip());
                    k++;
                }
                if (k >= lines.length || !lines[k].matches("^(contains|exact|regex):.*")) {
                    continue;
                }
                String text = lines[k].substring(lines[k].indexOf(':') + 1).strip();
                String detail = k + 1 < lines.length && lines[k + 1].startsWith("detail:") ? lines[k + 1].substring(7).strip() : null;
                i = k;
                if (!seen.add(text + "\u0000" + detail)) {
                    continue;
                }
                String first = stmt.toString().replaceAll("\\s+", " ");
                out.add("    {\"text\": " + q(text) + (detail == null ? "" : ", \"detail\": " + q(detail)) + ", \"statement\": "
                        + q(first.length() > 160 ? first.substring(0, 160) + "…" : first) + ", \"source\": " + source(rel) + "}");
            }
        }
        return out;
    }

    // ---- the Postgres types Materialize ingests (the docs' considerations) --------------------------------

    String types() throws IOException {
        for (String rel : List.of("doc/user/shared-content/postgres-supported-types.md", "doc/user/data/ingest_postgres.yml",
                "doc/user/data/postgres_source_details.yml", "doc/user/shared-content/postgres-considerations.md")) {
            String text = read(rel);
            if (text == null) {
                continue;
            }
            int from = text.indexOf("bool");
            if (from < 0) {
                continue;
            }
            Set<String> names = new LinkedHashSet<>();
            Matcher t = Pattern.compile("(?:`|<code>)([a-z][a-z0-9_]*)(?:`|</code>)").matcher(text.substring(Math.max(0, from - 8)));
            while (t.find()) {
                names.add(t.group(1));
            }
            if (names.size() > 10) {
                return "{\"supported\": " + list(names) + ", \"source\": " + source(rel) + "}";
            }
        }
        return "{\"supported\": []}";
    }

    // ---- cluster replica sizes ------------------------------------------------------------------------

    String sizes() throws IOException {
        List<String> parts = new ArrayList<>();
        String emu = "misc/images/materialized/entrypoint.sh";
        String text = read(emu);
        if (text != null) {
            Set<String> names = new LinkedHashSet<>();
            int at = text.indexOf("allowed_cluster_replica_sizes=");
            if (at >= 0) {
                int end = text.indexOf(';', at);
                Matcher m = Pattern.compile("(\\d+cc|M\\.1-[\\w.]+)").matcher(text.substring(at, end < 0 ? text.length() : end));
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
            parts.add("\"emulator\": {\"names\": " + list(names) + ", \"source\": " + source(emu) + "}");
        }
        String sm = "doc/user/data/self_managed/self_managed_cluster_sizes.yml";
        text = read(sm);
        if (text != null) {
            Set<String> names = new LinkedHashSet<>();
            Matcher m = Pattern.compile("(?m)^\\s*-\\s*size:\\s*\"?([\\w.-]+)\"?").matcher(text);
            while (m.find()) {
                names.add(m.group(1));
            }
            parts.add("\"self_managed\": {\"names\": " + list(names) + ", \"source\": " + source(sm) + "}");
        }
        // Cloud: the M.1 sizes, and the legacy cc/C sizes (with their M.1 equivalents)
        for (String[] cloud : List.of(new String[] {"cloud", "doc/user/data/m1_cluster_sizing.yml"},
                new String[] {"cloud_legacy", "doc/user/data/cc_m1_mapping.yml"})) {
            text = read(cloud[1]);
            if (text == null) {
                continue;
            }
            Set<String> names = new LinkedHashSet<>();
            Matcher m = Pattern.compile(cloud[0].equals("cloud") ? "\\b(M\\.1-[\\w.]+)" : "\\b(\\d+cc|\\d+C)\\b").matcher(text);
            while (m.find()) {
                names.add(m.group(1));
            }
            parts.add("\"" + cloud[0] + "\": {\"names\": " + list(names) + ", \"source\": " + source(cloud[1]) + "}");
        }
        return "{" + String.join(", ", parts) + "}";
    }

    // ---- system flags ---------------------------------------------------------------------------------

    List<String> flags() throws IOException {
        List<String> out = new ArrayList<>();
        for (String rel : List.of("src/sql/src/session/vars/definitions.rs", "src/storage-types/src/dyncfgs.rs")) {
            String text = read(rel);
            if (text == null) {
                continue;
            }
            for (String flag : List.of("enable_create_table_from_source", "force_source_table_syntax")) {
                // a plain variable: VarDefinition::new("name", value!(bool; false), "description", user_visible)
                Matcher m = Pattern.compile("\"" + flag + "\",\\s*value!\\(bool;\\s*(true|false)\\),\\s*\"([^\"]*)\",\\s*(true|false)")
                        .matcher(text);
                // a feature flag: { name: flag, desc: "…", default: false, … } (not visible to normal users)
                Matcher m2 = Pattern.compile("name: \"?" + flag + "\"?,\\s*desc: \"([^\"]*)\",\\s*default: (true|false)").matcher(text);
                if (m.find()) {
                    out.add("    {\"name\": " + q(flag) + ", \"default\": " + m.group(1) + ", \"description\": " + q(m.group(2))
                            + ", \"user_visible\": " + m.group(3) + ", \"source\": " + source(rel) + "}");
                } else if (m2.find()) {
                    out.add("    {\"name\": " + q(flag) + ", \"default\": " + m2.group(2) + ", \"description\": " + q(m2.group(1))
                            + ", \"user_visible\": false, \"source\": " + source(rel) + "}");
                }
            }
        }
        return out;
    }

    // ---- plumbing ---------------------------------------------------------------------------------------

    /** The files under {@code dir} (below it too when {@code deep}) whose names end with {@code suffix}, as repo paths, sorted. */
    List<String> files(String dir, boolean deep, String suffix) throws IOException {
        Path d = src.resolve(dir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = deep ? Files.walk(d) : Files.list(d)) {
            return s.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(suffix)).sorted()
                    .map(p -> src.relativize(p).toString().replace('\\', '/')).toList();
        }
    }

    String read(String rel) throws IOException {
        Path p = src.resolve(rel);
        if (!Files.isRegularFile(p)) {
            return null;
        }
        used.put(rel, commit(rel));
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    String source(String rel) {
        return "{\"path\": " + q(rel) + ", \"commit\": " + q(commit(rel)) + "}";
    }

    String commit(String rel) {
        if (commits.containsKey(rel)) {
            return commits.get(rel);
        }
        try {
            Process p = new ProcessBuilder("git", "-C", src.toString(), "log", "-1", "--format=%H", "--", rel)
                    .redirectErrorStream(true).start();
            String h = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() == 0 && h.matches("[0-9a-f]{40}")) {
                commits.put(rel, h);
                return h;
            }
        } catch (IOException | InterruptedException e) {
            // not a git checkout: no commit known
        }
        commits.put(rel, "unknown");
        return "unknown";
    }

    static String list(Set<String> names) {
        List<String> q = new ArrayList<>();
        names.forEach(n -> q.add(q(n)));
        return "[" + String.join(", ", q) + "]";
    }

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
