import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/**
 * rebuild on the stand-in for Materialize (over the wire, its DDL played) and real PostgreSQL upstream: the reason
 * (the source's error, its slot missing or lost upstream, the publication), the plan, --apply with dependents several
 * levels deep (a view on a table of the source, a materialized view on the view, an index on that), a failure after
 * the drop continued by a second run, and the old slot dropped upstream.
 */
class RebuildTest {
    static final class Setup {
        final Lab.Server server;
        final String db;
        final MzStandIn mz;
        final Path capture;
        final String slot;

        Setup(Lab.Server server, String db, boolean legacy) throws Exception {
            this.server = server;
            this.db = db;
            mz = new MzStandIn(server);
            capture = Files.createTempDirectory("rebuild").resolve("capture");
            mz.upstreamDb = db;
            mz.playingDdl();
            mz.createCluster("ingest_postgres", "scale=1,workers=1", 1);
            mz.createSecret("pgpass");
            mz.createConnection("pg_connection", "postgres", null, "pgpass");
            if (legacy) {
                mz.subsourceText.put("orders", List.of("status"));
                mz.createSource("mz_source", "ingest_postgres", "pg_connection", "mz_source", List.of(
                        MzStandIn.Ref.of("public", "customers"), MzStandIn.Ref.of("public", "orders")));
            } else {
                mz.createSource("mz_source", "ingest_postgres", "pg_connection", "mz_source");
                mz.createTableFromSource("customers", "mz_source", MzStandIn.Ref.of("public", "customers"));
                mz.createTableFromSource("orders", "mz_source", MzStandIn.Ref.of("public", "orders"), List.of("status"), List.of());
            }
            String v = mz.define("CREATE VIEW \"" + mz.db + "\".\"public\".\"orders_per_customer\" AS SELECT \"customer_id\", "
                    + "count(*) AS \"n\" FROM [" + mz.id("orders") + " AS \"" + mz.db + "\".\"public\".\"orders\"] GROUP BY 1");
            String mv = mz.define("CREATE MATERIALIZED VIEW \"" + mz.db + "\".\"public\".\"big_customers\" IN CLUSTER ["
                    + mz.clusterId("ingest_postgres") + "] AS SELECT * FROM [" + v + " AS \"" + mz.db
                    + "\".\"public\".\"orders_per_customer\"] WHERE \"n\" > 1");
            mz.define("CREATE INDEX \"orders_per_customer_idx\" IN CLUSTER [" + mz.clusterId("ingest_postgres") + "] ON [" + v
                    + " AS \"" + mz.db + "\".\"public\".\"orders_per_customer\"] (\"customer_id\")");
            mz.define("CREATE INDEX \"big_customers_idx\" IN CLUSTER [" + mz.clusterId("ingest_postgres") + "] ON [" + mv
                    + " AS \"" + mz.db + "\".\"public\".\"big_customers\"] (\"customer_id\")");
            slot = (String) TestPg.rows(server, mz.db, "SELECT replication_slot FROM mz_internal.mz_postgres_sources").get(0)
                    .get("replication_slot");
        }

        Setup(boolean legacy) throws Exception {
            this(TestPg.server(), EvolveTest.shop(), legacy);
        }

        /** The source's slot upstream, as Materialize made it: no reason to rebuild. */
        Setup withSlot() {
            TestPg.exec(server, db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
            return this;
        }

        /** The slot gone again (a test's slot would keep WAL and show in other tests' and notebooks' listings). */
        void dropSlot() {
            TestPg.exec(server, db, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
                    + slot + "'");
        }

        TestPg.Run rebuild(String... args) {
            List<String> all = new ArrayList<>(List.of("--capture", capture.toString()));
            all.addAll(List.of(args));
            return TestPg.run(new Rebuild(), mz.env(db), all.toArray(String[]::new));
        }

        String createSql(String relation, String name) {
            List<Map<String, Object>> r = TestPg.rows(server, mz.db, "SELECT create_sql FROM mz_catalog." + relation
                    + " WHERE name = '" + name + "'");
            return r.isEmpty() ? null : (String) r.get(0).get("create_sql");
        }

        boolean slotUpstream() {
            return !TestPg.rows(server, db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "'").isEmpty();
        }
    }

    private final List<Setup> made = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void dropSlots() {
        made.forEach(Setup::dropSlot);
    }

    private Setup setup(boolean legacy) throws Exception {
        Setup s = new Setup(legacy);
        made.add(s);
        return s;
    }

