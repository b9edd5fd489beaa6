import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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

    /**
     * The JShell session printed in notebooks/workshop.md (a ```jshell block: "jshell> " lines are typed, the
     * lines after each are its answer) is fed to ./jbang shell against a database set up as the workshop's
     * part 2 leaves it, and every answer must be what the notebook shows (elapsed times normalised).
     */
    @Test
    void theWorkshopsJShellSessionPrintsWhatTheNotebookShows() throws Exception {
        Path notebook = LauncherRun.ROOT.resolve("notebooks/workshop.md");
        String text = Files.readString(notebook, StandardCharsets.UTF_8);
        int start = text.indexOf("```jshell\n");
        assertTrue(start >= 0, "no ```jshell block in " + notebook);
        Session session = Session.parse(text.substring(start + "```jshell\n".length(), text.indexOf("```", start + 3)));
        String db = TestPg.newDatabase();
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        String tables = "customers,orders,\"Order Items\",page_views";
        assertEquals(0, TestPg.run(new ReplicaIdentity(), env, "--table", tables).exit());
        assertEquals(0, TestPg.run(new CreatePublication(), env, "--table", tables).exit());

        LauncherRun.Result r = LauncherRun.runWithStdin(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env,
                session.input(), "shell", "--quiet");
        assertEquals(0, r.exit(), r.describe());
        assertEquals(List.of(), session.differences(r.out()),
                "notebooks/workshop.md shows other answers than ./jbang shell gave\n" + r.describe());
    }

    /**
     * A JShell session as a notebook prints it (a ```jshell block: "jshell> " lines are typed, the lines after each
     * are its answer), shared with WorkshopTest.
     */
    record Session(List<String> typed, List<String> expected) {
        static Session parse(String block) {
            List<String> typed = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            for (String line : block.split("\n")) {
                if (line.startsWith("jshell> ")) {
                    typed.add(line.substring("jshell> ".length()));
                    expected.add("");
                } else if (!expected.isEmpty()) {
                    expected.set(expected.size() - 1, expected.get(expected.size() - 1) + line + "\n");
                }
            }
            return new Session(typed, expected);
        }

        /** What to type into ./jbang shell: the lines, then /exit. */
        String input() {
            return String.join("\n", typed) + "\n/exit\n";
        }

        /**
         * Each answer that is not what the notebook shows, with its line; piped input is not echoed, so the answers
         * are what follows each prompt (elapsed times normalised).
         */
        List<String> differences(String output) {
            String[] answers = output.split("jshell> ", -1);
            List<String> diffs = new ArrayList<>();
            for (int i = 0; i < typed.size(); i++) {
                String actual = i + 1 < answers.length
                        ? answers[i + 1].replaceAll("\"elapsed_ms\":\\d+", "\"elapsed_ms\":[MS]") : "(no answer)";
                if (!actual.equals(expected.get(i))) {
                    diffs.add("jshell> " + typed.get(i) + "\n--- expected\n" + expected.get(i) + "--- actual\n" + actual);
                }
            }
            return diffs;
        }
    }
}
