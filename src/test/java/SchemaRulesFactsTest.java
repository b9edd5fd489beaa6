import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The pinned rules of upstream schema changes (facts.json {@code schema_rules}, from ExtractMzFacts) and the scenarios
 * of Materialize's tests (schema-scenarios.json, from ExtractSchemaScenarios) are well-formed: every case has a
 * verdict, a path and a commit; the rules list the fields the source compares. Running the scenarios through evolve
 * is another test's job.
 */
class SchemaRulesFactsTest {
    static final Path DIR = Path.of(System.getProperty("repo.root", ".")).resolve("src/test/resources/materialize");

    static JsonObject load(String name) throws Exception {
        return JsonParser.parseString(Files.readString(DIR.resolve(name), StandardCharsets.UTF_8)).getAsJsonObject();
    }

    static void sourced(JsonElement source, String where) {
        assertNotNull(source, where + ": no source");
        JsonObject s = source.getAsJsonObject();
        assertFalse(s.get("path").getAsString().isBlank(), where);
        assertTrue(s.get("commit").getAsString().matches("[0-9a-f]{40}"), where + ": commit " + s.get("commit"));
    }

    static List<String> strings(JsonArray a) {
        return a.asList().stream().map(JsonElement::getAsString).toList();
    }

    @Test
    void rulesListTheComparedFields() throws Exception {
        JsonObject r = load("facts.json").getAsJsonObject("schema_rules");
        assertNotNull(r, "facts.json has no schema_rules");
        JsonObject table = r.getAsJsonObject("table");
        sourced(table.get("source"), "table");
        assertEquals(Set.of("oid", "namespace", "name", "columns", "keys"), Set.copyOf(strings(table.getAsJsonArray("compared"))));
        assertTrue(table.get("columns_by_name").getAsBoolean());
        assertEquals("source table {} with oid {} has been altered", table.get("error").getAsString());
        JsonObject column = r.getAsJsonObject("column");
        List<String> compared = strings(column.getAsJsonArray("compared"));
        for (String f : strings(column.getAsJsonArray("fields"))) {
            assertTrue(compared.stream().anyMatch(c -> c.startsWith(f)), "column field not compared: " + f);
        }
        assertTrue(r.getAsJsonObject("type_may_change").get("text_columns").getAsBoolean());
        assertTrue(r.getAsJsonObject("exclude_columns").get("removed_from_stored_desc").getAsBoolean());
        List<String> texts = r.getAsJsonObject("errors").getAsJsonArray("definite").asList().stream()
                .map(e -> e.getAsJsonObject().get("text").getAsString()).toList();
        assertTrue(texts.containsAll(List.of("table was dropped", "table was truncated", "incompatible schema change: {0}")), texts.toString());
        r.getAsJsonArray("checks").forEach(c -> {
            assertTrue(c.getAsJsonObject().get("found").getAsBoolean(), c.toString());
            sourced(c.getAsJsonObject().get("source"), c.toString());
        });
        r.getAsJsonArray("statements").forEach(s -> {
            JsonObject o = s.getAsJsonObject();
            assertTrue(o.has("docs") || o.has("parser"), o.toString());
            if (o.has("docs")) {
                assertTrue(o.get("docs").getAsBoolean(), o.toString());
                sourced(o.get("docs_source"), o.toString());
            }
            if (o.has("parser")) {
                assertTrue(o.get("parser").getAsBoolean(), o.toString());
                sourced(o.get("parser_source"), o.toString());
            }
        });
        // the gate the exclude-columns rule names exists
        String gate = r.getAsJsonObject("exclude_columns").get("gate").getAsString();
        assertTrue(load("facts.json").getAsJsonArray("gates").asList().stream()
                .anyMatch(g -> g.getAsJsonObject().get("name").getAsString().equals(gate)), gate);
    }

    @Test
    void everyScenarioHasAVerdictAPathAndACommit() throws Exception {
        JsonObject s = load("schema-scenarios.json");
        JsonArray cases = s.getAsJsonArray("cases");
        assertTrue(cases.size() > 0);
        int safe = 0;
        int breaks = 0;
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String where = c.get("file").getAsString() + ":" + c.get("line").getAsInt();
            sourced(c.get("source"), where);
            assertEquals(c.get("file").getAsString(), c.getAsJsonObject("source").get("path").getAsString(), where);
            String verdict = c.get("verdict").getAsString();
            assertTrue(Set.of("safe", "breaks").contains(verdict), where + ": " + verdict);
            assertTrue(Set.of("mechanical", "reading").contains(c.get("classified_by").getAsString()), where);
            if (c.get("classified_by").getAsString().equals("reading")) {
                assertFalse(c.get("reason").getAsString().isBlank(), where);
            }
            assertFalse(c.getAsJsonArray("change").isEmpty(), where);
            JsonObject expected = c.getAsJsonObject("expected");
            assertEquals(verdict.equals("breaks"), expected.has("error"), where);
            if (c.get("ingested").getAsBoolean()) {
                assertTrue(c.getAsJsonObject("ingest").get("sql").getAsString().matches("(?is)^CREATE (TABLE|SOURCE) .*"), where);
            }
            if (verdict.equals("safe")) {
                safe++;
            } else {
                breaks++;
            }
        }
        JsonObject counts = s.getAsJsonObject("counts");
        assertEquals(safe, counts.get("safe").getAsInt());
        assertEquals(breaks, counts.get("breaks").getAsInt());
    }
}
