///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Undo: drop what the toolkit made (Materialize source, connection, secret, cluster; upstream publication, grants, role, leftover slots), after a plan and a confirmation, then verify no slot of ours is left.

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import neonmz.Catalog;
import neonmz.Catalog.Table;
import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Undoes the guide, in the safe order: Materialize first (the source stops reading, so nothing upstream is
 * pulled from under a running source), then upstream. Only the objects named by the options (the same
 * defaults as the setup steps) are touched.
 *
 * Slots (cdc-anchors §1e, §8 item 9): DROP SOURCE drops the source's replication slot in a background,
 * best-effort task that only logs when it fails, so an orphaned slot is possible, and an orphaned slot keeps
 * WAL on the upstream until the disk fills (Neon removes inactive slots only after a while). So the slot's name
 * is read from mz_internal.mz_postgres_sources before DROP SOURCE, and checked upstream after: dropped if it
 * is still there and inactive, and verified gone. Other inactive materialize_% / mzsnapshot_% slots that no
 * Materialize source claims are listed, and dropped only with --drop-orphan-slots. An active slot is never
 * dropped here (its holder is named instead): ending a process is the user's decision.
 *
 * Upstream DDL (DROP PUBLICATION, REVOKE, ALTER DEFAULT PRIVILEGES, DROP OWNED, DROP ROLE, ALTER TABLE) is
 * transactional in PostgreSQL: it runs as one transaction. pg_drop_replication_slot is not, so it runs after,
 * one slot at a time, and is verified.
 */
@Command(name = "teardown", mixinStandardHelpOptions = true,
        description = {"Undo what the toolkit made, in a safe order: the Materialize source (DROP SOURCE … CASCADE, "
                + "its slot name read first), connection, secret and cluster, only the names given; then upstream, "
                + "in one transaction, the publication, the guide's grants and the role; then the source's slot if "
                + "DROP SOURCE left it behind. Other inactive materialize_%/mzsnapshot_% slots no source claims are "
                + "listed, and dropped with --drop-orphan-slots. Replica identity goes back to DEFAULT only with "
                + "--reset-replica-identity. Shows the whole plan and asks first (--yes); --dry-run only shows it. "
                + "Verifies at the end that no publication, role or slot of ours is left."},
        footer = {"%nExamples:",
                "  ./jbang teardown --dry-run                      # upstream only, unless a Materialize URL is given",
                "  ./jbang teardown --mz-url \"$MZ_URL\" --dry-run",
                "  ./jbang teardown --mz-url \"$MZ_URL\" --yes",
                "  ./jbang teardown --upstream-only --drop-orphan-slots --reset-replica-identity --yes"})
public class Teardown implements Callable<Integer> {
    // ---- Materialize (materialize.md; docs: DROP SOURCE/CONNECTION/SECRET/CLUSTER [IF EXISTS] name [CASCADE|RESTRICT])
    /** CASCADE drops the source's subsources or tables FROM SOURCE; other dependents are checked for first. */
    static final String DROP_SOURCE = "DROP SOURCE IF EXISTS %s CASCADE";
    static final String DROP_CONNECTION = "DROP CONNECTION IF EXISTS %s";
    static final String DROP_SECRET = "DROP SECRET IF EXISTS %s";
    /** RESTRICT (the default): a cluster that still holds objects is not dropped. */
    static final String DROP_CLUSTER = "DROP CLUSTER IF EXISTS %s";

    /** The names land in the session's current database and schema, as the setup steps created them. */
    static final String MZ_SOURCE = """
            SELECT s.id, s.type, s.connection_id, s.cluster_id, pgs.replication_slot
            FROM mz_catalog.mz_sources s
            JOIN mz_catalog.mz_schemas sc ON sc.id = s.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = sc.database_id
            LEFT JOIN mz_internal.mz_postgres_sources pgs ON pgs.id = s.id
            WHERE s.name = ? AND sc.name = current_schema() AND d.name = current_database()""";
    static final String MZ_CONNECTION = """
            SELECT c.id FROM mz_catalog.mz_connections c
            JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = s.database_id
            WHERE c.name = ? AND s.name = current_schema() AND d.name = current_database()""";
    static final String MZ_SECRET = """
            SELECT c.id FROM mz_catalog.mz_secrets c
            JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = s.database_id
            WHERE c.name = ? AND s.name = current_schema() AND d.name = current_database()""";
    static final String MZ_CLUSTER = "SELECT id FROM mz_catalog.mz_clusters WHERE name = ?";
    /** The source's own objects: subsources it references (legacy) and its tables FROM SOURCE (new syntax). */
    static final String MZ_OWN = """
            SELECT referenced_object_id AS id FROM mz_internal.mz_object_dependencies
            WHERE object_id = ? AND referenced_object_id IN (SELECT id FROM mz_catalog.mz_sources)
            UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id = ?""";
    /** User objects' dependencies (ids of user objects start with u), walked here: Materialize has no WITH RECURSIVE. */
    static final String MZ_DEPENDENCIES = """
            SELECT object_id, referenced_object_id FROM mz_internal.mz_object_dependencies WHERE object_id LIKE 'u%'""";
    static final String MZ_OBJECTS = "SELECT id, name, type, cluster_id FROM mz_catalog.mz_objects WHERE id LIKE 'u%'";
    static final String MZ_SLOTS = "SELECT replication_slot FROM mz_internal.mz_postgres_sources";

