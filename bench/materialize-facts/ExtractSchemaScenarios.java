///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Extracts the upstream-schema-change scenarios of Materialize's PostgreSQL-source testdrive files into
 * src/test/resources/materialize/schema-scenarios.json (issue #19): one case per upstream change made after the
 * source exists, with the upstream table's DDL before the change, the Materialize statement that ingests it, the
 * change, and the outcome the test expects next (the table keeps answering = "safe"; an error = "breaks", with its
 * text), each with file, line and commit. Only statements and expectations of the tests are written (facts), never
 * Materialize's code.
 *
 * <pre>
 *   java bench/materialize-facts/ExtractSchemaScenarios.java --src /work/mz --repo transparencies/materialize \
 *        --out src/test/resources/materialize/schema-scenarios.json
 * </pre>
 *
 * Testdrive as read here: {@code $ postgres-execute connection=…@postgres} runs each following line upstream until the
 * next command; {@code > SQL} (continuation lines indented) expects the rows that follow; {@code ! SQL} expects the
 * error of the {@code contains:}/{@code regex:}/{@code exact:} line; {@code #} lines are comments; {@code $ skip-if}
 * then {@code SELECT true} skips up to {@code $ skip-end} (or the end of the file): cases there are written with
 * {@code "skipped": true} (Materialize's CI does not check them).
 *
 * The verdict of a case is the first later expectation that reads a Materialize table ingesting the changed upstream
 * table ({@code FROM t}/{@code ON t}): {@code >} = safe, {@code !} = breaks. A change to a table no Materialize table
 * ingests (a new table in a FOR ALL TABLES publication, or a table not ingested) is a case when the next command
 * queries an ingested table: its subject is "other tables of the source". Where the test never reads the changed
 * table again, the case is classified by reading ({@code "classified_by": "reading"} and a reason). No dependencies.
 */
public class ExtractSchemaScenarios {
    /** The files read; a ":FROM-TO" tail keeps only the changes on those lines (the file is still read from the top). */
    static final List<String> FILES = List.of(
            "test/pg-cdc/alter-table-after-source-1.td", "test/pg-cdc/alter-table-after-source-2.td",
            "test/pg-cdc/alter-table-irrelevant.td", "test/pg-cdc/truncate-table.td", "test/pg-cdc/exclude-columns.td",
            "test/pg-cdc/exclude-columns-key.td",
            "test/pg-cdc-old-syntax/alter-table-after-source.td", "test/pg-cdc-old-syntax/alter-table-irrelevant.td",
            "test/pg-cdc-old-syntax/truncate-table.td", "test/pg-cdc-old-syntax/exclude-columns.td",
            "test/pg-cdc-old-syntax/empty-exclude-columns.td",
            // the one test of a TEXT COLUMNS column changing its type upstream (the rest of pg-cdc.td is not about schema changes)
            "test/pg-cdc/pg-cdc.td:740-760");

    record Line(int no, String text) {}

    /** A testdrive command: kind is "pg" (upstream postgres-execute), "mz-pg" (postgres-execute on Materialize), ">", "!", "?", "$". */
    static final class Cmd {
        String kind;
        int line;
        String sql = "";
        List<Line> body = new ArrayList<>();
        String errKind;
        String errText;
        boolean skipped;
    }

    static final class Ingest {
        String mzTable;
        String upstream;
        String source;
        String syntax;
        String statement;
        int line;
        boolean textColumns;
        boolean excludeColumns;
    }

    final Path src;
    String repo = "MaterializeInc/materialize";
    final Map<String, String> commits = new TreeMap<>();

    ExtractSchemaScenarios(Path src) {
        this.src = src;
    }

    public static void main(String[] args) throws IOException {
        Path src = null;
        Path out = null;
        String repo = "MaterializeInc/materialize";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--src" -> src = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--repo" -> repo = args[++i];
                default -> {
                    System.err.println("usage: ExtractSchemaScenarios --src CHECKOUT --out schema-scenarios.json [--repo OWNER/NAME]");
                    System.exit(2);
                }
            }
        }
        if (src == null || out == null) {
            System.err.println("usage: ExtractSchemaScenarios --src CHECKOUT --out schema-scenarios.json [--repo OWNER/NAME]");
            System.exit(2);
        }
        ExtractSchemaScenarios x = new ExtractSchemaScenarios(src);
        x.repo = repo;
        List<String> cases = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        for (String spec : FILES) {
            for (String c : x.cases(spec)) {
                cases.add(c);
                Matcher v = Pattern.compile("\"verdict\": \"(\\w+)\"").matcher(c);
                if (v.find()) {
                    counts.merge(v.group(1), 1, Integer::sum);
                }
            }
        }
        String head = x.git("rev-parse", "HEAD");
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"about\": ").append(q("Upstream schema changes of Materialize's PostgreSQL-source tests and the outcome each test expects: "
                + "safe = the Materialize table keeps answering; breaks = it errors (the text is what the test matches). Extracted by "
                + "bench/materialize-facts/ExtractSchemaScenarios.java; only the tests' statements and expectations are kept.")).append(",\n");
        j.append("  \"materialize\": {\"repo\": ").append(q(repo)).append(head == null ? "" : ", \"commit\": " + q(head)).append("},\n");
        j.append("  \"counts\": {");
        List<String> cs = new ArrayList<>();
        counts.forEach((k, v) -> cs.add(q(k) + ": " + v));
        j.append(String.join(", ", cs)).append("},\n");
        j.append("  \"cases\": [\n").append(String.join(",\n", cases)).append("\n  ]\n}\n");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, j.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + out + ": " + cases.size() + " cases " + counts);
    }

    // ---- parsing testdrive ---------------------------------------------------------------------------------

    static final Pattern ERR = Pattern.compile("^(contains|regex|exact):(.*)$");

    static List<Cmd> commands(String text) {
        String[] lines = text.split("\n", -1);
        List<Cmd> out = new ArrayList<>();
        boolean skipping = false;
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (l.startsWith("#") || l.isBlank()) {
                continue;
            }
            Cmd c = new Cmd();
            c.line = i + 1;
            if (l.startsWith("$ postgres-execute")) {
                c.kind = l.contains("@postgres") && !l.contains("materialize") ? "pg" : "mz-pg";
                int k = i + 1;
                while (k < lines.length && !isCommand(lines[k])) {
                    String b = lines[k].strip();
                    if (!b.isEmpty() && !b.startsWith("#")) {
                        c.body.add(new Line(k + 1, b));
                    }
                    k++;
                }
                i = k - 1;
            } else if (l.startsWith("$ ")) {
                c.kind = "$";
                c.sql = l.substring(2).strip();
                int k = i + 1;
                while (k < lines.length && !isCommand(lines[k]) && !lines[k].isBlank()) {
                    c.body.add(new Line(k + 1, lines[k].strip()));
                    k++;
                }
                i = k - 1;
                if (c.sql.equals("skip-if") && !c.body.isEmpty() && c.body.get(0).text().matches("(?i)SELECT true;?")) {
                    skipping = true;
                } else if (c.sql.equals("skip-end")) {
                    skipping = false;
                }
            } else if (l.startsWith(">") || l.startsWith("!") || l.startsWith("?")) {
                c.kind = l.substring(0, 1);
                StringBuilder sql = new StringBuilder(l.replaceFirst("^[>!?](\\[[^\\]]*\\])?\\s*", ""));
                int k = i + 1;
                while (k < lines.length && !lines[k].isEmpty() && Character.isWhitespace(lines[k].charAt(0)) && !lines[k].isBlank()) {
                    sql.append(' ').append(lines[k].strip());
                    k++;
                }
                c.sql = sql.toString().replaceAll("\\s+", " ").strip();
                while (k < lines.length && !isCommand(lines[k]) && !lines[k].isBlank()) {
                    if (!lines[k].startsWith("#")) {
                        Matcher e = ERR.matcher(lines[k]);
                        if (c.kind.equals("!") && c.errKind == null && e.matches()) {
                            c.errKind = e.group(1);
                            c.errText = e.group(2).strip();
                        } else {
                            c.body.add(new Line(k + 1, lines[k]));
                        }
                    }
                    k++;
                }
                i = k - 1;
            } else {
                continue;
            }
            c.skipped = skipping;
            out.add(c);
        }
        return out;
    }

    static boolean isCommand(String l) {
        return l.startsWith("$ ") || l.startsWith(">") || l.startsWith("! ") || l.startsWith("? ");
    }

    static String ident(String s) {
        s = s.strip();
        if (s.startsWith("\"") && s.endsWith("\"")) {
            return s.substring(1, s.length() - 1);
        }
        s = s.toLowerCase(Locale.ROOT);
        return s.startsWith("public.") ? s.substring(7) : s;
    }

    static final String NAME = "((?:\"[^\"]+\"|[\\w.]+))";
    static final Pattern ALTER = Pattern.compile("(?i)^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?" + NAME);
    static final Pattern TRUNCATE = Pattern.compile("(?i)^TRUNCATE (?:TABLE )?(?:ONLY )?" + NAME);
    static final Pattern DROP = Pattern.compile("(?i)^DROP TABLE (?:IF EXISTS )?" + NAME);
    static final Pattern CREATE = Pattern.compile("(?i)^CREATE TABLE (?:IF NOT EXISTS )?" + NAME);
    static final Pattern FROM_SOURCE = Pattern.compile("(?i)^CREATE TABLE " + NAME + " FROM SOURCE " + NAME + " \\(REFERENCE (?:= )?" + NAME + "\\)");
    static final Pattern LEGACY = Pattern.compile("(?i)^CREATE SOURCE (?:IF NOT EXISTS )?" + NAME + " .*\\bFOR (ALL TABLES|TABLES \\((.*)\\))\\s*;?$");
    static final Pattern NEW_SOURCE = Pattern.compile("(?i)^CREATE SOURCE (?:IF NOT EXISTS )?" + NAME + " ");
    static final Pattern DROP_SOURCE = Pattern.compile("(?i)^DROP SOURCE (?:IF EXISTS )?" + NAME);
    static final Pattern DROP_MZ_TABLE = Pattern.compile("(?i)^DROP TABLE (?:IF EXISTS )?" + NAME);

    /** The upstream table a statement changes, or null (DML, session and type statements). */
    static String changed(String stmt) {
        for (Pattern p : List.of(ALTER, TRUNCATE, DROP, CREATE)) {
            Matcher m = p.matcher(stmt);
            if (m.find()) {
                return ident(m.group(1));
            }
        }
        return null;
    }

    static boolean dml(String stmt) {
        return stmt.matches("(?is)^(INSERT|UPDATE|DELETE|SELECT|COPY|ANALYZE)\\b.*");
    }

    // ---- cases ---------------------------------------------------------------------------------------------

    List<String> cases(String spec) throws IOException {
        String rel = spec;
        int from = 0;
        int to = Integer.MAX_VALUE;
        Matcher range = Pattern.compile("^(.*):(\\d+)-(\\d+)$").matcher(spec);
        if (range.matches()) {
            rel = range.group(1);
            from = Integer.parseInt(range.group(2));
            to = Integer.parseInt(range.group(3));
        }
        Path p = src.resolve(rel);
        List<String> out = new ArrayList<>();
        if (!Files.isRegularFile(p)) {
            System.err.println("not found: " + rel);
            return out;
        }
        String text = Files.readString(p, StandardCharsets.UTF_8);
        String source = "{\"path\": " + q(rel) + ", \"commit\": " + q(commit(rel)) + "}";
        List<Cmd> cmds = commands(text);
        Map<String, List<Line>> ddl = new LinkedHashMap<>();        // upstream table → its DDL so far
        Map<String, Ingest> ingests = new LinkedHashMap<>();       // Materialize table → what it ingests
        boolean sourceExists = false;
        for (int ci = 0; ci < cmds.size(); ci++) {
            Cmd c = cmds.get(ci);
            if (c.kind.equals(">")) {
                String s = c.sql;
                Matcher m;
                if ((m = FROM_SOURCE.matcher(s)).find()) {
                    Ingest in = new Ingest();
                    in.mzTable = ident(m.group(1));
                    in.source = ident(m.group(2));
                    in.upstream = ident(m.group(3));
                    in.syntax = "CREATE TABLE … FROM SOURCE";
                    in.statement = s;
                    in.line = c.line;
                    in.textColumns = s.matches("(?i).*\\bTEXT COLUMNS\\b.*");
                    in.excludeColumns = s.matches("(?i).*\\bEXCLUDE COLUMNS\\b.*");
                    ingests.put(in.mzTable, in);
                } else if ((m = LEGACY.matcher(s)).find()) {
                    sourceExists = true;
                    List<String[]> tables = new ArrayList<>();
                    if (m.group(2).equalsIgnoreCase("ALL TABLES")) {
                        for (String t : ddl.keySet()) {
                            tables.add(new String[] {t, t});
                        }
                    } else {
                        for (String t : m.group(3).split(",")) {
                            String[] as = t.strip().split("(?i)\\s+AS\\s+");
                            String up = ident(as[0]);
                            String mz = as.length > 1 ? ident(as[1]) : up.substring(up.lastIndexOf('.') + 1);
                            tables.add(new String[] {up, mz});
                        }
                    }
                    for (String[] t : tables) {
                        Ingest in = new Ingest();
                        in.mzTable = t[1];
                        in.upstream = t[0];
                        in.source = ident(m.group(1));
                        in.syntax = "CREATE SOURCE … FOR TABLES (subsources)";
                        in.statement = s;
                        in.line = c.line;
                        in.textColumns = Pattern.compile("(?i)\\bTEXT COLUMNS \\(([^)]*)\\)").matcher(s).results()
                                .anyMatch(r -> r.group(1).toLowerCase(Locale.ROOT).contains(t[0] + "."));
                        in.excludeColumns = Pattern.compile("(?i)\\bEXCLUDE COLUMNS \\(([^)]*)\\)").matcher(s).results()
                                .anyMatch(r -> r.group(1).toLowerCase(Locale.ROOT).contains(t[0] + "."));
                        ingests.put(in.mzTable, in);
                    }
                } else if (NEW_SOURCE.matcher(s).find()) {
                    sourceExists = true;
                } else if ((m = DROP_SOURCE.matcher(s)).find()) {
                    String gone = ident(m.group(1));
                    ingests.values().removeIf(in -> in.source.equals(gone) || in.mzTable.equals(gone));
                } else if ((m = DROP_MZ_TABLE.matcher(s)).find()) {
                    ingests.remove(ident(m.group(1)));
                }
                continue;
            }
            if (!c.kind.equals("pg")) {
                continue;
            }
            // group the block's change statements by upstream table, in order
            Map<String, List<Line>> changes = new LinkedHashMap<>();
            List<Line> context = new ArrayList<>();
            for (Line l : c.body) {
                String t = changed(l.text());
                if (t != null) {
                    changes.computeIfAbsent(t, k -> new ArrayList<>()).add(l);
                } else if (!dml(l.text())) {
                    context.add(l);
                }
            }
            for (Map.Entry<String, List<Line>> e : changes.entrySet()) {
                String table = e.getKey();
                List<Line> change = e.getValue();
                int at = change.get(0).no();
                List<Line> before = new ArrayList<>(ddl.getOrDefault(table, List.of()));
                boolean inRange = at >= from && at <= to;
                List<Ingest> readers = ingests.values().stream().filter(in -> in.upstream.equals(table)).toList();
                if (sourceExists && inRange && readers.isEmpty()) {
                    // a table no Materialize table ingests: a case when the test reads another table right after
                    Cmd next = ci + 1 < cmds.size() ? cmds.get(ci + 1) : null;
                    Ingest other = next == null ? null : reads(next, ingests.values());
                    if (other != null && (next.kind.equals(">") || next.kind.equals("!"))) {
                        out.add(json(rel, source, table, before, change, context, other, next, c.skipped, true, null, null));
                    }
                } else if (sourceExists && inRange) {
                    for (Ingest in : readers) {
                        Cmd expect = null;
                        for (int k = ci + 1; k < cmds.size(); k++) {
                            Cmd n = cmds.get(k);
                            if (n.kind.equals("pg") && n.body.stream().anyMatch(l -> table.equals(changed(l.text())))) {
                                break;   // changed again before the test looked
                            }
                            if ((n.kind.equals(">") || n.kind.equals("!")) && readsTable(n.sql, in.mzTable)) {
                                expect = n;
                                break;
                            }
                            if (n.kind.equals(">") && (n.sql.matches("(?i)^DROP (SOURCE|TABLE) .*") && n.sql.toLowerCase(Locale.ROOT).contains(in.mzTable))) {
                                break;
                            }
                        }
                        if (expect != null) {
                            out.add(json(rel, source, table, before, change, context, in, expect, c.skipped, false, null, null));
                        } else {
                            // the test never reads the changed table again: what it checks is the next query, on another table
                            Cmd next = ci + 1 < cmds.size() ? cmds.get(ci + 1) : null;
                            Ingest other = next == null ? null : reads(next, ingests.values());
                            if (other != null) {
                                out.add(json(rel, source, table, before, change, context, in, next, c.skipped, true, other,
                                        "the test never reads " + in.mzTable + " again after this change; it checks that " + other.mzTable
                                                + " (another table of the same source) keeps answering. The verdict is for the other tables of the"
                                                + " source; the changed table's own outcome is not tested here"));
                            } else {
                                System.err.println("no expectation for the change of " + table + " at " + rel + ":" + at);
                            }
                        }
                    }
                }
                List<Line> now = ddl.computeIfAbsent(table, k -> new ArrayList<>());
                if (change.stream().anyMatch(l -> DROP.matcher(l.text()).find())) {
                    ddl.remove(table);
                } else {
                    now.addAll(change);
                }
            }
        }
        return out;
    }

    /** The ingested table a query reads, or null. */
    static Ingest reads(Cmd c, Iterable<Ingest> ingests) {
        if (!(c.kind.equals(">") || c.kind.equals("!"))) {
            return null;
        }
        for (Ingest in : ingests) {
            if (readsTable(c.sql, in.mzTable)) {
                return in;
            }
        }
        return null;
    }

    static boolean readsTable(String sql, String mzTable) {
        return Pattern.compile("(?i)\\b(FROM|ON)\\s+\"?" + Pattern.quote(mzTable) + "\"?(?![\\w.])").matcher(sql).find()
                && !sql.matches("(?i)^(CREATE|DROP|ALTER)\\b.*");
    }

    String json(String rel, String source, String table, List<Line> before, List<Line> change, List<Line> context, Ingest in,
            Cmd expect, boolean skipped, boolean otherTables, Ingest other, String reason) {
        StringBuilder j = new StringBuilder("    {");
        j.append("\"file\": ").append(q(rel)).append(", \"line\": ").append(change.get(0).no()).append(", \"source\": ").append(source);
        if (skipped) {
            j.append(", \"skipped\": true");
        }
        j.append(",\n     \"upstream_table\": ").append(q(table));
        j.append(",\n     \"upstream_before\": ").append(lines(before));
        j.append(",\n     \"change\": ").append(lines(change));
        if (!context.isEmpty()) {
            j.append(",\n     \"change_context\": ").append(lines(context));
        }
        boolean notIngested = otherTables && other == null;
        j.append(",\n     \"ingested\": ").append(!notIngested);
        if (!notIngested) {
            j.append(",\n     \"materialize_table\": ").append(q(in.mzTable)).append(", \"syntax\": ").append(q(in.syntax))
                    .append(", \"text_columns\": ").append(in.textColumns).append(", \"exclude_columns\": ").append(in.excludeColumns);
            j.append(",\n     \"ingest\": {\"line\": ").append(in.line).append(", \"sql\": ").append(q(in.statement)).append("}");
        }
        Ingest subjectIn = other != null ? other : in;
        j.append(",\n     \"verdict_for\": ").append(q(otherTables ? "other_tables" : "changed_table"));
        j.append(", \"subject\": ").append(q(otherTables ? "other tables of the source (" + subjectIn.mzTable + ")" : in.mzTable));
        j.append(",\n     \"expected\": {\"line\": ").append(expect.line).append(", \"sql\": ").append(q(expect.sql));
        String verdict;
        if (expect.kind.equals("!")) {
            verdict = "breaks";
            j.append(", \"error\": ").append(q(expect.errText == null ? "" : expect.errText)).append(", \"match\": ").append(q(expect.errKind == null ? "any" : expect.errKind));
        } else {
            verdict = "safe";
            List<String> rows = new ArrayList<>();
            expect.body.forEach(l -> rows.add(q(l.text())));
            j.append(", \"rows\": [").append(String.join(", ", rows)).append("]");
        }
        j.append("}");
        j.append(",\n     \"verdict\": ").append(q(verdict));
        j.append(", \"classified_by\": ").append(q(reason == null ? "mechanical" : "reading"));
        if (reason != null) {
            j.append(", \"reason\": ").append(q(reason));
        }
        return j.append("}").toString();
    }

    static String lines(List<Line> ls) {
        List<String> out = new ArrayList<>();
        ls.forEach(l -> out.add("{\"line\": " + l.no() + ", \"sql\": " + q(l.text()) + "}"));
        return "[" + String.join(", ", out) + "]";
    }

    // ---- plumbing ------------------------------------------------------------------------------------------

    String commit(String rel) {
        return commits.computeIfAbsent(rel, r -> {
            String h = git("log", "-1", "--format=%H", "--", r);
            return h != null && h.matches("[0-9a-f]{40}") ? h : "unknown";
        });
    }

    String git(String... args) {
        try {
            List<String> cmd = new ArrayList<>(List.of("git", "-C", src.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String h = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? h : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
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
