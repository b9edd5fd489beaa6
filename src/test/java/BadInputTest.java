import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * Bad input against a real PostgreSQL: each case fails with its own exit code, one message that names
 * the fix (stderr; error.message/error.fix under --json), and changes nothing in the catalog.
 */
class BadInputTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String POOLER_HOST = "ep-x-pooler.c-2.us-east-2.aws.neon.tech";
    static final String DIRECT_HOST = "ep-x.c-2.us-east-2.aws.neon.tech";

    @TempDir
    Path tmp;

    static String unique(String prefix) {
        return prefix + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
    }

    /** The five step scripts with arguments that would succeed against the demo database. */
    List<Map.Entry<Supplier<Object>, String[]>> everyStep() {
        return List.of(
                Map.entry(CheckLogicalReplication::new, new String[0]),
                Map.entry(ReplicaIdentity::new, new String[] {"--table", "orders"}),
                Map.entry(CreatePublication::new, new String[] {"--table", "orders"}),
                Map.entry(CreateReplicationRole::new, new String[] {"--role", unique("r"), "--password-out",
                        tmp.resolve(unique("pw")).toString()}),
                Map.entry(GrantAccess::new, new String[0]));
    }

    static String[] plus(String[] args, String... more) {
        String[] all = new String[args.length + more.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    /**
     * Runs the command in human and in --json mode: the same exit code both times, exactly one
     * "error:" line and one "fix:" line on stderr (no stack trace), and the same message and fix as
     * error.message / error.fix in the JSON. Returns the human run.
     */
    static TestPg.Run failsCleanly(int exit, Supplier<Object> cmd, Map<String, String> env, String... args) {
        TestPg.Run human = TestPg.run(cmd.get(), env, args);
        assertEquals(exit, human.exit(), human.all());
        List<String> errors = human.err().lines().filter(l -> l.startsWith("error: ")).toList();
        List<String> fixes = human.err().lines().filter(l -> l.startsWith("  fix: ")).toList();
        assertEquals(1, errors.size(), human.err());
        assertEquals(1, fixes.size(), human.err());
        // a server message may go on over more lines (its DETAIL), up to the fix
        String err = human.err();
        String fullMessage = err.substring(err.indexOf("error: ") + "error: ".length(), err.indexOf("\n  fix: "));
        assertTrue(fixes.get(0).length() > "  fix: ".length() + 10, human.err());
        assertFalse(human.err().contains("\tat "), "no stack trace: " + human.err());
        assertFalse(human.err().contains("unexpected"), human.err());

        TestPg.Run json = TestPg.run(cmd.get(), env, plus(args, "--json"));
        assertEquals(exit, json.exit(), json.all());
        JsonObject o = json.json();
        assertFalse(o.get("ok").getAsBoolean());
        assertEquals(exit, o.get("exit").getAsInt());
        JsonObject e = o.getAsJsonObject("error");
        assertNotNull(e, json.out());
        assertEquals(fullMessage, e.get("message").getAsString().replace("\r", ""));
        assertEquals(fixes.get(0).substring("  fix: ".length()), e.get("fix").getAsString());
        assertEquals("", json.err(), "under --json the error is in the object only");
        return human;
    }

    static String message(TestPg.Run r) {
        return r.err().lines().filter(l -> l.startsWith("error: ")).findFirst().orElse("");
    }

    static String fix(TestPg.Run r) {
        return r.err().lines().filter(l -> l.startsWith("  fix: ")).findFirst().orElse("");
    }

    static Map<String, String> env(String db, String... kv) {
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    static Map<String, String> url(String url) {
        Map<String, String> env = new HashMap<>(TestPg.env("unused"));
        env.put("DATABASE_URL", url);
        return env;
    }

    static String ownerUrl(String db) {
        return "postgresql://neondb_owner@127.0.0.1:" + TestPg.server().port() + "/" + db + "?sslmode=disable";
    }

    static boolean exists(String db, String table) {
        return !TestPg.rows(db, "SELECT 1 FROM pg_class WHERE relname = '" + table.replace("'", "''") + "'").isEmpty();
    }

    static List<String> published(String db, String pub) {
        return TestPg.rows(db, "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = '"
                + pub.replace("'", "''") + "' ORDER BY 1").stream().map(r -> (String) r.get("t")).toList();
    }

    // ---- server settings ------------------------------------------------------------------------

    @Test
    void walLevelReplica() {
        Lab.Server s = ExtraServers.replica();
        String before = TestPg.catalogState(s, "neondb");
        TestPg.Run r = failsCleanly(Exit.NOT_READY, CheckLogicalReplication::new, TestPg.env(s, "neondb"));
        assertTrue(message(r).contains("wal_level is replica"), r.err());
        assertTrue(fix(r).contains("ALTER SYSTEM SET wal_level = logical"), r.err());
        assertTrue(fix(r).contains("restart"), r.err());
        assertFalse(fix(r).contains("Neon Console"), r.err());
        assertEquals(before, TestPg.catalogState(s, "neondb"));
    }

    @Test
    void walLevelReplicaOnNeon() {
        Lab.Server s = ExtraServers.neon();
        String before = TestPg.catalogState(s, "neondb");
        TestPg.Run r = failsCleanly(Exit.NOT_READY, CheckLogicalReplication::new, TestPg.env(s, "neondb"));
        assertTrue(fix(r).contains("Neon Console"), r.err());
        assertTrue(fix(r).contains("Settings → Logical Replication"), r.err());
        assertFalse(fix(r).contains("ALTER SYSTEM"), "Neon users cannot ALTER SYSTEM: " + r.err());
        TestPg.Run json = TestPg.run(new CheckLogicalReplication(), TestPg.env(s, "neondb"), "--json");
        assertEquals(ExtraServers.ENDPOINT, json.json().get("neon_endpoint").getAsString());
        assertEquals(before, TestPg.catalogState(s, "neondb"));
    }

    // ---- connection -----------------------------------------------------------------------------

    @Test
    void poolerHostIsRefusedByEveryStepBeforeConnecting() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        // the host does not resolve: any attempt to connect would be Exit.CONNECT, not Exit.POOLER
        String pooled = "postgresql://neondb_owner:pw-12345@" + POOLER_HOST + "/neondb?sslmode=require";
        for (Map.Entry<Supplier<Object>, String[]> step : everyStep()) {
            TestPg.Run viaEnv = failsCleanly(Exit.POOLER, step.getKey(), url(pooled), step.getValue());
            assertTrue(fix(viaEnv).contains(DIRECT_HOST), viaEnv.err());
            assertTrue(message(viaEnv).contains("-pooler") || message(viaEnv).contains("pooled"), viaEnv.err());
            TestPg.Run viaOption = failsCleanly(Exit.POOLER, step.getKey(), TestPg.env(db),
                    plus(step.getValue(), "--pg-url", pooled));
            assertTrue(fix(viaOption).contains(DIRECT_HOST), viaOption.err());
        }
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void wrongPassword() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        for (Map.Entry<Supplier<Object>, String[]> step : everyStep()) {
            TestPg.Run r = failsCleanly(Exit.AUTH, step.getKey(), env(db, "PGPASSWORD", "not-the-password"),
                    step.getValue());
            assertTrue(message(r).contains("neondb_owner"), r.err());
            assertTrue(message(r).contains("PGPASSWORD"), "says where the password came from: " + r.err());
            assertTrue(fix(r).contains("password"), r.err());
        }
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void unknownHost() {
        TestPg.Run r = failsCleanly(Exit.CONNECT, CreatePublication::new,
                url("postgresql://neondb_owner@no-such-host.invalid/neondb?sslmode=disable"), "--table", "orders");
        assertTrue(message(r).contains("no-such-host.invalid"), r.err());
    }

    @Test
    void nothingListening() throws Exception {
        int port = TestPg.freePort();
        TestPg.Run r = failsCleanly(Exit.CONNECT, CheckLogicalReplication::new,
                url("postgresql://neondb_owner@127.0.0.1:" + port + "/neondb?sslmode=disable"));
        assertTrue(message(r).contains("127.0.0.1:" + port), r.err());
    }

    @Test
    void missingDatabase() {
        Map<String, String> env = TestPg.env("no_such_db");
        TestPg.Run r = failsCleanly(Exit.NOT_FOUND, ReplicaIdentity::new, env, "--table", "orders");
        assertTrue(message(r).contains("no_such_db"), r.err());
        assertTrue(fix(r).contains("database"), r.err());
    }

    @Test
    void badOptionsAreUsageErrors() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        failsCleanly(Exit.USAGE, CreatePublication::new, TestPg.env(db));
        failsCleanly(Exit.USAGE, CreatePublication::new, TestPg.env(db), "--table", "\"Order Items");
        failsCleanly(Exit.USAGE, ReplicaIdentity::new, TestPg.env(db), "--table", "a.b.c");
        failsCleanly(Exit.USAGE, ReplicaIdentity::new, TestPg.env(db), "--table", "orders", "--batch-size", "0");
        failsCleanly(Exit.USAGE, CheckLogicalReplication::new,
                url("postgresql://neondb_owner@127.0.0.1/neondb?sslmode=requir"));
        failsCleanly(Exit.USAGE, CheckLogicalReplication::new, TestPg.env(db), "--no-such-option");
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void badValuesCaughtBeforeTheServerSeesThem() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        TestPg.Run lock = failsCleanly(Exit.USAGE, ReplicaIdentity::new, TestPg.env(db), "--table", "orders",
                "--lock-timeout", "soon");
        assertTrue(message(lock).contains("soon"), lock.err());
        failsCleanly(Exit.USAGE, ReplicaIdentity::new, TestPg.env(db), "--table", "orders", "--lock-timeout", "5s; DROP TABLE y");
        for (String bad : List.of("", "x".repeat(64))) {
            failsCleanly(Exit.USAGE, CreatePublication::new, TestPg.env(db), "--name", bad, "--table", "orders");
            failsCleanly(Exit.USAGE, CreateReplicationRole::new, TestPg.env(db), "--role", bad, "--password-out",
                    tmp.resolve(unique("pw")).toString());
            failsCleanly(Exit.USAGE, GrantAccess::new, TestPg.env(db), "--role", bad);
        }
        assertEquals(before, TestPg.catalogState(db));
        // valid durations pass
        for (String ok : List.of("5s", "250ms", "1min", "2 s", "1500")) {
            TestPg.Run r = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--table", "orders", "--lock-timeout", ok,
                    "--dry-run");
            assertEquals(0, r.exit(), ok + ": " + r.all());
        }
    }

    @Test
    void tlsRequiredByTheClientButNotOffered() {
        TestPg.Run r = failsCleanly(Exit.CONNECT, CheckLogicalReplication::new,
                url("postgresql://neondb_owner@127.0.0.1:" + TestPg.server().port() + "/neondb?sslmode=require"));
        assertTrue(fix(r).contains("sslmode"), r.err());
    }

    @Test
    void roleWithoutPrivileges() {
        String db = TestPg.newDatabase();
        String weak = unique("weak");
        TestPg.exec(db, "CREATE ROLE " + weak + " LOGIN PASSWORD 'weak-password-1'");
        String before = TestPg.catalogState(db);
        Map<String, String> env = url("postgresql://" + weak + "@127.0.0.1:" + TestPg.server().port() + "/" + db
                + "?sslmode=disable");
        env.put("PGPASSWORD", "weak-password-1");
        TestPg.Run ri = failsCleanly(Exit.PERMISSION, ReplicaIdentity::new, env, "--table", "orders");
        assertTrue(fix(ri).contains("owner"), ri.err());
        failsCleanly(Exit.PERMISSION, CreatePublication::new, env, "--table", "orders");
        failsCleanly(Exit.PERMISSION, CreateReplicationRole::new, env, "--role", unique("r"), "--password-out",
                tmp.resolve(unique("pw")).toString());
        // FOR ALL TABLES needs a superuser; the lab's owner (like Neon's) is not one
        failsCleanly(Exit.PERMISSION, CreatePublication::new, TestPg.env(db), "--all-tables");
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void tooFewFreeReplicationSlots() {
        // all but one of the lab's slots taken (physical slots reserve nothing until used)
        int free = ((Number) TestPg.rows("postgres", "SELECT current_setting('max_replication_slots')::int - "
                + "(SELECT count(*) FROM pg_replication_slots)::int AS free").get(0).get("free")).intValue();
        List<String> slots = new java.util.ArrayList<>();
        for (int i = 0; i < free - 1; i++) {
            slots.add(unique("busy_slot"));
        }
        try {
            for (String sl : slots) {
                TestPg.exec("postgres", "SELECT pg_create_physical_replication_slot('" + sl + "')");
            }
            TestPg.Run r = failsCleanly(Exit.NOT_READY, CheckLogicalReplication::new, TestPg.env("neondb"));
            assertTrue(message(r).contains("1 free replication slot"), r.err());
            assertTrue(fix(r).contains("pg_drop_replication_slot"), r.err());
        } finally {
            for (String sl : slots) {
                TestPg.exec("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                        + "WHERE slot_name = '" + sl + "'");
            }
        }
    }

    // ---- names ----------------------------------------------------------------------------------

    @Test
    void missingTable() {
        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        for (Supplier<Object> cmd : List.<Supplier<Object>>of(ReplicaIdentity::new, CreatePublication::new)) {
            TestPg.Run r = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "orders,nosuch");
            assertTrue(message(r).contains("nosuch"), r.err());
            assertFalse(message(r).contains("orders"), "lists only what is missing: " + r.err());

            TestPg.Run two = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "nosuch1", "--table", "nosuch2");
            assertTrue(message(two).contains("nosuch1") && message(two).contains("nosuch2"), two.err());

            TestPg.Run quoted = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "\"Orders\"");
            assertTrue(message(quoted).contains("did you mean public.orders"), quoted.err());
            TestPg.Run qualified = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "public.\"Orders\"");
            assertTrue(message(qualified).contains("did you mean public.orders"), qualified.err());
            TestPg.Run spaced = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "\"order items\"");
            assertTrue(message(spaced).contains("did you mean public.\"Order Items\""), spaced.err());
            TestPg.Run otherSchema = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "sales.orders");
            assertTrue(message(otherSchema).contains("sales.orders"), otherSchema.err());
        }
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void missingSchema() {
        String db = TestPg.newDatabase();
        String role = unique("r");
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN");
        String before = TestPg.catalogState(db);
        for (Map.Entry<Supplier<Object>, String[]> c : List.<Map.Entry<Supplier<Object>, String[]>>of(
                Map.entry(ReplicaIdentity::new, new String[] {"--schema", "nosuch"}),
                Map.entry(CreatePublication::new, new String[] {"--schema", "nosuch"}),
                Map.entry(CreatePublication::new, new String[] {"--schema", "public", "--schema", "nosuch"}),
                Map.entry(GrantAccess::new, new String[] {"--role", role, "--schema", "nosuch"}),
                Map.entry(GrantAccess::new, new String[] {"--role", role, "--schema", "public", "--schema", "nosuch"}))) {
            TestPg.Run r = failsCleanly(Exit.NOT_FOUND, c.getKey(), TestPg.env(db), c.getValue());
            assertTrue(message(r).contains("schema not found: nosuch"), r.err());
        }
        failsCleanly(Exit.NOT_FOUND, GrantAccess::new, TestPg.env(db), "--role", unique("nobody"));
        failsCleanly(Exit.NOT_FOUND, ReplicaIdentity::new, TestPg.env(db), "--publication", "nosuch");
        assertEquals(before, TestPg.catalogState(db));
    }

    // ---- existing objects -----------------------------------------------------------------------

    @Test
    void publicationWithOtherTablesKeepsExtrasUntilSync() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE PUBLICATION p1 FOR TABLE orders, page_views");
        TestPg.Run add = TestPg.run(new CreatePublication(), TestPg.env(db), "--name", "p1", "--table", "orders,customers");
        assertEquals(0, add.exit(), add.all());
        assertEquals(List.of("public.customers", "public.orders", "public.page_views"), published(db, "p1"));
        String warning = add.err().lines().filter(l -> l.startsWith("warning: publication p1 also holds")).findFirst()
                .orElseThrow(() -> new AssertionError(add.err()));
        assertTrue(warning.contains("page_views") && warning.contains("--sync"), warning);

        TestPg.Run again = TestPg.run(new CreatePublication(), TestPg.env(db), "--name", "p1", "--table",
                "orders,customers", "--json");
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.json().get("warnings").toString().contains("--sync"), again.out());

        TestPg.Run sync = TestPg.run(new CreatePublication(), TestPg.env(db), "--name", "p1", "--table",
                "orders,customers", "--sync");
        assertEquals(0, sync.exit(), sync.all());
        assertEquals(List.of("public.customers", "public.orders"), published(db, "p1"));
        assertTrue(sync.out().contains("1 removed"), sync.out());
    }

    @Test
    void allTablesVersusTableListIsAConflict() {
        String db = TestPg.newDatabase();
        TestPg.exec(db, "CREATE PUBLICATION pall FOR ALL TABLES", "CREATE PUBLICATION plist FOR TABLE orders");
        String before = TestPg.catalogState(db);
        TestPg.Run r = failsCleanly(Exit.CONFLICT, CreatePublication::new, TestPg.env(db), "--name", "pall",
                "--table", "orders");
        assertTrue(message(r).contains("FOR ALL TABLES"), r.err());
        assertTrue(fix(r).contains("--sync"), r.err());
        TestPg.Run other = failsCleanly(Exit.CONFLICT, CreatePublication::new, TestPg.env(db), "--name", "plist",
                "--all-tables");
        assertTrue(fix(other).contains("--sync"), other.err());
        // --dry-run shows the way out and still changes nothing
        TestPg.Run dry = TestPg.run(new CreatePublication(), TestPg.env(db), "--name", "pall", "--table", "orders",
                "--sync", "--dry-run");
        assertEquals(0, dry.exit(), dry.all());
        assertTrue(dry.out().contains("DROP PUBLICATION pall"), dry.out());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void existingRoleKeepsItsPassword() throws Exception {
        String db = TestPg.newDatabase();
        String role = unique("mz");
        String old = "old-password-1";
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN REPLICATION PASSWORD '" + old + "'");
        String before = TestPg.catalogState(db);
        Path out = tmp.resolve("new.password");
        TestPg.Run r = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out", out.toString());
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("already done"), r.out());
        assertTrue(r.err().contains("password was not changed"), r.err());
        assertFalse(Files.exists(out), "no new password was made, so none is written");
        TestPg.Run stdin = TestPg.runWithStdin(new CreateReplicationRole(), TestPg.env(db), "another-password-2\n",
                "--role", role, "--password-stdin", "--json");
        assertEquals(0, stdin.exit(), stdin.all());
        assertTrue(stdin.json().get("already_done").getAsBoolean(), stdin.out());
        assertEquals(before, TestPg.catalogState(db));
        try (Connection c = DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + TestPg.server().port() + "/" + db + "?sslmode=disable", role, old);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user")) {
            rs.next();
            assertEquals(role, rs.getString(1));
        }
    }

    // ---- odd names and injection ----------------------------------------------------------------

    @Test
    void oddTableNamesWorkThroughEveryStep() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db,
                "CREATE TABLE \"we\"\"ird\" (id int PRIMARY KEY)",
                "CREATE TABLE \"Ünïcode\" (id int PRIMARY KEY)",
                "CREATE TABLE \"CamelCase\" (id int PRIMARY KEY)",
                "CREATE TABLE \"x; DROP TABLE y\" (id int PRIMARY KEY)",
                "CREATE TABLE y (id int PRIMARY KEY)");
        String[] tables = {"--table", "\"Order Items\"", "--table", "\"we\"\"ird\"", "--table", "Ünïcode",
                "--table", "CamelCase", "--table", "\"x; DROP TABLE y\""};
        List<String> names = List.of("Order Items", "we\"ird", "Ünïcode", "CamelCase", "x; DROP TABLE y");

        TestPg.Run ri = TestPg.run(new ReplicaIdentity(), TestPg.env(db), tables);
        assertEquals(0, ri.exit(), ri.all());
        for (String n : names) {
            assertEquals("f", TestPg.rows(db, "SELECT relreplident::text AS r FROM pg_class WHERE relname = '"
                    + n.replace("'", "''") + "'").get(0).get("r"), n);
        }
        TestPg.Run pub = TestPg.run(new CreatePublication(), TestPg.env(db), tables);
        assertEquals(0, pub.exit(), pub.all());
        assertEquals(List.of("public.CamelCase", "public.Order Items", "public.we\"ird", "public.x; DROP TABLE y",
                "public.Ünïcode"), published(db, "mz_source"));
        // the same names again, in one comma-separated list: already done
        TestPg.Run again = TestPg.run(new CreatePublication(), TestPg.env(db), "--table",
                "\"Order Items\", \"we\"\"ird\", Ünïcode, CamelCase, \"x; DROP TABLE y\"");
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("already done"), again.out());

        String role = unique("mz");
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN");
        TestPg.Run grants = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role);
        assertEquals(0, grants.exit(), grants.all());
        assertTrue(grants.out().contains("can read all 5 tables"), grants.out());
        for (String n : names) {
            assertEquals(Boolean.TRUE, TestPg.rows(db, "SELECT has_table_privilege('" + role + "', "
                    + "quote_ident('" + n.replace("'", "''") + "'), 'SELECT') AS ok").get(0).get("ok"), n);
        }
        assertTrue(exists(db, "y"), "table y survived");

        // an unquoted name in the wrong case is suggested, not guessed
        TestPg.Run lower = failsCleanly(Exit.NOT_FOUND, ReplicaIdentity::new, TestPg.env(db), "--table", "camelcase");
        assertTrue(message(lower).contains("did you mean public.\"CamelCase\""), lower.err());
    }

    @Test
    void namesThatTryInjection() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE TABLE y (id int PRIMARY KEY)");
        String before = TestPg.catalogState(db);
        for (Supplier<Object> cmd : List.<Supplier<Object>>of(ReplicaIdentity::new, CreatePublication::new)) {
            TestPg.Run r = failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "x; DROP TABLE y");
            assertTrue(message(r).contains("\"x; DROP TABLE y\""), r.err());
            failsCleanly(Exit.NOT_FOUND, cmd, TestPg.env(db), "--table", "orders\"; DROP TABLE y; --\"");
        }
        failsCleanly(Exit.NOT_FOUND, ReplicaIdentity::new, TestPg.env(db), "--schema", "public; DROP TABLE y");
        failsCleanly(Exit.NOT_FOUND, GrantAccess::new, TestPg.env(db), "--role", "r; DROP TABLE y");
        failsCleanly(Exit.NOT_FOUND, ReplicaIdentity::new, TestPg.env(db), "--publication", "p'; DROP TABLE y; --");
        assertEquals(before, TestPg.catalogState(db));
        assertTrue(exists(db, "y"));

        // the same text as real names works, and y survives
        TestPg.execAsOwner(db, "CREATE TABLE \"x; DROP TABLE y\" (id int)");
        String pub = "p'; DROP TABLE y; --";
        TestPg.Run ok = TestPg.run(new CreatePublication(), TestPg.env(db), "--name", pub, "--table", "x; DROP TABLE y");
        assertEquals(0, ok.exit(), ok.all());
        assertEquals(List.of("public.x; DROP TABLE y"), published(db, pub));
        TestPg.Run ri = TestPg.run(new ReplicaIdentity(), TestPg.env(db), "--publication", pub);
        assertEquals(0, ri.exit(), ri.all());
        String role = "r\"; DROP TABLE y; --" + N.incrementAndGet();
        TestPg.Run rr = TestPg.run(new CreateReplicationRole(), TestPg.env(db), "--role", role, "--password-out",
                tmp.resolve("weird.password").toString());
        assertEquals(0, rr.exit(), rr.all());
        TestPg.Run g = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role, "--publication", pub);
        assertEquals(0, g.exit(), g.all());
        assertTrue(exists(db, "y"));
        assertEquals(1, TestPg.rows(db, "SELECT 1 FROM pg_roles WHERE rolname = '" + role.replace("'", "''") + "'").size());
    }

    // ---- Neon roles -----------------------------------------------------------------------------

    @Test
    void neonRolesComeFromTheNeonApi() {
        Lab.Server s = ExtraServers.neon();
        Map<String, String> env = TestPg.env(s, "neondb");
        String missing = unique("mz");
        String before = TestPg.catalogState(s, "neondb");
        Path pw = tmp.resolve("neon.password");
        TestPg.Run r = failsCleanly(Exit.NEEDS_NEON_API, CreateReplicationRole::new, env, "--role", missing,
                "--password-out", pw.toString());
        assertTrue(fix(r).contains("neonctl roles create --name " + missing), r.err());
        assertEquals(before, TestPg.catalogState(s, "neondb"));
        assertTrue(TestPg.rows(s, "neondb", "SELECT 1 FROM pg_roles WHERE rolname = '" + missing + "'").isEmpty());
        assertFalse(Files.exists(pw));

        String sqlMade = unique("mz");
        TestPg.exec(s, "neondb", "CREATE ROLE " + sqlMade + " LOGIN PASSWORD 'sql-made-password'");
        String before2 = TestPg.catalogState(s, "neondb");
        TestPg.Run noRepl = failsCleanly(Exit.NEEDS_NEON_API, CreateReplicationRole::new, env, "--role", sqlMade);
        assertTrue(message(noRepl).contains("lacks REPLICATION"), noRepl.err());
        assertEquals(before2, TestPg.catalogState(s, "neondb"));

        String apiMade = unique("mz");
        TestPg.exec(s, "neondb", "CREATE ROLE " + apiMade + " LOGIN REPLICATION IN ROLE neon_superuser PASSWORD 'api-made-pw'");
        String before3 = TestPg.catalogState(s, "neondb");
        TestPg.Run ok = TestPg.run(new CreateReplicationRole(), env, "--role", apiMade);
        assertEquals(0, ok.exit(), ok.all());
        assertTrue(ok.out().contains("already done"), ok.out());
        assertEquals(before3, TestPg.catalogState(s, "neondb"));
    }

    @Test
    void oddDatabaseName() {
        String name = "my db Ünï";
        TestPg.exec("postgres", "CREATE DATABASE \"" + name + "\" TEMPLATE neondb OWNER neondb_owner");
        String url = "postgresql://neondb_owner@127.0.0.1:" + TestPg.server().port()
                + "/my%20db%20%C3%9Cn%C3%AF?sslmode=disable";
        TestPg.Run r = TestPg.run(new CreatePublication(), url(url), "--table", "orders");
        assertEquals(0, r.exit(), r.all());
        assertEquals(List.of("public.orders"), published(name, "mz_source"));
    }
}
