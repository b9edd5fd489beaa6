import static org.junit.jupiter.api.Assertions.*;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;

/** Guide step A.2.1 on many tables: atomic batches, resuming after a failure, the default batch size. */
class ReplicaIdentityTest {

    /** n tables t00001 … (id int primary key, v text) in public, created by neondb_owner. */
    static void createTables(String db, int n) {
        try (Connection c = TestPg.ownerConn(db); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                b.append(String.format("CREATE TABLE public.t%05d (id int PRIMARY KEY, v text);", i));
                if (i % 500 == 0 || i == n) {
                    s.execute(b.toString());
                    c.commit();
                    b.setLength(0);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How many tables in public have REPLICA IDENTITY FULL, among those named between from and to. */
    static long full(String db, String from, String to) {
        return (Long) TestPg.rows(db, "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relreplident = 'f' "
                + "AND c.relname BETWEEN '" + from + "' AND '" + to + "'").get(0).get("n");
    }

    @Test
    void failedBatchRollsBackAloneAndARerunFinishes() throws Exception {
        String db = TestPg.emptyDatabase();
        createTables(db, 1500);
        Map<String, String> env = TestPg.env(db);

        // Batches of 500 in name order: t00501 … t01000 is the second. Hold a lock on one of its tables.
        TestPg.Run first;
        try (Connection holder = TestPg.ownerConn(db); Statement s = holder.createStatement()) {
            holder.setAutoCommit(false);
            s.execute("LOCK TABLE public.t00700 IN ACCESS SHARE MODE");
            first = run(env, "--schema", "public", "--batch-size", "500", "--lock-timeout", "200ms");
            holder.rollback();
        }
        assertEquals(Exit.BUSY, first.exit(), first.all());
        assertTrue(first.err().contains("batch 2 of 3 rolled back; 500 tables were set before it"), first.err());
        assertTrue(first.err().contains("continues where this stopped"), first.err());
        assertEquals(500, full(db, "t00001", "t00500"), "the first batch is committed");
        assertEquals(0, full(db, "t00501", "t01000"), "the failed batch is rolled back as a whole");
        assertEquals(0, full(db, "t01001", "t01500"), "no batch after the failed one ran");

        TestPg.Run second = run(env, "--schema", "public", "--batch-size", "500", "--lock-timeout", "200ms");
        assertEquals(Exit.OK, second.exit(), second.all());
        assertTrue(second.out().contains("1500 tables: 500 already FULL, 1000 to set"), second.out());
        assertTrue(second.out().contains("1000 set to FULL in 2 transactions, 500 already FULL"), second.out());
        assertEquals(1500, full(db, "t00001", "t01500"));

        TestPg.Run third = run(env, "--schema", "public", "--batch-size", "500");
        assertEquals(Exit.OK, third.exit(), third.all());
        assertTrue(third.out().contains("replica identity: already done (1500 tables FULL)"), third.out());
    }

    /**
     * 10,000 ALTERs in one transaction overflow a default server's lock table (64 × 100 slots); the
     * default batch size, read from the server, must not.
     */
    @Test
    void defaultBatchSizeFitsADefaultServer() {
        String db = TestPg.emptyDatabase();
        assertEquals("64", TestPg.rows(db, "SHOW max_locks_per_transaction").get(0).values().iterator().next());
        assertEquals("100", TestPg.rows(db, "SHOW max_connections").get(0).values().iterator().next());
        createTables(db, 10_000);

        TestPg.Run r = run(TestPg.env(db), "--schema", "public", "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject j = run(TestPg.env(db), "--schema", "public", "--json").json();
        assertTrue(j.get("already_done").getAsBoolean(), j.toString());
        JsonObject first = r.json();
        assertEquals(1000, first.get("batch_size").getAsInt());
        assertEquals(10, first.get("batches").getAsInt());
        assertEquals(10_000, first.get("set").getAsInt());
        assertEquals(10_000, full(db, "t00001", "t10000"));
    }

    @Test
    void publicationSelectsItsTablesByName() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE PUBLICATION mz_source FOR TABLE orders, \"Order Items\"");
        TestPg.Run r = run(TestPg.env(db), "--publication", "mz_source");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertTrue(r.out().contains("2 set to FULL"), r.out());
        assertEquals(java.util.List.of("Order Items", "orders"), TestPg.rows(db, "SELECT relname FROM pg_class "
                + "WHERE relreplident = 'f' AND relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1")
                .stream().map(m -> m.get("relname")).toList());
    }

    static TestPg.Run run(Map<String, String> env, String... args) {
        return TestPg.run(new ReplicaIdentity(), env, args);
    }
}