    // ---- upstream ----------------------------------------------------------------------------
    static final String DROP_PUBLICATION = "DROP PUBLICATION IF EXISTS %s";
    /** The guide's three grants (A.2.4), revoked. */
    static final String REVOKE_USAGE = "REVOKE USAGE ON SCHEMA %s FROM %s";
    static final String REVOKE_SELECT = "REVOKE SELECT ON TABLE %s FROM %s";
    static final String REVOKE_DEFAULT = "ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s REVOKE SELECT ON TABLES FROM %s";
    /** Only when the role owns nothing anywhere: then DROP OWNED only revokes its remaining privileges here. */
    static final String DROP_OWNED = "DROP OWNED BY %s";
    static final String DROP_ROLE = "DROP ROLE IF EXISTS %s";
    static final String RESET_IDENTITY = "ALTER TABLE %s REPLICA IDENTITY DEFAULT";
    static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'";
    static final String DROP_SLOT = "SELECT pg_drop_replication_slot(%s)";

    /** The guide's grants the role holds directly, per schema (not through PUBLIC or a membership). */
    static final String GRANTS = """
            SELECT n.nspname,
                   EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = r.oid AND a.privilege_type = 'USAGE') AS usage,
                   coalesce((SELECT array_agg(c.relname ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = n.oid
                      AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = r.oid AND a.privilege_type = 'SELECT')),
                      '{}') AS tables,
                   coalesce((SELECT array_agg(DISTINCT d.defaclrole::regrole::text) FROM pg_default_acl d, aclexplode(d.defaclacl) a
                      WHERE d.defaclnamespace = n.oid AND d.defaclobjtype = 'r' AND a.grantee = r.oid), '{}') AS default_owners
            FROM pg_namespace n, pg_roles r WHERE r.rolname = ? AND n.nspname = ANY (?) ORDER BY n.nspname""";
    /**
     * What else ties the role down (pg_shdepend): objects it owns (deptype o) in any database, and privileges
     * (a, i, r) on objects here or shared, with what names them for a REVOKE ALL. DROP ROLE fails on any of them.
     */
    static final String DEPENDENCIES = """
            SELECT d.deptype::text AS deptype, d.dbid = 0 AS shared, d.dbid = h.oid AS here,
                   coalesce(db.datname, '') AS datname,
                   CASE WHEN d.dbid IN (0, h.oid) THEN pg_describe_object(d.classid, d.objid, d.objsubid) END AS object,
                   CASE WHEN c.oid IS NOT NULL THEN 'TABLE' WHEN n.oid IS NOT NULL THEN 'SCHEMA'
                        WHEN tdb.oid IS NOT NULL THEN 'DATABASE' WHEN p.oid IS NOT NULL THEN 'FUNCTION'
                        WHEN da.oid IS NOT NULL THEN 'DEFAULT' END AS kind,
                   coalesce(cn.nspname, pn.nspname, dn.nspname) AS schema,
                   coalesce(c.relname, n.nspname, tdb.datname, p.proname) AS name,
                   pg_get_function_identity_arguments(p.oid) AS args,
                   da.defaclrole::regrole::text AS default_owner, da.defaclobjtype::text AS default_type
            FROM pg_shdepend d
            CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) h
            LEFT JOIN pg_database db ON db.oid = d.dbid
            LEFT JOIN pg_class c ON d.dbid = h.oid AND d.classid = 'pg_class'::regclass AND c.oid = d.objid
            LEFT JOIN pg_namespace cn ON cn.oid = c.relnamespace
            LEFT JOIN pg_namespace n ON d.dbid = h.oid AND d.classid = 'pg_namespace'::regclass AND n.oid = d.objid
            LEFT JOIN pg_database tdb ON d.dbid = 0 AND d.classid = 'pg_database'::regclass AND tdb.oid = d.objid
            LEFT JOIN pg_proc p ON d.dbid = h.oid AND d.classid = 'pg_proc'::regclass AND p.oid = d.objid
            LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
            LEFT JOIN pg_default_acl da ON d.dbid = h.oid AND d.classid = 'pg_default_acl'::regclass AND da.oid = d.objid
            LEFT JOIN pg_namespace dn ON dn.oid = da.defaclnamespace
            WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = ?)
            ORDER BY 1, 4, 5""";
    static final String REVOKE_ALL = "REVOKE ALL ON %s %s FROM %s";
    static final String REVOKE_ALL_DEFAULT = "ALTER DEFAULT PRIVILEGES FOR ROLE %s%s REVOKE ALL ON %s FROM %s";
    static final String SLOTS = """
            SELECT s.slot_name, s.slot_type, s.active, s.active_pid, a.application_name, a.usename,
                   host(a.client_addr) AS client_addr, a.backend_type
            FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
            WHERE s.database = current_database() OR s.slot_name = ANY (?)
            ORDER BY s.slot_name""";
    static final java.util.regex.Pattern MZ_SLOT = java.util.regex.Pattern.compile("(materialize|mzsnapshot)_.*");

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = "--source", paramLabel = "NAME", description = "Materialize source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";
    @Option(names = "--connection", paramLabel = "NAME", description = "Materialize connection (default ${DEFAULT-VALUE}).")
    String connection = "pg_connection";
    @Option(names = "--secret", paramLabel = "NAME", description = "Materialize secret (default ${DEFAULT-VALUE}).")
    String secret = "pgpass";
    @Option(names = "--cluster", paramLabel = "NAME", description = "Materialize cluster (default ${DEFAULT-VALUE}).")
    String cluster = "ingest_postgres";
    @Option(names = "--publication", paramLabel = "NAME", description = "Upstream publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";
    @Option(names = {"-r", "--role"}, paramLabel = "NAME", description = "Upstream replication role (default ${DEFAULT-VALUE}).")
    String role = "materialize";
    @Option(names = {"-s", "--schema"}, paramLabel = "SCHEMA", description = "Schema the grants were made on (repeatable; default public).")
    List<String> schemas = new ArrayList<>();
    @Option(names = "--slot", paramLabel = "NAME", description = "An upstream slot of ours to drop and verify gone "
            + "(repeatable); the source's own slot is read from Materialize when a Materialize URL is given.")
    List<String> slots = new ArrayList<>();
    @Option(names = "--upstream-only", description = "Only the upstream side (publication, grants, role, slots).")
    boolean upstreamOnly;
    @Option(names = "--materialize-only", description = "Only the Materialize side (needs a Materialize URL).")
    boolean materializeOnly;
    @Option(names = "--drop-orphan-slots", description = "Also drop inactive materialize_%/mzsnapshot_% slots of this "
            + "database that no Materialize source claims (listed either way).")
    boolean dropOrphans;
    @Option(names = "--reset-replica-identity", description = "Set REPLICA IDENTITY DEFAULT on the tables that are FULL: "
            + "those of --table, else those of the publication (read before it is dropped).")
    boolean resetIdentity;
    @Option(names = {"-t", "--table"}, paramLabel = "TABLES", description = "With --reset-replica-identity: these tables "
            + "instead of the publication's (comma-separated, repeatable).")
    List<String> tables = new ArrayList<>();
    @Option(names = "--keep-role", description = "Revoke the grants but keep the role.")
    boolean keepRole;
    @Option(names = "--cascade", description = "Also drop Materialize objects built on the source (views, indexes, "
            + "materialized views, sinks); without it their presence stops the teardown before any change.")
    boolean cascade;
    @Option(names = "--wait", paramLabel = "DURATION", converter = Durations.class, defaultValue = "30s",
            description = "After DROP SOURCE, how long to give Materialize's own slot drop (default ${DEFAULT-VALUE}).")
    Duration waitSlot;

    public static void main(String... args) {
        Cli.main(new Teardown(), args);
    }

    /** A statement of the plan: where it runs, and what it is for (shown as a comment). */
    record Step(String where, String sql, String why) {}

    /** A slot found upstream, with the process holding it when active. */
    record Slot(String name, boolean active, Integer pid, String holder) {}

    // what was read
    final List<Step> mzSteps = new ArrayList<>();
    final List<String> upstreamTx = new ArrayList<>();
    final List<String> slotDrops = new ArrayList<>();    // slot names to drop, in order
    final List<String> notes = new ArrayList<>();
    String sourceSlot;            // read from mz_postgres_sources
    boolean sourceDropped;        // DROP SOURCE in the plan (the slot may be in Materialize's hands for a moment)
    boolean mzRead;               // Materialize's catalog was read (not a plan from the names)
    boolean neonRole;             // on Neon, the role is left for the Neon API
    final Set<String> ours = new LinkedHashSet<>();      // slots that must be gone at the end
    final Map<String, Slot> upstreamSlots = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        for (String[] n : new String[][] {{"source", source}, {"connection", connection}, {"secret", secret},
                {"cluster", cluster}, {"publication", publication}, {"role", role}}) {
            Sql.requireName(n[0], n[1]);
        }
        slots.forEach(s -> Sql.requireName("slot", s));
        if (upstreamOnly && materializeOnly) {
            throw Fail.usage("--upstream-only and --materialize-only both given", "give one, or neither for both sides");
        }
        if (materializeOnly && !mz.given()) {
            throw Fail.usage("--materialize-only needs a Materialize URL", "give --mz-url (or MZ_URL)");
        }
        if (!tables.isEmpty() && !resetIdentity) {
            throw Fail.usage("--table is for --reset-replica-identity", "add --reset-replica-identity, or drop --table");
        }
        if (schemas.isEmpty()) {
            schemas = List.of("public");
        }
        boolean withMz = !upstreamOnly && mz.given();
        o.put("materialize", withMz);
        if (!withMz && !upstreamOnly) {
            o.line("Materialize: not touched (no --mz-url or MZ_URL given); upstream only");
        }
        Mz m = null;
        Pg db = null;
        try {
            if (withMz) {
                m = readMaterialize(o);
            }
            if (!materializeOnly) {
                db = pg.connect(o);
                readUpstream(o, db, m);
            }
            return run(o, m, db);
        } finally {
            if (m != null) {
                m.close();
            }
            if (db != null) {
                db.close();
            }
        }
    }

