import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

/**
 * --version answers on every script (it printed nothing before): the command, the toolkit's version and the commit of
 * the toolkit's checkout (never that of another repository around it); with --json one object. The version is set in
 * one place, Cli.VERSION; pom.xml, CHANGELOG.md's newest release and a v* tag on HEAD must agree with it. And
 * .gitattributes keeps LF where a shell or JBang reads the file, so that a Windows clone's ./jbang runs.
 */
class VersionTest {
    static final Path ROOT = Path.of(System.getProperty("repo.root", "."));

    @Test
    void everyScriptAnswersVersion() throws Exception {
        Matcher pom = Pattern.compile("<artifactId>neon-materialize-toolkit</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(pom.find(), "pom.xml's version");
        assertEquals(pom.group(1), neonmz.Cli.VERSION, "one version: pom.xml's and the scripts' agree");
        String head = new String(new ProcessBuilder("git", "rev-parse", "HEAD").directory(ROOT.toFile()).start()
                .getInputStream().readAllBytes()).strip();
        for (String alias : Commands.ALL.keySet()) {
            TestPg.Run r = TestPg.run(Commands.of(alias), Map.of(), "--version");
            assertEquals(0, r.exit(), alias + ": " + r.all());
            assertTrue(r.out().matches("(?s)\\S+ " + Pattern.quote(neonmz.Cli.VERSION) + " \\(neonmz toolkit, commit "
                    + (head.matches("[0-9a-f]{40}") ? head : "\\S+") + "\\)\\s*"), alias + ": " + r.out());
            JsonObject j = TestPg.run(Commands.of(alias), Map.of(), "--version", "--json").json();
            assertEquals(neonmz.Cli.VERSION, j.get("version").getAsString(), alias);
            assertTrue(j.get("commit").getAsString().matches("[0-9a-f]{40}|unknown"), alias + ": " + j);
            assertFalse(j.get("copied").getAsBoolean(), alias + ": " + j);
        }
    }

    static String git(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), cmd.toString());
        return out;
    }

    /**
     * What disagrees with {@code version} (Cli.VERSION, the one place it is set): its shape, pom.xml's version,
     * CHANGELOG.md's newest release (under an [Unreleased] section), and the v* tags on the checked-out commit.
     */
    static List<String> disagreements(String version, String pom, String changelog, List<String> headTags) {
        List<String> out = new ArrayList<>();
        if (!version.matches("\\d+\\.\\d+\\.\\d+")) {
            out.add("Cli.VERSION " + version + " is not MAJOR.MINOR.PATCH");
        }
        Matcher p = Pattern.compile("<artifactId>neon-materialize-toolkit</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        if (!p.find() || !p.group(1).equals(version)) {
            out.add("pom.xml's <version> is not " + version + ": set it to Cli.VERSION");
        }
        if (!changelog.contains("\n## [Unreleased]\n")) {
            out.add("CHANGELOG.md has no '## [Unreleased]' section");
        }
        Matcher c = Pattern.compile("(?m)^## \\[(\\d[^]]*)\\] - \\d{4}-\\d{2}-\\d{2}$").matcher(changelog);
        if (!c.find() || !c.group(1).equals(version)) {
            out.add("CHANGELOG.md's newest release is not '## [" + version + "] - YYYY-MM-DD'");
        }
        for (String tag : headTags) {
            if (tag.startsWith("v") && !tag.equals("v" + version)) {
                out.add("HEAD is tagged " + tag + " but Cli.VERSION is " + version);
            }
        }
        return out;
    }

    @Test
    void theVersionIsSetInOnePlaceAndTheRestAgreeWithIt() throws Exception {
        String v = neonmz.Cli.VERSION;
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        String changelog = Files.readString(ROOT.resolve("CHANGELOG.md"));
        List<String> tags = git(ROOT, "tag", "--points-at", "HEAD").lines().toList();
        assertEquals(List.of(), disagreements(v, pom, changelog, tags));
        // and each check can fail
        assertEquals(1, disagreements(v + "-SNAPSHOT", pom.replace(">" + v + "<", ">" + v + "-SNAPSHOT<"),
                changelog.replace("[" + v + "]", "[" + v + "-SNAPSHOT]"), List.of()).size());
        assertEquals(1, disagreements(v, pom.replace("<version>" + v + "</version>", "<version>9.9.9</version>"), changelog,
                List.of()).size());
        assertEquals(1, disagreements(v, pom, changelog.replace("## [" + v + "]", "## [0.0.1]"), List.of()).size());
        assertEquals(1, disagreements(v, pom, changelog.replace("## [Unreleased]", "## Next"), List.of()).size());
        assertEquals(List.of("HEAD is tagged v9.9.9 but Cli.VERSION is " + v), disagreements(v, pom, changelog,
                List.of("v9.9.9", "v" + v, "workshop-day")));
    }

    /** A script run as a plain java process (the test classpath) in {@code cwd}: what --version prints. */
    static String versionFrom(Path cwd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "Doctor", "--version").directory(cwd.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().remove("NEONMZ_ROOT");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void theCommitIsTheToolkitsNeverThatOfARepositoryAroundIt() throws Exception {
        String head = git(ROOT, "rev-parse", "HEAD");
        Path other = OneLinerTest.otherRepository();
        String otherHead = git(other, "rev-parse", "HEAD");
        String line = "doctor " + neonmz.Cli.VERSION + " (neonmz toolkit, commit %s)\n";
        assertEquals(String.format(line, "unknown"), versionFrom(other, Map.of()), "not " + otherHead);
        assertEquals(String.format(line, head), versionFrom(other, Map.of("NEONMZ_ROOT", ROOT.toString())),
                "./jbang names its folder in NEONMZ_ROOT");
        assertEquals(String.format(line, head), versionFrom(ROOT.resolve("notebooks"), Map.of()), "from inside the checkout");
        // an ejected copy (adapt's manifest beside its catalog and lib) is not the toolkit's checkout
        Path copy = Files.createDirectories(other.resolve("ops"));
        assertEquals(0, AdaptTest.adapt("doctor", "--to", copy.toString()).exit());
        assertTrue(Files.exists(copy.resolve(".neonmz-adapt.json")) && Files.exists(copy.resolve("lib/neonmz/Cli.java")));
        assertEquals(String.format(line, "unknown"), versionFrom(copy, Map.of()), "the toolkit's classes run in a copy's folder");
    }

    @Test
    void gitattributesKeepLfForWhatShellsAndJBangRead() throws Exception {
        String ga = Files.readString(ROOT.resolve(".gitattributes"));
        for (String pattern : new String[] {"jbang", "*.java", "*.sh", ".ci/run"}) {
            assertTrue(ga.lines().anyMatch(l -> l.matches(Pattern.quote(pattern) + "\\s+.*\\beol=lf\\b.*")), pattern + ":\n" + ga);
        }
        String check = new String(new ProcessBuilder("git", "check-attr", "eol", "--", "jbang", "scripts/Evolve.java")
                .directory(ROOT.toFile()).start().getInputStream().readAllBytes());
        assertTrue(check.contains("jbang: eol: lf") && check.contains("scripts/Evolve.java: eol: lf"), check);
    }
}
