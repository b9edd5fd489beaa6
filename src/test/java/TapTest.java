import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;

/**
 * tap against the lab: set up with the step commands themselves (replica-identity, publication,
 * replication-role --password-out, grants), then compared with what loadgen made, change by change. After
 * every test, also after a killed tap process, no neonmz_tap_ slot is left on the server.
 */
class TapTest {
    static final AtomicInteger ROLES = new AtomicInteger();
    static final String LAB_TABLES = "customers,orders,\"Order Items\",page_views";

    @AfterEach
    void noSlotLeft() throws Exception {
        assertTrue(waitNoSlots(5000), "a neonmz_tap_ slot was left: " + slots());
    }

    static List<Map<String, Object>> slots() {
        return TestPg.rows("postgres", "SELECT slot_name, active_pid, database FROM pg_replication_slots "
                + "WHERE slot_name LIKE 'neonmz\\_tap\\_%'");
    }

    static boolean waitNoSlots(long ms) throws InterruptedException {
        long until = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < until) {
            if (slots().isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return slots().isEmpty();
    }

    /** Waits until a tap slot of this database is active (the tap is listening). */
    static void awaitSlot(String db) throws InterruptedException {
        for (int i = 0; i < 1000; i++) {
            if (!TestPg.rows("postgres", "SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'neonmz\\_tap\\_%' "
                    + "AND database = '" + db + "' AND active").isEmpty()) {
                return;
            }
            Thread.sleep(10);
        }
        fail("no tap slot became active in " + db);
    }

    record Setup(String db, String role, Path passwordFile, Map<String, String> env) {
        String[] asRole(String... more) {
            List<String> a = new ArrayList<>(List.of("--role", role, "--password-file", passwordFile.toString()));
            a.addAll(List.of(more));
            return a.toArray(String[]::new);
        }
    }

    /** Guide steps A.2.1–A.2.4 with the scripts themselves (FULL identity only when asked). */
    static Setup setUp(String db, String tables, boolean full, String... grantArgs) throws Exception {
        Map<String, String> env = TestPg.env(db);
        String role = "tap_" + ProcessHandle.current().pid() + "_" + ROLES.incrementAndGet();
        Path pw = Files.createTempDirectory("neonmz-tap").resolve("role.password");
        if (full) {
            ok(TestPg.run(new ReplicaIdentity(), env, "--table", tables));
        }
        ok(TestPg.run(new CreatePublication(), env, "--table", tables));
        ok(TestPg.run(new CreateReplicationRole(), env, "--role", role, "--password-out", pw.toString()));
        List<String> g = new ArrayList<>(List.of("--role", role));
        g.addAll(List.of(grantArgs));
        ok(TestPg.run(new GrantAccess(), env, g.toArray(String[]::new)));
        return new Setup(db, role, pw, env);
    }

    static void ok(TestPg.Run r) {
        assertEquals(Exit.OK, r.exit(), r.all());
    }

    /** Runs the tap in-process on another thread. */
    static CompletableFuture<TestPg.Run> tapAsync(Setup s, String... args) {
        return CompletableFuture.supplyAsync(() -> TestPg.run(new Tap(), s.env(), s.asRole(args)));
    }

    /** The --json lines before the final object. */
    static List<JsonObject> lines(TestPg.Run r) {
        List<JsonObject> all = new ArrayList<>();
        for (String l : r.out().split("\n")) {
            if (!l.isBlank()) {
                all.add(JsonParser.parseString(l).getAsJsonObject());
            }
        }
        return all;
    }

    static JsonObject last(TestPg.Run r) {
        List<JsonObject> l = lines(r);
        return l.get(l.size() - 1);
    }

    /** A table's rows as text (what pgoutput sends), as a multiset of column → value maps. */
    static List<Map<String, String>> text(String db, String table) {
        List<Map<String, Object>> cols = TestPg.rows(db, "SELECT attname::text AS a FROM pg_attribute WHERE attrelid = '"
                + table.replace("'", "''") + "'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
        StringBuilder sel = new StringBuilder();
        for (Map<String, Object> c : cols) {
            String n = "\"" + ((String) c.get("a")).replace("\"", "\"\"") + "\"";
            sel.append(sel.length() == 0 ? "" : ", ").append(n).append("::text AS ").append(n);
        }
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, Object> r : TestPg.rows(db, "SELECT " + sel + " FROM " + table)) {
            Map<String, String> m = new LinkedHashMap<>();
            r.forEach((k, v) -> m.put(k, (String) v));
            out.add(m);
        }
        return out;
    }

    static Map<String, String> asMap(JsonElement e) {
        Map<String, String> m = new LinkedHashMap<>();
        e.getAsJsonObject().entrySet().forEach(x -> m.put(x.getKey(), x.getValue().isJsonNull() ? null : x.getValue().getAsString()));
        return m;
    }

    static List<String> sorted(List<Map<String, String>> rows) {
        return rows.stream().map(Object::toString).sorted().toList();
    }

    @Test
    void seesExactlyWhatLoadgenMadeWithWholeOldRows() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        List<String> tables = List.of("customers", "orders", "\"Order Items\"", "page_views");
        Map<String, List<Map<String, String>>> before = new HashMap<>();
        for (String t : tables) {
            before.put(t, text(s.db(), t));
        }
        CompletableFuture<TestPg.Run> tap = tapAsync(s, "--json", "--max", "60", "--for", "30s");
        awaitSlot(s.db());
        TestPg.Run lg = TestPg.run(new LoadGen(), s.env(), "--count", "60", "--rate", "0", "--batch", "7", "--seed", "5", "--json");
        ok(lg);
        TestPg.Run r = tap.get(40, TimeUnit.SECONDS);
        ok(r);
        JsonObject end = last(r);
        assertEquals("max", end.get("stopped").getAsString());
        assertEquals(60, end.get("changes").getAsLong());
        assertTrue(end.get("slot_dropped").getAsBoolean());
        assertEquals(s.role(), end.get("role").getAsString());
        assertTrue(end.get("slot").getAsString().matches("neonmz_tap_\\d+_[a-z0-9]{6}"));
        assertFalse(r.all().contains(Files.readString(s.passwordFile()).strip()), "no password in the output");

        // counts per table and kind: the tap's equal loadgen's
        JsonObject made = lg.json();
        Map<String, String> madeCounts = new HashMap<>();
        for (JsonElement e : made.getAsJsonArray("tables")) {
            JsonObject t = e.getAsJsonObject();
            madeCounts.put(t.get("table").getAsString(), t.get("insert") + "/" + t.get("update") + "/" + t.get("delete"));
        }
        Map<String, long[]> seen = new HashMap<>();
        List<JsonObject> changes = lines(r).subList(0, lines(r).size() - 1);
        assertEquals(60, changes.size());
        for (JsonObject c : changes) {
            long[] k = seen.computeIfAbsent(c.get("table").getAsString(), x -> new long[3]);
            k[List.of("INSERT", "UPDATE", "DELETE").indexOf(c.get("kind").getAsString())]++;
            if (!c.get("kind").getAsString().equals("INSERT")) {
                assertEquals("full", c.get("old_row").getAsString(), c.toString());
            }
            assertEquals("full", c.get("identity").getAsString());
            assertTrue(c.get("xid").getAsLong() > 0);
        }
        Map<String, String> seenCounts = new HashMap<>();
        seen.forEach((t, k) -> seenCounts.put(t, k[0] + "/" + k[1] + "/" + k[2]));
        madeCounts.values().removeIf(v -> v.equals("0/0/0"));
        assertEquals(madeCounts, seenCounts);
        assertEquals(made.get("insert").getAsLong(), end.get("insert").getAsLong());
        assertEquals(made.get("update").getAsLong(), end.get("update").getAsLong());
        assertEquals(made.get("delete").getAsLong(), end.get("delete").getAsLong());

        // content: the tables before, with the stream's changes applied (old rows matched whole), are the tables after
        for (String t : tables) {
            String plain = "public." + t.replace("\"", "");
            List<Map<String, String>> rows = new ArrayList<>(before.get(t));
            for (JsonObject c : changes) {
                if (!c.get("table").getAsString().equals(plain)) {
                    continue;
                }
                if (c.has("old")) {
                    Map<String, String> old = asMap(c.get("old"));
                    assertTrue(rows.remove(old), "the old row of " + c + " is a row of " + t + " before the change");
                }
                if (c.has("new")) {
                    rows.add(asMap(c.get("new")));
                }
            }
            assertEquals(sorted(text(s.db(), t)), sorted(rows), t);
        }
    }