    // ---- reading ---------------------------------------------------------------------------

    /** The Materialize objects by name; under --dry-run an unreachable Materialize gives a plan from the names. */
    Mz readMaterialize(Out o) throws SQLException {
        Mz m;
        try {
            m = Mz.connectToRead(mz, o);
        } catch (Fail f) {
            if (!o.dryRun() || f.exit != Exit.CONNECT) {
                throw f;
            }
            o.warn("Materialize not reachable (" + f.getMessage() + "): the plan below is from the names; a real run "
                    + "reads the catalog first (and the source's slot name)");
            mzSteps.add(new Step("materialize", String.format(DROP_SOURCE, Sql.ident(source)), "the source and its subsources/tables"));
            mzSteps.add(new Step("materialize", String.format(DROP_CONNECTION, Sql.ident(connection)), null));
            mzSteps.add(new Step("materialize", String.format(DROP_SECRET, Sql.ident(secret)), null));
            mzSteps.add(new Step("materialize", String.format(DROP_CLUSTER, Sql.ident(cluster)), null));
            sourceDropped = true;
            return null;
        }
        mzRead = true;
        Map<String, Object> result = new LinkedHashMap<>();
        List<Map<String, Object>> src = m.query(MZ_SOURCE, source);
        Set<String> own = new LinkedHashSet<>();
        String connectionId = null;
        if (!src.isEmpty()) {
            Map<String, Object> s = src.get(0);
            String id = (String) s.get("id");
            if (!"postgres".equals(s.get("type"))) {
                throw new Fail(Exit.CONFLICT, "Materialize source " + source + " is a " + s.get("type")
                        + " source, not a PostgreSQL source; nothing was changed", "check --source");
            }
            sourceSlot = (String) s.get("replication_slot");
            connectionId = (String) s.get("connection_id");
            own.add(id);
            for (Map<String, Object> r : m.query(MZ_OWN, id, id)) {
                own.add((String) r.get("id"));
            }
            Map<String, Map<String, Object>> objects = objects(m);
            List<String> foreignIds = dependents(m, own);
            List<String> foreign = new ArrayList<>();
            for (String f : foreignIds) {
                Map<String, Object> ob = objects.get(f);
                foreign.add(ob == null ? f : ob.get("type") + " " + ob.get("name"));
            }
            if (cascade) {
                own.addAll(foreignIds);
            }
            if (!foreign.isEmpty() && !cascade) {
                throw new Fail(Exit.CONFLICT, "Materialize objects are built on source " + source + ": "
                        + String.join(", ", foreign) + "; nothing was changed",
                        "drop them first, or add --cascade to drop them with the source");
            }
            if (!foreign.isEmpty()) {
                o.warn("--cascade: DROP SOURCE also drops " + String.join(", ", foreign));
            }
            mzSteps.add(new Step("materialize", String.format(DROP_SOURCE, Sql.ident(source)),
                    (own.size() - 1) + " subsource(s)/table(s)" + (foreign.isEmpty() ? "" : " and " + foreign.size()
                            + " object(s) built on them") + "; slot " + (sourceSlot == null ? "unknown" : sourceSlot)));
            sourceDropped = true;
            result.put("source_slot", sourceSlot);
            result.put("source_objects", own.size());
            result.put("cascaded", foreign);
        }
        Map<String, Map<String, Object>> objects = null;
        List<Map<String, Object>> con = m.query(MZ_CONNECTION, connection);
        String conId = con.isEmpty() ? null : (String) con.get(0).get("id");
        if (conId != null) {
            objects = objects(m);
            List<String> users = usersOf(m, conId, own, objects);
            if (!users.isEmpty()) {
                o.warn("connection " + connection + " is kept: " + String.join(", ", users) + " still use(s) it");
            } else {
                mzSteps.add(new Step("materialize", String.format(DROP_CONNECTION, Sql.ident(connection)), null));
                own.add(conId);
            }
            if (connectionId != null && !connectionId.equals(conId)) {
                o.warn("source " + source + " used another connection than " + connection + "; that one is kept");
            }
        }
        List<Map<String, Object>> sec = m.query(MZ_SECRET, secret);
        if (!sec.isEmpty()) {
            String secId = (String) sec.get(0).get("id");
            objects = objects == null ? objects(m) : objects;
            List<String> users = usersOf(m, secId, own, objects);
            if (!users.isEmpty()) {
                o.warn("secret " + secret + " is kept: " + String.join(", ", users) + " still use(s) it");
            } else {
                mzSteps.add(new Step("materialize", String.format(DROP_SECRET, Sql.ident(secret)), null));
            }
        }
        List<Map<String, Object>> cl = m.query(MZ_CLUSTER, cluster);
        if (!cl.isEmpty()) {
            String clId = (String) cl.get(0).get("id");
            objects = objects == null ? objects(m) : objects;
            List<String> others = new ArrayList<>();
            for (Map<String, Object> ob : objects.values()) {
                if (clId.equals(ob.get("cluster_id")) && !own.contains((String) ob.get("id"))) {
                    others.add(ob.get("type") + " " + ob.get("name"));
                }
            }
            if (!clId.startsWith("u")) {
                o.warn("cluster " + cluster + " is a system cluster; kept");
            } else if (!others.isEmpty()) {
                o.warn("cluster " + cluster + " is kept: it also holds " + String.join(", ", others));
            } else {
                mzSteps.add(new Step("materialize", String.format(DROP_CLUSTER, Sql.ident(cluster)), null));
            }
        }
        for (Map<String, Object> r : m.query(MZ_SLOTS)) {
            claimedSlots.add((String) r.get("replication_slot"));
        }
        o.put("materialize_objects", result);
        return m;
    }

