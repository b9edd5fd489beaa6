import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.replication.PGReplicationStream;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Exit;

/**
 * watch against real PostgreSQL: each drift made on purpose between ticks and reported once with its fix, and
 * its clearing; a PostgreSQL restart mid-watch; the metrics scraped over real HTTP; --fail-on, --dry-run,
 * secrets, the connection closed between ticks (and kept with --keep-awake); Materialize's side through the
 * stand-in ({@link MzStandIn}); and the heartbeat's effect on a slot's WAL, measured with a consumer that
 * acknowledges only what it receives.
 */
class WatchTest {
    static final AtomicInteger N = new AtomicInteger();

    // ---- set-up -------------------------------------------------------------------------------------

    static String unique(String prefix) {
        return prefix + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
    }

    /** A lab database whose four tables are published with REPLICA IDENTITY FULL and readable by a new role. */
    static String database(Lab.Server s, String role) {
        String db = unique("w");
        TestPg.exec(s, "postgres", "CREATE DATABASE " + db + " TEMPLATE neondb OWNER neondb_owner",
                "CREATE ROLE " + role + " LOGIN REPLICATION");
        TestPg.exec(s, db, "ALTER TABLE customers REPLICA IDENTITY FULL", "ALTER TABLE orders REPLICA IDENTITY FULL",
                "ALTER TABLE \"Order Items\" REPLICA IDENTITY FULL", "ALTER TABLE page_views REPLICA IDENTITY FULL",
                "CREATE PUBLICATION mz_source FOR TABLE customers, orders, \"Order Items\", page_views",
                "GRANT USAGE ON SCHEMA public TO " + role, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        return db;
    }

    /** A second server for what must not disturb the shared one: a restart, and a small max_slot_wal_keep_size. */
    static final Map<String, String> OWN = Map.of("max_slot_wal_keep_size", "1MB");
    private static Lab.Server own;

    static synchronized Lab.Server own() {
        if (own == null) {
            TestPg.server();
            own = TestPg.startServer(OWN);
        }
        return own;
    }

    /** A watch running in-process on its own thread, its output readable while it runs. */
    static final class Running {
        final Watch watch = new Watch();
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final Thread thread;
        volatile int exit = -1;

        Running(Map<String, String> env, String... args) {
            Cli.Ctx ctx = new Cli.Ctx(env, new BufferedReader(new StringReader("")), new PrintWriter(out, true),
                    new PrintWriter(err, true), false);
            thread = new Thread(() -> exit = Cli.execute(watch, ctx, args), "watch-under-test");
            thread.start();
        }

        String all() {
            return out + "" + err;
        }

        /** Waits until the output holds {@code text} (a regex when it starts with "~"). */
        Running await(String text) {
            Pattern p = text.startsWith("~") ? Pattern.compile(text.substring(1), Pattern.MULTILINE) : null;
            waitUntil(() -> p != null ? p.matcher(all()).find() : all().contains(text), Duration.ofSeconds(15),
                    () -> "no \"" + text + "\" in:\n" + all());
            return this;
        }

        int count(String text) {
            return all().split(Pattern.quote(text), -1).length - 1;
        }

        int stop() throws InterruptedException {
            watch.stop();
            thread.join(20_000);
            assertFalse(thread.isAlive(), "watch did not stop:\n" + all());
            return exit;
        }

        int join() throws InterruptedException {
            thread.join(30_000);
            assertFalse(thread.isAlive(), "watch did not end:\n" + all());
            return exit;
        }
    }

    static void waitUntil(BooleanSupplier ok, Duration max, java.util.function.Supplier<String> why) {
        long until = System.nanoTime() + max.toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > until) {
                fail(why.get());
            }
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    static String newLine(String kind, String subject) {
        return String.format("~  new      %-17s  %s: ", kind, Pattern.quote(subject));
    }

    static String cleared(String kind, String subject) {
        return String.format("  cleared  %-17s  %s", kind, subject);
    }

    // ---- 1. each drift, once, with its fix; then cleared ---------------------------------------------

    @Test
    void eachDriftIsReportedOnceWithItsFixAndWhenItClears() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        String slot = unique("wslot");
        String before = TestPg.catalogState(db);
        Running w = new Running(TestPg.env(db), "--role", role, "--interval", "200ms", "--all-in-schema",
                "--max-retained", "4MB").await("watch: baseline: no problems");

        TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY DEFAULT");
        w.await(newLine("replica_identity", "public.orders") + "REPLICA IDENTITY default, not FULL")
                .await("fix: ./jbang replica-identity --table public.orders\n");
        TestPg.execAsOwner(db, "CREATE TABLE \"Returns\" (id int PRIMARY KEY)");
        w.await(newLine("unpublished_table", "public.\"Returns\"") + "in schema public but not in publication mz_source")
                .await("fix: ./jbang replica-identity --schema public && ./jbang publication --schema public; then");
        TestPg.exec(db, "REVOKE SELECT ON customers FROM " + role);
        w.await(newLine("grant", "public.customers") + "role " + role + " lost SELECT on public.customers")
                .await("fix: ./jbang grants --role " + role + " --schema public\n");
        TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        w.await(newLine("slot_inactive", slot) + "inactive \\(no consumer connected\\)")
                .await("if no one uses it: SELECT pg_drop_replication_slot('" + slot + "')");
        for (int i = 0; i < 2; i++) {   // the second switch moves a whole segment (16 MB) past the slot
            TestPg.exec(db, "INSERT INTO page_views (viewed_at, path) SELECT now(), 'p' FROM generate_series(1, 1000)",
                    "SELECT pg_switch_wal()");
        }
        w.await(newLine("retained_wal", slot) + "retains \\d+ MB of WAL \\(over --max-retained 4096 kB\\)")
                .await("./jbang watch --heartbeat");
        Thread.sleep(600);   // three more ticks: nothing new to say

        TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY FULL", "DROP TABLE \"Returns\"",
                "GRANT SELECT ON customers TO " + role);
        w.await(cleared("replica_identity", "public.orders")).await(cleared("unpublished_table", "public.\"Returns\""))
                .await(cleared("grant", "public.customers"));
        TestPg.exec(db, "SELECT pg_drop_replication_slot('" + slot + "')");
        w.await(cleared("slot_inactive", slot)).await(cleared("retained_wal", slot));
        assertEquals(0, w.stop(), w.all());
        for (String kind : List.of("replica_identity", "unpublished_table", "grant", "slot_inactive", "retained_wal")) {
            assertEquals(1, w.count(String.format("  new      %-17s", kind)), kind + " once:\n" + w.all());
            assertEquals(1, w.count(String.format("  cleared  %-17s", kind)), kind + " cleared once:\n" + w.all());
        }
        assertTrue(w.out.toString().matches("(?s).*watch: \\d+ ticks: no problems; 5 appeared, 5 cleared\n"), w.all());
        assertEquals(before, TestPg.catalogState(db), "watch changes nothing (the test's own changes were undone)");
    }

    @Test
    void walStatusUnreservedThenLost() throws Exception {
        Lab.Server s = own();
        String role = unique("wr");
        String db = database(s, role);
        String slot = unique("wslot");
        TestPg.exec(s, db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        Running w = new Running(TestPg.env(s, db), "--role", role, "--interval", "200ms")
                .await(newLine("slot_inactive", slot));
        for (int i = 0; i < 2; i++) {
            TestPg.exec(s, db, "INSERT INTO page_views (viewed_at, path) SELECT now(), 'p' FROM generate_series(1, 1000)",
                    "SELECT pg_switch_wal()");
        }
        w.await(newLine("slot_wal_status", slot) + "wal_status unreserved: past max_slot_wal_keep_size");
        TestPg.exec(s, db, "CHECKPOINT");
        w.await(cleared("slot_wal_status", slot) + " (unreserved)")
                .await(newLine("slot_wal_status", slot) + "wal_status lost: the WAL it needs is gone")
                .await("fix: SELECT pg_drop_replication_slot('" + slot + "'); a Materialize source on it must be recreated");
        TestPg.exec(s, db, "SELECT pg_drop_replication_slot('" + slot + "')");
        w.await(cleared("slot_wal_status", slot) + " (lost)");
        assertEquals(0, w.stop(), w.all());
    }

    // ---- 2. a restart mid-watch -----------------------------------------------------------------------

    @Test
    void aRestartIsSaidOnceAndTheBaselineIsKept() throws Exception {
        Lab.Server s = own();
        String role = unique("wr");
        String db = database(s, role);
        Running w = new Running(TestPg.env(s, db), "--role", role, "--interval", "200ms", "--json");
        Running h = new Running(TestPg.env(s, db), "--role", role, "--interval", "200ms")
                .await("watch: baseline: no problems");
        TestPg.exec(s, db, "ALTER TABLE orders REPLICA IDENTITY DEFAULT");
        h.await(newLine("replica_identity", "public.orders"));
        s.stop();
        // the first failed tick says why: the session was ended mid-tick, or the server refused a new one
        h.await("~  lost     upstream           (cannot connect to 127\\.0\\.0\\.1:\\d+|the connection was lost): .*; "
                + "retrying every 200ms, the baseline is kept$");
        Thread.sleep(500);   // more failed ticks: said once
        s.start(s.port(), OWN, null);
        h.await("~  back     upstream           reconnected after \\d+ failed ticks?; the baseline is kept$");
        Thread.sleep(600);
        assertEquals(1, h.count("new      replica_identity"), "kept in the baseline, not new again:\n" + h.all());
        assertEquals(1, h.count("  lost     upstream"), h.all());
        TestPg.exec(s, db, "REVOKE USAGE ON SCHEMA public FROM PUBLIC", "REVOKE USAGE ON SCHEMA public FROM " + role);
        h.await(newLine("grant", "schema public") + "role " + role + " lost USAGE on schema public");
        assertEquals(0, h.stop(), h.all());
        assertTrue(h.out.toString().matches("(?s).*watch: \\d+ ticks: 2 problems now \\(replica_identity 1, grant 1\\); "
                + "2 appeared, 0 cleared; \\d+ failed ticks, 1 reconnect\n"), h.all());

        // the same in --json: a failed tick has upstream.ok false and its error; the summary counts them
        assertEquals(0, w.stop(), w.all());
        List<JsonObject> lines = jsonLines(w.out.toString());
        assertTrue(lines.stream().anyMatch(l -> l.has("upstream") && !l.getAsJsonObject("upstream").get("ok").getAsBoolean()
                && l.getAsJsonObject("upstream").get("error").getAsString().contains("cannot connect")), w.out.toString());
        JsonObject end = lines.get(lines.size() - 1);
        assertEquals(1, end.get("reconnects").getAsInt(), end.toString());
        assertTrue(end.getAsJsonObject("failed_ticks").get("upstream").getAsInt() >= 1, end.toString());
        assertTrue(end.getAsJsonArray("warnings").isEmpty(), end.toString());
    }

    static List<JsonObject> jsonLines(String out) {
        List<JsonObject> all = new ArrayList<>();
        out.strip().lines().forEach(l -> all.add(JsonParser.parseString(l).getAsJsonObject()));
        return all;
    }

    // ---- 3. the metrics over HTTP ---------------------------------------------------------------------

    static Map<String, String> scrape(HttpClient http, int port, List<String> types) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        Map<String, String> samples = new LinkedHashMap<>();
        Set<String> declared = new HashSet<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("# HELP ")) {
                declared.add(line.split(" ")[2]);
            } else if (line.startsWith("# TYPE ")) {
                String[] t = line.split(" ");
                assertTrue(declared.contains(t[2]), "HELP before TYPE: " + line);
                assertTrue(Set.of("gauge", "counter").contains(t[3]), line);
                assertEquals(t[3].equals("counter"), t[2].endsWith("_total"), line);
                types.add(t[2]);
            } else {
                Matcher m = Pattern.compile("(neonmz_watch_[a-z_]+)(\\{[^}]*})? (-?[0-9.]+)").matcher(line);
                assertTrue(m.matches(), "a sample line: " + line);
                assertEquals(types.get(types.size() - 1), m.group(1), "samples follow their family: " + line);
                samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), m.group(3));
            }
        }
        return samples;
    }

    @Test
    void metricsScrapedOverHttpWhileItRuns() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        String slot = unique("wslot");
        TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        String retainedNow = "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint AS r, (confirmed_flush_lsn - restart_lsn)::bigint "
                + "AS c FROM pg_replication_slots WHERE slot_name = '" + slot + "'";
        long before = (Long) TestPg.rows(db, retainedNow).get(0).get("r");
        int port = TestPg.freePort();
        Running w = new Running(TestPg.env(db), "--role", role, "--interval", "1m", "--metrics-port", String.valueOf(port))
                .await("watch: metrics on http://127.0.0.1:" + port + "/metrics").await("watch: baseline:");
        HttpClient http = HttpClient.newHttpClient();
        Map<String, String> m = scrape(http, port, new ArrayList<>());
        Map<String, Object> after = TestPg.rows(db, retainedNow).get(0);
        assertEquals("1", m.get("neonmz_watch_up{target=\"upstream\"}"), m.toString());
        assertEquals("1", m.get("neonmz_watch_ticks_total"), "one tick so far (--interval 1m)");
        long retained = Long.parseLong(m.get("neonmz_watch_slot_retained_wal_bytes{slot=\"" + slot + "\"}"));
        long unconfirmed = Long.parseLong(m.get("neonmz_watch_slot_unconfirmed_wal_bytes{slot=\"" + slot + "\"}"));
        // the slot is inactive, so its restart_lsn and confirmed_flush_lsn stand still while the server's WAL moves on
        assertTrue(before <= retained && retained <= (Long) after.get("r"), "pg_current_wal_lsn() - restart_lsn at the "
                + "tick, between the values before and after it: " + before + " <= " + retained + " <= " + after.get("r"));
        assertEquals((long) (Long) after.get("c"), retained - unconfirmed, "retained - unconfirmed = confirmed_flush_lsn - "
                + "restart_lsn, as pg_replication_slots has them");
        assertEquals("0", m.get("neonmz_watch_slot_active{slot=\"" + slot + "\"}"));
        assertEquals("1", m.get("neonmz_watch_problems{kind=\"slot_inactive\"}"));
        assertEquals("0", m.get("neonmz_watch_drifts_total{kind=\"replica_identity\"}"));
        assertEquals("1", m.get("neonmz_watch_check_ok{check=\"replica_identity\"}"));
        assertNull(m.get("neonmz_watch_problems{kind=\"lag\"}"), "no Materialize kinds without --mz-url");
        assertEquals(0, w.stop(), w.all());

        w = new Running(TestPg.env(db), "--role", role, "--interval", "200ms", "--metrics-port", String.valueOf(port))
                .await("watch: baseline:");

        for (int round = 1; round <= 2; round++) {
            TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY DEFAULT");
            String want = String.valueOf(round);
            waitUntil(() -> want.equals(get(http, port, "neonmz_watch_drifts_total{kind=\"replica_identity\"}"))
                    && "1".equals(get(http, port, "neonmz_watch_problems{kind=\"replica_identity\"}")), Duration.ofSeconds(10),
                    () -> "drifts_total did not reach " + want);
            assertEquals("0", get(http, port, "neonmz_watch_check_ok{check=\"replica_identity\"}"));
            TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY FULL");
            waitUntil(() -> "0".equals(get(http, port, "neonmz_watch_problems{kind=\"replica_identity\"}")),
                    Duration.ofSeconds(10), () -> "replica_identity did not clear");
            assertEquals(want, get(http, port, "neonmz_watch_drifts_total{kind=\"replica_identity\"}"), "a counter stays");
        }
        assertTrue(Long.parseLong(get(http, port, "neonmz_watch_ticks_total")) >= 4);
        HttpResponse<Void> none = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(404, none.statusCode());
        assertEquals(0, w.stop(), w.all());
        assertThrows(ConnectException.class, () -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/metrics")).build(), HttpResponse.BodyHandlers.discarding()), "the server is closed with the watch");
        TestPg.exec(db, "SELECT pg_drop_replication_slot('" + slot + "')");
    }

    static String get(HttpClient http, int port, String key) {
        try {
            return scrape(http, port, new ArrayList<>()).get(key);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void labelValuesAreEscaped() {
        assertEquals("we\\\"ird\\\\source\\nx", WatchMetrics.label("we\"ird\\source\nx"));
    }

    // ---- 4. --fail-on, --dry-run, secrets, the connection between ticks --------------------------------

    @Test
    void failOnExitsSeventeenForItsKindsOnly() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY DEFAULT");
        TestPg.Run r = TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--once", "--fail-on", "drift");
        assertEquals(Exit.DRIFT, r.exit(), r.all());
        assertTrue(r.err().contains("error: --fail-on drift: replica_identity public.orders (tick 1)\n  fix: apply each "
                + "problem's fix"), r.err());
        assertTrue(r.out().endsWith("watch: 1 tick: 1 problem now (replica_identity 1)\n"), r.out());
        assertEquals(0, TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--once", "--fail-on", "slot,wal").exit());
        assertEquals(Exit.DRIFT, TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--once", "--fail-on", "any").exit());

        JsonObject j = jsonLines(TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--once", "--fail-on", "drift",
                "--json").out()).get(1);
        assertEquals(Exit.DRIFT, j.get("exit").getAsInt());
        assertEquals("public.orders", j.getAsJsonArray("fail_on").get(0).getAsJsonObject().get("subject").getAsString());

        // a repeated watch stops at the first tick where the condition is present
        TestPg.exec(db, "ALTER TABLE orders REPLICA IDENTITY FULL");
        Running w = new Running(TestPg.env(db), "--role", role, "--interval", "200ms", "--ticks", "100", "--fail-on", "drift")
                .await("watch: baseline: no problems");
        TestPg.exec(db, "REVOKE SELECT ON orders FROM " + role);
        assertEquals(Exit.DRIFT, w.join(), w.all());
        assertTrue(w.err.toString().contains("error: --fail-on drift: grant public.orders (tick "), w.all());

        TestPg.Run bad = TestPg.run(new Watch(), TestPg.env(db), "--once", "--fail-on", "drift,weather");
        assertEquals(Exit.USAGE, bad.exit(), bad.all());
        assertTrue(bad.err().contains("--fail-on weather is not a kind of problem"), bad.err());
    }

    @Test
    void dryRunContactsNothingAndServesNothing() throws Exception {
        int port = TestPg.freePort();
        Map<String, String> env = new HashMap<>(TestPg.env("nowhere"));
        env.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:" + TestPg.freePort() + "/nowhere?sslmode=disable");
        env.put("MZ_URL", "postgresql://materialize@127.0.0.1:" + TestPg.freePort() + "/materialize");
        TestPg.Run r = TestPg.run(new Watch(), env, "--dry-run", "--heartbeat", "--all-in-schema", "--metrics-port",
                String.valueOf(port), "--interval", "10m");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().startsWith("-- dry run: nothing was contacted."), r.out());
        assertTrue(r.out().contains("WHERE t.pubname = 'mz_source'"), r.out());
        assertTrue(r.out().contains("n.nspname IN (SELECT schemaname FROM pg_publication_tables WHERE pubname = 'mz_source')"), r.out());
        assertTrue(r.out().contains("SELECT pg_logical_emit_message(false, 'neonmz_heartbeat', now()::text)::text AS lsn;"), r.out());
        assertTrue(r.out().contains("FROM mz_internal.mz_source_statuses st"), r.out());
        assertTrue(r.out().endsWith("watch: would tick every 10m until Ctrl-C; changes nothing; no metrics served under "
                + "--dry-run\n"), r.out());
        assertThrows(java.io.IOException.class, () -> new java.net.Socket("127.0.0.1", port).close(), "nothing listens");

        String db = TestPg.newDatabase();
        String before = TestPg.catalogState(db);
        assertEquals(0, TestPg.run(new Watch(), TestPg.env(db), "--dry-run", "--heartbeat").exit());
        assertEquals(before, TestPg.catalogState(db));
    }

    @Test
    void secretsStayOutOfTheOutput() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        String pw = TestPg.server().readSecret("owner.password");
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        env.remove("PGPASSFILE");
        env.put("DATABASE_URL", "postgresql://neondb_owner:" + pw + "@127.0.0.1:" + TestPg.server().port() + "/" + db
                + "?sslmode=disable");
        List<String> outputs = new ArrayList<>();
        for (String[] args : List.of(new String[] {"--once"}, new String[] {"--once", "--json", "--heartbeat"},
                new String[] {"--dry-run", "--json"}, new String[] {"--ticks", "2", "--interval", "100ms", "--verbose"})) {
            List<String> a = new ArrayList<>(List.of(args));
            a.addAll(List.of("--role", role));
            TestPg.Run r = TestPg.run(new Watch(), env, a.toArray(String[]::new));
            assertEquals(0, r.exit(), r.all());
            outputs.add(r.all());
        }
        // a wrong password: the failure names where it came from, never the password
        env.put("DATABASE_URL", env.get("DATABASE_URL").replace(pw, "wrong-" + pw.substring(0, 8) + "-pw"));
        TestPg.Run r = TestPg.run(new Watch(), env, "--once", "--role", role);
        assertEquals(Exit.AUTH, r.exit(), r.all());
        outputs.add(r.all());
        for (String o : outputs) {
            assertFalse(o.contains(pw) || o.contains("wrong-" + pw.substring(0, 8)), o);
        }
        assertTrue(outputs.get(2).contains("\"dry_run\":true"), outputs.get(2));
    }

    /** What watch's sessions looked like: pg_stat_activity sampled every 20 ms, and pg_stat_database's count of sessions. */
    record Sessions(List<Set<Integer>> samples, long opened) {}

    /** Five ticks, 400 ms apart, while pg_stat_activity is sampled; then the sessions opened meanwhile (watch's only). */
    static Sessions sessions(String db, String... args) throws Exception {
        List<Set<Integer>> samples = new ArrayList<>();
        List<String> a = new ArrayList<>(List.of(args));
        a.addAll(List.of("--interval", "400ms", "--ticks", "5"));
        try (Connection c = TestPg.superConn(db); Statement s = c.createStatement()) {
            String opened = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()";
            long before = value(s, opened);
            Running w = new Running(TestPg.env(db), a.toArray(String[]::new));
            while (w.thread.isAlive()) {
                Set<Integer> pids = new HashSet<>();
                try (var rs = s.executeQuery("SELECT pid FROM pg_stat_activity WHERE application_name = 'neonmz_watch' "
                        + "AND datname = current_database()")) {
                    while (rs.next()) {
                        pids.add(rs.getInt(1));
                    }
                }
                samples.add(pids);
                Thread.sleep(20);
            }
            assertEquals(0, w.join(), w.all());
            // a backend reports its session to pg_stat_database when it exits: wait for the last one
            long[] after = {0};
            waitUntil(() -> {
                try {
                    after[0] = value(s, opened) - before;
                    return value(s, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'neonmz_watch' "
                            + "AND datname = current_database()") == 0 && after[0] > 0;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, Duration.ofSeconds(10), () -> "sessions: " + after[0]);
            Thread.sleep(300);
            return new Sessions(samples, value(s, opened) - before);
        }
    }

    static long value(Statement s, String sql) throws SQLException {
        try (var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void noSessionIsHeldBetweenTicksUnlessKeepAwake() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        Sessions perTick = sessions(db, "--role", role, "--heartbeat");
        assertEquals(5, perTick.opened(), "a session per tick, closed after it (also with --heartbeat)");
        long held = perTick.samples().stream().filter(p -> !p.isEmpty()).count();
        assertTrue(held * 4 < perTick.samples().size(), "a session only during a tick, not between ticks: " + held + " of "
                + perTick.samples().size() + " samples");

        Sessions kept = sessions(db, "--role", role, "--keep-awake");
        assertEquals(1, kept.opened(), "one session for the whole watch");
        List<Set<Integer>> samples = kept.samples();
        int first = 0;
        while (samples.get(first).isEmpty()) {
            first++;
        }
        long gaps = samples.subList(first, samples.size()).stream().filter(Set::isEmpty).count();
        assertTrue(gaps <= 2, "held between ticks too (the last sample may follow its close): " + gaps + " of " + samples.size());
    }

    // ---- Materialize's side: the stand-in ---------------------------------------------------------------

    @Test
    void sourceStalledFailedAndLagGrowingOverMaxLag() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        MzStandIn mz = new MzStandIn()
                .source("u10", "mz_source", "u2", "materialize_u10", "running", null)
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .stats("u10", "r1", 0L, 0L, true, 1000L, 1000L);
        int port = TestPg.freePort();
        Running w = new Running(mz.env(db), "--role", role, "--interval", "200ms", "--max-lag", "1kB", "--metrics-port",
                String.valueOf(port)).await("watch: baseline: no problems");
        assertTrue(w.out.toString().contains("Materialize source mz_source"), w.all());

        mz.status("u10", "mz_source", "postgres", "stalled", "postgres: slot overcompacted. "
                + "Requested LSN 0/1A2B3C4 but only LSNs >= 0/2000000 are available");
        w.await(newLine("source_status", "mz_source") + "stalled: postgres: slot overcompacted")
                .await("the source cannot go on: ./jbang rebuild --mz-url");
        mz.exec("UPDATE mz_internal.mz_source_statistics_raw SET offset_known = 5000 WHERE id = 'u10'");
        w.await(newLine("lag", "mz_source") + "4000 bytes behind \\(over --max-lag 1024 bytes\\) and growing")
                .await("./jbang right-size");
        HttpClient http = HttpClient.newHttpClient();
        waitUntil(() -> "4000".equals(get(http, port, "neonmz_watch_source_lag_bytes{source=\"mz_source\"}")),
                Duration.ofSeconds(10), w::all);
        assertEquals("1", get(http, port, "neonmz_watch_source_status{source=\"mz_source\",status=\"stalled\"}"));
        mz.exec("UPDATE mz_internal.mz_source_statistics_raw SET offset_known = 4500 WHERE id = 'u10'");
        Thread.sleep(600);   // still over --max-lag, shrinking: still one problem, no new line
        mz.exec("UPDATE mz_internal.mz_source_statistics_raw SET offset_committed = 4000 WHERE id = 'u10'");
        w.await(cleared("lag", "mz_source"));
        mz.status("u10", "mz_source", "postgres", "running", null)
                .status("u11", "customers", "subsource", "failed", "table was truncated");
        w.await(cleared("source_status", "mz_source") + " (stalled)")
                .await(newLine("source_status", "customers") + "failed: table was truncated");

        // Materialize unreadable for a while (here: a relation of its catalog gone): said once, the baseline kept
        mz.exec("ALTER TABLE mz_internal.mz_source_statuses RENAME TO gone");
        w.await("~  lost     materialize        .*; retrying every 200ms, the baseline is kept$");
        mz.exec("ALTER TABLE mz_internal.gone RENAME TO mz_source_statuses");
        w.await("~  back     materialize        reconnected after \\d+ failed ticks?; the baseline is kept$");
        Thread.sleep(400);
        assertEquals(1, w.count("new      source_status      customers"), w.all());
        assertEquals(1, w.count("new      lag"), w.all());
        assertEquals(0, w.stop(), w.all());
    }

    /** A column added upstream and not ingested, and an ingested one dropped upstream: schema drift, evolve the fix. */
    @Test
    void schemaDriftBetweenUpstreamAndWhatMaterializeIngests() throws Exception {
        EvolveMzTest.Setup s = new EvolveMzTest.Setup(false);
        TestPg.Run clean = TestPg.run(new Watch(), s.mz.env(s.db), "--once", "--json");
        assertFalse(clean.out().contains("\"kind\":\"schema_drift\""), clean.out());
        TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text", "ALTER TABLE customers DROP COLUMN email",
                "ALTER TABLE \"we\"\"ird\" DROP COLUMN note");   // excluded in Materialize: no drift
        TestPg.Run r = TestPg.run(new Watch(), s.mz.env(s.db), "--once", "--fail-on", "drift");
        assertEquals(Exit.DRIFT, r.exit(), r.all());
        assertTrue(r.out().contains("schema_drift       public.orders: column(s) note added upstream, not ingested"), r.out());
        assertTrue(r.out().contains("schema_drift       public.customers: column(s) email gone upstream"), r.out());
        assertFalse(r.out().contains("we\"\"ird"), r.out());
        assertTrue(r.out().contains("./jbang evolve --mz-url \"$MZ_URL\" (the plan; --apply carries it out)"), r.out());
    }

    @Test
    void aSourceMissingInMaterialize() {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        MzStandIn mz = new MzStandIn();
        TestPg.Run r = TestPg.run(new Watch(), mz.env(db), "--role", role, "--once", "--source", "nope", "--fail-on", "source");
        assertEquals(Exit.DRIFT, r.exit(), r.all());
        assertTrue(r.out().contains("  new      source_status      nope: not found in Materialize"), r.out());
        assertTrue(r.out().contains("fix: ./jbang source (guide C.3)"), r.out());
    }

    // ---- the heartbeat ---------------------------------------------------------------------------------

    @Test
    void heartbeatNeedsARoleThatMayEmitMessages() {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        TestPg.exec(db, "REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text, boolean) FROM PUBLIC");
        TestPg.Run r = BadInputTest.failsCleanly(Exit.PERMISSION, Watch::new, TestPg.env(db), "--role", role, "--once",
                "--heartbeat");
        assertTrue(r.err().contains("error: --heartbeat: role neondb_owner may not run pg_logical_emit_message: "), r.err());
        assertTrue(r.err().contains("GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text, boolean) TO neondb_owner"), r.err());
        TestPg.exec(db, "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text, boolean) TO PUBLIC");
        TestPg.Run ok = TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--once", "--heartbeat", "--json");
        assertEquals(0, ok.exit(), ok.all());
        JsonObject tick = jsonLines(ok.out()).get(0);
        assertTrue(tick.getAsJsonObject("upstream").get("heartbeat_lsn").getAsString().matches("[0-9A-F]+/[0-9A-F]+"), tick.toString());
    }

    /**
     * The heartbeat's effect, measured: a consumer that, like Debezium, acknowledges only the positions of the
     * messages it receives (pgoutput with messages 'true'; pgjdbc's automatic flush on keepalives turned off)
     * reads a slot of an idle database while another database writes WAL. Over the same time, the WAL the slot's
     * consumer has not confirmed (pg_current_wal_lsn() - confirmed_flush_lsn) grows with all that WAL under a
     * watch without --heartbeat, and stays small under watch --heartbeat. A second consumer with pgjdbc's default
     * (automatic flush on keepalives) needs no heartbeat at all. -Dheartbeat.seconds=N measures longer
     * (docs/heartbeat.md has both, with restart_lsn's figure, which PostgreSQL moves only every ~15 s).
     */
    @Test
    void heartbeatLetsAnIdleSlotAdvance() throws Exception {
        String role = unique("wr");
        String idle = database(TestPg.server(), role);
        String busy = TestPg.newDatabase();
        TestPg.exec(busy, "CREATE TABLE filler (id bigserial, t text)");
        long seconds = Long.getLong("heartbeat.seconds", 3);
        try (Consumer consumer = new Consumer(idle, false); Consumer pgjdbcDefault = new Consumer(idle, true)) {
            long[] autoStart = pgjdbcDefault.slot();
            Phase without = phase(idle, busy, consumer, seconds, false, role);
            long[] auto = pgjdbcDefault.slot();
            Phase with = phase(idle, busy, consumer, seconds, true, role);
            System.out.printf("heartbeat: %d s per phase, WAL written elsewhere at ~%.1f MB/s%n"
                            + "  without --heartbeat: unconfirmed %s -> %s (grew %s of %s written), retained %s -> %s, "
                            + "%d messages received%n"
                            + "  with --heartbeat:    unconfirmed %s -> %s (second half: max %s), retained %s -> %s "
                            + "(second half: max %s), %d messages received%n", seconds, with.written / 1048576.0 / seconds,
                    mb(without.unconfirmedStart), mb(without.unconfirmedEnd), mb(without.unconfirmedEnd - without.unconfirmedStart),
                    mb(without.written), mb(without.retainedStart), mb(without.retainedEnd), without.messages,
                    mb(with.unconfirmedStart), mb(with.unconfirmedEnd), mb(with.unconfirmedMax), mb(with.retainedStart),
                    mb(with.retainedEnd), mb(with.retainedMax), with.messages);
            System.out.printf("  pgjdbc's automatic flush on, no heartbeat: unconfirmed %s after %s written%n", mb(auto[1]),
                    mb(auto[0] - autoStart[0]));
            assertTrue(without.written > 2_000_000 && with.written > 2_000_000, "enough WAL was written elsewhere");
            assertEquals(0, without.messages, "nothing to receive without a heartbeat: the database is idle");
            assertTrue(without.unconfirmedEnd - without.unconfirmedStart > 0.8 * without.written,
                    "without --heartbeat the unconfirmed WAL grows with the WAL written elsewhere");
            assertTrue(with.messages >= 3, "the heartbeats arrive as logical messages: " + with.messages);
            // margins for a busy 2-core machine: a heartbeat every 200 ms keeps about 0.1 s of WAL unconfirmed
            assertTrue(with.unconfirmedEnd < 0.5 * with.written && with.unconfirmedEnd < without.unconfirmedEnd / 3,
                    "with --heartbeat it stays bounded (about the WAL of one interval)");
            assertTrue(auto[1] < 0.5 * without.written, "a consumer that acknowledges keepalives (pgjdbc's default) "
                    + "needs no heartbeat: " + mb(auto[1]));
        }
    }

    static String mb(long bytes) {
        return String.format("%.1f MB", bytes / 1048576.0);
    }

    /** One phase's figures (bytes); the maxima are those of the phase's second half (after the first release). */
    record Phase(long written, long unconfirmedStart, long unconfirmedEnd, long unconfirmedMax, long retainedStart,
                 long retainedEnd, long retainedMax, long messages) {}

    /** One phase: WAL written in {@code busy} every 100 ms for {@code seconds} under a watch of {@code idle}. */
    static Phase phase(String idle, String busy, Consumer consumer, long seconds, boolean heartbeat, String role)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("--role", role, "--interval", "200ms"));
        if (heartbeat) {
            args.add("--heartbeat");
        }
        long[] start = consumer.slot();
        long messages = consumer.messages.get();
        Running w = new Running(TestPg.env(idle), args.toArray(String[]::new)).await("watch: baseline:");
        long[] max = {0, 0};
        long half = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds) / 2;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try (Connection c = TestPg.superConn(busy); Statement s = c.createStatement()) {
            while (System.nanoTime() < until) {
                s.execute("INSERT INTO filler (t) SELECT repeat('x', 200) FROM generate_series(1, 1000)");
                long[] now = consumer.slot();
                if (System.nanoTime() > half) {
                    max[0] = Math.max(max[0], now[1]);
                    max[1] = Math.max(max[1], now[2]);
                }
                Thread.sleep(100);
            }
        }
        assertEquals(0, w.stop(), w.all());
        long[] end = consumer.slot();
        return new Phase(end[0] - start[0], start[1], end[1], Math.max(max[0], end[1]), start[2], end[2],
                Math.max(max[1], end[2]), consumer.messages.get() - messages);
    }

    /**
     * A consumer of a temporary pgoutput slot with messages 'true' that acknowledges (flush and apply) only the
     * LSN of each message it receives, as Debezium does. With {@code automaticFlush} false, pgjdbc's automatic
     * flush, which acknowledges a keepalive's position once everything received was acknowledged, is off.
     */
    static final class Consumer implements AutoCloseable {
        final String slot = unique("whb");
        final String db;
        final Connection rc;
        final Connection sql;
        final AtomicInteger messages = new AtomicInteger();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread;

        Consumer(String db, boolean automaticFlush) throws SQLException {
            this.db = db;
            ConnInfo ci = TestPg.server().ownerConn();
            ci.dbname = db;
            rc = neonmz.Pg.replication(ci);
            sql = TestPg.superConn(db);
            PGConnection pg = rc.unwrap(PGConnection.class);
            pg.getReplicationAPI().createReplicationSlot().logical().withSlotName(slot).withOutputPlugin("pgoutput")
                    .withTemporaryOption().make();
            PGReplicationStream stream = pg.getReplicationAPI().replicationStream().logical().withSlotName(slot)
                    .withSlotOption("proto_version", "1").withSlotOption("publication_names", "mz_source")
                    .withSlotOption("messages", "true").withStatusInterval(100, TimeUnit.MILLISECONDS)
                    .withAutomaticFlush(automaticFlush).start();
            thread = new Thread(() -> read(stream), "consumer");
            thread.start();
        }

        private void read(PGReplicationStream stream) {
            try {
                while (running.get()) {
                    ByteBuffer b = stream.readPending();
                    if (b == null) {
                        Thread.sleep(10);
                        continue;
                    }
                    messages.incrementAndGet();
                    stream.setFlushedLSN(stream.getLastReceiveLSN());
                    stream.setAppliedLSN(stream.getLastReceiveLSN());
                }
            } catch (SQLException | InterruptedException e) {
                if (running.get()) {
                    throw new IllegalStateException(e);
                }
            }
        }

        /** Now: the WAL position, the unconfirmed and the retained WAL of the slot (bytes). */
        long[] slot() throws SQLException {
            try (Statement s = sql.createStatement(); var rs = s.executeQuery("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, "
                    + "(pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, (pg_current_wal_lsn() - restart_lsn)::bigint "
                    + "FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) {
                assertTrue(rs.next(), "slot " + slot);
                return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
            }
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            thread.join(5000);
            rc.close();
            sql.close();
        }
    }

    // ---- options and the rest ----------------------------------------------------------------------------

    @Test
    void neonHostsGetTheScaleToZeroHint() {
        Map<String, String> env = Map.of("NO_COLOR", "1");
        String neon = "postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb";
        TestPg.Run shortInterval = TestPg.run(new Watch(), env, "--dry-run", "--pg-url", neon, "--interval", "1m");
        assertEquals(0, shortInterval.exit(), shortInterval.all());
        assertTrue(shortInterval.err().contains("warning: each tick connects, which wakes a suspended Neon compute and "
                + "restarts its suspend timer (5m by default): with --interval 1m it never scales to zero; if that matters, "
                + "use --interval 10m or longer"), shortInterval.err());
        assertEquals("", TestPg.run(new Watch(), env, "--dry-run", "--pg-url", neon, "--interval", "10m").err());
        assertEquals("", TestPg.run(new Watch(), env, "--dry-run", "--pg-url", neon, "--once").err());
        assertEquals("", TestPg.run(new Watch(), env, "--dry-run", "--pg-url", "postgresql://u@db.example.com/x").err());
        // on a server that says it is Neon (neon.endpoint_id), also when the host does not
        TestPg.Run looksLikeNeon = TestPg.run(new Watch(), TestPg.env(ExtraServers.neon(), "neondb"), "--ticks", "2",
                "--interval", "100ms");
        assertEquals(0, looksLikeNeon.exit(), looksLikeNeon.all());
        assertEquals(1, looksLikeNeon.err().split("wakes a suspended Neon compute", -1).length - 1, looksLikeNeon.err());
    }

    @Test
    void jsonIsOneObjectPerTickThenTheSummary() {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        TestPg.exec(db, "ALTER TABLE page_views REPLICA IDENTITY NOTHING");
        TestPg.Run r = TestPg.run(new Watch(), TestPg.env(db), "--role", role, "--ticks", "3", "--interval", "100ms", "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals("", r.err());
        List<JsonObject> lines = jsonLines(r.out());
        assertEquals(4, lines.size(), r.out());
        for (int i = 0; i < 3; i++) {
            assertEquals(i + 1, lines.get(i).get("tick").getAsInt());
            assertEquals(1, lines.get(i).getAsJsonArray("problems").size());
            assertEquals(i == 0 ? 1 : 0, lines.get(i).getAsJsonArray("new").size(), "new only on the first tick");
        }
        JsonObject p = lines.get(0).getAsJsonArray("new").get(0).getAsJsonObject();
        assertEquals("replica_identity", p.get("kind").getAsString());
        assertEquals("drift", p.get("category").getAsString());
        assertEquals("public.page_views", p.get("subject").getAsString());
        assertEquals("./jbang replica-identity --table public.page_views", p.get("fix").getAsString());
        JsonObject end = lines.get(3);
        assertEquals("watch", end.get("command").getAsString());
        assertEquals(3, end.get("ticks").getAsInt());
        assertEquals(1, end.getAsJsonObject("appeared").get("replica_identity").getAsInt());
    }

    @Test
    void badOptionsAreUsageErrors() {
        Map<String, String> env = TestPg.env("unused");
        for (String[] args : List.of(new String[] {"--interval", "0s"}, new String[] {"--ticks", "0"},
                new String[] {"--once", "--ticks", "3"}, new String[] {"--max-retained", "lots"},
                new String[] {"--metrics-port", "70000"}, new String[] {"--role", ""})) {
            TestPg.Run r = TestPg.run(new Watch(), env, args);
            assertEquals(Exit.USAGE, r.exit(), String.join(" ", args) + ": " + r.all());
        }
        assertEquals(1536L * 1024 * 1024, new WatchChecks.Size().convert("1.5GB"));
        assertEquals(64L * 1024, new WatchChecks.Size().convert("64kB"));
        assertEquals(100L, new WatchChecks.Size().convert("100"));
    }

    @Test
    void aMetricsPortInUseIsAUsageError() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            String db = TestPg.newDatabase();
            TestPg.Run r = TestPg.run(new Watch(), TestPg.env(db), "--once", "--metrics-port",
                    String.valueOf(taken.getLocalPort()));
            assertEquals(Exit.USAGE, r.exit(), r.all());
            assertTrue(r.err().contains("cannot serve metrics on 127.0.0.1:" + taken.getLocalPort()), r.err());
        }
    }

    // ---- 6. Neon events through the API (issue #20): a restore that removed the slot; the maintenance window ---------

    static Map<String, String> withApi(Map<String, String> env, FakeNeonApi api) {
        Map<String, String> e = new HashMap<>(env);
        e.putAll(api.env());
        return e;
    }

    @Test
    void aRestoreOfTheWatchedBranchThatRemovedTheSlotNamesRebuild() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        String slot = "materialize_" + unique("s");
        TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try (FakeNeonApi api = new FakeNeonApi()) {
            String main = api.defaultBranch(FakeNeonApi.PROJECT_ID);
            // history before the watch: an operation on the branch, and a reset of the other branch (not watched)
            api.addOperation(FakeNeonApi.PROJECT_ID, main, "start_compute", java.time.Instant.now().minusSeconds(3600));
            api.restoreBranch(FakeNeonApi.PROJECT_ID, "br-dev-" + FakeNeonApi.PROJECT_ID.hashCode(),
                    java.time.Instant.now().minusSeconds(600));
            Running w = new Running(withApi(TestPg.env(db), api), "--role", role, "--interval", "200ms")
                    .await("watch: Neon project shop, branch main (" + main + "): maintenance window none set")
                    .await("watch: baseline: 1 problem");
            Thread.sleep(1100);   // the API's times are in whole seconds: the restore comes after the slot was seen
            List<String> ops = api.restoreBranch(FakeNeonApi.PROJECT_ID, main, java.time.Instant.now());
            TestPg.exec(db, "SELECT pg_drop_replication_slot('" + slot + "')");   // what the restore does on Neon
            w.await(newLine("neon_restore", "branch main") + "reset or restored at \\S+Z \\(operations suspend_compute "
                    + ops.get(0) + ", create_timeline " + ops.get(1) + ", start_compute " + ops.get(2) + "\\); slot " + slot
                    + " is gone, removed by it: a restore deletes the branch's replication slots$")
                    .await("fix: ./jbang rebuild --mz-url \"$MZ_URL\" (a new slot and source: the old slot is gone)\n");
            // what rebuild leaves: a new slot for the new source; the problem clears
            String renewed = "materialize_" + unique("s");
            TestPg.exec(db, "SELECT pg_create_logical_replication_slot('" + renewed + "', 'pgoutput')");
            w.await(cleared("neon_restore", "branch main"));
            Thread.sleep(500);
            assertEquals(0, w.stop(), w.all());
            assertEquals(1, w.count("new      neon_restore"), w.all());
            assertFalse(w.all().contains("branch dev"), "the other branch's reset is not this watch's:\n" + w.all());
            TestPg.exec(db, "SELECT pg_drop_replication_slot('" + renewed + "')");
            // each tick lists the operations once; the branch is read again only when one on it was new
            long ticks = Long.parseLong(w.out.toString().replaceAll("(?s).*watch: (\\d+) ticks.*", "$1"));
            assertEquals(ticks, api.count("GET", "/projects/" + FakeNeonApi.PROJECT_ID + "/operations"), w.all());
            assertTrue(api.count("GET", "/projects/" + FakeNeonApi.PROJECT_ID + "/branches") <= 3, "first tick, the restore");
            api.closeAndCheckSpec();
        }
    }

    @Test
    void aRestoreBeforeTheWatchWithNoMaterializeSlotLeftIsSaidAtTheFirstTick() throws Exception {
        String role = unique("wr");
        String db = database(TestPg.server(), role);
        try (FakeNeonApi api = new FakeNeonApi()) {
            String main = api.defaultBranch(FakeNeonApi.PROJECT_ID);
            api.restoreBranch(FakeNeonApi.PROJECT_ID, main, java.time.Instant.now().minusSeconds(7200));
            TestPg.Run r = TestPg.run(new Watch(), withApi(TestPg.env(db), api), "--role", role, "--once", "--json");
            assertEquals(0, r.exit(), r.all());
            JsonObject tick = jsonLines(r.out()).get(0);
            JsonObject p = tick.getAsJsonArray("problems").get(0).getAsJsonObject();
            assertEquals("neon_restore", p.get("kind").getAsString(), r.out());
            assertEquals("slot", p.get("category").getAsString());
            assertTrue(p.get("detail").getAsString().contains("no materialize_% slot is left"), p.toString());
            assertTrue(p.get("fix").getAsString().startsWith("./jbang rebuild --mz-url \"$MZ_URL\""), p.toString());
            // --fail-on slot stops on it (exit 17)
            assertEquals(Exit.DRIFT, TestPg.run(new Watch(), withApi(TestPg.env(db), api), "--role", role, "--once",
                    "--fail-on", "slot").exit());
            api.closeAndCheckSpec();
        }
    }

    /** The fake's window: every weekday, from {@code from} to {@code to} from now (UTC, whole minutes). */
    static void window(FakeNeonApi api, Duration from, Duration to) {
        java.time.ZonedDateTime now = java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC);
        java.time.format.DateTimeFormatter hm = java.time.format.DateTimeFormatter.ofPattern("HH:mm");
        api.maintenanceWindow(FakeNeonApi.PROJECT_ID, List.of(1, 2, 3, 4, 5, 6, 7), now.plus(from).format(hm),
                now.plus(to).format(hm));
    }

    @Test
    void aLostConnectionInsideNeonsMaintenanceWindowIsExpectedAndOutsideItAsBefore() throws Exception {
        Lab.Server s = own();
        String role = unique("wr");
        String db = database(s, role);
        for (boolean inside : List.of(true, false)) {
            try (FakeNeonApi api = new FakeNeonApi()) {
                if (inside) {
                    window(api, Duration.ofHours(-2), Duration.ofHours(2));
                } else {
                    window(api, Duration.ofHours(3), Duration.ofHours(4));
                }
                Running h = new Running(withApi(TestPg.env(s, db), api), "--role", role, "--interval", "200ms")
                        .await("watch: baseline: no problems");
                s.stop();
                String days = "Mon,Tue,Wed,Thu,Fri,Sat,Sun \\d\\d:\\d\\d-\\d\\d:\\d\\d UTC";
                h.await("~  lost     upstream           .*" + (inside ? "; inside Neon's maintenance window \\(" + days
                        + "\\): expected, not a fault" : "") + "; retrying every 200ms, the baseline is kept$");
                s.start(s.port(), OWN, null);
                h.await("~  back     upstream           reconnected after \\d+ failed ticks?"
                        + (inside ? " \\(inside Neon's maintenance window\\)" : "") + "; the baseline is kept$");
                assertEquals(0, h.stop(), h.all());
                assertEquals(inside, h.all().contains("inside Neon's maintenance window"), h.all());
                assertTrue(h.out.toString().matches("(?s).*watch: \\d+ ticks: no problems; 0 appeared, 0 cleared; \\d+ "
                        + "failed ticks?" + (inside ? " \\(\\d+ inside Neon's maintenance window\\)" : "") + ", 1 reconnect\n"),
                        h.all());
                api.closeAndCheckSpec();
            }
        }
    }

    @Test
    void aNeonOptionWithoutAProjectIsAUsageError() {
        TestPg.Run r = TestPg.run(new Watch(), TestPg.env("unused"), "--api-host", "http://127.0.0.1:1/api/v2", "--once");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("--api-host needs a Neon project"), r.err());
    }
}
