import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Neon's removal of slots, forecast (SnapForecast: doctor's check, watch's drift and metric) on a server of its own
 * (pg_logical/snapshots is the server's): real logical decoding under loadgen's traffic writes real .snap files, a
 * small limit set through --neon-max-snap-files or Neon's own GUC (a placeholder on vanilla PostgreSQL), and the
 * forecast checked against the directory as PostgreSQL lists it: the files beyond each slot's restart_lsn, which
 * slot Neon's rule drops, and the order.
 */
class SnapForecastTest {
    static Lab.Server server;
    static String db;
    static final String OLD = "fc_old";
    static final String MID = "fc_mid";
    static final String DECODER = "neonmz_tap_fc";

    @BeforeAll
    static void setUp() throws Exception {
        server = TestPg.startServer(Map.of());
        db = "fc";
        TestPg.exec(server, "postgres", "CREATE DATABASE " + db + " TEMPLATE neondb OWNER neondb_owner",
                "GRANT pg_monitor TO neondb_owner");
        TestPg.exec(server, db, "SELECT pg_create_logical_replication_slot('" + OLD + "', 'test_decoding')",
                "SELECT pg_create_logical_replication_slot('" + DECODER + "', 'test_decoding')");
        decode(3);
        TestPg.exec(server, db, "SELECT pg_create_logical_replication_slot('" + MID + "', 'test_decoding')");
        decode(3);
    }

    @AfterAll
    static void tearDown() throws Exception {
        server.stop();
    }

    /** loadgen's traffic, a running-xacts record, then the decoder's slot consumes it: each round writes a .snap file. */
    static void decode(int rounds) throws InterruptedException {
        for (int i = 0; i < rounds; i++) {
            TestPg.Run r = TestPg.run(new LoadGen(), TestPg.env(server, db), "--count", "20", "--rate", "0", "--seed",
                    String.valueOf(i + 1));
            assertEquals(0, r.exit(), r.all());
            TestPg.exec(server, db, "SELECT pg_log_standby_snapshot()", "SELECT count(*) FROM pg_logical_slot_get_changes('"
                    + DECODER + "', NULL, NULL)", "CHECKPOINT");
            Thread.sleep(600);   // the files' modification times are in seconds: a span gives the growth
        }
    }

    /** The directory as PostgreSQL lists it, each slot's files beyond its restart_lsn, counted in SQL. */
    static Map<String, Long> beyondBySql() {
        Map<String, Long> m = new HashMap<>();
        for (Map<String, Object> r : TestPg.rows(server, db, """
                SELECT s.slot_name, (SELECT count(*) FROM pg_ls_logicalsnapdir() f
                  WHERE (split_part(f.name, '-', 1) || '/' || split_part(split_part(f.name, '-', 2), '.', 1))::pg_lsn
                        > s.restart_lsn) AS beyond
                FROM pg_replication_slots s WHERE s.slot_type = 'logical'""")) {
            m.put((String) r.get("slot_name"), ((Number) r.get("beyond")).longValue());
        }
        return m;
    }

    static long files() {
        return ((Number) TestPg.rows(server, db, "SELECT count(*) AS n FROM pg_ls_logicalsnapdir()").get(0).get("n")).longValue();
    }

    static Map<String, JsonObject> bySlot(JsonObject forecast) {
        Map<String, JsonObject> m = new HashMap<>();
        for (JsonElement e : forecast.getAsJsonArray("slots")) {
            m.put(e.getAsJsonObject().get("slot_name").getAsString(), e.getAsJsonObject());
        }
        return m;
    }

    @Test
    void doctorForecastsTheFilesBeyondEachSlotAndTheOrderNeonDropsThem() {
        Map<String, Long> beyond = beyondBySql();
        long old = beyond.get(OLD);
        long mid = beyond.get(MID);
        assertTrue(old > mid && mid > beyond.get(DECODER), "real .snap files beyond the slots: " + beyond);
        long limit = mid + 1;   // fc_old is past it, fc_mid one file short
        TestPg.Run r = TestPg.run(new Doctor(), TestPg.env(server, db), "--neon-max-snap-files", String.valueOf(limit), "--json");
        JsonObject j = r.json();
        JsonObject f = j.getAsJsonObject("neon_snap_forecast");
        assertEquals(files(), f.get("files").getAsLong(), f.toString());
        assertEquals(limit, f.get("limit").getAsLong());
        assertFalse(f.get("neon_monitor_running").getAsBoolean(), "vanilla PostgreSQL has no Neon monitor");
        Map<String, JsonObject> s = bySlot(f);
        assertEquals(old, s.get(OLD).get("files_beyond").getAsLong());
        assertEquals(mid, s.get(MID).get("files_beyond").getAsLong());
        assertEquals(beyond.get(DECODER), s.get(DECODER).get("files_beyond").getAsLong());
        assertTrue(s.get(OLD).get("dropped_at_next_check").getAsBoolean(), f.toString());
        assertFalse(s.get(MID).get("dropped_at_next_check").getAsBoolean(), f.toString());
        assertEquals(List.of(1, 2, 3), List.of(s.get(OLD).get("order").getAsInt(), s.get(MID).get("order").getAsInt(),
                s.get(DECODER).get("order").getAsInt()), "the oldest restart_lsn goes first");
        // growth from the files' modification times; fc_mid's ETA is its one missing file at that rate
        double perHour = f.get("files_per_hour").getAsDouble();
        assertTrue(perHour > 0, f.toString());
        assertEquals(3600 / perHour, s.get(MID).get("eta_seconds").getAsDouble(), 1e-6);
        assertEquals(0, s.get(OLD).get("eta_seconds").getAsDouble());
        // Neon's cutoff is the limit-th newest file's LSN: fc_old is older, fc_mid is not
        String cutoff = f.get("cutoff_lsn").getAsString();
        Map<String, Object> cmp = TestPg.rows(server, db, "SELECT (SELECT restart_lsn < '" + cutoff + "' FROM "
                + "pg_replication_slots WHERE slot_name = '" + OLD + "') AS old_before, (SELECT restart_lsn < '" + cutoff
                + "' FROM pg_replication_slots WHERE slot_name = '" + MID + "') AS mid_before").get(0);
        assertEquals(Map.of("old_before", true, "mid_before", false), cmp);
        assertTrue(f.getAsJsonArray("hasteners").toString().contains(DECODER + " (ours: ./jbang tap")
                || !s.get(DECODER).get("active").getAsBoolean(), f.toString());
        JsonObject check = check(j, "neon_snapshot_files");
        assertEquals("WARN", check.get("status").getAsString(), "off Neon nothing drops it: " + check);
        String detail = check.get("detail").getAsString();
        assertTrue(detail.contains("no Neon monitor here: forecast as Neon would"), detail);
        assertTrue(detail.indexOf(OLD + ": " + old + " of " + limit) < detail.indexOf(MID + ": " + mid + " of " + limit)
                && detail.contains("dropped at Neon's next check"), detail);
    }

    @Test
    void neonsOwnSettingIsReadLiveAndALargeLimitDropsNothing() {
        String gucDb = "fc_guc";
        TestPg.exec(server, "postgres", "CREATE DATABASE " + gucDb + " TEMPLATE neondb OWNER neondb_owner");
        TestPg.exec(server, "postgres", "ALTER DATABASE " + gucDb + " SET " + SnapForecast.MAX_FILES_GUC + " = 1");
        JsonObject f = TestPg.run(new Doctor(), TestPg.env(server, gucDb), "--json").json().getAsJsonObject("neon_snap_forecast");
        assertEquals(1, f.get("limit").getAsInt());
        assertTrue(f.get("limit_from").getAsString().contains("(live)"), f.toString());
        Map<String, JsonObject> s = bySlot(f);
        // a limit of 1: every slot with a file beyond its restart_lsn goes
        beyondBySql().forEach((slot, n) -> assertEquals(n >= 1, s.get(slot).get("dropped_at_next_check").getAsBoolean(), slot));
        JsonObject big = TestPg.run(new Doctor(), TestPg.env(server, gucDb), "--neon-max-snap-files", "1000000000", "--json")
                .json();
        assertTrue(bySlot(big.getAsJsonObject("neon_snap_forecast")).values().stream()
                .noneMatch(x -> x.get("dropped_at_next_check").getAsBoolean()));
        assertEquals("PASS", check(big, "neon_snapshot_files").get("status").getAsString());
        assertTrue(big.getAsJsonObject("neon_snap_forecast").get("limit_from").getAsString()
                .contains("the server's is 1"), big.toString());
    }

    @Test
    void aRoleWithoutPgMonitorIsToldPlainly() {
        TestPg.exec(server, "postgres", "CREATE ROLE fc_plain LOGIN PASSWORD 'fc_plain_pw'");
        Map<String, String> env = new HashMap<>(TestPg.env(server, db));
        env.put("DATABASE_URL", "postgresql://fc_plain@127.0.0.1:" + server.port() + "/" + db + "?sslmode=disable");
        env.put("PGPASSWORD", "fc_plain_pw");
        JsonObject j = TestPg.run(new Doctor(), env, "--json").json();
        JsonObject c = check(j, "neon_snapshot_files");
        assertEquals("PASS", c.get("status").getAsString(), "off Neon nothing drops the slots: " + c);
        assertTrue(c.get("detail").getAsString().startsWith("cannot list pg_logical/snapshots: role fc_plain lacks pg_monitor"),
                c.toString());
        assertTrue(c.get("sql").toString().contains("GRANT pg_monitor TO fc_plain"), c.toString());
    }

    @Test
    void watchGrowsTheCountAcrossTicksAndRaisesTheDrift() throws Exception {
        long limit = beyondBySql().get(MID) + 1;
        int port = TestPg.freePort();
        WatchTest.Running w = new WatchTest.Running(TestPg.env(server, db), "--interval", "4s", "--json",
                "--neon-max-snap-files", String.valueOf(limit), "--metrics-port", String.valueOf(port)).await("\"tick\":1");
        decode(2);   // between the ticks: two more files beyond every slot that does not move
        w.await("\"tick\":2");
        Map<String, String> m = WatchTest.scrape(java.net.http.HttpClient.newHttpClient(), port, new ArrayList<>());
        assertEquals(0, w.stop(), w.all());
        List<JsonObject> lines = WatchTest.jsonLines(w.out.toString());
        JsonObject first = lines.get(0).getAsJsonObject("upstream").getAsJsonObject("snap_forecast");
        JsonObject second = lines.get(1).getAsJsonObject("upstream").getAsJsonObject("snap_forecast");
        long now = bySlot(second).get(OLD).get("files_beyond").getAsLong();
        long grew = now - bySlot(first).get(OLD).get("files_beyond").getAsLong();
        assertTrue(grew >= 2, first + "\n" + second);
        assertTrue(bySlot(second).get(OLD).get("growth_per_hour").getAsDouble() > 0, second.toString());
        List<String> kinds = new ArrayList<>();
        lines.get(0).getAsJsonArray("new").forEach(e -> kinds.add(e.getAsJsonObject().get("kind").getAsString() + " "
                + e.getAsJsonObject().get("subject").getAsString() + " " + (e.getAsJsonObject().has("state")
                ? e.getAsJsonObject().get("state").getAsString() : "")));
        assertTrue(kinds.contains("slot_snap_files " + OLD + " due"), kinds.toString());
        assertFalse(kinds.contains("slot_snap_files " + MID + " due"), kinds.toString());
        assertEquals(String.valueOf(now), m.get("neonmz_watch_slot_snap_files_beyond{slot=\"" + OLD + "\"}"), m.toString());
        assertEquals(String.valueOf(limit), m.get("neonmz_watch_snap_files_limit"), m.toString());
        assertEquals("0.000", m.get("neonmz_watch_slot_neon_drop_eta_seconds{slot=\"" + OLD + "\"}"), m.toString());
    }

    static JsonObject check(JsonObject doctor, String id) {
        for (JsonElement e : doctor.getAsJsonArray("checks")) {
            if (e.getAsJsonObject().get("id").getAsString().equals(id)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no check " + id + " in " + doctor);
    }
}
