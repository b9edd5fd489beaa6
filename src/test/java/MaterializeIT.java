import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.google.gson.JsonObject;

import neonmz.Exit;
import neonmz.MzErrors;

/**
 * The Materialize tier, legacy syntax: the guide's whole path on a real Materialize (the emulator image pinned
 * in pom.xml) reading the lab PostgreSQL through Testcontainers' host-port exposure ({@link MzTier}). Runs with
 * {@code mvn verify -Pmaterialize} where Docker exists (and in CI: .github/workflows/materialize.yml);
 * MaterializeTierTest says in the default run why it did not run. The new syntax (CREATE TABLE … FROM SOURCE)
 * has its own emulator and upstream server: {@link MaterializeNewSyntaxIT}.
 *
 * <p>In order, as a user runs them: the Neon half (A.1–A.2.4), C.1–C.2, the source in the legacy syntax with
 * monitor showing each subsource, explore, doctor --mz-url, right-size --apply; the bad cases (a table without
 * REPLICA IDENTITY FULL, a missing grant); tables broken upstream on a second source (an incompatible ALTER
 * COLUMN TYPE, a TRUNCATE) that monitor and doctor must report with the toolkit's fix, and its teardown; the
 * teardown of the whole path; then MaterializeFidelityTest's cases on the real server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaterializeIT {
    /** The second source, for the tables broken upstream: its own database, role, connection and publication. */
    static final String STALL_ROLE = "materialize_stall";
    static final List<String> STALL_TABLES = List.of("stall_altered", "stall_truncated");

    static MzTier mz;
    static String stallDb;
    static Map<String, String> stallEnv;
    static Path stallPasswordFile;
    static boolean stallTried;
    static Throwable stallFailed;

    @BeforeAll
    static void start() throws Exception {
        mz = MzTier.start(TestPg.server(), TestPg.newDatabase());
    }

    @AfterAll
    static void stop() {
        if (mz != null) {
            mz.close();
        }
    }

    static TestPg.Run ok(String alias, String... args) {
        return mz.ok(alias, args);
    }

    static TestPg.Run run(String alias, String... args) {
        return mz.run(alias, args);
    }

    @Test
    @Order(1)
    void neonHalf() {
        mz.neonHalf();
    }

    @Test
    @Order(2)
    void clusterC1() {
        ok("cluster");
        assertTrue(ok("cluster").out().contains("already done"));
        TestPg.Run bad = run("cluster", "--name", "other_cluster", "--size", "6400cc");
        assertEquals(Exit.USAGE, bad.exit(), bad.all());
        assertTrue(bad.err().contains("25cc"), "names the sizes the emulator offers: " + bad.err());
    }

    @Test
    @Order(3)
    void connectionC2() {
        String[] conn = {"--password-file", mz.passwordFile.toString(), "--upstream-host", MzTier.UPSTREAM_HOST,
                "--ssl-mode", "disable"};
        ok("connection", conn);
        TestPg.Run again = ok("connection", conn);
        assertTrue(again.out().contains("already done"), again.out());
    }

    /** C.3 legacy (a subsource per table), C.4: monitor shows each subsource, running, its snapshot committed. */
    @Test
    @Order(4)
    void legacySourceAndMonitorShowEverySubsource() {
        mz.sourceAndMonitor("legacy", "subsource");
        for (String t : MzTier.TABLES) {
            assertEquals(1, mz.rows("SELECT id FROM mz_catalog.mz_sources WHERE name = ? AND type = 'subsource'", t).size(),
                    "the legacy syntax made subsource " + t);
        }
    }

    @Test
    @Order(5)
    void exploreListsEverySubsource() {
        mz.exploreListsEveryTable();
    }

    @Test
    @Order(6)
    void doctorWithMzUrlPasses() {
        mz.doctorPasses();
    }

    /**
     * C.5: a real resize. On v26.35+ ALTER CLUSTER … SET (SIZE …) completes in the background, so reading the size
     * back at once may still show the old one: the step must wait for it or report it, not fail. Either way the
     * cluster ends at the new size with its replicas replaced, a second run is already done, and the source runs
     * on the new replica.
     */
    @Test
    @Order(7)
    void rightSizeApplyResizes() throws Exception {
        TestPg.Run rec = ok("right-size", "--samples", "2", "--interval", "1s", "--json");
        assertEquals("50cc", MzTier.text(rec.json(), "size"), rec.out());
        TestPg.Run applied = ok("right-size", "--apply", "--size", "100cc", "--samples", "1", "--json");
        assertTrue(MzTier.isTrue(applied.json(), "applied"), applied.all());
        boolean resized = MzTier.eventually(Duration.ofMinutes(3), () -> {
            List<Map<String, Object>> c = mz.rows("SELECT size FROM mz_catalog.mz_clusters WHERE name = 'ingest_postgres'");
            List<Map<String, Object>> r = mz.rows("SELECT r.size FROM mz_catalog.mz_cluster_replicas r "
                    + "JOIN mz_catalog.mz_clusters c ON c.id = r.cluster_id WHERE c.name = 'ingest_postgres'");
            return c.size() == 1 && "100cc".equals(c.get(0).get("size")) && !r.isEmpty()
                    && r.stream().allMatch(x -> "100cc".equals(x.get("size")));
        });
        assertTrue(resized, "ingest_postgres reaches SIZE 100cc with only 100cc replicas: "
                + mz.rows("SELECT r.name, r.size FROM mz_catalog.mz_cluster_replicas r JOIN mz_catalog.mz_clusters c "
                + "ON c.id = r.cluster_id WHERE c.name = 'ingest_postgres'"));
        TestPg.Run again = ok("right-size", "--apply", "--size", "100cc", "--samples", "1", "--json");
        assertTrue(MzTier.isTrue(again.json(), "already_done"), again.all());
        ok("monitor", "--until-snapshotted", "--timeout", "180s", "--interval", "2s");
    }

    @Test
    @Order(8)
    void tableWithoutReplicaIdentityIsRefusedWithTheFix() {
        TestPg.execAsOwner(mz.db, "CREATE TABLE no_ri (id int PRIMARY KEY, v text)",
                "CREATE PUBLICATION mz_bad_ri FOR TABLE no_ri", "GRANT SELECT ON no_ri TO materialize");
        TestPg.Run r = run("source", "--source", "bad_ri", "--publication", "mz_bad_ri");
        assertEquals(Exit.NOT_READY, r.exit(), r.all());
        assertTrue(r.err().contains("replica-identity"), r.err());
    }

    @Test
    @Order(9)
    void missingGrantIsRefusedWithTheFix() {
        TestPg.execAsOwner(mz.db, "CREATE SCHEMA hidden", "CREATE TABLE hidden.t (id int PRIMARY KEY)",
                "ALTER TABLE hidden.t REPLICA IDENTITY FULL", "CREATE PUBLICATION mz_bad_grant FOR TABLE hidden.t");
        TestPg.Run r = run("source", "--source", "bad_grant", "--publication", "mz_bad_grant");
        assertEquals(Exit.PERMISSION, r.exit(), r.all());
        assertTrue(r.err().contains("grants"), r.err());
    }

    // ---- tables broken upstream: source mz_stall, on a database, role and connection of its own -----------

    /** The second source, made by the first test that needs it; a later one fails at once if that did not work. */
    static void stallSource() throws Exception {
        if (stallTried) {
            if (stallFailed != null) {
                fail("source mz_stall could not be made (see the first test of its group)", stallFailed);
            }
            return;
        }
        stallTried = true;
        try {
            makeStallSource();
        } catch (Exception | Error e) {
            stallFailed = e;
            throw e;
        }
    }

    /** The second source's path, with the same scripts: two tables, their publication, role, grants, connection. */
    static void makeStallSource() throws Exception {
        stallDb = TestPg.newDatabase();
        stallEnv = mz.env(stallDb);
        stallPasswordFile = Files.createTempDirectory("neonmz-it-stall").resolve("stall.password");
        TestPg.execAsOwner(stallDb, "CREATE TABLE stall_altered (id int PRIMARY KEY, v int)",
                "CREATE TABLE stall_truncated (id int PRIMARY KEY, v text)",
                "INSERT INTO stall_altered SELECT g, g FROM generate_series(1, 10) g",
                "INSERT INTO stall_truncated SELECT g, 'row ' || g FROM generate_series(1, 10) g");
        String tables = String.join(",", STALL_TABLES);
        MzTier.ok(stallEnv, "replica-identity", "--table", tables);
        MzTier.ok(stallEnv, "publication", "--name", "mz_stall", "--table", tables);
        MzTier.ok(stallEnv, "replication-role", "--role", STALL_ROLE, "--password-out", stallPasswordFile.toString());
        MzTier.ok(stallEnv, "grants", "--role", STALL_ROLE);
        MzTier.ok(stallEnv, "connection", "--role", STALL_ROLE, "--password-file", stallPasswordFile.toString(),
                "--connection", "pg_stall", "--secret", "pgpass_stall", "--upstream-host", MzTier.UPSTREAM_HOST,
                "--ssl-mode", "disable");
        MzTier.ok(stallEnv, "source", "--source", "mz_stall", "--publication", "mz_stall", "--connection", "pg_stall",
                "--syntax", "legacy");
        MzTier.ok(stallEnv, "monitor", "--source", "mz_stall", "--until-snapshotted", "--timeout", "180s",
                "--interval", "2s");
    }

    static TestPg.Run monitorStall(String... more) {
        String[] args = new String[more.length + 2];
        args[0] = "--source";
        args[1] = "mz_stall";
        System.arraycopy(more, 0, args, 2, more.length);
        return MzTier.run(stallEnv, "monitor", args);
    }

    /**
     * An incompatible schema change upstream (ALTER COLUMN … TYPE, then a row): Materialize stops that table
     * (status ceased, "incompatible schema change"). monitor must list it as not healthy with a fix the toolkit
     * maps for that error (re-adding the table: a new snapshot), not "the toolkit does not know this error".
     */
    @Test
    @Order(10)
    void incompatibleAlterColumnTypeIsShownWithTheFix() throws Exception {
        stallSource();
        TestPg.execAsOwner(stallDb, "ALTER TABLE stall_altered ALTER COLUMN v TYPE bigint",
                "INSERT INTO stall_altered VALUES (11, 11)");
        TestPg.Run r = MzTier.until(Duration.ofSeconds(150), () -> monitorStall("--json"),
                x -> MzTier.bad(x, "stall_altered"));
        JsonObject t = MzTier.object(r, "stall_altered");
        assertNotNull(t, "monitor lists subsource stall_altered of mz_stall:\n" + r.all());
        assertTrue(MzTier.BAD.contains(MzTier.text(t, "status")), "stall_altered is not healthy: " + t);
        String error = MzTier.text(t, "error");
        assertNotNull(error, t.toString());
        assertNotEquals(0, r.exit(), r.all());
        assertNotNull(MzErrors.match(error), "MzErrors maps Materialize's error: " + error);
        String fix = MzTier.text(t, "fix");
        assertNotNull(fix, "monitor gives the fix for stall_altered: " + t);
        assertTrue(fix.contains("--add-new-tables"), "the fix re-adds the table (a new snapshot): " + fix);
        TestPg.Run human = monitorStall();
        assertTrue(human.all().contains("stall_altered"), human.all());
        assertFalse(human.all().contains("does not know this error"), human.all());
    }

    /**
     * TRUNCATE of a published table: Materialize errors that table ("table was truncated"). monitor must show it
     * not healthy with MzErrors' truncate fix and exit with that fix's code; doctor --mz-url must FAIL the source
     * naming the table.
     */
    @Test
    @Order(11)
    void truncateUpstreamIsShownWithTheFix() throws Exception {
        stallSource();
        TestPg.execAsOwner(stallDb, "TRUNCATE stall_truncated");
        TestPg.Run r = MzTier.until(Duration.ofSeconds(150), () -> monitorStall("--json"),
                x -> MzTier.bad(x, "stall_truncated"));
        JsonObject t = MzTier.object(r, "stall_truncated");
        assertNotNull(t, "monitor lists subsource stall_truncated of mz_stall:\n" + r.all());
        assertTrue(MzTier.BAD.contains(MzTier.text(t, "status")), "stall_truncated is not healthy: " + t);
        String error = MzTier.text(t, "error");
        assertNotNull(error, t.toString());
        assertTrue(error.toLowerCase(java.util.Locale.ROOT).contains("truncat"), error);
        MzErrors.Known known = MzErrors.match(error);
        assertNotNull(known, "MzErrors maps " + error);
        assertEquals("truncate", known.name(), error);
        assertEquals(known.fix(), MzTier.text(t, "fix"), t.toString());
        assertNotEquals(0, r.exit(), r.all());
        assertNotEquals(Exit.INTERNAL, r.exit(), r.all());
        TestPg.Run human = monitorStall();
        assertTrue(human.all().contains("stall_truncated"), human.all());
        assertTrue(human.all().contains(known.fix()), "the fix is shown: " + human.all());

        TestPg.Run doctor = MzTier.run(stallEnv, "doctor", "--mz-url", mz.url(), "--source", "mz_stall",
                "--publication", "mz_stall", "--role", STALL_ROLE, "--connection", "pg_stall", "--json");
        assertEquals(Exit.VERIFY, doctor.exit(), doctor.all());
        JsonObject check = MzTier.check(doctor, "mz_source");
        assertEquals("FAIL", MzTier.text(check, "status"), check.toString());
        assertTrue(MzTier.text(check, "detail").contains("stall_truncated"), "doctor names the table: " + check);
    }

    /** teardown of a source whose subsources are broken: dropped with them (its own), its slot gone upstream. */
    @Test
    @Order(12)
    void teardownDropsTheBrokenSource() throws Exception {
        stallSource();
        String slot = mz.slotOf("mz_stall");
        TestPg.Run r = MzTier.run(stallEnv, "teardown", "--source", "mz_stall", "--connection", "pg_stall",
                "--secret", "pgpass_stall", "--publication", "mz_stall", "--role", STALL_ROLE, "--yes", "--json");
        assertEquals(0, r.exit(), r.all());
        assertTrue(MzTier.isTrue(r.json(), "verified"), r.out());
        assertEquals(Set.of(), mz.objectsNamed(List.of("mz_stall", "mz_stall_progress", "stall_altered", "stall_truncated", "pg_stall",
                "pgpass_stall")), "left in Materialize");
        assertNotNull(slot, "mz_stall had a slot");
        assertEquals(List.of(), mz.upstream(stallDb, "SELECT slot_name FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'"));
        // the cluster and the other source are not this teardown's
        assertEquals(1, mz.rows("SELECT id FROM mz_catalog.mz_clusters WHERE name = 'ingest_postgres'").size());
        assertEquals(Set.of("mz_source"), mz.objectsNamed(List.of("mz_source")));
    }

    /**
     * teardown of the whole path: the source goes with its own subsources (they are not objects built on it:
     * no refusal, no --cascade needed), then the connection, secret, cluster, and upstream the publication,
     * grants, role and slot; verified from both catalogs.
     */
    @Test
    @Order(13)
    void teardownDropsTheSourceWithItsSubsources() {
        String slot = mz.slotOf("mz_source");
        TestPg.Run r = run("teardown", "--yes", "--json");
        assertEquals(0, r.exit(), "the source's own subsources do not stop its teardown:\n" + r.all());
        JsonObject j = r.json();
        assertTrue(MzTier.isTrue(j, "verified"), r.out());
        JsonObject objects = j.getAsJsonObject("materialize_objects");
        assertEquals(0, objects.getAsJsonArray("cascaded").size(), "nothing else was built on mz_source: " + objects);
        assertTrue(objects.get("source_objects").getAsInt() >= 1 + MzTier.TABLES.size(),
                "the plan counts the source and its subsources as its own: " + objects);
        mz.nothingLeft(slot, List.of());
    }

    /**
     * MaterializeFidelityTest's cases on the real server: the pinned release is the one running, every pinned
     * relation has the pinned columns (a SELECT of exactly those, LIMIT 0), and every catalog query the
     * scripts send (collected by the same matrix as there) plans here too (EXPLAIN).
     */
    @Test
    @Order(14)
    void theFidelityCasesHoldOnTheRealServer() throws Exception {
        MzFacts facts = MzFacts.pinned();
        java.util.List<String> problems = new java.util.ArrayList<>();
        try (java.sql.Connection c = mz.connect(); java.sql.Statement st = c.createStatement()) {
            try (java.sql.ResultSet rs = st.executeQuery(neonmz.Mz.VERSION_SQL)) {
                rs.next();
                assertTrue(rs.getString(1).startsWith(facts.tag() + " "), "the emulator runs the pinned release: " + rs.getString(1));
            }
            for (MzFacts.Relation r : facts.relations()) {
                String cols = String.join(", ", r.columns().stream().map(x -> MzFacts.ident(x.name())).toList());
                try {
                    st.executeQuery("SELECT " + cols + " FROM " + r.qualified() + " LIMIT 0").close();
                } catch (java.sql.SQLException e) {
                    problems.add(r.qualified() + " (" + r.path() + " @" + r.commit() + "): " + e.getMessage());
                }
            }
            for (MaterializeFidelityTest.Sent q : MaterializeFidelityTest.collectAll()) {
                if (MzFidelity.isQuery(q.sql()) && MzFidelity.readsOnlyCatalog(q.sql())) {
                    try {
                        st.execute("EXPLAIN " + q.sql().replace("?", "NULL"));
                    } catch (java.sql.SQLException e) {
                        problems.add(q.origin() + ": " + e.getMessage() + "\n" + q.sql());
                    }
                }
            }
        }
        assertEquals(java.util.List.of(), problems);
    }
}