    @Test
    void aHealthySourceIsNothingToRebuildAndConnectionClosedIsTransient() throws Exception {
        Setup s = setup(false).withSlot();
        TestPg.Run r = s.rebuild();
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("nothing to rebuild"), r.out());
        s.mz.status(s.mz.id("mz_source"), "mz_source", "postgres", "stalled", "postgres: connection closed");
        TestPg.Run closed = s.rebuild();
        assertEquals(Exit.OK, closed.exit(), closed.all());
        assertTrue(closed.out().contains("\"connection closed\" is transient"), closed.out());
        assertTrue(s.slotUpstream());
    }

    @Test
    void theReasonsUpstreamAreNamed() throws Exception {
        Setup s = setup(false);
        TestPg.Run missing = s.rebuild();   // the plan: no --apply
        assertEquals(Exit.OK, missing.exit(), missing.all());
        assertTrue(missing.out().contains("why: its slot " + s.slot + " does not exist upstream"), missing.out());
        TestPg.execAsOwner(s.db, "DROP PUBLICATION mz_source");
        TestPg.Run nopub = s.rebuild("--json");
        assertTrue(nopub.json().get("reasons").toString().contains("publication mz_source does not exist upstream"), nopub.out());
        s.mz.status(s.mz.id("mz_source"), "mz_source", "postgres", "stalled",
                "postgres: slot overcompacted. Requested LSN 0/1A2B3C4 but only LSNs >= 0/2000000 are available");
        assertTrue(s.rebuild("--json").json().get("reasons").toString().contains("the source is stalled: postgres: slot overcompacted"));
    }

    /** wal_status lost on a server with a small max_slot_wal_keep_size (WatchTest's own). */
    @Test
    void aLostSlotIsAReason() throws Exception {
        Lab.Server own = WatchTest.own();
        String db = WatchTest.database(own, WatchTest.unique("rr"));
        Setup s = new Setup(own, db, false).withSlot();
        made.add(s);
        for (int i = 0; i < 2; i++) {
            TestPg.exec(own, db, "INSERT INTO page_views (viewed_at, path) SELECT now(), 'p' FROM generate_series(1, 1000)",
                    "SELECT pg_switch_wal()");
        }
        TestPg.exec(own, db, "CHECKPOINT");
        TestPg.Run r = s.rebuild();
        assertTrue(r.out().contains("its slot " + s.slot + " is lost upstream"), r.all());
    }

    /** The plan, --apply, the dependents made again with their definitions (the ids of the new objects), golden. */
    @Test
    void applyRecreatesTheSourceAndEverythingBuiltOnIt() throws Exception {
        for (boolean legacy : new boolean[] {false, true}) {
            Setup s = setup(legacy).withSlot();
            s.mz.status(s.mz.id("mz_source"), "mz_source", "postgres", "stalled", "postgres: replication slot has been invalidated");
            String oldSource = s.mz.id("mz_source");
            String oldView = s.createSql("mz_views", "orders_per_customer");
            TestPg.Run plan = s.rebuild("--json");
            assertEquals(Exit.OK, plan.exit(), plan.all());
            assertEquals(oldSource, s.mz.id("mz_source"), "the plan changes nothing");
            String syntax = legacy ? "legacy" : "new";
            GoldenTest.compare("rebuild-plan-" + syntax, "-- the docs' recovery: DROP SOURCE … CASCADE, CREATE SOURCE as it was ("
                    + syntax + " syntax), then what was built on it; <new>: an id known once it runs\n"
                    + "-- ./jbang rebuild --mz-url …\n", strings(plan, "plan", s));
            // customers in the stand-in with the upstream's keys: the fingerprint (rows, key range) agrees
            String ids = (String) TestPg.rows(s.server, s.db, "SELECT string_agg(id::text, ',') AS ids FROM customers").get(0).get("ids");
            s.mz.exec("CREATE TABLE public.customers AS SELECT unnest('{" + ids + "}'::int[]) AS id");
            TestPg.Run apply = s.rebuild("--apply", "--json");
            assertEquals(Exit.OK, apply.exit(), apply.all());
            String verified = apply.json().getAsJsonArray("verified").toString();
            assertTrue(verified.contains("\"same\":true") && verified.contains("customers"), verified);
            assertTrue(verified.contains("\"same\":false"), "orders is not in the stand-in: " + verified);
            GoldenTest.compare("rebuild-apply-" + syntax, "-- as rebuild-plan-" + syntax + ", with the new ids\n"
                    + "-- ./jbang rebuild --mz-url … --apply\n", strings(apply, "statements", s));
            assertNotEquals(oldSource, s.mz.id("mz_source"));
            String view = s.createSql("mz_views", "orders_per_customer");
            assertEquals(oldView.replaceAll("\\[u\\d+ AS", "[u AS"), view.replaceAll("\\[u\\d+ AS", "[u AS"), "its definition");
            assertTrue(view.contains("[" + s.mz.id("orders") + " AS "), view);
            assertTrue(s.createSql("mz_materialized_views", "big_customers").contains("[" + s.mz.id("orders_per_customer") + " AS "));
            assertTrue(s.createSql("mz_indexes", "big_customers_idx").contains("[" + s.mz.id("big_customers") + " AS "));
            assertTrue(s.createSql("mz_indexes", "orders_per_customer_idx").contains("[" + s.mz.id("orders_per_customer") + " AS "));
            String orders = legacy ? s.createSql("mz_sources", "orders") : s.createSql("mz_tables", "orders");
            assertTrue(orders.contains("TEXT COLUMNS = (status)"), orders);
            assertFalse(s.slotUpstream(), "the old slot is dropped upstream");
            assertFalse(Files.exists(s.capture));
        }
    }

