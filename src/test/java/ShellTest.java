import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The workshop's JShell entry point, as a user starts it: {@code ./jbang shell} through the real launcher,
 * with JShell commands on stdin, against a lab database. The helpers the workshop notebook shows must work:
 * a query printed as a table, a step run in-process by its alias (its changes real), the library imported.
 */
class ShellTest {
    @Test
    void theShellRunsStepsAndQueriesWithTheLibraryLoaded() {
        String db = TestPg.newDatabase();
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        String input = String.join("\n",
                "sql(\"SELECT name, setting FROM pg_settings WHERE name = ?\", \"wal_level\")",
                "run(\"publication\", \"--table\", \"orders\")",
                "sql(\"SELECT pubname, tablename FROM pg_publication_tables\")",
                "System.out.println(\"quoted: \" + Sql.ident(\"Order Items\"))",
                "run(\"no-such-step\")",
                "/exit", "");
        LauncherRun.Result r = LauncherRun.runWithStdin(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env, input,
                "shell", "--quiet");
        assertEquals(0, r.exit(), r.describe());
        String out = r.out();
        assertTrue(out.contains("name       setting\n") && out.contains("wal_level  logical\n"), out);
        assertTrue(out.contains("publication mz_source: created"), out);
        assertTrue(out.contains("pubname    tablename\n") && out.contains("mz_source  orders\n"), out);
        assertTrue(out.contains("quoted: \"Order Items\""), out);
        assertTrue((r.out() + r.err()).contains("no alias no-such-step in"), r.describe());
        assertEquals(1, TestPg.rows(db, "SELECT 1 FROM pg_publication_tables WHERE pubname = 'mz_source'").size(),
                "the step's change is real");
    }
}
