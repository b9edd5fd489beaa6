import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

/**
 * --version answers on every script (it printed nothing before): the command, the toolkit's version (the one in
 * pom.xml) and the commit of the checkout; with --json one object. And .gitattributes keeps LF where a shell or
 * JBang reads the file, so that a Windows clone's ./jbang runs.
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
        }
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
