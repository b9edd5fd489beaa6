import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * notebooks/workshop.md as a student lives it (issue #21): in order, in real shells, through the real
 * {@code ./jbang} launcher, on the real lab, after the "before the day" run. Every block runs: ```bash blocks
 * must exit 0, ```console blocks must print what they show (normalised as NotebookTest does), the ```jshell
 * session is typed into {@code ./jbang shell}. A block after {@code <!-- terminal 2 -->} runs in a second
 * shell, started with only the machine's environment (nothing the first shell was told to set); its last
 * command runs in the background until it has printed its first line (a tap's slot is ready), the next
 * block runs in the first shell, then the second shell's command is awaited and compared.
 *
 * <p>The machine's environment: HOME a fresh folder, PATH and JAVA_HOME as given, JBang's and the launcher's
 * caches and Maven's repository shared with the other tests (so nothing is fetched twice), and the lab's
 * folder and port chosen by the test (the lab would otherwise use ~/.neonmz/lab on 55432), and no emulator for
 * the runbook where Docker is (RUNBOOK_EMULATOR=never; the Docker tier runs that path). Nothing else:
 * no DATABASE_URL, PG*, MZ_URL or NO_COLOR. Regenerate the outputs on purpose:
 * {@code mvn test -Dtest=WorkshopTest -Dnotebooks.update=true}.
 */
class WorkshopTest {
    static final Path NOTEBOOK = LauncherRun.ROOT.resolve("notebooks/workshop.md");
    static final Pattern FENCE = Pattern.compile("(?m)^(<!-- terminal 2 -->\\n)?```(bash|console|jshell)\\n(.*?)^```\\n",
            Pattern.DOTALL);

    record Block(boolean second, String kind, String body, int start, int end) {}

    /** One command of a block, and what the notebook shows it printing (console blocks; else null). */
    record Cmd(String command, String expected) {}

    static List<Block> blocks(String text) {
        List<Block> out = new ArrayList<>();
        Matcher m = FENCE.matcher(text);
        while (m.find()) {
            out.add(new Block(m.group(1) != null, m.group(2), m.group(3), m.start(3), m.end(3)));
        }
        return out;
    }

    static List<Cmd> commands(Block b) {
        List<Cmd> out = new ArrayList<>();
        if (b.kind.equals("bash")) {
            for (String line : b.body.split("\n")) {
                if (!line.isBlank() && !line.strip().startsWith("#")) {
                    out.add(new Cmd(line, null));
                }
            }
            return out;
        }
        StringBuilder expected = null;
        String command = null;
        for (String line : b.body.split("\n", -1)) {
            if (line.startsWith("$ ")) {
                if (command != null) {
                    out.add(new Cmd(command, expected.toString()));
                }
                command = line.substring(2);
                expected = new StringBuilder();
            } else if (command != null) {
                expected.append(line).append('\n');
            }
        }
        if (command != null) {
            out.add(new Cmd(command, expected.substring(0, Math.max(0, expected.length() - 1))));
        }
        return out;
    }

    @Test
    void theWorkshopRunsInOrderAsAStudentRunsIt() throws Exception {
        String text = Files.readString(NOTEBOOK, StandardCharsets.UTF_8);
        List<Block> blocks = blocks(text);
        assertTrue(blocks.size() > 10, "the workshop's blocks: " + blocks.size());
        assertTrue(blocks.get(0).body.contains("./jbang runbook --lab"), "the workshop begins with the run before the day");
        Path home = Files.createTempDirectory("neonmz-ws-home");
        Path labDir = Files.createTempDirectory(Lab.Server.isRoot() ? Path.of("/var/tmp") : LauncherRun.TARGET, "neonmz-ws-lab-");
        if (Lab.Server.isRoot()) {
            Files.setPosixFilePermissions(labDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Map<String, String> machine = machineEnv(home, labDir);
        NotebookTest.Normaliser norm = new NotebookTest.Normaliser(machine, home, labDir);
        List<String> diffs = new ArrayList<>();
        Shell first = new Shell(machine);
        Shell second = null;
        Pending pending = null;
        List<Object[]> renders = new ArrayList<>();   // {start, end, text} of each console block, in run order
        try {
            for (Block b : blocks) {
                if (b.kind.equals("jshell")) {
                    jshell(first, b, diffs);
                    continue;
                }
                if (b.second && second == null) {
                    second = new Shell(machine);
                }
                Shell sh = b.second ? second : first;
                List<Cmd> cmds = commands(b);
                List<String> outs = new ArrayList<>();
                for (int i = 0; i < cmds.size(); i++) {
                    Cmd c = cmds.get(i);
                    if (b.second && i == cmds.size() - 1) {
                        long n = sh.start(c.command, null);
                        sh.awaitFirstLine(180);
                        pending = new Pending(b, cmds, outs, sh, n);
                        break;
                    }
                    String got = sh.run(c.command, null, 900);
                    outs.add(got);
                    check(c, got, norm, diffs);
                }
                if (b.second) {
                    continue;
                }
                if (b.kind.equals("console")) {
                    renders.add(new Object[] {b.start, b.end, render(cmds, outs, norm)});
                }
                if (pending != null) {
                    String got = pending.shell.await(pending.seq, 180);
                    check(pending.cmds.get(pending.cmds.size() - 1), got, norm, diffs);
                    pending.outs.add(got);
                    renders.add(new Object[] {pending.block.start, pending.block.end, render(pending.cmds, pending.outs, norm)});
                    pending = null;
                }
            }
            assertTrue(pending == null, "a second terminal's command was never followed by a block in the first one");
        } finally {
            first.close();
            if (second != null) {
                second.close();
            }
            Lab.Server lab = new Lab.Server(labDir);
            lab.stopQuietly();
            Lab.Server.deleteTree(labDir);
        }
        renders.sort(java.util.Comparator.comparingInt(r -> (Integer) r[0]));
        StringBuilder updated = new StringBuilder();
        int last = 0;
        for (Object[] r : renders) {
            updated.append(text, last, (Integer) r[0]).append((String) r[2]);
            last = (Integer) r[1];
        }
        updated.append(text.substring(last));
        if (Boolean.getBoolean("notebooks.update")) {
            Files.writeString(NOTEBOOK, updated.toString(), StandardCharsets.UTF_8);
            return;
        }
        assertEquals("", String.join("\n", diffs), NOTEBOOK + ": the workshop, run in order, prints something else; "
                + "regenerate with mvn test -Dtest=WorkshopTest -Dnotebooks.update=true and review the diff");
    }

    /** What a student's machine has: no database or Materialize settings, no NO_COLOR; the caches shared. */
    static Map<String, String> machineEnv(Path home, Path labDir) throws IOException {
        Map<String, String> env = new HashMap<>();
        for (String k : List.of("PATH", "JAVA_HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")) {
            if (System.getenv(k) != null) {
                env.put(k, System.getenv(k));
            }
        }
        env.put("HOME", home.toString());
        env.put("TZ", "UTC");
        // the shared caches (not the student's concern): JBang's home and jar cache, Maven's repository
        env.put("NEONMZ_JBANG_FORCE_BUNDLED", "1");
        env.put("NEONMZ_CACHE", LauncherRun.CACHE.toString());
        env.put("JBANG_DIR", LauncherRun.JBANG_DIR.toString());
        env.put("JBANG_REPO", Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        env.put("JBANG_NO_VERSION_CHECK", "true");
        // where Docker is (the CI workflow), runbook --lab would start the emulator: the Docker tier's path
        // (MaterializeIT), not this page's, which shows the Materialize half as a plan
        env.put("RUNBOOK_EMULATOR", "never");
        // the lab's place and port, so that a developer's own lab is untouched
        env.put("NEONMZ_LAB_DIR", labDir.toString());
        env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
        return env;
    }

    /**
     * What a command printed, as the notebook shows it: normalised, without JBang's one-time "[jbang] Building jar
     * for X.java..." (the first run of each script on a machine; the workshop's text says so).
     */
    static String shown(String got, NotebookTest.Normaliser norm) {
        return norm.apply(got.replaceAll("(?m)^\\[jbang\\] .*\n", ""));
    }

    static void check(Cmd c, String got, NotebookTest.Normaliser norm, List<String> diffs) {
        if (c.expected == null) {
            if (!got.endsWith("? 0\n")) {
                diffs.add("$ " + c.command + "\nfailed:\n" + got);
            }
            return;
        }
        String actual = shown(got, norm);
        if (!norm.apply(c.expected).replaceAll(" {2,}", " ").equals(actual.replaceAll(" {2,}", " "))) {
            diffs.add("$ " + c.command + "\n--- expected\n" + c.expected + "--- actual\n" + actual);
        }
    }

    static String render(List<Cmd> cmds, List<String> outputs, NotebookTest.Normaliser norm) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cmds.size(); i++) {
            b.append("$ ").append(cmds.get(i).command).append('\n').append(shown(outputs.get(i), norm));
        }
        return b.toString();
    }

    /** A second terminal's command running in the background, and its block's outputs so far. */
    record Pending(Block block, List<Cmd> cmds, List<String> outs, Shell shell, long seq) {}

    /** The workshop's JShell session, typed into ./jbang shell in the first terminal (as ShellTest reads it). */
    static void jshell(Shell sh, Block b, List<String> diffs) throws Exception {
        ShellTest.Session session = ShellTest.Session.parse(b.body);
        Path input = Files.createTempFile("neonmz-ws-jshell", ".txt");
        Files.writeString(input, session.input(), StandardCharsets.UTF_8);
        String got = sh.run("./jbang shell --quiet", input, 300).replaceAll("(?m)^\\[jbang\\] .*\n", "");
        diffs.addAll(session.differences(got));
    }

    /**
     * A bash that reads commands one at a time, as a terminal does: the shell's state (cd, export, eval) carries
     * from one command to the next; each command's stdin is /dev/null (jshell's is a file), its stderr merged.
     */
    static final class Shell implements AutoCloseable {
        final Process p;
        final OutputStream in;
        final InputStream out;
        final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private int seq;

        Shell(Map<String, String> env) throws IOException {
            ProcessBuilder pb = new ProcessBuilder("bash", "--noprofile", "--norc").directory(LauncherRun.ROOT.toFile())
                    .redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(env);
            p = pb.start();
            in = p.getOutputStream();
            out = p.getInputStream();
        }

        /** Starts a command (its stdin: /dev/null, or {@code stdin}); returns its sequence number, for {@link #await}. */
        long start(String command, Path stdin) throws IOException {
            int n = ++seq;
            String script = "{\n" + command + "\n} < " + (stdin == null ? "/dev/null" : "'" + stdin + "'")
                    + " 2>&1\nprintf '\\n@@neonmz-ws %d %s@@\\n' " + n + " \"$?\"\n";
            in.write(script.getBytes(StandardCharsets.UTF_8));
            in.flush();
            return n;
        }

        String run(String command, Path stdin, int seconds) throws IOException, InterruptedException {
            return await(start(command, stdin), seconds);
        }

        /** What the command printed, then "? exit code", once it ended. */
        String await(long n, int seconds) throws IOException, InterruptedException {
            Pattern done = Pattern.compile("\\n?@@neonmz-ws " + n + " (\\d+)@@\\n");
            readUntil(text -> done.matcher(text).find(), seconds, "command " + n + " did not end");
            String s = buf.toString(StandardCharsets.UTF_8);
            Matcher m = done.matcher(s);
            m.find();
            String printed = s.substring(0, m.start());
            String rest = s.substring(m.end());
            buf.reset();
            buf.write(rest.getBytes(StandardCharsets.UTF_8));
            return printed + (printed.isEmpty() || printed.endsWith("\n") ? "" : "\n") + "? " + m.group(1) + "\n";
        }

        /** Waits until the running command has printed a whole line (a tap: its slot is ready). */
        void awaitFirstLine(int seconds) throws IOException, InterruptedException {
            readUntil(s -> s.indexOf('\n') >= 0, seconds, "the second terminal's command printed no line");
        }

        /** Reads the shell's output into {@link #buf} until {@code done} holds for all of it, or fails. */
        private void readUntil(java.util.function.Predicate<String> done, int seconds, String what)
                throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            byte[] chunk = new byte[8192];
            while (!done.test(buf.toString(StandardCharsets.UTF_8))) {
                if (System.nanoTime() > deadline) {
                    fail(what + " within " + seconds + " s; printed so far:\n" + buf.toString(StandardCharsets.UTF_8));
                }
                if (out.available() > 0) {
                    int r = out.read(chunk);
                    if (r < 0) {
                        fail("the shell ended; printed:\n" + buf.toString(StandardCharsets.UTF_8));
                    }
                    buf.write(chunk, 0, r);
                } else if (!p.isAlive()) {
                    fail("the shell ended; printed:\n" + buf.toString(StandardCharsets.UTF_8));
                } else {
                    Thread.sleep(20);
                }
            }
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // gone already
            }
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
