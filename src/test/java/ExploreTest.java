import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * Guide section D (explore) against the Materialize STAND-IN ({@link MzStandIn}) and a copy of the lab
 * database upstream: the catalog listing, row-count parity (matching and not), and "already done" for
 * the examples. The stand-in's "ingested tables" are ordinary tables with as many rows as a scenario needs.
 * CREATE VIEW IF NOT EXISTS, CREATE INDEX … IN CLUSTER and SUBSCRIBE are Materialize syntax that
 * PostgreSQL does not run: they are only checked as text (GoldenTest), not executed, here.
 */
class ExploreTest {

    /** mz_source feeding customers and orders (subsources), "Order Items" (a new-syntax table) and page_views (snapshotting). */
    static MzStandIn shop() {
        return shop(new MzStandIn());
    }

    static MzStandIn shop(MzStandIn mz) {
        mz.exec("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, managed, size, replication_factor, disk) "
                        + "VALUES ('u2', 'ingest_postgres', 'u1', true, '50cc', 1, false)",
                "CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 3) g",
                "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 4) g",
                "CREATE TABLE \"Order Items\" AS SELECT g AS id FROM generate_series(1, 5) g",
                "CREATE TABLE page_views (id int)");
        return mz.source("u10", "mz_source", "u2", "materialize_u10", "running", null)
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .subsource("u12", "orders", "u10", "public", "orders", "running", null)
                .table("u13", "Order Items", "u10", "public", "Order Items", "running")
                .subsource("u14", "page_views", "u10", "public", "page_views", "running", null)
                .stats("u11", "r1", 3L, 3L, true, 1L, 1L)
                .stats("u12", "r1", 4L, 4L, true, 1L, 1L)
                .stats("u13", "r1", 5L, 5L, true, 1L, 1L)
                .stats("u14", "r1", 9L, 2L, false, null, null);
    }

