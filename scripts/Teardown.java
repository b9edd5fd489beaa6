///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
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

import java.nio.file.Files;
import java.nio.file.Path;
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
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Secrets;
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
public class Teardown implements Callable<Integer>, Cli.Resumable {
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
    /**
     * What DROP SOURCE … CASCADE takes with the source: its subsources (legacy syntax; each depends on its
     * source: object_id = the subsource), its progress subsource (which the source depends on) and its tables
     * FROM SOURCE (new syntax).
     */
    static final String MZ_OWN = """
            SELECT d.object_id AS id FROM mz_internal.mz_object_dependencies AS d
              JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
            WHERE d.referenced_object_id = ?
            UNION SELECT d.referenced_object_id FROM mz_internal.mz_object_dependencies AS d
              JOIN mz_catalog.mz_sources AS p ON p.id = d.referenced_object_id AND p.type = 'progress'
            WHERE d.object_id = ?
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
    @Option(names = "--password-file", paramLabel = "FILE", description = "The role's password file (replication-role "
            + "--password-out), deleted with the role (default: ~/.neonmz/materialize.password if its password logs in as the role).")
    Path passwordFile;
    @Option(names = "--cascade", description = "Also drop Materialize objects built on the source (views, indexes, "
            + "materialized views, sinks); without it their presence stops the teardown before any change.")
    boolean cascade;
    @Option(names = "--wait", paramLabel = "DURATION", converter = Durations.class, defaultValue = "30s",
            description = "After DROP SOURCE, how long to give Materialize's own slot drop (default ${DEFAULT-VALUE}).")
    Duration waitSlot;

    public static void main(String... args) {
        Cli.main(new Teardown(), args);
    }

    /** What was read and what will run, in order; how each part is read, shown and checked is there. */
    final TeardownPlan plan = new TeardownPlan(this);

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        plan.checkOptions();
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

    // ---- Materialize: the source (its slot name read first), then what nothing else still uses ----

    /** The Materialize objects by name; under --dry-run an unreachable Materialize gives a plan from the names. */
    Mz readMaterialize(Out o) throws SQLException {
        Mz m = plan.connectToMaterialize(o);
        if (m == null) {
            plan.mz(String.format(DROP_SOURCE, Sql.ident(source)), "the source and its subsources/tables");
            plan.mz(String.format(DROP_CONNECTION, Sql.ident(connection)), null);
            plan.mz(String.format(DROP_SECRET, Sql.ident(secret)), null);
            plan.mz(String.format(DROP_CLUSTER, Sql.ident(cluster)), null);
            plan.sourceDropped = true;
            return null;
        }
        plan.mzRead = true;
        Map<String, Object> result = new LinkedHashMap<>();
        Set<String> own = new LinkedHashSet<>();   // what the plan drops: the source's objects, the connection
        List<Map<String, Object>> src = m.query(MZ_SOURCE, source);
        String connectionId = src.isEmpty() ? null : (String) src.get(0).get("connection_id");
        if (!src.isEmpty()) {
            plan.mz(String.format(DROP_SOURCE, Sql.ident(source)), plan.checkSource(o, m, src.get(0), own, result));
            plan.sourceDropped = true;
        }
        List<Map<String, Object>> con = m.query(MZ_CONNECTION, connection);
        String conId = con.isEmpty() ? null : (String) con.get(0).get("id");
        if (conId != null && plan.unused(o, m, "connection " + connection, conId, own)) {
            plan.mz(String.format(DROP_CONNECTION, Sql.ident(connection)), null);
            own.add(conId);
        }
        if (conId != null && connectionId != null && !connectionId.equals(conId)) {
            o.warn("source " + source + " used another connection than " + connection + "; that one is kept");
        }
        List<Map<String, Object>> sec = m.query(MZ_SECRET, secret);
        if (!sec.isEmpty() && plan.unused(o, m, "secret " + secret, (String) sec.get(0).get("id"), own)) {
            plan.mz(String.format(DROP_SECRET, Sql.ident(secret)), null);
        }
        List<Map<String, Object>> cl = m.query(MZ_CLUSTER, cluster);
        if (!cl.isEmpty() && plan.clusterFree(o, m, (String) cl.get(0).get("id"), own)) {
            plan.mz(String.format(DROP_CLUSTER, Sql.ident(cluster)), null);
        }
        for (Map<String, Object> r : m.query(MZ_SLOTS)) {
            plan.claimedSlots.add((String) r.get("replication_slot"));
        }
        o.put("materialize_objects", result);
        return m;
    }

    // ---- upstream: one transaction (replica identity, publication, grants, role); the slots after it ----

    /** The upstream plan, read before anything changes; the slots' table shows what becomes of each. */
    void readUpstream(Out o, Pg db, Mz m) throws SQLException {
        boolean hasPublication = db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", publication) != null;
        if (resetIdentity) {   // replica identity: read before the publication goes
            List<String> reset = plan.fullIdentity(o, db, hasPublication);
            if (!reset.isEmpty()) {
                plan.upstreamTx.add(LOCK_TIMEOUT);
                reset.forEach(t -> plan.upstreamTx.add(String.format(RESET_IDENTITY, t)));
            }
            o.put("replica_identity_reset", reset);
        }
        if (hasPublication) {
            plan.upstreamTx.add(String.format(DROP_PUBLICATION, Sql.ident(publication)));
        }
        o.put("publication", publication);
        o.put("publication_exists", hasPublication);

        boolean roleExists = db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", role) != null;
        o.put("role", role);
        o.put("role_exists", roleExists);
        if (roleExists) {
            plan.revokeGuideGrants(db);
            String endpoint = db.neonEndpoint();
            if (keepRole) {
                plan.notes.add("role " + role + " kept (--keep-role)");
            } else if (endpoint != null) {
                plan.neonRole = true;
                plan.notes.add("role " + role + " is left to Neon: a role made with the Console, neonctl or the API is "
                        + "deleted the same way: neonctl roles delete " + Out.shellQuote(role)
                        + " --project-id <project> --branch <branch of endpoint " + endpoint + ">");
            } else {
                plan.clearRoleTies(db);
                plan.upstreamTx.add(String.format(DROP_ROLE, Sql.ident(role)));
                plan.passwordFile(o);
            }
        }
        plan.slots(o, db);
    }

    // ---- the plan, the confirmation, the run ---------------------------------------------------

    /** The plan shown and confirmed; then Materialize, the upstream transaction, the slots; then verified. */
    int run(Out o, Mz m, Pg db) throws Exception {
        List<String> statements = plan.statements();
        plan.notes.forEach(n -> o.line("note: " + n));
        o.put("plan", statements.stream().filter(p -> !p.startsWith("--")).toList());
        if (statements.isEmpty()) {
            return plan.nothingToRun(o, m, db);
        }
        o.put("already_done", false);
        int count = TeardownPlan.count(statements);
        if (o.dryRun()) {
            return plan.dryRun(o, m, statements, count);
        }
        plan.confirm(o, statements, count);

        for (TeardownPlan.Step s : plan.mzSteps) {
            m.exec(s.sql());
        }
        if (db == null) {
            return plan.doneInMaterialize(o, m);
        }
        if (plan.sourceDropped && plan.sourceSlot != null && plan.upstreamSlots.containsKey(plan.sourceSlot)) {
            plan.waitForMaterializeDrop(o, db);
        }
        plan.runUpstreamTransaction(db);
        plan.deletePasswordFile(o);
        o.put("slot_drop_errors", plan.dropSlots(db));
        if (m != null && plan.mzRead) {
            plan.verifyMz(o, m);
        }
        return plan.verify(o, db, m, count);
    }
}

/**
 * The plan of one {@link Teardown} run and the work around it: what was read (the source's slot, Materialize's
 * objects and what depends on them, the role's grants and ties, the slots upstream), what each reading decided
 * (drop, keep, or stop before any change), the statements in the order they run, how they are shown, the slot
 * drops after the transaction, and the final verification. The options are the command's ({@code cmd}).
 */
final class TeardownPlan {
    /** A statement of the plan: where it runs, and what it is for (shown as a comment). */
    record Step(String where, String sql, String why) {}

    /** A slot found upstream, with the process holding it when active. */
    record Slot(String name, boolean active, Integer pid, String holder) {}

    /** What ties the role down besides the guide's grants, by what DROP ROLE needs done about it. */
    record RoleTies(List<String> owned, List<String> elsewhere, List<String> extra, List<String> revokes,
            boolean unnamed) {}

    private final Teardown cmd;

    // the plan, and what was read for it
    final List<Step> mzSteps = new ArrayList<>();
    final List<String> upstreamTx = new ArrayList<>();
    final List<String> slotDrops = new ArrayList<>();    // slot names to drop, in order
    final List<String> notes = new ArrayList<>();
    String sourceSlot;            // read from mz_postgres_sources
    boolean sourceDropped;        // DROP SOURCE in the plan (the slot may be in Materialize's hands for a moment)
    boolean mzRead;               // Materialize's catalog was read (not a plan from the names)
    boolean neonRole;             // on Neon, the role is left for the Neon API
    Path passwordFile;            // the dropped role's password file, deleted after the upstream transaction
    final Set<String> ours = new LinkedHashSet<>();      // slots that must be gone at the end
    final Map<String, Slot> upstreamSlots = new LinkedHashMap<>();
    final Set<String> claimedSlots = new LinkedHashSet<>();
    /** The objects the guide's grants are on (revoked by {@link #revokeGuideGrants}), as "KIND name". */
    final Set<String> guideObjects = new LinkedHashSet<>();
    private Map<String, Map<String, Object>> mzObjects;   // read when first needed, after the source's checks

    TeardownPlan(Teardown cmd) {
        this.cmd = cmd;
    }

    /** The names are identifiers, the sides exclusive, --table only with --reset-replica-identity. */
    void checkOptions() {
        for (String[] n : new String[][] {{"source", cmd.source}, {"connection", cmd.connection}, {"secret", cmd.secret},
                {"cluster", cmd.cluster}, {"publication", cmd.publication}, {"role", cmd.role}}) {
            Sql.requireName(n[0], n[1]);
        }
        cmd.slots.forEach(s -> Sql.requireName("slot", s));
        if (cmd.upstreamOnly && cmd.materializeOnly) {
            throw Fail.usage("--upstream-only and --materialize-only both given", "give one, or neither for both sides");
        }
        if (cmd.materializeOnly && !cmd.mz.given()) {
            throw Fail.usage("--materialize-only needs a Materialize URL", "give --mz-url (or MZ_URL)");
        }
        if (!cmd.tables.isEmpty() && !cmd.resetIdentity) {
            throw Fail.usage("--table is for --reset-replica-identity", "add --reset-replica-identity, or drop --table");
        }
        if (cmd.schemas.isEmpty()) {
            cmd.schemas = List.of("public");
        }
    }

    void mz(String sql, String why) {
        mzSteps.add(new Step("materialize", sql, why));
    }

    // ---- Materialize ---------------------------------------------------------------------------

    /** Materialize, to read; null under --dry-run when it is not reachable (the plan is then from the names). */
    Mz connectToMaterialize(Out o) {
        try {
            return Mz.connectToRead(cmd.mz, o);
        } catch (Fail f) {
            if (!o.dryRun() || f.exit != Exit.CONNECT) {
                throw f;
            }
            o.warn("Materialize not reachable (" + f.getMessage() + "): the plan below is from the names; a real run "
                    + "reads the catalog first (and the source's slot name)");
            return null;
        }
    }

    /**
     * Before DROP SOURCE … CASCADE: it must be a PostgreSQL source, and nothing may be built on it or its
     * subsources/tables unless --cascade drops that too. Reads the source's slot name, adds what the drop takes
     * to {@code own}, and returns the plan's comment on it.
     */
    String checkSource(Out o, Mz m, Map<String, Object> s, Set<String> own, Map<String, Object> result)
            throws SQLException {
        String id = (String) s.get("id");
        if (!"postgres".equals(s.get("type"))) {
            throw new Fail(Exit.CONFLICT, "Materialize source " + cmd.source + " is a " + s.get("type")
                    + " source, not a PostgreSQL source; nothing was changed", "check --source");
        }
        sourceSlot = (String) s.get("replication_slot");
        own.add(id);
        for (Map<String, Object> r : m.query(Teardown.MZ_OWN, id, id, id)) {
            own.add((String) r.get("id"));
        }
        Map<String, Map<String, Object>> objects = objects(m);
        List<String> foreignIds = dependents(m, own);
        List<String> foreign = new ArrayList<>();
        for (String f : foreignIds) {
            Map<String, Object> ob = objects.get(f);
            foreign.add(ob == null ? f : ob.get("type") + " " + ob.get("name"));
        }
        if (cmd.cascade) {
            own.addAll(foreignIds);
        }
        if (!foreign.isEmpty() && !cmd.cascade) {
            throw new Fail(Exit.CONFLICT, "Materialize objects are built on source " + cmd.source + ": "
                    + String.join(", ", foreign) + "; nothing was changed",
                    "drop them first, or add --cascade to drop them with the source");
        }
        if (!foreign.isEmpty()) {
            o.warn("--cascade: DROP SOURCE also drops " + String.join(", ", foreign));
        }
        result.put("source_slot", sourceSlot);
        result.put("source_objects", own.size());
        result.put("cascaded", foreign);
        return (own.size() - 1) + " subsource(s)/table(s)" + (foreign.isEmpty() ? "" : " and " + foreign.size()
                + " object(s) built on them") + "; slot " + (sourceSlot == null ? "unknown" : sourceSlot);
    }

    /** Whether nothing but what the plan drops uses {@code id} (a connection or secret); says so when something does. */
    boolean unused(Out o, Mz m, String what, String id, Set<String> dropped) throws SQLException {
        List<String> users = usersOf(m, id, dropped, mzObjects(m));
        if (!users.isEmpty()) {
            o.warn(what + " is kept: " + String.join(", ", users) + " still use(s) it");
        }
        return users.isEmpty();
    }

    /** Whether the cluster may go (RESTRICT, checked first): a user cluster holding nothing the plan keeps. */
    boolean clusterFree(Out o, Mz m, String clId, Set<String> own) throws SQLException {
        List<String> others = new ArrayList<>();
        for (Map<String, Object> ob : mzObjects(m).values()) {
            if (clId.equals(ob.get("cluster_id")) && !own.contains((String) ob.get("id"))) {
                others.add(ob.get("type") + " " + ob.get("name"));
            }
        }
        if (!clId.startsWith("u")) {
            o.warn("cluster " + cmd.cluster + " is a system cluster; kept");
        } else if (!others.isEmpty()) {
            o.warn("cluster " + cmd.cluster + " is kept: it also holds " + String.join(", ", others));
        }
        return clId.startsWith("u") && others.isEmpty();
    }

    private Map<String, Map<String, Object>> mzObjects(Mz m) throws SQLException {
        if (mzObjects == null) {
            mzObjects = objects(m);
        }
        return mzObjects;
    }

    static Map<String, Map<String, Object>> objects(Mz m) throws SQLException {
        Map<String, Map<String, Object>> out = new HashMap<>();
        for (Map<String, Object> r : m.query(Teardown.MZ_OBJECTS)) {
            out.put((String) r.get("id"), r);
        }
        return out;
    }

    /** The ids of everything that depends on {@code own}, directly or not, and is not part of it: user objects. */
    static List<String> dependents(Mz m, Set<String> own) throws SQLException {
        Map<String, List<String>> dependentsOf = new HashMap<>();
        for (Map<String, Object> r : m.query(Teardown.MZ_DEPENDENCIES)) {
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
        for (Map<String, Object> r : m.query(Teardown.MZ_DEPENDENCIES)) {
            String obj = (String) r.get("object_id");
            if (id.equals(r.get("referenced_object_id")) && !dropped.contains(obj)) {
                Map<String, Object> ob = objects.get(obj);
                users.add(ob == null ? obj : ob.get("type") + " " + ob.get("name"));
            }
        }
        return users;
    }

    // ---- upstream ------------------------------------------------------------------------------

    /** --reset-replica-identity: the FULL tables (partitions included) of --table, else of the publication. */
    List<String> fullIdentity(Out o, Pg db, boolean hasPublication) throws SQLException {
        List<Table> ts;
        if (!cmd.tables.isEmpty()) {
            List<Sql.Name> names = new ArrayList<>();
            cmd.tables.forEach(t -> names.addAll(Sql.parseNames(t)));
            ts = Catalog.resolve(db, names);
        } else if (hasPublication) {
            ts = Catalog.inPublication(db, cmd.publication);
        } else {
            ts = List.of();
            o.warn("--reset-replica-identity: publication " + cmd.publication + " does not exist, so its tables are "
                    + "unknown; name them with --table");
        }
        List<String> reset = new ArrayList<>();
        for (Table t : Catalog.withPartitions(db, ts)) {
            if (t.identity() == 'f') {
                reset.add(t.qualified());
            }
        }
        return reset;
    }

    /** The guide's grants the role holds directly, revoked; the objects they are on noted in {@link #guideObjects}. */
    void revokeGuideGrants(Pg db) throws SQLException {
        String r = Sql.ident(cmd.role);
        for (Map<String, Object> g : db.query(Teardown.GRANTS, cmd.role, cmd.schemas)) {
            String q = Sql.ident((String) g.get("nspname"));
            if ((Boolean) g.get("usage")) {
                upstreamTx.add(String.format(Teardown.REVOKE_USAGE, q, r));
            }
            List<String> ts = new ArrayList<>();
            for (Object t : (List<?>) g.get("tables")) {
                ts.add(Sql.qualified((String) g.get("nspname"), (String) t));
                guideObjects.add("TABLE " + ts.get(ts.size() - 1));
            }
            // the guide granted ON ALL TABLES IN SCHEMA; revoking that way would touch tables this session may
            // not revoke on (another owner's), so the tables that hold the grant are named
            if (!ts.isEmpty()) {
                upstreamTx.add(String.format(Teardown.REVOKE_SELECT, String.join(", ", ts), r));
            }
            if ((Boolean) g.get("usage")) {
                guideObjects.add("SCHEMA " + q);
            }
            guideObjects.add("DEFAULT " + q);
            for (Object owner : (List<?>) g.get("default_owners")) {
                // regrole::text is already quoted as an identifier when it needs to be
                upstreamTx.add(String.format(Teardown.REVOKE_DEFAULT, owner, q, r));
            }
        }
    }

    /**
     * DROP ROLE fails while the role owns anything or holds privileges. The guide's grants are revoked above.
     * Owning objects: not safe to undo here (REASSIGN OWNED would give them to someone, DROP OWNED would
     * delete them), so the teardown stops before any change. Other privileges in this database only: the role
     * owns nothing, so DROP OWNED BY only revokes them, which is safe. Privileges in other databases: DROP
     * OWNED must be run there.
     */
    void clearRoleTies(Pg db) throws SQLException {
        String current = (String) db.value("SELECT current_user");
        if (cmd.role.equals(current)) {
            throw new Fail(Exit.CONFLICT, "role " + cmd.role + " is the role this session connects as; nothing was changed",
                    "connect as the database owner (on Neon: e.g. neondb_owner), or add --keep-role");
        }
        String r = Sql.ident(cmd.role);
        RoleTies ties = roleTies(db, r);
        if (!ties.owned().isEmpty()) {
            throw new Fail(Exit.CONFLICT, "role " + cmd.role + " owns " + String.join(", ", new LinkedHashSet<>(ties.owned()))
                    + "; DROP ROLE would fail, and dropping or re-owning them is not a teardown's call; nothing was changed",
                    "review them, then as an administrator: REASSIGN OWNED BY " + r + " TO <owner>; "
                            + "DROP OWNED BY " + r + " (in each database); or add --keep-role");
        }
        if (!ties.elsewhere().isEmpty()) {
            throw new Fail(Exit.CONFLICT, "role " + cmd.role + " has privileges in other databases ("
                    + String.join(", ", new LinkedHashSet<>(ties.elsewhere())) + "); DROP ROLE would fail; nothing was changed",
                    "in each of them run DROP OWNED BY " + r + " (the role owns nothing, so this only "
                            + "revokes its privileges), or add --keep-role");
        }
        if (!ties.extra().isEmpty()) {
            new LinkedHashSet<>(ties.revokes()).forEach(upstreamTx::add);
            if (ties.unnamed()) {
                // the role owns nothing, so DROP OWNED only revokes; it needs the privileges of the role, though
                upstreamTx.add(String.format(Teardown.DROP_OWNED, r));
            }
            notes.add("role " + cmd.role + " also holds privileges beyond the guide's, revoked so that DROP ROLE can run: "
                    + String.join(", ", ties.extra()));
        }
    }

    /** The role's entries in pg_shdepend (DEPENDENCIES), sorted; {@code r} is the role as an identifier. */
    RoleTies roleTies(Pg db, String r) throws SQLException {
        List<String> owned = new ArrayList<>();
        List<String> elsewhere = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        List<String> revokes = new ArrayList<>();
        boolean unnamed = false;
        for (Map<String, Object> d : db.query(Teardown.DEPENDENCIES, cmd.role)) {
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
            } else {
                revokes.add(revokeAll(d, kind, on, r));
            }
        }
        return new RoleTies(owned, elsewhere, extra, revokes, unnamed);
    }

    /** REVOKE ALL on what the row names ({@code on}: "KIND name"), or on the default privileges it is. */
    static String revokeAll(Map<String, Object> d, String kind, String on, String r) {
        if (!kind.equals("DEFAULT")) {
            String[] w = on.split(" ", 2);
            return String.format(Teardown.REVOKE_ALL, w[0], w[1], r);
        }
        String objects = switch ((String) d.get("default_type")) {
            case "S" -> "SEQUENCES";
            case "f" -> "FUNCTIONS";
            case "T" -> "TYPES";
            case "n" -> "SCHEMAS";
            default -> "TABLES";
        };
        return String.format(Teardown.REVOKE_ALL_DEFAULT, d.get("default_owner"),
                d.get("schema") == null ? "" : " IN SCHEMA " + Sql.ident((String) d.get("schema")), objects, r);
    }

    // ---- slots ---------------------------------------------------------------------------------

    /**
     * Ours (the source's, --slot) are dropped unless in use; other inactive materialize_%/mzsnapshot_% slots no
     * Materialize source claims are orphans, dropped only with --drop-orphan-slots. All shown in one table.
     */
    void slots(Out o, Pg db) throws SQLException {
        readSlots(db);
        List<List<Object>> rows = new ArrayList<>();
        planOurSlots(rows);
        List<String> orphans = planOtherSlots(rows);
        if (!rows.isEmpty()) {
            o.table(List.of("slot", "whose", "state", "action"), rows);
        }
        o.put("orphan_slots", orphans);
        if (!orphans.isEmpty() && !cmd.dropOrphans) {
            o.warn(orphans.size() + " inactive slot(s) named like Materialize's that no source claims"
                    + (mzRead ? "" : " (Materialize's catalog was not read, so a source's slot cannot be told apart)")
                    + ": " + String.join(", ", orphans) + "; each keeps WAL on the server; --drop-orphan-slots drops them");
        } else if (!orphans.isEmpty() && !mzRead) {
            o.warn("--drop-orphan-slots without a Materialize URL: the slots' owners could not be checked against "
                    + "mz_internal.mz_postgres_sources; only inactive ones are dropped");
        }
    }

    /** Ours and this database's slots, each with the process holding it. */
    void readSlots(Pg db) throws SQLException {
        if (sourceSlot != null) {
            ours.add(sourceSlot);
        }
        ours.addAll(cmd.slots);
        for (Map<String, Object> s : db.query(Teardown.SLOTS, new ArrayList<>(ours))) {
            Integer pid = s.get("active_pid") == null ? null : ((Number) s.get("active_pid")).intValue();
            String holder = pid == null ? null : "pid " + pid + (s.get("usename") == null ? "" : ", user " + s.get("usename"))
                    + (s.get("application_name") == null || ((String) s.get("application_name")).isEmpty() ? ""
                            : ", application " + s.get("application_name"))
                    + (s.get("client_addr") == null ? "" : ", from " + s.get("client_addr"));
            String name = (String) s.get("slot_name");
            upstreamSlots.put(name, new Slot(name, (Boolean) s.get("active"), pid, holder));
        }
    }

    /** Ours: dropped unless a process holds it (the source's own, after DROP SOURCE, only if it is left behind). */
    void planOurSlots(List<List<Object>> rows) {
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
    }

    /** The other slots named like Materialize's; returns the orphans (inactive, claimed by no source). */
    List<String> planOtherSlots(List<List<Object>> rows) {
        List<String> orphans = new ArrayList<>();
        for (Slot sl : upstreamSlots.values()) {
            if (ours.contains(sl.name()) || !Teardown.MZ_SLOT.matcher(sl.name()).matches()) {
                continue;
            }
            if (claimedSlots.contains(sl.name())) {
                rows.add(List.of(sl.name(), "another source's", sl.active() ? "active" : "inactive", "kept"));
            } else if (sl.active()) {
                rows.add(List.of(sl.name(), "unclaimed", "active: " + sl.holder(), "kept (in use)"));
            } else {
                orphans.add(sl.name());
                if (cmd.dropOrphans) {
                    slotDrops.add(sl.name());
                    ours.add(sl.name());
                }
                rows.add(List.of(sl.name(), "orphan", "inactive", cmd.dropOrphans ? "drop (--drop-orphan-slots)"
                        : "kept (--drop-orphan-slots drops it)"));
            }
        }
        return orphans;
    }

    // ---- the plan shown, run and verified -----------------------------------------------------

    /** The statements in order, each part under a comment line (starting with --). */
    List<String> statements() {
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
        if (passwordFile != null) {
            plan.add("-- then delete the role's password file " + passwordFile + " (rm " + Out.shellQuote(passwordFile.toString()) + ")");
        }
        if (!slotDrops.isEmpty()) {
            plan.add("-- upstream slots (not transactional), each verified gone");
            for (String s : slotDrops) {
                plan.add(String.format(Teardown.DROP_SLOT, Sql.literal(s)));
            }
        }
        return plan;
    }

    /** The statements that run (not the comments, BEGIN or COMMIT). */
    static int count(List<String> plan) {
        return (int) plan.stream().filter(p -> !p.startsWith("--") && !p.equals("BEGIN") && !p.equals("COMMIT")).count();
    }

    /** An empty plan: verified when an active slot of ours is kept, else already done (but for a role left to Neon). */
    int nothingToRun(Out o, Mz m, Pg db) throws SQLException {
        boolean activeOurs = ours.stream().anyMatch(s -> upstreamSlots.containsKey(s) && !slotDrops.contains(s));
        if (activeOurs) {
            return verify(o, db, m, 0);
        }
        if (neonRole) {
            throw new Fail(Exit.NEEDS_NEON_API, "teardown: everything else is done; role " + cmd.role + " is left to Neon",
                    notes.get(notes.size() - 1).replaceFirst("^.*?: ", "") + " (or --keep-role)");
        }
        o.put("already_done", true);
        o.line("teardown: already done (nothing of ours left%s)", cmd.materializeOnly ? " in Materialize"
                : cmd.upstreamOnly || !cmd.mz.given() ? " upstream" : "");
        return Exit.OK;
    }

    int dryRun(Out o, Mz m, List<String> plan, int count) {
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

    void confirm(Out o, List<String> plan, int count) {
        o.line("plan:");
        plan.forEach(p -> o.line(p.startsWith("--") ? p : p + ";"));
        o.confirm("run these " + count + " statement" + (count == 1 ? "" : "s") + (passwordFile == null ? ""
                : " and delete " + passwordFile) + "? (they drop objects; no undo)");
    }

    /** --materialize-only: the objects are gone; the slot is for a later --upstream-only run to check. */
    int doneInMaterialize(Out o, Mz m) throws SQLException {
        if (sourceSlot != null) {
            o.line("note: the source's slot was %s; check upstream that it is gone: ./jbang teardown --upstream-only --slot %s",
                    sourceSlot, Out.shellQuote(sourceSlot));
        }
        verifyMz(o, m);
        o.line("teardown: done (%d statement%s); verified: the Materialize objects are gone", mzSteps.size(),
                mzSteps.size() == 1 ? "" : "s");
        return Exit.OK;
    }

    /** Materialize drops the slot in the background after DROP SOURCE; it gets --wait to finish or let go. */
    void waitForMaterializeDrop(Out o, Pg db) throws Exception {
        long until = System.nanoTime() + cmd.waitSlot.toNanos();
        while (System.nanoTime() < until) {
            List<Map<String, Object>> r = db.query("SELECT active FROM pg_replication_slots WHERE slot_name = ?", sourceSlot);
            if (r.isEmpty() || !(Boolean) r.get(0).get("active")) {
                return;
            }
            Thread.sleep(500);
        }
    }

    /** The upstream DDL as one transaction; a DROP ROLE that still fails rolls all of it back. */
    void runUpstreamTransaction(Pg db) throws SQLException {
        try {
            db.transaction(upstreamTx);
        } catch (SQLException e) {
            if ("2BP01".equals(e.getSQLState())) {
                throw new Fail(Exit.CONFLICT, "DROP ROLE " + cmd.role + ": " + e.getMessage() + " (the whole upstream "
                        + "transaction was rolled back: nothing upstream changed)", "revoke what the detail lists, or "
                        + "add --keep-role; then run ./jbang teardown again", e);
            }
            throw Pg.translate(e);
        }
    }

    /**
     * The role's password file, to delete with the role (else a later replication-role --password-out to the same
     * place meets a file of a role that is gone): the one given, or the default one when its password logs in as
     * the role here (another role's or another server's file is kept, and said so).
     */
    void passwordFile(Out o) {
        if (cmd.passwordFile != null) {
            if (Files.exists(cmd.passwordFile)) {
                passwordFile = cmd.passwordFile;
            } else {
                notes.add("password file " + cmd.passwordFile + " does not exist (nothing to delete)");
            }
            return;
        }
        Path file = Secrets.defaultPasswordFile();
        if (!Files.isRegularFile(file)) {
            return;
        }
        ConnInfo ci = cmd.pg.resolve(o, false);
        ci.user = cmd.role;
        ci.password(Secrets.readFile(file, "password"), "file " + file);
        SQLException e = Pg.loginFailure(ci);
        if (e == null) {
            passwordFile = file;
        } else {
            notes.add("password file " + file + " kept: " + (Pg.wrongPassword(e)
                    ? "its password does not log in as " + cmd.role + " here" : "could not check that it is " + cmd.role
                    + "'s (" + Secrets.mask(String.valueOf(e.getMessage())) + ")") + "; give --password-file to delete it");
        }
    }

    /** After the role is gone: its password file too. */
    void deletePasswordFile(Out o) {
        if (passwordFile == null) {
            return;
        }
        try {
            Files.deleteIfExists(passwordFile);
            o.put("password_file_deleted", passwordFile.toString());
        } catch (java.io.IOException e) {
            o.warn("role " + cmd.role + " is dropped, but its password file " + passwordFile + " could not be deleted ("
                    + e.getMessage() + "); delete it yourself: rm " + Out.shellQuote(passwordFile.toString()));
            passwordFile = null;
        }
    }

    /** The slot drops, one at a time (not transactional); returns the failures. */
    List<String> dropSlots(Pg db) throws SQLException {
        List<String> failed = new ArrayList<>();
        for (String s : slotDrops) {
            if (!slotExists(db, s)) {
                continue;   // Materialize's background drop got there first
            }
            try {
                db.exec(String.format(Teardown.DROP_SLOT, Sql.literal(s)));
            } catch (SQLException e) {
                failed.add(s + " (" + e.getMessage() + ")");
            }
        }
        return failed;
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
            String name = kind.equals("SOURCE") ? cmd.source : kind.equals("CONNECTION") ? cmd.connection
                    : kind.equals("SECRET") ? cmd.secret : cmd.cluster;
            String q = kind.equals("SOURCE") ? Teardown.MZ_SOURCE : kind.equals("CONNECTION") ? Teardown.MZ_CONNECTION
                    : kind.equals("SECRET") ? Teardown.MZ_SECRET : Teardown.MZ_CLUSTER;
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
        if (db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", cmd.publication) != null) {
            left.add("publication " + cmd.publication);
        }
        if (!cmd.keepRole && !neonRole && db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", cmd.role) != null) {
            left.add("role " + cmd.role);
        }
        List<String> holders = new ArrayList<>();
        List<String> pids = new ArrayList<>();
        for (Map<String, Object> s : db.query(Teardown.SLOTS, new ArrayList<>(ours))) {
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
            throw new Fail(Exit.VERIFY, "still there after the teardown: " + String.join(", ", left), fix(holders, pids));
        }
        o.put("verified", true);
        o.line("teardown: %s; verified: no publication %s%s, no slot of ours%s", count == 0 ? "nothing to run"
                        : "done (" + count + " statement" + (count == 1 ? "" : "s") + ")", cmd.publication,
                cmd.keepRole || neonRole ? "" : ", no role " + cmd.role,
                passwordFile == null ? "" : "; password file " + passwordFile + " deleted");
        if (neonRole) {
            throw new Fail(Exit.NEEDS_NEON_API, "role " + cmd.role + " is left to Neon",
                    notes.stream().filter(n -> n.contains("neonctl")).findFirst().orElse("").replaceFirst("^.*?: ", "")
                            + " (or --keep-role)");
        }
        return Exit.OK;
    }

    /** What to do about what is left: run again, or stop the processes that hold our slots. */
    static String fix(List<String> holders, List<String> pids) {
        return holders.isEmpty()
                ? "run ./jbang teardown again with --verbose; a slot that is not active can be dropped with "
                        + "SELECT pg_drop_replication_slot('<name>')"
                : String.join("; ", holders) + " (see pg_stat_replication): stop that client (or, if it is a "
                        + "Materialize source you no longer want, DROP SOURCE it), or end it with SELECT "
                        + "pg_terminate_backend(" + String.join("), pg_terminate_backend(", pids) + "); then run "
                        + "./jbang teardown again";
    }
}
