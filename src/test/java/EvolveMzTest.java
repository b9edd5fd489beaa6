import static org.junit.jupiter.api.Assertions.*;

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
 * evolve with --mz-url, on real PostgreSQL (the upstream) and the stand-in for Materialize reached over the wire: what
 * the source ingests read from Materialize's catalog (tables or subsources, their columns, TEXT/EXCLUDE COLUMNS in
 * create_sql), drift found against the upstream now, and --apply carrying the plan out with what is built on each
 * table (views, materialized views, indexes named by id in their create_sql, as Materialize stores them), resumable.
 */
class EvolveMzTest {
    /** The shop upstream; a new-syntax source with four tables, orders.status as text and "we""ird".note left out. */
    static final class Setup {
        final String db = EvolveTest.shop();
        final MzStandIn mz = new MzStandIn();
        final Path capture;

        Setup(boolean legacy) throws Exception {
            capture = Files.createTempDirectory("evolve").resolve("capture");
            mz.upstreamDb = db;
            mz.playingDdl();
            mz.createCluster("quickstart", "scale=1,workers=1", 1);
            if (legacy) {
                mz.subsourceText.put("orders", List.of("status"));
                mz.subsourceExclude.put("we\"ird", List.of("note"));
                mz.createSource("mz_source", "quickstart", "postgres", null, new java.util.TreeMap<>(Map.of(
                        "customers", MzStandIn.Ref.of("public", "customers"), "orders", MzStandIn.Ref.of("public", "orders"),
                        "Order Items", MzStandIn.Ref.of("public", "Order Items"), "we\"ird", MzStandIn.Ref.of("public", "we\"ird"))));
            } else {
                mz.createSource("mz_source", "quickstart", null, "mz_source");
                mz.createTableFromSource("customers", "mz_source", MzStandIn.Ref.of("public", "customers"));
                mz.createTableFromSource("orders", "mz_source", MzStandIn.Ref.of("public", "orders"), List.of("status"), List.of());
                mz.createTableFromSource("Order Items", "mz_source", MzStandIn.Ref.of("public", "Order Items"));
                mz.createTableFromSource("we\"ird", "mz_source", MzStandIn.Ref.of("public", "we\"ird"), List.of(), List.of("note"));
            }
        }

        /** A view on orders, a materialized view on the view and an index on that: each in create_sql's stored form. */
        void builtOnOrders() {
            String v = mz.define("CREATE VIEW \"" + mz.db + "\".\"public\".\"orders_per_customer\" AS SELECT \"customer_id\", "
                    + "count(*) AS \"n\" FROM [" + mz.id("orders") + " AS \"" + mz.db + "\".\"public\".\"orders\"] GROUP BY 1");
            String mv = mz.define("CREATE MATERIALIZED VIEW \"" + mz.db + "\".\"public\".\"big_customers\" IN CLUSTER ["
                    + mz.clusterId("quickstart") + "] AS SELECT * FROM [" + v + " AS \"" + mz.db
                    + "\".\"public\".\"orders_per_customer\"] WHERE \"n\" > 1");
            mz.define("CREATE INDEX \"big_customers_idx\" IN CLUSTER [" + mz.clusterId("quickstart") + "] ON [" + mv + " AS \""
                    + mz.db + "\".\"public\".\"big_customers\"] (\"customer_id\")");
        }

        TestPg.Run evolve(String... args) {
            List<String> all = new ArrayList<>(List.of("--capture", capture.toString()));
            all.addAll(List.of(args));
            return TestPg.run(new Evolve(), mz.env(db), all.toArray(String[]::new));
        }

        List<String> columns(String table) {
            List<String> out = new ArrayList<>();
            TestPg.rows(mz.db, "SELECT name FROM mz_catalog.mz_columns WHERE id = '" + mz.id(table) + "' ORDER BY position")
                    .forEach(r -> out.add((String) r.get("name")));
            return out;
        }

        String createSql(String relation, String name) {
            List<Map<String, Object>> r = TestPg.rows(mz.db, "SELECT create_sql FROM mz_catalog." + relation + " WHERE name = '" + name + "'");
            return r.isEmpty() ? null : (String) r.get(0).get("create_sql");
        }
    }

    static JsonObject drift(TestPg.Run r, String table) {
        for (JsonElement e : r.json().getAsJsonArray("drift")) {
            if (e.getAsJsonObject().get("table").getAsString().endsWith(table)) {
                return e.getAsJsonObject();
            }
        }
        return null;
    }

