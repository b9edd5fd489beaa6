import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The stand-in's rules, one by one (each rule's source: docs/materialize-standin.md); MzConformanceTest replays
 * Materialize's own expectations against the same rules.
 */
class MzStandInTest {
    static List<Map<String, Object>> rows(MzStandIn mz, String sql) {
        return TestPg.rows(mz.server, mz.db, sql);
    }

    static String one(MzStandIn mz, String sql) {
        List<Map<String, Object>> r = rows(mz, sql);
        assertEquals(1, r.size(), sql + " -> " + r);
        Object v = r.get(0).values().iterator().next();
        return v == null ? null : v.toString();
    }

    /** A legacy source: progress subsource, source, subsources (by name) get u-ids in that order; edges point at what is referenced. */
    @Test
    void aLegacySourceIsItsProgressSubsourceThenItselfThenItsSubsourcesInNameOrder() {
        MzStandIn mz = MzStandIn.environment("v26.40.0", 1);
        assertEquals("u1", mz.createSecret("pgpass"));
        assertEquals("u2", mz.createConnection("pg", "postgres", null, "pgpass"));
        String cluster = mz.createCluster("ingest", "50cc", 1);
        assertEquals("u2", cluster, "quickstart is u1");
        MzStandIn.Created c = mz.createSource("mz_source", "ingest", "pg", "mz_source",
                List.of(MzStandIn.Ref.of("public", "orders"), MzStandIn.Ref.of("public", "Customers"), MzStandIn.Ref.of("shop", "items")));
        assertEquals("u3", c.progressId());
        assertEquals("u4", c.sourceId());
        // "Customers" < "items" < "orders" in byte order (upper case first)
        assertEquals(Map.of("Customers", "u5", "items", "u6", "orders", "u7"), c.subsources());
        assertEquals("[{id=u3, name=mz_source_progress, type=progress, cluster_id=null}, {id=u4, name=mz_source, type=postgres, "
                + "cluster_id=u2}, {id=u5, name=Customers, type=subsource, cluster_id=u2}, {id=u6, name=items, type=subsource, "
                + "cluster_id=u2}, {id=u7, name=orders, type=subsource, cluster_id=u2}]",
                rows(mz, "SELECT id, name, type, cluster_id FROM mz_sources ORDER BY id").toString());
        assertEquals("[{object_id=u2, referenced_object_id=u1}, {object_id=u4, referenced_object_id=u2}, {object_id=u4, "
                + "referenced_object_id=u3}, {object_id=u5, referenced_object_id=u4}, {object_id=u6, referenced_object_id=u4}, "
                + "{object_id=u7, referenced_object_id=u4}]",
                rows(mz, "SELECT * FROM mz_internal.mz_object_dependencies ORDER BY 1, 2").toString());
        assertEquals("[{id=u1, type=secret, cluster_id=null}, {id=u2, type=connection, cluster_id=null}, {id=u3, type=source, "
                + "cluster_id=null}, {id=u4, type=source, cluster_id=u2}, {id=u5, type=source, cluster_id=u2}, {id=u6, type=source, "
                + "cluster_id=u2}, {id=u7, type=source, cluster_id=u2}]",
                rows(mz, "SELECT id, type, cluster_id FROM mz_objects ORDER BY id").toString());
        assertEquals("u4", one(mz, "SELECT id FROM mz_internal.mz_postgres_sources"));
        assertTrue(one(mz, "SELECT replication_slot FROM mz_internal.mz_postgres_sources").matches("materialize_[0-9a-f]{32}"));
        assertEquals("[{id=u5, schema_name=public, table_name=Customers}, {id=u6, schema_name=shop, table_name=items}, "
                + "{id=u7, schema_name=public, table_name=orders}]",
                rows(mz, "SELECT * FROM mz_internal.mz_postgres_source_tables ORDER BY id").toString());
    }

