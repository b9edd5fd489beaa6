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
//DESCRIPTION Guide step A.2.2: create the publication Materialize reads from (default mz_source).

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * Guide step A.2.2 — "Create a publication with the tables you want to replicate".
 * The guide: "Be sure to include only the tables you need. If the publication includes additional
 * tables, Materialize will waste resources on ingesting and then immediately discarding the data."
 * So an existing publication gets the missing tables added, and loses extra ones only with --sync.
 */
@Command(name = "publication", mixinStandardHelpOptions = true,
        description = {"Guide step A.2.2: create the publication Materialize reads from, FOR TABLE … or "
                + "FOR ALL TABLES. When it exists: show the difference, add missing tables, and remove "
                + "extra ones only with --sync."},
        footer = {"%nExamples:",
                "  ./jbang publication --table orders,customers",
                "  ./jbang publication --table '\"Order Items\"' --table page_views --sync",
                "  ./jbang publication --schema public --dry-run",
                "  ./jbang publication --all-tables   # needs a superuser (on Neon: neon_superuser)"})
public class CreatePublication implements Callable<Integer>, Cli.Resumable {
    // The guide's SQL (A.2.2), and what keeps an existing publication in step.
    static final String CREATE_FOR_TABLES = "CREATE PUBLICATION %s FOR TABLE %s";
    static final String CREATE_FOR_ALL = "CREATE PUBLICATION %s FOR ALL TABLES";
    static final String ADD_TABLES = "ALTER PUBLICATION %s ADD TABLE %s";
    static final String DROP_TABLES = "ALTER PUBLICATION %s DROP TABLE %s";
    static final String DROP_PUBLICATION = "DROP PUBLICATION %s";

