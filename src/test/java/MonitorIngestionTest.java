import static org.junit.jupiter.api.Assertions.*;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;
import neonmz.Mz;

/**
 * Guide step C.4 (monitor) against the Materialize STAND-IN ({@link MzStandIn}: PostgreSQL tables shaped
 * like Materialize's catalog, filled per scenario). These tests check the script's one query runs and
 * that its reading, aggregation and exit codes are right for the rows given; they do not show that real
 * Materialize reports those rows (that is for the end-to-end tier).
 */
class MonitorIngestionTest {

    /** mz_source with two subsources on two replicas whose statistics differ. */
    static MzStandIn snapshotting() {
        return snapshotting(new MzStandIn(), "materialize_u10");
    }

    static MzStandIn snapshotting(MzStandIn mz, String slot) {
        return mz
                .source("u10", "mz_source", "u2", slot, "running", null)
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .subsource("u12", "orders", "u10", "public", "orders", "running", null)
                .stats("u10", "r1", null, null, false, null, null)
                .stats("u10", "r2", null, null, false, null, null)
                .stats("u11", "r1", 1000L, 400L, false, null, null)
                .stats("u11", "r2", 1000L, 250L, false, null, null)
                .stats("u12", "r1", 50L, 50L, true, 900L, 900L)
                .stats("u12", "r2", 50L, 50L, false, null, null)
                .hydration("u11", "r1", true).hydration("u11", "r2", false)
                .hydration("u12", "r1", true).hydration("u12", "r2", true);
    }

    static JsonObject object(JsonObject j, String name) {
        for (JsonElement e : j.getAsJsonArray("objects")) {
            if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no object " + name + " in " + j);
    }

    static List<JsonObject> lines(String out) {
        List<JsonObject> all = new ArrayList<>();
        for (String l : out.strip().split("\n")) {
            all.add(JsonParser.parseString(l).getAsJsonObject());
        }
        return all;
    }

    @Test
    void twoReplicasAreAggregatedPerObject() {
        MzStandIn mz = snapshotting();
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals("snapshotting", j.get("state").getAsString());
        JsonArray objects = j.getAsJsonArray("objects");
        assertEquals(3, objects.size(), "the source and its two subsources; its connection (u99) is no source: " + j);
        assertEquals("mz_source", objects.get(0).getAsJsonObject().get("name").getAsString(), "the source comes first");

        JsonObject customers = object(j, "customers");
        assertEquals(2, customers.get("replicas").getAsInt());
        assertEquals(new BigDecimal("1000"), customers.get("snapshot_records_known").getAsBigDecimal());
        assertEquals(new BigDecimal("400"), customers.get("snapshot_records_staged").getAsBigDecimal(), "max over replicas");
        assertEquals(new BigDecimal("40.00"), customers.get("snapshot_percent").getAsBigDecimal(), "the docs' round(…, 2)");
        assertFalse(customers.get("hydrated").getAsBoolean(), "hydrated on r1 only");

        JsonObject orders = object(j, "orders");
        assertFalse(orders.get("snapshot_committed").getAsBoolean(), "bool_and: committed on r1, not on r2");
        assertTrue(orders.get("hydrated").getAsBoolean());
        assertTrue(orders.get("offset_lag").isJsonNull(), "no lag while not committed (docs: WHERE snapshot_committed)");

        JsonObject snap = j.getAsJsonObject("snapshot");
        assertFalse(snap.get("committed").getAsBoolean());
        assertEquals(0, snap.get("objects_committed").getAsInt());
        assertEquals(new BigDecimal("450"), snap.get("records_staged").getAsBigDecimal());
        assertEquals(new BigDecimal("1050"), snap.get("records_known").getAsBigDecimal());
        assertEquals(new BigDecimal("42.86"), snap.get("percent").getAsBigDecimal());

        TestPg.Run human = TestPg.run(new MonitorIngestion(), mz.env(null));
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().contains("40.00% (400/1000)"), human.out());
        assertTrue(human.out().contains("monitor mz_source: snapshotting [############----------------] 0 of 3 objects "
                + "committed, 450 of 1050 records staged (42.86%)"), human.out());
    }