    final Set<String> claimedSlots = new LinkedHashSet<>();
    /** The objects the guide's grants are on (revoked above), as "KIND name". */
    final Set<String> guideObjects = new LinkedHashSet<>();

    static Map<String, Map<String, Object>> objects(Mz m) throws SQLException {
        Map<String, Map<String, Object>> out = new HashMap<>();
        for (Map<String, Object> r : m.query(MZ_OBJECTS)) {
            out.put((String) r.get("id"), r);
        }
        return out;
    }

    /** The ids of everything that depends on {@code own}, directly or not, and is not part of it: user objects. */
    static List<String> dependents(Mz m, Set<String> own) throws SQLException {
        Map<String, List<String>> dependentsOf = new HashMap<>();
        for (Map<String, Object> r : m.query(MZ_DEPENDENCIES)) {
            dependentsOf.computeIfAbsent((String) r.get("referenced_object_id"), k -> new ArrayList<>())
                    .add((String) r.get("object_id"));
        }
        Set<String> seen = new LinkedHashSet<>(own);
        Deque<String> todo = new ArrayDeque<>(own);
        List<String> foreign = new ArrayList<>();
        while (!todo.isEmpty()) {
            for (String d : dependentsOf.getOrDefault(todo.pop(), List.of())) {
                if (seen.add(d)) {
                    todo.add(d);
                    foreign.add(d);
                }
            }
        }
        return foreign;
    }

