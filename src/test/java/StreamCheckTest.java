import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * After guide step A.2.4: stream-check against the lab. Each test sets up its own database as the steps
 * before it would (publication, identity, a replication role with a password, grants), then asserts on
 * what the stream showed, on the exit codes, and that no slot of ours is left behind, ever.
 */
class StreamCheckTest {
    static final AtomicInteger ROLES = new AtomicInteger();
    static final String PUBLISHED = "customers, orders, \"Order Items\", page_views";

    /** After every run, also failures and killed connections: no neonmz_check_ slot anywhere on the server. */
    @AfterEach
    void noSlotLeft() throws Exception {
        assertTrue(waitNoSlots(), "a neonmz_check_ slot was left: " + slots());
    }

    static List<Map<String, Object>> slots() {
        return TestPg.rows("postgres", "SELECT slot_name, active_pid, database FROM pg_replication_slots "
                + "WHERE slot_name LIKE 'neonmz\\_check\\_%'");
    }

    static boolean waitNoSlots() throws InterruptedException {
        for (int i = 0; i < 250; i++) {
            if (slots().isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** A lab database set up to A.2.4: the publication, FULL identity (or not), a replication role, grants. */
    record Setup(String db, String role, Path passwordFile, Map<String, String> env) {
        String[] asRole(String... more) {
            String[] a = new String[4 + more.length];
            a[0] = "--role";
            a[1] = role;
            a[2] = "--password-file";
            a[3] = passwordFile.toString();
            System.arraycopy(more, 0, a, 4, more.length);
            return a;
        }
    }

    static Setup setUp(boolean full, String roleAttributes) throws Exception {
        String db = TestPg.newDatabase();
        String role = "mzs_" + ProcessHandle.current().pid() + "_" + ROLES.incrementAndGet();
        String pw = "pw-" + role + "-Secret";
        TestPg.exec("postgres", "CREATE ROLE " + role + " " + roleAttributes + " PASSWORD '" + pw + "'");
        TestPg.execAsOwner(db, "CREATE PUBLICATION mz_source FOR TABLE " + PUBLISHED);
        if (full) {
            for (String t : List.of("customers", "orders", "\"Order Items\"", "page_views")) {
                TestPg.execAsOwner(db, "ALTER TABLE " + t + " REPLICA IDENTITY FULL");
            }
        }
        TestPg.execAsOwner(db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        Path f = Files.createTempFile("neonmz-stream", ".password");
        Files.writeString(f, pw + "\n");
        return new Setup(db, role, f, TestPg.env(db));
    }

    static String data(String db) {
        return TestPg.rows(db, "SELECT * FROM \"Order Items\" ORDER BY 1, 2").toString()
                + TestPg.rows(db, "SELECT * FROM customers ORDER BY 1")
                + TestPg.rows(db, "SELECT * FROM page_views ORDER BY 1, 2");
    }

    @Test
    void streamsAsTheReplicationRoleAndSeesTheWholeOldRow() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        String before = data(s.db());
        String catalog = TestPg.catalogState(s.db());

        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--json"));
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals(s.role(), j.get("role").getAsString());
        assertEquals("public.Order Items", j.get("table").getAsString());   // the first published table, by name
        assertEquals("UPDATE", j.get("change").getAsString());
        assertEquals("full", j.get("old_row").getAsString());
        assertEquals("full", j.get("replica_identity").getAsString());
        assertTrue(j.get("lsn").getAsString().matches("[0-9A-F]+/[0-9A-F]+"), j.toString());
        assertTrue(j.get("latency_ms").getAsLong() >= 0);
        assertTrue(j.get("slot_dropped").getAsBoolean());
        assertTrue(j.get("slot").getAsString().matches("neonmz_check_\\d+_[a-z0-9]{6}"), j.toString());
        assertEquals(List.of("BEGIN", "UPDATE public.\"Order Items\" SET order_id = order_id WHERE ctid = "
                        + "(SELECT ctid FROM public.\"Order Items\" LIMIT 1)", "COMMIT"),
                j.getAsJsonArray("statements").asList().stream().map(e -> e.getAsString()).toList());
        // a no-op: no data and nothing in the catalog changed
        assertEquals(before, data(s.db()));
        assertEquals(catalog, TestPg.catalogState(s.db()));
        assertFalse(r.out().contains("pw-"), "no password in the output");

        // idempotent by nature: a second run proves the same, and says so in the same words
        TestPg.Run again = TestPg.run(new StreamCheck(), s.env(), s.asRole());
        assertEquals(Exit.OK, again.exit(), again.all());
        assertTrue(again.out().contains("stream works: " + s.role() + " read UPDATE on public.\"Order Items\" through "
                + "publication mz_source (old row full)"), again.out());
        assertTrue(again.out().contains("slot dropped yes"), again.out());
        assertTrue(again.out().contains("change       UPDATE public.\"Order Items\" SET order_id = order_id"), again.out());
    }

    @Test
    void defaultsToTheConnectionsOwnUser() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), "--table", "customers", "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertEquals("neondb_owner", r.json().get("role").getAsString());
        assertEquals("public.customers", r.json().get("table").getAsString());
        // id is GENERATED ALWAYS AS IDENTITY, which an UPDATE may not set: the next column is used
        assertTrue(r.json().getAsJsonArray("statements").get(1).getAsString()
                .startsWith("UPDATE public.customers SET email = email"), r.out());
    }

    @Test
    void defaultIdentityFailsTheProofWithTheFix() throws Exception {
        Setup s = setUp(false, "LOGIN REPLICATION");
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--json"));
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals("UPDATE", j.get("change").getAsString());
        assertEquals("none", j.get("old_row").getAsString());   // DEFAULT identity, key unchanged: no old row at all
        assertEquals("default", j.get("replica_identity").getAsString());
        assertTrue(j.get("slot_dropped").getAsBoolean());
        String err = j.getAsJsonObject("error").toString();
        assertTrue(err.contains("REPLICA IDENTITY DEFAULT") && err.contains("./jbang replica-identity --publication mz_source"), err);
    }

    @Test
    void aRoleWithoutReplicationIsRefused() throws Exception {
        Setup s = setUp(true, "LOGIN");
        String catalog = TestPg.catalogState(s.db());
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole());
        assertEquals(Exit.PERMISSION, r.exit(), r.all());
        assertTrue(r.err().contains("lacks the REPLICATION attribute") && r.err().contains("./jbang replication-role"),
                r.err());
        assertEquals(catalog, TestPg.catalogState(s.db()));
    }

