import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import neonmz.ConnInfo;
import neonmz.Mz;

/**
 * A STAND-IN for Materialize, not Materialize: a PostgreSQL database (of the shared test server) whose schemas
 * {@code mz_catalog} and {@code mz_internal} hold the builtin relations of the pinned facts ({@link MzFacts}: the
 * relations and columns of Materialize's catalog, extracted from its source; types mapped to PostgreSQL's), a
 * {@code mz_version()} that answers the pinned tag (or the version given), and mz_catalog on the search path.
 *
 * <p>Tests describe STATEMENTS ({@link #createCluster}, {@link #createSecret}, {@link #createConnection},
 * {@link #createSource}, {@link #createTableFromSource}, {@link #createView}, {@link #drop}, …) and the stand-in writes
 * every catalog row Materialize writes for them, by Materialize's rules (each rule with its source in
 * docs/materialize-standin.md): ids allocated as Materialize allocates them (one counter for catalog items, u1, u2, …
 * in creation order: a legacy source's progress subsource, then the source, then its subsources in the order of their
 * names); the dependency rows of what each item references (a subsource and a source-fed table depend on their source;
 * the source on its connection and, in the legacy syntax, on its progress subsource; a connection on its secret);
 * mz_sources' types and cluster ids (a subsource runs on its source's cluster, the progress subsource on none);
 * mz_objects; mz_postgres_sources; mz_postgres_source_tables (names SQL-quoted before v26.19.0, raw after).
 *
 * <p>{@code mz_internal.mz_source_statuses} and {@code mz_source_statistics} are views with Materialize's own SQL over
 * the history and raw tables ({@link MzFacts#standInViews}), so {@link #status} and {@link #stats} write what a running
 * Materialize writes (a status event, one replica's raw statistics) and the view derives the rest (a stalled source
 * shown on its subsources, statistics of subsources summed into their source, …). What the storage controller reports
 * on its own (replicas starting, running, paused, dropped) is written only with {@link #withController()}.
 *
 * <p>The older helpers ({@link #source}, {@link #subsource}, {@link #table}) take explicit ids and write the same rows
 * as the statements would. It proves nothing about Materialize's behaviour beyond those rules; MzConformanceTest replays
 * Materialize's own testdrive expectations against it, and the Docker tier runs the real thing.
 */
final class MzStandIn {
    static final String OWNER = "u1";
    static final String PUBLIC_SCHEMA = "u3";

    final Lab.Server server;
    final String db;
    final Mz.Version version;
    /**
     * Where the rows depend on the release, the facts' gates decide (each dated by its commit in Materialize's
     * history), not the toolkit's own constants: names in mz_postgres_source_tables raw from gate
     * postgres_source_tables_raw_names (also test/pg-cdc-old-syntax/pg-cdc.td's constraints), ALTER CLUSTER in the
     * background from gate background_alter_cluster.
     */
    private final MzFacts facts;

    /** A fresh stand-in database on the shared test server (empty but for the catalog tables), owned by neondb_owner. */
    MzStandIn() {
        this(TestPg.server());
    }

    MzStandIn(Lab.Server server) {
        this(server, MzFacts.pinned(), null);
    }

    /** From {@code facts} (a copy broken on purpose, in a test), answering mz_version() with {@code version} (default: the pinned tag). */
    MzStandIn(Lab.Server server, MzFacts facts, String version) {
        this.server = server;
        this.version = Mz.Version.parse(version != null ? version : facts.tag());
        this.facts = facts;
        db = "mz" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        TestPg.exec(server, "postgres", "CREATE DATABASE " + db + " OWNER neondb_owner");
        TestPg.exec(server, "postgres", "ALTER DATABASE " + db + " SET search_path = public, mz_catalog");
        exec(facts.standInDdl());
        withoutWhatIsNewer(facts);
        exec("CREATE FUNCTION mz_catalog.mz_version() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT "
                + q((version != null ? version : facts.tag()) + " (stand-in)") + " $$");
        alterClusterProcedure();
        // three-part names (database.schema.table) work in PostgreSQL only for the current database
        exec("INSERT INTO mz_catalog.mz_databases (id, oid, name, owner_id) VALUES ('u1', 16384, current_database(), 'u1')",
                "INSERT INTO mz_catalog.mz_schemas (id, oid, database_id, name, owner_id) VALUES ('u3', 16385, 'u1', 'public', 'u1')");
        schemas.put("public", PUBLIC_SCHEMA);
    }

    /**
     * The facts describe the pinned build; a stand-in of an older release lacks what a gate says came later
     * (gate → the relation or column it added), so that a script reading it there fails as it would.
     */
    private void withoutWhatIsNewer(MzFacts facts) {
        Map<String, String> added = Map.of("cluster_reconfigurations_relation", "mz_internal.mz_cluster_reconfigurations",
                "show_clusters_activity", "mz_internal.mz_show_clusters.activity");
        for (Map.Entry<String, String> e : added.entrySet()) {
            if (facts.gates().stream().anyMatch(g -> g.name().equals(e.getKey())) && !facts.gate(e.getKey()).appliesTo(version.text())) {
                String[] p = e.getValue().split("\\.");
                exec(p.length == 2 ? "DROP TABLE IF EXISTS " + e.getValue() + " CASCADE"
                        : "ALTER TABLE IF EXISTS " + p[0] + "." + p[1] + " DROP COLUMN IF EXISTS " + p[2] + " CASCADE");
            }
        }
    }

    /**
     * What ALTER CLUSTER … SET (SIZE …) does to the catalog, by release (reached through {@link #wired()}):
     * before v26.35 at once (the cluster restarts: its replicas are replaced by one of the new size, and
     * mz_clusters.size is the new size); from v26.35 in the background (a replica of the new size is added
     * beside the old ones and mz_cluster_reconfigurations holds the resize, in-progress; mz_clusters.size keeps
     * the old size until {@link #cutOver}). Facts: doc/user/content/sql/alter-cluster.md, the commit messages
     * of 8598d82c and 2ea92e64 (docs/materialize-facts.md, "Version gates").
     */
    private void alterClusterProcedure() {
        boolean background = facts.gate("background_alter_cluster").appliesTo(version.text());
        exec("CREATE SCHEMA mz_standin",
                "CREATE SEQUENCE mz_standin.ids START 500",
                "CREATE PROCEDURE mz_standin.alter_cluster_size(cluster_name text, new_size text) LANGUAGE plpgsql AS $$\n"
                        + "DECLARE cid text;\n"
                        + "BEGIN\n"
                        + "  SELECT id INTO cid FROM mz_catalog.mz_clusters WHERE name = cluster_name;\n"
                        + "  IF cid IS NULL THEN RAISE EXCEPTION 'unknown cluster ''%'' ', cluster_name; END IF;\n"
                        + (background
                        ? "  DELETE FROM mz_internal.mz_cluster_reconfigurations WHERE cluster_id = cid;\n"
                        + "  INSERT INTO mz_internal.mz_cluster_reconfigurations (cluster_id, status, on_timeout, target, changes)\n"
                        + "    VALUES (cid, 'in-progress', 'rollback', jsonb_build_object('size', new_size), jsonb_build_object('size', new_size));\n"
                        + "  INSERT INTO mz_catalog.mz_cluster_replicas (id, name, cluster_id, size, owner_id)\n"
                        + "    VALUES ('u' || nextval('mz_standin.ids'), 'r' || nextval('mz_standin.ids'), cid, new_size, 'u1');\n"
                        : "  UPDATE mz_catalog.mz_clusters SET size = new_size WHERE id = cid;\n"
                        + "  DELETE FROM mz_catalog.mz_cluster_replicas WHERE cluster_id = cid;\n"
                        + "  INSERT INTO mz_catalog.mz_cluster_replicas (id, name, cluster_id, size, owner_id)\n"
                        + "    VALUES ('u' || nextval('mz_standin.ids'), 'r1', cid, new_size, 'u1');\n")
                        + "END $$");
    }

