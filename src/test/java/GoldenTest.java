import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Golden SQL for the Materialize steps: for each option set, the exact statements a script sends (its
 * --dry-run plan, which needs no Materialize) must equal src/test/resources/golden/NAME.sql, files
 * reviewed against ../shared/reference/materialize.md (each says which section). Lines starting with
 * "--" are the review notes. Regenerate on purpose: mvn test -Dtest=GoldenTest -Dgolden.update=true
 */
class GoldenTest {
    static final Path DIR = Path.of(System.getProperty("repo.root", ".")).resolve("src/test/resources/golden");

    /** name, reference note, alias, args. Upstream-reading cases get a lab database through DATABASE_URL. */
    static final List<Object[]> CASES = new ArrayList<>();

    static void add(String name, String note, String alias, String... args) {
        CASES.add(new Object[] {name, note, alias, args});
    }

    static {
        add("cluster-default", "materialize.md C.1: CREATE CLUSTER ingest_postgres (SIZE = '50cc')", "cluster");
        add("cluster-size-rf", "materialize.md C.1: SIZE and REPLICATION FACTOR; odd name quoted", "cluster",
                "--name", "Ingest PG", "--size", "M.1-small", "--replication-factor", "2");

        // C.2: the password comes from $MZ_REPLICATION_PASSWORD (set in check()); it must print as '********'
        String neon = SourceFixtures.NEON_URL;
        add("connection-default", "materialize.md C.2: CREATE SECRET + CREATE CONNECTION (validates itself); Neon host "
                + "→ SSL MODE 'require'; channel_binding dropped", "connection", "--pg-url", neon);
        add("connection-rotate", "materialize.md C.2: ALTER SECRET name AS value, then VALIDATE CONNECTION",
                "connection", "--pg-url", neon, "--rotate");
        add("connection-replace-no-validate", "materialize.md C.2: WITH (VALIDATE = false); --replace drops and re-creates",
                "connection", "--pg-url", neon, "--replace", "--no-validate");
        add("connection-odd-names", "materialize.md C.2: names quoted as identifiers, values as literals", "connection",
                "--pg-url", "postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech:5433/Shop%20DB?sslmode=require",
                "--secret", "Neon PW", "--connection", "pg \"prod\"", "--role", "Mz Ingest");
        add("connection-ssl-verify-full", "materialize.md C.2: SSL MODE verify_full (libpq's verify-full spelled "
                + "Materialize's way)", "connection", "--pg-url", neon, "--ssl-mode", "verify-full");
        add("connection-lab-in-docker", "materialize.md C.2 + Running Materialize yourself: the lab seen from the "
                + "emulator's container; sslmode=disable kept", "connection",
                "--pg-url", "postgresql://neondb_owner@127.0.0.1:5432/neondb?sslmode=disable",
                "--upstream-host", "host.docker.internal");
        add("connection-local-default-ssl", "materialize.md C.2: no sslmode given, local host → SSL MODE 'disable' "
                + "(prefer is not a Materialize mode)", "connection", "--pg-url", "postgresql://neondb_owner@localhost/neondb");

        // C.3: DATABASE_URL is a lab copy with publications mz_source and mz_types (SourceFixtures)
        add("source-default", "materialize.md C.3 new tab (Materialize's default from v26.25, what a dry run plans): "
                + "CREATE SOURCE, then CREATE TABLE … FROM SOURCE (REFERENCE schema.t) WITH (TEXT COLUMNS (c)) in one "
                + "transaction; Considerations: the enum orders.status as text", "source");
        add("source-legacy", "materialize.md C.3 legacy tab: FOR ALL TABLES; Considerations: the enum "
                + "orders.status goes in TEXT COLUMNS", "source", "--syntax", "legacy");
        add("source-legacy-for-tables-analyze", "materialize.md C.3: the ANALYZE tip (upstream), then FOR TABLES (…); "
                + "TEXT COLUMNS only for the tables added", "source", "--syntax", "legacy", "--for-tables",
                "orders,\"Order Items\"", "--analyze");
        add("source-for-schemas-exclude", "materialize.md C.3: FOR SCHEMAS (…), EXCLUDE COLUMNS, a --text-column "
                + "of a supported type", "source", "--syntax", "legacy", "--for-schemas", "public", "--exclude-column",
                "public.\"Order Items\".attributes", "--text-column", "customers.email");
        add("source-exclude-wins", "materialize.md C.3: an excluded column is not also in TEXT COLUMNS", "source",
                "--syntax", "legacy", "--exclude-column", "public.orders.status");
        add("source-types-legacy", "materialize.md Considerations: money, domain, composite, enum array, inet, enum as "
                + "TEXT COLUMNS; orders in two schemas → FOR TABLES with AS; odd names quoted", "source",
                "--syntax", "legacy", "--publication", "mz_types", "--source", "Sales Source", "--cluster", "Ingest PG",
                "--connection", "pg \"prod\"");
        add("source-types-new", "materialize.md C.3 new tab with the same types; EXCLUDE COLUMNS per table", "source",
                "--publication", "mz_types", "--syntax", "new", "--exclude-column",
                "\"Sales Ops\".\"Invoice \"\"Q1\"\"\".note");
        add("monitor-default", "materialize.md C.4: the docs' status + snapshot_committed queries joined (one per tick), "
                + "progress round(100.0*staged/NULLIF(known,0),2), lag offset_known - offset_committed, hydration; "
                + "upstream: C.5's pg_current_wal_lsn() - confirmed_flush_lsn for the slot", "monitor");
        add("monitor-odd-source", "materialize.md C.4: the source name is a literal, quoted; the plan is the same when "
                + "repeated", "monitor", "--source", "we'ird source", "--until-snapshotted", "--timeout", "2h");
        add("right-size-default", "materialize.md C.5: replicas (SHOW CLUSTER REPLICAS from the catalog) with "
                + "heap_percent, sizes by credits, snapshot state, the docs' slot query (step 1) and upstream (step 2); "
                + "no change without --apply", "right-size");
        add("right-size-apply-size", "materialize.md C.5: ALTER CLUSTER ingest_postgres SET (SIZE '100cc'), the docs' "
                + "form without '='", "right-size", "--size", "100cc", "--apply");
        add("right-size-odd-cluster", "materialize.md C.5: the cluster name quoted as an identifier and as a literal",
                "right-size", "--cluster", "Ingest PG", "--size", "M.1-small", "--apply");
        add("explore-default", "materialize.md D: SHOW SOURCES / SHOW TABLES as catalog queries (the tables a source "
                + "feeds, with their upstream tables)", "explore");
        add("explore-examples-subscribe", "materialize.md D: CREATE VIEW + CREATE INDEX, CREATE MATERIALIZED VIEW, "
                + "SUBSCRIBE through a cursor (DECLARE … FETCH ALL c WITH (timeout = '1s'))", "explore",
                "--create-examples", "--cluster", "compute", "--subscribe-seconds", "10");
        add("watch-materialize-heartbeat", "materialize.md C.4: each tick, the status of the source and of what it "
                + "feeds (stalled/failed/ceased) and its lag offset_known - offset_committed, the session kept; upstream: "
                + "watch's reads (identity, grants, --all-in-schema, slots) and the heartbeat", "watch",
                "--mz-url", "postgresql://materialize@127.0.0.1:1/materialize", "--heartbeat", "--all-in-schema",
                "--source", "we'ird source");
        add("teardown-materialize", "materialize.md C.1-C.3 undone in reverse (docs: DROP SOURCE/CONNECTION/SECRET/CLUSTER "
                + "[IF EXISTS] name [CASCADE]): the plan from the names when Materialize is not reachable", "teardown",
                "--materialize-only", "--mz-url", "postgresql://materialize@127.0.0.1:1/materialize");
        add("teardown-materialize-odd-names", "as teardown-materialize, names quoted as identifiers", "teardown",
                "--materialize-only", "--mz-url", "postgresql://materialize@127.0.0.1:1/materialize",
                "--source", "Sales Source", "--connection", "pg \"prod\"", "--secret", "Neon PW", "--cluster", "Ingest PG");
    }

