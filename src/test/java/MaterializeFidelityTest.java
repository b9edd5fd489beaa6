import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.google.gson.JsonParser;

import neonmz.ConnInfo;
import neonmz.Exit;
import neonmz.Mz;
import neonmz.MzErrors;

/**
 * Every Materialize statement and catalog query the scripts can send, checked against the facts extracted
 * from Materialize's own source at the pinned release (src/test/resources/materialize/facts.json, see
 * {@link MzFacts} and {@link MzFidelity}). The statements are collected from what the scripts really send
 * ($NEONMZ_MZ_LOG, which {@link Mz} appends every statement to): their --dry-run plans over a matrix of
 * options (GoldenTest's cases and more), and live runs against the stand-in generated from the facts; and
 * every SQL constant of the Materialize steps must be among them (a statement added later without a case
 * fails here). The same cases run against a real Materialize in MaterializeIT.
 */
class MaterializeFidelityTest {
    /** The Materialize steps whose SQL constants must all be exercised by the matrix below. */
    static final List<Class<?>> MZ_STEPS = List.of(AllowMaterializeIps.class, CreateCluster.class, CreateConnection.class,
            CreateSource.class, MonitorIngestion.class, RightSize.class, Explore.class, Teardown.class, Doctor.class,
            Watch.class, WatchChecks.class, EvolveMz.class, neonmz.MzDependents.class, Rebuild.class);

    record Sent(String sql, String origin) {}

    static List<Sent> sent;
    static MzStandIn plain;
    static Connection explain;

    @BeforeAll
    static void collect() throws Exception {
        sent = collectAll();
        plain = new MzStandIn();
        explain = standInConnection(plain);
    }

    @AfterAll
    static void close() throws SQLException {
        if (explain != null) {
            explain.close();
        }
    }

    static Connection standInConnection(MzStandIn mz) throws SQLException {
        ConnInfo ci = mz.server.ownerConn();
        ci.dbname = mz.db;
        return Lab.Server.open(ci);
    }

    // ---- the collection ---------------------------------------------------------------------------------