    @Test
    void aRoleThatCannotReadIsSentToGrants() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.execAsOwner(s.db(), "REVOKE SELECT ON page_views FROM " + s.role());
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole());
        assertEquals(Exit.PERMISSION, r.exit(), r.all());
        assertTrue(r.err().contains("cannot read 1 published table(s): public.page_views")
                && r.err().contains("./jbang grants --role " + s.role()), r.err());
    }

    @Test
    void aMissingPublicationIsNotFound() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--publication", "nope"));
        assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
        assertTrue(r.err().contains("publication nope does not exist") && r.err().contains("./jbang publication"), r.err());
    }

    @Test
    void walLevelReplicaIsNotReady() {
        Lab.Server replica = ExtraServers.replica();
        TestPg.Run r = TestPg.run(new StreamCheck(), TestPg.env(replica, "neondb"));
        assertEquals(Exit.NOT_READY, r.exit(), r.all());
        assertTrue(r.err().contains("wal_level is replica") && r.err().contains("check-logical-replication"), r.err());
    }

    @Test
    void aWrongPasswordIsAnAuthFailure() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        Files.writeString(s.passwordFile(), "not-the-password\n");
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole());
        assertEquals(Exit.AUTH, r.exit(), r.all());
        assertFalse(r.all().contains("not-the-password"), r.all());
    }

    @Test
    void dryRunOpensNoSlotAndChangesNothing() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        String before = data(s.db());
        String catalog = TestPg.catalogState(s.db());
        long xact = xactCommits(s.db());
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--dry-run"));
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("BEGIN;\nUPDATE public.\"Order Items\" SET order_id = order_id WHERE ctid = "
                + "(SELECT ctid FROM public.\"Order Items\" LIMIT 1);\nCOMMIT;\n"), r.out());
        assertTrue(r.out().contains("stream check: would open slot neonmz_check_"), r.out());
        assertEquals(before, data(s.db()));
        assertEquals(catalog, TestPg.catalogState(s.db()));
        assertTrue(slots().isEmpty());
        assertEquals(0, TestPg.rows(s.db(), "SELECT 1 FROM pg_stat_replication").size());
        assertTrue(xactCommits(s.db()) >= xact);
    }

    static long xactCommits(String db) {
        return ((Number) TestPg.rows(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                .get(0).get("xact_commit")).longValue();
    }

    @Test
    void oddNamesAndNonAsciiWork() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.execAsOwner(s.db(),
                "CREATE TABLE \"we\"\"ird\" (\"Prix €\" text, \"ключ\" int, note text)",
                "INSERT INTO \"we\"\"ird\" VALUES ('3,50 €', 1, NULL)",
                "ALTER TABLE \"we\"\"ird\" REPLICA IDENTITY FULL",
                "ALTER PUBLICATION mz_source ADD TABLE \"we\"\"ird\"",
                "GRANT SELECT ON \"we\"\"ird\" TO " + s.role());
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--table", "\"we\"\"ird\"", "--json"));
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals("public.we\"ird", j.get("table").getAsString());
        assertEquals("full", j.get("old_row").getAsString());
        assertEquals("UPDATE public.\"we\"\"ird\" SET \"Prix €\" = \"Prix €\" WHERE ctid = (SELECT ctid FROM "
                + "public.\"we\"\"ird\" LIMIT 1)", j.getAsJsonArray("statements").get(1).getAsString());

        // an odd publication name too
        TestPg.execAsOwner(s.db(), "CREATE PUBLICATION \"Mz Pub\" FOR TABLE \"Order Items\"");
        TestPg.Run p = TestPg.run(new StreamCheck(), s.env(), s.asRole("--publication", "Mz Pub"));
        assertEquals(Exit.OK, p.exit(), p.all());
        assertTrue(p.out().contains("through publication Mz Pub (old row full)"), p.out());
    }

    @Test
    void anEmptyTableNeedsTheInsertProbe() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.execAsOwner(s.db(), "CREATE TABLE empty_one (id int, note text DEFAULT 'probe')",
                "ALTER TABLE empty_one REPLICA IDENTITY FULL", "ALTER PUBLICATION mz_source ADD TABLE empty_one",
                "GRANT SELECT ON empty_one TO " + s.role());
        TestPg.Run refused = TestPg.run(new StreamCheck(), s.env(), s.asRole("--table", "empty_one"));
        assertEquals(Exit.CONFLICT, refused.exit(), refused.all());
        assertTrue(refused.err().contains("is empty") && refused.err().contains("--insert-probe"), refused.err());

        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--table", "empty_one", "--insert-probe", "--json"));
        assertEquals(Exit.OK, r.exit(), r.all());
        assertEquals("INSERT+DELETE", r.json().get("change").getAsString());
        assertEquals("full", r.json().get("old_row").getAsString());
        assertEquals(0, TestPg.rows(s.db(), "SELECT * FROM empty_one").size());

        // without --table, an empty published table is passed over for one with a row
        TestPg.execAsOwner(s.db(), "ALTER PUBLICATION mz_source SET TABLE empty_one, page_views");
        TestPg.Run next = TestPg.run(new StreamCheck(), s.env(), s.asRole("--json"));
        assertEquals(Exit.OK, next.exit(), next.all());
        assertEquals("public.page_views", next.json().get("table").getAsString());
    }

    @Test
    void noWriteSeesAChangeMadeByOthers() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        String before = TestPg.catalogState(s.db());
        CompletableFuture<TestPg.Run> run = CompletableFuture.supplyAsync(() ->
                TestPg.run(new StreamCheck(), s.env(), s.asRole("--no-write", "--for", "30s", "--json")));
        awaitActiveSlot(s.db());
        TestPg.execAsOwner(s.db(), "UPDATE page_views SET referrer = 'test' WHERE path = '/cart'");
        TestPg.Run r = run.get(40, TimeUnit.SECONDS);
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals("UPDATE", j.get("change").getAsString());
        assertEquals("public.page_views", j.get("table").getAsString());
        assertEquals("full", j.get("old_row").getAsString());
        assertFalse(j.get("written").getAsBoolean());
        assertEquals(0, j.getAsJsonArray("statements").size());
        assertEquals(before, TestPg.catalogState(s.db()));
    }

    @Test
    void noWriteTimesOutWithoutAChange() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--no-write", "--for", "1s"));
        assertEquals(Exit.TIMEOUT, r.exit(), r.all());
        assertTrue(r.err().contains("did not show any change"), r.err());
    }

    @Test
    void aKilledReplicationConnectionLeavesNoSlot() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        CompletableFuture<TestPg.Run> run = CompletableFuture.supplyAsync(() ->
                TestPg.run(new StreamCheck(), s.env(), s.asRole("--no-write", "--for", "30s")));
        awaitActiveSlot(s.db());
        TestPg.exec("postgres", "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                + "WHERE slot_name LIKE 'neonmz\\_check\\_%' AND database = '" + s.db() + "'");
        TestPg.Run r = run.get(40, TimeUnit.SECONDS);
        assertEquals(Exit.CONNECT, r.exit(), r.all());
        assertTrue(r.err().contains("the replication connection was lost"), r.err());
    }

    @Test
    void aLongTransactionHoldsTheSlotBackUntilTimeout() throws Exception {
        Setup s = setUp(true, "LOGIN REPLICATION");
        // a new logical slot waits for every transaction with an xid to end; this one holds a row lock
        try (java.sql.Connection c = TestPg.ownerConn(s.db()); java.sql.Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("SELECT * FROM \"Order Items\" FOR UPDATE");
            long t0 = System.nanoTime();
            TestPg.Run r = TestPg.run(new StreamCheck(), s.env(), s.asRole("--timeout", "1s"));
            assertEquals(Exit.TIMEOUT, r.exit(), r.all());
            assertTrue(r.err().contains("was not ready within --timeout 1s") && r.err().contains("pg_stat_activity"), r.err());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4));
            assertFalse(r.err().contains("still there"), r.err());   // the cancel released the half-made slot
            assertTrue(slots().isEmpty(), slots().toString());
            c.rollback();
        }
        assertEquals(3, TestPg.rows(s.db(), "SELECT 1 FROM customers").size());
    }

    static void awaitActiveSlot(String db) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            if (!TestPg.rows("postgres", "SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'neonmz\\_check\\_%' "
                    + "AND active AND database = '" + db + "'").isEmpty()
                    && !TestPg.rows("postgres", "SELECT 1 FROM pg_stat_replication s JOIN pg_replication_slots r "
                    + "ON r.active_pid = s.pid WHERE r.database = '" + db + "' AND s.state = 'streaming'").isEmpty()) {
                return;
            }
            Thread.sleep(20);
        }
        fail("no active neonmz_check_ slot in " + db);
    }
}
