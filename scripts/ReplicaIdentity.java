///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step A.2.1: set REPLICA IDENTITY FULL on the tables to replicate, only where needed, in batches.

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import neonmz.Catalog;
import neonmz.Catalog.Table;
import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step A.2.1 — "For each table that you want to replicate to Materialize, set the replica
 * identity to FULL". FULL puts the whole old row into the WAL on UPDATE and DELETE, which lets
 * Materialize ingest with little in-memory state, at the cost of more WAL ("expect increased disk
 * usage in your Neon database").
 *
 * Many tables: each ALTER takes an ACCESS EXCLUSIVE lock held to the end of its transaction, and the
 * server's lock table holds about max_locks_per_transaction × (max_connections +
 * max_prepared_transactions) locks (6,400 by default: one transaction of 10,000 ALTERs fails with "out
 * of shared memory"). So the ALTERs go in batches sized from those settings, each batch one atomic
 * transaction sent in one round trip; a re-run skips what is FULL already and so finishes an
 * interrupted run.
 */
@Command(name = "replica-identity", mixinStandardHelpOptions = true,
        description = {"Guide step A.2.1: show each table's replica identity and set REPLICA IDENTITY FULL where "
                + "it is not yet, in atomic batches. Partitioned tables are set together with their partitions."},
        footer = {"%nExamples:",
                "  ./jbang replica-identity --table orders,customers",
                "  ./jbang replica-identity --publication mz_source",
                "  ./jbang replica-identity --schema public --dry-run"})
public class ReplicaIdentity implements Callable<Integer>, Cli.Resumable {
    /** The guide's statement. */
    static final String ALTER = "ALTER TABLE %s REPLICA IDENTITY FULL";
    /** A busy table fails the batch after this wait instead of queueing every later query behind it. */
    static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = %s";
    static final String LOCK_SLOTS = """
            SELECT current_setting('max_locks_per_transaction')::int
                   * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)""";

    /** PostgreSQL's syntax for a time setting: a number, optional spaces, an optional unit. */
    static final java.util.regex.Pattern LOCK_TIMEOUT_VALUE =
            java.util.regex.Pattern.compile("\\s*\\d+(\\.\\d+)?\\s*(us|ms|s|min|h|d)?\\s*");

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-t", "--table"}, paramLabel = "TABLES",
            description = "Tables: name, schema.name, comma-separated, repeatable ('\"Order Items\"' keeps case).")
    List<String> tables = new ArrayList<>();

    @Option(names = {"-s", "--schema"}, paramLabel = "SCHEMA", description = "Every table in SCHEMA (repeatable).")
    List<String> schemas = new ArrayList<>();

    @Option(names = {"-p", "--publication"}, paramLabel = "NAME", description = "The tables of publication NAME.")
    String publication;

    @Option(names = "--batch-size", paramLabel = "N",
            description = "ALTERs per transaction (default: from the server's lock table, at most 1000).")
    Integer batchSize;

    @Option(names = "--lock-timeout", paramLabel = "DURATION",
            description = "How long one ALTER may wait for its table lock (default ${DEFAULT-VALUE}).")
    String lockTimeout = "5s";

    public static void main(String... args) {
        Cli.main(new ReplicaIdentity(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        validate();
        try (Pg db = pg.connect(o)) {
            // A partitioned table's own setting is not inherited: set it on every partition as well.
            List<Table> all = Catalog.withPartitions(db, selected(db));
            List<Table> todo = new ArrayList<>();
            for (Table t : all) {
                if (t.identity() != 'f') {
                    todo.add(t);
                }
            }
            show(o, all, todo);
            o.put("tables", all.size());
            o.put("already_full", all.size() - todo.size());
            o.put("to_set", todo.stream().map(t -> t.schema() + "." + t.name()).toList());
            if (todo.isEmpty()) {
                o.line("replica identity: already done (%d table%s FULL)", all.size(), all.size() == 1 ? "" : "s");
                o.put("already_done", true);
                return Exit.OK;
            }
            int size = batchSize != null ? batchSize : autoBatch(db);
            int batches = (todo.size() + size - 1) / size;
            o.put("batch_size", size);
            o.put("batches", batches);
            int done = alterInBatches(o, db, todo, size, batches);
            o.put("set", done);
            o.put("already_done", false);
            o.warn("REPLICA IDENTITY FULL writes whole old rows to the WAL on every UPDATE and DELETE: expect more "
                    + "disk use (and WAL) in the upstream database, as the guide says.");
            o.line("replica identity: %d table%s, %d %sset to FULL%s, %d already FULL", all.size(),
                    all.size() == 1 ? "" : "s", done, o.dryRun() ? "would be " : "",
                    batches > 1 ? " in " + batches + " transactions" : "", all.size() - todo.size());
            return Exit.OK;
        }
    }

    /** The options, checked before connecting. */
    private void validate() {
        int sources = (tables.isEmpty() ? 0 : 1) + (schemas.isEmpty() ? 0 : 1) + (publication == null ? 0 : 1);
        if (sources != 1) {
            throw Fail.usage("say which tables: one of --table, --schema or --publication",
                    "e.g. ./jbang replica-identity --table orders,customers");
        }
        if (batchSize != null && batchSize < 1) {
            throw Fail.usage("--batch-size must be at least 1", "omit it to size batches from the server");
        }
        // The server would reject a bad duration only when the first batch runs (and --dry-run runs none).
        if (!LOCK_TIMEOUT_VALUE.matcher(lockTimeout).matches()) {
            throw Fail.usage("invalid --lock-timeout: " + lockTimeout,
                    "give a duration as PostgreSQL writes it: 5s, 250ms, 1min (a bare number is milliseconds; 0 waits forever)");
        }
    }

    /** The tables asked for: --table, --schema or --publication. */
    private List<Table> selected(Pg db) throws java.sql.SQLException {
        if (!tables.isEmpty()) {
            List<Sql.Name> names = new ArrayList<>();
            tables.forEach(t -> names.addAll(Sql.parseNames(t)));
            return Catalog.resolve(db, names);
        }
        if (!schemas.isEmpty()) {
            return Catalog.inSchemas(db, schemas);
        }
        if (db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", publication) == null) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist",
                    "create it first (./jbang publication --table …), or name the tables with --table");
        }
        return Catalog.inPublication(db, publication);
    }

    /** One row per table for up to 50 tables (or --verbose); beyond that, counts. */
    private static void show(Out o, List<Table> all, List<Table> todo) {
        if (all.size() > 50 && !o.verbose()) {
            o.line("%d tables: %d already FULL, %d to set", all.size(), all.size() - todo.size(), todo.size());
            return;
        }
        List<List<Object>> rows = new ArrayList<>();
        for (Table t : all) {
            boolean full = t.identity() == 'f';
            rows.add(List.of(t.qualified(), kind(t), t.identityName(), full ? "ok" : "set FULL"));
        }
        o.table(List.of("table", "kind", "identity", "action"), rows);
    }

    /**
     * The ALTERs, {@code size} per transaction, each batch atomic and sent in one round trip; a failed
     * batch is rolled back and says how far the run got. Returns the number of tables set.
     */
    private int alterInBatches(Out o, Pg db, List<Table> todo, int size, int batches) {
        int done = 0;
        try (Out.Progress bar = o.progress("replica identity", todo.size())) {
            for (int i = 0; i < todo.size(); i += size) {
                List<Table> batch = todo.subList(i, Math.min(todo.size(), i + size));
                List<String> sqls = new ArrayList<>();
                sqls.add(String.format(LOCK_TIMEOUT, Sql.literal(lockTimeout)));
                for (Table t : batch) {
                    sqls.add(String.format(ALTER, t.qualified()));
                }
                try {
                    db.transaction(sqls);
                } catch (java.sql.SQLException e) {
                    Fail f = Pg.translate(e);
                    throw new Fail(f.exit, f.getMessage() + " (batch " + (i / size + 1) + " of " + batches
                            + " rolled back; " + done + " tables were set before it)",
                            f.fix.contains("run the same command again") ? f.fix
                                    : f.fix + "; running the same command again continues where this stopped", e);
                }
                done += batch.size();
                bar.step(batch.size());
            }
        }
        return done;
    }

    /**
     * A quarter of the lock table (other sessions need locks too, and each ALTER may lock a TOAST table
     * besides), at most 1000 per transaction.
     */
    static int autoBatch(Pg db) throws java.sql.SQLException {
        long slots = ((Number) db.value(LOCK_SLOTS)).longValue();
        return (int) Math.max(1, Math.min(1000, slots / 4));
    }

    static String kind(Table t) {
        return t.partitioned() ? "partitioned" : t.partition() ? "partition" : "table";
    }
}