    /** Every statement the scripts sent (or planned) to Materialize over the matrix, distinct, with where it came from. */
    static List<Sent> collectAll() throws IOException {
        Map<String, Sent> all = new LinkedHashMap<>();
        Path log = Files.createTempFile("neonmz-mz-log", ".jsonl");
        String upstream = SourceFixtures.database();

        // 1. the dry-run plans of GoldenTest's option matrix (no Materialize contacted)
        for (Object[] c : GoldenTest.CASES) {
            Map<String, String> env = new HashMap<>(TestPg.env(upstream));
            env.remove("MZ_URL");
            env.put("MZ_REPLICATION_PASSWORD", "fidelity-replication-pw-1");
            List<String> args = new ArrayList<>(List.of((String[]) c[3]));
            args.add("--dry-run");
            run(all, log, (String) c[2], env, "golden " + c[0], args);
        }

        // 2. live runs against the stand-in generated from the facts (its DDL fails there: PostgreSQL has no
        //    CREATE CLUSTER; what matters is what was sent, and the reads before and after)
        MzStandIn mz = scenario();
        Map<String, String> env = new HashMap<>(mz.env(upstream));
        env.put("MZ_REPLICATION_PASSWORD", "fidelity-replication-pw-1");
        String[][] live = {
            {"cluster"}, {"cluster", "--name", "new_cluster", "--replication-factor", "2"},
            {"connection"}, {"connection", "--connection", "new_conn", "--secret", "new_secret"}, {"connection", "--rotate"},
            {"connection", "--replace", "--no-validate"},
            {"source", "--source", "new_src"}, {"source", "--source", "new_src", "--syntax", "new"},
            {"source", "--add-new-tables"}, {"source", "--source", "new_src", "--for-schemas", "public"},
            {"monitor"}, {"monitor", "--until-snapshotted", "--timeout", "1s", "--interval", "1s"},
            {"right-size", "--samples", "1"}, {"right-size", "--samples", "1", "--apply", "--size", "100cc"},
            {"explore"}, {"explore", "--create-examples", "--cluster", "ingest_postgres", "--subscribe-seconds", "1"},
            {"doctor"}, {"teardown", "--materialize-only", "--dry-run"}, {"teardown", "--materialize-only", "--yes"},
            {"watch", "--once"},
        };
        for (String[] a : live) {
            run(all, log, a[0], env, "live", new ArrayList<>(List.of(a).subList(1, a.length)));
        }
        // a legacy source (subsources only) lacking published tables: --add-new-tables adds them as subsources
        MzStandIn legacy = scenario();
        legacy.exec("DELETE FROM mz_internal.mz_object_dependencies WHERE object_id = 'u13'",
                "DELETE FROM mz_internal.mz_postgres_source_tables WHERE id = 'u13'", "DELETE FROM mz_catalog.mz_tables WHERE id = 'u13'");
        Map<String, String> legacyEnv = new HashMap<>(legacy.env(upstream));
        legacyEnv.put("MZ_REPLICATION_PASSWORD", "fidelity-replication-pw-1");
        run(all, log, "source", legacyEnv, "live, legacy source", new ArrayList<>(List.of("--add-new-tables")));
        // right-size on a Materialize without heap_percent falls back to memory_percent (both are pinned columns)
        MzStandIn noHeap = scenario(new MzStandIn(TestPg.server(),
                MzFacts.pinned().copy().withoutColumn("mz_internal.mz_cluster_replica_utilization", "heap_percent"), null));
        run(all, log, "right-size", new HashMap<>(noHeap.env(null)), "live, no heap_percent", new ArrayList<>(List.of("--samples", "1")));
        // ip-allow reads Materialize's egress IPs, then changes the Neon project (the Neon API stand-in here)
        try (FakeNeonApi neon = new FakeNeonApi()) {
            Map<String, String> e = new HashMap<>(env);
            e.putAll(neon.env());
            run(all, log, "ip-allow", e, "live", new ArrayList<>(List.of("--dry-run")));
            // fleet reads Materialize's sources once, to match them to the branches the Neon API lists
            run(all, log, "fleet", e, "live", new ArrayList<>(List.of("--replication-role", "materialize")));
        }
        // evolve: a column added upstream under a view, a materialized view and an index; the plan, a migration judged
        // for what the source ingests, and --apply (new syntax and legacy) played by the stand-in
        for (boolean subsources : new boolean[] {false, true}) {
            try {
                EvolveMzTest.Setup s = new EvolveMzTest.Setup(subsources);
                s.builtOnOrders();
                TestPg.execAsOwner(s.db, "ALTER TABLE orders ADD COLUMN note text");
                Map<String, String> e = new HashMap<>(s.mz.env(s.db));
                String origin = "live, " + (subsources ? "legacy" : "new") + " syntax";
                Path m = EvolveTest.file("ALTER TABLE orders DROP COLUMN total");
                run(all, log, "evolve", e, origin, new ArrayList<>(List.of("--migration", m.toString())));
                run(all, log, "evolve", e, origin, new ArrayList<>(List.of("--capture", s.capture.toString())));
                run(all, log, "evolve", e, origin, new ArrayList<>(List.of("--capture", s.capture.toString(), "--apply")));
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        // rebuild: a source whose slot was invalidated, with a view, a materialized view and an index on its tables
        for (boolean subsources : new boolean[] {false, true}) {
            try {
                RebuildTest.Setup s = new RebuildTest.Setup(subsources).withSlot();
                s.mz.status(s.mz.id("mz_source"), "mz_source", "postgres", "stalled", "replication slot has been invalidated");
                Map<String, String> e = new HashMap<>(s.mz.env(s.db));
                String origin = "live, rebuild, " + (subsources ? "legacy" : "new") + " syntax";
                run(all, log, "rebuild", e, origin, new ArrayList<>(List.of("--capture", s.capture.toString())));
                run(all, log, "rebuild", e, origin, new ArrayList<>(List.of("--capture", s.capture.toString(), "--apply")));
                run(all, log, "rebuild", e, origin, new ArrayList<>(List.of("--capture", s.capture.toString(), "--table",
                        "orders", "--apply")));
                s.dropSlot();
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Files.deleteIfExists(log);
        return new ArrayList<>(all.values());
    }

    static void run(Map<String, Sent> all, Path log, String alias, Map<String, String> env, String origin, List<String> args)
            throws IOException {
        Files.writeString(log, "");
        Map<String, String> e = new HashMap<>(env);
        e.put("NEONMZ_MZ_LOG", log.toString());
        args.add("--json");
        TestPg.Run r = TestPg.run(Commands.of(alias), e, args.toArray(String[]::new));
        // exit 1 is also how an error PostgreSQL gives for Materialize's DDL comes back; a bug says it is one
        assertFalse(r.all().contains("this is a bug"), "./jbang " + alias + " " + String.join(" ", args) + " hit a bug:\n" + r.all());
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String sql = JsonParser.parseString(line).getAsJsonObject().get("sql").getAsString();
            all.putIfAbsent(MzFidelity.norm(sql), new Sent(sql, origin + ": ./jbang " + alias + " " + String.join(" ", args)));
        }
    }

    /** ingest_postgres (50cc, one replica r1), pg_connection + pgpass, mz_source with two subsources and a table. */
    static MzStandIn scenario() {
        return scenario(new MzStandIn());
    }

    static MzStandIn scenario(MzStandIn mz) {
        mz.exec("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, managed, size, replication_factor) "
                        + "VALUES ('u2', 'ingest_postgres', 'u1', true, '50cc', 1)",
                "INSERT INTO mz_catalog.mz_cluster_replicas (id, name, cluster_id, size, owner_id) VALUES ('u5', 'r1', 'u2', '50cc', 'u1')",
                "INSERT INTO mz_catalog.mz_cluster_replica_sizes (size, processes, workers, cpu_nano_cores, memory_bytes, "
                        + "credits_per_hour) VALUES ('25cc', 1, 1, 1, 1, 0.25), ('50cc', 1, 1, 1, 1, 0.5), ('100cc', 1, 2, 1, 1, 1)",
                "INSERT INTO mz_internal.mz_cluster_replica_utilization (replica_id, process_id, cpu_percent, memory_percent) "
                        + "VALUES ('u5', 0, 10, 20)",
                "INSERT INTO mz_catalog.mz_secrets (id, schema_id, name) VALUES ('u98', 'u3', 'pgpass')",
                "INSERT INTO mz_catalog.mz_connections (id, schema_id, name, type, create_sql) VALUES ('u99', 'u3', 'pg_connection', "
                        + "'postgres', 'CREATE CONNECTION materialize.public.pg_connection TO POSTGRES (DATABASE = ''neondb'', "
                        + "HOST = ''127.0.0.1'', PASSWORD = SECRET materialize.public.pgpass, PORT = 5432, SSL MODE = ''disable'', "
                        + "USER = ''materialize'')')",
                "INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES ('u98', 'u3', 'pgpass', 'secret'), "
                        + "('u99', 'u3', 'pg_connection', 'connection'), ('u2', NULL, 'ingest_postgres', 'cluster')",
                "CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 3) g",
                "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 4) g");
        mz.source("u10", "mz_source", "u2", "materialize_u10", "running", null)
                .subsource("u11", "customers", "u10", "public", "customers", "running", null)
                .subsource("u12", "orders", "u10", "public", "orders", "running", null)
                .table("u13", "Order Items", "u10", "public", "Order Items", "running")
                .stats("u10", "u5", 0L, 0L, true, 10L, 10L)
                .stats("u11", "u5", 3L, 3L, true, 10L, 10L)
                .stats("u12", "u5", 4L, 4L, true, 10L, 10L)
                .hydration("u11", "u5", true);
        mz.exec("UPDATE mz_catalog.mz_sources SET connection_id = 'u99' WHERE id = 'u10'",
                "DO $$ BEGIN UPDATE mz_internal.mz_cluster_replica_utilization SET heap_percent = 20; "
                        + "EXCEPTION WHEN undefined_column THEN NULL; END $$");
        return mz;
    }

    /** The SQL constants of the Materialize steps that go to Materialize (by what they read or start with). */
    static Map<String, String> constants() throws IllegalAccessException {
        Map<String, String> out = new LinkedHashMap<>();
        Pattern mzSql = Pattern.compile("(?s)^\\s*(CREATE (CLUSTER|SECRET|CONNECTION|SOURCE|VIEW|INDEX|MATERIALIZED VIEW|TABLE %s FROM SOURCE)"
                + "|ALTER (CLUSTER|SECRET|SOURCE|TABLE)|DROP (CLUSTER|SECRET|CONNECTION|SOURCE|TABLE)|VALIDATE CONNECTION|SHOW CREATE|SHOW (enable|force)_"
                + "|DECLARE|FETCH|SUBSCRIBE)|.*\\bmz_(catalog|internal)\\.|.*\\bFROM mz_|SELECT mz_version");
        for (Class<?> c : MZ_STEPS) {
            for (Field f : c.getDeclaredFields()) {
                if (f.getType() == String.class && !f.getName().endsWith("_CTE") && Modifier.isStatic(f.getModifiers()) && Modifier.isFinal(f.getModifiers())) {
                    f.setAccessible(true);
                    String v = (String) f.get(null);
                    if (v != null && mzSql.matcher(v).find() && !v.contains("pg_catalog.") && !v.contains("pg_replication_slots")
                            && !v.contains("REPLICA IDENTITY")) {
                        out.put(c.getSimpleName() + "." + f.getName(), v);
                    }
                }
            }
        }
        out.put("Mz.VERSION_SQL", Mz.VERSION_SQL);
        return out;
    }

    /** A constant as a pattern over normalised statements: %s any text, %d digits, ? a parameter or a value. */
    static Pattern template(String constant) {
        String n = MzFidelity.norm(constant);
        StringBuilder r = new StringBuilder("(?s)");
        Matcher m = Pattern.compile("%s|%d|\\?").matcher(n);
        int last = 0;
        while (m.find()) {
            r.append(Pattern.quote(n.substring(last, m.start())));
            r.append(switch (m.group()) {
                case "%d" -> "\\d+";
                case "?" -> "(?:\\?|.+?)";
                default -> ".*?";
            });
            last = m.end();
        }
        r.append(Pattern.quote(n.substring(last)));
        return Pattern.compile(r.toString());
    }

    // ---- the checks -------------------------------------------------------------------------------------

    @TestFactory
    Stream<DynamicTest> everyStatementSentMatchesThePinnedFacts() {
        MzFacts facts = MzFacts.pinned();
        long queries = sent.stream().filter(s -> MzFidelity.isQuery(s.sql())).count();
        System.out.printf("MaterializeFidelityTest: %d distinct statements sent to Materialize (%d catalog queries, %d other), "
                + "checked against the facts of Materialize %s%n", sent.size(), queries, sent.size() - queries, facts.tag());
        assertTrue(sent.size() >= 40, "the matrix collected only " + sent.size() + " statements");
        return sent.stream().map(s -> DynamicTest.dynamicTest(MzFidelity.norm(s.sql()).replaceAll("^(.{90}).*", "$1…"), () -> {
            List<String> p = MzFidelity.problems(facts, s.sql(), explain);
            assertEquals(List.of(), p, s.origin() + "\n" + s.sql());
        }));
    }

    @Test
    void everyMaterializeConstantOfTheStepsIsSentByTheMatrixOrChecked() throws Exception {
        Map<String, String> consts = constants();
        assertTrue(consts.size() >= 30, "found only " + consts.size() + " constants: " + consts.keySet());
        List<String> uncovered = new ArrayList<>();
        int shownOnly = 0;
        for (Map.Entry<String, String> c : consts.entrySet()) {
            Pattern p = template(c.getValue());
            if (sent.stream().noneMatch(s -> p.matcher(MzFidelity.norm(s.sql())).matches())) {
                if (!c.getValue().contains("%") && !c.getValue().contains("?")) {
                    // complete as it stands (e.g. the guide's query, shown to the user): checked as it is
                    shownOnly++;
                    List<String> problems = MzFidelity.problems(MzFacts.pinned(), c.getValue(), explain);
                    if (!problems.isEmpty()) {
                        uncovered.add(c.getKey() + ": " + problems);
                    }
                } else {
                    uncovered.add(c.getKey() + ": " + MzFidelity.norm(c.getValue()));
                }
            }
        }
        System.out.printf("MaterializeFidelityTest: %d SQL constants of the Materialize steps: %d sent by the matrix, "
                + "%d complete ones never sent (shown to the user) checked as they are%n", consts.size(),
                consts.size() - shownOnly, shownOnly);
        assertEquals(List.of(), uncovered, "constants no case of the matrix sends (add a case to collectAll, so the "
                + "statement is checked against the facts)");
    }

    @Test
    void theStandInIsExactlyThePinnedCatalog() throws Exception {
        MzFacts facts = MzFacts.pinned();
        List<Map<String, Object>> cols = TestPg.rows(plain.server, plain.db, "SELECT table_schema || '.' || table_name AS rel, "
                + "column_name FROM information_schema.columns WHERE table_schema IN ('mz_catalog', 'mz_internal') "
                + "ORDER BY table_schema, table_name, ordinal_position");
        Map<String, List<String>> actual = new LinkedHashMap<>();
        cols.forEach(r -> actual.computeIfAbsent((String) r.get("rel"), k -> new ArrayList<>()).add((String) r.get("column_name")));
        Map<String, List<String>> pinned = new LinkedHashMap<>();
        facts.relations().forEach(r -> pinned.put(r.qualified(), r.columns().stream().map(MzFacts.Column::name).toList()));
        assertEquals(new java.util.TreeMap<>(pinned), new java.util.TreeMap<>(actual));
        assertTrue(pinned.size() >= 20, pinned.keySet().toString());
        assertEquals(facts.tag() + " (stand-in)", TestPg.rows(plain.server, plain.db, "SELECT mz_version() AS v").get(0).get("v"));
    }

    @Test
    void thePomPinsTheSameBuildAndEmulatorAsTheFactsAndTheMinimumIsNotNewer() throws IOException {
        MzFacts facts = MzFacts.pinned();
        String pom = Files.readString(Path.of(System.getProperty("repo.root", ".")).resolve("pom.xml"));
        Matcher f = Pattern.compile("<materialize.facts.version>([^<]+)</materialize.facts.version>").matcher(pom);
        assertTrue(f.find(), "pom.xml has no materialize.facts.version");
        assertEquals(facts.tag(), f.group(1), "pom.xml's materialize.facts.version and the facts' build move together");
        Matcher m = Pattern.compile("<materialize.version>([^<]+)</materialize.version>").matcher(pom);
        assertTrue(m.find(), "pom.xml has no materialize.version");
        assertEquals(facts.emulatorTag(), m.group(1), "pom.xml's materialize.version (the emulator image) is facts.json's emulator");
        assertTrue(pom.contains("<materialize.image>materialize/materialized:${materialize.version}</materialize.image>"));
        assertEquals(facts.emulatorImage(), Runbook.EMULATOR_IMAGE, "runbook --lab runs the same emulator as the Docker tier");
        Mz.Version pinned = Mz.Version.parse(facts.tag());
        assertTrue(pinned.atLeast(Mz.MINIMUM), "the pinned build " + pinned + " is older than the minimum " + Mz.MINIMUM);
        Mz.Version emulator = Mz.Version.parse(facts.emulatorTag());
        assertTrue(emulator.atLeast(Mz.MINIMUM), "the emulator " + emulator + " is older than the minimum " + Mz.MINIMUM);
        assertTrue(pinned.atLeast(emulator), "the facts' build " + pinned + " is older than the emulator release " + emulator);
        assertTrue(Mz.MINIMUM.atLeast(new Mz.Version(26, 0, 0, "v26.0.0")), "every release Mz accepts has CREATE TABLE … "
                + "FROM SOURCE (docs: v26+), so source chooses by its flag alone");
        assertTrue(neonmz.Exit.TABLE.get(Exit.UNSUPPORTED).contains("(" + Mz.MINIMUM + ")"),
                "the exit table names the minimum Mz enforces: " + neonmz.Exit.TABLE.get(Exit.UNSUPPORTED));
    }

    @Test
    void theTypesSourceIngestsAreThePinnedOnes() {
        assertEquals(new java.util.TreeSet<>(MzFacts.pinned().supportedTypes()), new java.util.TreeSet<>(neonmz.SourceTypes.SUPPORTED));
    }

    @Test
    void theDefaultAndDocumentedSizesExistInEveryDeployment() {
        MzFacts f = MzFacts.pinned();
        Set<String> cloud = new LinkedHashSet<>(f.sizes("cloud"));
        cloud.addAll(f.sizes("cloud_legacy"));
        // the guide's 50cc (C.1, cluster's and runbook's default) and 100cc (C.5's example), and right-size's families
        for (String size : List.of(new CreateCluster().size, "100cc")) {
            assertTrue(cloud.contains(size), size + " is not a Cloud size: " + cloud);
            assertTrue(f.sizes("self_managed").contains(size), size + " is not a self-managed size: " + f.sizes("self_managed"));
            assertTrue(f.sizes("emulator").contains(size), size + " is not an emulator size: " + f.sizes("emulator"));
        }
        assertTrue(f.sizes("cloud").stream().allMatch(s -> s.startsWith("M.1-")), f.sizes("cloud").toString());
        assertTrue(f.sizes("cloud_legacy").contains("25cc") && f.sizes("self_managed").contains("6400cc")
                && !f.sizes("emulator").contains("6400cc"), "both naming schemes, as pinned");
    }

    /** Each pinned Postgres-source error text, as Materialize reports it (message + detail), gets its own fix. */
    @Test
    void everyPinnedSourceErrorHasItsFix() {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("role \"", "role missing");
        expected.put("permission denied for database", "database permission");   // before "database \""
        expected.put("not found in source", "reference not found");
        expected.put("invalid TEXT COLUMNS option value", "text columns option");
        expected.put("Address resolved to a private IP", "private address");
        expected.put("incompatible schema change", "schema change");
        expected.put("altered", "schema change");
        expected.put("self signed certificate", "certificate");
        expected.put("valid client certificate", "certificate");
        expected.put("certificate authentication failed", "certificate");
        expected.put("no pg_hba.conf entry", "no pg_hba");   // before "database \"": the text names the database too
        expected.put(" is empty", "empty publication");
        expected.put("CREATE SOURCE specifies DETAILS option", "details option");
        expected.put("replication disabled on server", "replication disabled");
        expected.put("replication slot has been invalidated", "slot invalidated");
        expected.put("which Materialize cannot currently ingest", "uningestable types");
        expected.put("unknown catalog item '", "unknown item");
        expected.put("only valid for non-empty publications", "empty publication");
        expected.put("multi-output sources require", "missing tables spec");
        expected.put("wal_level >= logical", "wal_level");
        expected.put("insufficient number of replication slots", "slots");
        expected.put("unknown SSL MODE", "ssl mode");
        expected.put("failed to lookup address", "connect");
        expected.put("Connection refused", "connect");
        expected.put("password authentication failed", "password");
        expected.put("database \"", "database missing");
        expected.put("unsupported types", "unsupported types");
        expected.put("REPLICA IDENTITY FULL", "replica identity");
        expected.put("lacks USAGE", "usage");
        expected.put("lacks SELECT", "select");
        expected.put("BYPASSRLS", "bypassrls");
        expected.put("publication \"", "missing publication");
        expected.put("truncated", "truncate");
        expected.put("failed to connect to PostgreSQL database", "failed to connect");
        // the options of other connection kinds, which the toolkit never writes
        Set<String> neverSent = Set.of("do not support BROKER values", "both SSL KEY and SSL CERTIFICATE are required");
        List<String> wrong = new ArrayList<>();
        for (MzFacts.ErrorText e : MzFacts.pinned().errors()) {
            if (neverSent.stream().anyMatch(e.text()::contains)) {
                continue;
            }
            String text = e.text() + (e.detail() == null ? "" : "\n  detail: " + e.detail());
            String want = expected.entrySet().stream().filter(x -> text.contains(x.getKey())).map(Map.Entry::getValue)
                    .findFirst().orElse(null);
            MzErrors.Known k = MzErrors.match(text);
            if (want == null) {
                wrong.add("no expectation for the pinned error " + text.replace("\n", " ") + " (" + e.path()
                        + (e.skipped() ? ", a file Materialize's CI skips" : "") + "; MzErrors matches it as "
                        + (k == null ? "nothing" : k.name()) + ")");
            } else if (k == null || !k.name().equals(want)) {
                wrong.add(text.replace("\n", " ") + " (" + e.path() + "): matched " + (k == null ? "nothing" : k.name())
                        + ", expected " + want);
            }
        }
        assertEquals(List.of(), wrong);
    }

    /**
     * Each error text the pinned code writes for a Postgres source (facts.json runtime_errors: the running
     * source's errors, purification's, the forced-syntax refusal), placeholders filled, gets a fix.
     */
    @Test
    void everyPinnedCodeErrorHasItsFix() {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("DefiniteError::DefaultReplicaIdentity", "replica identity");
        expected.put("DefiniteError::MissingToast", "replica identity");
        expected.put("DefiniteError::TableTruncated", "truncate");
        expected.put("DefiniteError::PublicationDropped", "missing publication");
        expected.put("DefiniteError::InvalidReplicationSlot", "slot invalidated");
        expected.put("TransientError::OvercompactedReplicationSlot", "overcompacted");
        expected.put("PgSourcePurificationError::EmptyPublication", "empty publication");
        expected.put("PgSourcePurificationError::RequiresExternalReferences", "missing tables spec");
        expected.put("PgSourcePurificationError::UserLacksUsageOnSchemas", "usage");
        expected.put("PgSourcePurificationError::UserLacksSelectOnTables", "select");
        expected.put("PgSourcePurificationError::BypassRLSRequired", "bypassrls");
        expected.put("PgSourcePurificationError::NotTablesWReplicaIdentityFull", "replica identity");
        expected.put("PgSourcePurificationError::UnrecognizedTypes", "unsupported types");
        expected.put("PgSourcePurificationError::ConnectionMissingPublication", "no publication option");
        expected.put("PgSourcePurificationError::DatabaseMissingFilteredSchemas", "missing schemas");
        expected.put("PlanError::UseTablesForSources", "forced table syntax");
        expected.put("PlanError::UseTablesForSources(FOR ALL TABLES)", "forced table syntax");
        expected.put("TransientError::MissingReplicationSlot", "slot missing");
        expected.put("DefiniteError::SlotCompactedPastResumePoint", "overcompacted");
        expected.put("DefiniteError::InvalidPhysicalReplica", "replica promoted");
        expected.put("PlanError::TableContainsUningestableTypes", "uningestable types");
        expected.put("VarError::RequiresFeatureFlag(enable_create_table_from_source)", "source table syntax");
        // the toolkit sends no ALTER CLUSTER … WITH (WAIT …), the only statement this flag refuses
        Set<String> notSent = Set.of("VarError::RequiresFeatureFlag(enable_zero_downtime_cluster_reconfiguration)");
        List<String> wrong = new ArrayList<>();
        for (MzFacts.CodeError e : MzFacts.pinned().runtimeErrors()) {
            String text = e.text().replace("{0:?}", "\"mz_source\"").replace("{command}", "FOR ALL TABLES").replace("{name}", "t")
                    .replace("{column}", "c").replace("{type_}", "regtype").replace("{database}", "neondb")
                    .replace("{requested_lsn}", "0/16B3748").replace("{available_lsn}", "0/16B3800").replace("{expected}", "1")
                    .replace("{actual}", "2").replace("{0}", "x").replace("{1}", "y")
                    + (e.detail() == null ? "" : "\n  detail: " + e.detail().replace("{}", "public.t"));
            MzErrors.Known k = MzErrors.match(text);
            String want = expected.get(e.name());
            if (notSent.contains(e.name())) {
                continue;
            }
            if (want == null && k == null) {
                wrong.add(e.name() + " (" + e.stage() + "): no MzErrors entry matches '" + text.replace("\n", " ") + "'");
            } else if (want != null && (k == null || !k.name().equals(want))) {
                wrong.add(e.name() + ": '" + text.replace("\n", " ") + "' matched " + (k == null ? "nothing" : k.name())
                        + ", expected " + want);
            }
        }
        assertEquals(List.of(), wrong);
    }

    // ---- version awareness ------------------------------------------------------------------------------

    @Test
    void theVersionIsReadOnceAndShown() {
        MzStandIn mz = scenario();
        TestPg.Run json = TestPg.run(new CreateCluster(), mz.env(null), "--json");
        assertEquals(0, json.exit(), json.all());
        assertEquals(MzFacts.pinned().tag(), json.json().get("materialize_version").getAsString());
        TestPg.Run human = TestPg.run(new CreateCluster(), mz.env(null));
        assertTrue(human.out().startsWith("Materialize " + MzFacts.pinned().tag() + " at 127.0.0.1:"), human.out());
    }

    @Test
    void aReleaseOlderThanTheMinimumIsRefusedNamingIt() {
        MzStandIn old = MzStandIn.ofVersion("v0.147.20");
        for (Object cmd : List.of(new CreateCluster(), new MonitorIngestion(), new RightSize())) {
            TestPg.Run r = TestPg.run(cmd, old.env(null));
            assertEquals(Exit.UNSUPPORTED, r.exit(), r.all());
            assertTrue(r.err().contains("Materialize v0.147.20 is older than v26.0.0, the oldest release this toolkit supports"),
                    r.err());
            assertTrue(r.err().contains("upgrade Materialize to v26.0.0 or newer"), r.err());
        }
        assertEquals(0, TestPg.run(new CreateCluster(), MzStandIn.ofVersion("v26.0.0").env(null), "--dry-run").exit());
    }

    @Test
    void anUpstreamPostgresGivenAsMaterializeIsNamedAsSuch() {
        String db = TestPg.newDatabase();
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        env.put("MZ_URL", env.get("DATABASE_URL"));
        env.put("MZ_PASSWORD", TestPg.server().readSecret("owner.password"));
        TestPg.Run r = TestPg.run(new CreateCluster(), env);
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("is not Materialize (it has no mz_version())"), r.err());
    }

    @Test
    void sourceChoosesTheSyntaxByVersionAndFlagAndSaysWhy() {
        MzStandIn mz = scenario();
        Map<String, String> env = mz.env(SourceFixtures.database());
        TestPg.Run r = TestPg.run(new CreateSource(), env, "--source", "another", "--json");
        // the pinned build is past the gate: the new syntax, by version, the flag being unreadable
        assertTrue(MzFacts.pinned().gate("create_table_from_source_default_on").appliesTo(MzFacts.pinned().tag()));
        assertEquals("new", r.json().get("syntax").getAsString(), r.all());
        assertTrue(r.json().get("syntax_reason").getAsString().startsWith("Materialize " + MzFacts.pinned().tag()
                + ": the new syntax is on by default from " + Mz.NEW_SOURCE_SYNTAX_DEFAULT
                + " (enable_create_table_from_source, a feature flag only mz_system can read)"), r.out());
        assertTrue(r.json().get("syntax_flag_error").getAsString().contains("enable_create_table_from_source"), r.out());
        assertEquals(Boolean.FALSE, MzFacts.pinned().flagUserVisible("enable_create_table_from_source"));
        assertEquals("feature flag", MzFacts.pinned().flagKind("enable_create_table_from_source"));
        assertEquals(Boolean.TRUE, MzFacts.pinned().flagUserVisible("force_source_table_syntax"),
                "force_source_table_syntax can be read by the user: source reads it");
    }

    // ---- the facts are load-bearing: break one, and the check fails ------------------------------------

    @Test
    void aBrokenColumnFactFailsTheQueriesThatReadIt() throws Exception {
        MzFacts broken = MzFacts.pinned().copy().withoutColumn("mz_internal.mz_source_statistics", "offset_committed");
        MzStandIn mz = new MzStandIn(TestPg.server(), broken, null);
        List<Sent> reading = sent.stream().filter(s -> s.sql().contains("offset_committed")).toList();
        assertFalse(reading.isEmpty());
        try (Connection c = standInConnection(mz)) {
            for (Sent s : reading) {
                assertEquals(List.of(), MzFidelity.problems(MzFacts.pinned(), s.sql(), explain), s.sql());
                List<String> p = MzFidelity.problems(broken, s.sql(), c);
                assertEquals(1, p.size(), s.sql());
                assertTrue(p.get(0).contains("offset_committed") && p.get(0).contains("does not exist"), p.get(0));
            }
        }
    }

    @Test
    void aBrokenSizeRelationOrParserFactFailsToo() {
        String create = "CREATE CLUSTER ingest_postgres (SIZE = '50cc')";
        assertEquals(List.of(), MzFidelity.problems(MzFacts.pinned(), create, null));
        MzFacts noSize = MzFacts.pinned().copy().renameSize("cloud_legacy", "50cc", "55cc").renameSize("self_managed", "50cc", "55cc")
                .renameSize("emulator", "50cc", "55cc");
        assertTrue(MzFidelity.problems(noSize, create, null).get(0).startsWith("size '50cc' is in no pinned size list")
                || MzFidelity.problems(noSize, create, null).get(0).startsWith("size 50cc is in no pinned size list"),
                MzFidelity.problems(noSize, create, null).toString());

        String egress = AllowMaterializeIps.GUIDE_SQL;
        assertEquals(List.of(), MzFidelity.problems(MzFacts.pinned(), egress, explain));
        MzFacts noEgress = MzFacts.pinned().copy();
        noEgress.json.getAsJsonArray("relations").asList().removeIf(r -> r.getAsJsonObject().get("name").getAsString()
                .equals("mz_egress_ips"));
        assertTrue(MzFidelity.problems(noEgress, egress, null).get(0).startsWith("reads mz_egress_ips (mz_catalog.mz_egress_ips: "
                + "a bare name resolves in mz_catalog), which is not among the pinned relations of " + MzFacts.pinned().tag()),
                MzFidelity.problems(noEgress, egress, null).toString());

        String validate = "VALIDATE CONNECTION pg_connection";
        assertEquals(List.of(), MzFidelity.problems(MzFacts.pinned(), validate, null));
        MzFacts noCase = MzFacts.pinned().copy();
        noCase.json.getAsJsonArray("parser_cases").asList().removeIf(c -> c.getAsJsonObject().get("kind").getAsString()
                .equals("VALIDATE CONNECTION"));
        assertEquals(List.of("anchor gone from the pinned parser cases: VALIDATE CONNECTION kafka_conn",
                "keyword VALIDATE appears in no pinned parser case or docs syntax of VALIDATE CONNECTION: " + validate,
                "keyword CONNECTION appears in no pinned parser case or docs syntax of VALIDATE CONNECTION: " + validate),
                MzFidelity.problems(noCase, validate, null));

        assertTrue(MzFidelity.problems(MzFacts.pinned(), "CREATE SOURCE s FROM POSTGRES CONNECTION c (PUBLICATION 'p', "
                + "RETAIN HISTORY = FOR '1d') FOR ALL TABLES", null).get(0).startsWith("no pinned grammar fact covers"));
        assertTrue(MzFidelity.problems(MzFacts.pinned(), "SELECT relname FROM pg_catalog.pg_class", null).get(0)
                .startsWith("reads pg_catalog.pg_class on Materialize"));
        assertTrue(MzFidelity.problems(MzFacts.pinned(), "CREATE CONNECTION c TO POSTGRES (HOST 'h', SSL MODE 'prefer')", null)
                .get(0).startsWith("SSL MODE 'prefer' is not one of the pinned modes"));
    }
}