    /** Objects that reference {@code id} (a connection or secret), other than those being dropped. */
    static List<String> usersOf(Mz m, String id, Set<String> dropped, Map<String, Map<String, Object>> objects)
            throws SQLException {
        List<String> users = new ArrayList<>();
        for (Map<String, Object> r : m.query(MZ_DEPENDENCIES)) {
            String obj = (String) r.get("object_id");
            if (id.equals(r.get("referenced_object_id")) && !dropped.contains(obj)) {
                Map<String, Object> ob = objects.get(obj);
                users.add(ob == null ? obj : ob.get("type") + " " + ob.get("name"));
            }
        }
        return users;
    }

    void readUpstream(Out o, Pg db, Mz m) throws SQLException {
        String r = Sql.ident(role);
        boolean hasPublication = db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", publication) != null;
        // replica identity: read before the publication goes
        if (resetIdentity) {
            List<Table> ts;
            if (!tables.isEmpty()) {
                List<Sql.Name> names = new ArrayList<>();
                tables.forEach(t -> names.addAll(Sql.parseNames(t)));
                ts = Catalog.resolve(db, names);
            } else if (hasPublication) {
                ts = Catalog.inPublication(db, publication);
            } else {
                ts = List.of();
                o.warn("--reset-replica-identity: publication " + publication + " does not exist, so its tables are "
                        + "unknown; name them with --table");
            }
            List<String> reset = new ArrayList<>();
            for (Table t : Catalog.withPartitions(db, ts)) {
                if (t.identity() == 'f') {
                    reset.add(t.qualified());
                }
            }
            if (!reset.isEmpty()) {
                upstreamTx.add(LOCK_TIMEOUT);
                reset.forEach(t -> upstreamTx.add(String.format(RESET_IDENTITY, t)));
            }
            o.put("replica_identity_reset", reset);
        }
        if (hasPublication) {
            upstreamTx.add(String.format(DROP_PUBLICATION, Sql.ident(publication)));
        }
        o.put("publication", publication);
        o.put("publication_exists", hasPublication);

        boolean roleExists = db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", role) != null;
        o.put("role", role);
        o.put("role_exists", roleExists);
        if (roleExists) {
            for (Map<String, Object> g : db.query(GRANTS, role, schemas)) {
                String q = Sql.ident((String) g.get("nspname"));
                if ((Boolean) g.get("usage")) {
                    upstreamTx.add(String.format(REVOKE_USAGE, q, r));
                }
                List<String> ts = new ArrayList<>();
                for (Object t : (List<?>) g.get("tables")) {
                    ts.add(Sql.qualified((String) g.get("nspname"), (String) t));
                    guideObjects.add("TABLE " + ts.get(ts.size() - 1));
                }
                // the guide granted ON ALL TABLES IN SCHEMA; revoking that way would touch tables this session may
                // not revoke on (another owner's), so the tables that hold the grant are named
                if (!ts.isEmpty()) {
                    upstreamTx.add(String.format(REVOKE_SELECT, String.join(", ", ts), r));
                }
                if ((Boolean) g.get("usage")) {
                    guideObjects.add("SCHEMA " + q);
                }
                guideObjects.add("DEFAULT " + q);
                for (Object owner : (List<?>) g.get("default_owners")) {
                    // regrole::text is already quoted as an identifier when it needs to be
                    upstreamTx.add(String.format(REVOKE_DEFAULT, owner, q, r));
                }
            }
            String endpoint = db.neonEndpoint();
            if (keepRole) {
                notes.add("role " + role + " kept (--keep-role)");
            } else if (endpoint != null) {
                neonRole = true;
                notes.add("role " + role + " is left to Neon: a role made with the Console, neonctl or the API is "
                        + "deleted the same way: neonctl roles delete " + Out.shellQuote(role)
                        + " --project-id <project> --branch <branch of endpoint " + endpoint + ">");
            } else {
                planRoleDrop(o, db);
            }
        }

        // slots
        if (sourceSlot != null) {
            ours.add(sourceSlot);
        }
        ours.addAll(slots);
        for (Map<String, Object> s : db.query(SLOTS, new ArrayList<>(ours))) {
            Integer pid = s.get("active_pid") == null ? null : ((Number) s.get("active_pid")).intValue();
            String holder = pid == null ? null : "pid " + pid + (s.get("usename") == null ? "" : ", user " + s.get("usename"))
                    + (s.get("application_name") == null || ((String) s.get("application_name")).isEmpty() ? ""
                            : ", application " + s.get("application_name"))
                    + (s.get("client_addr") == null ? "" : ", from " + s.get("client_addr"));
            String name = (String) s.get("slot_name");
            upstreamSlots.put(name, new Slot(name, (Boolean) s.get("active"), pid, holder));
        }
        List<List<Object>> rows = new ArrayList<>();
        List<String> orphans = new ArrayList<>();
        for (String s : ours) {
            Slot sl = upstreamSlots.get(s);
            if (sl == null) {
                if (!(s.equals(sourceSlot) && sourceDropped)) {
                    rows.add(List.of(s, "ours", "gone", "-"));
                } else {
                    rows.add(List.of(s, "the source's", "absent now", "verify gone after DROP SOURCE"));
                }
                continue;
            }
            if (sl.active() && !(s.equals(sourceSlot) && sourceDropped)) {
                rows.add(List.of(s, "ours", "active: " + sl.holder(), "kept (in use): stop its holder first"));
            } else {
                slotDrops.add(s);
                rows.add(List.of(s, s.equals(sourceSlot) ? "the source's" : "ours",
                        sl.active() ? "active (the source)" : "inactive",
                        s.equals(sourceSlot) && sourceDropped ? "drop if DROP SOURCE leaves it" : "drop"));
            }
        }
        for (Slot sl : upstreamSlots.values()) {
            if (ours.contains(sl.name()) || !MZ_SLOT.matcher(sl.name()).matches()) {
                continue;
            }
            if (claimedSlots.contains(sl.name())) {
                rows.add(List.of(sl.name(), "another source's", sl.active() ? "active" : "inactive", "kept"));
            } else if (sl.active()) {
                rows.add(List.of(sl.name(), "unclaimed", "active: " + sl.holder(), "kept (in use)"));
            } else {
                orphans.add(sl.name());
                if (dropOrphans) {
                    slotDrops.add(sl.name());
                    ours.add(sl.name());
                }
                rows.add(List.of(sl.name(), "orphan", "inactive", dropOrphans ? "drop (--drop-orphan-slots)"
                        : "kept (--drop-orphan-slots drops it)"));
            }
        }
        if (!rows.isEmpty()) {
            o.table(List.of("slot", "whose", "state", "action"), rows);
        }
        o.put("orphan_slots", orphans);
        if (!orphans.isEmpty() && !dropOrphans) {
            o.warn(orphans.size() + " inactive slot(s) named like Materialize's that no source claims"
                    + (mzRead ? "" : " (Materialize's catalog was not read, so a source's slot cannot be told apart)")
                    + ": " + String.join(", ", orphans) + "; each keeps WAL on the server; --drop-orphan-slots drops them");
        } else if (!orphans.isEmpty() && !mzRead) {
            o.warn("--drop-orphan-slots without a Materialize URL: the slots' owners could not be checked against "
                    + "mz_internal.mz_postgres_sources; only inactive ones are dropped");
        }
    }

