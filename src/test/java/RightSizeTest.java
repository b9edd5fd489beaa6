import static org.junit.jupiter.api.Assertions.*;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;
import neonmz.ReplicaSizes;

/**
 * Guide step C.5 (right-size) against the Materialize STAND-IN ({@link MzStandIn}): the recommendation
 * from given utilisation rows, the size checks, "already done", and the upstream slot lag. ALTER CLUSTER
 * itself cannot run on the stand-in (PostgreSQL has no such statement); its text is checked by GoldenTest.
 */
class RightSizeTest {

    /** ingest_postgres at 50cc with one replica r1, the cc sizes and two M.1 sizes, one source on it. */
    static MzStandIn cluster(boolean managed, double cpu, double heap, boolean committed) {
        return cluster(new MzStandIn(), managed, cpu, heap, committed);
    }

    static MzStandIn cluster(MzStandIn mz, boolean managed, double cpu, double heap, boolean committed) {
        mz.exec("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, managed, size, replication_factor, disk) "
                        + "VALUES ('u2', 'ingest_postgres', 'u1', " + managed + ", "
                        + (managed ? "'50cc'" : "NULL") + ", 1, false)",
                "INSERT INTO mz_catalog.mz_cluster_replicas (id, name, cluster_id, size, availability_zone, owner_id, disk) "
                        + "VALUES ('u5', 'r1', 'u2', '50cc', NULL, 'u1', false)",
                "INSERT INTO mz_catalog.mz_cluster_replica_sizes (size, processes, workers, credits_per_hour) VALUES "
                        + "('25cc', 1, 1, 0.25), ('50cc', 1, 1, 0.5), ('100cc', 1, 2, 1), ('200cc', 1, 4, 2), "
                        + "('M.1-nano', 1, 1, 0.75), ('M.1-micro', 1, 2, 1.5)",
                "INSERT INTO mz_internal.mz_cluster_replica_utilization (replica_id, process_id, cpu_percent, memory_percent, "
                        + "disk_percent, heap_percent) VALUES ('u5', 0, " + cpu + ", " + (heap - 5) + ", 1, "
                        + heap + ")");
        mz.source("u10", "mz_source", "u2", "materialize_u10", "running", null)
                .subsource("u11", "orders", "u10", "public", "orders", "running", null)
                .stats("u10", "u5", 0L, 0L, committed, 1L, 1L)
                .stats("u11", "u5", 10L, committed ? 10L : 4L, committed, 1L, 1L);
        return mz;
    }

