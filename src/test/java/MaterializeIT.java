import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.Testcontainers;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import neonmz.Exit;

/**
 * The Materialize tier: the guide's whole path on a real Materialize (the emulator image, pinned in
 * pom.xml) reading the lab PostgreSQL, which the container reaches through Testcontainers' host-port
 * exposure (host.testcontainers.internal). Runs with {@code mvn verify -Pmaterialize} where Docker exists;
 * MaterializeTierTest says in the default run why it did not run.
 *
 * The steps run in order, as a user runs them: the Neon half (A.1–A.2.4), then C.1–D, then the bad
 * cases (a table without REPLICA IDENTITY FULL, a missing grant, a TRUNCATE upstream seen by monitor).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaterializeIT {
    static final String UPSTREAM_HOST = "host.testcontainers.internal";
    static GenericContainer<?> materialize;
    static String db;
    static Map<String, String> env;
    static Path passwordFile;

    @BeforeAll
    static void start() throws Exception {
        Lab.Server pg = TestPg.server();
        db = TestPg.newDatabase();
        Testcontainers.exposeHostPorts(pg.port());
        materialize = new GenericContainer<>(DockerImageName.parse(System.getProperty("materialize.image")))
                .withExposedPorts(6875, 6878)
                .withAccessToHost(true)
                .waitingFor(Wait.forHttp("/api/readyz").forPort(6878).forStatusCode(200)
                        .withStartupTimeout(Duration.ofMinutes(4)));
        materialize.start();
        env = new HashMap<>(TestPg.env(db));
        env.put("MZ_URL", "postgresql://materialize@" + materialize.getHost() + ":" + materialize.getMappedPort(6875)
                + "/materialize?sslmode=disable");
        passwordFile = Files.createTempDirectory("neonmz-it").resolve("materialize.password");
    }

    @AfterAll
    static void stop() {
        if (materialize != null) {
            materialize.stop();
        }
    }

    static TestPg.Run ok(String alias, String... args) {
        TestPg.Run r = TestPg.run(Commands.of(alias), env, args);
        assertEquals(0, r.exit(), alias + " " + String.join(" ", args) + "\n" + r.all());
        return r;
    }

    static TestPg.Run run(String alias, String... args) {
        return TestPg.run(Commands.of(alias), env, args);
    }

    @Test
    @Order(1)
    void neonHalf() {
        ok("check-logical-replication");
        ok("replica-identity", "--table", "customers,orders,\"Order Items\",page_views");
        ok("publication", "--table", "customers,orders,\"Order Items\",page_views");
        ok("replication-role", "--password-out", passwordFile.toString());
        ok("grants");
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
        ok("connection", "--password-file", passwordFile.toString(), "--upstream-host", UPSTREAM_HOST,
                "--ssl-mode", "disable");
        TestPg.Run again = ok("connection", "--password-file", passwordFile.toString(), "--upstream-host", UPSTREAM_HOST,
                "--ssl-mode", "disable");
        assertTrue(again.out().contains("already done"), again.out());
    }

    @Test
    @Order(4)
    void sourceC3AndMonitorC4() {
        ok("source", "--analyze");
        TestPg.Run mon = ok("monitor", "--until-snapshotted", "--timeout", "180s");
        assertTrue(mon.out().contains("running"), mon.out());
        assertTrue(ok("source").out().contains("already done"));
    }

    @Test
    @Order(5)
    void rightSizeC5() {
        ok("right-size");
        ok("right-size", "--apply", "--size", "100cc");
        assertTrue(ok("right-size", "--apply", "--size", "100cc").out().contains("already done"));
    }

    @Test
    @Order(6)
    void exploreD() {
        TestPg.Run r = ok("explore", "--create-examples", "--subscribe-seconds", "3");
        assertTrue(r.out().contains("orders"), r.out());
    }

    @Test
    @Order(7)
    void tableWithoutReplicaIdentityIsRefusedWithTheFix() {
        TestPg.execAsOwner(db, "CREATE TABLE no_ri (id int PRIMARY KEY, v text)",
                "CREATE PUBLICATION mz_bad_ri FOR TABLE no_ri", "GRANT SELECT ON no_ri TO materialize");
        TestPg.Run r = run("source", "--source", "bad_ri", "--publication", "mz_bad_ri");
        assertEquals(Exit.NOT_READY, r.exit(), r.all());
        assertTrue(r.err().contains("replica-identity"), r.err());
    }

    @Test
    @Order(8)
    void missingGrantIsRefusedWithTheFix() {
        TestPg.execAsOwner(db, "CREATE SCHEMA hidden", "CREATE TABLE hidden.t (id int PRIMARY KEY)",
                "ALTER TABLE hidden.t REPLICA IDENTITY FULL", "CREATE PUBLICATION mz_bad_grant FOR TABLE hidden.t");
        TestPg.Run r = run("source", "--source", "bad_grant", "--publication", "mz_bad_grant");
        assertEquals(Exit.PERMISSION, r.exit(), r.all());
        assertTrue(r.err().contains("grants"), r.err());
    }

    @Test
    @Order(9)
    void truncateUpstreamIsSurfacedByMonitor() throws Exception {
        TestPg.execAsOwner(db, "TRUNCATE page_views");
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        TestPg.Run r;
        do {
            Thread.sleep(2000);
            r = run("monitor");
        } while (r.exit() == 0 && System.nanoTime() < deadline);
        assertNotEquals(0, r.exit(), "monitor reports the broken table: " + r.all());
        assertTrue(r.all().toLowerCase().contains("truncat"), r.all());
    }

    /**
     * MaterializeFidelityTest's cases on the real server: the pinned release is the one running, every pinned
     * relation has the pinned columns (a SELECT of exactly those, LIMIT 0), and every catalog query the
     * scripts send (collected by the same matrix as there) plans here too (EXPLAIN).
     */
    @Test
    @Order(10)
    void theFidelityCasesHoldOnTheRealServer() throws Exception {
        MzFacts facts = MzFacts.pinned();
        java.util.List<String> problems = new java.util.ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + materialize.getHost() + ":"
                + materialize.getMappedPort(6875) + "/materialize?user=materialize&sslmode=disable");
             java.sql.Statement st = c.createStatement()) {
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