    @Test
    void humanLinesShowOldAndNewRowsAndTheSummary() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        TestPg.Run r = TestPg.run(new Tap(), s.env(), s.asRole("--demo-changes", "8", "-v"));
        ok(r);
        String out = r.out();
        assertTrue(out.contains("demo: ./jbang loadgen --tables "), out);
        assertTrue(out.matches("(?s).*\\n[0-9A-F]+/[0-9A-F]+ +\\d+ +INSERT +public\\.\\S+ +new: \\(.*"), out);
        assertTrue(out.matches("(?s).*UPDATE +public\\.\\S+( Items\")? +old \\(full\\): \\(.*\\)  new: \\(.*"), out);
        assertTrue(out.contains(" BEGIN ") && out.contains(" COMMIT ") && out.contains(" RELATION "), out);
        assertTrue(out.contains("table ") && out.contains("insert  update  delete  truncate"), out);
        assertTrue(out.matches("(?s).*tap: 8 changes \\(\\d+ insert, \\d+ update, \\d+ delete, 0 truncate\\) in \\d+ "
                + "transactions?; stopped: the demo's changes read; slot neonmz_tap_\\d+_[a-z0-9]{6} dropped\\n.*"), out);
    }

    @Test
    void defaultIdentityShowsTheKeyOrNoOldRow() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, false);
        CompletableFuture<TestPg.Run> tap = tapAsync(s, "--max", "3", "--for", "20s");
        awaitSlot(s.db());
        TestPg.execAsOwner(s.db(),
                "UPDATE customers SET name = 'Ada King' WHERE id = 1",                       // key unchanged: no old row
                "UPDATE \"Order Items\" SET line = 7 WHERE order_id = 1 AND line = 2",        // key changed: the old key
                "DELETE FROM \"Order Items\" WHERE order_id = 2");                             // the old key
        TestPg.Run r = tap.get(30, TimeUnit.SECONDS);
        ok(r);
        assertTrue(r.err().contains("lack REPLICA IDENTITY FULL"), r.err());
        assertTrue(r.out().matches("(?s).*UPDATE +public\\.customers +old: none  new: \\(id=1, email=ada@example\\.com, "
                + "name=Ada King, created_at=.*"), r.out());
        assertTrue(r.out().contains("old (key): (order_id=1, line=2)  new: (order_id=1, line=7, sku=TEA-EARL, quantity=1, "
                + "unit_price=17.50, attributes={\"grams\": 250})"), r.out());
        assertTrue(r.out().matches("(?s).*DELETE +public\\.\"Order Items\" +old \\(key\\): \\(order_id=2, line=1\\)\\n.*"), r.out());

        CompletableFuture<TestPg.Run> tapJson = tapAsync(s, "--max", "1", "--for", "20s", "--json");
        awaitSlot(s.db());
        TestPg.execAsOwner(s.db(), "DELETE FROM \"Order Items\" WHERE order_id = 3");
        TestPg.Run j = tapJson.get(30, TimeUnit.SECONDS);
        ok(j);
        JsonObject d = lines(j).get(0);
        assertEquals("key", d.get("old_row").getAsString());
        assertEquals("default", d.get("identity").getAsString());
        assertEquals(Map.of("order_id", "3", "line", "1"), asMap(d.get("old")));
    }

    @Test
    void truncateIsWarnedEachTime() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        CompletableFuture<TestPg.Run> tap = tapAsync(s, "--max", "2", "--for", "20s");
        awaitSlot(s.db());
        TestPg.execAsOwner(s.db(), "TRUNCATE page_views", "TRUNCATE \"Order Items\", orders CASCADE");
        TestPg.Run r = tap.get(30, TimeUnit.SECONDS);
        ok(r);
        assertEquals(2, r.err().split("Materialize cannot handle TRUNCATE", -1).length - 1, r.err());
        assertTrue(r.err().contains("warning: TRUNCATE of public.page_views at "), r.err());
        assertTrue(r.out().matches("(?s).*TRUNCATE +public\\.\"Order Items\", public\\.orders( CASCADE)?.*"), r.out());
        assertTrue(r.out().contains("0 insert, 0 update, 0 delete, 3 truncate"), r.out());

        CompletableFuture<TestPg.Run> tapJson = tapAsync(s, "--max", "1", "--for", "20s", "--json");
        awaitSlot(s.db());
        TestPg.execAsOwner(s.db(), "TRUNCATE customers CASCADE");
        TestPg.Run j = tapJson.get(30, TimeUnit.SECONDS);
        ok(j);
        assertEquals("TRUNCATE", lines(j).get(0).get("kind").getAsString());
        assertTrue(last(j).getAsJsonArray("warnings").toString().contains("Materialize cannot handle TRUNCATE"));
    }

    @Test
    void forStopsAQuietStream() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        long t0 = System.nanoTime();
        TestPg.Run r = TestPg.run(new Tap(), s.env(), s.asRole("--for", "1s", "--json"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        ok(r);
        assertEquals("for", r.json().get("stopped").getAsString());
        assertEquals(0, r.json().get("changes").getAsLong());
        assertTrue(ms >= 1000 && ms < 8000, "took " + ms + " ms");
    }

    @Test
    void errorsLikeStreamChecks() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        TestPg.Run r = TestPg.run(new Tap(), s.env(), s.asRole("--publication", "nope", "--for", "1s"));
        assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
        assertTrue(r.err().contains("publication nope does not exist"), r.err());

        String plain = "tapnorep_" + ProcessHandle.current().pid() + "_" + ROLES.incrementAndGet();
        TestPg.exec("postgres", "CREATE ROLE " + plain + " LOGIN PASSWORD 'pw-norep-Secret1'");
        Path f = Files.createTempFile("neonmz-tap", ".password");
        Files.writeString(f, "pw-norep-Secret1\n");
        TestPg.Run p = TestPg.run(new Tap(), s.env(), "--role", plain, "--password-file", f.toString(), "--for", "1s");
        assertEquals(Exit.PERMISSION, p.exit(), p.all());
        assertTrue(p.err().contains("lacks the REPLICATION attribute"), p.err());

        TestPg.Run d = TestPg.run(new Tap(), s.env(), s.asRole("--dry-run"));
        ok(d);
        assertTrue(d.out().contains("tap: would open slot neonmz_tap_"), d.out());
        assertTrue(slots().isEmpty());

        TestPg.Run bad = TestPg.run(new Tap(), s.env(), "--max", "0");
        assertEquals(Exit.USAGE, bad.exit(), bad.all());
    }

    @Test
    void oddTableNames() throws Exception {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db,
                "CREATE SCHEMA \"Shop Ünits\"",
                "CREATE TABLE \"Shop Ünits\".\"we\"\"ird\" (id int PRIMARY KEY, \"Naïve Name\" text NOT NULL, n numeric(6,2))",
                "CREATE TABLE \"Shop Ünits\".\"MixedCase\" (k bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                        + "w int NOT NULL REFERENCES \"Shop Ünits\".\"we\"\"ird\", note text)",
                "INSERT INTO \"Shop Ünits\".\"we\"\"ird\" VALUES (1, 'eins', 1.5), (2, 'zwei', 2.5)");
        String tables = "\"Shop Ünits\".\"we\"\"ird\",\"Shop Ünits\".\"MixedCase\",\"Order Items\"";
        Setup s = setUp(db, tables, true, "--schema", "public", "--schema", "Shop Ünits");
        CompletableFuture<TestPg.Run> tap = tapAsync(s, "--max", "30", "--for", "30s", "--json");
        awaitSlot(db);
        TestPg.Run lg = TestPg.run(new LoadGen(), s.env(), "--tables", tables, "--count", "30", "--rate", "0", "--json");
        ok(lg);
        TestPg.Run r = tap.get(40, TimeUnit.SECONDS);
        ok(r);
        List<String> seenTables = lines(r).stream().filter(l -> l.has("table")).map(l -> l.get("table").getAsString())
                .distinct().sorted().toList();
        assertTrue(seenTables.contains("Shop Ünits.we\"ird"), seenTables.toString());
        assertTrue(seenTables.contains("Shop Ünits.MixedCase"), seenTables.toString());
        for (JsonObject c : lines(r).subList(0, 30)) {
            if (!c.get("kind").getAsString().equals("INSERT")) {
                assertEquals("full", c.get("old_row").getAsString());
            }
        }
        TestPg.Run human = TestPg.run(new Tap(), s.env(), s.asRole("--demo-changes", "5"));
        ok(human);
        assertTrue(human.out().contains("\"Shop Ünits\".\"we\"\"ird\"") || human.out().contains("\"Shop Ünits\".\"MixedCase\""),
                human.out());
    }

    /** A tap in its own JVM: SIGTERM prints the summary (exit 130); kill -9 leaves the server to drop the slot. */
    @Test
    void aKilledTapLeavesNoSlot() throws Exception {
        Setup s = setUp(TestPg.newDatabase(), LAB_TABLES, true);
        for (boolean hard : new boolean[] {false, true}) {
            Path log = Files.createTempFile("neonmz-tap", ".out");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "Tap"));
            cmd.addAll(List.of(s.asRole("--for", "60s")));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(s.env());
            Process p = pb.start();
            try {
                awaitSlot(s.db());
                TestPg.execAsOwner(s.db(), "UPDATE customers SET name = name WHERE id = 1");
                // the change printed before the signal (a fixed 300 ms was too short on a loaded machine)
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!Files.readString(log, StandardCharsets.UTF_8).contains("UPDATE") && System.nanoTime() < until) {
                    Thread.sleep(50);
                }
                if (hard) {
                    p.destroyForcibly();   // SIGKILL: no hook runs; the connection dies with the process
                } else {
                    p.destroy();           // SIGTERM, as Ctrl-C: the hook stops the stream, the summary is printed
                }
                assertTrue(p.waitFor(15, TimeUnit.SECONDS));
                assertTrue(waitNoSlots(5000), "slot left after " + (hard ? "kill -9" : "SIGTERM") + ": " + slots());
                String out = Files.readString(log, StandardCharsets.UTF_8);
                if (!hard) {
                    assertEquals(143, p.exitValue(), out);
                    assertTrue(out.contains("UPDATE") && out.contains("stopped: interrupted; slot neonmz_tap_")
                            && out.contains(" dropped"), out);
                }
            } finally {
                p.destroyForcibly();
            }
        }
        assertNotNull(File.separator);
    }
}
