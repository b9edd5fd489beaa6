import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * The Materialize tier, new syntax: the same path as {@link MaterializeIT} with {@code source --syntax new}
 * (CREATE SOURCE, then CREATE TABLE … FROM SOURCE per table), on an emulator and an upstream PostgreSQL server
 * of its own, so neither lifecycle can leave anything in the other's way (roles are per server). The
 * emulator has the new syntax behind the feature flag {@code enable_create_table_from_source} (default off,
 * pinned in facts.json); it is turned on first, as mz_system on the internal port, as a Materialize operator
 * would.
 *
 * <p>In order: the Neon half, C.1–C.2, the source in the new syntax with monitor showing each table, explore,
 * doctor --mz-url, the examples (a view, an index, a materialized view on the tables); teardown then refuses
 * naming those examples only (never the source's own tables), and with --cascade drops everything, verified.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaterializeNewSyntaxIT {
    static final List<String> EXAMPLES = List.of("orders_per_customer", "orders_per_customer_idx", "revenue_per_day");

    static MzTier mz;

    @BeforeAll
    static void start() throws Exception {
        Lab.Server upstream = TestPg.startServer(Map.of());
        mz = MzTier.start(upstream, "neondb");
        mz.system("ALTER SYSTEM SET enable_create_table_from_source = true");
    }

    @AfterAll
    static void stop() {
        if (mz != null) {
            mz.close();
        }
    }

    @Test
    @Order(1)
    void neonHalf() {
        mz.neonHalf();
    }

    @Test
    @Order(2)
    void clusterAndConnection() {
        mz.clusterAndConnection();
    }

    /** C.3 new syntax (a table FROM SOURCE per upstream table, no subsources), C.4: monitor shows each table. */
    @Test
    @Order(3)
    void newSyntaxSourceAndMonitorShowEveryTable() {
        mz.sourceAndMonitor("new", "table");
        List<Map<String, Object>> tables = mz.rows("SELECT t.name FROM mz_catalog.mz_tables t "
                + "JOIN mz_catalog.mz_sources s ON s.id = t.source_id WHERE s.name = 'mz_source' ORDER BY t.name");
        assertEquals(Set.copyOf(MzTier.TABLES), Set.copyOf(tables.stream().map(r -> (String) r.get("name")).toList()));
        assertEquals(List.of(), mz.rows("SELECT name FROM mz_catalog.mz_sources WHERE type = 'subsource'"),
                "the new syntax makes no subsources");
    }

    @Test
    @Order(4)
    void exploreListsEveryTable() {
        mz.exploreListsEveryTable();
    }

    @Test
    @Order(5)
    void doctorWithMzUrlPasses() {
        mz.doctorPasses();
    }

    /** D: the examples over the tables FROM SOURCE, and SUBSCRIBE. */
    @Test
    @Order(6)
    void exploreCreatesTheExamples() {
        TestPg.Run r = mz.ok("explore", "--create-examples", "--subscribe-seconds", "3", "--json");
        JsonObject ex = r.json().getAsJsonObject("examples");
        List<String> created = ex.getAsJsonArray("created").asList().stream().map(JsonElement::getAsString).toList();
        assertEquals(EXAMPLES, created, r.out());
        assertEquals(Set.copyOf(EXAMPLES), mz.objectsNamed(EXAMPLES));
        assertTrue(mz.ok("explore", "--create-examples").out().contains("already done"));
    }

    /**
     * teardown without --cascade: the examples are built on the source's tables, so it stops before any change
     * and names them; the source's own tables are not among them.
     */
    @Test
    @Order(7)
    void teardownRefusesNamingOnlyTheObjectsBuiltOnTheTables() {
        TestPg.Run r = mz.run("teardown", "--yes");
        assertEquals(Exit.CONFLICT, r.exit(), r.all());
        assertTrue(r.err().contains("orders_per_customer") && r.err().contains("revenue_per_day"), r.err());
        for (String t : MzTier.TABLES) {
            assertFalse(r.err().contains("table " + t), "the source's own table " + t + " is not named as built on it: "
                    + r.err());
        }
        assertEquals(Set.of("mz_source"), mz.objectsNamed(List.of("mz_source")), "nothing was changed");
        assertEquals(1, mz.upstream(mz.db, "SELECT pubname FROM pg_publication WHERE pubname = 'mz_source'").size());
    }

    /** teardown --cascade: the examples, the source with its tables, and the rest, verified from both catalogs. */
    @Test
    @Order(8)
    void teardownCascadeDropsEverything() {
        String slot = mz.slotOf("mz_source");
        TestPg.Run r = mz.run("teardown", "--cascade", "--yes", "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        assertTrue(MzTier.isTrue(j, "verified"), r.out());
        String cascaded = j.getAsJsonObject("materialize_objects").getAsJsonArray("cascaded").toString();
        for (String e : EXAMPLES) {
            assertTrue(cascaded.contains(e), "cascaded: " + cascaded);
        }
        for (String t : MzTier.TABLES) {
            assertFalse(cascaded.contains("table " + t), "the source's own table " + t + " is not cascaded: " + cascaded);
        }
        mz.nothingLeft(slot, EXAMPLES);
    }
}
