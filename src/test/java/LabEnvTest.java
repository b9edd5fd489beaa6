import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import neonmz.Exit;
import neonmz.Fail;

/**
 * {@code lab env --shell bash|fish|powershell|cmd}: each line, run by that shell, sets the variable to exactly
 * the value, for values with spaces, both quotes, backslashes, $ and % (paths on Windows and elsewhere). bash
 * runs here always; fish and pwsh when installed (else their quoting is checked against the rules as text);
 * cmd cannot run here, so its lines are checked as text.
 */
class LabEnvTest {
    static final List<String> ODD = List.of(
            "/home/me/lab dir/pgpass",
            "/tmp/it's a \"lab\"/$HOME/`x`/\\back\\slash\\/pgpass",
            "C:\\Users\\O'Brien\\AppData\\Local\\neonmz\\lab\\pgpass",
            "C:\\Users\\me\\100% & co (test)\\^caret!\\pgpass",
            "/tmp/typographic \u2018quotes\u2019 \u201Aand\u201B/pgpass",
            "postgresql://neondb_owner@127.0.0.1:55432/neondb?sslmode=disable");

    static Optional<String> onPath(String tool) {
        for (String dir : System.getenv("PATH").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return Optional.of(Path.of(dir, tool).toString());
            }
        }
        return Optional.empty();
    }

    /** What {@code shell} holds in X after running {@code line} (the value printed back, then a marker). */
    static String evaluated(List<String> shell, String line, String print) throws IOException {
        Path script = LauncherRun.scratchDir("env").resolve("set.ps1");   // pwsh -File wants .ps1; bash and fish do not mind
        Files.writeString(script, line + "\n" + print + "\n");
        List<String> cmd = new ArrayList<>(shell);
        cmd.add(script.toString());
        String out = LauncherRun.runCommand(cmd);
        assertTrue(out.endsWith("<END>") || out.endsWith("<END>\n"), out);
        return out.substring(0, out.lastIndexOf("<END>"));
    }

    /** Each odd value through {@code shell}'s line, run by {@code tool} when it is installed. */
    static void whereInstalled(String tool, List<String> toolArgs, Lab.Env.Dialect shell, String print) throws IOException {
        Optional<String> path = onPath(tool);
        if (path.isEmpty()) {
            System.out.println("LabEnvTest: no " + tool + " here; its lines were checked as text only");
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(path.get()));
        cmd.addAll(toolArgs);
        for (String v : ODD) {
            assertEquals(v, evaluated(cmd, Lab.Env.set(shell, "X", v), print), tool);
        }
    }

    @Test
    void bashLinesSetTheExactValue() throws IOException {
        for (String v : ODD) {
            String line = Lab.Env.set(Lab.Env.Dialect.bash, "X", v);
            assertEquals(v, evaluated(List.of("bash"), line, "printf '%s<END>' \"$X\"; bash -c 'test \"$X\" = \"$0\"' \"$X\""));
            assertTrue(line.startsWith("export X="), line);
        }
    }

    /**
     * Each odd value's line is {@code prefix} + a single-quoted string + {@code '}; inside, {@code escape} (a
     * regex with the escaped character as group 1) undone gives the value back, and no quote character
     * ({@code quotes}, a regex) is left once the escapes are taken out.
     */
    static void singleQuoted(Lab.Env.Dialect shell, String prefix, String escape, String quotes) {
        for (String v : ODD) {
            String line = Lab.Env.set(shell, "X", v);
            assertTrue(line.startsWith(prefix) && line.endsWith("'"), line);
            String inner = line.substring(prefix.length(), line.length() - 1);
            assertEquals(v, inner.replaceAll(escape, "$1"), line);
            assertFalse(inner.replaceAll(escape, "").matches("(?s).*" + quotes + ".*"), line);
        }
    }

    @Test
    void fishLinesSetTheExactValue() throws IOException {
        // in fish's single quotes, every ' and \ is escaped with a backslash
        singleQuoted(Lab.Env.Dialect.fish, "set -gx X '", "\\\\(['\\\\])", "'");
        whereInstalled("fish", List.of(), Lab.Env.Dialect.fish, "printf '%s<END>' \"$X\"");
    }

    @Test
    void powershellLinesSetTheExactValue() throws IOException {
        // every quote character PowerShell knows (' and the typographic ones) is doubled
        singleQuoted(Lab.Env.Dialect.powershell, "$env:X = '", "(['\u2018\u2019\u201A\u201B])\\1", "['\u2018\u2019\u201A\u201B]");
        whereInstalled("pwsh", List.of("-NoProfile", "-File"), Lab.Env.Dialect.powershell, "[Console]::Out.Write($env:X + '<END>')");
    }

    @Test
    void cmdLinesAreQuotedSetsAndRefuseWhatCmdCannotHold() {
        for (String v : ODD) {
            if (v.contains("\"")) {
                Fail f = assertThrows(Fail.class, () -> Lab.Env.set(Lab.Env.Dialect.cmd, "X", v));
                assertEquals(Exit.USAGE, f.exit);
                assertTrue(f.fix.contains("--shell powershell"), f.fix);
                continue;
            }
            // set "X=value": the whole assignment inside one pair of quotes, so & ( ) ^ and spaces are plain
            assertEquals("set \"X=" + v + "\"", Lab.Env.set(Lab.Env.Dialect.cmd, "X", v));
        }
        assertThrows(Fail.class, () -> Lab.Env.set(Lab.Env.Dialect.cmd, "X", "a\nb"));
    }

    @Test
    void theRealLabPrintsEachShellsLines() throws Exception {
        Lab.Server s = TestPg.server();
        Map<String, List<String>> expected = Map.of(
                "bash", List.of("export DATABASE_URL=", "export PGPASSFILE="),
                "fish", List.of("set -gx DATABASE_URL '", "set -gx PGPASSFILE '"),
                "powershell", List.of("$env:DATABASE_URL = '", "$env:PGPASSFILE = '"),
                "cmd", List.of("set \"DATABASE_URL=", "set \"PGPASSFILE="));
        for (var e : expected.entrySet()) {
            TestPg.Run r = TestPg.run(new Lab(), Map.of(), "--dir", s.dir.toString(), "env", "--shell", e.getKey());
            assertEquals(0, r.exit(), r.err());
            List<String> lines = r.out().lines().toList();
            assertEquals(2, lines.size(), r.out());
            for (int i = 0; i < 2; i++) {
                assertTrue(lines.get(i).startsWith(e.getValue().get(i)), lines.get(i));
            }
            assertTrue(r.out().contains(s.pgpass().toString()) && r.out().contains(s.url()), r.out());
        }
        // the default is bash, and bash takes it as it is
        TestPg.Run plain = TestPg.run(new Lab(), Map.of(), "--dir", s.dir.toString(), "env");
        String back = evaluated(List.of("bash"), plain.out(), "printf '%s<END>' \"$PGPASSFILE\"");
        assertEquals(s.pgpass().toString(), back);
        TestPg.Run bad = TestPg.run(new Lab(), Map.of(), "--dir", s.dir.toString(), "env", "--shell", "tcsh");
        assertEquals(Exit.USAGE, bad.exit(), bad.err());
    }
}