    @Test
    void runningWithLagHydrationAndTheUpstreamSlot() {
        String up = TestPg.newDatabase();
        String slot = "materialize_" + up;
        MzStandIn mz = new MzStandIn()
                .source("u10", "mz_source", "u2", slot, "running", null)
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .table("u13", "orders", "u10", "public", "orders", "running")
                .stats("u10", "r1", 0L, 0L, true, 5000L, 4800L)
                .stats("u10", "r2", 0L, 0L, true, 5100L, 4900L)
                .stats("u11", "r1", 3L, 3L, true, 5000L, 5000L)
                .stats("u13", "r1", 4L, 4L, true, 5000L, 5000L)
                .hydration("u10", "r1", true).hydration("u11", "r1", true).hydration("u13", "r1", true);
        TestPg.exec(up, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(up), "--json");
            assertEquals(0, r.exit(), r.all());
            JsonObject j = r.json();
            assertEquals("running", j.get("state").getAsString());
            assertEquals(3, j.getAsJsonArray("objects").size(), "a new-syntax table (mz_tables.source_id) is found too");
            JsonObject source = object(j, "mz_source");
            assertEquals(new BigDecimal("200"), source.get("offset_lag").getAsBigDecimal(),
                    "max(offset_known) - max(offset_committed) over the replicas: 5100 - 4900");
            assertTrue(source.get("hydrated").getAsBoolean());
            assertTrue(j.getAsJsonObject("snapshot").get("committed").getAsBoolean());
            JsonObject u = j.getAsJsonObject("upstream");
            assertEquals(slot, u.get("slot_name").getAsString());
            assertTrue(u.get("found").getAsBoolean(), u.toString());
            assertTrue(u.get("lag_bytes").getAsBigDecimal().signum() >= 0, u.toString());
            assertTrue(u.get("retained_bytes").getAsBigDecimal().signum() >= 0, u.toString());
            assertFalse(u.get("active").getAsBoolean());

            TestPg.Run human = TestPg.run(new MonitorIngestion(), mz.env(up));
            assertEquals(0, human.exit(), human.all());
            assertTrue(human.out().contains("monitor mz_source: snapshot committed (3 objects)"), human.out());
            assertTrue(human.out().contains("upstream slot " + slot + " (inactive, wal_status reserved)"), human.out());
            assertTrue(human.out().lines().anyMatch(l -> l.startsWith("mz_source") && l.contains("200 bytes")), human.out());
        } finally {
            TestPg.exec(up, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    @Test
    void aSlotMissingUpstreamIsAWarningNotAFailure() {
        String up = TestPg.newDatabase();
        MzStandIn mz = new MzStandIn().source("u10", "mz_source", "u2", "materialize_gone", "running", null)
                .stats("u10", "r1", 0L, 0L, true, 1L, 1L);
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(up));
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.err().contains("slot materialize_gone is not in pg_replication_slots upstream"), r.err());
    }