    /**
     * DROP ROLE fails while the role owns anything or holds privileges. The guide's grants are revoked above.
     * Owning objects: not safe to undo here (REASSIGN OWNED would give them to someone, DROP OWNED would
     * delete them), so the teardown stops before any change. Other privileges in this database only: the role
     * owns nothing, so DROP OWNED BY only revokes them, which is safe. Privileges in other databases: DROP
     * OWNED must be run there.
     */
    void planRoleDrop(Out o, Pg db) throws SQLException {
        String current = (String) db.value("SELECT current_user");
        if (role.equals(current)) {
            throw new Fail(Exit.CONFLICT, "role " + role + " is the role this session connects as; nothing was changed",
                    "connect as the database owner (on Neon: e.g. neondb_owner), or add --keep-role");
        }
        List<String> owned = new ArrayList<>();
        List<String> elsewhere = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        List<String> revokes = new ArrayList<>();
        boolean unnamed = false;
        String r = Sql.ident(role);
        for (Map<String, Object> d : db.query(DEPENDENCIES, role)) {
            String type = (String) d.get("deptype");
            boolean here = (Boolean) d.get("here") || (Boolean) d.get("shared");
            String what = here ? (String) d.get("object") : "objects in database " + d.get("datname");
            String kind = (String) d.get("kind");
            if ("o".equals(type)) {
                owned.add(what);
                continue;
            }
            if (!here) {
                elsewhere.add((String) d.get("datname"));
                continue;
            }
            String on = kind == null ? null : switch (kind) {
                case "TABLE" -> "TABLE " + Sql.qualified((String) d.get("schema"), (String) d.get("name"));
                case "FUNCTION" -> "FUNCTION " + Sql.qualified((String) d.get("schema"), (String) d.get("name"))
                        + "(" + d.get("args") + ")";
                case "DEFAULT" -> "DEFAULT " + (d.get("schema") == null ? "" : Sql.ident((String) d.get("schema")));
                default -> kind + " " + Sql.ident((String) d.get("name"));
            };
            if (on != null && guideObjects.contains(on)) {
                continue;
            }
            extra.add(what);
            if (on == null) {
                unnamed = true;
            } else if (kind.equals("DEFAULT")) {
                String objects = switch ((String) d.get("default_type")) {
                    case "S" -> "SEQUENCES";
                    case "f" -> "FUNCTIONS";
                    case "T" -> "TYPES";
                    case "n" -> "SCHEMAS";
                    default -> "TABLES";
                };
                revokes.add(String.format(REVOKE_ALL_DEFAULT, d.get("default_owner"),
                        d.get("schema") == null ? "" : " IN SCHEMA " + Sql.ident((String) d.get("schema")), objects, r));
            } else {
                String[] w = on.split(" ", 2);
                revokes.add(String.format(REVOKE_ALL, w[0], w[1], r));
            }
        }
        if (!owned.isEmpty()) {
            throw new Fail(Exit.CONFLICT, "role " + role + " owns " + String.join(", ", new LinkedHashSet<>(owned))
                    + "; DROP ROLE would fail, and dropping or re-owning them is not a teardown's call; nothing was changed",
                    "review them, then as an administrator: REASSIGN OWNED BY " + r + " TO <owner>; "
                            + "DROP OWNED BY " + r + " (in each database); or add --keep-role");
        }
        if (!elsewhere.isEmpty()) {
            throw new Fail(Exit.CONFLICT, "role " + role + " has privileges in other databases ("
                    + String.join(", ", new LinkedHashSet<>(elsewhere)) + "); DROP ROLE would fail; nothing was changed",
                    "in each of them run DROP OWNED BY " + r + " (the role owns nothing, so this only "
                            + "revokes its privileges), or add --keep-role");
        }
        if (!extra.isEmpty()) {
            new LinkedHashSet<>(revokes).forEach(upstreamTx::add);
            if (unnamed) {
                // the role owns nothing, so DROP OWNED only revokes; it needs the privileges of the role, though
                upstreamTx.add(String.format(DROP_OWNED, r));
            }
            notes.add("role " + role + " also holds privileges beyond the guide's, revoked so that DROP ROLE can run: "
                    + String.join(", ", extra));
        }
        upstreamTx.add(String.format(DROP_ROLE, Sql.ident(role)));
    }