    @Test
    void inSyncIsNothingToDo() throws Exception {
        Setup s = new Setup(false);
        TestPg.Run r = s.evolve();
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("nothing to do"), r.out());
        assertTrue(r.out().contains("published but not ingested") && r.out().contains("public.page_views"), r.out());
    }

    /** New syntax: a column added upstream and a stalled table; the plan, then --apply with what is built on orders. */
    @Test
    void newSyntaxDriftIsFoundAndFollowed() throws Exception {
        Setup s = new Setup(false);
        s.builtOnOrders();
        TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text");
        String customers = s.mz.id("customers");
        s.mz.status(customers, "customers", "table", "stalled",
                "incompatible schema change: source table customers with oid 1 has been altered");
        String oldOrders = s.mz.id("orders");
        String upstreamBefore = TestPg.catalogState(s.db);

        TestPg.Run plan = s.evolve("--json");
        assertEquals(Exit.DRIFT, plan.exit(), plan.all());
        assertTrue(drift(plan, "\"orders\"") == null ? drift(plan, ".orders").get("found").toString().contains("not ingested")
                : true, plan.out());
        assertTrue(drift(plan, ".customers").get("found").toString().contains("has been altered"), plan.out());
        assertEquals(oldOrders, s.mz.id("orders"), "the plan changes nothing");

        TestPg.Run human = s.evolve();
        assertEquals(Exit.DRIFT, human.exit(), human.all());
        assertTrue(human.out().contains("CREATE TABLE") && human.out().contains("orders_evolve")
                && human.out().contains("WITH (TEXT COLUMNS (status))"), human.out());

        TestPg.Run apply = s.evolve("--apply");
        assertEquals(Exit.OK, apply.exit(), apply.all());
        assertNotEquals(oldOrders, s.mz.id("orders"));
        assertEquals(List.of("id", "customer_id", "status", "total", "placed_at", "note"), s.columns("orders"));
        assertTrue(s.createSql("mz_tables", "orders").contains("TEXT COLUMNS = (status)"), s.createSql("mz_tables", "orders"));
        assertNull(s.mz.id("orders_evolve"));
        assertNotEquals(customers, s.mz.id("customers"));
        // what was built on orders is there again, on the new table, in order
        String view = s.createSql("mz_views", "orders_per_customer");
        assertNotNull(view);
        assertTrue(view.contains("[" + s.mz.id("orders") + " AS "), view);
        String mv = s.createSql("mz_materialized_views", "big_customers");
        assertTrue(mv.contains("[" + s.mz.id("orders_per_customer") + " AS "), mv);
        String idx = s.createSql("mz_indexes", "big_customers_idx");
        assertTrue(idx.contains("[" + s.mz.id("big_customers") + " AS "), idx);
        assertFalse(Files.exists(s.capture), "the capture file goes when it is done");
        assertEquals(upstreamBefore, TestPg.catalogState(s.db), "the upstream is not touched");

        TestPg.Run again = s.evolve();
        assertEquals(Exit.OK, again.exit(), again.all());
        assertTrue(again.out().contains("nothing to do"), again.out());
    }

    /** Legacy: the subsource dropped with what is built on it and added again, TEXT and EXCLUDE COLUMNS kept. */
    @Test
    void legacySubsourceIsAddedAgain() throws Exception {
        Setup s = new Setup(true);
        s.builtOnOrders();
        TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text", "ALTER TABLE \"we\"\"ird\" ADD COLUMN extra int");
        TestPg.Run plan = s.evolve();
        assertEquals(Exit.DRIFT, plan.exit(), plan.all());
        assertTrue(plan.out().contains("DROP SOURCE") && plan.out().contains("ADD SUBSOURCE public.orders AS"), plan.out());
        String oldOrders = s.mz.id("orders");
        TestPg.Run apply = s.evolve("--apply");
        assertEquals(Exit.OK, apply.exit(), apply.all());
        assertNotEquals(oldOrders, s.mz.id("orders"));
        assertTrue(s.columns("orders").contains("note"));
        assertTrue(s.createSql("mz_sources", "orders").contains("TEXT COLUMNS = (status)"));
        assertEquals(List.of("id", "code", "extra"), s.columns("we\"ird"), "note stays excluded");
        assertTrue(s.createSql("mz_views", "orders_per_customer").contains("[" + s.mz.id("orders") + " AS "));
        assertNotNull(s.createSql("mz_indexes", "big_customers_idx"));
    }

    /** A run that stops after the old table is dropped: the capture file keeps the definitions; the next run finishes. */
    @Test
    void aStoppedRunIsContinuedFromTheCapture() throws Exception {
        Setup s = new Setup(false);
        s.builtOnOrders();
        TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text");
        s.mz.failOnce("CREATE MATERIALIZED VIEW .*", "connection closed");
        TestPg.Run first = s.evolve("--apply");
        assertNotEquals(Exit.OK, first.exit(), first.all());
        assertTrue(first.all().contains("kept in " + s.capture) && first.all().contains("run the same command again"), first.all());
        assertTrue(Files.exists(s.capture));
        assertNull(s.mz.id("big_customers"), "the materialized view is gone until the next run");
        TestPg.Run second = s.evolve("--apply");
        assertEquals(Exit.OK, second.exit(), second.all());
        assertTrue(second.out().contains("continuing from"), second.out());
        assertTrue(s.createSql("mz_materialized_views", "big_customers").contains("[" + s.mz.id("orders_per_customer") + " AS "));
        assertNotNull(s.createSql("mz_indexes", "big_customers_idx"));
        assertFalse(Files.exists(s.capture));
    }

    /** A table gone upstream: reported; dropped only with --drop-gone. --dry-run changes nothing. */
    @Test
    void aGoneTableIsDroppedOnlyWhenAsked() throws Exception {
        Setup s = new Setup(false);
        TestPg.execAsOwner(s.db, "DROP TABLE \"we\"\"ird\"");
        TestPg.Run dry = s.evolve("--apply", "--drop-gone", "--dry-run");
        assertEquals(Exit.DRIFT, dry.exit(), dry.all());
        assertNotNull(s.mz.id("we\"ird"));
        TestPg.Run keep = s.evolve("--apply");
        assertEquals(Exit.OK, keep.exit(), keep.all());
        assertTrue(keep.out().contains("--drop-gone"), keep.out());
        assertNotNull(s.mz.id("we\"ird"));
        TestPg.Run drop = s.evolve("--apply", "--drop-gone");
        assertEquals(Exit.OK, drop.exit(), drop.all());
        assertNull(s.mz.id("we\"ird"));
    }

    /**
     * The plan and the --apply statements of both syntaxes, golden (src/test/resources/golden/evolve-*.sql, reviewed
     * against the docs' source-versioning guide and upstream-schema-change-behavior; the stand-in's database named
     * materialize, as Materialize's default).
     */
    @Test
    void thePlansAndTheApplyPathsAreGolden() throws Exception {
        for (boolean legacy : new boolean[] {false, true}) {
            Setup s = new Setup(legacy);
            s.builtOnOrders();
            TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text");
            String syntax = legacy ? "legacy" : "new";
            String how = legacy ? "legacy: DROP SOURCE <subsource> CASCADE, ALTER SOURCE … ADD SUBSOURCE … WITH (TEXT COLUMNS …) "
                    + "(upstream-schema-change-behavior), then what was built on it"
                    : "new syntax: a new version beside the old table, the swap by rename, then what was built on it "
                    + "(source-versioning.md)";
            TestPg.Run plan = s.evolve("--json");
            assertEquals(Exit.DRIFT, plan.exit(), plan.all());
            GoldenTest.compare("evolve-plan-" + syntax, "-- " + how + "; <new>: an id known once it runs\n"
                    + "-- ./jbang evolve --mz-url … (orders gained a column upstream)\n", strings(plan, "plan", s));
            TestPg.Run apply = s.evolve("--apply", "--json");
            assertEquals(Exit.OK, apply.exit(), apply.all());
            GoldenTest.compare("evolve-apply-" + syntax, "-- " + how + "\n-- ./jbang evolve --mz-url … --apply\n",
                    strings(apply, "statements", s));
        }
    }

    private static List<String> strings(TestPg.Run r, String key, Setup s) {
        List<String> out = new ArrayList<>();
        r.json().getAsJsonArray(key).forEach(e -> out.add(e.getAsString().replace(s.mz.db, "materialize")));
        return out;
    }

    /** --migration with --mz-url judges what Materialize ingests, as it ingests it. */
    @Test
    void aMigrationIsJudgedForWhatTheSourceIngests() throws Exception {
        Setup s = new Setup(false);
        Path m = EvolveTest.file("ALTER TABLE \"we\"\"ird\" DROP COLUMN note;\nALTER TABLE page_views DROP COLUMN referrer;\n"
                + "ALTER TABLE orders ALTER COLUMN status TYPE text");
        TestPg.Run r = s.evolve("--migration", m.toString(), "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject out = r.json();
        assertEquals("new", out.get("syntax").getAsString());
        List<String> tables = new ArrayList<>();
        out.getAsJsonArray("tables").forEach(e -> tables.add(e.getAsJsonObject().get("table").getAsString()
                + "=" + e.getAsJsonObject().get("verdict").getAsString()));
        assertEquals(List.of("public.orders=safe"), tables, "note is excluded, page_views not ingested, status is text");
        // without Materialize, the same migration breaks "we""ird" and page_views
        TestPg.Run blind = EvolveTest.evolve(s.db, "ALTER TABLE \"we\"\"ird\" DROP COLUMN note");
        assertEquals(Exit.VERIFY, blind.exit(), blind.all());
    }
}
