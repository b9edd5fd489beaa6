import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * Each Neon-side step on a real PostgreSQL: the happy path (checked in the catalog), a second run that
 * reports "already done" with exit 0, --dry-run that prints the SQL and changes nothing, and --json.
 */
class StepsTest {

    static String identity(String db, String table) {
        return String.valueOf(TestPg.rows(db, "SELECT relreplident::text AS r FROM pg_class WHERE oid = '"
                + table.replace("'", "''") + "'::regclass").get(0).get("r"));
    }

    // ---- A.1 ---------------------------------------------------------------------------------

    @Test
    void checkLogicalReplicationPassesOnTheLab() {
        String db = TestPg.newDatabase();
        TestPg.Run r = TestPg.run(new CheckLogicalReplication(), TestPg.env(db));
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("wal_level              logical"), r.out());
        assertTrue(r.out().contains("logical replication: enabled"), r.out());
        JsonObject j = TestPg.run(new CheckLogicalReplication(), TestPg.env(db), "--json").json();
        assertEquals("logical", j.get("wal_level").getAsString());
        assertEquals(10, j.get("max_replication_slots").getAsInt());
        assertTrue(j.get("ok").getAsBoolean());
    }

    @Test
    void checkLogicalReplicationCountsSlotsAndFailsBelowTwoFree() {
        String db = TestPg.newDatabase();
        List<String> made = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 9; i++) {
                String slot = "neonmz_test_" + db + "_" + i;
                TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
                made.add(slot);
                int free = 10 - TestPg.rows(db, "SELECT count(*)::int AS n FROM pg_replication_slots").stream()
                        .mapToInt(m -> (Integer) m.get("n")).sum();
                if (free < 2) {
                    break;
                }
            }
            TestPg.Run r = TestPg.run(new CheckLogicalReplication(), TestPg.env(db));
            assertEquals(Exit.NOT_READY, r.exit(), r.all());
            assertTrue(r.err().contains("free replication slot"), r.err());
            assertTrue(r.err().contains("pg_drop_replication_slot"), r.err());
            assertTrue(r.out().contains(made.get(0)), "lists the slots in use: " + r.out());
        } finally {
            for (String s : made) {
                TestPg.exec(db, "SELECT pg_drop_replication_slot('" + s + "')");
            }
        }
    }

    // ---- A.2.1 -------------------------------------------------------------------------------

    @Test
    void replicaIdentitySetsFullOnlyWhereNeeded() {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        TestPg.execAsOwner(db, "ALTER TABLE orders REPLICA IDENTITY FULL");
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), env, "--table", "orders,customers,\"Order Items\"", "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals(1, j.get("already_full").getAsInt());
        assertEquals(2, j.get("set").getAsInt());
        // the already-FULL table got no statement
        assertFalse(j.get("statements").toString().contains("public.orders"), j.toString());
        for (String t : List.of("orders", "customers", "\"Order Items\"")) {
            assertEquals("f", identity(db, t), t);
        }
        assertEquals("d", identity(db, "page_views"), "untouched");
        TestPg.Run again = TestPg.run(new ReplicaIdentity(), env, "--table", "orders,customers,\"Order Items\"");
        assertEquals(0, again.exit());
        assertTrue(again.out().contains("already done"), again.out());
    }

    @Test
    void replicaIdentityDryRunPrintsTheSqlAndChangesNothing() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--schema", "public", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("ALTER TABLE public.\"Order Items\" REPLICA IDENTITY FULL;"), r.out());
        assertTrue(r.out().contains("BEGIN;") && r.out().contains("COMMIT;"), r.out());
        assertTrue(r.out().contains("would be set to FULL"), r.out());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void replicaIdentityHandlesPartitionedTablesAndTheirPartitions() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db,
                "CREATE TABLE events (id bigint, at date NOT NULL, body jsonb) PARTITION BY RANGE (at)",
                "CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')",
                "CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') PARTITION BY LIST (id)",
                "CREATE TABLE events_2026_02_a PARTITION OF events_2026_02 FOR VALUES IN (1, 2)");
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--table", "events");
        assertEquals(0, r.exit(), r.all());
        for (String t : List.of("events", "events_2026_01", "events_2026_02", "events_2026_02_a")) {
            assertEquals("f", identity(db, t), t);
        }
        assertTrue(r.out().contains("partitioned") && r.out().contains("partition "), r.out());
    }

    @Test
    void replicaIdentityByPublication() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE PUBLICATION p1 FOR TABLE page_views");
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--publication", "p1");
        assertEquals(0, r.exit(), r.all());
        assertEquals("f", identity(db, "page_views"));
        assertEquals("d", identity(db, "orders"));
        TestPg.Run missing = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--publication", "nope");
        assertEquals(Exit.NOT_FOUND, missing.exit(), missing.all());
    }

    @Test
    void replicaIdentityNeedsOneSelection() {
        String db = TestPg.newDatabase();
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), TestPg.env(db));
        assertEquals(Exit.USAGE, r.exit());
        assertTrue(r.err().contains("--table"), r.err());
    }

    // ---- A.2.2 -------------------------------------------------------------------------------

    @Test
    void publicationDryRunAndJson() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.run(new CreatePublication(), TestPg.env(db), "--table", "\"Order Items\",orders", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("CREATE PUBLICATION mz_source FOR TABLE public.\"Order Items\", public.orders;"), r.out());
        assertEquals(before, TestPg.catalogState(db));
        JsonObject j = TestPg.run(new CreatePublication(), TestPg.env(db), "--table", "orders", "--json").json();
        assertTrue(j.get("created").getAsBoolean());
        assertEquals("publication", j.get("command").getAsString());
        assertEquals("[\"public.orders\"]", j.get("tables").toString());
    }

    @Test
    void publicationAddsMissingTablesAndSyncRemovesExtras() {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        assertEquals(0, TestPg.run(new CreatePublication(), env, "--table", "orders,page_views").exit());
        TestPg.Run add = TestPg.run(new CreatePublication(), env, "--table", "orders,customers");
        assertEquals(0, add.exit(), add.all());
        assertEquals(List.of("public.customers", "public.orders", "public.page_views"),
                CreatePublicationTest.published(db, "mz_source"));
        assertTrue(add.err().contains("--sync"), "warns about the extra table: " + add.err());
        TestPg.Run sync = TestPg.run(new CreatePublication(), env, "--table", "orders,customers", "--sync");
        assertEquals(0, sync.exit(), sync.all());
        assertEquals(List.of("public.customers", "public.orders"), CreatePublicationTest.published(db, "mz_source"));
        assertTrue(TestPg.run(new CreatePublication(), env, "--table", "orders,customers").out().contains("already done"));
    }

    @Test
    void publicationBySchemaUsesPartitionRoots() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db,
                "CREATE TABLE m (id int, at date) PARTITION BY RANGE (at)",
                "CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
        TestPg.Run r = TestPg.run(new CreatePublication(), TestPg.env(db), "--schema", "public", "--name", "all_public");
        assertEquals(0, r.exit(), r.all());
        List<Map<String, Object>> rel = TestPg.rows(db, "SELECT c.relname FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid ORDER BY 1");
        assertEquals("[{relname=Order Items}, {relname=customers}, {relname=m}, {relname=orders}, {relname=page_views}]", rel.toString());
    }

    @Test
    void publicationForAllTablesNeedsASuperuserAndSaysSo() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.run(new CreatePublication(), TestPg.env(db), "--all-tables");
        assertEquals(Exit.PERMISSION, r.exit(), r.all());
        assertTrue(r.err().contains("fix:"), r.err());
        assertEquals(before, TestPg.catalogState(db));
    }

    // ---- A.2.3 -------------------------------------------------------------------------------

    @Test
    void replicationRoleCreatesLoginReplicationWithPasswordInA0600File() throws Exception {
        String db = TestPg.newDatabase();
        String role = "mz_" + db;
        Path pw = Files.createTempDirectory("neonmz-pw").resolve("pw");
        TestPg.Run r = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString());
        assertEquals(0, r.exit(), r.all());
        Map<String, Object> row = TestPg.rows(db, "SELECT rolcanlogin, rolreplication, rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0);
        assertEquals(true, row.get("rolcanlogin"));
        assertEquals(true, row.get("rolreplication"));
        assertTrue(((String) row.get("rolpassword")).startsWith("SCRAM-SHA-256$"), "hashed client-side");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(pw)));
        String secret = Files.readString(pw).strip();
        assertEquals(32, secret.length());
        assertFalse(r.all().contains(secret));
        // the password works: log in as the role
        neonmz.ConnInfo ci = neonmz.ConnInfo.parse("postgresql://" + role + "@127.0.0.1:" + TestPg.server().port() + "/" + db + "?sslmode=disable");
        ci.password(secret, "test");
        try (var c = Lab.Server.open(ci.withDefaults(Map.of()))) {
            assertTrue(c.isValid(2));
        }
        TestPg.Run again = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role);
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("already done"), again.out());
    }

    /**
     * One default place for the role's password (issue #21, item 1): a --password-out file an earlier run wrote is
     * used again when the role is gone (lab reset, teardown), and "already done" means its password logs in.
     */
    @Test
    void replicationRoleKeepsItsPasswordFileAndChecksItLogsIn() throws Exception {
        String db = TestPg.newDatabase();
        String role = "kept_" + db;
        Path pw = Files.createTempDirectory("neonmz-pw").resolve("materialize.password");
        assertEquals(0, TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString()).exit());
        String secret = Files.readString(pw).strip();
        // the role is dropped, its file stays: the next run makes the role with the file's password
        TestPg.exec(db, "DROP ROLE " + role);
        TestPg.Run again = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString());
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("role " + role + ": created (LOGIN REPLICATION); password from " + pw
                + " (kept: an earlier run wrote it)"), again.out());
        assertEquals(secret, Files.readString(pw).strip(), "the file is not rewritten");
        // already done: and the file's password is checked by logging in
        TestPg.Run done = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString());
        assertEquals(0, done.exit(), done.all());
        assertTrue(done.out().contains("already done (exists with LOGIN REPLICATION; password unchanged; the password in "
                + pw + " logs in)"), done.out());
        assertFalse(done.err().contains("warning"), done.err());
        // a file whose password is not the role's: said plainly, with the fix; nothing changed
        TestPg.exec(db, "ALTER ROLE " + role + " PASSWORD 'another-password-3'");
        String hash = (String) TestPg.rows(db, "SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0).get("rolpassword");
        TestPg.Run wrong = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString());
        assertEquals(Exit.CONFLICT, wrong.exit(), wrong.all());
        assertTrue(wrong.err().contains("the password in " + pw + " does not log in as " + role), wrong.err());
        assertTrue(wrong.err().contains("./jbang replication-role --reset-password --password-out " + pw), wrong.err());
        assertFalse(wrong.all().contains(secret));
        assertEquals(hash, TestPg.rows(db, "SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0).get("rolpassword"));
        // the fix it names works
        TestPg.Run reset = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--reset-password",
                "--password-out", pw.toString());
        assertEquals(0, reset.exit(), reset.all());
        assertEquals(0, TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", pw.toString()).exit());
        TestPg.exec(db, "DROP ROLE " + role);
    }

    @Test
    void replicationRoleRefusesAGeneratedPasswordWithNowhereToGo() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", "nowhere_" + db);
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("--password-out"), r.err());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void replicationRoleDryRunMasksTheVerifier() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run r = TestPg.runWithStdin(new CreateReplicationRole(), TestPg.env(db), "correct horse battery\n",
                "--role", "dry_" + db, "--password-stdin", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("CREATE ROLE dry_" + db + " WITH LOGIN REPLICATION PASSWORD '********';"), r.out());
        assertFalse(r.out().contains("SCRAM-SHA-256"), r.out());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void replicationRoleAddsMissingAttributesAndResetsOnlyWhenAsked() throws Exception {
        String db = TestPg.newDatabase();
        String role = "weak_" + db;
        TestPg.execAsOwner(db, "CREATE ROLE " + role + " NOLOGIN PASSWORD 'old-password-1'");
        String hash = (String) TestPg.rows(db, "SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0).get("rolpassword");
        TestPg.Run r = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role);
        assertEquals(0, r.exit(), r.all());
        Map<String, Object> row = TestPg.rows(db, "SELECT rolcanlogin, rolreplication, rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0);
        assertEquals(true, row.get("rolcanlogin"));
        assertEquals(true, row.get("rolreplication"));
        assertEquals(hash, row.get("rolpassword"), "password untouched");
        TestPg.Run reset = TestPg.runWithStdin(new CreateReplicationRole(), TestPg.env(db), "a-new-password-2\n",
                "--role", role, "--reset-password", "--password-stdin");
        assertEquals(0, reset.exit(), reset.all());
        assertNotEquals(hash, TestPg.rows(db, "SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'").get(0).get("rolpassword"));
    }

    // ---- A.2.4 -------------------------------------------------------------------------------

    @Test
    void grantsRunTheGuidesStatementsThenVerifyAndAreIdempotent() {
        String db = TestPg.newDatabase();
        String role = "g_" + db;
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN REPLICATION");
        TestPg.execAsOwner(db, "CREATE PUBLICATION mz_source FOR TABLE orders, \"Order Items\"");
        TestPg.Run r = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role, "--verbose");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role + ";"), r.out());
        assertTrue(r.out().contains("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO " + role + ";"), r.out());
        assertTrue(r.out().contains("verified: " + role + " can read all 2 tables of publication mz_source"), r.out());
        assertEquals(true, TestPg.rows(db, "SELECT has_table_privilege('" + role + "', 'public.\"Order Items\"', 'SELECT') AS ok").get(0).get("ok"));
        // a table created later by the owner is readable through the default privileges
        TestPg.execAsOwner(db, "CREATE TABLE later (id int)");
        assertEquals(true, TestPg.rows(db, "SELECT has_table_privilege('" + role + "', 'public.later', 'SELECT') AS ok").get(0).get("ok"));
        TestPg.Run again = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role);
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("already done"), again.out());
    }

    @Test
    void grantsFailVerificationForAPublishedTableInAnotherSchema() {
        String db = TestPg.newDatabase();
        String role = "v_" + db;
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN REPLICATION");
        TestPg.execAsOwner(db, "CREATE SCHEMA sales", "CREATE TABLE sales.refunds (id int PRIMARY KEY)",
                "CREATE PUBLICATION mz_source FOR TABLE orders, sales.refunds");
        TestPg.Run r = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role);
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        assertTrue(r.err().contains("sales.refunds") && r.err().contains("--schema"), r.err());
        TestPg.Run fixed = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role, "--schema", "public", "--schema", "sales");
        assertEquals(0, fixed.exit(), fixed.all());
    }

    @Test
    void grantsNeedAnExistingRole() {
        String db = TestPg.newDatabase();
        TestPg.Run r = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", "ghost");
        assertEquals(Exit.NOT_FOUND, r.exit());
        assertTrue(r.err().contains("./jbang replication-role"), r.err());
    }
}
