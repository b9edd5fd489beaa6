import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.testcontainers.Testcontainers;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Test support for the Materialize tier (the *IT classes, {@code mvn verify -Pmaterialize}): the Materialize
 * emulator of the release pom.xml pins (the {@code materialize.image} system property Maven passes), started
 * with Testcontainers, reading a lab PostgreSQL on this machine through Testcontainers' host-port exposure
 * ({@code host.testcontainers.internal}). The scripts run in-process with their real options, as in the other
 * tests; what a user would read (the JSON of {@code --json}, the text) is asserted, and what changed is read back
 * from both catalogs.
 *
 * <p>One instance is one lifecycle: one emulator and one upstream database. The steps every lifecycle shares
 * (the Neon half, C.1–C.2, the source with monitor, explore and doctor) are here, with their assertions, so the
 * legacy-syntax and new-syntax classes check the same things.
 */
final class MzTier implements AutoCloseable {
    static final String UPSTREAM_HOST = "host.testcontainers.internal";
    /** The emulator's ports: SQL, the internal SQL port (mz_system, for ALTER SYSTEM), the internal HTTP port (readyz). */
    static final int SQL_PORT = 6875;
    static final int INTERNAL_SQL_PORT = 6877;
    static final int INTERNAL_HTTP_PORT = 6878;
    /** The lab's demo tables, as the guide publishes them. */
    static final List<String> TABLES = List.of("customers", "orders", "Order Items", "page_views");
    static final String TABLE_LIST = "customers,orders,\"Order Items\",page_views";
    /** mz_source_statuses.status values that need attention (as monitor reads them). */
    static final Set<String> BAD = Set.of("stalled", "failed", "ceased");

    final Lab.Server pg;
    final String db;
    final GenericContainer<?> container;
    final Map<String, String> env;
    final Path passwordFile;

    private MzTier(Lab.Server pg, String db, GenericContainer<?> container) throws Exception {
        this.pg = pg;
        this.db = db;
        this.container = container;
        this.env = env(db);
        this.passwordFile = Files.createTempDirectory("neonmz-it").resolve("materialize.password");
    }

    /** The image pom.xml pins; only Maven passes it (the tier runs through mvn verify -Pmaterialize). */
    static String image() {
        String image = System.getProperty("materialize.image");
        if (image == null || image.isBlank()) {
            throw new IllegalStateException("no materialize.image system property: run the tier through Maven "
                    + "(mvn verify -Pmaterialize), which passes the image pom.xml pins");
        }
        return image;
    }