    /** A failure after the drop: the capture keeps every definition, and the next run ends with nothing lost. */
    @Test
    void aRunStoppedAfterTheDropIsContinued() throws Exception {
        Setup s = setup(false);
        s.mz.failOnce("CREATE MATERIALIZED VIEW .*", "connection closed");
        TestPg.Run first = s.rebuild("--apply");
        assertNotEquals(Exit.OK, first.exit(), first.all());
        assertTrue(first.all().contains("kept in " + s.capture), first.all());
        assertNull(s.mz.id("big_customers"));
        TestPg.Run second = s.rebuild("--apply");
        assertEquals(Exit.OK, second.exit(), second.all());
        assertTrue(second.out().contains("continuing from"), second.out());
        assertNotNull(s.createSql("mz_materialized_views", "big_customers"));
        assertNotNull(s.createSql("mz_indexes", "big_customers_idx"));
        assertNotNull(s.createSql("mz_views", "orders_per_customer"));
        assertFalse(Files.exists(s.capture));
    }

    /** --table: one table (or subsource) and what is built on it; the source and its other tables stay. */
    @Test
    void oneTableAlone() throws Exception {
        for (boolean legacy : new boolean[] {false, true}) {
            Setup s = setup(legacy).withSlot();
            String source = s.mz.id("mz_source");
            String customers = s.mz.id("customers");
            String orders = s.mz.id("orders");
            TestPg.Run apply = s.rebuild("--table", "orders", "--apply", "--json");
            assertEquals(Exit.OK, apply.exit(), apply.all());
            String statements = apply.json().getAsJsonArray("statements").toString();
            assertTrue(statements.contains(legacy ? "DROP SOURCE " : "DROP TABLE "), statements);
            assertTrue(statements.contains(legacy ? "ADD SUBSOURCE public.orders AS" : "CREATE TABLE "), statements);
            assertFalse(statements.contains("CREATE SOURCE"), statements);
            assertEquals(source, s.mz.id("mz_source"));
            assertEquals(customers, s.mz.id("customers"));
            assertNotEquals(orders, s.mz.id("orders"));
            String ordersSql = legacy ? s.createSql("mz_sources", "orders") : s.createSql("mz_tables", "orders");
            assertTrue(ordersSql.contains("TEXT COLUMNS = (status)"), ordersSql);
            assertTrue(s.createSql("mz_views", "orders_per_customer").contains("[" + s.mz.id("orders") + " AS "));
            assertNotNull(s.createSql("mz_indexes", "big_customers_idx"));
            assertTrue(s.slotUpstream(), "the source's slot stays");
        }
        Setup s = setup(false).withSlot();
        TestPg.Run none = s.rebuild("--table", "nope");
        assertEquals(Exit.NOT_FOUND, none.exit(), none.all());
    }

    @Test
    void parallelIsRefusedWithTheReason() throws Exception {
        Setup s = setup(false);
        TestPg.Run r = s.rebuild("--parallel");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("ALTER SCHEMA … SWAP"), r.err());
    }

    private static List<String> strings(TestPg.Run r, String key, Setup s) {
        List<String> out = new ArrayList<>();
        r.json().getAsJsonArray(key).forEach(e -> out.add(e.getAsString().replace(s.mz.db, "materialize")));
        return out;
    }
}
