import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/** Issue #21's papercuts (item 8), each with the message a newcomer now gets. */
class PapercutTest {
    /** A missing password file: its path once, and "no such file". */
    @Test
    void aMissingPasswordFileSaysNoSuchFile() {
        TestPg.Run r = TestPg.run(new CheckLogicalReplication(), Map.of(), "--pg-password-file", "/nonexistent/pw");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("error: password file /nonexistent/pw: no such file"), r.err());
        assertEquals(1, r.err().split("/nonexistent/pw", -1).length - 1, "the path once: " + r.err());
    }

    /** A deliberate "n" at teardown's prompt is an answer, said plainly (exit 15), not an error. */
    @Test
    void answeringNoIsNotAnError() {
        String db = EvolveTest.shop();
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        neonmz.Cli.Ctx ctx = new neonmz.Cli.Ctx(TestPg.env(db), new java.io.BufferedReader(new java.io.StringReader("n\n")),
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true), true);
        int code = neonmz.Cli.execute(new Teardown(), ctx, "--upstream-only");
        assertEquals(Exit.DECLINED, code, out + "" + err);
        assertTrue(err.toString().contains("answered no: nothing changed"), err.toString());
        assertFalse(err.toString().contains("error:"), err.toString());
        assertFalse(TestPg.rows(db, "SELECT 1 FROM pg_publication WHERE pubname = 'mz_source'").isEmpty(), "nothing changed");
    }

    /** A misspelt option is named alone (not the value after it), with the options it may have meant. */
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

    /**
     * The replication role's refused password (stream-check and tap log in as --role with --password-file) names
     * the role's own file and replication-role --reset-password, not the owner's PGPASSWORD/--pg-password-file.
     */
    @Test
    void theRolesWrongPasswordNamesTheRolesFix() throws Exception {
        StreamCheckTest.Setup s = StreamCheckTest.setUp(true, "LOGIN REPLICATION");
        java.nio.file.Files.writeString(s.passwordFile(), "not-the-password\n");
        for (Object command : java.util.List.of(new StreamCheck(), new Tap())) {
            TestPg.Run r = TestPg.run(command, s.env(), s.asRole("--timeout", "10s"));
            assertEquals(Exit.AUTH, r.exit(), r.all());
            assertTrue(r.err().contains("authentication failed for user \"" + s.role() + "\""), r.err());
            assertTrue(r.err().contains("fix: give --password-file FILE holding role " + s.role() + "'s password"), r.err());
            assertTrue(r.err().contains("./jbang replication-role --role " + s.role() + " --reset-password --password-out "
                    + s.passwordFile()), r.err());
            assertFalse(r.err().contains("PGPASSWORD") || r.err().contains("--pg-password-file"), r.err());
            assertFalse(r.all().contains("not-the-password"), "no secret in the output");
        }
    }
}
