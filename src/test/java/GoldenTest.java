import static org.junit.jupiter.api.Assertions.assertEquals;

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
    }

    @TestFactory
    Stream<DynamicTest> golden() {
        String db = TestPg.newDatabase();
        return CASES.stream().map(c -> DynamicTest.dynamicTest((String) c[0], () -> check((String) c[0], (String) c[1],
                (String) c[2], (String[]) c[3], db)));
    }

    static void check(String name, String note, String alias, String[] args, String db) throws Exception {
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        env.remove("MZ_URL");
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--dry-run");
        a.add("--json");
        TestPg.Run r = TestPg.run(Commands.of(alias), env, a.toArray(String[]::new));
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        StringBuilder actual = new StringBuilder();
        for (JsonElement s : j.getAsJsonArray("statements")) {
            String sql = s.getAsString();
            actual.append(sql).append(sql.endsWith(";") ? "" : ";").append('\n');
        }
        Path file = DIR.resolve(name + ".sql");
        List<String> shown = new ArrayList<>(List.of("./jbang", alias));
        List.of(args).forEach(x -> shown.add(neonmz.Out.shellQuote(x)));
        shown.add("--dry-run");
        String header = "-- " + note + "\n-- " + String.join(" ", shown) + "\n";
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
