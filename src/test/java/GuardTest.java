import static org.junit.jupiter.api.Assertions.*;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.ConnInfo;
import neonmz.Exit;

/**
 * guard on real PostgreSQL: the lab's shop published as mz_source (with "Order Items" and we"ird), the guard installed
 * by the server's superuser (event triggers need one; the lab's neondb_owner is, like a Neon role, a member of
 * neon_superuser, which plain PostgreSQL does not honour), then TRUNCATE, DELETE and DDL run as the owner.
 */
class GuardTest {
    /** The environment of a run as the server's superuser (postgres), the password in PGPASSWORD. */
    static Map<String, String> superEnv(String db) {
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        ConnInfo ci = TestPg.server().superConn(db);
        env.put("DATABASE_URL", "postgresql://postgres@127.0.0.1:" + TestPg.server().port() + "/" + db + "?sslmode=disable");
        env.put("PGPASSWORD", ci.password());
        return env;
    }

    static TestPg.Run guard(String db, String... args) {
        return TestPg.run(new Guard(), superEnv(db), args);
    }

    /** Runs SQL as the owner (neondb_owner); the error's message, or null when it ran. */
    static String asOwner(String db, String... sqls) {
        try (Connection c = TestPg.ownerConn(db); Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
            return null;
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    static List<Map<String, Object>> log(String db) {
        return TestPg.rows(db, "SELECT role_name, command_tag, object_identity, verdict, change, statement "
                + "FROM neonmz_guard.ddl_log ORDER BY id");
    }

    /** The guard's own objects, to prove a run left nothing (or changed nothing). */
    static String guardObjects(String db) {
        return TestPg.rows(db, "SELECT nspname FROM pg_namespace WHERE nspname = 'neonmz_guard'").toString()
                + TestPg.rows(db, "SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'neonmz_guard_truncate' ORDER BY 1")
                + TestPg.rows(db, "SELECT evtname FROM pg_event_trigger ORDER BY 1");
    }

    @Test
    void refusesTruncateNamingDeleteAndLogsDdlOnPublishedTablesOnly() {
        String db = EvolveTest.shop();
        TestPg.Run r = guard(db);
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("guard mz_source: installed: 5 tables (TRUNCATE refused), DDL on them logged"), r.out());
        assertTrue(r.out().contains("public.\"we\"\"ird\""), r.out());
        assertEquals("[{nspname=neonmz_guard}][{t=\"Order Items\"}, {t=\"we\"\"ird\"}, {t=customers}, {t=orders}, {t=page_views}]"
                + "[{evtname=neonmz_guard_ddl_end}, {evtname=neonmz_guard_ddl_start}]", guardObjects(db));

        String refused = asOwner(db, "TRUNCATE page_views");
        assertNotNull(refused, "TRUNCATE ran");
        assertTrue(refused.contains("neonmz guard: TRUNCATE public.page_views refused: Materialize stops ingesting a "
                + "truncated table for good (\"table was truncated\")"), refused);
        assertTrue(refused.contains("use DELETE FROM public.page_views instead"), refused);
        String weird = asOwner(db, "TRUNCATE \"we\"\"ird\"");
        assertTrue(weird.contains("DELETE FROM public.\"we\"\"ird\""), weird);
        assertNull(asOwner(db, "DELETE FROM page_views"), "DELETE still works");
        assertEquals(0, TestPg.rows(db, "SELECT 1 FROM page_views").size());

        assertNull(asOwner(db, "ALTER TABLE customers ADD COLUMN phone text", "ALTER TABLE unpublished ADD COLUMN x int",
                "ALTER TABLE \"Order Items\" RENAME COLUMN quantity TO qty", "CREATE TABLE not_published (id int)"));
        List<Map<String, Object>> log = log(db);
        assertEquals(2, log.size(), log.toString());
        assertEquals("neondb_owner", log.get(0).get("role_name"));
        assertEquals("ALTER TABLE", log.get(0).get("command_tag"));
        assertEquals("public.customers", log.get(0).get("object_identity"));
        assertEquals("safe", log.get(0).get("verdict"));
        assertEquals("column phone text added", log.get(0).get("change"));
        assertEquals("ALTER TABLE customers ADD COLUMN phone text", log.get(0).get("statement"));
        assertEquals("public.\"Order Items\"", log.get(1).get("object_identity"));
        assertEquals("breaks", log.get(1).get("verdict"), "logged, not refused, without --strict");
        assertEquals("column quantity renamed to qty", log.get(1).get("change"));

        TestPg.Run again = guard(db, "--json");
        assertEquals(Exit.OK, again.exit(), again.all());
        JsonObject j = again.json();
        assertTrue(j.get("already_done").getAsBoolean(), again.out());
        assertEquals(0, j.getAsJsonArray("statements").size(), again.out());
        assertTrue(guard(db).out().contains("guard mz_source: already done: 5 tables (TRUNCATE refused), DDL on them logged"));
    }

    @Test
    void strictRefusesTheBreakingKindsAndAllowsTheSafeOnes() {
        String db = EvolveTest.shop();
        assertEquals(Exit.OK, guard(db, "--strict").exit());
        String[][] refused = {
            {"ALTER TABLE page_views DROP COLUMN referrer", "column referrer dropped"},
            {"ALTER TABLE \"we\"\"ird\" ALTER COLUMN code TYPE varchar(20)", "column code type character varying(2) → character varying(20)"},
            {"ALTER TABLE customers ALTER COLUMN name DROP NOT NULL", "column name DROP NOT NULL"},
            {"ALTER TABLE page_views RENAME COLUMN referrer TO referer", "column referrer renamed to referer"},
            {"ALTER TABLE page_views RENAME TO views", "renamed to public.views"},
            {"DROP TABLE page_views", "table dropped"},
            {"ALTER TABLE \"we\"\"ird\" DROP CONSTRAINT \"we\"\"ird_pkey\"", "primary key \"we\"\"ird_pkey\" dropped or changed"},
            {"ALTER PUBLICATION mz_source DROP TABLE page_views", "removed from the publication"},
            {"ALTER TABLE \"Order Items\" REPLICA IDENTITY DEFAULT", "REPLICA IDENTITY no longer FULL"},
            {"CREATE SCHEMA s2; ALTER TABLE page_views SET SCHEMA s2", "renamed to s2.page_views"},
        };
        String before = TestPg.catalogState(db);
        for (String[] c : refused) {
            String msg = asOwner(db, "BEGIN; " + c[0] + "; COMMIT");
            assertNotNull(msg, "ran: " + c[0]);
            assertTrue(msg.contains("neonmz guard:") && msg.contains("refused: Materialize would stop ingesting"), msg);
            assertTrue(msg.contains("(" + c[1] + ")"), c[0] + ": " + msg);
            assertTrue(msg.contains("./jbang evolve --migration FILE"), msg);
        }
        assertEquals(before, TestPg.catalogState(db), "every refused command was rolled back");
        assertNull(asOwner(db, "ALTER TABLE page_views ADD COLUMN x int", "ALTER TABLE \"we\"\"ird\" ALTER COLUMN note SET NOT NULL",
                "ALTER TABLE page_views ADD PRIMARY KEY (viewed_at, path)", "CREATE INDEX ON page_views (path)",
                "ALTER TABLE unpublished DROP COLUMN v"));
        assertEquals(List.of("column x integer added", "column note SET NOT NULL", "primary key page_views_pkey added"),
                log(db).stream().map(m -> m.get("change")).toList());
        // on purpose: SET LOCAL neonmz.guard = off lets it through, and it is logged
        assertNull(asOwner(db, "BEGIN; SET LOCAL neonmz.guard = off; ALTER TABLE page_views DROP COLUMN x; "
                + "TRUNCATE page_views; COMMIT"));
        List<Map<String, Object>> log = log(db);
        assertEquals("column x dropped (allowed: neonmz.guard = off)", log.get(3).get("change"));
        assertEquals("TRUNCATE (allowed: neonmz.guard = off)", log.get(4).get("change"));
        assertEquals("breaks", log.get(4).get("verdict"));
    }

    @Test
    void removeRemovesEverythingAndIsIdempotent() {
        String db = EvolveTest.shop();
        String bare = guardObjects(db);
        assertEquals(Exit.OK, guard(db).exit());
        // a table that left the publication keeps its trigger until guard runs again: --remove removes it too
        assertNull(asOwner(db, "ALTER TABLE customers ADD COLUMN phone text", "ALTER PUBLICATION mz_source DROP TABLE page_views"));
        // the event triggers belong to the superuser that made them: the owner may not drop them, and nothing goes
        String installed = guardObjects(db);
        TestPg.Run denied = BadInputTest.failsCleanly(Exit.PERMISSION, Guard::new, TestPg.env(db), "--remove");
        assertTrue(denied.err().contains("role neondb_owner may not read the guard's schema neonmz_guard (it belongs to "
                + "postgres); nothing was changed"), denied.err());
        TestPg.exec(db, "GRANT USAGE ON SCHEMA neonmz_guard TO neondb_owner",
                "GRANT SELECT ON ALL TABLES IN SCHEMA neonmz_guard TO neondb_owner");
        denied = BadInputTest.failsCleanly(Exit.PERMISSION, Guard::new, TestPg.env(db), "--remove");
        assertTrue(denied.err().contains("role neondb_owner may not drop the guard's event triggers (must be owner of "
                + "event trigger neonmz_guard_ddl_end)"), denied.err());
        assertEquals(installed, guardObjects(db));
        TestPg.Run r = guard(db, "--remove");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.err().contains("the DDL log went with the schema (2 entries)"), r.all());
        assertTrue(r.out().contains("guard: removed: 5 TRUNCATE triggers, 2 event triggers, the neonmz_guard schema"), r.out());
        assertEquals(bare, guardObjects(db));
        assertNull(asOwner(db, "TRUNCATE page_views"));
        TestPg.Run again = guard(db, "--remove", "--json");
        assertEquals(Exit.OK, again.exit(), again.all());
        assertTrue(again.json().get("already_done").getAsBoolean(), again.out());
    }

