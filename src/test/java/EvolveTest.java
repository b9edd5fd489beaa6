import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * evolve --migration on real PostgreSQL: the lab's shop published as mz_source (customers, orders, "Order Items",
 * page_views; orders.status an enum, so ingested as text), one migration a test, the verdict per table by
 * Materialize's rules, and the upstream unchanged afterwards (catalog and data).
 */
class EvolveTest {
    /** A fresh lab database with the shop published, plus a table outside the publication and an odd name. */
    static String shop() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE TABLE \"we\"\"ird\" (id int PRIMARY KEY, code varchar(2) NOT NULL, note text)",
                "CREATE TABLE unpublished (id int PRIMARY KEY, v int)",
                "ALTER TABLE customers REPLICA IDENTITY FULL", "ALTER TABLE orders REPLICA IDENTITY FULL",
                "ALTER TABLE \"Order Items\" REPLICA IDENTITY FULL", "ALTER TABLE page_views REPLICA IDENTITY FULL",
                "ALTER TABLE \"we\"\"ird\" REPLICA IDENTITY FULL",
                "CREATE PUBLICATION mz_source FOR TABLE customers, orders, \"Order Items\", page_views, \"we\"\"ird\"");
        return db;
    }

    static Path file(String sql) throws IOException {
        Path f = Files.createTempFile("migration", ".sql");
        Files.writeString(f, sql, StandardCharsets.UTF_8);
        return f;
    }

    static TestPg.Run evolve(String db, String sql, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("--migration", file(sql).toString(), "--json"));
        args.addAll(List.of(more));
        return TestPg.run(new Evolve(), TestPg.env(db), args.toArray(String[]::new));
    }

    static JsonObject table(TestPg.Run r, String table) {
        for (JsonElement e : r.json().getAsJsonArray("tables")) {
            if (e.getAsJsonObject().get("table").getAsString().equals(table)) {
                return e.getAsJsonObject();
            }
        }
        return null;
    }

    static String verdict(TestPg.Run r, String table) {
        JsonObject t = table(r, table);
        return t == null ? null : t.get("verdict").getAsString();
    }

    /** Each change alone, on a fresh copy: the verdict Materialize's rules give. */
    @Test
    void eachChangeGetsMaterializesVerdict() throws Exception {
        Object[][] cases = {
            {"ALTER TABLE customers ADD COLUMN phone text", "public.customers", "safe", Exit.OK},
            {"ALTER TABLE customers ALTER COLUMN name SET NOT NULL, ADD COLUMN x int NOT NULL DEFAULT 1", "public.customers", "safe", Exit.OK},
            {"UPDATE page_views SET customer_id = 0 WHERE customer_id IS NULL;\n"
                    + "ALTER TABLE page_views ALTER COLUMN customer_id SET NOT NULL", "public.page_views", "safe", Exit.OK},
            {"ALTER TABLE customers ALTER COLUMN name DROP NOT NULL", "public.customers", "breaks", Exit.VERIFY},
            {"ALTER TABLE \"we\"\"ird\" ALTER COLUMN code TYPE varchar(20)", "public.\"we\"\"ird\"", "breaks", Exit.VERIFY},
            {"ALTER TABLE \"Order Items\" ALTER COLUMN quantity TYPE bigint", "public.\"Order Items\"", "breaks", Exit.VERIFY},
            {"ALTER TABLE page_views ADD PRIMARY KEY (viewed_at, path)", "public.page_views", "safe", Exit.OK},
            {"ALTER TABLE \"we\"\"ird\" DROP CONSTRAINT \"we\"\"ird_pkey\"", "public.\"we\"\"ird\"", "breaks", Exit.VERIFY},
            {"ALTER TABLE page_views DROP COLUMN referrer", "public.page_views", "breaks", Exit.VERIFY},
            {"ALTER TABLE page_views RENAME COLUMN referrer TO referer", "public.page_views", "breaks", Exit.VERIFY},
            {"ALTER TABLE page_views RENAME TO views", "public.page_views", "breaks", Exit.VERIFY},
            {"TRUNCATE page_views", "public.page_views", "breaks", Exit.VERIFY},
            {"DROP TABLE page_views", "public.page_views", "breaks", Exit.VERIFY},
            {"ALTER PUBLICATION mz_source DROP TABLE page_views", "public.page_views", "breaks", Exit.VERIFY},
            // an enum goes in TEXT COLUMNS (./jbang source does that by itself): its type may change
            {"ALTER TABLE orders ALTER COLUMN status TYPE text", "public.orders", "safe", Exit.OK},
            {"ALTER TABLE unpublished ALTER COLUMN v TYPE bigint", "public.unpublished", null, Exit.OK},
            {"CREATE INDEX ON page_views (path)", "public.page_views", null, Exit.OK},
            // the docs' upstream-schema-change-behavior: REPLICA IDENTITY must stay FULL
            {"ALTER TABLE \"Order Items\" REPLICA IDENTITY DEFAULT", "public.\"Order Items\"", "breaks", Exit.VERIFY},
        };
        for (Object[] c : cases) {
            String db = shop();
            String before = TestPg.catalogState(db);
            TestPg.Run r = evolve(db, (String) c[0]);
            assertEquals((int) c[3], r.exit(), c[0] + "\n" + r.all());
            assertEquals(c[2], verdict(r, (String) c[1]), c[0] + "\n" + r.out());
            assertEquals(before, TestPg.catalogState(db), "rolled back: " + c[0]);
        }
    }

    @Test
    void aBreakSaysWhatMaterializeSaysAndTheOrderThatAvoidsIt() throws Exception {
        String db = shop();
        TestPg.Run r = evolve(db, "ALTER TABLE page_views DROP COLUMN referrer;\nALTER TABLE customers ADD COLUMN phone text;\n"
                + "TRUNCATE \"we\"\"ird\";\n");
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        JsonObject pv = table(r, "public.page_views");
        assertTrue(pv.get("materialize_error").getAsString().matches(
                "incompatible schema change: source table page_views with oid \\d+ has been altered"), pv.toString());
        assertTrue(pv.get("advice").getAsString().contains("WITH (EXCLUDE COLUMNS (referrer))"), pv.toString());
        assertEquals("safe", verdict(r, "public.customers"));
        JsonObject weird = table(r, "public.\"we\"\"ird\"");
        assertEquals("table was truncated", weird.get("materialize_error").getAsString());
        assertTrue(weird.get("advice").getAsString().contains("DELETE FROM public.\"we\"\"ird\""), weird.toString());
        assertEquals(2, r.json().get("breaks").getAsInt());

        TestPg.Run legacy = evolve(db, "ALTER TABLE page_views DROP COLUMN referrer", "--syntax", "legacy");
        assertTrue(table(legacy, "public.page_views").get("advice").getAsString().contains("legacy syntax has no versions"));

        TestPg.Run human = TestPg.run(new Evolve(), TestPg.env(db), "--migration",
                file("ALTER TABLE page_views DROP COLUMN referrer").toString());
        assertEquals(Exit.VERIFY, human.exit());
        assertTrue(human.out().matches("(?s).*public\\.page_views +breaks +column referrer dropped or renamed.*"), human.out());
        assertTrue(human.out().contains("transaction that is rolled back"), human.out());
    }

    @Test
    void excludedAndTextColumnsFollowTheSourcesOptions() throws Exception {
        String db = shop();
        TestPg.Run r = evolve(db, "ALTER TABLE page_views DROP COLUMN referrer", "--exclude-column", "page_views.referrer");
        assertEquals(Exit.OK, r.exit(), r.all());
        r = evolve(db, "ALTER TABLE \"we\"\"ird\" ALTER COLUMN code TYPE varchar(20)", "--text-column", "public.\"we\"\"ird\".code");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertEquals("safe", verdict(r, "public.\"we\"\"ird\""));
        // a key naming an excluded column is not checked (src/sql/src/pure/postgres.rs)
        r = evolve(db, "ALTER TABLE \"we\"\"ird\" DROP CONSTRAINT \"we\"\"ird_pkey\"", "--exclude-column", "\"we\"\"ird\".id");
        assertEquals(Exit.OK, r.exit(), r.all());
        TestPg.Run bad = BadInputTest.failsCleanly(Exit.USAGE, Evolve::new, TestPg.env(db), "--migration",
                file("SELECT 1").toString(), "--exclude-column", "nosuch.col");
        assertTrue(bad.err().contains("no such table in publication mz_source"), bad.err());
    }

    @Test
    void theUpstreamIsUnchangedAfterACheck() throws Exception {
        String db = shop();
        String before = TestPg.catalogState(db);
        List<Map<String, Object>> rows = TestPg.rows(db, "SELECT count(*) AS n FROM page_views");
        TestPg.Run r = evolve(db, "BEGIN;\nDELETE FROM page_views;\nALTER TABLE page_views ADD COLUMN x int;\n"
                + "CREATE TABLE t_new (id int);\nCOMMIT;\n");
        assertEquals(Exit.OK, r.exit(), "its own BEGIN/COMMIT lines are the check's transaction: " + r.all());
        assertEquals(before, TestPg.catalogState(db));
        assertEquals(rows, TestPg.rows(db, "SELECT count(*) AS n FROM page_views"));
        assertTrue(TestPg.rows(db, "SELECT 1 FROM pg_class WHERE relname = 't_new'").isEmpty());
    }

    @Test
    void whatCannotBeCheckedIsRefusedAndNothingChanges() throws Exception {
        String db = shop();
        String before = TestPg.catalogState(db);
        TestPg.Run conc = BadInputTest.failsCleanly(Exit.NEEDS_OWN_RUN, Evolve::new, TestPg.env(db), "--migration",
                file("CREATE INDEX CONCURRENTLY pv_path ON page_views (path);").toString());
        assertTrue(conc.err().contains("CREATE INDEX CONCURRENTLY"), conc.err());
        TestPg.Run commit = BadInputTest.failsCleanly(Exit.NEEDS_OWN_RUN, Evolve::new, TestPg.env(db), "--migration",
                file("ALTER TABLE page_views ADD COLUMN a int; COMMIT; ALTER TABLE page_views ADD COLUMN b int;").toString());
        assertTrue(commit.err().contains("transaction commands"), commit.err());
        TestPg.Run fails = BadInputTest.failsCleanly(Exit.MIGRATION_FAILED, Evolve::new, TestPg.env(db), "--migration",
                file("ALTER TABLE page_views ADD COLUMN path text").toString());
        assertTrue(fails.err().contains("already exists"), fails.err());
        BadInputTest.failsCleanly(Exit.USAGE, Evolve::new, TestPg.env(db), "--migration", "/nonexistent/m.sql");
        BadInputTest.failsCleanly(Exit.NOT_FOUND, Evolve::new, TestPg.env(db), "--migration",
                file("SELECT 1").toString(), "--publication", "nope");
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void aLockHeldElsewhereEndsTheCheckAtLockTimeout() throws Exception {
        String db = shop();
        try (java.sql.Connection c = TestPg.ownerConn(db); java.sql.Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("LOCK TABLE page_views IN ACCESS EXCLUSIVE MODE");
            TestPg.Run r = evolve(db, "ALTER TABLE page_views ADD COLUMN x int", "--lock-timeout", "300ms");
            assertEquals(Exit.TIMEOUT, r.exit(), r.all());
            c.rollback();
        }
    }

    @Test
    void dryRunPrintsTheStatementsAndRunsNothing() throws Exception {
        String db = shop();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.run(new Evolve(), TestPg.env(db), "--migration", file("TRUNCATE page_views").toString(),
                "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("EXECUTE $migration$"), r.out());
        assertTrue(r.out().contains("ROLLBACK"), r.out());
        assertTrue(r.out().contains("SET LOCAL lock_timeout = '5000ms'"), r.out());
        assertEquals(before, TestPg.catalogState(db));
        assertEquals(1, TestPg.rows(db, "SELECT 1 FROM page_views LIMIT 1").size(), "not truncated");
        TestPg.Run pw = TestPg.run(new Evolve(), TestPg.env(db), "--migration",
                file("ALTER ROLE neondb_owner PASSWORD 'Migr4tion-S3cret';").toString(), "--dry-run", "--json");
        assertFalse(pw.all().contains("Migr4tion-S3cret"), pw.all());
        assertTrue(pw.out().contains("PASSWORD '********'"), pw.out());
    }
}
