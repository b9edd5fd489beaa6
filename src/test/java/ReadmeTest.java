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
        assertEquals("./jbang lab demo", commands.get(0));
        Path dir = LabTest.labDir();
        try {
            Map<String, String> env = LauncherRun.baseEnv();
            env.put("NEONMZ_LAB_DIR", dir.toString());
            env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
            String[] words = commands.get(0).substring("./jbang ".length()).split(" ");
            LauncherRun.Result r = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env, words);
            assertEquals(0, r.exit(), r.describe());
            assertTrue(r.out().contains("lab demo: every Neon-side step passed"), r.describe());
            assertFalse(new Lab.Server(dir).running(), "nothing is left running");
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