    @Test
    void aNewSyntaxSourceHasNoProgressSubsourceAndItsTablesDependOnIt() {
        MzStandIn mz = MzStandIn.environment("v26.40.0", 1);
        mz.createSecret("pgpass");
        mz.createConnection("pg", "postgres", null, "pgpass");
        MzStandIn.Created c = mz.createSource("src", "quickstart", "pg", "pub");
        assertNull(c.progressId());
        assertEquals("u3", c.sourceId());
        assertEquals("u4", mz.createTableFromSource("t", "src", MzStandIn.Ref.of("public", "t")));
        assertEquals("[{id=u3, type=postgres}]", rows(mz, "SELECT id, type FROM mz_sources").toString());
        assertEquals("u3", one(mz, "SELECT source_id FROM mz_tables WHERE name = 't'"));
        assertEquals("u3", one(mz, "SELECT referenced_object_id FROM mz_internal.mz_object_dependencies WHERE object_id = 'u4'"));
        assertEquals("table", one(mz, "SELECT type FROM mz_objects WHERE id = 'u4'"));
        assertEquals("public t", one(mz, "SELECT schema_name || ' ' || table_name FROM mz_internal.mz_postgres_source_tables"));
        // DROP SOURCE without CASCADE is refused while a table depends on it; with CASCADE both go
        assertThrows(IllegalStateException.class, () -> mz.drop("src", false));
        mz.drop("src", true);
        assertEquals("0", one(mz, "SELECT count(*) FROM mz_sources"));
        assertEquals("0", one(mz, "SELECT count(*) FROM mz_tables"));
        assertEquals("u2", one(mz, "SELECT object_id FROM mz_internal.mz_object_dependencies"), "the connection's edge stays");
    }

    @Test
    void sourceTableNamesAreQuotedBeforeV2619AndRawFrom() {
        for (String v : List.of("v26.18.2", "v26.19.0")) {
            MzStandIn mz = MzStandIn.environment(v, 1);
            mz.createSource("src", "quickstart", "postgres", null, new LinkedHashMap<>(Map.of("Order Items", MzStandIn.Ref.of("public", "Order Items"))));
            assertEquals(v.equals("v26.18.2") ? "\"Order Items\"" : "Order Items",
                    one(mz, "SELECT table_name FROM mz_internal.mz_postgres_source_tables"), v);
        }
        assertEquals("orders", MzStandIn.quoteIdent("orders"));
        assertEquals("\"Order\"\"s\"", MzStandIn.quoteIdent("Order\"s"));
        assertEquals("\"таблица\"", MzStandIn.quoteIdent("таблица"));
    }

    /** mz_source_statuses is Materialize's view: a stalled source shows on its subsources and tables; progress is running. */
    @Test
    void statusesFollowMaterializesView() {
        MzStandIn mz = MzStandIn.environment("v26.40.0", 1);
        mz.createSecret("s");
        mz.createConnection("pg", "postgres", null, "s");
        MzStandIn.Created c = mz.createSource("legacy", "quickstart", "pg", "p", List.of(MzStandIn.Ref.of("public", "a")));
        mz.createSource("fresh", "quickstart", "pg", "p");
        String table = mz.createTableFromSource("t", "fresh", MzStandIn.Ref.of("public", "t"));
        assertEquals("[{name=a, status=created}, {name=fresh, status=created}, {name=legacy, status=created}, "
                + "{name=legacy_progress, status=running}, {name=t, status=created}]",
                rows(mz, "SELECT name, status FROM mz_internal.mz_source_statuses ORDER BY name").toString());
        mz.status(c.sourceId(), null, null, "stalled", "boom").status(c.subsources().get("a"), null, null, "running", null);
        mz.status(mz.id("fresh"), null, null, "stalled", "bang").status(table, null, null, "running", null);
        assertEquals("[{name=a, status=stalled, error=boom}, {name=fresh, status=stalled, error=bang}, "
                + "{name=legacy, status=stalled, error=boom}, {name=legacy_progress, status=running, error=null}, "
                + "{name=t, status=stalled, error=bang}]",
                rows(mz, "SELECT name, status, error FROM mz_internal.mz_source_statuses ORDER BY name").toString());
        mz.status(c.sourceId(), null, null, "running", null);
        assertEquals("running", one(mz, "SELECT status FROM mz_internal.mz_source_statuses WHERE name = 'a'"));
    }

