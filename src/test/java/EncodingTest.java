import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The sources hold non-ASCII text (…, →, —). javac on Java 17 reads a file in the platform's encoding:
 * US-ASCII in the POSIX locale (LANG unset: a container, a CI runner, `env -i`), Cp1252 on Windows, where
 * every script failed to compile with "unmappable character (0xE2) for encoding US-ASCII". Each script
 * therefore says //COMPILE_OPTIONS -encoding UTF-8 (found by WorkshopTest's clean environment, issue #21).
 */
class EncodingTest {

    @Test
    void everyScriptCompilesItsSourcesAsUtf8() throws IOException {
        List<String> missing = new ArrayList<>();
        try (Stream<Path> s = Files.list(LauncherRun.ROOT.resolve("scripts"))) {
            for (Path p : s.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                if (!Files.readString(p, StandardCharsets.UTF_8).lines().anyMatch("//COMPILE_OPTIONS -encoding UTF-8"::equals)) {
                    missing.add(p.getFileName().toString());
                }
            }
        }
        assertEquals(List.of(), missing, "scripts without //COMPILE_OPTIONS -encoding UTF-8");
    }

    /** A real compile by JBang in the POSIX locale: a JBang home of its own, so nothing compiled earlier is reused. */
    @Test
    void aScriptCompilesAndPrintsUtf8InThePosixLocale() throws IOException {
        Path jbangHome = Files.createTempDirectory(LauncherRun.TARGET, "jbang-home-posix-");
        Map<String, String> env = new HashMap<>();
        env.put("LANG", null);
        env.put("LC_ALL", null);
        env.put("LC_CTYPE", null);
        env.put("JBANG_DIR", jbangHome.toString());
        env.put("JBANG_REPO", Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        env.put("NEONMZ_NO_FASTPATH", "1");
        // lab --help: Lab.java and the library it sources hold non-ASCII characters, and so does its help text
        LauncherRun.Result r = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env, "lab", "--help");
        assertFalse(r.err().contains("unmappable character"), r.describe());
        assertEquals(0, r.exit(), r.describe());
        assertTrue(r.out().contains("Usage: lab"), r.describe());
    }
}