    @Test
    void aSubsourceStillSnapshottingHoldsTheResizeBack() {
        // the source's own statistics say committed; its subsource (which depends on the source and runs on
        // its cluster) is at 4 of 10: the snapshot is not done, and the cluster holds one source
        MzStandIn mz = cluster(true, 5, 12, true);
        mz.subsource("u12", "customers", "u10", "public", "customers", "starting", null)
                .stats("u12", "u5", 10L, 4L, false, null, null);
        TestPg.Run r = run(mz, null, "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject srcs = r.json().getAsJsonObject("sources");
        assertEquals(1, srcs.get("sources").getAsLong(), "subsources and the progress subsource are not sources: " + srcs);
        assertEquals(3, srcs.get("objects").getAsLong(), "the source and its two subsources: " + srcs);
        assertFalse(srcs.get("snapshot_committed").getAsBoolean(), srcs.toString());
    }

    static TestPg.Run run(MzStandIn mz, String upstream, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--samples";
        all[1] = "1";
        System.arraycopy(args, 0, all, 2, args.length);
        return TestPg.run(new RightSize(), mz.env(upstream), all);
    }

    @Test
    void highHeapRecommendsTheNextSizeUpInItsFamily() {
        MzStandIn mz = cluster(true, 40, 91, true);
        TestPg.Run r = run(mz, null, "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject rec = r.json().getAsJsonObject("recommendation");
        assertEquals("up", rec.get("action").getAsString());
        assertEquals("100cc", rec.get("size").getAsString(), "not M.1-nano, which costs more than 50cc but is another family");
        assertTrue(rec.get("reasons").toString().contains("heap 91% or more on r1"), rec.toString());
        assertEquals("heap_percent", r.json().get("memory_metric").getAsString());

        TestPg.Run human = run(mz, null);
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().contains("r1       50cc  40%  91%"), human.out());
        assertTrue(human.out().contains("right-size ingest_postgres: recommend 100cc (now 50cc); to resize: "
                + "./jbang right-size --size 100cc --apply"), human.out());
    }

    @Test
    void highCpuRecommendsUpToo() {
        TestPg.Run r = run(cluster(true, 97, 30, true), null, "--json");
        assertEquals("up", r.json().getAsJsonObject("recommendation").get("action").getAsString());
        assertTrue(r.json().getAsJsonObject("recommendation").get("reasons").toString().contains("CPU 97%"));
    }

    @Test
    void lowUseWithTheSnapshotCommittedRecommendsDown() {
        TestPg.Run r = run(cluster(true, 5, 12, true), null, "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject rec = r.json().getAsJsonObject("recommendation");
        assertEquals("down", rec.get("action").getAsString());
        assertEquals("25cc", rec.get("size").getAsString());
        assertTrue(r.json().getAsJsonObject("sources").get("snapshot_committed").getAsBoolean());
    }

    @Test
    void lowUseWhileSnapshottingKeeps() {
        TestPg.Run r = run(cluster(true, 5, 12, false), null, "--json");
        JsonObject rec = r.json().getAsJsonObject("recommendation");
        assertEquals("keep", rec.get("action").getAsString());
        assertTrue(rec.get("reasons").toString().contains("a snapshot is still running"), rec.toString());
    }

    @Test
    void sustainedMeansEverySample() {
        Map<String, BigDecimal> credits = new LinkedHashMap<>();
        credits.put("50cc", new BigDecimal("0.5"));
        credits.put("100cc", BigDecimal.ONE);
        ClusterReadings.Use spike = new ClusterReadings.Use("r1", "50cc");
        spike.add(30.0, 95.0);
        spike.add(30.0, 60.0);
        assertEquals("keep", RightSize.recommend("50cc", credits, Map.of("r1", spike), false, 1, List.of(), 1 << 30,
                "heap_percent").action(), "one sample above 80% is a spike, not sustained");
        ClusterReadings.Use high = new ClusterReadings.Use("r1", "50cc");
        high.add(30.0, 95.0);
        high.add(30.0, 85.0);
        assertEquals("up", RightSize.recommend("50cc", credits, Map.of("r1", high), false, 1, List.of(), 1 << 30,
                "heap_percent").action());
        assertEquals("100cc", ReplicaSizes.next(credits, "50cc", +1));
        assertNull(ReplicaSizes.next(credits, "100cc", +1));
    }

    @Test
    void applyRefusesASizeThisMaterializeDoesNotOffer() {
        MzStandIn mz = cluster(true, 40, 91, true);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.USAGE, RightSize::new, mz.env(null), "--samples", "1", "--apply",
                "--size", "999cc");
        assertTrue(r.err().contains("size 999cc is not one this Materialize offers"), r.err());
        assertTrue(r.err().contains("choose one of: 25cc, 50cc, M.1-nano, 100cc, M.1-micro, 200cc"), r.err());
        assertEquals("50cc", TestPg.rows(mz.db, "SELECT size FROM mz_catalog.mz_clusters").get(0).get("size"));
    }

    @Test
    void applyWithTheCurrentSizeIsAlreadyDone() {
        MzStandIn mz = cluster(true, 40, 50, true);
        TestPg.Run r = run(mz, null, "--apply", "--size", "50cc");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("right-size ingest_postgres: already done (SIZE 50cc)"), r.out());
        TestPg.Run rec = run(mz, null, "--apply", "--json");
        assertEquals(0, rec.exit(), rec.all());
        assertTrue(rec.json().get("already_done").getAsBoolean(), "the recommendation is to keep 50cc");
        assertEquals(0, rec.json().getAsJsonArray("statements").size());
    }