    // ---- the plan, the confirmation, the run ---------------------------------------------------

    int run(Out o, Mz m, Pg db) throws Exception {
        List<String> plan = new ArrayList<>();
        if (!mzSteps.isEmpty()) {
            plan.add("-- Materialize, in order");
            for (Step s : mzSteps) {
                if (s.why() != null) {
                    plan.add("-- " + s.why());
                }
                plan.add(s.sql());
            }
        }
        if (!upstreamTx.isEmpty()) {
            plan.add("-- upstream, one transaction");
            plan.add("BEGIN");
            plan.addAll(upstreamTx);
            plan.add("COMMIT");
        }
        if (!slotDrops.isEmpty()) {
            plan.add("-- upstream slots (not transactional), each verified gone");
            for (String s : slotDrops) {
                plan.add(String.format(DROP_SLOT, Sql.literal(s)));
            }
        }
        notes.forEach(n -> o.line("note: " + n));
        o.put("plan", plan.stream().filter(p -> !p.startsWith("--")).toList());
        boolean activeOurs = ours.stream().anyMatch(s -> upstreamSlots.containsKey(s) && !slotDrops.contains(s));
        if (plan.isEmpty()) {
            if (activeOurs) {
                return verify(o, db, m, 0);
            }
            if (neonRole) {
                throw new Fail(Exit.NEEDS_NEON_API, "teardown: everything else is done; role " + role + " is left to Neon",
                        notes.get(notes.size() - 1).replaceFirst("^.*?: ", "") + " (or --keep-role)");
            }
            o.put("already_done", true);
            o.line("teardown: already done (nothing of ours left%s)", materializeOnly ? " in Materialize"
                    : upstreamOnly || !mz.given() ? " upstream" : "");
            return Exit.OK;
        }
        o.put("already_done", false);
        int count = (int) plan.stream().filter(p -> !p.startsWith("--") && !p.equals("BEGIN") && !p.equals("COMMIT")).count();
        if (o.dryRun()) {
            if (m != null) {
                mzSteps.forEach(s -> m.sent(s.sql()));
            }
            for (String p : plan) {
                if (p.startsWith("--")) {
                    o.line(p);
                } else {
                    o.statement(p);
                }
            }
            o.line("teardown: %d statement%s would run (dry run: nothing changed)", count, count == 1 ? "" : "s");
            return Exit.OK;
        }
        o.line("plan:");
        plan.forEach(p -> o.line(p.startsWith("--") ? p : p + ";"));
        o.confirm("run these " + count + " statement" + (count == 1 ? "" : "s") + "? (they drop objects; no undo)");

        for (Step s : mzSteps) {
            m.exec(s.sql());
        }
        if (db == null) {
            if (sourceSlot != null) {
                o.line("note: the source's slot was %s; check upstream that it is gone: ./jbang teardown --upstream-only --slot %s",
                        sourceSlot, Out.shellQuote(sourceSlot));
            }
            verifyMz(o, m);
            o.line("teardown: done (%d statement%s); verified: the Materialize objects are gone", mzSteps.size(),
                    mzSteps.size() == 1 ? "" : "s");
            return Exit.OK;
        }
        if (sourceDropped && sourceSlot != null && upstreamSlots.containsKey(sourceSlot)) {
            waitForMaterializeDrop(o, db);
        }
        try {
            db.transaction(upstreamTx);
        } catch (SQLException e) {
            if ("2BP01".equals(e.getSQLState())) {
                throw new Fail(Exit.CONFLICT, "DROP ROLE " + role + ": " + e.getMessage() + " (the whole upstream "
                        + "transaction was rolled back: nothing upstream changed)", "revoke what the detail lists, or "
                        + "add --keep-role; then run ./jbang teardown again", e);
            }
            throw Pg.translate(e);
        }
        List<String> failed = new ArrayList<>();
        for (String s : slotDrops) {
            if (!slotExists(db, s)) {
                continue;   // Materialize's background drop got there first
            }
            try {
                db.exec(String.format(DROP_SLOT, Sql.literal(s)));
            } catch (SQLException e) {
                failed.add(s + " (" + e.getMessage() + ")");
            }
        }
        o.put("slot_drop_errors", failed);
        if (m != null && mzRead) {
            verifyMz(o, m);
        }
        return verify(o, db, m, count);
    }