    /** The emulator started (up to 4 minutes for /api/readyz), reading database {@code db} of server {@code pg}. */
    static MzTier start(Lab.Server pg, String db) throws Exception {
        Testcontainers.exposeHostPorts(pg.port());
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image()))
                .withExposedPorts(SQL_PORT, INTERNAL_SQL_PORT, INTERNAL_HTTP_PORT)
                .withAccessToHost(true)
                .withEnv("MZ_NO_TELEMETRY", "1")
                .waitingFor(Wait.forHttp("/api/readyz").forPort(INTERNAL_HTTP_PORT).forStatusCode(200)
                        .withStartupTimeout(Duration.ofMinutes(4)));
        c.start();
        try {
            return new MzTier(pg, db, c);
        } catch (Exception e) {
            c.stop();
            throw e;
        }
    }

    @Override
    public void close() {
        container.stop();
    }

    // ---- connections -------------------------------------------------------------------------------------

    /** MZ_URL as a user gives it. */
    String url() {
        return "postgresql://materialize@" + container.getHost() + ":" + container.getMappedPort(SQL_PORT)
                + "/materialize?sslmode=disable";
    }

    /** The environment of a run against database {@code database} of the upstream server, with MZ_URL. */
    Map<String, String> env(String database) {
        Map<String, String> e = new HashMap<>(TestPg.env(pg, database));
        e.put("MZ_URL", url());
        return e;
    }

    Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://" + container.getHost() + ":"
                + container.getMappedPort(SQL_PORT) + "/materialize?user=materialize&sslmode=disable");
    }

    /** As mz_system on the internal port, as the emulator's docs do for ALTER SYSTEM SET. */
    void system(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + container.getHost() + ":"
                + container.getMappedPort(INTERNAL_SQL_PORT) + "/materialize?user=mz_system&sslmode=disable");
             Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Rows of a Materialize query, with parameters. */
    List<Map<String, Object>> rows(String sql, Object... params) {
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return neonmz.Pg.rows(rs);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** Names of the Materialize objects (mz_objects) among {@code names}. */
    Set<String> objectsNamed(List<String> names) {
        Set<String> found = new LinkedHashSet<>();
        for (Map<String, Object> r : rows("SELECT name FROM mz_catalog.mz_objects WHERE id LIKE 'u%'")) {
            if (names.contains((String) r.get("name"))) {
                found.add((String) r.get("name"));
            }
        }
        return found;
    }

    /** The replication slot of source {@code source} (mz_internal.mz_postgres_sources), or null. */
    String slotOf(String source) {
        List<Map<String, Object>> r = rows("SELECT ps.replication_slot FROM mz_internal.mz_postgres_sources ps "
                + "JOIN mz_catalog.mz_sources s ON s.id = ps.id WHERE s.name = ?", source);
        return r.isEmpty() ? null : (String) r.get(0).get("replication_slot");
    }

    /** Rows of an upstream query, in database {@code database}, as the superuser. */
    List<Map<String, Object>> upstream(String database, String sql) {
        return TestPg.rows(pg, database, sql);
    }

    // ---- runs --------------------------------------------------------------------------------------------

    static TestPg.Run run(Map<String, String> env, String alias, String... args) {
        return TestPg.run(Commands.of(alias), env, args);
    }

    static TestPg.Run ok(Map<String, String> env, String alias, String... args) {
        TestPg.Run r = run(env, alias, args);
        assertEquals(0, r.exit(), alias + " " + String.join(" ", args) + "\n" + r.all());
        return r;
    }

    TestPg.Run run(String alias, String... args) {
        return run(env, alias, args);
    }

    TestPg.Run ok(String alias, String... args) {
        return ok(env, alias, args);
    }

    /** Runs {@code run} every 2 s until {@code done} holds or {@code limit} passes; the last run either way. */
    static TestPg.Run until(Duration limit, Supplier<TestPg.Run> run, Predicate<TestPg.Run> done) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        TestPg.Run r = run.get();
        while (!done.test(r) && System.nanoTime() < deadline) {
            Thread.sleep(2000);
            r = run.get();
        }
        return r;
    }

    /** Waits until {@code done} holds, up to {@code limit}; whether it did. */
    static boolean eventually(Duration limit, Supplier<Boolean> done) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.get()) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            Thread.sleep(2000);
        }
        return true;
    }

    // ---- reading what the scripts print -----------------------------------------------------------------

    /** The JSON of a run, or null when stdout is not one JSON object (the run failed before it). */
    static JsonObject json(TestPg.Run r) {
        try {
            return r.json();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** monitor --json: the object named {@code name}, or null. */
    static JsonObject object(TestPg.Run monitor, String name) {
        JsonObject j = json(monitor);
        if (j == null || !j.has("objects")) {
            return null;
        }
        for (JsonElement e : j.getAsJsonArray("objects")) {
            if (name.equals(text(e.getAsJsonObject(), "name"))) {
                return e.getAsJsonObject();
            }
        }
        return null;
    }

    /** Whether monitor --json shows {@code name} stalled, failed or ceased. */
    static boolean bad(TestPg.Run monitor, String name) {
        JsonObject o = object(monitor, name);
        return o != null && BAD.contains(text(o, "status"));
    }

    static String text(JsonObject o, String key) {
        return o == null || !o.has(key) || o.get(key).isJsonNull() ? null : o.get(key).getAsString();
    }

    static boolean isTrue(JsonObject o, String key) {
        return o != null && o.has(key) && !o.get(key).isJsonNull() && o.get(key).getAsBoolean();
    }

    /** doctor --json: the check with id {@code id}. */
    static JsonObject check(TestPg.Run doctor, String id) {
        for (JsonElement e : doctor.json().getAsJsonArray("checks")) {
            if (id.equals(text(e.getAsJsonObject(), "id"))) {
                return e.getAsJsonObject();
            }
        }
        return fail("no check " + id + " in " + doctor.out());
    }

    // ---- the steps every lifecycle shares ---------------------------------------------------------------

    /** A.1–A.2.4 on the upstream database, as the README runs them. */
    void neonHalf() {
        ok("check-logical-replication");
        ok("replica-identity", "--table", TABLE_LIST);
        ok("publication", "--table", TABLE_LIST);
        ok("replication-role", "--password-out", passwordFile.toString());
        ok("grants");
    }

    /** C.1 and C.2 (the connection validated by Materialize against the lab, through the host exposure). */
    void clusterAndConnection() {
        ok("cluster");
        assertTrue(ok("cluster").out().contains("already done"));
        String[] conn = {"--password-file", passwordFile.toString(), "--upstream-host", UPSTREAM_HOST, "--ssl-mode", "disable"};
        ok("connection", conn);
        TestPg.Run again = ok("connection", conn);
        assertTrue(again.out().contains("already done"), again.out());
    }

    /**
     * C.3 in {@code syntax} (legacy or new), then C.4: monitor waits for every snapshot, then shows the source and
     * each table it feeds by name, of type {@code type} (subsource or table), running with its snapshot committed;
     * the source step run again is already done with every table.
     */
    void sourceAndMonitor(String syntax, String type) {
        TestPg.Run created = ok("source", "--syntax", syntax, "--analyze", "--json");
        JsonObject c = created.json();
        assertEquals(syntax, text(c, "syntax"), created.all());
        assertTrue(isTrue(c, "created"), created.all());

        ok("monitor", "--until-snapshotted", "--timeout", "180s", "--interval", "2s");
        TestPg.Run mon = ok("monitor", "--json");
        for (String t : TABLES) {
            JsonObject o = object(mon, t);
            assertNotNull(o, "monitor shows " + type + " " + t + " of mz_source:\n" + mon.out());
            assertEquals(type, text(o, "type"), t + ": " + o);
            assertEquals("running", text(o, "status"), t + ": " + o);
            assertTrue(isTrue(o, "snapshot_committed"), t + ": " + o);
        }
        JsonObject source = object(mon, "mz_source");
        assertNotNull(source, mon.out());
        assertTrue(isTrue(source, "is_source"), source.toString());
        assertTrue(isTrue(mon.json().getAsJsonObject("snapshot"), "committed"), mon.out());
        TestPg.Run human = ok("monitor");
        for (String t : TABLES) {
            assertTrue(human.out().contains(t), "monitor's table lists " + t + ":\n" + human.out());
        }

        TestPg.Run again = ok("source", "--syntax", syntax, "--json");
        JsonObject a = again.json();
        assertTrue(isTrue(a, "already_done"), again.all());
        assertEquals(TABLES.size(), a.get("existing_tables").getAsInt(), again.all());
        assertEquals(0, a.getAsJsonArray("missing_tables").size(), again.all());
    }

    /** D: explore lists the source and every table it feeds, each counted with the upstream's count. */
    void exploreListsEveryTable() {
        TestPg.Run r = ok("explore", "--json");
        JsonObject j = r.json();
        Set<String> sources = new LinkedHashSet<>();
        j.getAsJsonArray("sources").forEach(e -> sources.add(text(e.getAsJsonObject(), "name")));
        assertTrue(sources.contains("mz_source"), r.out());
        Set<String> upstream = new LinkedHashSet<>();
        for (JsonElement e : j.getAsJsonArray("tables")) {
            JsonObject t = e.getAsJsonObject();
            upstream.add(text(t, "upstream_table"));
            assertTrue(isTrue(t, "snapshot_committed"), t.toString());
            assertEquals("ok", text(t, "parity"), "rows match upstream: " + t);
        }
        assertEquals(Set.copyOf(TABLES), upstream, "explore lists every table of mz_source:\n" + r.out());
        assertEquals(TABLES.size(), j.getAsJsonObject("parity").get("matching").getAsInt(), r.out());
        TestPg.Run human = ok("explore");
        for (String t : TABLES) {
            assertTrue(human.out().contains(t), "explore's table lists " + t + ":\n" + human.out());
        }
    }

    /** doctor --mz-url: no FAIL; the connection validates, the source runs, its slot is upstream. */
    void doctorPasses() {
        TestPg.Run r = run("doctor", "--mz-url", url(), "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals(0, r.json().getAsJsonObject("counts").get("fail").getAsInt(), r.out());
        for (String id : List.of("mz_connection", "mz_source", "mz_slots")) {
            assertEquals("PASS", text(check(r, id), "status"), id + ": " + check(r, id));
        }
        assertTrue(text(check(r, "mz_source"), "detail").contains("running"), r.out());
    }

    /**
     * After a teardown of mz_source: nothing of it left in Materialize (the source, each table it fed, the
     * connection, the secret, the cluster) nor upstream (its slot {@code slot}, the publication, the role).
     */
    void nothingLeft(String slot, List<String> alsoGone) {
        List<String> names = new ArrayList<>(List.of("mz_source", "mz_source_progress", "pg_connection", "pgpass"));
        names.addAll(TABLES);
        names.addAll(alsoGone);
        assertEquals(Set.of(), objectsNamed(names), "left in Materialize");
        assertEquals(List.of(), rows("SELECT name FROM mz_catalog.mz_clusters WHERE name = 'ingest_postgres'"));
        assertNotNull(slot, "the source had a slot");
        assertEquals(List.of(), upstream(db, "SELECT slot_name FROM pg_replication_slots WHERE slot_name = '" + slot + "'"),
                "the source's slot is gone upstream");
        assertEquals(List.of(), upstream(db, "SELECT pubname FROM pg_publication WHERE pubname = 'mz_source'"));
        assertEquals(List.of(), upstream(db, "SELECT rolname FROM pg_roles WHERE rolname = 'materialize'"));
    }
}