    /** What Materialize does while right-size --wait polls: {@code r}, 0.7 s from now. */
    static Thread later(Runnable r) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(700);
            } catch (InterruptedException e) {
                return;
            }
            r.run();
        });
        t.start();
        return t;
    }

    static String size(MzStandIn mz) {
        return (String) TestPg.rows(mz.server, mz.db, "SELECT size FROM mz_catalog.mz_clusters WHERE name = 'ingest_postgres'")
                .get(0).get("size");
    }

    @Test
    void beforeV26_35TheClusterRestartsAtTheNewSizeAndTheSizeIsReadBackAtOnce() {
        MzStandIn mz = cluster(MzStandIn.ofVersion("v26.34.2"), true, 40, 91, true).wired();
        TestPg.Run r = run(mz, null, "--apply", "--size", "100cc", "--json");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.json().get("applied").getAsBoolean(), r.out());
        assertEquals("100cc", size(mz), "the stand-in's ALTER CLUSTER ran");
        assertTrue(r.json().getAsJsonArray("warnings").toString().contains("resizes by restarting the cluster"),
                "no claim of no downtime before v26.35: " + r.out());
        TestPg.Run again = run(mz, null, "--apply", "--size", "100cc");
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("already done (SIZE 100cc)"), again.out());
    }

    @Test
    void beforeV26_34ThereIsNoReconfigurationToRead() {
        // the stand-in of v26.33 lacks mz_cluster_reconfigurations (gate cluster_reconfigurations_relation)
        MzStandIn mz = cluster(MzStandIn.ofVersion("v26.33.1"), true, 40, 91, true).wired();
        assertTrue(TestPg.rows(mz.server, mz.db, "SELECT 1 FROM pg_tables WHERE tablename = 'mz_cluster_reconfigurations'")
                .isEmpty());
        TestPg.Run r = run(mz, null, "--apply", "--size", "100cc", "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals("100cc", size(mz));
        assertFalse(r.all().contains("mz_cluster_reconfigurations"), r.all());
    }

    @Test
    void fromV26_35TheResizeRunsInTheBackgroundAndWaitFollowsItToTheCutOver() throws Exception {
        MzStandIn mz = cluster(MzStandIn.ofVersion("v26.35.0"), true, 40, 91, true).wired();
        TestPg.Run r = run(mz, null, "--apply", "--size", "100cc", "--json");
        assertEquals(0, r.exit(), "mz_clusters.size keeps 50cc until the cut-over; that is no failure: " + r.all());
        assertTrue(r.json().get("in_progress").getAsBoolean(), r.out());
        assertEquals("50cc", size(mz));
        TestPg.Run human = run(mz, null, "--apply", "--size", "100cc");
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().contains("already under way: resizing 50cc -> 100cc in the background"), human.out());
        assertTrue(human.out().contains("SHOW CLUSTERS (activity)"), human.out());
        assertFalse(human.all().contains("ALTER CLUSTER ingest_postgres SET"), "not sent twice: " + human.all());

        TestPg.Run other = BadInputTest.failsCleanly(Exit.CONFLICT, RightSize::new, mz.env(null), "--samples", "1",
                "--apply", "--size", "200cc");
        assertTrue(other.err().contains("a resize of ingest_postgres to 100cc is under way"), other.err());

        Thread cut = later(() -> mz.cutOver("ingest_postgres", "finalized"));
        TestPg.Run waited = run(mz, null, "--apply", "--size", "100cc", "--wait", "30s");
        cut.join();
        assertEquals(0, waited.exit(), waited.all());
        assertTrue(waited.out().contains("resized 50cc -> 100cc (the new replicas hydrated; cut over)"), waited.out());
        assertEquals("100cc", size(mz));
        TestPg.Run done = run(mz, null, "--apply", "--size", "100cc");
        assertTrue(done.out().contains("already done (SIZE 100cc)"), done.out());
    }

    @Test
    void aBackgroundResizeThatTimesOutExitsVerifyAndARerunTriesAgain() throws Exception {
        MzStandIn mz = cluster(MzStandIn.ofVersion("v26.36.0"), true, 40, 91, true).wired();
        Thread end = later(() -> mz.cutOver("ingest_postgres", "timed-out"));
        TestPg.Run r = run(mz, null, "--apply", "--size", "100cc", "--wait", "30s");
        end.join();
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        assertTrue(r.err().contains("its resize ended with timed-out and it keeps 50cc"), r.err());
        assertEquals("50cc", size(mz));
        TestPg.Run again = run(mz, null, "--apply", "--size", "100cc", "--json");
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.json().getAsJsonArray("warnings").toString().contains("the last resize to 100cc ended with timed-out"),
                again.out());
        assertTrue(again.json().get("in_progress").getAsBoolean());
    }

    @Test
    void anUnmanagedClusterIsAConflict() {
        MzStandIn mz = cluster(false, 40, 91, true);
        TestPg.Run r = BadInputTest.failsCleanly(Exit.CONFLICT, RightSize::new, mz.env(null), "--samples", "1", "--apply");
        assertTrue(r.err().contains("is unmanaged"), r.err());
        assertTrue(r.err().contains("CREATE CLUSTER REPLICA ingest_postgres.r2 (SIZE = '100cc')"), r.err());
    }

    @Test
    void aMissingClusterIsNotFound() {
        MzStandIn mz = new MzStandIn();
        TestPg.Run r = BadInputTest.failsCleanly(Exit.NOT_FOUND, RightSize::new, mz.env(null), "--samples", "1");
        assertTrue(r.err().contains("./jbang cluster"), r.err());
    }

    @Test
    void withoutHeapPercentItFallsBackToMemoryPercent() {
        MzStandIn mz = cluster(true, 40, 91, true);
        mz.exec("ALTER TABLE mz_internal.mz_cluster_replica_utilization DROP COLUMN heap_percent");
        TestPg.Run r = run(mz, null, "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals("memory_percent", r.json().get("memory_metric").getAsString());
        assertEquals(86.0, r.json().getAsJsonArray("replicas").get(0).getAsJsonObject().get("memory_percent_max").getAsDouble());
        assertEquals("up", r.json().getAsJsonObject("recommendation").get("action").getAsString());
        assertTrue(r.json().getAsJsonArray("warnings").toString().contains("no heap_percent"));
    }

    @Test
    void anUpstreamSlotFarBehindRecommendsUp() {
        String up = TestPg.newDatabase();
        String slot = "materialize_" + up;
        MzStandIn mz = cluster(true, 40, 50, true);
        mz.exec("UPDATE mz_internal.mz_postgres_sources SET replication_slot = '" + slot + "'");
        TestPg.exec(up, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            TestPg.execAsOwner(up, "INSERT INTO page_views (viewed_at, path) SELECT now(), '/p' || g FROM generate_series(1, 200) g");
            // the lab runs with synchronous_commit = off: make the write position move past the inserts now
            TestPg.exec(up, "SELECT pg_switch_wal()");
            TestPg.Run ok = run(mz, up, "--json");
            assertEquals(0, ok.exit(), ok.all());
            JsonObject s = ok.json().getAsJsonArray("slots").get(0).getAsJsonObject();
            assertEquals(slot, s.get("slot").getAsString());
            assertTrue(s.get("lag_bytes").getAsBigDecimal().signum() > 0, s.toString());
            assertEquals("keep", ok.json().getAsJsonObject("recommendation").get("action").getAsString(), "under 1GB");

            TestPg.Run behind = run(mz, up, "--max-lag", "1kB", "--json");
            JsonObject rec = behind.json().getAsJsonObject("recommendation");
            assertEquals("up", rec.get("action").getAsString());
            assertTrue(rec.get("reasons").toString().contains("upstream slot " + slot + " is "), rec.toString());
        } finally {
            TestPg.exec(up, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }
}