    @Test
    void stalledWithSlotOvercompactedExitsWithItsCodeAndFix() {
        MzStandIn mz = new MzStandIn()
                .source("u10", "mz_source", "u2", "materialize_u10", "stalled",
                        "postgres: slot overcompacted. Requested LSN 0/1A2B3C4 but only LSNs >= 0/2000000 are available")
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .stats("u10", "r1", 0L, 0L, true, 1L, 1L).stats("u11", "r1", 3L, 3L, true, 1L, 1L);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.CONFLICT, MonitorIngestion::new, mz.env(null));
        assertTrue(r.err().contains("error: mz_source is stalled: postgres: slot overcompacted"), r.err());
        assertTrue(r.err().contains("the source cannot go on: ./jbang rebuild --mz-url"), r.err());
        assertTrue(r.err().contains("max_slot_wal_keep_size"), r.err());
        JsonObject j = TestPg.run(new MonitorIngestion(), mz.env(null), "--json").json();
        assertEquals("error", j.get("state").getAsString());
        assertTrue(object(j, "mz_source").get("fix").getAsString().contains("./jbang rebuild --mz-url"));
    }

    @Test
    void aTruncatedTableExitsWithTheTruncateFix() {
        // "table was truncated": the text Materialize's test/pg-cdc/truncate-table.td expects
        MzStandIn mz = new MzStandIn()
                .source("u10", "mz_source", "u2", "materialize_u10", "running", null)
                .subsource("u11", "orders", "u10", "public", "orders", "stalled", "table was truncated")
                .stats("u10", "r1", 0L, 0L, true, 1L, 1L).stats("u11", "r1", 3L, 3L, true, 1L, 1L);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.CONFLICT, MonitorIngestion::new, mz.env(null));
        assertTrue(r.err().contains("error: orders is stalled: table was truncated"), r.err());
        assertTrue(r.err().contains("DELETE FROM"), r.err());
    }

    @Test
    void anUnknownErrorExitsStalled() {
        MzStandIn mz = new MzStandIn().source("u10", "mz_source", "u2", "s", "failed", "something nobody has seen before")
                .stats("u10", "r1", 0L, 0L, false, null, null);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.STALLED, MonitorIngestion::new, mz.env(null));
        assertTrue(r.err().contains("mz_source is failed: something nobody has seen before"), r.err());
    }

    @Test
    void aMissingSourceIsNotFound() {
        MzStandIn mz = new MzStandIn();
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, MonitorIngestion::new, mz.env(null), "--source", "nope");
        assertTrue(r.err().contains("source nope not found"), r.err());
    }

    @Test
    void untilSnapshottedTimesOutWhileStagedRecordsStandStill() {
        MzStandIn mz = snapshotting();
        long t0 = System.nanoTime();
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--until-snapshotted", "--timeout", "2s",
                "--interval", "300ms", "--json");
        double secs = (System.nanoTime() - t0) / 1e9;
        assertEquals(Exit.TIMEOUT, r.exit(), r.all());
        assertTrue(secs >= 1.9 && secs < 15, "took " + secs + "s");
        List<JsonObject> lines = lines(r.out());
        assertTrue(lines.size() >= 4, "one line per tick, then the result: " + r.out());
        for (int i = 0; i < lines.size() - 1; i++) {
            assertEquals(i + 1, lines.get(i).get("tick").getAsInt());
            assertEquals("snapshotting", lines.get(i).get("state").getAsString());
        }
        JsonObject end = lines.get(lines.size() - 1);
        assertEquals(Exit.TIMEOUT, end.get("exit").getAsInt());
        assertEquals(lines.size() - 1, end.get("ticks").getAsInt());
        assertTrue(end.getAsJsonObject("error").get("message").getAsString().contains("snapshot not committed after 2s"), end.toString());
    }

    @Test
    void untilSnapshottedFailsWhenTheSnapshotStopsMoving() {
        MzStandIn mz = snapshotting();
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--until-snapshotted", "--stall-after", "1s",
                "--interval", "200ms", "--timeout", "30s");
        assertEquals(Exit.STALLED, r.exit(), r.all());
        assertTrue(r.err().contains("no snapshot progress for"), r.err());
        assertTrue(r.err().contains("pg_prepared_xacts"), r.err());
    }

    @Test
    void untilSnapshottedEndsWhenEveryObjectIsCommitted() throws Exception {
        MzStandIn mz = snapshotting();
        Thread writer = new Thread(() -> {
            try {
                Thread.sleep(400);
                mz.exec("UPDATE mz_internal.mz_source_statistics_raw SET snapshot_records_staged = 700 WHERE id = 'u11'");
                Thread.sleep(1000);
                mz.exec("UPDATE mz_internal.mz_source_statistics_raw SET snapshot_records_staged = snapshot_records_known, "
                        + "snapshot_committed = true, offset_known = 10, offset_committed = 10");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        writer.start();
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--until-snapshotted", "--interval", "150ms",
                "--stall-after", "5s", "--timeout", "30s", "--json");
        writer.join();
        assertEquals(0, r.exit(), r.all());
        List<JsonObject> lines = lines(r.out());
        JsonObject lastTick = lines.get(lines.size() - 2);
        assertEquals("running", lastTick.get("state").getAsString());
        assertTrue(lines.stream().anyMatch(l -> l.has("snapshot") && !l.getAsJsonObject("snapshot").get("percent").isJsonNull()
                && l.getAsJsonObject("snapshot").get("percent").getAsBigDecimal().compareTo(new BigDecimal("71.43")) == 0),
                "saw the 700-record tick (750 of 1050): " + r.out());
    }

    @Test
    void aTransientSlotActiveErrorKeepsWaiting() {
        MzStandIn mz = snapshotting();
        mz.status("u10", "mz_source", "postgres", "stalled",
                "postgres: ERROR replication slot \"materialize_u10\" is active for PID 4242");
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--until-snapshotted", "--interval", "200ms",
                "--timeout", "1s");
        assertEquals(Exit.TIMEOUT, r.exit(), r.all());
        assertTrue(r.err().contains("transient: mz_source is stalled"), r.err());
        TestPg.Run once = TestPg.run(new MonitorIngestion(), mz.env(null));
        assertEquals(Exit.BUSY, once.exit(), once.all());
    }

    @Test
    void watchWithATimeoutEndsWithTheLastTicksVerdict() {
        MzStandIn mz = snapshotting();
        TestPg.Run r = TestPg.run(new MonitorIngestion(), mz.env(null), "--watch", "--interval", "200ms", "--timeout", "700ms");
        assertEquals(0, r.exit(), r.all());
        long summaries = r.out().lines().filter(l -> l.matches("\\[\\d\\d:\\d\\d:\\d\\d] monitor mz_source: snapshotting.*")).count();
        assertTrue(summaries >= 3, r.out());
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("object")).count(), "the table once: nothing but counters changed\n" + r.out());
    }

    @Test
    void badDurationsAreUsageErrors() {
        TestPg.Run r = TestPg.run(new MonitorIngestion(), Map.of(), "--timeout", "soon", "--dry-run");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("is not a duration"), r.err());
        TestPg.Run z = TestPg.run(new MonitorIngestion(), Map.of(), "--interval", "0s", "--dry-run");
        assertEquals(Exit.USAGE, z.exit(), z.all());
    }

    @Test
    void dryRunContactsNothingAndShowsBothQueries() {
        // no MZ_URL: the default (the emulator at 127.0.0.1:6875) is not running here, and must not be needed
        TestPg.Run r = TestPg.run(new MonitorIngestion(), Map.of("DATABASE_URL", "postgresql://u@127.0.0.1:1/none"),
                "--dry-run", "--until-snapshotted", "--timeout", "2h");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().startsWith("-- dry run: no Materialize was contacted"), r.out());
        assertTrue(r.out().contains("FROM mz_internal.mz_source_statuses"), r.out());
        assertTrue(r.out().contains("FROM pg_catalog.pg_replication_slots WHERE slot_name = '<replication_slot>'"), r.out());
        assertTrue(r.out().contains("until every object has snapshot_committed (timeout 2h)"), r.out());
    }

    /**
     * The one-query-per-tick property, observed where the statements arrive: a separate test server with
     * pg_stat_statements loaded holds both the stand-in and the upstream database; after a run of N ticks
     * each database has seen exactly N statements.
     */
    @Test
    void exactlyOneQueryPerTickOnEachSystem() {
        Lab.Server s = TestPg.startServer(Map.of("shared_preload_libraries", "pg_stat_statements"));
        try {
            TestPg.exec(s, "postgres", "CREATE EXTENSION pg_stat_statements");
            String up = "up" + ProcessHandle.current().pid();
            TestPg.exec(s, "postgres", "CREATE DATABASE " + up + " TEMPLATE neondb OWNER neondb_owner");
            String slot = "materialize_" + up;
            TestPg.exec(s, up, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
            MzStandIn mz = snapshotting(new MzStandIn(s), slot);
            Map<String, String> env = mz.env(up);   // (the stand-in writes the columns of what it ingests here)
            TestPg.exec(s, "postgres", "SELECT pg_stat_statements_reset()");
            TestPg.Run r = TestPg.run(new MonitorIngestion(), env, "--until-snapshotted", "--timeout", "1s",
                    "--interval", "150ms", "--json");
            assertEquals(Exit.TIMEOUT, r.exit(), r.all());
            int ticks = lines(r.out()).size() - 1;
            assertTrue(ticks >= 3, r.out());
            List<Map<String, Object>> seen = new ArrayList<>(TestPg.rows(s, "postgres", "SELECT d.datname, s.calls, s.query FROM "
                    + "pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname IN ('" + mz.db + "', '"
                    + up + "') ORDER BY 1, 3"));
            for (String db : List.of(mz.db, up)) {
                // pgjdbc sets application_name once per connection: one connection per system for the whole watch;
                // on Materialize, mz_version() is read once when connecting (Mz), not per tick
                long setup = seen.stream().filter(m -> m.get("datname").equals(db)
                        && ((String) m.get("query")).startsWith("SET application_name")).mapToLong(m -> (Long) m.get("calls")).sum();
                long version = seen.stream().filter(m -> m.get("datname").equals(db)
                        && m.get("query").equals(Mz.VERSION_SQL)).mapToLong(m -> (Long) m.get("calls")).sum();
                assertEquals(db.equals(mz.db) ? 1 : 0, version, db + ": " + seen);
                seen.removeIf(m -> m.get("query").equals(Mz.VERSION_SQL));
                long reads = seen.stream().filter(m -> m.get("datname").equals(db)
                        && !((String) m.get("query")).startsWith("SET application_name")).mapToLong(m -> (Long) m.get("calls")).sum();
                long distinct = seen.stream().filter(m -> m.get("datname").equals(db)
                        && !((String) m.get("query")).startsWith("SET application_name")).count();
                assertEquals(1, setup, db + ": " + seen);
                assertEquals(1, distinct, db + ": one query text: " + seen);
                assertEquals(ticks, reads, db + ": one query per tick over " + ticks + " ticks: " + seen);
            }
            TestPg.exec(s, up, "SELECT pg_drop_replication_slot('" + slot + "')");
        } finally {
            s.stopQuietly();
        }
    }

    /** The query constants themselves: one statement each, the docs' pieces in them. */
    @Test
    void theTickIsOneStatementWithTheDocsPieces() {
        String tick = MonitorIngestion.TICK;
        assertEquals(1, tick.strip().split(";").length, "no statement separator: one query");
        for (String piece : List.of("mz_internal.mz_source_statuses", "mz_internal.mz_object_dependencies",
                "mz_internal.mz_source_statistics", "mz_internal.mz_hydration_statuses", "mz_internal.mz_postgres_sources",
                "bool_and(snapshot_committed)", "round(100.0 * stats.snapshot_records_staged / NULLIF(stats.snapshot_records_known, 0), 2)",
                "offset_known::numeric - stats.offset_committed::numeric")) {
            assertTrue(tick.contains(piece), "TICK lacks " + piece);
        }
        assertEquals(1, MonitorIngestion.SLOT.strip().split(";").length);
        assertTrue(MonitorIngestion.SLOT.contains("pg_current_wal_lsn() - confirmed_flush_lsn"));
        assertTrue(MonitorIngestion.SLOT.contains("pg_current_wal_lsn() - restart_lsn"));
    }
}
