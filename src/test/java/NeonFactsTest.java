import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The toolkit's constants for Neon's removal of slots (SnapForecast, in scripts/Doctor.java) equal the facts read
 * from Neon's code at the pinned commit (src/test/resources/neon/facts.json, docs/neon-facts.md), and the rule as
 * coded follows the facts' cutoff, file-name and size rules. The forecast against real .snap files is
 * SnapForecastTest.
 */
class NeonFactsTest {
    static final Path FILE = Path.of(System.getProperty("repo.root", ".")).resolve("src/test/resources/neon/facts.json");

    static JsonObject facts() throws Exception {
        return JsonParser.parseString(Files.readString(FILE, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    @Test
    void theConstantsAreNeonsAtThePinnedCommit() throws Exception {
        JsonObject f = facts();
        assertEquals(f.getAsJsonObject("neon").get("commit").getAsString(), SnapForecast.NEON_COMMIT);
        assertEquals(f.getAsJsonObject("neon").get("repo").getAsString(), SnapForecast.NEON_REPO);
        JsonObject m = f.getAsJsonObject("slot_monitor");
        assertEquals(m.get("path").getAsString(), SnapForecast.NEON_PATH);
        assertEquals(m.get("bgw_type").getAsString(), SnapForecast.MONITOR);
        assertEquals(m.get("check_interval_ms").getAsInt(), SnapForecast.CHECK_INTERVAL_SECONDS * 1000);
        assertEquals(m.get("snapdir").getAsString(), SnapForecast.SNAPDIR);
        JsonObject files = f.getAsJsonObject("gucs").getAsJsonObject(SnapForecast.MAX_FILES_GUC);
        assertNotNull(files, "the GUC's name is Neon's");
        assertEquals(files.get("default").getAsInt(), SnapForecast.MAX_FILES_DEFAULT);
        JsonObject size = f.getAsJsonObject("gucs").getAsJsonObject(SnapForecast.MAX_SIZE_GUC);
        assertNotNull(size, "the GUC's name is Neon's");
        assertEquals(size.get("default").getAsInt(), SnapForecast.MAX_SIZE_DEFAULT_KB);
        assertEquals(f.getAsJsonObject("docs_wording").get("text").getAsString(), SnapForecast.DOCS_WORDING);
        for (String name : List.of(SnapForecast.MAX_FILES_GUC, SnapForecast.MAX_SIZE_GUC, SnapForecast.MONITOR)) {
            assertTrue(SnapForecast.SETTINGS.contains("'" + name + "'"), "the live read names " + name);
        }
    }

    @Test
    void fileNamesAreReadAsNeonsScanDoes() {
        assertEquals(0x16B3748L, SnapForecast.lsn("0-16B3748.snap"));
        assertEquals(0x1L << 32 | 0xAB, SnapForecast.lsn("1-AB.snap"));
        assertEquals(0x1L << 32 | 0xAB, SnapForecast.lsn("1-AB.snap.4242.tmp"), "the rest of the name is not read");
        assertNull(SnapForecast.lsn("state"));
        assertNull(SnapForecast.lsn("xyz-1.snap"));
    }

    static List<long[]> newestFirst(long... lsns) {
        List<long[]> l = new ArrayList<>();
        for (long x : lsns) {
            l.add(new long[] {x, 128});
        }
        return l;
    }

    @Test
    void theCutoffIsTheNthNewestFileAndTheSizeRuleAsCoded() {
        List<long[]> five = newestFirst(50, 40, 30, 20, 10);
        assertEquals(0, SnapForecast.cutoff(five, 6, 8000), "fewer files than the limit: no cutoff");
        assertEquals(10, SnapForecast.cutoff(five, 5, 8000), "as many as the limit: the 5th newest");
        assertEquals(30, SnapForecast.cutoff(five, 3, 8000));
        assertEquals(0, SnapForecast.cutoff(five, -1, 8000), "-1 disables the file rule");
        assertEquals(0, SnapForecast.cutoff(five, -1, -1), "both disabled");
        assertEquals(50, SnapForecast.cutoff(five, 10000, -1), "a size limit of -1 makes the newest file the cutoff "
                + "(the directory size is never summed at the pinned commit)");
        assertEquals(0, SnapForecast.cutoff(five, 10000, 1), "a positive size limit never fires at the pinned commit");
        assertEquals(0, SnapForecast.cutoff(newestFirst(), 10000, -1), "no files, no cutoff");
    }
}
