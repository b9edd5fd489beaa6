import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The benchmark scripts run on a fresh machine: none forces Maven offline (on a fresh machine Maven has not
 * fetched its plugins yet; `mvn -o` then fails before measuring anything), and each parses as bash.
 */
class BenchScriptsTest {
    static final Pattern FORCED_OFFLINE = Pattern.compile("\\bmvn\\b[^#\\n]*\\s(-o|--offline)(\\s|$)");

    @Test
    void noBenchScriptForcesMavenOffline() throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(LauncherRun.ROOT.resolve("bench"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".sh")).sorted()::iterator) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (FORCED_OFFLINE.matcher(lines.get(i)).find()) {
                        found.add(f.getFileName() + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
                LauncherRun.runCommand(List.of("bash", "-n", f.toString()));
            }
        }
        assertEquals(List.of(), found);
        // the check sees what it is for, and lets NEONMZ_OFFLINE's -o through
        assertTrue(FORCED_OFFLINE.matcher("mvn -q -o -DskipTests compile").find());
        assertFalse(FORCED_OFFLINE.matcher("mvn -q ${NEONMZ_OFFLINE:+-o} -DskipTests compile").find());
    }
}
