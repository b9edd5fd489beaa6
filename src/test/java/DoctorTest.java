import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.ConnInfo;
import neonmz.Exit;

/**
 * doctor against the lab: a good setup (made by the step commands themselves) passes; then each check is
 * proven by breaking that one thing in a fresh database. Odd names throughout: "Order Items", we"ird, a
 * mixed-case schema and table, and a role name with a capital and a quote.
 */
class DoctorTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String TABLES = "customers,orders,\"Order Items\",page_views,\"we\"\"ird\",\"Mixed Case\".\"CamelT\"";

    record Setup(String db, String role, Map<String, String> env) {
        TestPg.Run doctor(String... args) {
            String[] a = new String[args.length + 3];
            a[0] = "--role";
            a[1] = role;
            a[2] = "--json";
            System.arraycopy(args, 0, a, 3, args.length);
            return TestPg.run(new Doctor(), env, a);
        }
    }

    /** A database set up by the Neon-side steps, run in-process as a user would: A.2.1, A.2.2, A.2.3, A.2.4. */
    static Setup good() throws Exception {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE TABLE \"we\"\"ird\" (id int PRIMARY KEY, v text)",
                "CREATE SCHEMA \"Mixed Case\"", "CREATE TABLE \"Mixed Case\".\"CamelT\" (id int PRIMARY KEY, v text)");
        String role = "Doc\"tor_" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        Map<String, String> env = TestPg.env(db);
        Path pw = Files.createTempFile("neonmz-doctor", ".password");
        Files.delete(pw);
        for (String[] step : List.of(
                new String[] {"replica-identity", "--table", TABLES},
                new String[] {"publication", "--table", TABLES},
                new String[] {"replication-role", "--role", role, "--password-out", pw.toString()},
                new String[] {"grants", "--role", role, "--schema", "public", "--schema", "Mixed Case"})) {
            TestPg.Run r = TestPg.run(Commands.of(step[0]), env, java.util.Arrays.copyOfRange(step, 1, step.length));
            assertEquals(0, r.exit(), step[0] + ": " + r.all());
        }
        return new Setup(db, role, env);
    }

    static JsonObject check(TestPg.Run r, String id) {
        for (JsonElement e : r.json().getAsJsonArray("checks")) {
            if (e.getAsJsonObject().get("id").getAsString().equals(id)) {
                return e.getAsJsonObject();
            }
        }
        fail("no check " + id + " in " + r.out());
        return null;
    }

    static String status(TestPg.Run r, String id) {
        return check(r, id).get("status").getAsString();
    }

    static String sql(TestPg.Run r, String id) {
        return check(r, id).get("sql").toString();
    }

    @Test
    void aGoodSetupPassesAndChangesNothing() throws Exception {
        Setup lab = good();
        String before = TestPg.catalogState(lab.db());
        TestPg.Run r = lab.doctor();
        assertEquals(0, r.exit(), r.all());
        assertEquals(0, r.json().getAsJsonObject("counts").get("fail").getAsInt(), r.out());
        for (String id : List.of("direct_host", "wal_level", "wal_senders", "replication_slots", "publication",
                "publication_tables", "replica_identity", "partitions", "inheritance", "role_login", "role_replication",
                "role_connect", "role_usage", "role_select", "default_privileges", "row_level_security",
                "slot_wal_status", "long_transactions", "prepared_transactions", "exclusive_locks")) {
            assertEquals("PASS", status(r, id), id + ": " + check(r, id));
        }
        assertEquals("WARN", status(r, "ssl"));                       // the lab has no TLS: fine locally
        assertEquals("WARN", status(r, "max_slot_wal_keep_size"));    // the lab's default, -1
        // orders.status is an enum: TEXT COLUMNS
        assertEquals("WARN", status(r, "column_types"));
        assertTrue(sql(r, "column_types").contains("TEXT COLUMNS (public.orders.status)"), r.out());
        assertTrue(check(r, "publication_tables").get("detail").getAsString().contains("\"Mixed Case\".\"CamelT\""));
        assertEquals(before, TestPg.catalogState(lab.db()));

        TestPg.Run human = TestPg.run(new Doctor(), lab.env(), "--role", lab.role());
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().matches("(?s).*PASS  wal_level +logical\n.*"), human.out());
        assertTrue(human.out().contains("fix: ./jbang source adds them as TEXT COLUMNS"), human.out());
        assertTrue(human.out().contains("doctor: "), human.out());
    }

    static TestPg.Run failsWith(Setup lab, String id, String status, String... args) {
        TestPg.Run r = lab.doctor(args);
        assertEquals(status, status(r, id), r.out());
        assertEquals(FAIL_EXPECTED.contains(status) ? Exit.VERIFY : 0, r.exit(), r.out());
        return r;
    }

    static final List<String> FAIL_EXPECTED = List.of("FAIL");

    static String q(String role) {
        return neonmz.Sql.ident(role);
    }

    // ---- server ----------------------------------------------------------------------------------

    @Test
    void walLevelReplicaFailsWithTheFix() {
        TestPg.Run r = TestPg.run(new Doctor(), TestPg.env(ExtraServers.replica(), "neondb"), "--json");
        assertEquals(Exit.VERIFY, r.exit(), r.out());
        assertEquals("FAIL", status(r, "wal_level"));
        assertTrue(sql(r, "wal_level").contains("ALTER SYSTEM SET wal_level = logical"), r.out());
    }

    @Test
    void aPoolerHostIsRefusedWithTheDirectHost() {
        Map<String, String> env = new HashMap<>(TestPg.env("neondb"));
        env.put("DATABASE_URL", "postgresql://neondb_owner@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb");
        TestPg.Run r = TestPg.run(new Doctor(), env, "--json");
        assertEquals(Exit.VERIFY, r.exit(), r.out());
        assertEquals("FAIL", status(r, "direct_host"));
        assertTrue(check(r, "direct_host").get("fix").getAsString().contains("ep-cool-darkness-123456.us-east-2.aws.neon.tech"));
        assertEquals(0, r.json().get("queries").getAsInt());
        TestPg.Run human = TestPg.run(new Doctor(), env);
        assertTrue(human.out().startsWith("FAIL  direct_host  host ep-cool-darkness-123456-pooler"), human.out());
    }

    /** Neon look-alike (neon.endpoint_id set; wal_level=replica, no TLS): SSL fails there, and Neon's caveats show. */
    @Test
    void onNeonSslOffFailsAndNeonsCaveatsAreWarned() {
        TestPg.Run r = TestPg.run(new Doctor(), TestPg.env(ExtraServers.neon(), "neondb"), "--json");
        assertEquals(Exit.VERIFY, r.exit(), r.out());
        assertEquals("FAIL", status(r, "ssl"));
        assertTrue(check(r, "ssl").get("fix").getAsString().contains("sslmode=require"));
        assertTrue(check(r, "wal_level").get("fix").getAsString().contains("check-logical-replication --enable"));
        assertTrue(r.json().get("neon").getAsBoolean());
        for (String id : List.of("neon_inactive_slots", "neon_branch_restore", "neon_scale_to_zero")) {
            assertEquals("WARN", status(r, id));
        }
        assertTrue(check(r, "neon_inactive_slots").get("detail").getAsString().contains("40 hours"));
        assertTrue(check(r, "neon_branch_restore").get("detail").getAsString().contains("deletes its replication slots"));
        assertTrue(check(r, "neon_scale_to_zero").get("detail").getAsString().contains("scale to zero"));
    }

    /**
     * A server of its own (slots are server-wide): 2 slots, one taken by a physical slot whose WAL was removed
     * past max_slot_wal_keep_size (wal_status lost), and a prepared transaction.
     */
    static Lab.Server dedicated;

    static synchronized Map<String, String> dedicated() throws Exception {
        if (dedicated == null) {
            dedicated = TestPg.startServer(Map.of("max_replication_slots", "2", "max_prepared_transactions", "2",
                    "max_slot_wal_keep_size", "1MB"));
            TestPg.exec(dedicated, "neondb", "SELECT pg_create_physical_replication_slot('doctor_lost', true)",
                    "CREATE TABLE filler AS SELECT g AS n FROM generate_series(1, 1000) g",
                    "SELECT pg_switch_wal()", "INSERT INTO filler SELECT g FROM generate_series(1, 1000) g",
                    "SELECT pg_switch_wal()", "INSERT INTO filler SELECT g FROM generate_series(1, 1000) g",
                    "SELECT pg_switch_wal()", "CHECKPOINT",
                    "BEGIN", "INSERT INTO customers (email, name) VALUES ('p@example.com', 'P')",
                    "PREPARE TRANSACTION 'doctor''s gid'");
        }
        return TestPg.env(dedicated, "neondb");
    }

    @Test
    void tooFewFreeSlotsFail() throws Exception {
        TestPg.Run r = TestPg.run(new Doctor(), dedicated(), "--json");
        assertEquals(Exit.VERIFY, r.exit(), r.out());
        assertEquals("FAIL", status(r, "replication_slots"), r.out());
        assertTrue(check(r, "replication_slots").get("detail").getAsString().startsWith("only 1 free"));
        assertEquals("PASS", status(r, "max_slot_wal_keep_size"));
    }

    @Test
    void aPreparedTransactionFails() throws Exception {
        TestPg.Run r = TestPg.run(new Doctor(), dedicated(), "--json");
        assertEquals("FAIL", status(r, "prepared_transactions"), r.out());
        assertTrue(sql(r, "prepared_transactions").contains("ROLLBACK PREPARED 'doctor''s gid'"), r.out());
    }

    @Test
    void aLostSlotFailsAndUnreservedWarns() throws Exception {
        TestPg.Run r = TestPg.run(new Doctor(), dedicated(), "--json");
        assertEquals("lost", TestPg.rows(dedicated, "neondb",
                "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'doctor_lost'").get(0).get("wal_status"));
        assertEquals("FAIL", status(r, "slot_wal_status"), r.out());
        assertTrue(sql(r, "slot_wal_status").contains("pg_drop_replication_slot('doctor_lost')"), r.out());
        // unreserved is a moment between reserved and lost that a test cannot hold still: the classification
        assertEquals("WARN", Doctor.classify("unreserved"));
        assertEquals("FAIL", Doctor.classify("lost"));
        assertNull(Doctor.classify("reserved"));
        assertNull(Doctor.classify("extended"));
    }

    // ---- the publication and its tables ------------------------------------------------------------

    @Test
    void aMissingPublicationFails() throws Exception {
        Setup lab = good();
        TestPg.Run r = failsWith(lab, "publication", "FAIL", "--publication", "Mz Pub");
        assertTrue(sql(r, "publication").contains("CREATE PUBLICATION \\\"Mz Pub\\\" FOR TABLE"), r.out());
    }

    @Test
    void anEmptyPublicationFails() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "CREATE PUBLICATION \"Empty Pub\"");
        TestPg.Run r = failsWith(lab, "publication_tables", "FAIL", "--publication", "Empty Pub");
        assertTrue(check(r, "publication_tables").get("detail").getAsString().contains("is empty"));
        assertTrue(sql(r, "publication_tables").contains("ALTER PUBLICATION \\\"Empty Pub\\\" ADD TABLE"), r.out());
    }

    @Test
    void aTableWithoutFullIdentityFails() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "ALTER TABLE \"we\"\"ird\" REPLICA IDENTITY DEFAULT");
        TestPg.Run r = failsWith(lab, "replica_identity", "FAIL");
        assertEquals("[\"ALTER TABLE public.\\\"we\\\"\\\"ird\\\" REPLICA IDENTITY FULL\"]", sql(r, "replica_identity"));
        assertTrue(check(r, "replica_identity").get("fix").getAsString().contains("./jbang replica-identity --publication mz_source"));
    }

    @Test
    void unsupportedTypesGetTextColumnsAndRegTypesFail() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "CREATE TYPE \"Mood\" AS ENUM ('ok', 'meh')",
                "ALTER TABLE \"Mixed Case\".\"CamelT\" ADD COLUMN \"Feel\" \"Mood\", ADD COLUMN cash money");
        TestPg.Run r = failsWith(lab, "column_types", "WARN");
        assertTrue(sql(r, "column_types").contains(
                "TEXT COLUMNS (\\\"Mixed Case\\\".\\\"CamelT\\\".\\\"Feel\\\", \\\"Mixed Case\\\".\\\"CamelT\\\".cash, public.orders.status)"),
                r.out());
        // reg* types: text too (Materialize refuses them otherwise: test/pg-cdc/types-reg.td), not a FAIL
        TestPg.execAsOwner(lab.db(), "ALTER TABLE \"we\"\"ird\" ADD COLUMN k regclass");
        TestPg.Run reg = failsWith(lab, "column_types", "WARN");
        assertTrue(sql(reg, "column_types").contains("public.\\\"we\\\"\\\"ird\\\".k"), reg.out());
        assertFalse(sql(reg, "column_types").contains("EXCLUDE COLUMNS"), reg.out());
    }

    @Test
    void partitionedAndInheritedTablesWarn() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(),
                "CREATE TABLE \"Part T\" (id int, at date) PARTITION BY RANGE (at)",
                "CREATE TABLE \"Part T 2026\" PARTITION OF \"Part T\" FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                "ALTER TABLE \"Part T 2026\" REPLICA IDENTITY FULL",
                "CREATE TABLE parent_t (id int)", "CREATE TABLE \"Child T\" () INHERITS (parent_t)",
                "ALTER TABLE parent_t REPLICA IDENTITY FULL",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + q(lab.role()),
                "ALTER PUBLICATION mz_source ADD TABLE \"Part T\", ONLY parent_t");
        TestPg.Run r = failsWith(lab, "partitions", "WARN");
        assertTrue(check(r, "partitions").get("detail").getAsString().contains("public.\"Part T\""), r.out());
        assertEquals("WARN", status(r, "inheritance"));
        assertTrue(sql(r, "inheritance").contains("ADD TABLE public.\\\"Child T\\\""), r.out());
        assertEquals("PASS", status(r, "replica_identity"), r.out());
    }

    // ---- the role ---------------------------------------------------------------------------------

    @Test
    void aRoleWithoutLoginFails() throws Exception {
        Setup lab = good();
        TestPg.exec("postgres", "ALTER ROLE " + q(lab.role()) + " NOLOGIN");
        TestPg.Run r = failsWith(lab, "role_login", "FAIL");
        assertTrue(sql(r, "role_login").contains("ALTER ROLE \\\"Doc\\\"\\\"tor_"), r.out());
    }

    @Test
    void aRoleWithoutReplicationFails() throws Exception {
        Setup lab = good();
        TestPg.exec("postgres", "ALTER ROLE " + q(lab.role()) + " NOREPLICATION");
        TestPg.Run r = failsWith(lab, "role_replication", "FAIL");
        assertTrue(sql(r, "role_replication").contains("WITH REPLICATION"), r.out());
    }

    @Test
    void aMissingRoleFails() throws Exception {
        Setup lab = good();
        TestPg.Run r = TestPg.run(new Doctor(), lab.env(), "--role", "nobody_here", "--json");
        assertEquals(Exit.VERIFY, r.exit());
        assertEquals("FAIL", status(r, "role"));
        assertTrue(check(r, "role").get("fix").getAsString().contains("./jbang replication-role --role nobody_here"));
    }

    @Test
    void missingUsageFails() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "REVOKE USAGE ON SCHEMA \"Mixed Case\" FROM " + q(lab.role()));
        TestPg.Run r = failsWith(lab, "role_usage", "FAIL");
        assertTrue(sql(r, "role_usage").contains("GRANT USAGE ON SCHEMA \\\"Mixed Case\\\" TO"), r.out());
    }

    @Test
    void missingSelectFails() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "REVOKE SELECT ON \"Order Items\" FROM " + q(lab.role()));
        TestPg.Run r = failsWith(lab, "role_select", "FAIL");
        assertTrue(check(r, "role_select").get("detail").getAsString().contains("public.\"Order Items\""), r.out());
        assertTrue(sql(r, "role_select").contains("GRANT SELECT ON ALL TABLES IN SCHEMA public TO"), r.out());
    }

    @Test
    void missingDefaultPrivilegesWarn() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM " + q(lab.role()));
        TestPg.Run r = failsWith(lab, "default_privileges", "WARN");
        assertTrue(sql(r, "default_privileges").contains("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO"),
                r.out());
    }

    @Test
    void rowLevelSecurityWithoutBypassrlsFails() throws Exception {
        Setup lab = good();
        TestPg.execAsOwner(lab.db(), "ALTER TABLE page_views ENABLE ROW LEVEL SECURITY");
        TestPg.Run r = failsWith(lab, "row_level_security", "FAIL");
        assertTrue(sql(r, "row_level_security").contains("WITH BYPASSRLS"), r.out());
        TestPg.exec("postgres", "ALTER ROLE " + q(lab.role()) + " BYPASSRLS");
        assertEquals("PASS", status(lab.doctor(), "row_level_security"));
    }

    // ---- slots and snapshot blockers --------------------------------------------------------------

    @Test
    void anInactiveSlotWarnsWithItsRetainedWal() throws Exception {
        Setup lab = good();
        String slot = "doctor_idle_" + ProcessHandle.current().pid();
        TestPg.exec(lab.db(), "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            TestPg.execAsOwner(lab.db(), "UPDATE customers SET name = name");
            TestPg.Run r = failsWith(lab, "inactive_slots", "WARN");
            assertTrue(check(r, "inactive_slots").get("detail").getAsString().contains(slot + " (database " + lab.db()),
                    r.out());
            assertTrue(sql(r, "inactive_slots").contains("pg_drop_replication_slot('" + slot + "')"), r.out());
        } finally {
            TestPg.exec(lab.db(), "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void aLongWriteTransactionWarns() throws Exception {
        Setup lab = good();
        try (Connection c = TestPg.ownerConn(lab.db()); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("UPDATE customers SET name = name WHERE id = 1");
            Thread.sleep(60);
            TestPg.Run r = failsWith(lab, "long_transactions", "WARN", "--long-transaction", "20ms");
            assertTrue(sql(r, "long_transactions").contains("pg_terminate_backend("), r.out());
            c.rollback();
        }
    }

    @Test
    void anAccessExclusiveLockOnAPublishedTableFails() throws Exception {
        Setup lab = good();
        try (Connection c = TestPg.ownerConn(lab.db()); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("LOCK TABLE \"Order Items\" IN ACCESS EXCLUSIVE MODE");
            TestPg.Run r = failsWith(lab, "exclusive_locks", "FAIL");
            assertTrue(check(r, "exclusive_locks").get("detail").getAsString().contains("public.\"Order Items\" (pid"),
                    r.out());
            c.rollback();
        }
    }

    // ---- Materialize ------------------------------------------------------------------------------

    @Test
    void materializeSourceStatusLagAndSlotsMatchedBothWays() throws Exception {
        Setup lab = good();
        String pid = String.valueOf(ProcessHandle.current().pid());
        String live = "materialize_u1_" + pid;
        String orphan = "materialize_orphan_" + pid;
        TestPg.exec(lab.db(), "SELECT pg_create_logical_replication_slot('" + live + "', 'pgoutput')",
                "SELECT pg_create_logical_replication_slot('" + orphan + "', 'pgoutput')");
        try {
            MzStandIn mz = new MzStandIn()
                    .source("u1", "mz_source", "c1", live, "running", null)
                    .stats("u1", "r1", 10L, 10L, true, 5000L, 4000L)
                    .subsource("u2", "Order Items", "u1", "public", "Order Items", "running", null)
                    .source("u9", "other src", "c1", "materialize_gone_" + pid, "running", null);
            Map<String, String> env = mz.env(lab.db());
            TestPg.Run r = TestPg.run(new Doctor(), env, "--role", lab.role(), "--json");
            assertEquals("PASS", status(r, "mz_source"), r.out());
            assertEquals("PASS", status(r, "mz_lag"));
            assertTrue(check(r, "mz_lag").get("detail").getAsString().startsWith("1000 bytes"), r.out());
            assertEquals("WARN", status(r, "mz_connection"));      // the stand-in is PostgreSQL: no VALIDATE CONNECTION
            assertEquals("FAIL", status(r, "mz_slots"));
            assertTrue(sql(r, "mz_slots").contains("DROP SOURCE \\\"other src\\\" CASCADE"), r.out());
            assertEquals("WARN", status(r, "orphan_slots"));
            assertTrue(sql(r, "orphan_slots").contains("pg_drop_replication_slot('" + orphan + "')"), r.out());
            assertFalse(sql(r, "orphan_slots").contains(live), r.out());
            assertEquals(Exit.VERIFY, r.exit());

            mz.status("u2", "Order Items", "subsource", "stalled", "publication \"mz_source\" does not exist");
            TestPg.Run stalled = TestPg.run(new Doctor(), env, "--role", lab.role(), "--json");
            assertEquals("FAIL", status(stalled, "mz_source"));
            assertTrue(check(stalled, "mz_source").get("detail").getAsString().contains("Order Items is stalled"));
            TestPg.Run missing = TestPg.run(new Doctor(), env, "--role", lab.role(), "--source", "nope", "--json");
            assertEquals("FAIL", status(missing, "mz_source"));
        } finally {
            TestPg.exec(lab.db(), "SELECT pg_drop_replication_slot('" + live + "')",
                    "SELECT pg_drop_replication_slot('" + orphan + "')");
        }
    }

    /** What the source ingests against the upstream's columns now: added ones WARN, gone ones FAIL, excluded ones neither. */
    @Test
    void schemaDriftBetweenUpstreamAndWhatMaterializeIngests() throws Exception {
        EvolveMzTest.Setup s = new EvolveMzTest.Setup(false);
        TestPg.Run clean = TestPg.run(new Doctor(), s.mz.env(s.db), "--json");
        assertEquals("PASS", status(clean, "mz_schema"), clean.out());
        TestPg.execAsOwner(s.db, "ALTER TABLE \"we\"\"ird\" DROP COLUMN note", "ALTER TABLE orders ADD COLUMN note text");
        TestPg.Run added = TestPg.run(new Doctor(), s.mz.env(s.db), "--json");
        assertEquals("WARN", status(added, "mz_schema"), added.out());
        assertTrue(check(added, "mz_schema").get("detail").getAsString().endsWith("public.orders.note"), added.out());
        assertTrue(check(added, "mz_schema").get("fix").getAsString().startsWith("./jbang evolve --mz-url"), added.out());
        TestPg.execAsOwner(s.db, "ALTER TABLE customers DROP COLUMN email");
        TestPg.Run gone = TestPg.run(new Doctor(), s.mz.env(s.db), "--json");
        assertEquals("FAIL", status(gone, "mz_schema"), gone.out());
        assertTrue(check(gone, "mz_schema").get("detail").getAsString().contains("public.customers.email"), gone.out());
    }

    // ---- queries -----------------------------------------------------------------------------------

    @Test
    void theQueryCountIsTheSameFor4And400Tables() throws Exception {
        Setup lab = good();
        int few = lab.doctor().json().get("queries").getAsInt();
        String db = TestPg.emptyDatabase();
        TestPg.execAsOwner(db, """
                DO $$ BEGIN
                  FOR i IN 1..400 LOOP
                    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text) WITH (fillfactor = 100)', 't' || i);
                    EXECUTE format('ALTER TABLE %I REPLICA IDENTITY FULL', 't' || i);
                  END LOOP;
                  EXECUTE 'CREATE PUBLICATION mz_source FOR TABLE '
                    || (SELECT string_agg(format('%I', 't' || i), ', ') FROM generate_series(1, 400) i);
                END $$""");
        TestPg.Run many = TestPg.run(new Doctor(), TestPg.env(db), "--role", lab.role(), "--json");
        assertTrue(check(many, "publication_tables").get("detail").getAsString().startsWith("400 tables"), many.out());
        assertEquals("FAIL", status(many, "role_select"));
        assertTrue(check(many, "role_select").get("detail").getAsString().contains("and 395 more"), many.out());
        assertEquals(1, check(many, "role_select").getAsJsonArray("sql").size());   // one GRANT per schema
        assertEquals(8, few);   // 6, and Neon's forecast: its settings and the slots (this role may not list the files)
        assertEquals(few, many.json().get("queries").getAsInt());
    }

    @Test
    void dryRunPrintsTheQueriesAndConnectsNowhere() {
        Map<String, String> env = new HashMap<>(TestPg.env("neondb"));
        env.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:1/neondb?sslmode=disable");
        env.put("MZ_URL", "postgresql://materialize@127.0.0.1:1/materialize?sslmode=disable");
        TestPg.Run r = TestPg.run(new Doctor(), env, "--dry-run", "--role", "Mz Role");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("FROM pg_replication_slots ORDER BY slot_name;"), r.out());
        assertTrue(r.out().contains("LEFT JOIN pg_roles r ON r.rolname = 'Mz Role';"), r.out());
        assertTrue(r.out().contains("VALIDATE CONNECTION pg_connection;"), r.out());
        assertTrue(r.out().contains("doctor: 13 queries planned; none run (--dry-run)"), r.out());
    }
}
