import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * C.3 against the real upstream, without a Materialize: TEXT COLUMNS found from the catalog (each with
 * its reason), table and column selection, odd names, and the errors a user can make, all before
 * anything is created. Live runs reach only as far as "cannot reach Materialize".
 */
class CreateSourceTest {
    static String db;

    @BeforeAll
    static void setUp() {
        db = SourceFixtures.database();
    }

    static Map<String, String> env(String database) throws Exception {
        Map<String, String> env = new HashMap<>(TestPg.env(database));
        env.put("MZ_URL", "postgresql://materialize@127.0.0.1:" + TestPg.freePort() + "/materialize");
        return env;
    }

    static JsonObject plan(String database, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--dry-run");
        a.add("--json");
        TestPg.Run r = TestPg.run(new CreateSource(), env(database), a.toArray(String[]::new));
        assertEquals(0, r.exit(), r.all());
        return r.json();
    }

    /** column → reason, from the plan's text_columns. */
    static Map<String, String> textColumns(JsonObject j) {
        Map<String, String> m = new HashMap<>();
        for (JsonElement e : j.getAsJsonArray("text_columns")) {
            m.put(e.getAsJsonObject().get("column").getAsString(), e.getAsJsonObject().get("reason").getAsString());
        }
        return m;
    }

    static List<String> statements(JsonObject j) {
        List<String> s = new ArrayList<>();
        j.getAsJsonArray("statements").forEach(e -> s.add(e.getAsString()));
        return s;
    }

    @Test
    void theLabsEnumGoesToTextColumnsWithItsReason() throws Exception {
        JsonObject j = plan(db);
        Map<String, String> text = textColumns(j);
        assertEquals(List.of("public.orders.status"), new ArrayList<>(text.keySet()));
        assertTrue(text.get("public.orders.status").contains("enum"), text.toString());
        assertTrue(text.get("public.orders.status").contains("ordering"), text.toString());
        assertEquals("new", j.get("syntax").getAsString(), "Materialize's default from v26.25");
        assertTrue(j.get("syntax_reason").getAsString().contains("dry run"), j.toString());
        assertTrue(j.get("syntax_reason").getAsString().contains("--syntax legacy for an older release"), j.toString());
        // numeric, jsonb, timestamptz, bigint, text: ingested as they are
        assertFalse(text.containsKey("public.orders.total"));
        assertFalse(text.containsKey("public.\"Order Items\".attributes"));
    }

    @Test
    void everyKindOfUnsupportedTypeIsFoundAndExplained() throws Exception {
        Map<String, String> text = textColumns(plan(db, "--publication", "mz_types"));
        String inv = "\"Sales Ops\".\"Invoice \"\"Q1\"\"\".";
        assertTrue(text.get(inv + "amount").contains("money") && text.get(inv + "amount").contains("cannot be cast back to numeric"), text.toString());
        assertTrue(text.get(inv + "qty").startsWith("domain over integer"), text.toString());
        assertTrue(text.get(inv + "\"Ünïcode Spot\"").startsWith("composite type"), text.toString());
        assertTrue(text.get(inv + "moods").startsWith("array of \"Sales Ops\".mood (an enum)"), text.toString());
        assertTrue(text.get(inv + "client").contains("inet"), text.toString());
        assertTrue(text.get("\"Sales Ops\".orders.status").startsWith("enum"), text.toString());
        assertTrue(text.get("public.orders.status").startsWith("enum"), text.toString());
        assertFalse(text.containsKey(inv + "tags"), "text[] is supported: " + text);
        assertFalse(text.containsKey(inv + "id"), text.toString());
        assertEquals(7, text.size(), text.toString());
    }

