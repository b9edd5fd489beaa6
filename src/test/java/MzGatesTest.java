import static org.junit.jupiter.api.Assertions.*;

import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;
import neonmz.Mz;

/**
 * Both sides of each place where Materialize changed within the releases the toolkit supports (the gates of
 * {@link Mz}, dated in Materialize's history: docs/materialize-facts.md), through the scripts against a stand-in
 * answering mz_version() with a release on either side. right-size's background resize (v26.35) is in
 * RightSizeTest; explore's names (v26.19) in ExploreTest.
 */
class MzGatesTest {
    static String upstream;

    @BeforeAll
    static void setUp() {
        upstream = SourceFixtures.database();
    }

    /** mz_source on ingest_postgres, already holding the four tables of publication mz_source (subsources or tables). */
    static MzStandIn existing(String version, boolean subsources) {
        MzStandIn mz = MzStandIn.ofVersion(version);
        mz.exec("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, managed, size, replication_factor) "
                + "VALUES ('u2', 'ingest_postgres', 'u1', true, '50cc', 1)");
        mz.source("u10", "mz_source", "u2", "materialize_u10", "running", null);
        String[] tables = {"customers", "orders", "Order Items", "page_views"};
        for (int i = 0; i < tables.length; i++) {
            if (subsources) {
                mz.subsource("u" + (11 + i), tables[i], "u10", "public", tables[i], "running", null);
            } else {
                mz.table("u" + (11 + i), tables[i], "u10", "public", tables[i], "running");
            }
        }
        return mz;
    }

    static JsonObject source(MzStandIn mz, String... args) {
        String[] all = new String[args.length + 1];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--json";
        TestPg.Run r = TestPg.run(new CreateSource(), mz.env(upstream), all);
        assertEquals(0, r.exit(), r.all());
        return r.json();
    }

    @Test
    void theNewSourceSyntaxIsTheDefaultFromV26_25() {
        JsonObject before = source(existing("v26.24.3", false));
        assertEquals("legacy", before.get("syntax").getAsString(), before.toString());
        assertTrue(before.get("syntax_reason").getAsString().contains("before v26.25.0 the new syntax is off"),
                before.toString());
        assertTrue(before.get("syntax_flag_error").getAsString().contains("enable_create_table_from_source"),
                "a feature flag this user cannot read: " + before);

        JsonObject from = source(existing("v26.25.0", false));
        assertEquals("new", from.get("syntax").getAsString(), from.toString());
        assertTrue(from.get("syntax_reason").getAsString().contains("on by default from v26.25.0"), from.toString());
        assertFalse(from.get("syntax_forced").getAsBoolean());
    }

    @Test
    void forcedSourceTableSyntaxRefusesLegacy() {
        MzStandIn mz = existing("v26.30.0", false).wired().setting("force_source_table_syntax", "on");
        JsonObject auto = source(mz);
        assertEquals("new", auto.get("syntax").getAsString());
        assertTrue(auto.get("syntax_forced").getAsBoolean(), auto.toString());
        TestPg.Run legacy = BadInputTest.failsCleanly(Exit.USAGE, CreateSource::new, mz.env(upstream), "--syntax", "legacy");
        assertTrue(legacy.err().contains("force_source_table_syntax on"), legacy.err());
        assertTrue(legacy.err().contains("use --syntax new"), legacy.err());
        // off (the default): legacy is still taken, and said to be deprecated there
        MzStandIn off = existing("v26.30.0", true).wired().setting("force_source_table_syntax", "off");
        JsonObject j = source(off, "--syntax", "legacy");
        assertEquals("legacy", j.get("syntax").getAsString());
        assertTrue(j.get("syntax_reason").getAsString().contains("deprecated"), j.toString());
    }

    @Test
    void beforeV26_19TheQuotedNamesOfAnExistingSourceAreItsTables() {
        for (String v : List.of("v26.18.2", "v26.19.0")) {
            MzStandIn mz = existing(v, true);
            String stored = (String) TestPg.rows(mz.server, mz.db,
                    "SELECT table_name FROM mz_internal.mz_postgres_source_tables WHERE id = 'u13'").get(0).get("table_name");
            assertEquals(v.equals("v26.18.2") ? "\"Order Items\"" : "Order Items", stored);
            JsonObject j = source(mz);
            assertEquals(0, j.getAsJsonArray("missing_tables").size(), v + ": " + j);
            assertEquals(4, j.get("existing_tables").getAsInt(), j.toString());
        }
    }

    /** The toolkit's gates are the facts' (each dated by its commit in Materialize's history). */
    @Test
    void theGatesAreThoseOfThePinnedFacts() {
        MzFacts f = MzFacts.pinned();
        assertEquals(f.gate("postgres_source_tables_raw_names").first(), Mz.RAW_SOURCE_TABLE_NAMES);
        assertEquals(f.gate("cluster_reconfigurations_relation").first(), Mz.CLUSTER_RECONFIGURATIONS);
        assertEquals(f.gate("background_alter_cluster").first(), Mz.BACKGROUND_RESIZE);
        // the flag's default flipped on main after it was bumped to 26.26.0-dev; the v26.25.0 release notes say
        // "available by default across all environments": the toolkit follows the release notes (one release
        // earlier), and a v26.25 server that still refuses gets MzErrors' "source table syntax" fix
        MzFacts.Gate syntax = f.gate("create_table_from_source_default_on");
        assertEquals("v26.26.0", syntax.first().text());
        assertTrue(json(f, "create_table_from_source_default_on").contains("v26.25.0"), "the release notes name v26.25");
        assertEquals(new Mz.Version(26, 25, 0, "v26.25.0"), Mz.NEW_SOURCE_SYNTAX_DEFAULT);
        // the gates before v26.0 need none in the toolkit: every release it accepts has them
        for (String before : List.of("subsource_dependency_inversion", "force_source_table_syntax_flag",
                "reg_types_refused_unless_text_columns")) {
            assertFalse(f.gate(before).first().atLeast(Mz.MINIMUM), before);
        }
    }

    static String json(MzFacts f, String gate) {
        for (com.google.gson.JsonElement e : f.json.getAsJsonArray("gates")) {
            if (e.getAsJsonObject().get("name").getAsString().equals(gate)) {
                return e.toString();
            }
        }
        throw new AssertionError("no gate " + gate);
    }

    @Test
    void theGatesAreOrderedAndWithinTheSupportedReleases() {
        List<Mz.Version> gates = List.of(Mz.RAW_SOURCE_TABLE_NAMES, Mz.NEW_SOURCE_SYNTAX_DEFAULT,
                Mz.CLUSTER_RECONFIGURATIONS, Mz.BACKGROUND_RESIZE);
        for (int i = 0; i < gates.size(); i++) {
            assertTrue(gates.get(i).atLeast(Mz.MINIMUM), gates.get(i) + " is within what the toolkit supports");
            if (i > 0) {
                assertTrue(gates.get(i).compareTo(gates.get(i - 1)) > 0, gates.toString());
            }
        }
    }
}