    /** Materialize drops the slot in the background after DROP SOURCE; it gets --wait to finish or let go. */
    void waitForMaterializeDrop(Out o, Pg db) throws Exception {
        long until = System.nanoTime() + waitSlot.toNanos();
        while (System.nanoTime() < until) {
            List<Map<String, Object>> r = db.query("SELECT active FROM pg_replication_slots WHERE slot_name = ?", sourceSlot);
            if (r.isEmpty() || !(Boolean) r.get(0).get("active")) {
                return;
            }
            Thread.sleep(500);
        }
    }

    static boolean slotExists(Pg db, String slot) throws SQLException {
        return db.value("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?", slot) != null;
    }

    /** Every Materialize object the plan dropped is gone. */
    void verifyMz(Out o, Mz m) throws SQLException {
        List<String> left = new ArrayList<>();
        for (Step s : mzSteps) {
            String[] w = s.sql().split(" ");   // DROP <KIND> IF EXISTS <name>
            String kind = w[1];
            String name = kind.equals("SOURCE") ? source : kind.equals("CONNECTION") ? connection
                    : kind.equals("SECRET") ? secret : cluster;
            String q = kind.equals("SOURCE") ? MZ_SOURCE : kind.equals("CONNECTION") ? MZ_CONNECTION
                    : kind.equals("SECRET") ? MZ_SECRET : MZ_CLUSTER;
            if (!m.query(q, name).isEmpty()) {
                left.add(kind.toLowerCase(java.util.Locale.ROOT) + " " + name);
            }
        }
        if (!left.isEmpty()) {
            throw new Fail(Exit.VERIFY, "still in Materialize after the teardown: " + String.join(", ", left),
                    "run ./jbang teardown again with --verbose and read Materialize's answer");
        }
    }

    /** No publication, no role (unless kept), no slot of ours. */
    int verify(Out o, Pg db, Mz m, int count) throws SQLException {
        List<String> left = new ArrayList<>();
        if (db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", publication) != null) {
            left.add("publication " + publication);
        }
        if (!keepRole && !neonRole && db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", role) != null) {
            left.add("role " + role);
        }
        List<String> holders = new ArrayList<>();
        List<String> pids = new ArrayList<>();
        for (Map<String, Object> s : db.query(SLOTS, new ArrayList<>(ours))) {
            String name = (String) s.get("slot_name");
            if (!ours.contains(name)) {
                continue;
            }
            left.add("slot " + name);
            if (s.get("active_pid") != null) {
                pids.add(String.valueOf(s.get("active_pid")));
                holders.add(name + " is held by pid " + s.get("active_pid")
                        + (s.get("usename") == null ? "" : " (user " + s.get("usename")
                        + (s.get("application_name") == null || ((String) s.get("application_name")).isEmpty() ? ""
                                : ", application " + s.get("application_name"))
                        + (s.get("client_addr") == null ? "" : ", from " + s.get("client_addr")) + ")"));
            }
        }
        o.put("left", left);
        if (!left.isEmpty()) {
            String fix = holders.isEmpty()
                    ? "run ./jbang teardown again with --verbose; a slot that is not active can be dropped with "
                            + "SELECT pg_drop_replication_slot('<name>')"
                    : String.join("; ", holders) + " (see pg_stat_replication): stop that client (or, if it is a "
                            + "Materialize source you no longer want, DROP SOURCE it), or end it with SELECT "
                            + "pg_terminate_backend(" + String.join("), pg_terminate_backend(", pids) + "); then run "
                            + "./jbang teardown again";
            throw new Fail(Exit.VERIFY, "still there after the teardown: " + String.join(", ", left), fix);
        }
        o.put("verified", true);
        o.line("teardown: %s; verified: no publication %s%s, no slot of ours", count == 0 ? "nothing to run"
                        : "done (" + count + " statement" + (count == 1 ? "" : "s") + ")", publication,
                keepRole || neonRole ? "" : ", no role " + role);
        if (neonRole) {
            throw new Fail(Exit.NEEDS_NEON_API, "role " + role + " is left to Neon",
                    notes.stream().filter(n -> n.contains("neonctl")).findFirst().orElse("").replaceFirst("^.*?: ", "")
                            + " (or --keep-role)");
        }
        return Exit.OK;
    }
}
