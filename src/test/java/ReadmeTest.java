import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The newcomer check: the README opens with two commands; the first (the main job) runs here exactly as
 * written, through the real launcher, and the second is what .ci/run runs.
 */
class ReadmeTest {
    static List<String> firstCommands() throws Exception {
        String readme = Files.readString(LauncherRun.ROOT.resolve("README.md"));
        int start = readme.indexOf("```bash\n");
        assertTrue(start >= 0 && start < 400, "the README opens with a bash block");
        String block = readme.substring(start + 8, readme.indexOf("```", start + 8));
        return block.lines().map(l -> l.replaceAll("\\s+#.*$", "").strip()).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    void theMainCommandRunsAsWritten() throws Exception {
        List<String> commands = firstCommands();
        assertEquals(2, commands.size(), commands.toString());
        assertEquals("./jbang runbook --lab", commands.get(0));
        Path dir = LabTest.labDir();
        try {
            Map<String, String> env = LauncherRun.baseEnv();
            // a newcomer's home (the password file goes to ~/.neonmz), Maven's repository shared
            env.put("JBANG_REPO", Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
            env.put("HOME", Files.createTempDirectory("neonmz-readme-home").toString());
            env.put("NEONMZ_LAB_DIR", dir.toString());
            env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
            String[] words = commands.get(0).substring("./jbang ".length()).split(" ");
            LauncherRun.Result r = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env, words);
            assertEquals(0, r.exit(), r.describe());
            // the summary: every Neon-side step done, the Materialize half run or, without Materialize, planned
            for (String step : List.of("A.2.1\\s+replica-identity", "A.2.2\\s+publication", "A.2.3\\s+replication-role",
                    "A.2.4\\s+grants")) {
                assertTrue(r.out().lines().anyMatch(l -> l.matches(step + "\\s+done\\s.*")), step + "\n" + r.describe());
            }
            assertTrue(r.out().lines().anyMatch(l -> l.matches("C\\.3\\s+source\\s+(done|skipped)\\s.*")), r.describe());
            assertTrue(r.out().contains("Materialize: not run") || r.out().contains("materialize: emulator up"), r.describe());
            assertTrue(r.out().lines().anyMatch(l -> l.matches("runbook: \\d+ done, .* in \\d+ ms")), r.describe());
            assertFalse(new Lab.Server(dir).running(), "nothing is left running");
            // the first screen says what happened and what to do next (issue #21): short, and a "next:" line last
            List<String> lines = r.out().lines().toList();
            assertTrue(lines.size() < 90, lines.size() + " lines\n" + r.out());
            assertTrue(lines.get(lines.size() - 1).startsWith("next: "), r.describe());
            assertTrue(Files.exists(Path.of(env.get("HOME"), ".neonmz", "materialize.password")), "the password's one place");
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    @Test
    void theTestCommandIsWhatCiRuns() throws Exception {
        String ci = Files.readString(LauncherRun.ROOT.resolve(".ci/run"));
        String testCommand = firstCommands().get(1);
        assertTrue(ci.lines().map(String::strip).anyMatch(l -> l.equals(testCommand)),
                ".ci/run must run the README's test command: " + testCommand);
    }
}
