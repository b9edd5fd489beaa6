///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Collects Materialize's own expectations about its catalog from its testdrive files, into the JSON file
 * MzConformanceTest replays against the stand-in (src/test/resources/materialize/expectations.json).
 *
 * <p>From {@code test/pg-cdc/*.td} and {@code test/testdrive/*.td} of a checkout of MaterializeInc/materialize,
 * every {@code >} query that reads mz_source_statuses, mz_object_dependencies, mz_postgres_source_tables,
 * mz_postgres_sources, mz_source_statistics, mz_sources, mz_tables or mz_objects, or is a SHOW SUBSOURCES,
 * SHOW SOURCES or SHOW TABLES, and runs after a {@code CREATE SOURCE … FROM POSTGRES} in its file, with its
 * expected rows (and column names when given) and every state-changing command before it in the file (the
 * setup: Materialize statements, statements testdrive expects to fail, {@code $ postgres-execute} upstream and
 * as mz_system, and the builtins that set variables, regexes and skips). Files are read with testdrive's own
 * line rules (src/testdrive/src/parser.rs: continuation lines start with two spaces, blank lines are skipped,
 * {@code #} comments, {@code \} escapes, version constraints {@code >[version>=N]}); values are kept as
 * written, variables ({@code ${…}}) unsubstituted.
 *
 * <p>Also the testdrive environment facts the replay needs (system parameter defaults of the mzcompose
 * services). Each case and fact names its path and the commit of that file; no other Materialize text is
 * written (the expectations are Materialize's test data, quoted as such).
 *
 * <pre>
 *   java bench/materialize-facts/ExtractMzExpectations.java --src /path/to/materialize \
 *        --out src/test/resources/materialize/expectations.json
 * </pre>
 * No dependencies; any JDK 17+.
 */
public class ExtractMzExpectations {
    static final Pattern TARGET = Pattern.compile("(?is)\\b(mz_source_statuses|mz_object_dependencies|mz_postgres_source_tables"
            + "|mz_postgres_sources|mz_source_statistics|mz_sources|mz_tables|mz_objects)\\b|^\\s*SHOW\\s+(SUBSOURCES|SOURCES|TABLES)\\b");
    static final Pattern PG_SOURCE = Pattern.compile("(?is)^\\s*CREATE\\s+SOURCE\\b.*\\bFROM\\s+POSTGRES\\s+CONNECTION\\b");
    static final Pattern READ_ONLY = Pattern.compile("(?is)^\\s*(?:(SELECT|SHOW|EXPLAIN|WITH|VALUES|TABLE|FETCH|SUBSCRIBE)\\b|\\()");

    /** test/pg-cdc and test/testdrive (new syntax), and test/pg-cdc-old-syntax (FOR ALL TABLES: subsources, progress). */
    static final List<String> DIRS = List.of("test/pg-cdc", "test/pg-cdc-old-syntax", "test/testdrive");

    final Path src;
    final Map<String, String> commits = new TreeMap<>();

    ExtractMzExpectations(Path src) {
        this.src = src;
    }

    public static void main(String[] args) throws IOException {
        Path src = null;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--src" -> src = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: ExtractMzExpectations --src CHECKOUT --out expectations.json");
                    System.exit(2);
                }
            }
        }
        if (src == null || out == null) {
            System.err.println("usage: ExtractMzExpectations --src CHECKOUT --out expectations.json");
            System.exit(2);
        }
        ExtractMzExpectations x = new ExtractMzExpectations(src);
        StringBuilder j = new StringBuilder();
        int n = x.extract(j);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, j.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + out + ": " + n + " cases from " + x.commits.size() + " files");
    }

    // ---- testdrive's line rules (src/testdrive/src/parser.rs) ------------------------------------------

    record Line(int no, String text) {}

    /** testdrive's LineReader: continuation lines, blank lines skipped; each line with its first source line number. */
    static final class Reader {
        final String text;
        int at;
        int lineNo = 1;
        Line pushed;

        Reader(String text) {
            this.text = text;
        }

        Line peek() {
            if (pushed == null) {
                pushed = readOne();
            }
            return pushed;
        }

        Line next() {
            Line l = peek();
            pushed = null;
            return l;
        }

        void push(Line l) {
            pushed = l;
        }

        private Line readOne() {
            if (at >= text.length()) {
                return null;
            }
            boolean fold = text.charAt(at) == '$';
            boolean handle = isSqlSigil(text.charAt(at));
            StringBuilder line = new StringBuilder();
            int start = lineNo;
            int i = at;
            while (i < text.length()) {
                char c = text.charAt(i);
                if (c == '\n') {
                    lineNo++;
                    boolean twoSpaces = text.startsWith("  ", i + 1);
                    if (fold && twoSpaces) {
                        i += 2; // the newline and one space
                        continue;
                    } else if (handle && twoSpaces) {
                        line.append('\n');
                        i += 3; // the newline kept, the two spaces dropped
                        continue;
                    } else if (line.toString().isBlank()) {
                        line.setLength(0);
                        i++;
                        fold = i < text.length() && text.charAt(i) == '$';
                        handle = i < text.length() && isSqlSigil(text.charAt(i));
                        start = lineNo;
                        continue;
                    }
                    at = i + 1;
                    return new Line(start, line.toString());
                }
                line.append(c);
                i++;
            }
            at = text.length();
            return line.toString().isBlank() ? null : new Line(start, line.toString());
        }
    }

    static boolean isSqlSigil(char c) {
        return c == '>' || c == '!' || c == '?';
    }

    static boolean isSigil(char c) {
        return isSqlSigil(c) || c == '$';
    }

    /** slurp_one: the next input line, comments skipped, a leading backslash removed; null at the next command. */
    static Line slurpOne(Reader r) {
        while (r.peek() != null) {
            Line l = r.peek();
            char c = l.text().isEmpty() ? ' ' : l.text().charAt(0);
            if (c == '#') {
                r.next();
            } else if (isSigil(c)) {
                return null;
            } else if (c == '\\') {
                r.next();
                return new Line(l.no(), l.text().substring(1));
            } else {
                return r.next();
            }
        }
        return null;
    }

    /** split_line: whitespace-separated values, double quotes group, backslash escapes inside quotes. */
    static List<String> splitLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean inQuotes = false;
        boolean escaping = false;
        for (int k = 0; k < line.length(); k++) {
            char c = line.charAt(k);
            if (!inQuotes && Character.isWhitespace(c)) {
                if (field.length() > 0) {
                    out.add(field.toString());
                    field.setLength(0);
                }
            } else if (c == '"' && !escaping) {
                if (!inQuotes) {
                    inQuotes = true;
                } else {
                    inQuotes = false;
                    out.add(field.toString());
                    field.setLength(0);
                }
            } else if (c == '\\' && !escaping && inQuotes) {
                escaping = true;
            } else if (escaping) {
                field.append(switch (c) {
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    case 'r' -> '\r';
                    case '0' -> '\0';
                    default -> c;
                });
                escaping = false;
            } else {
                field.append(c);
            }
        }
        if (field.length() > 0) {
            out.add(field.toString());
        }
        return out;
    }

    /** One command of a .td file. */
    static final class Cmd {
        int line;
        char sigil;
        Integer minVersion;
        Integer maxVersion;
        String text;            // the SQL, or the builtin's command line
        String builtin;         // the builtin's name
        Map<String, String> args = new LinkedHashMap<>();
        List<String> input = new ArrayList<>();
        List<String> columns;
        List<List<String>> rows = new ArrayList<>();
        String hashed;          // "N values hashing to X"
        String error;           // ! : contains:/exact:/regex:/timeout
    }

    static List<Cmd> parse(String text) {
        Reader r = new Reader(text);
        List<Cmd> out = new ArrayList<>();
        while (r.peek() != null) {
            Line first = r.peek();
            char c = first.text().isEmpty() ? ' ' : first.text().charAt(0);
            if (c == '#') {
                r.next();
                continue;
            }
            if (!isSigil(c)) {
                r.next(); // testdrive would refuse the file; keep going
                continue;
            }
            Cmd cmd = new Cmd();
            cmd.line = first.no();
            cmd.sigil = c;
            Line l = r.next();
            if (l.text().length() > 1 && l.text().charAt(1) == '[') {
                int close = l.text().indexOf(']');
                String constraint = l.text().substring(2, close);
                int[] mm = versionConstraint(constraint);
                cmd.minVersion = mm[0];
                cmd.maxVersion = mm[1];
                l = new Line(l.no(), c + l.text().substring(close + 1));
            }
            switch (c) {
                case '$' -> {
                    List<String> tokens = builtinTokens(l.text().substring(1));
                    cmd.builtin = tokens.isEmpty() ? "" : tokens.get(0);
                    cmd.text = l.text().substring(1).strip();
                    for (String t : tokens.subList(Math.min(1, tokens.size()), tokens.size())) {
                        int eq = t.indexOf('=');
                        cmd.args.put(eq < 0 ? t : t.substring(0, eq), eq < 0 ? "" : t.substring(eq + 1));
                    }
                    Line in;
                    while ((in = slurpOne(r)) != null) {
                        cmd.input.add(in.text());
                    }
                }
                case '>' -> {
                    cmd.text = l.text().substring(1).strip();
                    Line l2 = slurpOne(r);
                    Line l3 = l2 == null ? null : slurpOne(r);
                    if (l2 != null && l3 != null) {
                        if (l3.text().length() >= 3 && l3.text().chars().allMatch(ch -> ch == '-')) {
                            cmd.columns = splitLine(l2.text());
                        } else {
                            cmd.rows.add(splitLine(l2.text()));
                            cmd.rows.add(splitLine(l3.text()));
                        }
                    } else if (l2 != null) {
                        if (l2.text().matches("^(\\S+) values hashing to (\\S+)$")) {
                            cmd.hashed = l2.text();
                        } else {
                            cmd.rows.add(splitLine(l2.text()));
                        }
                    }
                    Line row;
                    while (cmd.hashed == null && (row = slurpOne(r)) != null) {
                        cmd.rows.add(splitLine(row.text()));
                    }
                }
                case '?' -> {
                    cmd.text = l.text().substring(1).strip();
                    while (slurpOne(r) != null) {
                        // raw EXPLAIN output: not collected
                    }
                }
                default -> { // '!'
                    cmd.text = l.text().substring(1).strip();
                    Line e = slurpOne(r);
                    cmd.error = e == null ? null : e.text();
                    for (String extra : List.of("detail:", "hint:")) {
                        Line p = r.peek();
                        if (p != null && p.text().startsWith(extra)) {
                            r.next();
                        }
                    }
                }
            }
            out.add(cmd);
        }
        return out;
    }

    /** parse_version_constraint: {@code version>=N}, {@code version<N}, {@code A<=version<B} … as [min, max] inclusive. */
    static int[] versionConstraint(String c) {
        int min = 0;
        int max = 9_999_999;
        Matcher both = Pattern.compile("^(\\d+)(<=?)version(<=?)(\\d+)$").matcher(c.replace(" ", ""));
        Matcher one = Pattern.compile("^version(>=|<=|>|<|=)(\\d+)$").matcher(c.replace(" ", ""));
        if (both.find()) {
            min = Integer.parseInt(both.group(1)) + (both.group(2).equals("<") ? 1 : 0);
            max = Integer.parseInt(both.group(4)) - (both.group(3).equals("<") ? 1 : 0);
        } else if (one.find()) {
            int v = Integer.parseInt(one.group(2));
            switch (one.group(1)) {
                case ">=" -> min = v;
                case ">" -> min = v + 1;
                case "<=" -> max = v;
                case "<" -> max = v - 1;
                default -> {
                    min = v;
                    max = v;
                }
            }
        } else {
            throw new IllegalArgumentException("version constraint not understood: " + c);
        }
        return new int[] {min, max};
    }

    /** BuiltinReader: space-separated tokens, double quotes removed outside braces/brackets, nesting kept. */
    static List<String> builtinTokens(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder t = new StringBuilder();
        int depth = 0;
        boolean quoted = false;
        for (char c : s.toCharArray()) {
            if (c == ' ' && depth == 0 && !quoted) {
                if (t.length() > 0) {
                    out.add(t.toString());
                    t.setLength(0);
                }
                continue;
            }
            if ((c == '{' || c == '[') && !quoted) {
                depth++;
            } else if ((c == '}' || c == ']') && !quoted) {
                depth--;
            } else if (c == '"' && depth == 0) {
                quoted = !quoted;
                continue;
            }
            t.append(c);
        }
        if (t.length() > 0) {
            out.add(t.toString());
        }
        return out;
    }

    // ---- the cases ----------------------------------------------------------------------------------

    int extract(StringBuilder j) throws IOException {
        List<String> files = new ArrayList<>();
        for (String dir : DIRS) {
            files.addAll(files(dir));
        }
        List<String> cases = new ArrayList<>();
        List<String> scripts = new ArrayList<>();
        for (String rel : files) {
            String text = Files.readString(src.resolve(rel), StandardCharsets.UTF_8);
            if (!text.contains("FROM POSTGRES CONNECTION")) {
                continue;
            }
            List<Cmd> cmds = parse(text);
            boolean pgSource = false;
            String skipped = null;
            List<String> setup = new ArrayList<>();
            int before = cases.size();
            for (Cmd c : cmds) {
                if (c.sigil == '$') {
                    if (c.builtin.equals("skip-if") && c.input.size() == 1 && c.input.get(0).strip().equalsIgnoreCase("SELECT true")) {
                        skipped = "the file's `$ skip-if SELECT true` at line " + c.line + " skips it in Materialize's CI";
                    } else if (c.builtin.equals("skip-end")) {
                        skipped = null;
                    }
                    setup.add(builtinJson(c));
                    continue;
                }
                if (c.sigil == '?') {
                    continue;
                }
                if (c.sigil == '!') {
                    setup.add(stmtJson(c, "mz-fail"));
                    continue;
                }
                boolean readOnly = READ_ONLY.matcher(c.text).find();
                if (!readOnly) {
                    setup.add(stmtJson(c, "mz"));
                    if (PG_SOURCE.matcher(c.text).find()) {
                        pgSource = true;
                    }
                    continue;
                }
                if (!pgSource || !TARGET.matcher(c.text).find() || c.hashed != null) {
                    continue;
                }
                StringBuilder k = new StringBuilder();
                k.append("    {\"id\": ").append(q(rel.substring(5) + ":" + c.line)).append(", \"path\": ").append(q(rel))
                        .append(", \"commit\": ").append(q(commit(rel))).append(", \"line\": ").append(c.line);
                if (skipped != null) {
                    k.append(", \"skipped_upstream\": ").append(q(skipped));
                }
                if (c.minVersion != null) {
                    k.append(", \"version\": {\"min\": ").append(c.minVersion).append(", \"max\": ").append(c.maxVersion).append('}');
                }
                k.append(",\n     \"setup\": {\"script\": ").append(q(rel)).append(", \"commands\": ").append(setup.size()).append('}');
                k.append(",\n     \"query\": ").append(q(c.text));
                if (c.columns != null) {
                    k.append(",\n     \"columns\": ").append(list(c.columns));
                }
                List<String> rows = new ArrayList<>();
                c.rows.forEach(r -> rows.add(list(r)));
                k.append(",\n     \"expected\": [").append(String.join(", ", rows)).append("]}");
                cases.add(k.toString());
            }
            if (cases.size() > before) {
                int used = 0;
                for (int i = before; i < cases.size(); i++) {
                    Matcher m = Pattern.compile("\"commands\": (\\d+)").matcher(cases.get(i));
                    m.find();
                    used = Math.max(used, Integer.parseInt(m.group(1)));
                }
                scripts.add("    {\"path\": " + q(rel) + ", \"commit\": " + q(commit(rel)) + ", \"setup\": [\n      "
                        + String.join(",\n      ", setup.subList(0, used)) + "\n    ]}");
            }
        }
        j.append("{\n  \"materialize\": {\"repo\": \"MaterializeInc/materialize\", \"commit\": ").append(q(head()))
                .append(", \"version\": ").append(q(version())).append("},\n");
        j.append("  \"how\": ").append(q("bench/materialize-facts/ExtractMzExpectations.java: each > query of test/pg-cdc/*.td and "
                + "test/testdrive/*.td reading a catalog relation of Postgres sources, after a CREATE SOURCE … FROM POSTGRES in its "
                + "file; a case's setup is the first `setup.commands` commands of its file's script (every state-changing command before "
                + "it in the file, in order). Expected rows as testdrive splits them; variables (${…}) as written.")).append(",\n");
        j.append("  \"environment\": [\n").append(String.join(",\n", environment())).append("\n  ],\n");
        j.append("  \"cases\": [\n").append(String.join(",\n", cases)).append("\n  ],\n");
        j.append("  \"scripts\": [\n").append(String.join(",\n", scripts)).append("\n  ],\n");
        List<String> fl = new ArrayList<>();
        commits.forEach((p, c) -> fl.add("    {\"path\": " + q(p) + ", \"commit\": " + q(c) + "}"));
        j.append("  \"files\": [\n").append(String.join(",\n", fl)).append("\n  ]\n}\n");
        return cases.size();
    }

    String stmtJson(Cmd c, String kind) {
        StringBuilder b = new StringBuilder("{\"line\": " + c.line + ", \"kind\": " + q(kind));
        if (c.minVersion != null) {
            b.append(", \"version\": {\"min\": ").append(c.minVersion).append(", \"max\": ").append(c.maxVersion).append('}');
        }
        b.append(", \"sql\": ").append(q(c.text));
        if (c.error != null) {
            b.append(", \"error\": ").append(q(c.error));
        }
        return b.append('}').toString();
    }

    String builtinJson(Cmd c) {
        StringBuilder b = new StringBuilder("{\"line\": " + c.line + ", \"kind\": \"builtin\", \"name\": " + q(c.builtin));
        if (c.minVersion != null) {
            b.append(", \"version\": {\"min\": ").append(c.minVersion).append(", \"max\": ").append(c.maxVersion).append('}');
        }
        List<String> a = new ArrayList<>();
        c.args.forEach((k, v) -> a.add(q(k) + ": " + q(v)));
        b.append(", \"args\": {").append(String.join(", ", a)).append('}');
        if (!c.input.isEmpty()) {
            b.append(", \"input\": ").append(list(c.input));
        }
        return b.append('}').toString();
    }

    /** The system parameter defaults testdrive's Materialize runs with, and the pg-cdc services' settings. */
    List<String> environment() throws IOException {
        List<String> out = new ArrayList<>();
        String rel = "misc/python/materialize/mzcompose/__init__.py";
        Path p = src.resolve(rel);
        if (Files.isRegularFile(p)) {
            String text = Files.readString(p, StandardCharsets.UTF_8);
            for (String flag : List.of("enable_create_table_from_source", "force_source_table_syntax")) {
                Matcher m = Pattern.compile("\"" + flag + "\":\\s*\"(\\w+)\"").matcher(text);
                if (m.find()) {
                    out.add("    {\"name\": " + q(flag) + ", \"value\": " + q(m.group(1)) + ", \"what\": \"system parameter default of "
                            + "the mzcompose Materialized service\", \"path\": " + q(rel) + ", \"commit\": " + q(commit(rel)) + "}");
                }
            }
        }
        for (String dir : List.of("test/pg-cdc", "test/pg-cdc-old-syntax")) {
        rel = dir + "/mzcompose.py";
        p = src.resolve(rel);
        if (Files.isRegularFile(p)) {
            Matcher m = Pattern.compile("default_replication_factor=(\\d+)").matcher(Files.readString(p, StandardCharsets.UTF_8));
            if (m.find()) {
                out.add("    {\"name\": \"default_replication_factor\", \"value\": " + q(m.group(1)) + ", \"applies_to\": "
                        + q(dir + "/") + ", \"what\": \"the workflow's Materialized service\", \"path\": " + q(rel) + ", \"commit\": "
                        + q(commit(rel)) + "}");
            }
            Matcher v = Pattern.compile("--var=default-replica-size=([^\"]+)\"").matcher(Files.readString(p, StandardCharsets.UTF_8));
            if (v.find()) {
                out.add("    {\"name\": \"arg.default-replica-size\", \"value\": " + q(v.group(1)) + ", \"applies_to\": "
                        + q(dir + "/") + ", \"what\": \"testdrive --var of the workflow\", \"path\": " + q(rel) + ", \"commit\": "
                        + q(commit(rel)) + "}");
            }
        }
        }
        return out;
    }

    List<String> files(String dir) throws IOException {
        Path d = src.resolve(dir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".td")).sorted()
                    .map(f -> src.relativize(f).toString().replace('\\', '/')).toList();
        }
    }

    String commit(String rel) {
        return commits.computeIfAbsent(rel, r -> git("log", "-1", "--format=%H", "--", r));
    }

    String head() {
        return git("rev-parse", "HEAD");
    }

    String version() throws IOException {
        Path cargo = src.resolve("src/environmentd/Cargo.toml");
        if (Files.isRegularFile(cargo)) {
            Matcher m = Pattern.compile("(?m)^version = \"([^\"]+)\"").matcher(Files.readString(cargo, StandardCharsets.UTF_8));
            if (m.find()) {
                return m.group(1);
            }
        }
        return "unknown";
    }

    String git(String... args) {
        try {
            List<String> cmd = new ArrayList<>(List.of("git", "-C", src.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String h = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 && h.matches("[0-9a-f]{40}") ? h : "unknown";
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }

    static String list(List<String> values) {
        List<String> q = new ArrayList<>();
        values.forEach(v -> q.add(q(v)));
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
                case '\r' -> b.append("\\r");
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
