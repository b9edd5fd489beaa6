import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.replication.PGReplicationStream;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Pg;

/**
 * teardown on the lab PostgreSQL after a real Neon-side setup made by the step commands, in-process. Roles and
 * slots are cluster-wide, so each test uses names of its own. The Materialize side is checked as a plan
 * (--dry-run) against the catalog stand-in: its DROP statements are Materialize syntax that PostgreSQL rejects.
 */
class TeardownTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String TABLES = "customers,orders,\"Order Items\",page_views";

    record Setup(String db, Map<String, String> env, String publication, String role) {}

    /** The guide's Neon side: replica-identity, publication, replication-role --password-out, grants. */
    static Setup setUp(String publication, String role) throws Exception {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        Path pw = Files.createTempDirectory("teardown").resolve("pw");
        ok(TestPg.run(Commands.of("replica-identity"), env, "--table", TABLES));
        ok(TestPg.run(Commands.of("publication"), env, "--name", publication, "--table", TABLES));
        ok(TestPg.run(Commands.of("replication-role"), env, "--role", role, "--password-out", pw.toString()));
        ok(TestPg.run(Commands.of("grants"), env, "--role", role, "--publication", publication));
        return new Setup(db, env, publication, role);
    }

    static String unique(String prefix) {
        return prefix + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
    }

    static void ok(TestPg.Run r) {
        assertEquals(0, r.exit(), r.all());
    }

    /** What DROP SOURCE can leave behind: an inactive logical slot named like Materialize's. */
    static String leftoverSlot(String db, String prefix) {
        String slot = prefix + "_" + db;
        TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        return slot;
    }

    static boolean slotExists(String db, String slot) {
        return !TestPg.rows(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "'").isEmpty();
    }

    static boolean roleExists(String db, String role) {
        return !TestPg.rows(db, "SELECT 1 FROM pg_roles WHERE rolname = '" + role.replace("'", "''") + "'").isEmpty();
    }

    static TestPg.Run teardown(Map<String, String> env, String... args) {
        return TestPg.run(Commands.of("teardown"), env, args);
    }

    @Test
    void oddNamesAllGoneAndIdempotent() throws Exception {
        Setup s = setUp("Mz Pub", unique("we\"ird"));
        String slot = leftoverSlot(s.db(), "materialize");
        TestPg.Run r = teardown(s.env(), "--publication", "Mz Pub", "--role", s.role(), "--slot", slot,
                "--reset-replica-identity", "--yes");
        ok(r);
        assertTrue(r.out().contains("DROP PUBLICATION IF EXISTS \"Mz Pub\";"), r.all());
        assertTrue(r.out().contains("ALTER TABLE public.\"Order Items\" REPLICA IDENTITY DEFAULT;"), r.all());
        assertTrue(r.out().contains("verified: no publication Mz Pub, no role " + s.role() + ", no slot of ours"), r.all());
        assertTrue(TestPg.rows(s.db(), "SELECT 1 FROM pg_publication").isEmpty());
        assertFalse(roleExists(s.db(), s.role()));
        assertFalse(slotExists(s.db(), slot));
        assertEquals(List.of(), TestPg.rows(s.db(), "SELECT relname FROM pg_class WHERE relreplident = 'f' "
                + "AND relnamespace = 'public'::regnamespace"));

        TestPg.Run again = teardown(s.env(), "--publication", "Mz Pub", "--role", s.role(), "--slot", slot,
                "--reset-replica-identity", "--yes");
        ok(again);
        assertTrue(again.out().contains("teardown: already done (nothing of ours left upstream)"), again.all());
    }

    @Test
    void dryRunAndNoTerminalChangeNothing() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        String slot = leftoverSlot(s.db(), "materialize");
        String before = TestPg.catalogState(s.db());
        TestPg.Run dry = teardown(s.env(), "--role", s.role(), "--slot", slot, "--dry-run", "--json");
        ok(dry);
        List<String> st = new ArrayList<>();
        for (JsonElement e : dry.json().getAsJsonArray("statements")) {
            st.add(e.getAsString());
        }
        String r = s.role();
        // the lab's public schema has USAGE for PUBLIC, so grants granted no USAGE, and none is revoked
        assertEquals(List.of("BEGIN", "DROP PUBLICATION IF EXISTS mz_source", "REVOKE SELECT ON TABLE public.\"Order Items\", "
                        + "public.customers, public.orders, public.page_views FROM " + r,
                "ALTER DEFAULT PRIVILEGES FOR ROLE neondb_owner IN SCHEMA public REVOKE SELECT ON TABLES FROM " + r,
                "DROP ROLE IF EXISTS " + r, "COMMIT", "SELECT pg_drop_replication_slot('" + slot + "')"), st);
        assertEquals(before, TestPg.catalogState(s.db()));
        assertTrue(slotExists(s.db(), slot));

        TestPg.Run no = teardown(s.env(), "--role", s.role(), "--slot", slot);
        assertEquals(15, no.exit(), no.all());
        assertTrue(no.out().contains("plan:"), no.all());
        assertTrue(no.err().contains("nothing changed"), no.all());
        assertEquals(before, TestPg.catalogState(s.db()));
        assertTrue(slotExists(s.db(), slot));
        ok(teardown(s.env(), "--role", s.role(), "--slot", slot, "--yes"));   // slots and roles are server-wide
        assertFalse(slotExists(s.db(), slot));
    }

    @Test
    void orphanSlotsListedThenDroppedOnlyWhenAsked() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        String a = leftoverSlot(s.db(), "materialize");
        String b = leftoverSlot(s.db(), "mzsnapshot");
        String other = leftoverSlot(s.db(), "someone_else");
        TestPg.Run r = teardown(s.env(), "--role", s.role(), "--yes", "--json");
        ok(r);
        JsonObject j = r.json();
        assertEquals(List.of(a, b).toString(), j.getAsJsonArray("orphan_slots").toString().replace("\"", "").replace(",", ", "));
        assertTrue(slotExists(s.db(), a) && slotExists(s.db(), b));

        TestPg.Run kept = teardown(s.env(), "--role", s.role());
        ok(kept);   // nothing of ours left: the orphans are listed, not ours
        assertTrue(kept.out().contains("already done"), kept.all());
        assertTrue(kept.err().contains("--drop-orphan-slots drops them"), kept.all());

        TestPg.Run drop = teardown(s.env(), "--role", s.role(), "--drop-orphan-slots", "--yes");
        ok(drop);
        assertFalse(slotExists(s.db(), a));
        assertFalse(slotExists(s.db(), b));
        assertTrue(slotExists(s.db(), other), "a slot not named like Materialize's is never touched");
        TestPg.exec(s.db(), "SELECT pg_drop_replication_slot('" + other + "')");
    }

    @Test
    void activeSlotIsKeptAndNamesItsHolder() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        String slot = leftoverSlot(s.db(), "materialize");
        try (Connection rc = Pg.replication(TestPg.server().superConn(s.db()))) {
            PGReplicationStream stream = rc.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                    .withSlotName(slot).withSlotOption("proto_version", "1").withSlotOption("publication_names", "mz_source")
                    .withStatusInterval(1, TimeUnit.SECONDS).start();
            Object pid = TestPg.rows(s.db(), "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot + "'")
                    .get(0).get("active_pid");
            TestPg.Run r = teardown(s.env(), "--role", s.role(), "--slot", slot, "--yes");
            assertEquals(9, r.exit(), r.all());
            assertTrue(r.err().contains("still there after the teardown: slot " + slot), r.all());
            assertTrue(r.err().contains("held by pid " + pid), r.all());
            assertTrue(r.err().contains("pg_terminate_backend(" + pid + ")"), r.all());
            assertTrue(slotExists(s.db(), slot));
            assertFalse(roleExists(s.db(), s.role()), "the rest is done");
            stream.close();
        }
        // once its holder is gone, the same command finishes the job
        ok(teardown(s.env(), "--role", s.role(), "--slot", slot, "--yes"));
        assertFalse(slotExists(s.db(), slot));
    }

    @Test
    void roleThatOwnsSomethingStopsBeforeAnyChange() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        TestPg.exec(s.db(), "CREATE TABLE public.mine (id int)", "ALTER TABLE public.mine OWNER TO " + s.role());
        String before = TestPg.catalogState(s.db());
        TestPg.Run r = teardown(s.env(), "--role", s.role(), "--yes");
        assertEquals(7, r.exit(), r.all());
        assertTrue(r.err().contains("owns table mine"), r.all());
        assertTrue(r.err().contains("REASSIGN OWNED BY"), r.all());
        assertEquals(before, TestPg.catalogState(s.db()));
        ok(teardown(s.env(), "--role", s.role(), "--keep-role", "--yes"));
        assertTrue(roleExists(s.db(), s.role()));
        TestPg.exec(s.db(), "DROP TABLE public.mine", "DROP ROLE " + s.role());
    }

    @Test
    void otherPrivilegesAreRevokedToo() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        TestPg.execAsOwner(s.db(), "CREATE SCHEMA extra", "CREATE TABLE extra.t (id int)",
                "GRANT SELECT ON extra.t TO " + s.role(), "GRANT CONNECT ON DATABASE " + s.db() + " TO " + s.role());
        TestPg.Run r = teardown(s.env(), "--role", s.role(), "--yes", "--verbose");
        ok(r);
        assertTrue(r.out().contains("REVOKE ALL ON TABLE extra.t FROM " + s.role() + ";"), r.all());
        assertTrue(r.out().contains("REVOKE ALL ON DATABASE " + s.db() + " FROM " + s.role() + ";"), r.all());
        assertFalse(roleExists(s.db(), s.role()));
    }

    @Test
    void onNeonTheRoleIsLeftToTheApi() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        TestPg.exec(s.db(), "ALTER DATABASE " + s.db() + " SET neon.endpoint_id = 'ep-cool-darkness-123456'");
        TestPg.Run r = teardown(s.env(), "--role", s.role(), "--yes");
        assertEquals(11, r.exit(), r.all());
        assertTrue(r.all().contains("neonctl roles delete " + s.role()), r.all());
        assertTrue(roleExists(s.db(), s.role()));
        assertTrue(TestPg.rows(s.db(), "SELECT 1 FROM pg_publication").isEmpty());
        assertEquals(List.of(Map.of("sel", false)), TestPg.rows(s.db(),
                "SELECT has_table_privilege('" + s.role() + "', 'public.orders', 'SELECT') AS sel"));
        ok(teardown(s.env(), "--role", s.role(), "--keep-role", "--yes"));
        TestPg.exec(s.db(), "DROP ROLE " + s.role());
    }

    // ---- the Materialize side: a plan against the catalog stand-in --------------------------

    static MzStandIn standIn(String slot) {
        MzStandIn mz = new MzStandIn();
        mz.exec("INSERT INTO mz_catalog.mz_clusters (id, name) VALUES ('u2', 'ingest_postgres')",
                "INSERT INTO mz_catalog.mz_secrets (id, schema_id, name) VALUES ('u98', 'u3', 'pgpass')",
                "INSERT INTO mz_catalog.mz_connections (id, schema_id, name, type) VALUES ('u99', 'u3', 'pg_connection', 'postgres')",
                "INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES ('u99', 'u98')");
        mz.source("u10", "mz_source", "u2", slot, "running", null)
                .subsource("u11", "orders", "u10", "public", "orders", "running", null);
        mz.exec("UPDATE mz_catalog.mz_sources SET connection_id = 'u99' WHERE id = 'u10'",
                "INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES ('u2x', 'u3', 'x', 'x', NULL)");
        return mz;
    }

    @Test
    void materializePlanInOrderWithTheSourceSlot() throws Exception {
        Setup s = setUp("mz_source", unique("mz_"));
        String slot = leftoverSlot(s.db(), "materialize");   // the slot the source claims (mz_postgres_sources)
        String orphan = leftoverSlot(s.db(), "mzsnapshot");
        MzStandIn mz = standIn(slot);
        TestPg.Run r = teardown(mz.env(s.db()), "--role", s.role(), "--dry-run", "--json");
        ok(r);
        List<String> st = new ArrayList<>();
        r.json().getAsJsonArray("statements").forEach(e -> st.add(e.getAsString()));
        assertEquals(List.of("DROP SOURCE IF EXISTS mz_source CASCADE", "DROP CONNECTION IF EXISTS pg_connection",
                "DROP SECRET IF EXISTS pgpass", "DROP CLUSTER IF EXISTS ingest_postgres"), st.subList(0, 4));
        assertEquals("BEGIN", st.get(4));
        assertEquals("DROP PUBLICATION IF EXISTS mz_source", st.get(5));
        assertEquals("DROP ROLE IF EXISTS " + s.role(), st.get(st.size() - 3));
        assertEquals("SELECT pg_drop_replication_slot('" + slot + "')", st.get(st.size() - 1));
        assertEquals("[\"" + orphan + "\"]", r.json().getAsJsonArray("orphan_slots").toString());
        assertEquals(slot, r.json().getAsJsonObject("materialize_objects").get("source_slot").getAsString());

        // a view on a subsource: not the toolkit's, so nothing happens without --cascade
        mz.exec("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES ('u20', 'u3', 'orders_view', 'view')",
                "INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES ('u20', 'u11')",
                "INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES ('u21', 'u3', 'other_mv', "
                        + "'materialized-view', 'u2')");
        TestPg.Run blocked = teardown(mz.env(s.db()), "--role", s.role(), "--dry-run");
        assertEquals(7, blocked.exit(), blocked.all());
        assertTrue(blocked.err().contains("view orders_view"), blocked.all());
        TestPg.Run cascade = teardown(mz.env(s.db()), "--role", s.role(), "--dry-run", "--cascade", "--materialize-only");
        ok(cascade);
        assertTrue(cascade.err().contains("cluster ingest_postgres is kept: it also holds materialized-view other_mv"),
                cascade.all());
        assertFalse(cascade.out().contains("DROP CLUSTER"), cascade.all());
        for (String sl : List.of(slot, orphan)) {
            TestPg.exec(s.db(), "SELECT pg_drop_replication_slot('" + sl + "')");
        }
        TestPg.exec(s.db(), "DROP OWNED BY " + s.role(), "DROP ROLE " + s.role());
    }
}
