///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step C.1: create the Materialize cluster that hosts the source (default ingest_postgres, 50cc).

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step C.1 — "(Optional) Create a cluster". The docs: "A cluster of size 50cc should be enough to
 * accommodate multiple PostgreSQL sources"; resize later with ALTER CLUSTER (./jbang right-size). The
 * size is checked against the sizes the server itself lists (mz_cluster_replica_sizes): the emulator
 * takes 25cc–3200cc only, Cloud also the M.1 sizes.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Guide step C.1: CREATE CLUSTER ingest_postgres (SIZE = '50cc') when it does not exist. An "
                + "existing cluster of another size is reported, not changed (./jbang right-size changes sizes)."},
        footer = {"%nExamples:",
                "  ./jbang cluster",
                "  ./jbang cluster --size M.1-small --replication-factor 2 --mz-url \"$MZ_URL\"",
                "  ./jbang cluster --dry-run   # no Materialize needed"})
public class CreateCluster implements Callable<Integer> {
    /** The guide's statement (C.1); REPLICATION FACTOR only when not the default 1. */
    static final String CREATE = "CREATE CLUSTER %s (SIZE = %s)";
    static final String CREATE_RF = "CREATE CLUSTER %s (SIZE = %s, REPLICATION FACTOR = %d)";
    static final String EXISTING = """
            SELECT size, replication_factor, managed FROM mz_catalog.mz_clusters WHERE name = ?""";
    static final String SIZES = """
            SELECT size FROM mz_catalog.mz_cluster_replica_sizes ORDER BY credits_per_hour, size""";

    @Mixin MzOptions mz;
    @Mixin OutputOptions out;

    @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "Cluster name (default ${DEFAULT-VALUE}).")
    String name = "ingest_postgres";

    @Option(names = "--size", paramLabel = "SIZE", description = "Replica size (default ${DEFAULT-VALUE}), e.g. 25cc, 100cc, M.1-small.")
    String size = "50cc";

    @Option(names = "--replication-factor", paramLabel = "N", description = "Replicas (default ${DEFAULT-VALUE}).")
    int replicationFactor = 1;

    public static void main(String... args) {
        Cli.main(new CreateCluster(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Sql.requireName("name", name);
        if (replicationFactor < 0) {
            throw Fail.usage("--replication-factor must be 0 or more", "1 is the default; 0 pauses the cluster");
        }
        String sql = replicationFactor == 1
                ? String.format(CREATE, Sql.ident(name), Sql.literal(size))
                : String.format(CREATE_RF, Sql.ident(name), Sql.literal(size), replicationFactor);
        o.put("cluster", name);
        o.put("size", size);
        o.put("replication_factor", replicationFactor);
        try (Mz db = Mz.connect(mz, o)) {
            if (db.planOnly()) {
                o.line("-- plan (Materialize not contacted): run only if cluster %s does not exist;", name);
                o.line("-- the size is checked against mz_cluster_replica_sizes at run time");
                db.exec(sql);
                return Exit.OK;
            }
            List<Map<String, Object>> existing = db.query(EXISTING, name);
            if (!existing.isEmpty()) {
                Map<String, Object> e = existing.get(0);
                Object have = e.get("size");
                Object rf = e.get("replication_factor");
                o.put("already_done", true);
                o.put("existing_size", have);
                if (!size.equals(have) || (rf != null && ((Number) rf).intValue() != replicationFactor)) {
                    o.warn("cluster " + name + " exists with SIZE " + have + " and REPLICATION FACTOR " + rf
                            + " (asked: " + size + ", " + replicationFactor + "); left as it is. To change it: "
                            + "./jbang right-size --cluster " + Out.shellQuote(name) + " --size " + size + " --apply");
                }
                o.line("cluster %s: already done (exists, SIZE %s, REPLICATION FACTOR %s)", name, have, rf);
                return Exit.OK;
            }
            List<String> sizes = new ArrayList<>();
            for (Map<String, Object> r : db.query(SIZES)) {
                sizes.add((String) r.get("size"));
            }
            if (!sizes.isEmpty() && !sizes.contains(size)) {
                throw Fail.usage("size " + size + " is not one this Materialize offers",
                        "choose one of: " + String.join(", ", sizes));
            }
            db.exec(sql);
            o.put("created", true);
            o.line("cluster %s: created (SIZE %s, REPLICATION FACTOR %d)", name, size, replicationFactor);
            return Exit.OK;
        }
    }
}