    @Test
    void humanOutputNamesEachTextColumnAndWhy() throws Exception {
        TestPg.Run r = TestPg.run(new CreateSource(), env(db), "--publication", "mz_types", "--dry-run",
                "--syntax", "legacy");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("-- dry run: no Materialize was contacted"), r.out());
        assertTrue(r.out().contains("\"Sales Ops\".\"Invoice \"\"Q1\"\"\".amount"), r.out());
        assertTrue(r.out().contains("money: it arrives as text, which cannot be cast back to numeric"), r.out());
        assertTrue(r.out().matches("(?s).*\n\"Sales Ops\"\\.orders +\"Sales Ops_orders\" +status\n.*"), r.out());
        assertTrue(r.out().contains("source mz_source: would be created (legacy syntax, FOR TABLES: 3 subsources, 7 text columns)"), r.out());
    }

    @Test
    void regTypesAreIngestedAsText() throws Exception {
        // Materialize refuses a reg* column unless it is in TEXT COLUMNS ("… which Materialize cannot currently
        // ingest", hint "use TEXT COLUMNS"), and then ingests it as text: test/pg-cdc/types-reg.td
        String d = TestPg.newDatabase();
        TestPg.execAsOwner(d, "CREATE TABLE catalog_refs (id int PRIMARY KEY, rel regclass, procs regproc[], note text)",
                "ALTER TABLE catalog_refs REPLICA IDENTITY FULL", "CREATE PUBLICATION mz_source FOR TABLE catalog_refs");
        for (String syntax : List.of("legacy", "new")) {
            JsonObject j = plan(d, "--syntax", syntax);
            Map<String, String> text = textColumns(j);
            assertTrue(text.get("public.catalog_refs.rel").startsWith("regclass: a reg* type"), text.toString());
            assertTrue(text.get("public.catalog_refs.procs").startsWith("regproc[]: a reg* type"), text.toString());
            assertTrue(String.join("\n", statements(j)).contains("TEXT COLUMNS"), statements(j).toString());
        }
        JsonObject j = plan(d, "--syntax", "legacy", "--exclude-column", "catalog_refs.rel");
        assertTrue(statements(j).get(0).contains("EXCLUDE COLUMNS (public.catalog_refs.rel)"), j.toString());
    }

    @Test
    void publicationColumnListsAreHonoured() throws Exception {
        String d = TestPg.newDatabase();
        TestPg.execAsOwner(d, "ALTER TABLE orders REPLICA IDENTITY FULL",
                "CREATE PUBLICATION mz_source FOR TABLE orders (id, customer_id, total)");
        JsonObject j = plan(d);
        assertEquals(0, j.getAsJsonArray("text_columns").size(), "status is not published: " + j);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, CreateSource::new, env(d), "--dry-run",
                "--text-column", "orders.status");
        assertTrue(BadInputTest.message(r).contains("no published column status"), r.err());
    }

    @Test
    void selectionByTablesAndSchemas() throws Exception {
        JsonObject j = plan(db, "--syntax", "legacy", "--for-tables", "customers, \"Order Items\"");
        String sql = statements(j).get(0);
        assertTrue(sql.endsWith("FOR TABLES (public.customers, public.\"Order Items\")"), sql);
        assertFalse(sql.contains("TEXT COLUMNS"), "orders is not added: " + sql);
        j = plan(db, "--syntax", "legacy", "--for-tables", "PUBLIC.ORDERS");   // unquoted: folded as PostgreSQL would
        assertTrue(statements(j).get(0).contains("FOR TABLES (public.orders)"), j.toString());
        j = plan(db, "--syntax", "legacy", "--publication", "mz_types", "--for-schemas", "\"Sales Ops\"");
        assertTrue(statements(j).get(0).endsWith("FOR SCHEMAS (\"Sales Ops\")"), j.toString());
        TestPg.Run r = BadInputTest.failsCleanly(Exit.USAGE, CreateSource::new, env(db), "--publication", "mz_types",
                "--for-tables", "orders", "--dry-run");
        assertTrue(BadInputTest.message(r).contains("more than one schema"), r.err());
    }

    @Test
    void mistakesAreNamedBeforeAnythingIsCreated() throws Exception {
        String before = TestPg.catalogState(db);
        Object[][] cases = {
            {Exit.NOT_FOUND, "./jbang publication", new String[] {"--publication", "nope"}},
            {Exit.NOT_FOUND, "./jbang publication", new String[] {"--for-tables", "products"}},
            {Exit.NOT_FOUND, "./jbang publication", new String[] {"--for-schemas", "sales"}},
            {Exit.USAGE, "choose one", new String[] {"--for-tables", "orders", "--for-schemas", "public"}},
            {Exit.USAGE, "--syntax legacy", new String[] {"--syntax", "newest"}},
            {Exit.NOT_FOUND, "its columns", new String[] {"--text-column", "orders.nope"}},
            {Exit.NOT_FOUND, "published table", new String[] {"--exclude-column", "nope.id"}},
            {Exit.USAGE, "add the table", new String[] {"--for-tables", "customers", "--text-column", "orders.total"}},
            {Exit.USAGE, "keep one", new String[] {"--text-column", "orders.total", "--exclude-column", "orders.total"}},
            {Exit.USAGE, "schema.table.column", new String[] {"--text-column", "status"}},
            {Exit.USAGE, "close the quote", new String[] {"--text-column", "\"Order Items.sku"}},
        };
        for (Object[] c : cases) {
            List<String> a = new ArrayList<>(List.of((String[]) c[2]));
            a.add("--dry-run");
            TestPg.Run r = BadInputTest.failsCleanly((Integer) c[0], CreateSource::new, env(db), a.toArray(String[]::new));
            assertTrue(r.err().contains((String) c[1]), List.of((String[]) c[2]) + ": " + r.err());
        }
        String empty = TestPg.newDatabase();
        TestPg.execAsOwner(empty, "CREATE PUBLICATION mz_source");
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, CreateSource::new, env(empty), "--dry-run");
        assertTrue(BadInputTest.message(r).contains("is empty"), r.err());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void replicaIdentityAndPartitionRootAreWarnedInAPlan() throws Exception {
        String d = TestPg.newDatabase();
        TestPg.execAsOwner(d, "CREATE PUBLICATION mz_source FOR TABLE orders WITH (publish_via_partition_root = true)");
        TestPg.Run r = TestPg.run(new CreateSource(), env(d), "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.err().contains("lack REPLICA IDENTITY FULL") && r.err().contains("./jbang replica-identity"), r.err());
        assertTrue(r.err().contains("publish_via_partition_root = true"), r.err());
    }

    @Test
    void poolerAndUnreachableMaterialize() throws Exception {
        TestPg.Run r = BadInputTest.failsCleanly(Exit.POOLER, CreateSource::new, env(db), "--pg-url",
                "postgresql://o@" + BadInputTest.POOLER_HOST + "/neondb", "--dry-run");
        assertTrue(BadInputTest.fix(r).contains(BadInputTest.DIRECT_HOST), r.err());
        // a real run reads the upstream, then stops at Materialize; nothing upstream changes (not even ANALYZE)
        String before = TestPg.catalogState(db);
        r = BadInputTest.failsCleanly(Exit.CONNECT, CreateSource::new, env(db), "--analyze");
        assertTrue(BadInputTest.message(r).contains("cannot reach Materialize"), r.err());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void materializeNamesForTablesThatShareAName() {
        List<SourcePlan.Tbl> t = List.of(new SourcePlan.Tbl("public", "orders", 'f', List.of()),
                new SourcePlan.Tbl("sales", "orders", 'f', List.of()),
                new SourcePlan.Tbl("public", "customers", 'f', List.of()));
        Map<String, String> n = SourcePlan.mzNames(t, List.of());
        assertEquals(List.of("public_orders", "sales_orders", "customers"), new ArrayList<>(n.values()));
        // a table the source has already counts too
        Map<String, String> added = SourcePlan.mzNames(List.of(t.get(1)), List.<String[]>of(new String[] {"public", "orders"}));
        assertEquals("sales_orders", added.get(t.get(1).key()));
    }

    @Test
    void helpHasAnExampleAndTheExitCodes() {
        TestPg.Run r = TestPg.run(new CreateSource(), Map.of(), "--help");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("Example"), r.out());
        assertTrue(r.out().contains("Exit codes:"), r.out());
    }
}