    @Test
    void dryRunPrintsTheStatementsAndChangesNothing() {
        String db = EvolveTest.shop();
        String before = TestPg.catalogState(db) + guardObjects(db);
        TestPg.Run r = guard(db, "--dry-run", "--strict", "--verify");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("CREATE SCHEMA neonmz_guard;"), r.out());
        assertTrue(r.out().contains("CREATE TRIGGER neonmz_guard_truncate BEFORE TRUNCATE ON public.\"we\"\"ird\" FOR EACH "
                + "STATEMENT EXECUTE FUNCTION neonmz_guard.refuse_truncate();"), r.out());
        assertTrue(r.out().contains("CREATE EVENT TRIGGER neonmz_guard_ddl_end ON ddl_command_end WHEN TAG IN ('ALTER TABLE'"), r.out());
        assertTrue(r.out().contains("ALTER TABLE public.\"Order Items\" DROP COLUMN neonmz_guard_probe;"), r.out());
        assertTrue(r.out().contains("guard mz_source: would be installed"), r.out());
        assertEquals(before, TestPg.catalogState(db) + guardObjects(db));
        assertEquals(Exit.OK, guard(db).exit());
        String installed = guardObjects(db);
        TestPg.Run remove = guard(db, "--remove", "--dry-run");
        assertTrue(remove.out().contains("DROP SCHEMA IF EXISTS neonmz_guard CASCADE;"), remove.out());
        assertEquals(installed, guardObjects(db));
    }

    @Test
    void aRoleThatMayNotCreateEventTriggersGetsNeonSuperuserAndTruncateOnlyAndNothingIsLeft() {
        String db = EvolveTest.shop();
        String before = TestPg.catalogState(db) + guardObjects(db);
        // neondb_owner is a member of neon_superuser; plain PostgreSQL still refuses it event triggers
        TestPg.Run r = BadInputTest.failsCleanly(Exit.PERMISSION, Guard::new, TestPg.env(db));
        assertTrue(r.err().contains("role neondb_owner may not create event triggers (the server refused: permission "
                + "denied to create event trigger"), r.err());
        assertTrue(r.err().contains("the role is a member of neon_superuser"), r.err());
        assertTrue(r.err().contains("./jbang guard --truncate-only"), r.err());
        assertEquals(before, TestPg.catalogState(db) + guardObjects(db), "one transaction: nothing left");
        // a role outside neon_superuser is told before anything is tried
        TestPg.exec(db, "CREATE ROLE guard_plain LOGIN PASSWORD 'Plain-pw-1'");
        Map<String, String> plain = new HashMap<>(TestPg.env(db));
        plain.put("DATABASE_URL", "postgresql://guard_plain@127.0.0.1:" + TestPg.server().port() + "/" + db + "?sslmode=disable");
        plain.put("PGPASSWORD", "Plain-pw-1");
        TestPg.Run p = BadInputTest.failsCleanly(Exit.PERMISSION, Guard::new, plain, "--dry-run");
        assertTrue(p.err().contains("it is neither a superuser nor a member of neon_superuser"), p.err());

        // --truncate-only needs neither
        TestPg.Run t = TestPg.run(new Guard(), TestPg.env(db), "--truncate-only", "--verify");
        assertEquals(Exit.OK, t.exit(), t.all());
        assertTrue(t.out().contains("DDL not logged (--truncate-only)"), t.out());
        assertTrue(t.out().contains("guard: --verify: 1 of 1 checks passed"), t.out());
        assertNotNull(asOwner(db, "TRUNCATE orders CASCADE"));
        assertTrue(TestPg.rows(db, "SELECT 1 FROM pg_event_trigger").isEmpty());
        assertTrue(TestPg.run(new Guard(), TestPg.env(db), "--truncate-only").out().contains("already done"));
        // the superuser makes it whole later: event triggers added to the same schema
        TestPg.Run full = guard(db, "--strict", "--verify");
        assertEquals(Exit.OK, full.exit(), full.all());
        assertTrue(full.out().contains("guard: --verify: 3 of 3 checks passed"), full.out());
        BadInputTest.failsCleanly(Exit.USAGE, Guard::new, TestPg.env(db), "--strict", "--truncate-only");
        BadInputTest.failsCleanly(Exit.USAGE, Guard::new, TestPg.env(db), "--remove", "--strict");
        BadInputTest.failsCleanly(Exit.NOT_FOUND, Guard::new, TestPg.env(db), "--truncate-only", "--publication", "nope");
    }

    @Test
    void theLogKeepsWhoRanItAndNoPasswords() {
        String db = EvolveTest.shop();
        assertEquals(Exit.OK, guard(db).exit());
        TestPg.exec(db, "CREATE ROLE guard_app NOLOGIN", "GRANT guard_app TO neondb_owner", "ALTER TABLE orders OWNER TO guard_app");
        // one string, two statements: the ALTER ROLE's password is in current_query() of the ALTER TABLE
        assertNull(asOwner(db, "SET ROLE guard_app; ALTER TABLE orders ADD COLUMN note text; "
                + "ALTER ROLE guard_app PASSWORD 'Gu4rd-S3cret'; RESET ROLE"));
        List<Map<String, Object>> log = log(db);
        assertEquals("ALTER TABLE orders OWNER TO guard_app", log.get(0).get("statement"));
        assertEquals("nothing Materialize checks changed", log.get(0).get("change"));
        assertEquals(2, log.size(), "ALTER ROLE is not logged: " + log);
        assertEquals("guard_app", log.get(1).get("role_name"), "SET ROLE's role, not the session's");
        assertEquals("column note text added", log.get(1).get("change"));
        assertFalse(log.toString().contains("Gu4rd-S3cret"), log.toString());
        // a client that sends several statements as one simple query: current_query() is all of them, masked
        String masked = (String) TestPg.rows(db, "SELECT neonmz_guard.masked('ALTER TABLE orders ADD COLUMN b int; "
                + "ALTER ROLE a PASSWORD ''Gu4rd-S3cret''; ALTER USER MAPPING FOR a SERVER s OPTIONS (SET password "
                + "E''Gu4rd-''''S3cret2''); CREATE ROLE b PASSWORD''x''') AS m").get(0).get("m");
        assertEquals("ALTER TABLE orders ADD COLUMN b int; ALTER ROLE a PASSWORD '********'; ALTER USER MAPPING FOR a "
                + "SERVER s OPTIONS (SET password '********'); CREATE ROLE b PASSWORD'********'", masked);
        assertEquals(2000, ((String) TestPg.rows(db, "SELECT neonmz_guard.masked(repeat('x', 5000)) AS m").get(0).get("m")).length());
    }

    @Test
    void evolveStillJudgesAMigrationOnAStrictlyGuardedDatabase() throws Exception {
        String db = EvolveTest.shop();
        assertEquals(Exit.OK, guard(db, "--strict").exit());
        TestPg.Run r = EvolveTest.evolve(db, "TRUNCATE page_views;\nALTER TABLE customers DROP COLUMN email;\n");
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        assertEquals("breaks", EvolveTest.verdict(r, "public.page_views"));
        assertEquals("breaks", EvolveTest.verdict(r, "public.customers"));
        assertTrue(log(db).isEmpty(), "the check was rolled back, its log rows too");
    }

    @Test
    void tablesPublishedLaterAreGuardedByTheNextRunAndUnpublishedOnesLoseTheTrigger() {
        String db = EvolveTest.shop();
        assertEquals(Exit.OK, guard(db).exit());
        assertNull(asOwner(db, "ALTER PUBLICATION mz_source ADD TABLE unpublished",
                "ALTER PUBLICATION mz_source DROP TABLE page_views"));
        assertEquals(List.of("added to the publication (ingested after ./jbang source --add-new-tables)",
                "removed from the publication"), log(db).stream().map(m -> m.get("change")).toList());
        TestPg.Run r = guard(db, "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertEquals("[\"public.unpublished\"]", r.json().get("added").toString());
        assertEquals("[\"public.page_views\"]", r.json().get("removed").toString());
        assertNotNull(asOwner(db, "TRUNCATE unpublished"));
        assertNull(asOwner(db, "TRUNCATE page_views"));
    }

    @Test
    void watchShowsTheLoggedDdlOnceAndTheTablesLeftUnguarded() {
        String db = EvolveTest.shop();
        TestPg.exec(db, "CREATE ROLE watch_guard LOGIN", "GRANT USAGE ON SCHEMA public TO watch_guard",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO watch_guard");
        TestPg.Run before = TestPg.run(new Watch(), TestPg.env(db), "--once", "--role", "watch_guard", "--json");
        assertFalse(before.out().contains("schema_change") || before.out().contains("unguarded"), before.out());
        assertTrue(before.out().contains("\"guard\":\"absent\""), before.out());
        // installed by neondb_owner (--truncate-only: no superuser), so that role reads the log; the event triggers
        // are added by the superuser into the same schema
        assertEquals(Exit.OK, TestPg.run(new Guard(), TestPg.env(db), "--truncate-only").exit());
        assertEquals(Exit.OK, guard(db).exit());
        assertNull(asOwner(db, "ALTER TABLE \"we\"\"ird\" ADD COLUMN phone text", "ALTER TABLE page_views DROP COLUMN referrer",
                "ALTER PUBLICATION mz_source ADD TABLE unpublished"));
        TestPg.Run r = TestPg.run(new Watch(), TestPg.env(db), "--once", "--role", "watch_guard", "--fail-on", "schema");
        assertEquals(Exit.DRIFT, r.exit(), r.all());
        assertTrue(r.out().matches("(?s).*new +schema_change +public\\.\"we\"\"ird\": ALTER TABLE by neondb_owner at "
                + "\\S+Z: column phone text added \\(safe for Materialize\\).*"), r.out());
        assertTrue(r.out().matches("(?s).*new +schema_change +public\\.page_views: ALTER TABLE by neondb_owner at \\S+: "
                + "column referrer dropped \\(Materialize stops ingesting the table\\)\n +fix: ./jbang monitor shows the "
                + "table's error; ./jbang evolve --migration FILE.*"), r.out());
        assertTrue(r.out().matches("(?s).*new +unguarded_table +public\\.unpublished: published, but its TRUNCATE is "
                + "not refused.*\n +fix: ./jbang guard \\(with the options.*"), r.out());
        // a watch that goes on says each DDL once, and never "cleared"
        TestPg.Run ticks = TestPg.run(new Watch(), TestPg.env(db), "--ticks", "2", "--interval", "1s", "--role", "watch_guard");
        assertEquals(Exit.OK, ticks.exit(), ticks.all());
        assertEquals(3, ticks.out().lines().filter(l -> l.matches(".* new +schema_change .*")).count(), ticks.out());
        assertFalse(ticks.out().matches("(?s).* cleared +schema_change .*"), ticks.out());
        // the dry run shows the query
        TestPg.Run plan = TestPg.run(new Watch(), TestPg.env(db), "--dry-run");
        assertTrue(plan.out().contains("FROM neonmz_guard.ddl_log WHERE at > now() - interval '60000 milliseconds'"), plan.out());
    }

    @Test
    void aForAllTablesPublicationLeavesTheGuardsOwnTablesOut() {
        String db = EvolveTest.shop();
        TestPg.exec(db, "CREATE PUBLICATION pall FOR ALL TABLES");
        TestPg.Run r = guard(db, "--publication", "pall");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.err().contains("publication pall is FOR ALL TABLES, so it also publishes neonmz_guard.settings and "
                + "neonmz_guard.ddl_log: a source of all its tables ingests them (they are REPLICA IDENTITY FULL), and the "
                + "replication role needs SELECT on them (./jbang grants --schema neonmz_guard)"), r.all());
        // the snapshot is UNLOGGED, so never published; the guard's tables get no TRUNCATE trigger
        assertEquals("[{t=neonmz_guard.ddl_log}, {t=neonmz_guard.settings}]", TestPg.rows(db, "SELECT schemaname || '.' || "
                + "tablename AS t FROM pg_publication_tables WHERE pubname = 'pall' AND schemaname = 'neonmz_guard' ORDER BY 1")
                .toString());
        assertTrue(guardObjects(db).contains("{t=unpublished}") && !guardObjects(db).contains("neonmz_guard."), guardObjects(db));
        assertTrue(guard(db, "--publication", "pall").out().contains("already done"));
        // a table made later is published at once: its next DDL is judged against its shape from before that DDL
        assertNull(asOwner(db, "CREATE TABLE later (id int PRIMARY KEY, v text)", "ALTER TABLE later DROP COLUMN v"));
        assertEquals("column v dropped", log(db).get(0).get("change"));
        TestPg.Run w = TestPg.run(new Watch(), TestPg.env(db), "--once", "--publication", "pall", "--role", "neondb_owner");
        assertTrue(w.out().contains("unguarded_table    public.later"), w.out());
        // published, so watched like any other table: FULL already, not guarded against TRUNCATE (it is the guard)
        assertFalse(w.out().matches("(?s).*(replica_identity|unguarded_table) +neonmz_guard\\..*"), w.out());
    }
}
