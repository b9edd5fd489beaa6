import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Per-command start (issue #21, item 7; docs/benchmarks.md, "Warm --help"): a script that runs for seconds at most
 * asks for the C1-only JIT in its own //JAVA_OPTIONS (it starts faster; the setup benchmark measured it faster on
 * 10,000 tables too); the tools that run for minutes or chew through many rows keep the full JIT.
 */
class StartupOptionsTest {
    static final String C1 = "//JAVA_OPTIONS -XX:TieredStopAtLevel=1";
    static final Set<String> LONG_RUNNING = Set.of("Tap", "LoadGen", "Watch", "Fleet", "Doctor", "Evolve", "Runbook", "Shell");

    @Test
    void shortStepsStartWithC1AndLongRunningToolsKeepTheFullJit() throws IOException {
        Set<String> withC1 = new TreeSet<>();
        Set<String> all = new TreeSet<>();
        try (Stream<Path> s = Files.list(LauncherRun.ROOT.resolve("scripts"))) {
            for (Path p : s.filter(f -> f.toString().endsWith(".java")).toList()) {
                String name = p.getFileName().toString().replace(".java", "");
                all.add(name);
                List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
                if (lines.contains(C1)) {
                    withC1.add(name);
                }
            }
        }
        Set<String> expected = new TreeSet<>(all);
        expected.removeAll(LONG_RUNNING);
        assertEquals(expected, withC1);
    }
}
