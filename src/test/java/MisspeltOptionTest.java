import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/** A misspelt option is named alone (not the value after it), with the options it may have meant (issue #21, item 8). */
class MisspeltOptionTest {
    @Test
    void aMisspeltOptionGetsDidYouMean() {
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), Map.of(), "--tabel", "orders");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("error: unknown option --tabel"), r.err());
        assertFalse(r.err().contains("'orders'"), "the value is not reported as an option: " + r.err());
        assertTrue(r.err().contains("fix: did you mean --table?"), r.err());
        TestPg.Run j = TestPg.run(new ReplicaIdentity(), Map.of(), "--tabel", "orders", "--json");
        assertEquals("unknown option --tabel", j.json().getAsJsonObject("error").get("message").getAsString(), j.out());
    }
}