    @TestFactory
    Stream<DynamicTest> golden() {
        String db = SourceFixtures.database();
        return CASES.stream().map(c -> DynamicTest.dynamicTest((String) c[0], () -> check((String) c[0], (String) c[1],
                (String) c[2], (String[]) c[3], db)));
    }

    static void check(String name, String note, String alias, String[] args, String db) throws Exception {
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        env.remove("MZ_URL");
        env.put("MZ_REPLICATION_PASSWORD", "golden-replication-pw-1");
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--dry-run");
        a.add("--json");
        TestPg.Run r = TestPg.run(Commands.of(alias), env, a.toArray(String[]::new));
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        List<String> statements = new ArrayList<>();
        j.getAsJsonArray("statements").forEach(s -> statements.add(s.getAsString()));
        List<String> shown = new ArrayList<>(List.of("./jbang", alias));
        List.of(args).forEach(x -> shown.add(neonmz.Out.shellQuote(x)));
        shown.add("--dry-run");
        compare(name, "-- " + note + "\n-- " + String.join(" ", shown) + "\n", statements);
    }

    /** {@code statements} against src/test/resources/golden/NAME.sql (its "--" lines are the review notes). */
    static void compare(String name, String header, List<String> statements) throws IOException {
        StringBuilder actual = new StringBuilder();
        for (String sql : statements) {
            actual.append(sql).append(sql.endsWith(";") ? "" : ";").append('\n');
        }
        Path file = DIR.resolve(name + ".sql");
        if (Boolean.getBoolean("golden.update")) {
            Files.createDirectories(DIR);
            Files.writeString(file, header + actual, StandardCharsets.UTF_8);
            return;
        }
        String expected = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        StringBuilder body = new StringBuilder();
        for (String line : expected.split("\n", -1)) {
            if (!line.startsWith("--") && !line.isEmpty()) {
                body.append(line).append('\n');
            }
        }
        assertEquals(body.toString(), actual.toString(), name + ": the statements differ from " + file
                + " (regenerate with -Dgolden.update=true and review against the reference)");
    }
}
