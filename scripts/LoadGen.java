///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//SOURCES ../lib/neonmz/Traffic.java
//DESCRIPTION Workshop: traffic on the lab schema (inserts, updates, deletes at a rate, for a time or a count), then what it did per table, so the tap's and Materialize's counts can be checked against it.

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

import neonmz.Catalog;
import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import neonmz.Traffic;
import neonmz.Traffic.Target;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Workshop traffic: inserts, updates and deletes on tables (by default the lab's demo shop) at a given
 * rate, for a given time or number of changes, then a count per table and kind of change, and the tables'
 * row counts. Those counts are what `tap` and Materialize should show for the same period.
 *
 * <p>Values come from the column types (enums from their labels, numerics within their precision, text,
 * jsonb, timestamps…); a foreign key takes an existing parent row; a column in a unique index of an
 * integer type takes max + 1. Deletes pick a row no foreign key refers to, so they never fail on a
 * dependent row (the lab: an order with items, a customer with orders). Each changed row is one change:
 * one row per statement, chosen with {@code ctid = (SELECT ctid … ORDER BY random() LIMIT 1)}.
 */
@Command(name = "loadgen", mixinStandardHelpOptions = true,
        description = {"Workshop traffic: inserts, updates and deletes on tables (default the lab's demo tables) at "
                + "--rate changes per second, for --for or until --count changes, --batch statements per transaction; "
                + "then the changes made per table and kind, and each table's row count.",
                "Deletes choose rows no foreign key refers to. --seed N repeats a run on the same data (each run shows its seed)."},
        footer = {"%nExamples:",
                "  ./jbang loadgen                                  # 10/s for 30s on the lab's tables",
                "  ./jbang loadgen --rate 50 --for 2m --mix insert=80,update=15,delete=5",
                "  ./jbang loadgen --count 1000 --rate 0 --batch 100 --tables orders --json"})
public class LoadGen implements Callable<Integer> {
    static final String DEFAULT_TABLES = "customers,orders,\"Order Items\",page_views";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-t", "--tables"}, paramLabel = "TABLES", defaultValue = DEFAULT_TABLES,
            description = "Comma-separated tables (quote odd names: '\"Order Items\"'); default the lab's: ${DEFAULT-VALUE}.")
    String tables;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "10",
            description = "Changes per second (default ${DEFAULT-VALUE}); 0: as fast as it can.")
    double rate;

    @Option(names = "--for", paramLabel = "DURATION", converter = Durations.class,
            description = "How long (default 30s, unless --count is given).")
    Duration duration;

    @Option(names = "--count", paramLabel = "N", description = "Stop after N changes (rows inserted, updated or deleted).")
    Long count;

    @Option(names = "--mix", paramLabel = "KIND=WEIGHT,…", defaultValue = "insert=60,update=30,delete=10",
            description = "Weights of the kinds of change (default ${DEFAULT-VALUE}).")
    String mix;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
            description = "Statements per transaction (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed of the choices and values (default: a new one each run, shown in the first line): the "
                    + "same seed on the same data makes the same changes.")
    Long seed;

    public static void main(String... args) {
        Cli.main(new LoadGen(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        double[] weights = Traffic.parseMix(mix);
        if (rate < 0) {
            throw Fail.usage("--rate must be 0 (as fast as possible) or more", "e.g. --rate 10");
        }
        if (batch < 1) {
            throw Fail.usage("--batch must be 1 or more", "e.g. --batch 10");
        }
        if (count != null && count < 1) {
            throw Fail.usage("--count must be 1 or more", "e.g. --count 100");
        }
        Durations.requirePositive("--for", duration, "30s");
        if (seed == null) {
            // a seed of its own per run: two loadgens at once then make different values (and keys)
            seed = (long) new java.security.SecureRandom().nextInt(1_000_000);
        }
        Duration limit = duration != null ? duration : count == null ? Duration.ofSeconds(30) : null;
        try (Pg db = pg.connect(o)) {
            List<Target> targets = new ArrayList<>();
            for (Catalog.Table t : Catalog.resolve(db, Sql.parseNames(tables))) {
                targets.add(Traffic.describe(db, t));
            }
            o.line("loadgen: %d table%s, mix %s, %s, %s, seed %d, %d statement%s per transaction",
                    targets.size(), targets.size() == 1 ? "" : "s", Traffic.showMix(weights),
                    rate == 0 ? "as fast as it can" : Traffic.fmt(rate) + "/s",
                    (count != null ? count + " changes" : "") + (count != null && limit != null ? " or " : "")
                            + (limit != null ? "for " + Durations.show(limit) : ""),
                    seed, batch, batch == 1 ? "" : "s");
            Random rnd = new Random(seed);
            if (o.dryRun()) {
                for (Target t : targets) {
                    for (int k = 0; k < 3; k++) {
                        if (weights[k] > 0) {
                            String sql = Traffic.statement(t, k, rnd);
                            if (sql != null && k == 0 && t.makesUpKeys()) {
                                o.statement(Traffic.KEY_LOCK);
                            }
                            if (sql != null) {
                                o.statement(sql);
                            }
                        }
                    }
                }
                o.line("loadgen: would run statements like these (one row each), nothing changed");
                return Exit.OK;
            }
            long[] totals = Traffic.run(o, db, targets, weights, seed, rate, batch, count, limit);
            report(o, db, targets, totals);
            return Exit.OK;
        }
    }

    private void report(Out o, Pg db, List<Target> targets, long[] totals) throws SQLException {
        List<List<Object>> rows = new ArrayList<>();
        List<Map<String, Object>> json = new ArrayList<>();
        long[] sum = new long[3];
        for (Target t : targets) {
            t.rows = ((Number) db.value("SELECT count(*) FROM " + t.q())).longValue();
            rows.add(List.of(t.q(), t.made[0], t.made[1], t.made[2], t.skipped, t.rows));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", t.table.schema() + "." + t.table.name());
            for (int k = 0; k < 3; k++) {
                m.put(Traffic.KINDS[k], t.made[k]);
                sum[k] += t.made[k];
            }
            m.put("skipped", t.skipped);
            m.put("rows", t.rows);
            json.add(m);
        }
        o.table(List.of("table", "insert", "update", "delete", "skipped", "rows"), rows);
        o.put("tables", json);
        o.put("changes", totals[0]);
        for (int k = 0; k < 3; k++) {
            o.put(Traffic.KINDS[k], sum[k]);
        }
        o.put("transactions", totals[1]);
        o.put("seed", seed);
        o.put("run_ms", totals[2]);
        o.line("loadgen: %d changes (%d insert, %d update, %d delete) in %d transaction%s, %d ms", totals[0], sum[0],
                sum[1], sum[2], totals[1], totals[1] == 1 ? "" : "s", totals[2]);
    }

}