    private MzWire wire;

    /** Scripts reach this stand-in through {@link MzWire}, which plays ALTER CLUSTER … SET (SIZE …) (see above). */
    synchronized MzStandIn wired() {
        if (wire == null) {
            try {
                wire = new MzWire(server.port());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            wire.rule("ALTER CLUSTER \"?([^\"\\s]+)\"? SET \\(SIZE\\s*=?\\s*'([^']*)'\\)",
                    "CALL mz_standin.alter_cluster_size('$1', '$2')");
        }
        return this;
    }

    /**
     * Through the wire, the DDL evolve --apply sends is played on this stand-in by the rules above (CREATE TABLE …
     * FROM SOURCE, ALTER SOURCE … ADD SUBSOURCE, ALTER TABLE … RENAME TO, DROP … CASCADE, and views, materialized
     * views and indexes from their create_sql); the storage controller reports snapshots and hydration at once.
     */
    MzStandIn playingDdl() {
        hydrateAtOnce = true;
        MzWire w = wired().wire;
        w.rule("CREATE TABLE (.+?) FROM SOURCE (.+?) \\(REFERENCE (.+?)\\)(?: WITH \\((.*)\\))?", m -> {
            List<String> up = names(m.group(3));
            createTableFromSource(local(m.group(1)), local(m.group(2)), Ref.of(up.get(up.size() - 2), up.get(up.size() - 1)),
                    columnsOf(m.group(4), "TEXT"), columnsOf(m.group(4), "EXCLUDE"));
            return "SELECT 1";
        });
        w.rule("ALTER SOURCE (.+?) ADD SUBSOURCE (.+?) AS (.+?)(?: WITH \\((.*)\\))?", m -> {
            List<String> up = names(m.group(2));
            List<String> as = names(m.group(3));
            String n = as.get(as.size() - 1);
            subsourceText.put(n, columnsOf(m.group(4), "TEXT"));
            subsourceExclude.put(n, columnsOf(m.group(4), "EXCLUDE"));
            addSubsources(local(m.group(1)), Map.of(n, Ref.of(up.get(up.size() - 2), up.get(up.size() - 1))));
            return "SELECT 1";
        });
        w.rule("CREATE SOURCE (.+?) IN CLUSTER (.+?) FROM POSTGRES CONNECTION (.+?) \\(PUBLICATION '((?:[^']|'')*)'"
                + "(?:, (TEXT COLUMNS \\(.*?\\)))?(?:, (EXCLUDE COLUMNS \\(.*?\\)))?\\)(?: FOR TABLES \\((.*)\\))?", m -> {
            Map<String, Ref> subs = null;
            if (m.group(7) != null) {
                subs = new java.util.TreeMap<>(MzStandIn::byBytes);
                for (String part : splitOutsideQuotes(m.group(7))) {
                    String[] upAs = part.split(" AS ", 2);
                    List<String> up = names(upAs[0]);
                    String n = names(upAs[1]).get(names(upAs[1]).size() - 1);
                    subs.put(n, Ref.of(up.get(up.size() - 2), up.get(up.size() - 1)));
                    subsourceText.put(n, columnsFor(m.group(5), up));
                    subsourceExclude.put(n, columnsFor(m.group(6), up));
                }
            }
            nextPublication = m.group(4).replace("''", "'");
            createSource(local(m.group(1)), names(m.group(2)).get(0), "postgres", local(m.group(3)), subs);
            return "SELECT 1";
        });
        w.rule("ALTER (?:TABLE|VIEW|MATERIALIZED VIEW|SOURCE) (.+?) RENAME TO (.+)", m -> {
            rename(local(m.group(1)), names(m.group(2)).get(0));
            return "SELECT 1";
        });
        w.rule("DROP (?:TABLE|SOURCE|VIEW|MATERIALIZED VIEW|INDEX) (.+?)( CASCADE)?", m -> {
            drop(local(m.group(1)), m.group(2) != null);
            return "SELECT 1";
        });
        w.rule("(CREATE (?:VIEW|MATERIALIZED VIEW|INDEX) .*)", m -> {
            define(m.group(1));
            return "SELECT 1";
        });
        return this;
    }

    /** The next statement matching {@code regex} fails (once), as a Materialize that stops midway would. */
    MzStandIn failOnce(String regex, String message) {
        wired().wire.failOnce(regex, message);
        return this;
    }

    /** Of a source's TEXT/EXCLUDE COLUMNS (schema.table.column each), the columns of upstream table {@code up}. */
    private static List<String> columnsFor(String option, List<String> up) {
        List<String> out = new ArrayList<>();
        if (option == null) {
            return out;
        }
        String inner = option.substring(option.indexOf('(') + 1, option.lastIndexOf(')'));
        for (String part : splitOutsideQuotes(inner)) {
            List<String> n = names(part);
            if (n.size() >= 3 && n.get(n.size() - 3).equals(up.get(up.size() - 2)) && n.get(n.size() - 2).equals(up.get(up.size() - 1))) {
                out.add(n.get(n.size() - 1));
            }
        }
        return out;
    }

    /** database.schema.name → schema.name, the stand-in's own key (its one database). */
    private static String local(String dotted) {
        List<String> p = names(dotted);
        return p.size() == 1 ? p.get(0) : p.get(p.size() - 2) + "." + p.get(p.size() - 1);
    }

    /** The columns of {@code TEXT COLUMNS (…)} / {@code EXCLUDE COLUMNS (…)} in a WITH list: each the last part of its name. */
    private static List<String> columnsOf(String with, String which) {
        if (with == null) {
            return List.of();
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(which + " COLUMNS \\(((?:\"(?:[^\"]|\"\")*\"|[^)\"])*)\\)").matcher(with);
        if (!m.find()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : splitOutsideQuotes(m.group(1))) {
            List<String> n = names(part);
            out.add(n.get(n.size() - 1));
        }
        return out;
    }

    private static List<String> splitOutsideQuotes(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (char c : s.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** A session variable every user can SHOW (e.g. force_source_table_syntax), answered through the wire. */
    MzStandIn setting(String name, String value) {
        wired().wire.rule("SHOW " + java.util.regex.Pattern.quote(name), "SELECT " + q(value) + " AS " + name);
        return this;
    }

    /** The background resize of {@code cluster} ends: cut over (finalized), or {@code status} (timed-out, …) with the old size kept. */
    MzStandIn cutOver(String cluster, String status) {
        String cid = "(SELECT id FROM mz_catalog.mz_clusters WHERE name = " + q(cluster) + ")";
        if (status.equals("finalized")) {
            exec("DELETE FROM mz_catalog.mz_cluster_replicas WHERE cluster_id = " + cid + " AND size <> "
                            + "(SELECT target ->> 'size' FROM mz_internal.mz_cluster_reconfigurations WHERE cluster_id = " + cid + ")",
                    "UPDATE mz_catalog.mz_clusters SET size = (SELECT target ->> 'size' FROM mz_internal.mz_cluster_reconfigurations "
                            + "WHERE cluster_id = " + cid + ") WHERE id = " + cid);
        } else {
            exec("DELETE FROM mz_catalog.mz_cluster_replicas WHERE cluster_id = " + cid + " AND size = "
                    + "(SELECT target ->> 'size' FROM mz_internal.mz_cluster_reconfigurations WHERE cluster_id = " + cid + ")");
        }
        exec("UPDATE mz_internal.mz_cluster_reconfigurations SET status = " + q(status) + ", changes = '{}' WHERE cluster_id = " + cid);
        return this;
    }

    /** A stand-in answering mz_version() with {@code version} (e.g. one older than the toolkit supports). */
    static MzStandIn ofVersion(String version) {
        return new MzStandIn(TestPg.server(), MzFacts.pinned(), version);
    }

    /**
     * A stand-in as a new Materialize environment is: the {@code quickstart} cluster (u1) with
     * {@code replicationFactor} replicas r1, r2, … (the default cluster, where a statement without IN CLUSTER runs).
     */
    static MzStandIn environment(String version, int replicationFactor) {
        MzStandIn mz = new MzStandIn(TestPg.server(), MzFacts.pinned(), version);
        mz.createCluster("quickstart", "scale=1,workers=1", replicationFactor);
        return mz;
    }

    private static final java.util.concurrent.atomic.AtomicInteger N = new java.util.concurrent.atomic.AtomicInteger();

    /** Statements as the owner (neondb_owner), as the scripts connect. */
    void exec(String... sql) {
        ConnInfo ci = server.ownerConn();
        ci.dbname = db;
        try (Connection c = Lab.Server.open(ci); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The environment: MZ_URL at the stand-in (owner password in MZ_PASSWORD), DATABASE_URL at {@code upstreamDb}. */
    Map<String, String> env(String upstreamDb) {
        if (upstreamDb != null && this.upstreamDb == null) {
            // what it ingests has columns in Materialize (mz_columns): from the upstream it now knows
            this.upstreamDb = upstreamDb;
            items.values().stream().filter(it -> !ingestedWritten.contains(it.id)).toList().forEach(this::writeIngested);
        }
        Map<String, String> env = new HashMap<>(TestPg.env(server, upstreamDb == null ? db : upstreamDb));
        if (upstreamDb == null) {
            env.remove("DATABASE_URL");
        }
        env.put("MZ_URL", "postgresql://neondb_owner@127.0.0.1:" + (wire != null ? wire.port() : server.port()) + "/" + db
                + "?sslmode=disable");
        env.put("MZ_PASSWORD", server.readSecret("owner.password"));
        return env;
    }

    // ---- the model -----------------------------------------------------------------------------------

    enum Kind {
        SECRET("secret"), CONNECTION("connection"), SOURCE("source"), PROGRESS("source"), SUBSOURCE("source"),
        TABLE("table"), SOURCE_TABLE("table"), VIEW("view"), MATERIALIZED_VIEW("materialized-view"), INDEX("index");

        /** mz_objects.type (mz_catalog.mz_objects: 'source' for every kind of source, 'table' for every table). */
        final String objectType;

        Kind(String objectType) {
            this.objectType = objectType;
        }
    }

    /** An upstream table a subsource or a source-fed table ingests: [database.]schema.table. */
    record Ref(String database, String schema, String table) {
        static Ref of(String schema, String table) {
            return new Ref(null, schema, table);
        }
    }

    /** One catalog item. */
    static final class Item {
        final String id;
        final Kind kind;
        final String name;
        final String schemaId;
        final long oid;
        String type;               // mz_sources.type: postgres, load-generator, kafka, mysql, progress, subsource
        String clusterId;          // its own (a source, an index, a materialized view)
        String connectionId;
        String ofSource;           // a subsource's or a source-fed table's source
        String progressId;         // a legacy source's progress subsource
        Ref upstream;
        final Set<String> references = new LinkedHashSet<>();
        List<String> textColumns = List.of();      // a source-fed table's or subsource's TEXT COLUMNS
        List<String> excludeColumns = List.of();   // … and EXCLUDE COLUMNS
        String createSql;                          // a view's, materialized view's or index's (the test gives it)
        String publication;                        // a Postgres source's

        Item(String id, Kind kind, String name, String schemaId, long oid) {
            this.id = id;
            this.kind = kind;
            this.name = name;
            this.schemaId = schemaId;
            this.oid = oid;
        }
    }

    record Cluster(String id, String name, String size, boolean managed, List<String[]> replicas) {}

    private final Map<String, Item> items = new LinkedHashMap<>();
    private final Map<String, Cluster> clusters = new LinkedHashMap<>();
    private final Map<String, String> schemas = new LinkedHashMap<>();
    private int nextItem = 1;
    private int nextCluster = 1;
    private int nextReplica = 1;
    private int nextSchema = 4;
    private long nextOid = 20_000;   // FIRST_USER_OID (src/pgrepr-consts/src/oid.rs)
    private long clock;
    private boolean controller;
    /** The upstream timeline a Postgres source records (mz_postgres_sources.timeline_id); set by whoever knows it. */
    long upstreamTimeline = 1;

    /** The id of the item named {@code name} (in the public schema, or {@code schema.name}); null when there is none. */
    String id(String name) {
        Item it = find(name);
        return it == null ? null : it.id;
    }

    Item item(String id) {
        return items.get(id);
    }

    List<Item> items() {
        return new ArrayList<>(items.values());
    }

    String clusterId(String name) {
        for (Cluster c : clusters.values()) {
            if (c.name().equals(name)) {
                return c.id();
            }
        }
        return null;
    }

    Cluster cluster(String nameOrId) {
        Cluster c = clusters.get(nameOrId);
        return c != null ? c : clusters.get(clusterId(nameOrId));
    }

    private Item find(String name) {
        String schema = PUBLIC_SCHEMA;
        String item = name;
        int dot = name.lastIndexOf('.');
        if (dot > 0 && schemas.containsKey(name.substring(0, dot))) {
            schema = schemas.get(name.substring(0, dot));
            item = name.substring(dot + 1);
        }
        for (Item it : items.values()) {
            if (it.name.equals(item) && it.schemaId.equals(schema)) {
                return it;
            }
        }
        return null;
    }

    private Item need(String name) {
        Item it = find(name);
        if (it == null) {
            throw new IllegalArgumentException("unknown catalog item '" + name + "'");
        }
        return it;
    }

    private String allocate() {
        return "u" + nextItem++;
    }

    /** An explicit id (the older helpers): later allocations go past it. */
    private String claim(String id) {
        if (id.matches("u\\d+")) {
            nextItem = Math.max(nextItem, Integer.parseInt(id.substring(1)) + 1);
        }
        return id;
    }

    private String schemaOf(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && schemas.containsKey(name.substring(0, dot)) ? schemas.get(name.substring(0, dot)) : PUBLIC_SCHEMA;
    }

    private static String base(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(dot + 1) : name;
    }

    private void checkFree(String name) {
        if (find(name) != null) {
            throw new IllegalArgumentException("catalog item '" + base(name) + "' already exists");
        }
    }

    // ---- statements ---------------------------------------------------------------------------------

    /** CREATE SCHEMA (in the database of the stand-in). */
    String createSchema(String name) {
        String id = "u" + nextSchema++;
        schemas.put(name, id);
        exec(String.format("INSERT INTO mz_catalog.mz_schemas (id, oid, database_id, name, owner_id, privileges) "
                + "VALUES (%s, %d, 'u1', %s, %s, '{}')", q(id), nextOid++, q(name), q(OWNER)));
        return id;
    }

    /** CREATE CLUSTER name (SIZE size, REPLICATION FACTOR n): a managed cluster with replicas r1 … rn. */
    String createCluster(String name, String size, int replicationFactor) {
        String id = "u" + nextCluster++;
        Cluster c = new Cluster(id, name, size, true, new ArrayList<>());
        clusters.put(id, c);
        exec(String.format("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, privileges, managed, size, replication_factor) "
                + "VALUES (%s, %s, %s, '{}', true, %s, %d)", q(id), q(name), q(OWNER), q(size), replicationFactor));
        for (int r = 1; r <= replicationFactor; r++) {
            addReplica(c, "r" + r, size);
        }
        return id;
    }

    /** CREATE CLUSTER name REPLICAS (…): an unmanaged cluster; its replicas with {@link #createClusterReplica}. */
    String createUnmanagedCluster(String name) {
        String id = "u" + nextCluster++;
        clusters.put(id, new Cluster(id, name, null, false, new ArrayList<>()));
        exec(String.format("INSERT INTO mz_catalog.mz_clusters (id, name, owner_id, privileges, managed) VALUES (%s, %s, %s, '{}', false)",
                q(id), q(name), q(OWNER)));
        return id;
    }

    /** CREATE CLUSTER REPLICA cluster.replica SIZE size. */
    String createClusterReplica(String cluster, String replica, String size) {
        return addReplica(need(cluster, true), replica, size);
    }

    /** DROP CLUSTER REPLICA cluster.replica. */
    void dropClusterReplica(String cluster, String replica) {
        Cluster c = need(cluster, true);
        for (String[] r : new ArrayList<>(c.replicas())) {
            if (r[1].equals(replica)) {
                dropReplica(c, r);
                return;
            }
        }
        throw new IllegalArgumentException("unknown cluster replica '" + cluster + "." + replica + "'");
    }

    /** ALTER CLUSTER name SET (REPLICATION FACTOR n): replicas added (r{k+1} …) or dropped (the newest first). */
    void alterClusterReplicationFactor(String cluster, int n) {
        Cluster c = need(cluster, true);
        exec(String.format("UPDATE mz_catalog.mz_clusters SET replication_factor = %d WHERE id = %s", n, q(c.id())));
        while (c.replicas().size() > n) {
            dropReplica(c, c.replicas().get(c.replicas().size() - 1));
        }
        int k = 1;
        while (c.replicas().size() < n) {
            String name = "r" + k++;
            if (c.replicas().stream().noneMatch(r -> r[1].equals(name))) {
                addReplica(c, name, c.size());
            }
        }
    }

    /** DROP CLUSTER name [CASCADE]: with what runs on it. */
    void dropCluster(String cluster, boolean cascade) {
        Cluster c = need(cluster, true);
        List<Item> on = items.values().stream().filter(i -> c.id().equals(i.clusterId)).toList();
        if (!on.isEmpty() && !cascade) {
            throw new IllegalStateException("cannot drop cluster \"" + c.name() + "\": still depended upon by " + on.get(0).name);
        }
        for (Item i : on) {
            if (items.containsKey(i.id)) {
                dropItem(i, true);
            }
        }
        for (String[] r : new ArrayList<>(c.replicas())) {
            dropReplica(c, r);
        }
        clusters.remove(c.id());
        exec("DELETE FROM mz_catalog.mz_clusters WHERE id = " + q(c.id()));
    }

    private Cluster need(String cluster, boolean unused) {
        Cluster c = cluster(cluster);
        if (c == null) {
            throw new IllegalArgumentException("unknown cluster '" + cluster + "'");
        }
        return c;
    }

    private String addReplica(Cluster c, String name, String size) {
        String id = "u" + nextReplica++;
        c.replicas().add(new String[] {id, name});
        exec(String.format("INSERT INTO mz_catalog.mz_cluster_replicas (id, name, cluster_id, size, owner_id) VALUES (%s, %s, %s, %s, %s)",
                q(id), q(name), q(c.id()), q(size), q(OWNER)));
        if (controller) {
            // the new replica starts every ingestion of its cluster: starting, then running (test/testdrive/status-history.td)
            for (Item src : ingestionsOn(c.id())) {
                for (String collection : collections(src)) {
                    event(collection, "starting", null, null, id);
                }
            }
            for (Item src : ingestionsOn(c.id())) {
                for (String collection : collections(src)) {
                    event(collection, "running", null, null, id);
                    reporting(collection, id);
                }
            }
        }
        return id;
    }

    private void dropReplica(Cluster c, String[] replica) {
        if (controller) {
            // src/storage-controller/src/lib.rs drop_replica: a per-replica 'paused' for the collections it ran
            for (Item src : ingestionsOn(c.id())) {
                for (String collection : collections(src)) {
                    event(collection, "paused", null, hint("The replica running this source has been dropped"), replica[0]);
                }
            }
        }
        c.replicas().remove(replica);
        exec("DELETE FROM mz_catalog.mz_cluster_replicas WHERE id = " + q(replica[0]));
    }

    /** CREATE SECRET name AS …. */
    String createSecret(String name) {
        checkFree(name);
        Item it = add(new Item(allocate(), Kind.SECRET, base(name), schemaOf(name), nextOid++));
        exec(String.format("INSERT INTO mz_catalog.mz_secrets (id, oid, schema_id, name, owner_id, privileges) VALUES (%s, %d, %s, %s, %s, '{}')",
                q(it.id), it.oid, q(it.schemaId), q(it.name), q(OWNER)));
        writeObject(it);
        return it.id;
    }

    /**
     * CREATE CONNECTION name TO type (…): {@code references} are the items its options name (PASSWORD SECRET s,
     * SSH TUNNEL t); {@code createSql} is its mz_connections.create_sql (null: a placeholder naming the type).
     */
    String createConnection(String name, String type, String createSql, String... references) {
        checkFree(name);
        Item it = add(new Item(allocate(), Kind.CONNECTION, base(name), schemaOf(name), nextOid++));
        it.type = type;
        for (String r : references) {
            it.references.add(need(r).id);
        }
        String sql = createSql != null ? createSql : "CREATE CONNECTION " + it.name + " TO " + type.toUpperCase(java.util.Locale.ROOT);
        exec(String.format("INSERT INTO mz_catalog.mz_connections (id, oid, schema_id, name, type, owner_id, privileges, create_sql, "
                + "redacted_create_sql) VALUES (%s, %d, %s, %s, %s, %s, '{}', %s, %s)", q(it.id), it.oid, q(it.schemaId), q(it.name),
                q(type), q(OWNER), q(sql), q(sql)));
        writeObject(it);
        writeDependencies(it);
        return it.id;
    }

    /** What CREATE SOURCE made: the progress subsource (legacy syntax only), the source, and its subsources by name. */
    record Created(String progressId, String sourceId, Map<String, String> subsources) {}

    /**
     * CREATE SOURCE name IN CLUSTER cluster FROM POSTGRES CONNECTION connection (PUBLICATION 'publication'), in the
     * new syntax when {@code legacyTables} is null (tables come later with {@link #createTableFromSource}), else in the
     * legacy syntax with one subsource per table (FOR ALL TABLES / FOR TABLES (…), resolved by the caller): then a
     * progress subsource {@code <name>_progress} first, the source, then the subsources in the order of their names.
     */
    Created createSource(String name, String cluster, String connection, String publication, List<Ref> legacyTables) {
        nextPublication = publication;
        Map<String, Ref> named = null;
        if (legacyTables != null) {
            named = new LinkedHashMap<>();
            for (Ref r : legacyTables) {
                named.put(r.table(), r);
            }
        }
        return createSource(name, cluster, "postgres", connection, named);
    }

    /** CREATE SOURCE name IN CLUSTER cluster FROM POSTGRES CONNECTION connection (PUBLICATION …), new syntax: the source alone. */
    Created createSource(String name, String cluster, String connection, String publication) {
        nextPublication = publication;
        return createSource(name, cluster, "postgres", connection, (Map<String, Ref>) null);
    }

    /**
     * CREATE SOURCE of any type ({@code postgres}, {@code load-generator}, {@code kafka}, {@code mysql}); legacy syntax
     * when {@code subsources} (subsource name → upstream table) is not null.
     */
    Created createSource(String name, String cluster, String type, String connection, Map<String, Ref> subsources) {
        checkFree(name);
        String clusterId = need(cluster, true).id();
        Item conn = connection == null ? null : need(connection);
        String schemaId = schemaOf(name);
        Item progress = null;
        if (subsources != null) {
            // src/sql/src/pure.rs: the progress subsource of the old syntax, named <source>_progress (a free name)
            String pname = base(name) + "_progress";
            for (int k = 1; findIn(schemaId, pname) != null; k++) {
                pname = base(name) + "_progress" + k;
            }
            progress = add(new Item(allocate(), Kind.PROGRESS, pname, schemaId, nextOid++));
            progress.type = "progress";
        }
        Item src = add(new Item(allocate(), Kind.SOURCE, base(name), schemaId, nextOid++));
        src.type = type;
        src.clusterId = clusterId;
        if (conn != null) {
            src.connectionId = conn.id;
            src.references.add(conn.id);
        }
        if (progress != null) {
            src.progressId = progress.id;
            src.references.add(progress.id);
            writeSource(progress);
        }
        writeSource(src);
        if ("postgres".equals(type)) {
            exec(String.format("INSERT INTO mz_internal.mz_postgres_sources (id, replication_slot, timeline_id) VALUES (%s, %s, %d)",
                    q(src.id), q("materialize_" + UUID.randomUUID().toString().replace("-", "")), upstreamTimeline));
        }
        Map<String, String> made = new LinkedHashMap<>();
        if (subsources != null) {
            made = addSubsources(src, subsources);
        }
        if (controller) {
            installed(src, collections(src));
        }
        return new Created(progress == null ? null : progress.id, src.id, made);
    }

    /** The publication the next Postgres source reads (its create_sql names it). */
    private String nextPublication;

    /** The TEXT COLUMNS / EXCLUDE COLUMNS the next subsources of these names get (ALTER SOURCE … ADD SUBSOURCE … WITH). */
    final Map<String, List<String>> subsourceText = new HashMap<>();
    final Map<String, List<String>> subsourceExclude = new HashMap<>();

    /** ALTER SOURCE source ADD SUBSOURCE …: subsources of a legacy source, ids in the order of their names. */
    Map<String, String> addSubsources(String source, Map<String, Ref> subsources) {
        Item src = need(source);
        Map<String, String> made = addSubsources(src, subsources);
        if (controller) {
            installed(src, new ArrayList<>(made.values()));
        }
        return made;
    }

    private Map<String, String> addSubsources(Item src, Map<String, Ref> subsources) {
        // src/adapter/src/coord/sequencer/inner.rs: ids for the subsources in the order of a BTreeMap of their names
        List<String> names = new ArrayList<>(subsources.keySet());
        names.sort(MzStandIn::byBytes);
        for (String n : names) {
            if (findIn(src.schemaId, n) != null) {
                throw new IllegalArgumentException("catalog item '" + n + "' already exists");
            }
        }
        Map<String, String> made = new LinkedHashMap<>();
        for (String n : names) {
            Item sub = add(new Item(allocate(), Kind.SUBSOURCE, n, src.schemaId, nextOid++));
            sub.type = "subsource";
            sub.ofSource = src.id;
            sub.upstream = subsources.get(n);
            sub.textColumns = subsourceText.getOrDefault(n, List.of());
            sub.excludeColumns = subsourceExclude.getOrDefault(n, List.of());
            sub.references.add(src.id);
            writeSource(sub);
            writeSourceTable(sub);
            made.put(n, sub.id);
        }
        return made;
    }

    /** CREATE TABLE name FROM SOURCE source (REFERENCE upstream): a source-fed table (new syntax). */
    String createTableFromSource(String name, String source, Ref upstream) {
        return createTableFromSource(name, source, upstream, List.of(), List.of());
    }

    /** … WITH (TEXT COLUMNS (text), EXCLUDE COLUMNS (exclude)). */
    String createTableFromSource(String name, String source, Ref upstream, List<String> text, List<String> exclude) {
        checkFree(name);
        Item src = need(source);
        Item t = add(new Item(allocate(), Kind.SOURCE_TABLE, base(name), schemaOf(name), nextOid++));
        t.ofSource = src.id;
        t.upstream = upstream;
        t.textColumns = List.copyOf(text);
        t.excludeColumns = List.copyOf(exclude);
        t.references.add(src.id);
        writeTable(t);
        writeSourceTable(t);
        if (controller) {
            installed(src, List.of(t.id));
        }
        return t.id;
    }

    /** CREATE TABLE name (…): a table Materialize owns (written with INSERT). */
    String createTable(String name) {
        checkFree(name);
        Item t = add(new Item(allocate(), Kind.TABLE, base(name), schemaOf(name), nextOid++));
        writeTable(t);
        return t.id;
    }

    /** CREATE VIEW name AS …, reading {@code references}. */
    String createView(String name, String... references) {
        return relation(name, Kind.VIEW, null, references);
    }

    /** CREATE MATERIALIZED VIEW name IN CLUSTER cluster AS …, reading {@code references}. */
    String createMaterializedView(String name, String cluster, String... references) {
        return relation(name, Kind.MATERIALIZED_VIEW, need(cluster, true).id(), references);
    }

    /** CREATE INDEX name IN CLUSTER cluster ON on (…). */
    String createIndex(String name, String cluster, String on) {
        Item target = need(on);
        checkFree(name);
        Item i = add(new Item(allocate(), Kind.INDEX, base(name), target.schemaId, nextOid++));
        i.clusterId = need(cluster, true).id();
        i.references.add(target.id);
        writeObject(i);
        writeDependencies(i);
        return i.id;
    }

    private String relation(String name, Kind kind, String clusterId, String... references) {
        checkFree(name);
        Item v = add(new Item(allocate(), kind, base(name), schemaOf(name), nextOid++));
        v.clusterId = clusterId;
        for (String r : references) {
            v.references.add(need(r).id);
        }
        writeObject(v);
        writeDependencies(v);
        return v.id;
    }

    /**
     * DROP … name [CASCADE]: what depends on it goes too with CASCADE, else the drop is refused; a source takes its
     * progress subsource with it.
     */
    void drop(String name, boolean cascade) {
        dropItem(need(name), cascade);
    }

    private void dropItem(Item it, boolean cascade) {
        List<Item> dependents = new ArrayList<>();
        for (Item o : items.values()) {
            if (o != it && o.references.contains(it.id) && o.kind != Kind.PROGRESS && !o.id.equals(it.progressId)) {
                dependents.add(o);
            }
        }
        if (!dependents.isEmpty() && !cascade) {
            throw new IllegalStateException("cannot drop " + it.name + ": still depended upon by " + dependents.get(0).name);
        }
        for (Item d : dependents) {
            if (items.containsKey(d.id)) {
                dropItem(d, true);
            }
        }
        remove(it);
        if (it.progressId != null && items.containsKey(it.progressId)) {
            remove(items.get(it.progressId));
        }
    }

    private void remove(Item it) {
        if (controller && (it.kind == Kind.SOURCE || it.kind == Kind.SUBSOURCE || it.kind == Kind.SOURCE_TABLE)) {
            // src/storage-controller/src/lib.rs drop_sources: 'dropped' for each dropped ingestion and export
            event(it.id, "dropped", null, null, null);
            exec("DELETE FROM mz_internal.mz_source_statistics_raw WHERE id = " + q(it.id));
        }
        items.remove(it.id);
        String id = q(it.id);
        exec("DELETE FROM mz_catalog.mz_columns WHERE id = " + id, "DELETE FROM mz_catalog.mz_views WHERE id = " + id,
                "DELETE FROM mz_catalog.mz_materialized_views WHERE id = " + id, "DELETE FROM mz_catalog.mz_indexes WHERE id = " + id,
                "DELETE FROM mz_catalog.mz_sources WHERE id = " + id, "DELETE FROM mz_catalog.mz_tables WHERE id = " + id,
                "DELETE FROM mz_catalog.mz_objects WHERE id = " + id, "DELETE FROM mz_catalog.mz_connections WHERE id = " + id,
                "DELETE FROM mz_catalog.mz_secrets WHERE id = " + id,
                "DELETE FROM mz_internal.mz_object_dependencies WHERE object_id = " + id,
                "DELETE FROM mz_internal.mz_postgres_sources WHERE id = " + id,
                "DELETE FROM mz_internal.mz_postgres_source_tables WHERE id = " + id);
    }

    private Item add(Item it) {
        items.put(it.id, it);
        return it;
    }

    private Item findIn(String schemaId, String name) {
        for (Item it : items.values()) {
            if (it.name.equals(name) && it.schemaId.equals(schemaId)) {
                return it;
            }
        }
        return null;
    }

    /** Rust's String order (UTF-8 bytes), which is the code point order. */
    static int byBytes(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    // ---- the rows -------------------------------------------------------------------------------------

    /** A source's cluster as mz_sources shows it: its own, a subsource's source's, none for a progress subsource. */
    private String sourceCluster(Item it) {
        if (it.kind == Kind.SUBSOURCE && it.ofSource != null && items.containsKey(it.ofSource)) {
            return items.get(it.ofSource).clusterId;
        }
        return it.clusterId;
    }

    private void writeSource(Item it) {
        exec(String.format("INSERT INTO mz_catalog.mz_sources (id, oid, schema_id, name, type, connection_id, cluster_id, owner_id, "
                        + "privileges) VALUES (%s, %d, %s, %s, %s, %s, %s, %s, '{}')", q(it.id), it.oid, q(it.schemaId), q(it.name),
                q(it.type), q(it.connectionId), q(sourceCluster(it)), q(OWNER)));
        writeObject(it);
        writeDependencies(it);
        writeIngested(it);
        if (it.kind == Kind.SOURCE && it.publication != null) {
            // as SHOW CREATE SOURCE prints it (test/pg-cdc/alter-source.td); the stored form may name the cluster and
            // connection by id (unverified): what the toolkit reads of it is PUBLICATION = '…'
            Item conn = it.connectionId == null ? null : items.get(it.connectionId);
            exec("UPDATE mz_catalog.mz_sources SET create_sql = " + q("CREATE SOURCE " + display(it) + " IN CLUSTER "
                    + quoteIdent(clusters.get(it.clusterId).name()) + " FROM POSTGRES CONNECTION "
                    + (conn == null ? "unknown" : display(conn)) + " (PUBLICATION = '" + it.publication.replace("'", "''")
                    + "')") + " WHERE id = " + q(it.id));
        }
    }

    private void writeTable(Item t) {
        exec(String.format("INSERT INTO mz_catalog.mz_tables (id, oid, schema_id, name, owner_id, privileges, source_id) "
                + "VALUES (%s, %d, %s, %s, %s, '{}', %s)", q(t.id), t.oid, q(t.schemaId), q(t.name), q(OWNER), q(t.ofSource)));
        writeObject(t);
        writeDependencies(t);
        writeIngested(t);
    }

    // ---- what a source-fed table or subsource ingests, and definitions (evolve) -----------------------------------

    /** The upstream database the stand-in's sources read (for the columns of what they ingest); null: none known. */
    String upstreamDb;
    /** The storage controller reports each new table's snapshot, and each materialized view's and index's hydration, at once. */
    boolean hydrateAtOnce;

    /**
     * A source-fed table's or subsource's columns (mz_columns) and create_sql, from the upstream table now: every
     * column but the excluded ones, in attnum order (src/sql/src/pure/postgres.rs purification); a TEXT COLUMNS
     * column as text. create_sql as Materialize prints it (idents bare when they can be: test/pg-cdc/pg-cdc.td:730,
     * alter-source.td:154 for tables; test/mysql-cdc-old-syntax/35-exclude-columns.td for a subsource); its column
     * types and the order of TEXT and EXCLUDE COLUMNS in WITH are not checked against Materialize (unverified).
     */
    private final Set<String> ingestedWritten = new java.util.HashSet<>();

    private void writeIngested(Item t) {
        if (t.upstream == null || upstreamDb == null || (t.kind != Kind.SOURCE_TABLE && t.kind != Kind.SUBSOURCE)) {
            return;
        }
        ingestedWritten.add(t.id);
        List<String> cols = new ArrayList<>();
        int pos = 1;
        for (Map<String, Object> c : upstreamColumns(t.upstream)) {
            String name = (String) c.get("attname");
            if (t.excludeColumns.contains(name)) {
                continue;
            }
            boolean text = t.textColumns.contains(name);
            exec(String.format("INSERT INTO mz_catalog.mz_columns (id, name, position, nullable, type, type_oid, type_mod) "
                    + "VALUES (%s, %s, %d, %s, %s, %s, %s)", q(t.id), q(name), pos++, !(Boolean) c.get("attnotnull"),
                    q(text ? "text" : (String) c.get("typname")), text ? 25 : c.get("atttypid"), text ? -1 : c.get("atttypmod")));
            cols.add(quoteIdent(name) + " pg_catalog." + (text ? "text" : c.get("typname")));
        }
        List<String> with = new ArrayList<>();
        if (t.kind == Kind.SUBSOURCE) {
            with.add("EXTERNAL REFERENCE = " + quoteIdent(t.upstream.schema()) + "." + quoteIdent(t.upstream.table()));
        }
        if (!t.textColumns.isEmpty()) {
            with.add("TEXT COLUMNS = (" + String.join(", ", t.textColumns.stream().map(MzStandIn::quoteIdent).toList()) + ")");
        }
        if (!t.excludeColumns.isEmpty()) {
            with.add("EXCLUDE COLUMNS = (" + String.join(", ", t.excludeColumns.stream().map(MzStandIn::quoteIdent).toList()) + ")");
        }
        with.add("DETAILS = '00'");
        String sql = t.kind == Kind.SOURCE_TABLE
                ? "CREATE TABLE " + display(t) + " (" + String.join(", ", cols) + ") FROM SOURCE " + display(items.get(t.ofSource))
                        + " (REFERENCE = " + quoteIdent(upstreamDb) + "." + quoteIdent(t.upstream.schema()) + "."
                        + quoteIdent(t.upstream.table()) + ") WITH (" + String.join(", ", with) + ")"
                : "CREATE SUBSOURCE " + display(t) + " (" + String.join(", ", cols) + ") OF SOURCE " + display(items.get(t.ofSource))
                        + " WITH (" + String.join(", ", with) + ")";
        exec("UPDATE mz_catalog." + (t.kind == Kind.SOURCE_TABLE ? "mz_tables" : "mz_sources") + " SET create_sql = " + q(sql)
                + " WHERE id = " + q(t.id));
        if (hydrateAtOnce) {
            stats(t.id, "r1", 0L, 0L, true, 0L, 0L);
        }
    }

    private List<Map<String, Object>> upstreamColumns(Ref r) {
        ConnInfo ci = server.ownerConn();
        ci.dbname = upstreamDb;
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection c = Lab.Server.open(ci); java.sql.PreparedStatement ps = c.prepareStatement(
                "SELECT a.attname, a.attnotnull, a.atttypid::int AS atttypid, a.atttypmod, t.typname FROM pg_attribute a "
                        + "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass(format('%I.%I', ?, ?)) "
                        + "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setString(1, r.schema());
            ps.setString(2, r.table());
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(Map.of("attname", rs.getString(1), "attnotnull", rs.getBoolean(2), "atttypid", rs.getInt(3),
                            "atttypmod", rs.getInt(4), "typname", rs.getString(5)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** database.schema.name as Materialize prints it (bare where it can be). */
    private String display(Item it) {
        return quoteIdent(db) + "." + quoteIdent(schemaName(it.schemaId)) + "." + quoteIdent(it.name);
    }

    /** "database"."schema"."name", as Materialize's stable form of create_sql writes names (test/sqllogictest/mz_views.slt). */
    String stable(Item it) {
        return "\"" + db + "\".\"" + schemaName(it.schemaId).replace("\"", "\"\"") + "\".\"" + it.name.replace("\"", "\"\"") + "\"";
    }

    private String schemaName(String schemaId) {
        return schemas.entrySet().stream().filter(e -> e.getValue().equals(schemaId)).map(Map.Entry::getKey).findFirst()
                .orElseThrow();
    }

    /**
     * A view, materialized view or index from its create_sql as Materialize stores it: what it reads named by id
     * ({@code [u5 AS "materialize"."public"."t"]}, test/sqllogictest/mz_views.slt), its cluster by id ({@code IN CLUSTER
     * [u1]}: an index's, test/sqllogictest/catalog_server_explain.slt; a materialized view's the same, unverified). The
     * references (mz_object_dependencies) are those ids; the row goes to mz_views, mz_materialized_views or mz_indexes.
     */
    String define(String createSql) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?s)CREATE (VIEW|MATERIALIZED VIEW|INDEX) (.+?)"
                + "(?: IN CLUSTER \\[(u\\d+)\\])? (?:AS|ON) .*").matcher(createSql);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a definition the stand-in reads: " + createSql);
        }
        List<String> refs = new ArrayList<>();
        java.util.regex.Matcher r = java.util.regex.Pattern.compile("\\[(u\\d+) AS ").matcher(createSql);
        while (r.find()) {
            refs.add(r.group(1));
        }
        List<String> name = names(m.group(2));
        Kind kind = switch (m.group(1)) {
            case "VIEW" -> Kind.VIEW;
            case "MATERIALIZED VIEW" -> Kind.MATERIALIZED_VIEW;
            default -> Kind.INDEX;
        };
        String schemaId = kind == Kind.INDEX ? items.get(refs.get(0)).schemaId
                : name.size() > 1 ? schemas.get(name.get(name.size() - 2)) : PUBLIC_SCHEMA;
        String bare = name.get(name.size() - 1);
        if (findIn(schemaId, bare) != null) {
            throw new IllegalStateException("catalog item '" + bare + "' already exists");
        }
        Item v = add(new Item(allocate(), kind, bare, schemaId, nextOid++));
        v.clusterId = m.group(3);
        v.createSql = createSql;
        v.references.addAll(refs);
        writeObject(v);
        writeDependencies(v);
        writeDefinition(v);
        if (hydrateAtOnce && kind != Kind.VIEW) {
            hydration(v.id, "r1", true);
        }
        return v.id;
    }

    private void writeDefinition(Item v) {
        switch (v.kind) {
            case VIEW -> exec(String.format("INSERT INTO mz_catalog.mz_views (id, oid, schema_id, name, definition, owner_id, "
                    + "privileges, create_sql, redacted_create_sql) VALUES (%s, %d, %s, %s, '', %s, '{}', %s, %s)", q(v.id), v.oid,
                    q(v.schemaId), q(v.name), q(OWNER), q(v.createSql), q(v.createSql)));
            case MATERIALIZED_VIEW -> exec(String.format("INSERT INTO mz_catalog.mz_materialized_views (id, oid, schema_id, name, "
                    + "cluster_id, definition, owner_id, privileges, create_sql, redacted_create_sql) VALUES (%s, %d, %s, %s, %s, '', %s, "
                    + "'{}', %s, %s)", q(v.id), v.oid, q(v.schemaId), q(v.name), q(v.clusterId), q(OWNER), q(v.createSql), q(v.createSql)));
            case INDEX -> exec(String.format("INSERT INTO mz_catalog.mz_indexes (id, oid, name, on_id, cluster_id, owner_id, "
                    + "create_sql, redacted_create_sql) VALUES (%s, %d, %s, %s, %s, %s, %s, %s)", q(v.id), v.oid, q(v.name),
                    q(v.references.iterator().next()), q(v.clusterId), q(OWNER), q(v.createSql), q(v.createSql)));
            default -> throw new IllegalArgumentException(v.kind.toString());
        }
    }

    /**
     * ALTER … name RENAME TO newName: the item's rows, and every reference to it in its dependents' create_sql
     * (src/catalog/src/memory/objects.rs rename_item_refs → src/sql/src/ast/transform.rs create_stmt_rename_refs).
     */
    void rename(String name, String newName) {
        Item it = need(name);
        checkFree(schemaName(it.schemaId) + "." + newName);
        String before = stable(it);
        Item renamed = new Item(it.id, it.kind, newName, it.schemaId, it.oid);
        renamed.type = it.type;
        renamed.clusterId = it.clusterId;
        renamed.connectionId = it.connectionId;
        renamed.ofSource = it.ofSource;
        renamed.progressId = it.progressId;
        renamed.upstream = it.upstream;
        renamed.references.addAll(it.references);
        renamed.textColumns = it.textColumns;
        renamed.excludeColumns = it.excludeColumns;
        renamed.createSql = it.createSql;
        items.put(it.id, renamed);
        for (String rel : List.of("mz_catalog.mz_objects", "mz_catalog.mz_tables", "mz_catalog.mz_sources",
                "mz_catalog.mz_views", "mz_catalog.mz_materialized_views", "mz_catalog.mz_indexes")) {
            exec("UPDATE " + rel + " SET name = " + q(newName) + " WHERE id = " + q(it.id));
        }
        String after = stable(renamed);
        for (Item d : items.values()) {
            if (d.createSql != null && d.references.contains(it.id)) {
                d.createSql = d.createSql.replace(before, after);
                for (String rel : List.of("mz_catalog.mz_views", "mz_catalog.mz_materialized_views", "mz_catalog.mz_indexes")) {
                    exec("UPDATE " + rel + " SET create_sql = " + q(d.createSql) + ", redacted_create_sql = " + q(d.createSql)
                            + " WHERE id = " + q(d.id));
                }
            }
        }
    }

    /** A dotted name, each part bare or double-quoted ("" inside for one). */
    static List<String> names(String dotted) {
        List<String> parts = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*(?:\"((?:[^\"]|\"\")*)\"|([^.\\s\"]+))\\s*(?:\\.|$)").matcher(dotted.strip());
        while (m.find() && m.end() > m.start()) {
            parts.add(m.group(1) != null ? m.group(1).replace("\"\"", "\"") : m.group(2));
            if (m.end() == dotted.strip().length()) {
                break;
            }
        }
        return parts;
    }

    /** mz_postgres_source_tables: a subsource's or a source-fed table's upstream schema and table, for a Postgres source. */
    private void writeSourceTable(Item it) {
        Item src = items.get(it.ofSource);
        if ((src != null && !"postgres".equals(src.type)) || it.upstream == null) {
            return;   // (a source the stand-in did not make, e.g. rows a test wrote by hand, is taken for a Postgres source)
        }
        exec(String.format("INSERT INTO mz_internal.mz_postgres_source_tables (id, schema_name, table_name) VALUES (%s, %s, %s)",
                q(it.id), q(sourceTableName(it.upstream.schema())), q(sourceTableName(it.upstream.table()))));
    }

    /** An upstream name as mz_postgres_source_tables shows it: SQL-quoted when needed before v26.19.0, raw from then on. */
    String sourceTableName(String ident) {
        return version != null && !facts.gate("postgres_source_tables_raw_names").appliesTo(version.text())
                ? quoteIdent(ident) : ident;
    }

    /**
     * Materialize's {@code Ident::to_ast_string_simple}: bare when it matches {@code [a-z_][a-z0-9_]*}, else in double
     * quotes with inner quotes doubled. (Reserved keywords are quoted too; not modelled: no upstream table of ours is one.)
     */
    static String quoteIdent(String ident) {
        return ident.matches("[a-z_][a-z0-9_]*") ? ident : "\"" + ident.replace("\"", "\"\"") + "\"";
    }

    private void writeObject(Item it) {
        String cluster = switch (it.kind) {
            case SOURCE, PROGRESS, SUBSOURCE -> sourceCluster(it);
            case MATERIALIZED_VIEW, INDEX -> it.clusterId;
            default -> null;
        };
        exec(String.format("INSERT INTO mz_catalog.mz_objects (id, oid, schema_id, name, type, owner_id, cluster_id, privileges) "
                        + "VALUES (%s, %d, %s, %s, %s, %s, %s, %s)", q(it.id), it.oid, q(it.schemaId), q(it.name), q(it.kind.objectType),
                q(OWNER), q(cluster), it.kind == Kind.INDEX ? "NULL" : "'{}'"));
    }

    /** mz_object_dependencies: one row per item the statement names (object_id depends on referenced_object_id). */
    private void writeDependencies(Item it) {
        for (String r : it.references) {
            boolean backwards = reverseExportEdges && r.equals(it.ofSource);
            exec(String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, %s)",
                    q(backwards ? r : it.id), q(backwards ? it.id : r)));
        }
    }

    /**
     * The defect the stand-in had (issue #18): a subsource's and a source-fed table's dependency row written the wrong
     * way round (object_id = the source). Only for the test that shows Materialize's expectations catch it.
     */
    boolean reverseExportEdges;

    // ---- what a running Materialize reports (status history, statistics) ------------------------------------------

    /**
     * From now on, the stand-in also writes what Materialize's storage controller reports by itself, for sources
     * created or altered after this call: when an ingestion is installed, 'paused' (no replica; hint "There is
     * currently no replica running this source") or, per replica, 'starting' then 'running', for the source and each
     * subsource or source-fed table (not a legacy progress subsource); per replica added, 'starting' and 'running';
     * per replica dropped, 'paused' with that replica ("The replica running this source has been dropped"); on DROP,
     * 'dropped'. A source never fails here: errors are given with {@link #status} or {@link #event}.
     */
    MzStandIn withController() {
        controller = true;
        return this;
    }

    private List<Item> ingestionsOn(String clusterId) {
        return items.values().stream().filter(i -> i.kind == Kind.SOURCE && clusterId.equals(i.clusterId)).toList();
    }

    /** The collections an ingestion reports status for: the source and its exports (a legacy progress subsource: none). */
    private List<String> collections(Item src) {
        List<String> out = new ArrayList<>();
        out.add(src.id);
        for (Item i : items.values()) {
            if (src.id.equals(i.ofSource)) {
                out.add(i.id);
            }
        }
        return out;
    }

    private void installed(Item src, List<String> collections) {
        Cluster c = clusters.get(src.clusterId);
        if (c == null || c.replicas().isEmpty()) {
            for (String id : collections) {
                event(id, "paused", null, hint("There is currently no replica running this source"), null);
            }
            return;
        }
        for (String[] r : c.replicas()) {
            for (String id : collections) {
                event(id, "starting", null, null, r[0]);
            }
            for (String id : collections) {
                event(id, "running", null, null, r[0]);
            }
            collections.forEach(id -> reporting(id, r[0]));
        }
    }

    /**
     * A replica running a collection reports its statistics (mz_source_statistics_raw, one row per collection and
     * replica, kept after the replica is dropped, removed with the collection): the row, not its values (counters
     * 0, gauges unknown, snapshot not committed).
     */
    private void reporting(String id, String replica) {
        exec(String.format("INSERT INTO mz_internal.mz_source_statistics_raw (id, replica_id, messages_received, bytes_received, "
                + "updates_staged, updates_committed, records_indexed, bytes_indexed, snapshot_committed) "
                + "VALUES (%s, %s, 0, 0, 0, 0, 0, 0, false)", q(id), q(replica)));
    }

    private static String hint(String text) {
        return "{\"hints\": [" + com.google.gson.JsonParser.parseString("\"" + text + "\"") + "]}";
    }

    /** One row of mz_source_status_history: {@code replicaId} null for a source-global event. */
    MzStandIn event(String id, String status, String error, String detailsJson, String replicaId) {
        long t = Math.max(System.currentTimeMillis(), clock + 1);
        clock = t;
        exec(String.format("INSERT INTO mz_internal.mz_source_status_history (occurred_at, source_id, status, error, details, replica_id) "
                + "VALUES (%s::timestamptz, %s, %s, %s, %s::jsonb, %s)", q(new Timestamp(t).toInstant().toString()), q(id), q(status),
                q(error), q(detailsJson), q(replicaId)));
        return this;
    }

    /**
     * The source {@code id} reports {@code status} (and {@code error}): a source-global event of mz_source_status_history,
     * newer than every earlier one; mz_source_statuses derives the rest (name and type come from the catalog, so
     * {@code name} and {@code type} are not used).
     */
    MzStandIn status(String id, String name, String type, String status, String error) {
        return event(id, status, error, null, null);
    }

    /** One replica's raw statistics for collection {@code id} (mz_source_statistics_raw; counters 0). */
    MzStandIn stats(String id, String replica, Long known, Long staged, boolean committed, Long offsetKnown, Long offsetCommitted) {
        exec(String.format("INSERT INTO mz_internal.mz_source_statistics_raw (id, replica_id, messages_received, bytes_received, "
                        + "updates_staged, updates_committed, records_indexed, bytes_indexed, snapshot_records_known, snapshot_records_staged, "
                        + "snapshot_committed, offset_known, offset_committed) VALUES (%s, %s, 0, 0, 0, 0, 0, 0, %s, %s, %s, %s, %s)",
                q(id), q(replica), known, staged, committed, offsetKnown, offsetCommitted));
        return this;
    }

    MzStandIn hydration(String id, String replica, boolean hydrated) {
        exec(String.format("INSERT INTO mz_internal.mz_hydration_statuses (object_id, replica_id, hydrated) VALUES (%s, %s, %s)", q(id), q(replica), hydrated));
        return this;
    }

    /** One row of mz_egress_ips (Materialize Cloud's announced egress addresses; empty on the emulator). */
    MzStandIn egressIp(String ip, Integer prefixLength, String cidr) {
        exec(String.format("INSERT INTO mz_catalog.mz_egress_ips (egress_ip, prefix_length, cidr) VALUES (%s, %s, %s)", q(ip), prefixLength, q(cidr)));
        return this;
    }

    // ---- the older helpers: explicit ids, the same rows as the statements ---------------------------------------

    /**
     * A Postgres source {@code id} on cluster {@code clusterId}, with its replication slot and its status. Its
     * connection is the placeholder u99 (one dependency row; mz_sources.connection_id is left to the test), as before.
     * Its progress subsource ({@code <id>p}, {@code <name>_progress}) comes with its first {@link #subsource} (a
     * legacy source has one; a new-syntax source, fed by {@link #table}s, has none); {@link #createSource} makes the
     * whole set with Materialize's ids.
     */
    MzStandIn source(String id, String name, String clusterId, String slot, String status, String error) {
        Item src = add(new Item(claim(id), Kind.SOURCE, name, PUBLIC_SCHEMA, nextOid++));
        src.type = "postgres";
        src.clusterId = clusterId;
        src.references.add("u99");
        writeSource(src);
        exec(String.format("INSERT INTO mz_internal.mz_postgres_sources (id, replication_slot, timeline_id) VALUES (%s, %s, %d)",
                q(id), q(slot), upstreamTimeline));
        return status(id, name, "postgres", status, error);
    }

    /** A subsource (legacy syntax) of {@code sourceId} for upstream table {@code upstream} (schema.table): it depends on its source. */
    MzStandIn subsource(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status,
                        String error) {
        Item src = items.get(sourceId);
        if (src != null && src.kind == Kind.SOURCE && src.progressId == null) {
            Item progress = add(new Item(sourceId + "p", Kind.PROGRESS, src.name + "_progress", src.schemaId, nextOid++));
            progress.type = "progress";
            writeSource(progress);
            src.progressId = progress.id;
            src.references.add(progress.id);
            exec(String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, %s)",
                    q(src.id), q(progress.id)));
        }
        Item sub = add(new Item(claim(id), Kind.SUBSOURCE, name, PUBLIC_SCHEMA, nextOid++));
        sub.type = "subsource";
        sub.ofSource = sourceId;
        sub.upstream = Ref.of(upstreamSchema, upstreamTable);
        sub.references.add(sourceId);
        writeSource(sub);
        writeSourceTable(sub);
        return status(id, name, "subsource", status, error);
    }

    /** A table made with CREATE TABLE … FROM SOURCE (new syntax): mz_tables.source_id, and a dependency on the source. */
    MzStandIn table(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status) {
        Item t = add(new Item(claim(id), Kind.SOURCE_TABLE, name, PUBLIC_SCHEMA, nextOid++));
        t.ofSource = sourceId;
        t.upstream = Ref.of(upstreamSchema, upstreamTable);
        t.references.add(sourceId);
        writeTable(t);
        writeSourceTable(t);
        return status(id, name, "table", status, null);
    }

    static String q(String s) {
        return s == null ? "NULL" : "'" + s.replace("'", "''") + "'";
    }
}
