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
 *   # a full clone (the gates need the history): MaterializeInc/materialize, or a mirror of its main
 *   java bench/materialize-facts/ExtractMzFacts.java --src /work/mz --tag v26.40.0-dev \
 *        --repo transparencies/materialize --gates bench/materialize-facts/gates.json --note "why this build" \
 *        --out src/test/resources/materialize/facts.json
 *   mvn test -Dtest='MaterializeFidelityTest,ExtractMzFactsTest,MzErrorsTest'   # then review the diff of facts.json
 * </pre>
 *
 * Besides the facts of the checkout's tree, it writes: the head commit and Cargo version ({@code materialize}), the
 * emulator release (the newest the release pages list), the error texts of the code ({@code runtime_errors}), and
 * the version gates of {@code gates.json} (default: bench/materialize-facts/gates.json when run from the repo root),
 * each with the release it first shipped in and its evidence checked with {@code git show}.
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
            "mz_internal.mz_cluster_reconfigurations", "mz_internal.mz_show_clusters",
            // what the stand-in's views below read, and what SHOW TABLES / SHOW SOURCES read (MzConformanceTest)
            "mz_internal.mz_source_statistics_raw", "mz_internal.mz_source_statistics_with_history",
            "mz_internal.mz_comments", "mz_internal.mz_show_tables", "mz_internal.mz_show_sources",
            // what evolve reads of what is built on a source's tables (their columns and definitions)
            "mz_catalog.mz_columns", "mz_catalog.mz_views", "mz_catalog.mz_materialized_views", "mz_catalog.mz_indexes");

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


    /** The docs' syntax blocks kept: the statement kinds the toolkit sends to a Postgres source's setup. */
    static final List<String> DOCS_FILES = List.of("create_cluster.yml", "alter_cluster.yml", "create_secret.yml",
            "alter_secret.yml", "create_connection.yml", "create_source_postgres.yml", "create_source_postgres_legacy.yml",
            "create_table_postgres.yml");

    /**
     * The testdrive files whose errors the toolkit translates (MzErrors; MaterializeFidelityTest wants a fix for
     * each): connection validation, purification of CREATE SOURCE / CREATE TABLE … FROM SOURCE, and the
     * runtime errors of a running source. A file that skips itself unconditionally ({@code $ skip-if} then
     * {@code SELECT true}) is left out: its expectations are not checked by Materialize's CI.
     */
    static final List<String> ERROR_FILES = List.of("test/pg-cdc/dropped-slot-errors.td",
            "test/pg-cdc/subsource-resolution-empty.td", "test/pg-cdc/override/insufficient-wal-level.td",
            "test/pg-cdc/override/replication-slots.td", "test/pg-cdc/override/replication-disabled.td",
            "test/pg-cdc/pg-cdc-ssl.td", "test/pg-cdc/pg-cdc.td", "test/pg-cdc/privileges.td",
            "test/pg-cdc/replica-identity.td", "test/pg-cdc/row-level-security.td", "test/pg-cdc/status/04-drop-publication.td",
            "test/pg-cdc/truncate-table.td", "test/pg-cdc/types-reg.td", "test/pg-cdc/max-slot-wal-keep-size.td",
            "test/pg-cdc/alter-table-after-source-1.td");

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
        KINDS.put("DROP TABLE", "DROP TABLE ");
        KINDS.put("ALTER TABLE", "ALTER TABLE ");
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
    String repo = "MaterializeInc/materialize";
    Path gatesFile;
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
        String repo = "MaterializeInc/materialize";
        Path gates = null;
        Path addTo = null;
        List<Path> manifests = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--src" -> src = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--tag" -> tag = args[++i];
                case "--commits" -> manifests.add(Path.of(args[++i]));
                case "--note" -> note = args[++i];
                case "--repo" -> repo = args[++i];
                case "--gates" -> gates = Path.of(args[++i]);
                case "--add-to" -> addTo = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: ExtractMzFacts --src CHECKOUT --tag vX.Y.Z --out facts.json [--commits FILE]… [--note TEXT]"
                            + " [--repo OWNER/NAME] [--gates gates.json]");
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
        x.repo = repo;
        if (gates == null) {
            Path beside = Path.of("bench/materialize-facts/gates.json");
            gates = Files.isRegularFile(beside) ? beside : null;
        }
        x.gatesFile = gates;
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
        j.append("  \"materialize\": {\"repo\": ").append(q(repo)).append(", \"tag\": ").append(q(tag));
        String head = git("rev-parse", "HEAD");
        if (head != null) {
            j.append(", \"commit\": ").append(q(head)).append(", \"commit_date\": ").append(q(git("log", "-1", "--format=%cI", head)));
        }
        String cargo = cargoVersion(read("src/environmentd/Cargo.toml"));
        if (cargo != null) {
            j.append(", \"cargo_version\": ").append(q(cargo)).append(", \"cargo_source\": ").append(source("src/environmentd/Cargo.toml"));
        }
        j.append(note == null ? "" : ", \"note\": " + q(note)).append("},\n");
        j.append("  \"emulator\": ").append(emulator()).append(",\n");
        j.append("  \"relations\": [\n").append(String.join(",\n", relations())).append("\n  ],\n");
        j.append("  \"views\": [\n").append(String.join(",\n", views())).append("\n  ],\n");
        j.append("  \"show_queries\": [\n").append(String.join(",\n", showQueries())).append("\n  ],\n");
        j.append("  \"functions\": [\n").append(String.join(",\n", functions())).append("\n  ],\n");
        j.append("  \"parser_cases\": [\n").append(String.join(",\n", parserCases())).append("\n  ],\n");
        j.append("  \"docs_syntax\": [\n").append(String.join(",\n", docsSyntax())).append("\n  ],\n");
        j.append("  \"errors\": [\n").append(String.join(",\n", errors())).append("\n  ],\n");
        j.append("  \"runtime_errors\": [\n").append(String.join(",\n", runtimeErrors())).append("\n  ],\n");
        j.append("  \"types\": ").append(types()).append(",\n");
        j.append("  \"sizes\": ").append(sizes()).append(",\n");
        j.append("  \"flags\": [\n").append(String.join(",\n", flags())).append("\n  ],\n");
        j.append("  \"gates\": [\n").append(String.join(",\n", gates())).append("\n  ],\n");
        j.append("  \"schema_rules\": ").append(schemaRules()).append(",\n");
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
        // an item named by its id, as Materialize's create_sql names what it reads ([u5 AS "db"."schema"."t"])
        return up.matches(".*\\[U\\d+ AS .*") ? "ID REFERENCE" : null;
    }

    // ---- the docs' syntax blocks (doc/user/data/examples/*.yml: "- name: syntax-…" with "code: |") ---------

    List<String> docsSyntax() throws IOException {
        List<String> out = new ArrayList<>();
        for (String rel : files("doc/user/data/examples", false, ".yml")) {
            if (!DOCS_FILES.contains(rel.substring(rel.lastIndexOf('/') + 1))) {
                continue;
            }
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
                i = k - 1;
                if (kind == null) {
                    continue;   // a block of another statement in the same file (e.g. SHOW …): no evidence for a kind we check
                }
                out.add("    {\"name\": " + q(name.group(1)) + ", \"kind\": " + q(kind) + ", \"code\": "
                        + q(text) + ", \"source\": " + source(rel) + "}");
            }
        }
        return out;
    }

    // ---- Postgres-source errors from test/pg-cdc/*.td (testdrive: "! statement" then contains:/detail:) --

    List<String> errors() throws IOException {
        List<String> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String rel : ERROR_FILES) {
            String whole = read(rel);
            if (whole == null) {
                System.err.println("not found (error texts): " + rel);
                continue;
            }
            String[] lines = whole.split("\n", -1);
            // "$ skip-if" then "SELECT true": testdrive skips the rest of the file, so Materialize's CI no longer checks it
            boolean skipped = Pattern.compile("(?m)^\\$ skip-if\\s*\\n\\s*SELECT true\\s*$").matcher(whole).find();
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
                boolean regex = lines[k].startsWith("regex:");   // a pattern, not a text
                out.add("    {\"text\": " + q(text) + (regex ? ", \"match\": \"regex\"" : "") + (detail == null ? "" : ", \"detail\": " + q(detail)) + ", \"statement\": "
                        + q(first.length() > 160 ? first.substring(0, 160) + "…" : first) + (skipped ? ", \"skipped\": true" : "")
                        + ", \"source\": " + source(rel) + "}");
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
            // in a YAML of named blocks, only the supported-types block (the next block lists the unsupported ones)
            int block = text.indexOf("- name: postgres-supported-types");
            if (block >= 0) {
                int next = text.indexOf("\n- name:", block + 1);
                text = text.substring(block, next < 0 ? text.length() : next);
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
        // the emulator image's entrypoint: src/materialized/ci/entrypoint.sh since the unified materialized binary
        // (7defc6a810, 2024-11-15); misc/images/materialized/entrypoint.sh before
        String emu = Files.isRegularFile(src.resolve("src/materialized/ci/entrypoint.sh")) ? "src/materialized/ci/entrypoint.sh"
                : "misc/images/materialized/entrypoint.sh";
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
            // the default cluster's (quickstart's) size follows the container's CPU count; the system clusters' is fixed
            List<String> byCpus = new ArrayList<>();
            Matcher c = Pattern.compile("CPUS >= (\\d+) \\)\\);?\\s*then\\s*DEFAULT_CLUSTER_REPLICA_SIZE=\"([^\"]+)\"").matcher(text);
            while (c.find()) {
                byCpus.add("{\"min_cpus\": " + c.group(1) + ", \"size\": " + q(c.group(2)) + "}");
            }
            Matcher otherwise = Pattern.compile("else\\s*DEFAULT_CLUSTER_REPLICA_SIZE=\"([^\"]+)\"").matcher(text);
            if (otherwise.find()) {
                byCpus.add("{\"min_cpus\": 0, \"size\": " + q(otherwise.group(1)) + "}");
            }
            Matcher system = Pattern.compile("DEFAULT_OTHER_CLUSTER_REPLICA_SIZE=\"([^\"]+)\"").matcher(text);
            parts.add("\"emulator\": {\"names\": " + list(names)
                    + (byCpus.isEmpty() ? "" : ", \"default_cluster_size_by_cpus\": [" + String.join(", ", byCpus) + "]")
                    + (system.find() ? ", \"system_cluster_size\": " + q(system.group(1)) : "")
                    + ", \"source\": " + source(emu) + "}");
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

    /** System variables, feature flags and dynamic configs the toolkit's behaviour depends on. */
    static final List<String> FLAGS = List.of("enable_create_table_from_source", "force_source_table_syntax",
            "enable_zero_downtime_cluster_reconfiguration", "enable_background_alter_cluster",
            "default_cluster_reconfiguration_timeout", "enable_cluster_controller");

    List<String> flags() throws IOException {
        List<String> out = new ArrayList<>();
        for (String rel : List.of("src/sql/src/session/vars/definitions.rs", "src/adapter-types/src/dyncfgs.rs",
                "src/storage-types/src/dyncfgs.rs")) {
            String text = read(rel);
            if (text == null) {
                continue;
            }
            for (String flag : FLAGS) {
                // a plain variable: VarDefinition::new("name", value!(bool; false), "description", user_visible)
                Matcher m = Pattern.compile("\"" + flag + "\",\\s*value!\\(bool;\\s*(true|false)\\),\\s*\"([^\"]*)\",\\s*(true|false)")
                        .matcher(text);
                // a feature flag: { name: flag, desc: "…", default: false, … } (not visible to normal users)
                Matcher m2 = Pattern.compile("name: \"?" + flag + "\"?,\\s*desc: \"([^\"]*)\",\\s*default: (true|false)").matcher(text);
                // a dynamic config: Config::new("name", default, "description") (set by the operator, not visible in SQL)
                Matcher m3 = Pattern.compile("Config::new\\(\\s*\"" + flag + "\",\\s*(true|false|Duration::from_secs\\(([\\d\\s*]+)\\)),\\s*\"([^\"]*)\"")
                        .matcher(text);
                if (m.find()) {
                    out.add("    {\"name\": " + q(flag) + ", \"kind\": \"system variable\", \"default\": " + m.group(1) + ", \"description\": "
                            + q(m.group(2)) + ", \"user_visible\": " + m.group(3) + ", \"source\": " + source(rel) + "}");
                } else if (m2.find()) {
                    out.add("    {\"name\": " + q(flag) + ", \"kind\": \"feature flag\", \"default\": " + m2.group(2) + ", \"description\": "
                            + q(m2.group(1)) + ", \"user_visible\": false, \"source\": " + source(rel) + "}");
                } else if (m3.find()) {
                    String value = m3.group(2) == null ? m3.group(1) : q(seconds(m3.group(2)) + "s");
                    out.add("    {\"name\": " + q(flag) + ", \"kind\": \"dyncfg\", \"default\": " + value + ", \"description\": "
                            + q(m3.group(3)) + ", \"user_visible\": false, \"source\": " + source(rel) + "}");
                }
            }
        }
        return out;
    }

    /** "60 * 60 * 24" → 86400. */
    static long seconds(String product) {
        long n = 1;
        for (String f : product.split("\\*")) {
            n *= Long.parseLong(f.strip());
        }
        return n;
    }

    // ---- the emulator: the newest release the docs list (doc/user/content/releases/) ----------------------

    String emulator() throws IOException {
        // vX.Y.md: front matter "released: true|false", "date:", "patch: N"; _index.md: "## vX.Y.Z" with
        // "*Released to Materialize Cloud: DATE*" / "*Released to Materialize Self-Managed: DATE*"
        int[] newest = null;
        String newestDate = null;
        String newestFile = null;
        for (String rel : files("doc/user/content/releases", false, ".md")) {
            Matcher v = Pattern.compile("/v(\\d+)\\.(\\d+)\\.md$").matcher(rel);
            if (!v.find()) {
                continue;
            }
            String text = Files.readString(src.resolve(rel), StandardCharsets.UTF_8);   // scanned, not a fact's source
            Matcher released = Pattern.compile("(?m)^released:\\s*(true|false)").matcher(text);
            if (!released.find() || !released.group(1).equals("true")) {
                continue;
            }
            int[] ver = {Integer.parseInt(v.group(1)), Integer.parseInt(v.group(2))};
            if (newest == null || ver[0] > newest[0] || (ver[0] == newest[0] && ver[1] > newest[1])) {
                newest = ver;
                Matcher d = Pattern.compile("(?m)^date:\\s*(\\S+)").matcher(text);
                newestDate = d.find() ? d.group(1) : null;
                newestFile = rel;
            }
        }
        if (newest == null) {
            return "null";
        }
        read(newestFile);
        String index = read("doc/user/content/releases/_index.md");
        String tag = null;
        String cloud = null;
        String selfManaged = null;
        String newestSm = null;
        String newestSmDate = null;
        if (index != null) {
            Matcher h = Pattern.compile("(?m)^## (v(\\d+)\\.(\\d+)\\.(\\d+))\\s*$").matcher(index);
            while (h.find()) {
                int next = index.indexOf("\n## ", h.end());
                String section = index.substring(h.end(), next < 0 ? index.length() : next);
                Matcher c = Pattern.compile("Released to Materialize Cloud: ([0-9-]+)").matcher(section);
                Matcher s = Pattern.compile("Released to Materialize Self-Managed: ([0-9-]+)").matcher(section);
                boolean sm = s.find();
                if (sm && newestSm == null) {
                    newestSm = h.group(1);
                    newestSmDate = s.group(1);
                }
                if (tag == null && Integer.parseInt(h.group(2)) == newest[0] && Integer.parseInt(h.group(3)) == newest[1]) {
                    tag = h.group(1);   // the first (newest) heading of that minor release: its newest patch
                    cloud = c.find() ? c.group(1) : null;
                    selfManaged = sm ? s.group(1) : null;
                }
            }
        }
        if (tag == null) {
            tag = "v" + newest[0] + "." + newest[1] + ".0";
        }
        return "{\"tag\": " + q(tag) + ", \"image\": " + q("materialize/materialized:" + tag)
                + ", \"release_date\": " + (newestDate == null ? "null" : q(newestDate))
                + ", \"released_cloud\": " + (cloud == null ? "null" : q(cloud))
                + ", \"released_self_managed\": " + (selfManaged == null ? "null" : q(selfManaged))
                + ", \"newest_self_managed\": " + (newestSm == null ? "null" : "{\"tag\": " + q(newestSm) + ", \"date\": " + q(newestSmDate) + "}")
                + ", \"rule\": \"the newest vX.Y whose release page says released: true, at the newest patch _index.md lists for it\""
                + ", \"source\": " + source(newestFile) + ", \"index_source\": " + source("doc/user/content/releases/_index.md") + "}";
    }

    // ---- error texts from the code (thiserror #[error("…")] and Display arms), with their detail and hint ------

    /** path, enum, the stage the error shows at, and the variants kept. */
    static final List<String[]> RUNTIME_ERRORS = List.of(
            new String[] {"src/storage/src/source/postgres.rs", "TransientError", "running source, transient (the source retries; status stalled)",
                    "MissingReplicationSlot OvercompactedReplicationSlot"},
            new String[] {"src/storage/src/source/postgres.rs", "DefiniteError", "running source, definite (the table or subsource stays errored until it is recreated)",
                    "SlotCompactedPastResumePoint TableTruncated TableDropped PublicationDropped InvalidReplicationSlot InvalidTimelineId "
                            + "InvalidPhysicalReplica MissingToast DefaultReplicaIdentity IncompatibleSchema"},
            new String[] {"src/sql/src/pure/error.rs", "PgSourcePurificationError", "CREATE SOURCE / CREATE TABLE … FROM SOURCE (purification)",
                    "EmptyPublication RequiresExternalReferences UserLacksUsageOnSchemas UserLacksSelectOnTables BypassRLSRequired "
                            + "NotTablesWReplicaIdentityFull UnrecognizedTypes ConnectionMissingPublication DatabaseMissingFilteredSchemas"},
            new String[] {"src/sql/src/plan/error.rs", "PlanError", "planning", "UseTablesForSources TableContainsUningestableTypes"});

    List<String> runtimeErrors() throws IOException {
        List<String> out = new ArrayList<>();
        for (String[] spec : RUNTIME_ERRORS) {
            String text = read(spec[0]);
            if (text == null) {
                System.err.println("not found (runtime errors): " + spec[0]);
                continue;
            }
            String enumBody = block(text, "pub enum " + spec[1] + " {");
            String impl = block(text, "impl " + spec[1] + " {");
            String display = block(text, "impl fmt::Display for " + spec[1] + " {");
            for (String variant : spec[3].split(" ")) {
                String message = enumBody == null ? null : thiserrorMessage(enumBody, variant);
                if (message == null && display != null) {
                    message = armString(display, variant);
                }
                if (message == null) {
                    System.err.println("not found (runtime errors): " + spec[1] + "::" + variant + " in " + spec[0]);
                    continue;
                }
                String detail = impl == null ? null : armString(block(impl, "fn detail(&self)"), variant);
                String hint = impl == null ? null : armString(block(impl, "fn hint(&self)"), variant);
                out.add("    {\"name\": " + q(spec[1] + "::" + variant) + ", \"stage\": " + q(spec[2]) + ", \"text\": " + q(message)
                        + (detail == null ? "" : ", \"detail\": " + q(detail)) + (hint == null ? "" : ", \"hint\": " + q(hint))
                        + ", \"source\": " + source(spec[0]) + "}");
            }
        }
        // the forced-syntax refusal as a legacy CREATE SOURCE … FOR ALL TABLES gets it: {command} is the clause's display
        String statement = read("src/sql-parser/src/ast/defs/statement.rs");
        if (statement != null) {
            Matcher all = Pattern.compile("Self::All => f\\.write_str\\(\"([^\"]+)\"\\)").matcher(statement);
            String plan = read("src/sql/src/plan/error.rs");
            String display = plan == null ? null : block(plan, "impl fmt::Display for PlanError {");
            String template = display == null ? null : armString(display, "UseTablesForSources");
            if (all.find() && template != null && template.contains("{command}")) {
                out.add("    {\"name\": \"PlanError::UseTablesForSources(FOR ALL TABLES)\", \"stage\": "
                        + q("CREATE SOURCE … FOR ALL TABLES while enable_create_table_from_source and force_source_table_syntax are on")
                        + ", \"text\": " + q(template.replace("{command}", all.group(1))) + ", \"source\": " + source("src/sql/src/plan/error.rs")
                        + ", \"clause_source\": " + source("src/sql-parser/src/ast/defs/statement.rs") + "}");
            }
        }
        // a feature flag that is off: "{feature_desc} is not available" (+ a hint), for the flags the toolkit meets
        String vars = read("src/sql/src/session/vars/errors.rs");
        String defs = read("src/sql/src/session/vars/definitions.rs");
        if (vars != null && defs != null && Pattern.compile("\"\\{\\} is not \\{\\}\"").matcher(vars).find() && vars.contains("\"available\"")) {
            Matcher hint = Pattern.compile("\"(Contact support[^\"]*)\"").matcher(vars);
            String h = hint.find() ? hint.group(1) : null;
            for (String flag : List.of("enable_create_table_from_source", "enable_zero_downtime_cluster_reconfiguration")) {
                Matcher d = Pattern.compile("name: " + flag + ",\\s*desc: \"([^\"]*)\"").matcher(defs);
                if (d.find()) {
                    out.add("    {\"name\": " + q("VarError::RequiresFeatureFlag(" + flag + ")") + ", \"stage\": "
                            + q("planning, while the feature flag " + flag + " is off") + ", \"text\": " + q(d.group(1) + " is not available")
                            + (h == null ? "" : ", \"hint\": " + q(h)) + ", \"source\": " + source("src/sql/src/session/vars/errors.rs")
                            + ", \"flag_source\": " + source("src/sql/src/session/vars/definitions.rs") + "}");
                }
            }
        }
        return out;
    }

    /** The text from {@code head} to its matching closing brace (strings and chars skipped); null when absent. */
    static String block(String text, String head) {
        if (text == null) {
            return null;
        }
        int at = text.indexOf(head);
        if (at < 0) {
            return null;
        }
        int open = text.indexOf('{', at + head.length() - 1);
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                i = endOfString(text, i);
            } else if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return text.substring(at, i + 1);
            }
        }
        return text.substring(at);
    }

    static int endOfString(String text, int open) {
        for (int i = open + 1; i < text.length(); i++) {
            if (text.charAt(i) == '\\') {
                i++;
            } else if (text.charAt(i) == '"') {
                return i;
            }
        }
        return text.length() - 1;
    }

    /** A Rust string literal starting at {@code open} (a '"'), unescaped; a backslash-newline joins lines. */
    static String rustString(String text, int open) {
        StringBuilder b = new StringBuilder();
        for (int i = open + 1; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                break;
            }
            if (c == '\\' && i + 1 < text.length()) {
                char n = text.charAt(++i);
                switch (n) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case '\n' -> {
                        while (i + 1 < text.length() && Character.isWhitespace(text.charAt(i + 1))) {
                            i++;
                        }
                    }
                    default -> b.append(n);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The message of {@code #[error("…")]} right before {@code variant} in an enum body. */
    static String thiserrorMessage(String enumBody, String variant) {
        Matcher m = Pattern.compile("#\\[error\\(\\s*(\"(?:[^\"\\\\]|\\\\.)*\")\\s*\\)\\]\\s*(?://[^\\n]*\\s*)*" + variant + "\\b").matcher(enumBody);
        return m.find() ? rustString(enumBody, m.start(1)) : null;
    }

    /** The first string literal after the match arm {@code Self::variant … =>} in a function or impl block. */
    static String armString(String body, String variant) {
        if (body == null) {
            return null;
        }
        Matcher m = Pattern.compile("Self::" + variant + "\\b[^=]*=>").matcher(body);
        if (!m.find()) {
            return null;
        }
        int end = body.indexOf("Self::", m.end());
        String arm = body.substring(m.end(), end < 0 ? body.length() : end);
        int q = arm.indexOf('"');
        return q < 0 ? null : rustString(arm, q);
    }

    // ---- version gates (bench/materialize-facts/gates.json, checked against the history) -----------------

    List<String> gates() throws IOException {
        List<String> out = new ArrayList<>();
        if (gatesFile == null) {
            return out;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) new Json(Files.readString(gatesFile, StandardCharsets.UTF_8)).value();
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) root.get("gates");
        for (Object o : list) {
            @SuppressWarnings("unchecked")
            Map<String, Object> g = (Map<String, Object>) o;
            String name = (String) g.get("name");
            String commit = git("rev-parse", "--verify", "--quiet", g.get("commit") + "^{commit}");
            if (commit == null) {
                System.err.println("gate " + name + ": commit " + g.get("commit") + " is not in " + src);
                continue;
            }
            String path = (String) g.get("path");
            String cargo = cargoVersion(git("show", commit + ":src/environmentd/Cargo.toml"));
            Matcher dev = Pattern.compile("^(\\d+)\\.(\\d+)\\.(\\d+)").matcher(cargo == null ? "" : cargo);
            String first = dev.find() ? "v" + dev.group(1) + "." + dev.group(2) + "." + dev.group(3) : null;
            boolean checked = true;
            @SuppressWarnings("unchecked")
            Map<String, Object> ev = (Map<String, Object>) g.get("evidence");
            if (ev != null) {
                checked = evidence(git("show", commit + "^:" + path), (String) ev.get("before"))
                        && evidence(git("show", commit + ":" + path), (String) ev.get("after"));
                if (!checked) {
                    System.err.println("gate " + name + ": the evidence does not hold at " + commit + " in " + path);
                }
            }
            StringBuilder b = new StringBuilder("    {\"name\": " + q(name) + ", \"first_version\": " + (first == null ? "null" : q(first))
                    + ", \"cargo_version_at_commit\": " + (cargo == null ? "null" : q(cargo)) + ", \"commit\": " + q(commit)
                    + ", \"date\": " + q(git("log", "-1", "--format=%cI", commit)) + ", \"path\": " + q(path)
                    + ", \"path_exists_now\": " + Files.isRegularFile(src.resolve(path)) + ", \"evidence_checked\": " + checked);
            for (String k : List.of("what", "before", "after", "release_notes", "release_notes_version")) {
                if (g.get(k) != null) {
                    b.append(", \"").append(k).append("\": ").append(q((String) g.get(k)));
                }
            }
            out.add(b.append("}").toString());
        }
        return out;
    }

    static boolean evidence(String text, String regex) {
        if (regex == null) {
            return true;
        }
        boolean negate = regex.startsWith("!");
        boolean found = text != null && Pattern.compile(negate ? regex.substring(1) : regex).matcher(text).find();
        return negate ? text != null && !found : found;
    }

    static String cargoVersion(String toml) {
        if (toml == null) {
            return null;
        }
        Matcher m = Pattern.compile("(?m)^version = \"([^\"]+)\"").matcher(toml);
        return m.find() ? m.group(1) : null;
    }

    /** git -C SRC ARGS…, its output stripped; null when it fails or SRC is no git checkout. */
    String git(String... args) {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", src.toString()));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor() == 0 ? outText.strip() : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    /** Just enough JSON for gates.json: objects (ordered), arrays, strings, numbers, true/false/null. */
    static final class Json {
        final String s;
        int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                ws();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    ws();
                    String k = string();
                    ws();
                    i++;   // ':'
                    m.put(k, value());
                    ws();
                    if (s.charAt(i++) == '}') {
                        return m;
                    }
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                ws();
                if (s.charAt(i) == ']') {
                    i++;
                    return l;
                }
                while (true) {
                    l.add(value());
                    ws();
                    if (s.charAt(i++) == ']') {
                        return l;
                    }
                }
            }
            if (c == '"') {
                return string();
            }
            int from = i;
            while (i < s.length() && ",}] \n\r\t".indexOf(s.charAt(i)) < 0) {
                i++;
            }
            String w = s.substring(from, i);
            return switch (w) {
                case "true" -> Boolean.TRUE;
                case "false" -> Boolean.FALSE;
                case "null" -> null;
                default -> Double.valueOf(w);
            };
        }

        String string() {
            StringBuilder b = new StringBuilder();
            i++;   // '"'
            while (s.charAt(i) != '"') {
                char c = s.charAt(i++);
                if (c == '\\') {
                    char n = s.charAt(i++);
                    switch (n) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'u' -> {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                        }
                        default -> b.append(n);
                    }
                } else {
                    b.append(c);
                }
            }
            i++;
            return b.toString();
        }

        void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }

    // ---- the rules of upstream schema changes (issue #19): what a PostgreSQL source compares, and what breaks it ----

    /** The {@code pub name: Type} fields of a Rust struct, in order. */
    static List<String> structFields(String text, String struct) {
        List<String> out = new ArrayList<>();
        String body = block(text, "pub struct " + struct + " {");
        if (body != null) {
            Matcher f = Pattern.compile("(?m)^\\s*pub (\\w+):").matcher(body);
            while (f.find()) {
                out.add(f.group(1));
            }
        }
        return out;
    }

    /** The {@code &&} terms of a boolean chain, comments dropped, whitespace collapsed. */
    static List<String> andTerms(String chain) {
        List<String> out = new ArrayList<>();
        String c = chain.replaceAll("//[^\\n]*", " ").replaceAll("\\s+", " ").strip();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < c.length(); i++) {
            char ch = c.charAt(i);
            if (ch == '(') {
                depth++;
            } else if (ch == ')') {
                depth--;
            } else if (depth == 0 && c.startsWith("&&", i)) {
                out.add(c.substring(start, i).strip());
                start = i + 2;
            }
        }
        out.add(c.substring(start).strip());
        return out;
    }

    static String strings(List<String> xs) {
        List<String> out = new ArrayList<>();
        xs.forEach(x -> out.add(q(x)));
        return "[" + String.join(", ", out) + "]";
    }

    /** A statement form: whether the pinned checkout has it (parser and docs), each with its path. */
    String form(String name, String statement, String parserRel, String parserRegex, String docRel, String docRegex) throws IOException {
        String parser = parserRel == null ? null : read(parserRel);
        String doc = docRel == null ? null : read(docRel);
        boolean inParser = parser != null && Pattern.compile(parserRegex).matcher(parser).find();
        boolean inDocs = doc != null && Pattern.compile(docRegex).matcher(doc).find();
        return "      {\"name\": " + q(name) + ", \"statement\": " + q(statement)
                + (parserRel == null ? "" : ", \"parser\": " + inParser + ", \"parser_source\": " + source(parserRel))
                + (docRel == null ? "" : ", \"docs\": " + inDocs + ", \"docs_source\": " + source(docRel)) + "}";
    }

    String schemaRules() throws IOException {
        String descRel = "src/postgres-util/src/desc.rs";
        String runRel = "src/storage/src/source/postgres.rs";
        String replRel = "src/storage/src/source/postgres/replication.rs";
        String snapRel = "src/storage/src/source/postgres/snapshot.rs";
        String pureRel = "src/sql/src/pure/postgres.rs";
        String dynRel = "src/storage-types/src/dyncfgs.rs";
        String desc = read(descRel);
        String run = read(runRel);
        String repl = read(replRel);
        String snap = read(snapRel);
        String pure = read(pureRel);
        String dyn = read(dynRel);
        StringBuilder j = new StringBuilder("{\n");
        j.append("    \"about\": ").append(q("What a running PostgreSQL source compares before it ingests a table again, and which upstream changes stop "
                + "a table for good (a definite error: the table must be dropped and recreated). Names, terms and texts of the pinned code and docs, "
                + "each with its path; bench/materialize-facts/ExtractSchemaScenarios.java writes the tests' scenarios (schema-scenarios.json).")).append(",\n");
        // the table: the && chain of determine_compatibility
        String fn = block(desc, "pub fn determine_compatibility(");
        List<String> tableTerms = new ArrayList<>();
        String error = null;
        if (fn != null) {
            Matcher cond = Pattern.compile("if (columns_compatible[\\s\\S]*?)\\{\\s*Ok\\(\\(\\)\\)").matcher(fn);
            if (cond.find()) {
                tableTerms = andTerms(cond.group(1));
            }
            Matcher bail = Pattern.compile("bail!\\(\\s*\"([^\"]*)\"").matcher(fn);
            error = bail.find() ? bail.group(1) : null;
        }
        List<String> compared = new ArrayList<>();
        for (String t : tableTerms) {
            Matcher eq = Pattern.compile("&?self\\.(\\w+) == &?other_(\\w+)").matcher(t);
            if (eq.find()) {
                compared.add(eq.group(1));
            } else if (t.contains("self.keys.difference(other_keys)")) {
                compared.add("keys");
            } else if (t.equals("columns_compatible")) {
                compared.add("columns");
            }
        }
        boolean byName = fn != null && fn.contains("other_cols_by_name.get(&info.name)") && Pattern.compile("None => false").matcher(fn).find();
        boolean equalShortcut = fn != null && fn.contains("if self == other");
        j.append("    \"table\": {\"function\": \"PostgresTableDesc::determine_compatibility\", \"source\": ").append(source(descRel))
                .append(",\n      \"fields\": ").append(strings(structFields(desc == null ? "" : desc, "PostgresTableDesc")))
                .append(",\n      \"compared\": ").append(strings(compared))
                .append(",\n      \"terms\": ").append(strings(tableTerms))
                .append(",\n      \"rules\": ").append(strings(List.of(
                        "oid, namespace and name must be equal (a renamed table, one moved to another schema, or a dropped and recreated one breaks)",
                        "keys: every stored key (primary key or unique constraint) must still be present upstream in the same shape (self.keys.difference(other_keys) is empty); keys added upstream are ignored",
                        "columns: each stored column is looked up upstream by name" + (byName ? " (a stored column missing upstream → incompatible)" : "")
                                + " and must be PostgresColumnDesc::is_compatible; upstream columns not in the stored desc (added later, or excluded) are not compared",
                        "identical descs are compatible at once" + (equalShortcut ? " (if self == other)" : ""))))
                .append(",\n      \"key_fields\": ").append(strings(structFields(desc == null ? "" : desc, "PostgresKeyDesc")))
                .append(", \"keys_compared_whole\": ").append(desc != null && desc.contains("pub keys: BTreeSet<PostgresKeyDesc>"))
                .append(",\n      \"columns_by_name\": ").append(byName)
                .append(",\n      \"error\": ").append(error == null ? "null" : q(error)).append("},\n");
        // the column: the && chain of is_compatible
        String col = block(desc, "fn is_compatible(");
        List<String> colTerms = new ArrayList<>();
        if (col != null) {
            int open = col.indexOf('{');
            colTerms = andTerms(col.substring(open + 1, col.lastIndexOf('}')));
        }
        List<String> colCompared = new ArrayList<>();
        for (String t : colTerms) {
            Matcher eq = Pattern.compile("self\\.(\\w+) == other\\.(\\w+)").matcher(t);
            if (eq.find()) {
                colCompared.add(eq.group(1) + (t.contains("allow_type_change") ? " (unless the type may change)"
                        : t.contains("self.nullable ||") ? " (only when the stored column is NOT NULL)" : ""));
            }
        }
        j.append("    \"column\": {\"function\": \"PostgresColumnDesc::is_compatible\", \"source\": ").append(source(descRel))
                .append(",\n      \"fields\": ").append(strings(structFields(desc == null ? "" : desc, "PostgresColumnDesc")))
                .append(",\n      \"compared\": ").append(strings(colCompared))
                .append(",\n      \"terms\": ").append(strings(colTerms))
                .append(",\n      \"rules\": ").append(strings(List.of(
                        "name and col_num (the attnum: \"this was the i-th column created\") must be equal: a renamed column, or one dropped and re-added under the same name, breaks",
                        "type_oid and type_mod must be equal unless the column may change type (ingested as text: TEXT COLUMNS)",
                        "nullable: a stored nullable column may become NOT NULL; a stored NOT NULL column must stay NOT NULL (dropping NOT NULL breaks)"))).append("},\n");
        // which columns may change type: verify_schema's argument
        boolean textOnly = run != null && run.contains("CastType::Text => Some(col.col_num)") && run.contains("CastType::Natural => None");
        boolean textCast = pure != null && Pattern.compile("text_columns\\.contains\\(column\\.name\\.as_str\\(\\)\\)[\\s\\S]{0,400}\\(CastType::Text, mz_pgrepr::Type::Text\\)").matcher(pure).find();
        j.append("    \"type_may_change\": {\"argument\": \"allow_type_to_change_by_col_num\", \"computed_in\": \"verify_schema\", \"source\": ").append(source(runRel))
                .append(", \"casts_source\": ").append(source(pureRel))
                .append(",\n      \"columns\": ").append(q(textOnly && textCast ? "the col_num of each column whose cast is CastType::Text, i.e. the columns named in TEXT COLUMNS (generate_column_casts)"
                        : "not found: check verify_schema and generate_column_casts"))
                .append(", \"text_columns\": ").append(textOnly && textCast).append(", \"exclude_columns\": false},\n");
        // EXCLUDE COLUMNS: removed from the stored desc before any comparison, with the keys naming them
        boolean exclRetain = pure != null && pure.contains("desc.columns.retain(|c| !exclude_cols.contains(&c.name))");
        boolean keyRetain = pure != null && pure.contains("desc.keys") && pure.contains(".retain(|k| k.cols.iter().all(|c| !excluded_col_nums.contains(c)))");
        j.append("    \"exclude_columns\": {\"source\": ").append(source(pureRel))
                .append(",\n      \"removed_from_stored_desc\": ").append(exclRetain)
                .append(", \"keys_naming_them_removed\": ").append(keyRetain)
                .append(",\n      \"rule\": ").append(q("purification drops the excluded columns from the table desc stored with the Materialize table"
                        + (keyRetain ? ", and every key naming one of them" : "") + ", so determine_compatibility never compares them: dropping or altering an excluded column upstream is safe"))
                .append(", \"gate\": \"postgres_exclude_columns_keys_pruned\"},\n");
        // when the comparison runs, and the definite errors
        String defs = run == null ? null : block(run, "pub enum DefiniteError {");
        List<String> errs = new ArrayList<>();
        for (String v : List.of("IncompatibleSchema", "TableDropped", "TableTruncated", "PublicationDropped")) {
            String m = defs == null ? null : thiserrorMessage(defs, v);
            if (m != null) {
                errs.add("      {\"name\": " + q("DefiniteError::" + v) + ", \"text\": " + q(m) + "}");
            }
        }
        boolean dropped = run != null && run.contains("upstream_info.get(&oid).ok_or(DefiniteError::TableDropped)");
        boolean truncated = repl != null && Pattern.compile("Truncate\\(body\\) =>[\\s\\S]{0,500}DefiniteError::TableTruncated").matcher(repl).find();
        boolean onRelation = repl != null && Pattern.compile("Relation\\(body\\) =>[\\s\\S]{0,1500}verify_schema\\(").matcher(repl).find();
        boolean validator = repl != null && repl.contains("fn spawn_schema_validator(") && repl.contains("PG_SCHEMA_VALIDATION_INTERVAL");
        boolean onSnapshot = snap != null && snap.contains("verify_schema(oid, info, &upstream_info)");
        Matcher interval = dyn == null ? null : Pattern.compile("\"pg_schema_validation_interval\",\\s*Duration::from_secs\\((\\d+)\\)").matcher(dyn);
        String secs = interval != null && interval.find() ? interval.group(1) : null;
        j.append("    \"errors\": {\"source\": ").append(source(runRel)).append(", \"definite\": [\n").append(String.join(",\n", errs)).append("]},\n");
        j.append("    \"checks\": [\n")
                .append("      {\"when\": \"a Relation message of the table arrives in the replication stream (sent before its next change after a DDL)\", \"checks\": \"verify_schema\", \"found\": ").append(onRelation).append(", \"source\": ").append(source(replRel)).append("},\n")
                .append("      {\"when\": \"the schema validator, every pg_schema_validation_interval\"").append(secs == null ? "" : ", \"interval_default_seconds\": " + secs).append(", \"checks\": \"verify_schema\", \"found\": ").append(validator)
                .append(", \"source\": ").append(source(replRel)).append(", \"interval_source\": ").append(source(dynRel)).append("},\n")
                .append("      {\"when\": \"a table's snapshot\", \"checks\": \"verify_schema\", \"found\": ").append(onSnapshot).append(", \"source\": ").append(source(snapRel)).append("},\n")
                .append("      {\"when\": \"verify_schema: the table's oid is missing from the publication's tables (DROP TABLE, ALTER PUBLICATION … DROP TABLE)\", \"error\": \"DefiniteError::TableDropped\", \"found\": ").append(dropped).append(", \"source\": ").append(source(runRel)).append("},\n")
                .append("      {\"when\": \"verify_schema: determine_compatibility fails\", \"error\": \"DefiniteError::IncompatibleSchema\", \"found\": ").append(run != null && run.contains("DefiniteError::IncompatibleSchema(err.to_string())")).append(", \"source\": ").append(source(runRel)).append("},\n")
                .append("      {\"when\": \"a Truncate message of the table in the replication stream\", \"error\": \"DefiniteError::TableTruncated\", \"found\": ").append(truncated).append(", \"source\": ").append(source(replRel)).append("}],\n");
        j.append("    \"added_column\": ").append(q("safe: columns are matched by name from the stored desc, so an upstream column that is not stored is never compared; "
                + "the replication projection keeps only the stored columns (by name, from the Relation message)")).append(",\n");
        // the docs: the shortcode's sections, and the statement forms
        String scRel = "doc/user/layouts/shortcodes/upstream-schema-change-behavior.html";
        String sc = read(scRel);
        List<String> sections = new ArrayList<>();
        if (sc != null) {
            Matcher h = Pattern.compile("(?m)^### (.+)$").matcher(sc);
            while (h.find()) {
                sections.add(h.group(1).strip());
            }
        }
        j.append("    \"docs\": {\"behavior_shortcode\": ").append(source(scRel)).append(", \"sections\": ").append(strings(sections))
                .append(",\n      \"guide\": ").append(source("doc/user/content/ingest-data/postgres/source-versioning.md")).append("},\n");
        read("doc/user/content/ingest-data/postgres/source-versioning.md");
        j.append("    \"statements\": [\n").append(String.join(",\n", List.of(
                form("add a column (new syntax): a new table from the source, in a new schema", "CREATE TABLE <schema>.<t> FROM SOURCE <src> (REFERENCE <upstream>)",
                        null, null, "doc/user/content/ingest-data/postgres/source-versioning.md", "(?s)CREATE TABLE v2\\.T\\s+FROM SOURCE my_source\\(REFERENCE public\\.T\\);"),
                form("drop a column (new syntax): first a table that excludes it, then the upstream drop", "CREATE TABLE <schema>.<t> FROM SOURCE <src> (REFERENCE <upstream>) WITH (EXCLUDE COLUMNS (<col>))",
                        null, null, "doc/user/content/ingest-data/postgres/source-versioning.md", "(?s)FROM SOURCE my_source\\(REFERENCE public\\.T\\) WITH \\(EXCLUDE COLUMNS \\(B\\)\\);\\s[\\s\\S]*ALTER TABLE T DROP COLUMN B;"),
                form("add or drop a column (legacy syntax): drop the subsource, then add the table back", "DROP SOURCE <subsource>; ALTER SOURCE <src> ADD SUBSOURCE <upstream> [WITH (TEXT COLUMNS (…))]",
                        null, null, scRel, "use \\[`DROP\\s+SOURCE`\\]\\(/sql/drop-source/\\) to drop the affected subsource, and then add the\\s+table back to the source using \\[`ALTER SOURCE \\.\\.\\. ADD\\s+SUBSOURCE`\\]"),
                form("ADD SUBSOURCE syntax", "ALTER SOURCE [IF EXISTS] <name> ADD SUBSOURCE|TABLE <table> [AS <subsrc>] [, ...] [WITH (<options>)]",
                        "src/sql-parser/tests/testdata/ddl", "(?m)^ALTER SOURCE n ADD SUBSOURCE a\\.b\\.c\\.d$", "doc/user/data/examples/alter_source.yml", "ADD SUBSOURCE\\|TABLE <table>"),
                form("refresh the references (the upstream objects listed in mz_source_references; does not change what is ingested)", "ALTER SOURCE [IF EXISTS] <name> REFRESH REFERENCES",
                        "src/sql-parser/tests/testdata/ddl", "(?m)^ALTER SOURCE db\\.src REFRESH REFERENCES$", "doc/user/data/examples/alter_source.yml", "REFRESH REFERENCES;"),
                form("swap two schemas (blue/green)", "ALTER SCHEMA <a> SWAP WITH <b>",
                        "src/sql-parser/tests/testdata/alter", "(?m)^ALTER SCHEMA blue SWAP WITH green$", "doc/user/content/sql/alter-schema.md", "ALTER SCHEMA blue SWAP WITH green;"),
                form("replacement materialized view", "CREATE REPLACEMENT MATERIALIZED VIEW <v> FOR <target> AS <query>",
                        "src/sql-parser/tests/testdata/ddl", "(?m)^CREATE REPLACEMENT MATERIALIZED VIEW v FOR target AS SELECT \\* FROM t$", "doc/user/content/sql/create-materialized-view.md", "CREATE REPLACEMENT MATERIALIZED VIEW"),
                form("apply a replacement", "ALTER MATERIALIZED VIEW <v> APPLY REPLACEMENT <replacement>",
                        "src/sql-parser/tests/testdata/alter", "(?m)^ALTER MATERIALIZED VIEW mv APPLY REPLACEMENT rpl$", "doc/user/data/examples/alter_materialized_view.yml", "APPLY REPLACEMENT")
        ))).append("]\n  }");
        return j.toString();
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