    static final String EXISTING = """
            SELECT puballtables, pubinsert, pubupdate, pubdelete, pubviaroot
            FROM pg_publication WHERE pubname = ?""";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "Publication name (default ${DEFAULT-VALUE}).")
    String name = "mz_source";

    @Option(names = {"-t", "--table"}, paramLabel = "TABLES",
            description = "Tables to publish: name, schema.name, comma-separated, repeatable; double quotes keep a "
                    + "name exactly ('\"Order Items\"').")
    List<String> tables = new ArrayList<>();

    @Option(names = {"-s", "--schema"}, paramLabel = "SCHEMA",
            description = "Publish every table in SCHEMA (listed one by one, as FOR TABLE).")
    List<String> schemas = new ArrayList<>();

    @Option(names = "--all-tables", description = "FOR ALL TABLES (every table, now and later; needs a superuser).")
    boolean allTables;

    @Option(names = "--sync", description = "Make an existing publication exactly what was asked: drop extra tables "
            + "(or re-create it when FOR ALL TABLES and FOR TABLE differ).")
    boolean sync;

    public static void main(String... args) {
        Cli.main(new CreatePublication(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Sql.requireName("publication", name);
        if (allTables == (!tables.isEmpty() || !schemas.isEmpty())) {
            throw Fail.usage("say which tables: --table/--schema, or --all-tables (not both)",
                    "e.g. ./jbang publication --table orders,customers");
        }
        try (Pg db = pg.connect(o)) {
            List<Table> wanted = allTables ? new ArrayList<>() : wanted(db);
            o.put("publication", name);
            List<Map<String, Object>> existing = db.query(EXISTING, name);
            if (existing.isEmpty()) {
                try {
                    return create(o, db, wanted);
                } catch (SQLException e) {
                    if (!Pg.duplicate(e)) {
                        throw e;
                    }
                    // another run created it between the read and the CREATE: go on as a re-run would
                    o.line("publication %s: created meanwhile by another session; checking its tables", name);
                    existing = db.query(EXISTING, name);
                }
            }
            Map<String, Object> e = existing.get(0);
            warnOptions(o, e);
            boolean existingAll = (Boolean) e.get("puballtables");
            o.put("created", false);
            if (existingAll || allTables) {
                return recreate(o, db, wanted, existingAll);
            }
            return update(o, db, wanted);
        }
    }

    /** The tables of --table and --schema, each once, in the order given. */
    private List<Table> wanted(Pg db) throws SQLException {
        List<Sql.Name> names = new ArrayList<>();
        for (String t : tables) {
            names.addAll(Sql.parseNames(t));
        }
        Set<Table> set = new LinkedHashSet<>(names.isEmpty() ? List.of() : Catalog.resolve(db, names));
        if (!schemas.isEmpty()) {
            // Partitions are published through their root; listing them too would duplicate rows.
            Catalog.inSchemas(db, schemas).stream().filter(t -> !t.partition()).forEach(set::add);
        }
        List<Table> wanted = new ArrayList<>(set);
        if (wanted.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "no tables in schema " + String.join(", ", schemas),
                    "create the tables first, or name them with --table");
        }
        return wanted;
    }

    /** No publication yet: the guide's CREATE PUBLICATION. */
    private int create(Out o, Pg db, List<Table> wanted) throws SQLException {
        String pub = Sql.ident(name);
        String sql = allTables ? String.format(CREATE_FOR_ALL, pub)
                : String.format(CREATE_FOR_TABLES, pub, list(wanted));
        show(o, wanted, Set.of(), allTables);
        db.transaction(List.of(sql));
        o.put("created", true);
        o.put("tables", names(wanted));
        o.line("publication %s: %s%s", name, o.dryRun() ? "would be created" : "created",
                allTables ? " FOR ALL TABLES" : " with " + wanted.size() + " table" + (wanted.size() == 1 ? "" : "s"));
        warnIdentity(o, db, wanted);
        return Exit.OK;
    }

    /** FOR ALL TABLES asked or found: done when both are; otherwise re-created, only with --sync. */
    private int recreate(Out o, Pg db, List<Table> wanted, boolean existingAll) throws SQLException {
        if (existingAll && allTables) {
            o.line("publication %s: already done (FOR ALL TABLES)", name);
            o.put("already_done", true);
            return Exit.OK;
        }
        String have = existingAll ? "FOR ALL TABLES" : "FOR TABLE …";
        String asked = allTables ? "FOR ALL TABLES" : "FOR TABLE " + list(wanted);
        if (!sync) {
            throw new Fail(Exit.CONFLICT, "publication " + name + " exists as " + have + ", but " + asked
                    + " was asked", "add --sync to re-create it as asked (one transaction), or choose "
                    + "another --name");
        }
        // Switching between FOR ALL TABLES and a list needs DROP + CREATE; atomic in one transaction.
        String pub = Sql.ident(name);
        String create = allTables ? String.format(CREATE_FOR_ALL, pub)
                : String.format(CREATE_FOR_TABLES, pub, list(wanted));
        db.transaction(List.of(String.format(DROP_PUBLICATION, pub), create));
        o.line("publication %s: %s as %s", name, o.dryRun() ? "would be re-created" : "re-created",
                allTables ? "FOR ALL TABLES" : "FOR TABLE");
        o.put("recreated", true);
        return Exit.OK;
    }

    /** A FOR TABLE publication: the missing tables added, the extra ones dropped only with --sync. */
    private int update(Out o, Pg db, List<Table> wanted) throws SQLException {
        String pub = Sql.ident(name);
        List<Table> current = Catalog.inPublicationRel(db, name);
        Set<Table> missing = new LinkedHashSet<>(wanted);
        current.forEach(missing::remove);
        Set<Table> extra = new LinkedHashSet<>(current);
        wanted.forEach(extra::remove);
        show(o, wanted, extra, false);
        List<String> sqls = new ArrayList<>();
        if (!missing.isEmpty()) {
            sqls.add(String.format(ADD_TABLES, pub, list(new ArrayList<>(missing))));
        }
        if (sync && !extra.isEmpty()) {
            sqls.add(String.format(DROP_TABLES, pub, list(new ArrayList<>(extra))));
        }
        o.put("added", names(new ArrayList<>(missing)));
        o.put("extra", names(new ArrayList<>(extra)));
        o.put("removed", sync ? names(new ArrayList<>(extra)) : List.of());
        if (sqls.isEmpty() && extra.isEmpty()) {
            o.line("publication %s: already done (%d table%s)", name, wanted.size(), wanted.size() == 1 ? "" : "s");
            o.put("already_done", true);
            return Exit.OK;
        }
        db.transaction(sqls);
        if (!sync && !extra.isEmpty()) {
            o.warn("publication " + name + " also holds " + extra.size() + " table(s) not asked for: "
                    + list(new ArrayList<>(extra)) + "; Materialize would ingest and discard their changes. "
                    + "Run again with --sync to remove them.");
        }
        String verb = o.dryRun() ? "would be " : "";
        o.line("publication %s: %d table%s, %s%d added, %s%d removed", name,
                current.size() + missing.size() - (sync ? extra.size() : 0),
                current.size() + missing.size() - (sync ? extra.size() : 0) == 1 ? "" : "s",
                verb, missing.size(), verb, sync ? extra.size() : 0);
        o.put("already_done", sqls.isEmpty());
        warnIdentity(o, db, wanted);
        return Exit.OK;
    }

    static String list(List<Table> ts) {
        List<String> q = new ArrayList<>();
        for (Table t : ts) {
            q.add(t.qualified());
        }
        return String.join(", ", q);
    }

    static List<String> names(List<Table> ts) {
        List<String> q = new ArrayList<>();
        for (Table t : ts) {
            q.add(t.schema() + "." + t.name());
        }
        return q;
    }

    private void show(Out o, List<Table> wanted, Set<Table> extra, boolean all) {
        if (all || (wanted.size() + extra.size() > 50 && !o.verbose())) {
            return; // one row per table for up to 50 tables (or --verbose)
        }
        List<List<Object>> rows = new ArrayList<>();
        for (Table t : wanted) {
            rows.add(List.of(t.qualified(), "publish"));
        }
        for (Table t : extra) {
            rows.add(List.of(t.qualified(), sync ? "remove (--sync)" : "extra (kept; --sync removes)"));
        }
        o.table(List.of("table", "in publication " + name), rows);
    }

    /** Materialize needs every published change type and rejects publish_via_partition_root. */
    private void warnOptions(Out o, Map<String, Object> e) {
        if (!(Boolean) e.get("pubinsert") || !(Boolean) e.get("pubupdate") || !(Boolean) e.get("pubdelete")) {
            o.warn("publication " + name + " does not publish every insert, update and delete; Materialize needs "
                    + "all three: ALTER PUBLICATION " + Sql.ident(name) + " SET (publish = 'insert, update, delete, truncate')");
        }
        if ((Boolean) e.get("pubviaroot")) {
            o.warn("publication " + name + " has publish_via_partition_root = true, which Materialize does not "
                    + "support (\"can produce incorrect results\"): ALTER PUBLICATION " + Sql.ident(name)
                    + " SET (publish_via_partition_root = false)");
        }
    }

    /** The next step's hint: Materialize refuses tables without REPLICA IDENTITY FULL. */
    private void warnIdentity(Out o, Pg db, List<Table> wanted) {
        List<String> notFull = new ArrayList<>();
        for (Table t : wanted) {
            if (t.identity() != 'f' && !t.partitioned()) {
                notFull.add(t.qualified());
            }
        }
        if (!notFull.isEmpty()) {
            o.put("not_replica_identity_full", notFull);
            o.warn(notFull.size() + " published table(s) lack REPLICA IDENTITY FULL, which Materialize requires: "
                    + String.join(", ", notFull) + "; fix: ./jbang replica-identity --publication " + Out.shellQuote(name));
        }
    }
}
