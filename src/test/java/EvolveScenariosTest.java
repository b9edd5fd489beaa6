import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;

/**
 * Materialize's own schema-change scenarios (src/test/resources/materialize/schema-scenarios.json, extracted from
 * test/pg-cdc/alter-table-*.td, truncate-table.td, exclude-columns*.td, pg-cdc.td by
 * bench/materialize-facts/ExtractSchemaScenarios.java) replayed through evolve --migration on real PostgreSQL:
 * the upstream as it was when Materialize made the table is the setup, and everything upstream after that, the
 * change included, is the migration; evolve's verdict for the table must be the one Materialize's test expects.
 * Scenarios in parts Materialize's CI skips are not counted.
 */
class EvolveScenariosTest {
    static final Path FILE = Path.of(System.getProperty("repo.root", ".")).resolve(
            "src/test/resources/materialize/schema-scenarios.json");
    static final Pattern COLUMNS = Pattern.compile("(?i)(TEXT|EXCLUDE) COLUMNS\\s*=?\\s*[\\[(]([^\\])]*)[\\])]");

    @Test
    void evolveGivesTheVerdictOfEveryScenarioMaterializesCiRuns() throws Exception {
        JsonObject all = JsonParser.parseString(Files.readString(FILE, StandardCharsets.UTF_8)).getAsJsonObject();
        int replayed = 0;
        int othersOnly = 0;
        List<String> wrong = new ArrayList<>();
        List<String> notReplayed = new ArrayList<>();
        for (JsonElement e : all.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            String id = c.get("file").getAsString() + ":" + c.get("line").getAsInt() + " (" + c.get("subject").getAsString() + ")";
            if (c.has("skipped") && c.get("skipped").getAsBoolean()) {
                continue;
            }
            if (!c.has("ingest") || c.get("ingest").isJsonNull()) {
                notReplayed.add(id + ": the table is not ingested (the test's verdict is about the source's other tables)");
                continue;
            }
            String ingest = c.getAsJsonObject("ingest").get("sql").getAsString();
            int ingestLine = c.getAsJsonObject("ingest").get("line").getAsInt();
            List<String> setup = new ArrayList<>();
            StringBuilder migration = new StringBuilder();
            for (JsonElement s : c.getAsJsonArray("upstream_before")) {
                JsonObject st = s.getAsJsonObject();
                if (st.get("line").getAsInt() < ingestLine) {
                    setup.add(st.get("sql").getAsString());
                } else {
                    migration.append(st.get("sql").getAsString()).append('\n');
                }
            }
            c.getAsJsonArray("change").forEach(s -> migration.append(s.getAsJsonObject().get("sql").getAsString()).append('\n'));
            String table = c.get("upstream_table").getAsString();
            String db = TestPg.emptyDatabase();
            try {
                TestPg.execAsOwner(db, setup.toArray(String[]::new));
                TestPg.execAsOwner(db, "CREATE PUBLICATION mz_source FOR TABLE " + neonmz.Sql.ident(table));
            } catch (RuntimeException ex) {
                notReplayed.add(id + ": its setup does not run on its own here (" + ex.getMessage().lines().findFirst()
                        .orElse("") + ")");
                continue;
            }
            List<String> args = new ArrayList<>(List.of("--migration", file(migration.toString()).toString(), "--json",
                    "--syntax", ingest.startsWith("CREATE SOURCE") ? "legacy" : "new"));
            Matcher m = COLUMNS.matcher(ingest);
            while (m.find()) {
                for (String col : m.group(2).split(",")) {
                    args.add(m.group(1).equalsIgnoreCase("TEXT") ? "--text-column" : "--exclude-column");
                    args.add(neonmz.Sql.ident(table) + "." + col.strip());
                }
            }
            TestPg.Run r = TestPg.run(new Evolve(), TestPg.env(db), args.toArray(String[]::new));
            String expected = c.get("verdict").getAsString();
            String got = verdict(r, "public." + neonmz.Sql.ident(table));
            replayed++;
            if ("other_tables".equals(c.get("verdict_for").getAsString())) {
                // the test's verdict is about the source's other tables (here: none is published beside it), not this one
                othersOnly++;
                continue;
            }
            if (!expected.equals(got) || (expected.equals("breaks") ? Exit.VERIFY : Exit.OK) != r.exit()) {
                wrong.add(id + ": Materialize's test says " + expected + ", evolve says " + got + " (exit " + r.exit() + ")\n"
                        + migration + r.out());
            }
        }
        System.out.printf("EvolveScenariosTest: %d of Materialize's schema-change scenarios replayed through evolve, %d "
                + "judged on the changed table (%d with another verdict), %d whose verdict is about other tables; not "
                + "replayed: %d%n", replayed, replayed - othersOnly, wrong.size(), othersOnly, notReplayed.size());
        notReplayed.forEach(s -> System.out.println("  " + s));
        assertEquals(List.of(), wrong);
        assertTrue(replayed >= 25, "replayed only " + replayed + ": " + notReplayed);
    }

    static Path file(String sql) throws java.io.IOException {
        Path f = Files.createTempFile("scenario", ".sql");
        Files.writeString(f, sql, StandardCharsets.UTF_8);
        return f;
    }

    /** The verdict for the table; "safe" when evolve saw no change to it at all (nothing for Materialize to stop). */
    static String verdict(TestPg.Run r, String table) {
        for (JsonElement e : r.json().getAsJsonArray("tables")) {
            if (e.getAsJsonObject().get("table").getAsString().equals(table)) {
                return e.getAsJsonObject().get("verdict").getAsString();
            }
        }
        return r.exit() == Exit.OK ? "safe" : null;
    }
}