    /** mz_source_statistics is Materialize's view: a source's row sums its subsources' raw rows (offsets: max known, min committed). */
    @Test
    void statisticsFollowMaterializesView() {
        MzStandIn mz = MzStandIn.environment("v26.40.0", 1);
        MzStandIn.Created c = mz.createSource("src", "quickstart", "postgres", null,
                new LinkedHashMap<>(Map.of("a", MzStandIn.Ref.of("public", "a"), "b", MzStandIn.Ref.of("public", "b"))));
        mz.stats(c.sourceId(), "u1", 0L, 0L, true, 100L, 90L).stats(c.subsources().get("a"), "u1", 3L, 3L, true, 80L, 80L)
                .stats(c.subsources().get("b"), "u1", 4L, 2L, false, 100L, 70L);
        assertEquals("[{id=u2, snapshot_records_known=7, snapshot_records_staged=5, snapshot_committed=false, offset_known=100, "
                + "offset_committed=70}, {id=u3, snapshot_records_known=3, snapshot_records_staged=3, snapshot_committed=true, "
                + "offset_known=80, offset_committed=80}, {id=u4, snapshot_records_known=4, snapshot_records_staged=2, "
                + "snapshot_committed=false, offset_known=100, offset_committed=70}]",
                rows(mz, "SELECT id, snapshot_records_known, snapshot_records_staged, snapshot_committed, offset_known, offset_committed "
                        + "FROM mz_internal.mz_source_statistics ORDER BY id").toString());
    }

    /** With the controller: replicas starting/running, a dropped replica's 'paused', no replica at all 'paused'. */
    @Test
    void theControllerReportsWhatReplicasDo() {
        MzStandIn mz = MzStandIn.environment("v26.40.0", 1).withController();
        mz.createCluster("c", "50cc", 0);
        String src = mz.createSource("src", "c", "load-generator", null, (Map<String, MzStandIn.Ref>) null).sourceId();
        assertEquals("paused", one(mz, "SELECT status FROM mz_internal.mz_source_statuses WHERE id = '" + src + "'"));
        mz.alterClusterReplicationFactor("c", 1);
        assertEquals("running", one(mz, "SELECT status FROM mz_internal.mz_source_statuses WHERE id = '" + src + "'"));
        assertEquals("1", one(mz, "SELECT count(*) FROM mz_internal.mz_source_statistics WHERE id = '" + src + "'"));
        mz.alterClusterReplicationFactor("c", 0);
        assertEquals("{\"hints\": [\"The replica running this source has been dropped\"]}",
                one(mz, "SELECT details FROM mz_internal.mz_source_statuses WHERE id = '" + src + "'"));
    }

    @Test
    void viewsAreMaterializesSqlMadeRunnableMechanically() {
        assertEquals(List.of("mz_internal.mz_source_statuses", "mz_internal.mz_source_statistics_with_history",
                "mz_internal.mz_source_statistics", "mz_internal.mz_show_tables", "mz_internal.mz_show_sources"),
                MzFacts.pinned().standInViews().stream().map(MzFacts.View::qualified).toList(), "no view fell back to a table");
        MzStandIn mz = new MzStandIn();
        assertEquals("5", one(mz, "SELECT count(*) FROM information_schema.views WHERE table_schema = 'mz_internal'"));
        assertEquals(new MzFacts.Rewrite("SELECT SUM(x)::numeric AS y, MIN(z)::bigint FROM t", null),
                MzFacts.pgSql("SELECT SUM(x)::uint8 AS y, MIN(z)::uint4 FROM t;"));
        assertTrue(MzFacts.pgSql("SELECT * FROM t WHERE mz_now() <= ts").refused().startsWith("mz_now()"));
        assertTrue(MzFacts.pgSql("SELECT mz_internal.parse_catalog_id(data->'key') FROM r").refused().startsWith("a function of mz_internal"));
        assertTrue(MzFacts.pgSql("IN CLUSTER mz_catalog_server AS SELECT 1").refused().contains("IN CLUSTER"));
        assertTrue(MzFacts.pgSql("SELECT list_agg(x) FROM t").refused().startsWith("a list or map"));
    }
}
