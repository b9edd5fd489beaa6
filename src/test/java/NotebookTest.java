import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The notebooks are transcripts (trycmd's Markdown: ```console blocks with "$ command", the output,
 * "? exit code"), made by the commands' own --record. This test runs every command of every notebook
 * against a fresh copy of the lab database, in order, and compares the recorded transcript with the
 * block after normalising what changes between runs (ports, paths, timings, LSNs).
 * Regenerate on purpose: mvn test -Dtest=NotebookTest -Dnotebooks.update=true
 */
class NotebookTest {
    static final Path DIR = Path.of(System.getProperty("repo.root", ".")).resolve("notebooks");
    static final Pattern BLOCK = Pattern.compile("```console\\n\\$ (.*?)\\n(.*?)```\\n", Pattern.DOTALL);

    @TestFactory
    Stream<DynamicTest> notebooks() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            // -Dnotebooks.only=NAME runs (or, with -Dnotebooks.update=true, rewrites) only the notebooks whose name contains it
            String only = System.getProperty("notebooks.only", "");
            // workshop.md is run in order, in real shells, as a student runs it: WorkshopTest
            files = s.filter(p -> p.toString().endsWith(".md") && p.getFileName().toString().contains(only)
                    && !p.getFileName().toString().equals("workshop.md")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no notebooks in " + DIR);
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> check(f)));
    }

    static void check(Path file) throws Exception {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Path home = Files.createTempDirectory("neonmz-nb-home");
        Map<String, String> env = new HashMap<>();
        env.put("HOME", home.toString());
        env.put("NO_COLOR", "1");
        Lab.Server labServer = null;
        Path labDir = null;
        if (file.getFileName().toString().contains("lab")) {
            labDir = Files.createTempDirectory(Lab.Server.isRoot() ? Path.of("/var/tmp") : Path.of("target"), "neonmz-nb-lab-");
            if (Lab.Server.isRoot()) {
                Files.setPosixFilePermissions(labDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            env.put("NEONMZ_LAB_DIR", labDir.toString());
            env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
            labServer = new Lab.Server(labDir);
        }
        String db = null;
        if (labDir == null) {
            db = TestPg.newDatabase();
            env.putAll(TestPg.env(db));
            env.put("HOME", home.toString());
        }
        FakeNeonApi neonApi = null;
        if (file.getFileName().toString().contains("-api-")) {
            // the Neon API notebooks are recorded against the local stand-in for Neon's API (see FakeNeonApi)
            neonApi = new FakeNeonApi();
            env.putAll(neonApi.env());
        } else if (file.getFileName().toString().contains("evolve")) {
            // evolve --on-branch: a project whose default branch is the notebook's database (its branches real copies)
            neonApi = new FakeNeonApi();
            neonApi.back(neonApi.defaultBranch(FakeNeonApi.PROJECT_ID), "127.0.0.1:" + TestPg.server().port(), List.of(db),
                    "neondb_owner", TestPg.server().readSecret("owner.password"));
            env.putAll(neonApi.env());
        } else if (file.getFileName().toString().contains("fleet")) {
            // an organization of three projects, the first one's branches backed by the notebook's database
            neonApi = FleetTest.notebookFleet(db);
            env.putAll(neonApi.env());
            env.remove("NEON_PROJECT_ID");
        }
        if (db != null && text.contains("$LAB_SUPERUSER_URL")) {
            // the lab's superuser, as a reader of the notebook would use it: its URL, its password in the lab's file
            env.put("LAB_SUPERUSER_URL", env.get("DATABASE_URL").replace("://neondb_owner@", "://postgres@"));
            Path pw = home.resolve(".neonmz/lab/superuser.password");
            Files.createDirectories(pw.getParent());
            Files.writeString(pw, TestPg.server().superConn(db).password(), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        Normaliser norm = new Normaliser(env, home, labDir);
        StringBuilder updated = new StringBuilder();
        Matcher m = BLOCK.matcher(text);
        int last = 0;
        List<String> diffs = new ArrayList<>();
        try {
            while (m.find()) {
                updated.append(text, last, m.start());
                String command = m.group(1);
                String expected = m.group(2);
                String actual = norm.apply(run(command, env, home));
                String block = "```console\n$ " + command + "\n" + actual + "```\n";
                updated.append(block);
                // runs of spaces compared as one: a table's column is as wide as a database name, which varies
                if (!norm.apply(expected).replaceAll(" {2,}", " ").equals(actual.replaceAll(" {2,}", " "))) {
                    diffs.add("$ " + command + "\n--- expected\n" + expected + "--- actual\n" + actual);
                }
                last = m.end();
            }
            updated.append(text.substring(last));
        } finally {
            if (neonApi != null) {
                neonApi.close();
            }
            if (labServer != null) {
                labServer.stopQuietly();
                Lab.Server.deleteTree(labDir);
            }
        }
        if (Boolean.getBoolean("notebooks.update")) {
            Files.writeString(file, updated.toString(), StandardCharsets.UTF_8);
            return;
        }
        assertEquals("", String.join("\n", diffs),
                file + " differs from what its commands print now; regenerate with "
                        + "mvn test -Dtest=NotebookTest -Dnotebooks.update=true and review the diff");
    }

    /**
     * Runs "./jbang alias args…" in-process with --record, returning the transcript body and "? code"; "cd DIR &&
     * ./jbang alias args…" through the real launcher in DIR (a copy made by adapt); any other command with sh
     * in the notebook's home (e.g. an edit of a copied script).
     */
    static String run(String command, Map<String, String> env, Path home) throws IOException {
        List<String> words = ShellWords.split(command, home.toString(), env);
        if (words.size() > 4 && words.get(0).equals("cd") && words.get(2).equals("&&") && words.get(3).equals("./jbang")) {
            Path dir = Path.of(words.get(1));
            Map<String, String> e = new HashMap<>(env);
            e.put("HOME", System.getProperty("user.home"));   // JBang's and Maven's caches, not the notebook's home
            LauncherRun.Result r = LauncherRun.run(dir.resolve("jbang"), dir, e, words.subList(4, words.size()).toArray(String[]::new));
            String err = r.errWithoutLauncher();
            return r.out() + (err.isEmpty() ? "" : err + "\n") + "? " + r.exit() + "\n";
        }
        if (words.isEmpty() || !words.get(0).equals("./jbang")) {
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).directory(home.toFile()).redirectErrorStream(true);
            pb.environment().put("HOME", home.toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            try {
                return out + "? " + p.waitFor() + "\n";
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IOException(ex);
            }
        }
        if (words.size() < 2) {
            throw new IllegalArgumentException("notebook commands start with ./jbang: " + command);
        }
        Object cmd = Commands.of(words.get(1));
        List<String> args = new ArrayList<>(words.subList(2, words.size()));
        boolean records = !(args.contains("url") || args.contains("env") || args.contains("--help"));
        Path rec = Files.createTempFile("neonmz-rec", ".md");
        Files.delete(rec);
        if (records) {
            args.add("--record");
            args.add(rec.toString());
        }
        TestPg.Run r = TestPg.run(cmd, env, args.toArray(String[]::new));
        if (!records) {
            return r.out() + r.err() + "? " + r.exit() + "\n";
        }
        String t = Files.readString(rec, StandardCharsets.UTF_8);
        Files.delete(rec);
        // drop the ```console and "$ command" lines and the closing fence the recorder wrote
        int body = t.indexOf('\n', t.indexOf('\n') + 1) + 1;
        String rest = t.substring(body);
        return rest.substring(0, rest.lastIndexOf("```"));
    }

    /** What differs between runs, replaced by stable text. */
    record Normaliser(Map<String, String> env, Path home, Path labDir) {
        String apply(String s) {
            String out = s;
            if (labDir != null) {
                out = out.replace(labDir.toString(), "~/.neonmz/lab");
            }
            out = out.replace(home.toString(), "~");
            out = out.replaceAll("/var/tmp/neonmz-test-[A-Za-z0-9]+", "~/.neonmz/lab");
            out = out.replaceAll("target/neonmz-test-[A-Za-z0-9]+", "~/.neonmz/lab");
            // the test servers' ephemeral ports, not Materialize's 6875, PostgreSQL's 5432 or a port the notebook names
            out = out.replaceAll("127\\.0\\.0\\.1:(?!6875\\b|5432\\b)\\d{4,5}\\b", "127.0.0.1:55432");
            out = out.replaceAll("localhost:(?!6875\\b|5432\\b)\\d{4,5}\\b", "localhost:55432");
            out = out.replaceAll("\"port\":(?!5432\\b)\\d+", "\"port\":55432");
            out = out.replaceAll("\\bPORT (?!5432\\b)\\d+", "PORT 55432");
            out = out.replaceAll("host\\.docker\\.internal:(?!6875\\b|5432\\b)\\d{4,5}\\b", "host.docker.internal:55432");
            out = out.replaceAll("\\b\\d+ ms\\b", "[MS]");
            out = out.replaceAll("\"elapsed_ms\":\\d+", "\"elapsed_ms\":[MS]");
            out = out.replaceAll("\"latency_ms\":\\d+", "\"latency_ms\":[MS]");
            // stream-check's and tap's temporary slots: neonmz_check_<pid>_<random>, neonmz_tap_<pid>_<random>
            out = out.replaceAll("\\bneonmz_(check|tap)_\\d+_[a-z0-9]{6}\\b", "neonmz_$1_[PID]_[RAND]");
            out = out.replaceAll("\"(decode_ms|run_ms)\":\\d+", "\"$1\":[MS]");
            out = out.replaceAll("\"xid\":\\d+", "\"xid\":[XID]");
            // (not the end of an IP address in a CIDR block: 203.0.113.0/24, 2001:db8::1/128)
            out = out.replaceAll("(?<![.:])\\b[0-9A-F]{1,8}/[0-9A-F]{1,8}\\b", "[LSN]");
            // tap's lines: LSN, then the transaction id
            out = out.replaceAll("(?m)^\\[LSN\\] +\\d+ +(?=[A-Z])", "[LSN] [XID] ");
            // evolve --on-branch's branch: made at a time, with a random suffix
            out = out.replaceAll("\\bevolve-check-\\d{8}-\\d{6}-[0-9a-f]{4}\\b", "evolve-check-[TS]");
            out = out.replaceAll("\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?([+-]\\d\\d(:\\d\\d)?|Z)?", "[TS]");
            // the lab copy's database (t<N>_<M>, its length by the test counter) as neondb, a table's column kept aligned
            out = java.util.regex.Pattern.compile("\\bt\\d+_\\d+\\b( {2,})?").matcher(out).replaceAll(mt -> mt.group(1) == null
                    ? "neondb" : "neondb" + " ".repeat(Math.max(2, mt.group().length() - "neondb".length())));
            out = out.replaceAll("\\d+ bytes", "[SIZE]");
            // a table's oid in Materialize's "source table t with oid N has been altered" (the server allocates it)
            out = out.replaceAll("with oid \\d+", "with oid [OID]");
            out = out.replaceAll("\\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\b", "[UUID]");
            return out;
        }
    }

    /** POSIX shell word splitting for the notebook commands: quotes, backslashes, a leading ~/, $NAME of the env. */
    static final class ShellWords {
        static List<String> split(String s, String home) {
            return split(s, home, Map.of());
        }

        static List<String> split(String s, String home, Map<String, String> env) {
            List<String> words = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            boolean inWord = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\'') {
                    int end = s.indexOf('\'', i + 1);
                    cur.append(s, i + 1, end);
                    i = end;
                    inWord = true;
                } else if (c == '"') {
                    i++;
                    while (s.charAt(i) != '"') {
                        if (s.charAt(i) == '\\' && "\"\\$`".indexOf(s.charAt(i + 1)) >= 0) {
                            i++;
                        } else if (s.charAt(i) == '$') {
                            i = variable(s, i, env, cur);
                            continue;
                        }
                        cur.append(s.charAt(i++));
                    }
                    inWord = true;
                } else if (c == '\\') {
                    cur.append(s.charAt(++i));
                    inWord = true;
                } else if (Character.isWhitespace(c)) {
                    if (inWord) {
                        words.add(cur.toString());
                        cur.setLength(0);
                        inWord = false;
                    }
                } else if (c == '~' && !inWord && i + 1 < s.length() && s.charAt(i + 1) == '/') {
                    cur.append(home);
                    inWord = true;
                } else if (c == '$') {
                    i = variable(s, i, env, cur) - 1;
                    inWord = true;
                } else {
                    cur.append(c);
                    inWord = true;
                }
            }
            if (inWord) {
                words.add(cur.toString());
            }
            return words;
        }

        /** $NAME or ${NAME} at i, replaced by its value in the notebook's environment; the index after it. */
        private static int variable(String s, int i, Map<String, String> env, StringBuilder cur) {
            Matcher m = Pattern.compile("\\$(?:\\{(\\w+)}|(\\w+))").matcher(s).region(i, s.length());
            if (!m.lookingAt()) {
                cur.append('$');
                return i + 1;
            }
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            cur.append(env.getOrDefault(name, ""));
            return m.end();
        }
    }
}
