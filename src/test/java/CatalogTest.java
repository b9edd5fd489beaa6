import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * jbang-catalog.json is the single list of what we ship: every script has an alias, every alias points
 * at a script with a //DESCRIPTION (the alias's description is the same text), and every alias answers
 * --help through the real ./jbang launcher.
 */
class CatalogTest {
    static final Path ROOT = LauncherRun.ROOT;

    /** alias → its catalog entry, in catalog order. */
    static Map<String, JsonObject> aliases() throws IOException {
        JsonObject catalog = JsonParser.parseString(Files.readString(ROOT.resolve("jbang-catalog.json"))).getAsJsonObject();
        Map<String, JsonObject> out = new LinkedHashMap<>();
        catalog.getAsJsonObject("aliases").entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsJsonObject()));
        return out;
    }

    static List<Path> scripts() throws IOException {
        try (Stream<Path> s = Files.list(ROOT.resolve("scripts"))) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    /** The //DESCRIPTION lines of a script, joined with spaces, or null if it has none. */
    static String description(Path script) throws IOException {
        List<String> parts = Files.readAllLines(script).stream().filter(l -> l.startsWith("//DESCRIPTION"))
                .map(l -> l.substring("//DESCRIPTION".length()).strip()).toList();
        return parts.isEmpty() ? null : String.join(" ", parts);
    }

    @Test
    void everyScriptHasExactlyOneAlias() throws IOException {
        Map<String, List<String>> byScript = new LinkedHashMap<>();
        aliases().forEach((name, a) -> byScript.computeIfAbsent(a.get("script-ref").getAsString(), k -> new ArrayList<>()).add(name));
        for (Path script : scripts()) {
            String ref = ROOT.relativize(script).toString().replace('\\', '/');
            List<String> names = byScript.getOrDefault(ref, List.of());
            assertEquals(1, names.size(), ref + " should have exactly one alias in jbang-catalog.json, has " + names);
        }
    }

    @Test
    void everyAliasPointsAtADescribedScript() throws IOException {
        Map<String, JsonObject> aliases = aliases();
        assertFalse(aliases.isEmpty(), "no aliases");
        for (Map.Entry<String, JsonObject> e : aliases.entrySet()) {
            String name = e.getKey();
            JsonObject a = e.getValue();
            assertTrue(name.matches("[a-z][a-z0-9]*(-[a-z0-9]+)*"), "alias names are kebab-case: " + name);
            assertTrue(a.has("script-ref"), name + ": no script-ref");
            String ref = a.get("script-ref").getAsString();
            assertTrue(ref.startsWith("scripts/") && ref.endsWith(".java") && !ref.contains(".."),
                    name + ": script-ref should be a file in scripts/, relative to the catalog: " + ref);
            Path script = ROOT.resolve(ref);
            assertTrue(Files.isRegularFile(script), name + ": no file " + ref);
            String desc = description(script);
            assertNotNull(desc, ref + " has no //DESCRIPTION");
            assertFalse(desc.isBlank(), ref + " has an empty //DESCRIPTION");
            assertTrue(a.has("description"), name + ": no description");
            assertEquals(desc, a.get("description").getAsString(),
                    name + ": the catalog's description should be the script's //DESCRIPTION");
            TreeSet<String> keys = a.keySet().stream().collect(Collectors.toCollection(TreeSet::new));
            assertEquals(new TreeSet<>(List.of("description", "script-ref")), keys,
                    name + ": only script-ref and description (options belong in the script's directives)");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyAliasAnswersHelpThroughTheLauncher() throws IOException {
        return aliases().keySet().stream().map(name -> DynamicTest.dynamicTest("./jbang " + name + " --help", () -> {
            LauncherRun.Result r = LauncherRun.jbang(name, "--help");
            assertEquals(0, r.exit(), r.describe());
            assertTrue(r.out().contains("Example"), "--help should show an example\n" + r.describe());
            assertTrue(r.out().contains("Usage: " + name), "--help should name the alias\n" + r.describe());
            assertFalse(r.err().contains("[ERROR]"), r.describe());
        }));
    }
}