    static JsonObject table(JsonObject j, String upstream) {
        for (JsonElement e : j.getAsJsonArray("tables")) {
            if (e.getAsJsonObject().get("upstream").getAsString().equals(upstream)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no table " + upstream + " in " + j);
    }

    @Test
    void beforeV26_19TheQuotedNamesOfTheCatalogStillMatchUpstream() {
        // v26.0 to v26.18 store "Order Items" with its quotes in mz_postgres_source_tables (raw from v26.19)
        MzStandIn mz = shop(MzStandIn.ofVersion("v26.18.2"));
        assertEquals(java.util.List.of(Map.of("table_name", "\"Order Items\"")),
                TestPg.rows(mz.server, mz.db, "SELECT table_name FROM mz_internal.mz_postgres_source_tables WHERE id = 'u13'"));
        String up = TestPg.newDatabase();
        TestPg.Run r = TestPg.run(new Explore(), mz.env(up), "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject items = table(r.json(), "public.\"Order Items\"");
        assertEquals("Order Items", items.get("upstream_table").getAsString(), "unquoted as upstream names it");
        assertEquals(5, items.get("upstream_rows").getAsInt(), r.out());
        assertEquals("ok", items.get("parity").getAsString());
    }

    @Test
    void countsMatchUpstream() {
        MzStandIn mz = shop();
        String up = TestPg.newDatabase();
        TestPg.Run r = TestPg.run(new Explore(), mz.env(up), "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        JsonArray sources = j.getAsJsonArray("sources");
        assertEquals(1, sources.size(), "SHOW SOURCES lists sources, not subsources: " + sources);
        assertEquals("ingest_postgres", sources.get(0).getAsJsonObject().get("cluster").getAsString());
        assertEquals(4, j.getAsJsonArray("tables").size());
        JsonObject items = table(j, "public.\"Order Items\"");
        assertEquals(mz.db + ".public.\"Order Items\"", items.get("name").getAsString(), "quoted, database-qualified");
        assertEquals(5, items.get("rows").getAsInt());
        assertEquals(5, items.get("upstream_rows").getAsInt());
        assertEquals("ok", items.get("parity").getAsString());
        JsonObject views = table(j, "public.page_views");
        assertEquals("snapshotting", views.get("parity").getAsString());
        assertTrue(views.get("rows").isJsonNull(), "not counted while snapshotting");
        JsonObject parity = j.getAsJsonObject("parity");
        assertEquals(3, parity.get("checked").getAsInt());
        assertEquals(3, parity.get("matching").getAsInt());

        TestPg.Run human = TestPg.run(new Explore(), mz.env(up));
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().contains("explore mz_source: 4 tables; row counts match upstream for 3; 1 still snapshotting"),
                human.out());
        assertTrue(human.out().lines().anyMatch(l -> l.startsWith(mz.db + ".public.orders") && l.matches(".*\\b4\\s+4\\s+ok$")),
                human.out());
    }

    @Test
    void aDifferentCountExitsVerify() {
        MzStandIn mz = shop();
        mz.exec("DELETE FROM orders WHERE id = 4");
        String up = TestPg.newDatabase();
        TestPg.Run r = BadInputTest.failsCleanly(Exit.VERIFY, Explore::new, mz.env(up));
        assertTrue(r.err().contains("row counts differ from upstream: public.orders (4 upstream, 3 in Materialize)"), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.contains("public.orders") && l.endsWith("DIFFERS")), r.out());
        JsonObject j = TestPg.run(new Explore(), mz.env(up), "--json").json();
        assertEquals("differs", table(j, "public.orders").get("parity").getAsString());
        assertEquals(2, j.getAsJsonObject("parity").get("matching").getAsInt());
    }

    @Test
    void withoutUpstreamOnlyMaterializeCounts() {
        TestPg.Run r = TestPg.run(new Explore(), shop().env(null), "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals(4, table(r.json(), "public.orders").get("rows").getAsInt());
        assertTrue(table(r.json(), "public.orders").get("upstream_rows").isJsonNull());
        assertEquals(0, r.json().getAsJsonObject("parity").get("checked").getAsInt());
    }

    @Test
    void examplesThatExistAreAlreadyDone() {
        MzStandIn mz = shop();
        mz.exec("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES "
                + "('u20', 'u3', 'orders_per_customer', 'view'), ('u21', 'u3', 'orders_per_customer_idx', 'index'), "
                + "('u22', 'u3', 'revenue_per_day', 'materialized-view')");
        TestPg.Run r = TestPg.run(new Explore(), mz.env(null), "--create-examples", "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals(0, r.json().getAsJsonArray("statements").size(), r.out());
        assertEquals(0, r.json().getAsJsonObject("examples").getAsJsonArray("created").size());
        TestPg.Run human = TestPg.run(new Explore(), mz.env(null), "--create-examples");
        assertTrue(human.out().contains("examples: already done"), human.out());
    }

    @Test
    void examplesNeedCustomersAndOrders() {
        MzStandIn mz = new MzStandIn();
        mz.exec("CREATE TABLE page_views (id int)");
        mz.source("u10", "mz_source", "u2", "s", "running", null)
                .subsource("u14", "page_views", "u10", "public", "page_views", "running", null)
                .stats("u14", "r1", 0L, 0L, true, 1L, 1L);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, Explore::new, mz.env(null), "--create-examples");
        assertTrue(r.err().contains("need the lab's customers and orders"), r.err());
    }

    @Test
    void anUnknownSourceIsNotFound() {
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, Explore::new, shop().env(null), "--source", "nope");
        assertTrue(r.err().contains("source nope not found"), r.err());
        assertTrue(r.out().contains("mz_source"), "lists the sources there are: " + r.out());
    }

    @Test
    void dryRunContactsNothing() {
        TestPg.Run r = TestPg.run(new Explore(), Map.of(), "--dry-run", "--create-examples", "--subscribe-seconds", "5",
                "--subscribe-to", "revenue_per_day");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().startsWith("-- dry run: no Materialize was contacted"), r.out());
        assertTrue(r.out().contains("DECLARE c CURSOR FOR SUBSCRIBE revenue_per_day;"), r.out());
        assertTrue(r.out().contains("FETCH ALL c WITH (timeout = '1s');"), r.out());
    }
}
