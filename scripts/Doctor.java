///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
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
//SOURCES ../lib/neonmz/SourceTypes.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Any time: one preflight of everything the guide and its Considerations need (upstream, the role, the publication's tables, slots, snapshot blockers, Neon's caveats; Materialize with --mz-url), as PASS/WARN/FAIL lines, each non-pass with its fix.

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

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
import neonmz.SourceTypes;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Issue #7's doctor: every precondition of the guide (A.1–A.2.4, C.2–C.4) and of its Considerations, and
 * the gaps no other CDC tool's preflight fills (cdc-anchors.md §8), checked read-only in one run. Every
 * per-table fact comes from a set-based query over all published tables at once, so the number of queries
 * is fixed (8 upstream, 9 where the role may list pg_logical/snapshots; 3 in Materialize) whatever the number of tables; {@code --json} reports it.
 *
 * Verdicts: FAIL is what makes CREATE CONNECTION / CREATE SOURCE fail, or a running source fail or stall;
 * WARN is what works but costs (WAL kept, no scale to zero) or needs a decision (TEXT COLUMNS, partitions).
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Any time: checks everything the guide needs, read-only, and prints one line per check: "
                + "PASS, WARN or FAIL, each non-pass with its fix (the ./jbang alias to run and the SQL). Upstream: "
                + "wal_level, free slots and WAL senders, the direct (not -pooler) host, SSL, the publication and "
                + "its tables (REPLICA IDENTITY FULL, types that need TEXT COLUMNS, partitioned and inherited "
                + "tables, row-level security), the replication role (LOGIN, REPLICATION, CONNECT, USAGE, SELECT, "
                + "default privileges, BYPASSRLS), replication slots (inactive, wal_status, max_slot_wal_keep_size), "
                + "snapshot blockers (long write transactions, prepared transactions, ACCESS EXCLUSIVE locks), and on "
                + "Neon its caveats. With --mz-url or MZ_URL also Materialize: VALIDATE CONNECTION, the source's "
                + "status and lag, and its slot matched with the upstream slots (orphans both ways).",
                "Exit 0 when no check FAILs (WARNs allowed), 9 when one does. A fixed number of queries whatever "
                        + "the number of tables. --dry-run prints the queries and runs none."},
        footer = {"%nExamples:",
                "  ./jbang doctor",
                "  ./jbang doctor --role materialize --publication mz_source --json",
                "  MZ_URL=… MZ_PASSWORD=… ./jbang doctor --source mz_source"})
public class Doctor implements Callable<Integer> {
    /** Server settings, the publication and the role: one row. */
    static final String SERVER = """
            SELECT current_setting('wal_level') AS wal_level,
                   current_setting('max_replication_slots')::int AS max_replication_slots,
                   current_setting('max_wal_senders')::int AS max_wal_senders,
                   (SELECT count(*) FROM pg_replication_slots)::int AS slots_used,
                   (SELECT count(*) FROM pg_stat_replication)::int AS senders_used,
                   (SELECT count(*) FROM pg_stat_replication
                    WHERE application_name IS DISTINCT FROM 'walproposer')::int AS subscribers,
                   (SELECT setting::bigint FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS slot_keep_mb,
                   current_setting('max_slot_wal_keep_size', true) AS slot_keep,
                   current_setting('neon.endpoint_id', true) AS neon_endpoint,
                   current_setting('server_version_num')::int AS server_version_num,
                   (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,
                   current_user AS connected_as, current_database() AS database,
                   p.oid IS NOT NULL AS pub_exists, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
                   p.pubtruncate, p.pubviaroot,
                   r.oid IS NOT NULL AS role_exists, r.rolcanlogin, r.rolreplication, r.rolsuper, r.rolbypassrls,
                   CASE WHEN r.oid IS NOT NULL
                        THEN has_database_privilege(r.oid, current_database(), 'CONNECT') END AS role_connect,
                   r.oid IN (SELECT m.member FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                             WHERE g.rolname = 'neon_superuser') AS role_neon_superuser
            FROM (SELECT 1) AS one
            LEFT JOIN pg_publication p ON p.pubname = ?
            LEFT JOIN pg_roles r ON r.rolname = ?""";

    /**
     * Every published table (pg_publication_tables: the leaves; pg_publication_rel: also a partitioned parent
     * named in the publication) with what the source needs of it, in one pass: identity, partition and
     * inheritance, row-level security, the role's USAGE and SELECT, and default privileges from the table's
     * owner (aggregated once, in a CTE, not per row). pg_publication_tables opens each table (AccessShareLock),
     * so it runs only when {@link #LOCKS} found no ACCESS EXCLUSIVE lock on a published table.
     */
    static final String TABLES = """
            WITH role AS (SELECT oid FROM pg_roles WHERE rolname = ?),
            published AS (
              SELECT c.oid FROM pg_publication_tables t
              JOIN pg_namespace n ON n.nspname = t.schemaname
              JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
              WHERE t.pubname = ?
              UNION
              SELECT pr.prrelid FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
              WHERE p.pubname = ?),
            defaults AS (
              SELECT DISTINCT d.defaclnamespace AS nsp, d.defaclrole AS owner
              FROM pg_default_acl d, aclexplode(d.defaclacl) a
              WHERE d.defaclobjtype = 'r' AND a.privilege_type = 'SELECT' AND a.grantee = (SELECT oid FROM role))
            SELECT n.nspname AS schema_name, c.relname AS table_name, c.relkind::text AS kind,
                   c.relreplident::text AS identity, c.relispartition AS is_partition,
                   c.relrowsecurity AS rls,
                   NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS inherits,
                   CASE WHEN c.relkind = 'r' THEN
                     (SELECT array_agg(format('%I.%I', cn.nspname, cc.relname) ORDER BY cn.nspname, cc.relname)
                      FROM pg_inherits i JOIN pg_class cc ON cc.oid = i.inhrelid
                      JOIN pg_namespace cn ON cn.oid = cc.relnamespace
                      WHERE i.inhparent = c.oid AND cc.oid NOT IN (SELECT oid FROM published)) END AS unpublished_children,
                   EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) AS has_children,
                   has_schema_privilege((SELECT oid FROM role), n.oid, 'USAGE') AS usage,
                   has_table_privilege((SELECT oid FROM role), c.oid, 'SELECT') AS can_select,
                   EXISTS (SELECT 1 FROM defaults d WHERE d.owner = c.relowner AND d.nsp IN (n.oid, 0)) AS default_select,
                   pg_get_userbyid(c.relowner) AS owner,
                   array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                         AND NOT a.attisdropped ORDER BY a.attnum) AS columns
            FROM published
            JOIN pg_class c ON c.oid = published.oid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            ORDER BY n.nspname, c.relname""";

    /**
     * ACCESS EXCLUSIVE locks other sessions hold on the publication's tables, found without opening a table
     * (pg_publication_rel, pg_publication_namespace from PG 15, FOR ALL TABLES): the snapshot's COPY would
     * wait for them, and so would the per-table queries below.
     */
    static final String LOCKS = """
            SELECT format('%%I.%%I', n.nspname, c.relname) AS ref, array_agg(DISTINCT l.pid) AS pids
            FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted
              AND l.pid <> pg_backend_pid() AND c.relkind IN ('r', 'p')
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND (EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = ? AND p.puballtables)
                   OR c.oid IN (SELECT pr.prrelid FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                                WHERE p.pubname = ?)%s)
            GROUP BY 1 ORDER BY 1""";
    static final String LOCKS_SCHEMAS_15 = """

                   OR c.relnamespace IN (SELECT pn.pnnspid FROM pg_publication_namespace pn
                                         JOIN pg_publication p ON p.oid = pn.pnpubid WHERE p.pubname = ?)""";

    /** C.3's column query (SourceTypes.COLUMNS, shared with source), narrowed in SQL to the columns of types Materialize lacks. */
    static final String NOT_SUPPORTED = " AND NOT (tn.nspname = 'pg_catalog' AND t.typname = ANY (?))";

    static final String SLOTS = """
            SELECT slot_name, slot_type, database, active, temporary, wal_status, safe_wal_size,
                   pg_current_wal_lsn() - restart_lsn AS retained_bytes,
                   pg_size_pretty(pg_current_wal_lsn() - restart_lsn) AS retained
            FROM pg_replication_slots ORDER BY slot_name""";

    /**
     * Materialize's stuck-snapshot causes (cdc-anchors §1c): write transactions (they hold an xid) older than
     * --long-transaction in any database (creating a slot waits for every running one), and prepared
     * transactions (they never end on their own). Another role's sessions show only to a member of pg_monitor.
     */
    static final String BLOCKERS = """
            SELECT 'transaction' AS kind, a.pid::text AS id, a.usename::text AS owner, a.datname::text AS database,
                   extract(epoch FROM now() - a.xact_start)::bigint AS age_s
            FROM pg_stat_activity a
            WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
              AND a.xact_start < now() - make_interval(secs => ?)
            UNION ALL
            SELECT 'prepared', p.gid, p.owner::text, p.database::text, extract(epoch FROM now() - p.prepared)::bigint
            FROM pg_prepared_xacts p
            ORDER BY 1, 2""";

    /** Materialize: the connection re-validated (wal_level, WAL senders, 2 free slots: cdc-anchors §1a). */
    static final String VALIDATE = "VALIDATE CONNECTION %s";

    /** Materialize: every PostgreSQL source with its slot, status and lag (offsets are LSNs for PostgreSQL). */
    static final String MZ_SOURCES = """
            SELECT s.id, s.name, ps.replication_slot, st.status, st.error,
                   stats.snapshot_committed,
                   stats.offset_known::numeric - stats.offset_committed::numeric AS offset_lag
            FROM mz_catalog.mz_sources s
            JOIN mz_internal.mz_postgres_sources ps ON ps.id = s.id
            LEFT JOIN mz_internal.mz_source_statuses st ON st.id = s.id
            LEFT JOIN (SELECT id, bool_and(snapshot_committed) AS snapshot_committed,
                              max(offset_known) AS offset_known, max(offset_committed) AS offset_committed
                       FROM mz_internal.mz_source_statistics GROUP BY id) stats ON stats.id = s.id
            ORDER BY s.name, s.id""";

    /** Materialize: the named source's subsources (each depends on its source) and tables that are not healthy. */
    static final String MZ_BAD_PARTS = """
            SELECT st.name, st.status, st.error FROM mz_internal.mz_source_statuses st
            WHERE st.status IN ('stalled', 'failed', 'ceased')
              AND st.id IN (SELECT d.object_id FROM mz_internal.mz_object_dependencies d
                            JOIN mz_catalog.mz_sources s ON s.id = d.referenced_object_id WHERE s.name = ?
                            UNION SELECT t.id FROM mz_catalog.mz_tables t
                            JOIN mz_catalog.mz_sources s ON s.id = t.source_id WHERE s.name = ?)
            ORDER BY st.name""";

    /** Materialize: what the named source ingests of each upstream table (columns, and EXCLUDE COLUMNS in create_sql). */
    static final String MZ_INGESTED = """
            WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = ?),
            ingested AS (
              SELECT d.object_id AS id FROM mz_internal.mz_object_dependencies AS d
                JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
              WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
              UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids))
            SELECT t.schema_name, t.table_name, coalesce(tb.create_sql, sub.create_sql) AS create_sql, c.name AS column_name
            FROM ingested AS i
              JOIN mz_internal.mz_postgres_source_tables AS t ON t.id = i.id
              LEFT JOIN mz_catalog.mz_tables AS tb ON tb.id = i.id
              LEFT JOIN mz_catalog.mz_sources AS sub ON sub.id = i.id
              LEFT JOIN mz_catalog.mz_columns AS c ON c.id = i.id
            ORDER BY i.id, c.position""";

    /** Materialize's validation: "1 replication slot for the snapshots and 1 for the continuing replication" (§1a). */
    static final int SLOTS_NEEDED = 2;

    @Mixin PgOptions pg;
    @Mixin MzOptions mz;
    @Mixin OutputOptions out;
    @Mixin SnapForecast.Limit snapLimit;

    @Option(names = "--publication", paramLabel = "NAME", description = "Publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--role", paramLabel = "NAME", description = "The role Materialize replicates as (default ${DEFAULT-VALUE}).")
    String role = "materialize";

    @Option(names = "--source", paramLabel = "NAME", description = "With --mz-url/MZ_URL: the Materialize source (default ${DEFAULT-VALUE}).")
    String source = "mz_source";

    @Option(names = "--connection", paramLabel = "NAME", description = "With --mz-url/MZ_URL: the connection to validate (default ${DEFAULT-VALUE}).")
    String connection = "pg_connection";

    @Option(names = "--long-transaction", paramLabel = "DURATION", converter = Durations.class,
            description = "A write transaction open longer than this is reported as a snapshot blocker (default ${DEFAULT-VALUE}).",
            defaultValue = "1m")
    Duration longTransaction;

    static final String PASS = "PASS";
    static final String WARN = "WARN";
    static final String FAIL = "FAIL";

    private final DoctorChecklist checks = new DoctorChecklist();
    private int queries;
    private Out o;

    public static void main(String... args) {
        Cli.main(new Doctor(), args);
    }

    private void pass(String id, String detail) {
        checks.add(id, PASS, detail, null, List.of());
    }

    private void add(String id, String status, String detail, String fix, List<String> sql) {
        checks.add(id, status, detail, fix, sql);
    }

    private int report() {
        return checks.report(o, queries);
    }

    /** The checklist: the upstream's checks (only direct_host on a -pooler host), Materialize's, then the report. */
    @Override
    public Integer call() throws Exception {
        o = out.out();
        requireOptions();
        if (o.dryRun()) {
            return plan();
        }
        ConnInfo ci;
        try {
            ci = pg.resolve(o);
        } catch (Fail f) {
            if (f.exit != Exit.POOLER) {
                throw f;
            }
            add("direct_host", FAIL, f.getMessage() + "; nothing else was checked", f.fix, List.of());
            return report();
        }
        try (Pg db = Pg.connect(ci, o)) {
            checkUpstream(db, ci);
        }
        return report();
    }

    private void requireOptions() {
        Sql.requireName("publication", publication);
        Sql.requireName("role", role);
        Sql.requireName("source", source);
        Sql.requireName("connection", connection);
        if (longTransaction.isNegative()) {
            throw Fail.usage("--long-transaction must not be negative", "e.g. --long-transaction 1m");
        }
    }

    /**
     * The upstream checks in the checklist's order, then Neon's caveats and Materialize. An ACCESS EXCLUSIVE
     * lock on a published table skips the per-table checks (their queries would wait for it).
     */
    private void checkUpstream(Pg db, ConnInfo ci) throws SQLException {
        Map<String, Object> s = query(db, SERVER, publication, role).get(0);
        String endpoint = (String) s.get("neon_endpoint");
        boolean neon = endpoint != null && !endpoint.isEmpty() || ci.isNeon();
        o.put("neon", neon);
        pass("direct_host", ci.host() + (neon ? " (direct, not -pooler)" : ""));
        ssl(s, neon, ci);
        server(s, neon);
        boolean pg15 = (Integer) s.get("server_version_num") >= 150000;
        List<Map<String, Object>> locks = pg15
                ? query(db, String.format(LOCKS, LOCKS_SCHEMAS_15), publication, publication, publication)
                : query(db, String.format(LOCKS, ""), publication, publication);
        boolean pubExists = Boolean.TRUE.equals(s.get("pub_exists")) && locks.isEmpty();
        List<Map<String, Object>> tables = pubExists ? query(db, TABLES, role, publication, publication) : List.of();
        List<Map<String, Object>> cols = pubExists ? query(db, String.format(SourceTypes.COLUMNS,
                ((Integer) s.get("server_version_num") >= 150000 ? SourceTypes.PUBLISHED_COLUMNS_15
                        : SourceTypes.PUBLISHED_COLUMNS_14) + NOT_SUPPORTED), publication, supported())
                : List.of();
        exclusiveLocks(locks);
        List<Map<String, Object>> slots;
        if (!locks.isEmpty()) {
            blockers(query(db, BLOCKERS, longTransaction.toMillis() / 1000.0));
            slots = query(db, SLOTS);
            slots(s, slots, neon);
        } else {
            publication(s, tables);
            if (pubExists && !tables.isEmpty()) {
                tables(s, tables, cols);
            }
            role(s, tables, neon);
            slots = query(db, SLOTS);
            slots(s, slots, neon);
            blockers(query(db, BLOCKERS, longTransaction.toMillis() / 1000.0));
        }
        snapshotFiles(SnapForecast.read(sql -> query(db, sql), snapLimit.maxSnapFiles, neon, null));
        if (neon) {
            neon(s);
        }
        if (mz.given()) {
            materialize(slots, s, tables);
        }
    }

    /** --dry-run: the queries, in order, with their parameters in place; nothing is run. */
    private int plan() {
        o.line("-- upstream (read-only):");
        for (String q : List.of(inline(SERVER, publication, role),
                inline(String.format(LOCKS, LOCKS_SCHEMAS_15), publication, publication, publication),
                inline(TABLES, role, publication, publication),
                inline(String.format(SourceTypes.COLUMNS, SourceTypes.PUBLISHED_COLUMNS_15 + NOT_SUPPORTED),
                        publication, supported()),
                SLOTS, inline(BLOCKERS, longTransaction.toMillis() / 1000.0), SnapForecast.SETTINGS,
                SnapForecast.FILES, SnapForecast.SLOTS)) {
            o.statement(q);
            queries++;
        }
        if (mz.given()) {
            o.line("-- Materialize:");
            for (String q : List.of(String.format(VALIDATE, Sql.ident(connection)), MZ_SOURCES,
                    inline(MZ_BAD_PARTS, source, source), inline(MZ_INGESTED, source))) {
                o.statement(q);
                queries++;
            }
        }
        o.put("queries", queries);
        o.line("doctor: %d queries planned; none run (--dry-run)", queries);
        return Exit.OK;
    }

    static String inline(String sql, Object... params) {
        StringBuilder b = new StringBuilder();
        int p = 0;
        for (char ch : sql.toCharArray()) {
            if (ch == '?' && p < params.length) {
                Object v = params[p++];
                b.append(v instanceof List<?> l ? "ARRAY[" + l.stream().map(x -> Sql.literal(String.valueOf(x)))
                        .collect(Collectors.joining(", ")) + "]" : v instanceof String str ? Sql.literal(str) : String.valueOf(v));
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /** SourceTypes.SUPPORTED and their array types, as pg_type names. */
    static List<String> supported() {
        List<String> l = new ArrayList<>(new java.util.TreeSet<>(SourceTypes.SUPPORTED));
        List<String> all = new ArrayList<>(l);
        l.forEach(t -> all.add("_" + t));
        return all;
    }

    private List<Map<String, Object>> query(Pg db, String sql, Object... params) throws SQLException {
        queries++;
        return db.query(sql, params);
    }

    private List<Map<String, Object>> query(Mz db, String sql, Object... params) throws SQLException {
        queries++;
        return db.query(sql, params);
    }

    // ---- upstream ---------------------------------------------------------------------------------

    private void exclusiveLocks(List<Map<String, Object>> locks) {
        if (!locks.isEmpty()) {
            add("exclusive_locks", FAIL, "ACCESS EXCLUSIVE locks on published tables (a snapshot's COPY waits for "
                            + "them, and so would this doctor: the per-table checks were skipped): "
                            + names(locks.stream().map(l -> l.get("ref") + " (pid " + ((List<?>) l.get("pids")).stream()
                            .map(String::valueOf).collect(Collectors.joining(", ")) + ")").toList()),
                    "wait for those sessions to finish, or end them, then run ./jbang doctor again",
                    locks.stream().flatMap(l -> ((List<?>) l.get("pids")).stream()).map(String::valueOf).distinct()
                            .map(p -> "SELECT pg_terminate_backend(" + p + ")").toList());
        } else {
            pass("exclusive_locks", "no ACCESS EXCLUSIVE lock on a published table");
        }
    }

    private void ssl(Map<String, Object> s, boolean neon, ConnInfo ci) {
        if (Boolean.TRUE.equals(s.get("ssl"))) {
            pass("ssl", "this connection uses SSL (sslmode=" + (ci.sslmode == null ? "prefer" : ci.sslmode) + ")");
            return;
        }
        String fix = "connect with sslmode=require (add ?sslmode=require to the URL, or PGSSLMODE=require); "
                + "Materialize's connection: SSL MODE 'require' (./jbang connection does)";
        if (neon) {
            add("ssl", FAIL, "this connection does not use SSL; Neon requires it", fix, List.of());
        } else {
            add("ssl", WARN, "this connection does not use SSL (fine for a local lab, never for Neon)", fix, List.of());
        }
    }

    private void server(Map<String, Object> s, boolean neon) {
        String wal = (String) s.get("wal_level");
        if ("logical".equals(wal)) {
            pass("wal_level", "logical");
        } else if (neon) {
            add("wal_level", FAIL, "wal_level is " + wal + ", it must be logical (guide A.1)",
                    "./jbang check-logical-replication --enable (Neon API; irreversible, restarts all computes), or "
                            + "Console → Settings → Logical Replication → Enable", List.of());
        } else {
            add("wal_level", FAIL, "wal_level is " + wal + ", it must be logical (guide A.1)",
                    "./jbang check-logical-replication after: the SQL below, then restart PostgreSQL",
                    List.of("ALTER SYSTEM SET wal_level = logical"));
        }
        int maxSenders = (Integer) s.get("max_wal_senders");
        int usedSenders = (Integer) s.get("senders_used");
        if (maxSenders - usedSenders >= 1) {
            pass("wal_senders", (maxSenders - usedSenders) + " free of " + maxSenders);
        } else {
            add("wal_senders", FAIL, "no free WAL sender: max_wal_senders = " + maxSenders + ", " + usedSenders + " in use",
                    neon ? "stop an unused subscriber (Neon's limit is 10; support can raise it)"
                            : "stop an unused subscriber, or raise max_wal_senders (restart needed)", List.of());
        }
        int maxSlots = (Integer) s.get("max_replication_slots");
        int used = (Integer) s.get("slots_used");
        int free = maxSlots - used;
        if (free >= SLOTS_NEEDED) {
            pass("replication_slots", free + " free of " + maxSlots + " (a source needs " + SLOTS_NEEDED + ")");
        } else {
            add("replication_slots", FAIL, "only " + free + " free replication slot(s) of " + maxSlots + "; a source "
                    + "needs " + SLOTS_NEEDED + " (one for the snapshot, one for the stream)",
                    "./jbang check-logical-replication lists the slots; drop one no one uses"
                            + (neon ? " (Neon's limit is 10)" : ", or raise max_replication_slots (restart needed)"),
                    List.of("SELECT pg_drop_replication_slot('<unused slot>')"));
        }
    }

    private void publication(Map<String, Object> s, List<Map<String, Object>> tables) {
        String p = Sql.ident(publication);
        if (!Boolean.TRUE.equals(s.get("pub_exists"))) {
            add("publication", FAIL, "publication " + publication + " does not exist in " + s.get("database"),
                    "./jbang publication --table … (guide A.2.2)", List.of("CREATE PUBLICATION " + p + " FOR TABLE <tables>"));
            return;
        }
        List<String> missing = new ArrayList<>();
        for (String op : List.of("insert", "update", "delete")) {
            if (!Boolean.TRUE.equals(s.get("pub" + op))) {
                missing.add(op);
            }
        }
        if (!missing.isEmpty()) {
            add("publication", FAIL, "publication " + publication + " does not publish " + String.join(", ", missing)
                    + " (the source needs every change)", "./jbang publication fixes nothing here; run the SQL",
                    List.of("ALTER PUBLICATION " + p + " SET (publish = 'insert, update, delete, truncate')"));
        } else if (Boolean.TRUE.equals(s.get("pubviaroot"))) {
            add("publication", FAIL, "publication " + publication + " has publish_via_partition_root = true, which "
                    + "Materialize does not support (\"can produce incorrect results\")", "run the SQL",
                    List.of("ALTER PUBLICATION " + p + " SET (publish_via_partition_root = false)"));
        } else {
            pass("publication", publication + (Boolean.TRUE.equals(s.get("puballtables")) ? " (FOR ALL TABLES)" : ""));
        }
        long leaves = tables.stream().filter(t -> "r".equals(t.get("kind"))).count();
        if (leaves == 0) {
            add("publication_tables", FAIL, "publication " + publication + " is empty (CREATE SOURCE fails: "
                            + "\"PUBLICATION " + publication + " is empty\")", "./jbang publication --table …",
                    List.of("ALTER PUBLICATION " + p + " ADD TABLE <tables>"));
        } else {
            List<String> names = tables.stream().filter(t -> "r".equals(t.get("kind"))).map(Doctor::ref).toList();
            pass("publication_tables", leaves + " table" + (leaves == 1 ? "" : "s") + ": " + names(names));
        }
    }

    /** The published tables: replica identity, column types, partitions and inheritance. */
    private void tables(Map<String, Object> s, List<Map<String, Object>> tables, List<Map<String, Object>> cols) {
        replicaIdentity(tables);
        columnTypes(cols);
        partitions(tables);
        inheritance(tables);
    }

    private void replicaIdentity(List<Map<String, Object>> tables) {
        List<String> notFull = tables.stream()
                .filter(t -> "r".equals(t.get("kind")) && !"f".equals(t.get("identity"))).map(Doctor::ref).toList();
        if (notFull.isEmpty()) {
            pass("replica_identity", "every published table has REPLICA IDENTITY FULL");
        } else {
            add("replica_identity", FAIL, notFull.size() + " published table(s) lack REPLICA IDENTITY FULL: "
                            + names(notFull), "./jbang replica-identity --publication " + publication,
                    notFull.stream().map(t -> "ALTER TABLE " + t + " REPLICA IDENTITY FULL").toList());
        }
    }

    /**
     * Types: the column query narrowed to unsupported types, each with C.3's reason. reg* columns too: Materialize
     * refuses them unless they are in TEXT COLUMNS, as text (test/pg-cdc/types-reg.td), which source adds.
     */
    private void columnTypes(List<Map<String, Object>> cols) {
        List<String> text = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Map<String, Object> c : cols) {
            String col = Sql.qualified((String) c.get("schema_name"), (String) c.get("table_name")) + "."
                    + Sql.ident((String) c.get("attname"));
            if (seen.add(col) && SourceTypes.reason(c) != null) {
                text.add(col + " (" + c.get("declared") + ")");
            }
        }
        if (!text.isEmpty()) {
            List<String> colRefs = text.stream().map(t -> t.substring(0, t.lastIndexOf(" ("))).toList();
            add("column_types", WARN, text.size() + " column(s) of types Materialize cannot ingest: " + names(text),
                    "./jbang source adds them as TEXT COLUMNS (each with its reason); by hand, in CREATE SOURCE:",
                    List.of("TEXT COLUMNS (" + String.join(", ", colRefs) + ")"));
        } else {
            pass("column_types", "every published column has a type Materialize ingests");
        }
    }

    private void partitions(List<Map<String, Object>> tables) {
        List<String> parts = tables.stream().filter(t -> "p".equals(t.get("kind")) || Boolean.TRUE.equals(t.get("is_partition")))
                .map(Doctor::ref).toList();
        if (parts.isEmpty()) {
            pass("partitions", "no partitioned table published");
        } else {
            add("partitions", WARN, "partitioned: " + names(parts) + "; Materialize makes one table per leaf "
                    + "partition (reassemble them with UNION ALL in a view)", "nothing to run; decide how to query them",
                    List.of());
        }
    }

    private void inheritance(List<Map<String, Object>> tables) {
        List<String> inh = new ArrayList<>();
        List<String> unpublished = new ArrayList<>();
        for (Map<String, Object> t : tables) {
            if ("r".equals(t.get("kind")) && (Boolean.TRUE.equals(t.get("inherits")) || Boolean.TRUE.equals(t.get("has_children")))) {
                inh.add(ref(t));
            }
            if (t.get("unpublished_children") instanceof List<?> l) {
                l.forEach(x -> unpublished.add(String.valueOf(x)));
            }
        }
        if (inh.isEmpty()) {
            pass("inheritance", "no inherited table published");
        } else if (!unpublished.isEmpty()) {
            add("inheritance", WARN, "inheritance: " + names(inh) + "; rows of a child table arrive only in the "
                    + "child's own table, and these children are not published: " + names(unpublished),
                    "./jbang publication --table '" + String.join(",", unpublished) + "'",
                    List.of("ALTER PUBLICATION " + Sql.ident(publication) + " ADD TABLE " + String.join(", ", unpublished)));
        } else {
            add("inheritance", WARN, "inheritance: " + names(inh) + "; rows of a child table arrive only in the "
                    + "child's own table (union them in a view)", "nothing to run; decide how to query them", List.of());
        }
    }

    /** The replication role: its attributes, then what it may do on the published schemas and tables. */
    private void role(Map<String, Object> s, List<Map<String, Object>> tables, boolean neon) {
        String r = Sql.ident(role);
        if (!Boolean.TRUE.equals(s.get("role_exists"))) {
            add("role", FAIL, "role " + role + " does not exist", "./jbang replication-role --role " + role
                    + (neon ? " --via api" : "") + " --password-out FILE (guide A.2.3)",
                    neon ? List.of() : List.of("CREATE ROLE " + r + " WITH LOGIN REPLICATION PASSWORD '…'"));
            return;
        }
        roleAttributes(s, neon);
        if (tables.isEmpty()) {
            return;
        }
        Set<String> noUsage = new java.util.TreeSet<>();
        Map<String, List<String>> noSelect = new TreeMap<>();
        Map<String, Set<String>> noDefault = new TreeMap<>();   // schema → owners
        List<String> rls = new ArrayList<>();
        for (Map<String, Object> t : tables) {
            String schema = (String) t.get("schema_name");
            if (!Boolean.TRUE.equals(t.get("usage"))) {
                noUsage.add(schema);
            }
            if (!Boolean.TRUE.equals(t.get("can_select")) && "r".equals(t.get("kind"))) {
                noSelect.computeIfAbsent(schema, k -> new ArrayList<>()).add(ref(t));
            }
            if (!Boolean.TRUE.equals(t.get("default_select"))) {
                noDefault.computeIfAbsent(schema, k -> new java.util.TreeSet<>()).add((String) t.get("owner"));
            }
            if (Boolean.TRUE.equals(t.get("rls")) && "r".equals(t.get("kind"))) {
                rls.add(ref(t));
            }
        }
        roleUsage(noUsage);
        roleSelect(noSelect);
        defaultPrivileges(s, noDefault);
        rowLevelSecurity(s, rls, neon);
    }

    /** LOGIN, REPLICATION (or superuser) and CONNECT on the database. */
    private void roleAttributes(Map<String, Object> s, boolean neon) {
        String r = Sql.ident(role);
        boolean superuser = Boolean.TRUE.equals(s.get("rolsuper"));
        if (Boolean.TRUE.equals(s.get("rolcanlogin"))) {
            pass("role_login", role + " can log in");
        } else {
            add("role_login", FAIL, "role " + role + " has NOLOGIN", "./jbang replication-role --role " + role,
                    List.of("ALTER ROLE " + r + " WITH LOGIN"));
        }
        if (Boolean.TRUE.equals(s.get("rolreplication")) || superuser) {
            pass("role_replication", role + (superuser ? " is a superuser" : " has REPLICATION"));
        } else {
            String member = Boolean.TRUE.equals(s.get("role_neon_superuser"))
                    ? " (it is a member of neon_superuser, but REPLICATION is an attribute, not inherited)" : "";
            add("role_replication", FAIL, "role " + role + " lacks REPLICATION" + member, neon
                            ? "on Neon a role made with SQL cannot get REPLICATION: make it with ./jbang replication-role "
                            + "--via api (or neonctl, the Console)"
                            : "./jbang replication-role --role " + role,
                    neon ? List.of() : List.of("ALTER ROLE " + r + " WITH REPLICATION"));
        }
        if (Boolean.TRUE.equals(s.get("role_connect"))) {
            pass("role_connect", role + " may connect to " + s.get("database"));
        } else {
            add("role_connect", FAIL, "role " + role + " lacks CONNECT on database " + s.get("database"), "run the SQL",
                    List.of("GRANT CONNECT ON DATABASE " + Sql.ident((String) s.get("database")) + " TO " + r));
        }
    }

    private void roleUsage(Set<String> noUsage) {
        String r = Sql.ident(role);
        if (noUsage.isEmpty()) {
            pass("role_usage", role + " has USAGE on every published schema");
        } else {
            add("role_usage", FAIL, role + " lacks USAGE on schema(s) " + names(noUsage.stream().map(Sql::ident).toList()),
                    "./jbang grants --role " + role + noUsage.stream().map(x -> " --schema " + Sql.ident(x)).collect(Collectors.joining()),
                    noUsage.stream().map(x -> "GRANT USAGE ON SCHEMA " + Sql.ident(x) + " TO " + r).toList());
        }
    }

    private void roleSelect(Map<String, List<String>> noSelect) {
        String r = Sql.ident(role);
        if (noSelect.isEmpty()) {
            pass("role_select", role + " may SELECT every published table");
        } else {
            List<String> all = noSelect.values().stream().flatMap(List::stream).toList();
            add("role_select", FAIL, role + " lacks SELECT on " + all.size() + " published table(s): " + names(all),
                    "./jbang grants --role " + role + noSelect.keySet().stream().map(x -> " --schema " + Sql.ident(x))
                            .collect(Collectors.joining()),
                    noSelect.keySet().stream().map(x -> "GRANT SELECT ON ALL TABLES IN SCHEMA " + Sql.ident(x) + " TO " + r).toList());
        }
    }

    /** Default SELECT for the role on the tables each owner creates later in each published schema. */
    private void defaultPrivileges(Map<String, Object> s, Map<String, Set<String>> noDefault) {
        String r = Sql.ident(role);
        if (noDefault.isEmpty()) {
            pass("default_privileges", "tables the owners create later will be readable by " + role);
        } else {
            String me = (String) s.get("connected_as");
            List<String> sql = new ArrayList<>();
            List<String> forRoles = new ArrayList<>();
            noDefault.forEach((schema, owners) -> owners.forEach(ow -> {
                sql.add("ALTER DEFAULT PRIVILEGES" + (ow.equals(me) ? "" : " FOR ROLE " + Sql.ident(ow)) + " IN SCHEMA "
                        + Sql.ident(schema) + " GRANT SELECT ON TABLES TO " + r);
                if (!ow.equals(me)) {
                    forRoles.add(" --for-role " + Sql.ident(ow));
                }
            }));
            add("default_privileges", WARN, "no default SELECT for " + role + " on tables created later in "
                            + names(noDefault.keySet().stream().map(Sql::ident).toList())
                            + " (a table added to the publication later would be unreadable)",
                    "./jbang grants --role " + role + noDefault.keySet().stream().map(x -> " --schema " + Sql.ident(x))
                            .collect(Collectors.joining()) + String.join("", new LinkedHashSet<>(forRoles)), sql);
        }
    }

    private void rowLevelSecurity(Map<String, Object> s, List<String> rls, boolean neon) {
        String r = Sql.ident(role);
        boolean superuser = Boolean.TRUE.equals(s.get("rolsuper"));
        boolean bypass = Boolean.TRUE.equals(s.get("rolbypassrls")) || superuser;
        if (rls.isEmpty()) {
            pass("row_level_security", "no published table has row-level security");
        } else if (bypass) {
            pass("row_level_security", names(rls) + " use row-level security; " + role + " has BYPASSRLS");
        } else {
            add("row_level_security", FAIL, names(rls) + " use row-level security and " + role + " lacks BYPASSRLS "
                            + "(CREATE SOURCE fails: \"one or more tables requires BYPASSRLS\")",
                    neon ? "a role made with ./jbang replication-role --via api has BYPASSRLS; or, as a superuser, the SQL"
                            : "run the SQL as a superuser", List.of("ALTER ROLE " + r + " WITH BYPASSRLS"));
        }
    }

    /** One slot's problem by wal_status: lost → FAIL, unreserved → WARN, otherwise none (null). */
    static String classify(Object walStatus) {
        if ("lost".equals(walStatus)) {
            return FAIL;
        }
        if ("unreserved".equals(walStatus)) {
            return WARN;
        }
        return null;
    }

    private void slots(Map<String, Object> s, List<Map<String, Object>> slots, boolean neon) {
        List<String> inactive = new ArrayList<>();
        List<String> dropInactive = new ArrayList<>();
        List<String> lost = new ArrayList<>();
        List<String> unreserved = new ArrayList<>();
        List<String> dropLost = new ArrayList<>();
        for (Map<String, Object> sl : slots) {
            String name = (String) sl.get("slot_name");
            String where = sl.get("database") == null ? "physical" : "database " + sl.get("database");
            String c = classify(sl.get("wal_status"));
            if (FAIL.equals(c)) {
                lost.add(name + " (" + where + ")");
                dropLost.add("SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
            } else if (WARN.equals(c)) {
                unreserved.add(name + " (" + where + ", " + sl.get("retained") + " retained)");
            }
            if (!Boolean.TRUE.equals(sl.get("active")) && !Boolean.TRUE.equals(sl.get("temporary")) && c == null) {
                inactive.add(name + " (" + where + ", " + (sl.get("retained") == null ? "no WAL" : sl.get("retained"))
                        + " retained)");
                dropInactive.add("SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
            }
        }
        if (lost.isEmpty() && unreserved.isEmpty()) {
            pass("slot_wal_status", slots.isEmpty() ? "no replication slots" : "no slot is unreserved or lost");
        } else if (!lost.isEmpty()) {
            add("slot_wal_status", FAIL, "lost (its WAL is gone; a source on it fails with \"slot overcompacted\"): "
                            + names(lost) + (unreserved.isEmpty() ? "" : "; unreserved: " + names(unreserved)),
                    "drop it; a Materialize source on it must be recreated (DROP SOURCE … CASCADE; ./jbang source)", dropLost);
        } else {
            add("slot_wal_status", WARN, "unreserved (past max_slot_wal_keep_size; lost at the next checkpoint unless "
                    + "its consumer catches up): " + names(unreserved), "let its consumer catch up now (is the Materialize "
                    + "cluster running?), or drop the slot if no one uses it", List.of());
        }
        if (inactive.isEmpty()) {
            pass("inactive_slots", "no inactive slot");
        } else {
            add("inactive_slots", WARN, "inactive, keeping WAL: " + names(inactive)
                            + (neon ? "; Neon drops it once its .snap files pass the limit (neon_snapshot_files)" : ""),
                    "drop the slots no one uses (a Materialize source's slot is inactive only while its cluster is down)",
                    dropInactive);
        }
        slotKeepSize(s, neon);
    }

    /** max_slot_wal_keep_size: -1 lets an inactive slot keep WAL until the disk is full. */
    private void slotKeepSize(Map<String, Object> s, boolean neon) {
        Object keepMb = s.get("slot_keep_mb");
        if (keepMb == null) {
            pass("max_slot_wal_keep_size", "not a setting of this server");
        } else if (((Number) keepMb).longValue() < 0) {
            add("max_slot_wal_keep_size", WARN, "-1: a slot may keep WAL without limit (an inactive slot can fill the "
                            + "disk); Materialize suggests 5-10GB or more",
                    neon ? "Neon manages this setting; watch the inactive slots instead"
                            : "run the SQL (a reload is enough)",
                    neon ? List.of() : List.of("ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'", "SELECT pg_reload_conf()"));
        } else {
            pass("max_slot_wal_keep_size", String.valueOf(s.get("slot_keep")));
        }
    }

    private void blockers(List<Map<String, Object>> rows) {
        List<String> tx = new ArrayList<>();
        List<String> txSql = new ArrayList<>();
        List<String> prepared = new ArrayList<>();
        List<String> prepSql = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            String what = r.get("owner") + " in " + r.get("database") + ", open " + r.get("age_s") + " s";
            if ("prepared".equals(r.get("kind"))) {
                prepared.add(Sql.literal((String) r.get("id")) + " (" + what + ")");
                prepSql.add("ROLLBACK PREPARED " + Sql.literal((String) r.get("id")) + "  -- or COMMIT PREPARED");
            } else {
                tx.add("pid " + r.get("id") + " (" + what + ")");
                txSql.add("SELECT pg_terminate_backend(" + r.get("id") + ")");
            }
        }
        if (tx.isEmpty()) {
            pass("long_transactions", "no write transaction open longer than " + Durations.show(longTransaction));
        } else {
            add("long_transactions", WARN, "write transactions open longer than " + Durations.show(longTransaction)
                            + " (a new slot, so a source's snapshot, waits for them): " + names(tx),
                    "wait for them to finish, or end them", txSql);
        }
        if (prepared.isEmpty()) {
            pass("prepared_transactions", "none");
        } else {
            add("prepared_transactions", FAIL, "prepared transactions (a snapshot waits for them, and they never end on "
                    + "their own): " + names(prepared), "commit or roll back each one", prepSql);
        }
    }

    private void neon(Map<String, Object> s) {
        add("neon_inactive_slots", WARN, "Neon drops a logical slot once " + SnapForecast.MAX_FILES_GUC + " .snap files "
                        + "lie beyond its restart_lsn (its docs: \"" + SnapForecast.DOCS_WORDING + "\" inactive): a "
                        + "Materialize source (or its cluster) stopped while others decode loses its slot",
                "keep the source's cluster running; a source whose slot was removed must be recreated "
                        + "(DROP SOURCE … CASCADE; ./jbang source)", List.of());
        add("neon_branch_restore", WARN, "restoring this branch deletes its replication slots (not re-created)",
                "after a restore, recreate the source (DROP SOURCE … CASCADE; ./jbang source)", List.of());
        int subs = (Integer) s.get("subscribers");
        add("neon_scale_to_zero", WARN, (subs > 0 ? subs + " subscriber(s) connected now: " : "once Materialize "
                        + "connects, ") + "the compute does not scale to zero (it stays billed)",
                "expected while Materialize replicates; drop the source to let the compute suspend", List.of());
    }

    /**
     * Neon's removal of slots, forecast (SnapForecast): FAIL on Neon for a slot its monitor drops at the next check,
     * WARN for one near it (or any, off Neon: nothing here drops it), and when the directory cannot be listed.
     */
    private void snapshotFiles(SnapForecast f) {
        o.put("neon_snap_forecast", f.json());
        String id = "neon_snapshot_files";
        if (f.error != null) {
            boolean neonRole = Boolean.TRUE.equals(f.neonSuperuserMonitor);
            add(id, f.slots.isEmpty() || !f.neon ? PASS : WARN, (f.slots.isEmpty() ? "no logical slot for Neon's monitor "
                    + "to drop; " + f.error : f.error + "; Neon's removal of " + f.slots.size() + " logical slot(s) cannot be "
                    + "forecast") + " (" + f.basis() + ")", f.neon ? "connect as a role made through "
                    + "Neon's Console, API or CLI (neon_superuser" + (neonRole ? " holds pg_monitor here" : ", which "
                    + "holds pg_monitor by Neon's compute_ctl: unverified here") + "), or grant it" : "grant it (PostgreSQL 15+)",
                    f.error.contains("pg_monitor") ? List.of("GRANT pg_monitor TO " + Sql.ident(f.role)) : List.of());
            return;
        }
        List<SnapForecast.Slot> near = f.slots.stream().filter(f::near).toList();
        String files = f.files + " .snap file(s)" + (f.perHour == null ? "" : String.format(java.util.Locale.ROOT,
                ", %+.0f/h", f.perHour)) + "; " + f.basis();
        if (f.slots.isEmpty()) {
            pass(id, "no logical slot for Neon's monitor to drop; " + files);
        } else if (near.isEmpty()) {
            pass(id, files + "; first to go: " + f.describe(f.slots.get(0)));
        } else {
            List<String> hasten = f.hasteners();
            add(id, f.neon && near.stream().anyMatch(SnapForecast.Slot::dropped) ? FAIL : WARN, files + "; in the "
                    + "order Neon drops them: " + names(near.stream().map(f::describe).toList())
                    + (hasten.isEmpty() ? "" : "; hastened by the slots decoding now: " + names(hasten)),
                    "let each slot's consumer catch up (a Materialize source's slot moves while its cluster runs: "
                            + "./jbang monitor); stop decoders you do not need" + (f.neon ? "" : " (nothing drops it "
                            + "off Neon)") + "; drop a slot no one uses",
                    near.stream().filter(sl -> !sl.active()).map(sl -> "SELECT pg_drop_replication_slot("
                            + Sql.literal(sl.name()) + ")").toList());
        }
    }

    // ---- Materialize ------------------------------------------------------------------------------

    /** Materialize: the connection re-validated, the source's status and lag, its slot matched with the upstream's. */
    private void materialize(List<Map<String, Object>> upstreamSlots, Map<String, Object> s, List<Map<String, Object>> tables) {
        try (Mz db = Mz.connectToRead(mz, o)) {
            validateConnection(db);
            List<Map<String, Object>> sources = query(db, MZ_SOURCES);
            List<Map<String, Object>> bad = query(db, MZ_BAD_PARTS, source, source);
            Map<String, Object> mine = sources.stream().filter(r -> source.equals(r.get("name"))).findFirst().orElse(null);
            if (mine == null) {
                add("mz_source", FAIL, "no PostgreSQL source " + source + " in Materialize", "./jbang source (guide C.3)", List.of());
            } else {
                sourceStatus(mine, bad);
                sourceLag(mine);
                schema(db, tables);
            }
            slotsBothWays(upstreamSlots, sources, s);
        } catch (SQLException e) {
            throw Mz.translate("doctor", e);
        }
    }

    private void validateConnection(Mz db) {
        try {
            queries++;
            db.check(String.format(VALIDATE, Sql.ident(connection)));
            pass("mz_connection", connection + " validates (wal_level, WAL senders, free slots, as Materialize sees them)");
        } catch (SQLException e) {
            if ("42601".equals(e.getSQLState())) {
                add("mz_connection", WARN, "this server does not accept VALIDATE CONNECTION (not Materialize?): "
                        + e.getMessage(), "check --mz-url/MZ_URL", List.of());
            } else {
                add("mz_connection", FAIL, "VALIDATE CONNECTION " + connection + ": " + e.getMessage(),
                        "./jbang connection --password-file … (guide C.2; --replace to recreate it)", List.of());
            }
        }
    }

    /** The source: stalled or failed, a subsource or table not healthy, running, or another status. */
    private void sourceStatus(Map<String, Object> mine, List<Map<String, Object>> bad) {
        String status = String.valueOf(mine.get("status"));
        if (Set.of("stalled", "failed").contains(status)) {
            add("mz_source", FAIL, source + " is " + status + ": " + mine.get("error"),
                    "./jbang monitor --source " + source + " shows the error's fix", List.of());
        } else if (!bad.isEmpty()) {
            add("mz_source", FAIL, source + " is " + status + ", but " + bad.stream().map(b -> b.get("name") + " is "
                            + b.get("status") + (b.get("error") == null ? "" : " (" + b.get("error") + ")"))
                            .collect(Collectors.joining("; ")),
                    "./jbang monitor --source " + source + " shows the error's fix", List.of());
        } else if ("running".equals(status)) {
            pass("mz_source", source + " is running");
        } else {
            add("mz_source", WARN, source + " is " + status, "./jbang monitor --source " + source + " --watch",
                    List.of());
        }
    }

    private void sourceLag(Map<String, Object> mine) {
        Object lag = mine.get("offset_lag");
        if (Boolean.FALSE.equals(mine.get("snapshot_committed"))) {
            add("mz_lag", WARN, source + " is still snapshotting", "./jbang monitor --until-snapshotted", List.of());
        } else if (lag == null) {
            add("mz_lag", WARN, "no statistics for " + source + " yet", "./jbang monitor --source " + source, List.of());
        } else {
            pass("mz_lag", lag + " bytes behind the WAL Materialize knows of");
        }
    }

    /**
     * Schema drift: each table the source ingests against its upstream columns now (Materialize matches them by
     * name): a column gone upstream FAILs (the table stops at the next check), one added and not ingested WARNs.
     */
    private void schema(Mz db, List<Map<String, Object>> tables) throws SQLException {
        Map<String, List<String>> upstream = new LinkedHashMap<>();
        tables.forEach(t -> upstream.put(ref(t), ((List<?>) t.getOrDefault("columns", List.of())).stream().map(String::valueOf).toList()));
        queries++;
        Map<String, Mz.ColumnDrift> drift = schemaDrift(db, source, upstream);
        List<String> gone = new ArrayList<>();
        List<String> added = new ArrayList<>();
        drift.forEach((ref, d) -> {
            d.gone().forEach(c -> gone.add(ref + "." + Sql.ident(c)));
            d.added().forEach(c -> added.add(ref + "." + Sql.ident(c)));
        });
        String fix = "./jbang evolve --mz-url \"$MZ_URL\"" + (source.equals("mz_source") ? "" : " --source " + Out.shellQuote(source))
                + " (the plan; --apply carries it out)";
        if (!gone.isEmpty()) {
            add("mz_schema", FAIL, "ingested column(s) gone upstream (Materialize stops the table at its next check): "
                    + names(gone), fix, List.of());
        } else if (!added.isEmpty()) {
            add("mz_schema", WARN, "column(s) added upstream that " + source + " does not ingest: " + names(added), fix, List.of());
        } else {
            pass("mz_schema", "every table " + source + " ingests has its upstream columns (" + drift.size() + " table(s))");
        }
    }

    /**
     * Per upstream table the source ingests and {@code upstream} publishes (ref → its columns now), what Materialize
     * ingests of it against those columns ({@link #MZ_INGESTED}: one query). Watch uses it too.
     */
    static Map<String, Mz.ColumnDrift> schemaDrift(Mz db, String source, Map<String, List<String>> upstream) throws SQLException {
        Map<String, List<String>> ingested = new LinkedHashMap<>();
        Map<String, String> createSql = new LinkedHashMap<>();
        for (Map<String, Object> r : db.query(MZ_INGESTED, source)) {
            String ref = Sql.qualified(db.sourceTableName((String) r.get("schema_name")), db.sourceTableName((String) r.get("table_name")));
            List<String> cols = ingested.computeIfAbsent(ref, k -> new ArrayList<>());
            if (r.get("column_name") != null) {
                cols.add((String) r.get("column_name"));
            }
            createSql.put(ref, (String) r.get("create_sql"));
        }
        Map<String, Mz.ColumnDrift> out = new LinkedHashMap<>();
        ingested.forEach((ref, cols) -> {
            if (upstream.containsKey(ref)) {
                out.put(ref, Mz.columnDrift(cols, Mz.optionColumns(createSql.get(ref), "EXCLUDE"), upstream.get(ref)));
            }
        });
        return out;
    }

    /** Slots matched both ways: a source's slot missing upstream, a materialize_% slot no source uses. */
    private void slotsBothWays(List<Map<String, Object>> upstreamSlots, List<Map<String, Object>> sources,
                               Map<String, Object> s) {
        Map<String, Map<String, Object>> up = new LinkedHashMap<>();
        upstreamSlots.forEach(sl -> up.put((String) sl.get("slot_name"), sl));
        Set<String> used = new LinkedHashSet<>();
        List<String> missing = new ArrayList<>();
        List<String> missingSql = new ArrayList<>();
        for (Map<String, Object> src : sources) {
            String slot = (String) src.get("replication_slot");
            if (slot == null) {
                continue;
            }
            used.add(slot);
            if (!up.containsKey(slot)) {
                missing.add(src.get("name") + " → " + slot);
                missingSql.add("DROP SOURCE " + Sql.ident((String) src.get("name")) + " CASCADE");
            }
        }
        List<String> orphans = new ArrayList<>();
        List<String> orphanSql = new ArrayList<>();
        for (String name : up.keySet()) {
            if (name.startsWith("materialize_") && !used.contains(name)) {
                orphans.add(name + " (" + up.get(name).get("retained") + " retained)");
                orphanSql.add("SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
            }
        }
        if (!missing.isEmpty()) {
            add("mz_slots", FAIL, "source slot(s) missing upstream in " + s.get("database") + "'s server (dropped, "
                            + "a Neon branch restore, or the source reads another database): " + names(missing),
                    "recreate the source: the SQL in Materialize, then ./jbang source", missingSql);
        } else if (sources.isEmpty()) {
            pass("mz_slots", "no PostgreSQL source in Materialize");
        } else {
            pass("mz_slots", "every source's slot is upstream: " + names(new ArrayList<>(used)));
        }
        if (orphans.isEmpty()) {
            pass("orphan_slots", "no materialize_% slot without a source");
        } else {
            add("orphan_slots", WARN, "materialize_% slots no source of this Materialize uses (a DROP SOURCE "
                            + "whose slot cleanup failed, or another Materialize's): " + names(orphans),
                    "if no other Materialize environment uses it, drop it upstream", orphanSql);
        }
    }

    // ---- output -----------------------------------------------------------------------------------

    static String ref(Map<String, Object> t) {
        return Sql.qualified((String) t.get("schema_name"), (String) t.get("table_name"));
    }

    /** Up to 5 names, then how many more ({@link DoctorChecklist#names}). */
    static String names(List<String> all) {
        return DoctorChecklist.names(all);
    }
}

/**
 * The doctor's checklist: the checks in the order they were made, printed one line each (a non-pass with its
 * fix and the first {@link #SHOWN} statements of its SQL), with --json's checks, counts and number of queries.
 */
final class DoctorChecklist {
    /** Lines of SQL shown per fix in the human output (--json has all). */
    static final int SHOWN = 5;

    /** One line of the checklist. */
    record Check(String id, String status, String detail, String fix, List<String> sql) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("status", status);
            m.put("detail", detail);
            m.put("fix", fix);
            m.put("sql", sql);
            return m;
        }
    }

    private final List<Check> checks = new ArrayList<>();

    void add(String id, String status, String detail, String fix, List<String> sql) {
        checks.add(new Check(id, status, detail, fix, sql));
    }

    /** Up to 5 names, then how many more (the --json detail is the same; its sql lists every statement). */
    static String names(List<String> all) {
        if (all.size() <= SHOWN) {
            return String.join(", ", all);
        }
        return String.join(", ", all.subList(0, SHOWN)) + " and " + (all.size() - SHOWN) + " more";
    }

    /** Prints the checklist and its tally; exit 9 when a check FAILs. */
    int report(Out o, int queries) {
        int width = checks.stream().mapToInt(c -> c.id().length()).max().orElse(5);
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("pass", 0);
        counts.put("warn", 0);
        counts.put("fail", 0);
        List<Map<String, Object>> json = new ArrayList<>();
        for (Check c : checks) {
            counts.merge(c.status().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
            json.add(c.json());
            o.line(String.format("%-4s  %-" + width + "s  %s", c.status(), c.id(), c.detail()));
            if (!Doctor.PASS.equals(c.status())) {
                o.line("      fix: " + c.fix());
                List<String> sql = c.sql();
                for (int i = 0; i < Math.min(sql.size(), SHOWN); i++) {
                    String q = sql.get(i);
                    boolean clause = q.startsWith("TEXT COLUMNS") || q.startsWith("EXCLUDE COLUMNS") || q.contains("--");
                    o.line("           " + q + (clause ? "" : ";"));
                }
                if (sql.size() > SHOWN) {
                    o.line("           … " + (sql.size() - SHOWN) + " more (--json lists them all)");
                }
            }
        }
        o.put("checks", json);
        o.put("counts", counts);
        o.put("queries", queries);
        boolean failed = counts.get("fail") > 0;
        o.line("doctor: %d checks: %d pass, %d warn, %d fail%s", checks.size(), counts.get("pass"), counts.get("warn"),
                counts.get("fail"), failed ? " (exit 9)" : "");
        return failed ? Exit.VERIFY : Exit.OK;
    }
}

/**
 * Neon's removal of logical slots, forecast (issue #20): doctor's check, watch's metric and drift, fleet's column.
 * Neon's compute runs a background worker, "Logical replication monitor" (neondatabase/neon
 * {@value #NEON_PATH} at {@value #NEON_COMMIT}; docs/neon-facts.md, src/test/resources/neon/facts.json), that
 * every 10 s lists pg_logical/snapshots, reads each name as two hex numbers around a hyphen (an LSN, e.g.
 * 0-16B3748.snap), sorts the LSNs newest first and, when there are at least neon.logical_replication_max_snap_files
 * of them, takes the LSN of the Nth newest as the cutoff: every logical slot, of any database, whose restart_lsn is
 * older is dropped, its walsender killed first when it is active. So a slot goes at the first check after N files
 * lie beyond (newer than) its restart_lsn. PostgreSQL writes one such file each time logical decoding, of any slot,
 * passes a running-xacts record, and removes at a checkpoint only the files older than every logical slot's
 * restart_lsn: the files beyond a slot that does not move grow with every other slot's decoding. Neon's docs say
 * "about 40 hours" (of inactivity); that is their wording, not the rule.
 */
final class SnapForecast {
    static final String NEON_REPO = "neondatabase/neon";
    static final String NEON_PATH = "pgxn/neon/logical_replication_monitor.c";
    static final String NEON_COMMIT = "6a35a3e9f149798df1b1761ee64099d8d75fbe90";
    static final String MAX_FILES_GUC = "neon.logical_replication_max_snap_files";
    static final int MAX_FILES_DEFAULT = 10000;
    static final String MAX_SIZE_GUC = "neon.logical_replication_max_logicalsnapdir_size";
    static final int MAX_SIZE_DEFAULT_KB = 8000;
    static final int CHECK_INTERVAL_SECONDS = 10;
    static final String MONITOR = "Logical replication monitor";
    static final String SNAPDIR = "pg_logical/snapshots";
    static final String DOCS_WORDING = "about 40 hours";
    /** Our own decoders' slots (./jbang tap, ./jbang stream-check): on Neon they bring the others' drop nearer. */
    static final List<String> OUR_PREFIXES = List.of("neonmz_tap_", "neonmz_check_");
    /** A slot this close to the limit (or dropped within a day) is reported before it goes. */
    static final double NEAR = 0.8;
    static final double SOON_SECONDS = 24 * 3600;

    /** Neon's limits as this server has them (NULL without Neon's library), whether its monitor runs, what this role may list. */
    static final String SETTINGS = """
            SELECT current_setting('neon.logical_replication_max_snap_files', true) AS max_snap_files,
                   current_setting('neon.logical_replication_max_logicalsnapdir_size', true) AS max_dir_size_kb,
                   EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'Logical replication monitor') AS monitor,
                   current_user AS role_name, current_setting('server_version_num')::int AS server_version_num,
                   has_function_privilege(to_regprocedure('pg_catalog.pg_ls_logicalsnapdir()'), 'EXECUTE') AS may_list,
                   (SELECT pg_has_role(n.oid, m.oid, 'USAGE') FROM pg_roles n, pg_roles m
                    WHERE n.rolname = 'neon_superuser' AND m.rolname = 'pg_monitor') AS neon_superuser_monitor,
                   extract(epoch FROM clock_timestamp())::float8 AS now""";

    /** The snapshot files (PostgreSQL 15+; superusers and pg_monitor): Neon's monitor counts the same directory. */
    static final String FILES = """
            SELECT name, size, extract(epoch FROM modification)::float8 AS modified
            FROM pg_ls_logicalsnapdir() ORDER BY modification, name""";

    /** Every logical slot of the server, temporary ones too (Neon's monitor drops any of them). */
    static final String SLOTS = """
            SELECT slot_name, database, active, temporary, restart_lsn::text AS restart_lsn
            FROM pg_replication_slots WHERE slot_type = 'logical'
            ORDER BY restart_lsn NULLS FIRST, slot_name""";

    /** doctor's and watch's --neon-max-snap-files. */
    static final class Limit {
        @Option(names = "--neon-max-snap-files", paramLabel = "N", description = "Forecast Neon's removal of slots "
                + "with this limit of .snap files (default: the server's " + MAX_FILES_GUC + ", else Neon's default "
                + MAX_FILES_DEFAULT + ").")
        Integer maxSnapFiles;
    }

    interface Reader {
        List<Map<String, Object>> query(String sql) throws SQLException;
    }

    /** One logical slot's forecast. */
    record Slot(String name, String database, boolean active, boolean temporary, String restartLsn, long beyond,
                boolean dropped, Double perHour, Double etaSeconds, int order, boolean ours) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("slot_name", name);
            m.put("database", database);
            m.put("active", active);
            m.put("temporary", temporary);
            m.put("restart_lsn", restartLsn);
            m.put("files_beyond", beyond);
            m.put("dropped_at_next_check", dropped);
            m.put("growth_per_hour", perHour);
            m.put("eta_seconds", etaSeconds);
            m.put("order", order);
            m.put("ours", ours);
            return m;
        }
    }

    final int limit;
    final String limitFrom;
    final int sizeKb;
    final boolean monitor;
    final boolean neon;
    final double at;
    final String role;
    String error;
    Boolean neonSuperuserMonitor;
    int files = -1;
    Double perHour;
    Long cutoff;
    List<Slot> slots = List.of();

    private SnapForecast(Map<String, Object> s, Integer override, boolean neon) {
        Integer live = integer(s.get("max_snap_files"));
        limit = override != null ? override : live != null ? live : MAX_FILES_DEFAULT;
        limitFrom = override != null ? "--neon-max-snap-files" + (live == null ? "" : "; the server's is " + live)
                : live != null ? MAX_FILES_GUC + " (live)" : "Neon's default";
        Integer kb = integer(s.get("max_dir_size_kb"));
        sizeKb = kb != null ? kb : MAX_SIZE_DEFAULT_KB;
        monitor = Boolean.TRUE.equals(s.get("monitor"));
        this.neon = neon || monitor;
        at = ((Number) s.get("now")).doubleValue();
        role = String.valueOf(s.get("role_name"));
        neonSuperuserMonitor = (Boolean) s.get("neon_superuser_monitor");
    }

    private static Integer integer(Object v) {
        try {
            return v == null || v.toString().isBlank() ? null : Integer.valueOf(v.toString().strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The three reads (the files only where this role may list them), then the forecast; previous: the last tick's. */
    static SnapForecast read(Reader db, Integer override, boolean neon, SnapForecast previous) throws SQLException {
        Map<String, Object> s = db.query(SETTINGS).get(0);
        SnapForecast f = new SnapForecast(s, override, neon);
        List<Map<String, Object>> fileRows = null;
        if ((Integer) s.get("server_version_num") < 150000) {
            f.error = "cannot list " + SNAPDIR + ": pg_ls_logicalsnapdir() needs PostgreSQL 15 or later";
        } else if (!Boolean.TRUE.equals(s.get("may_list"))) {
            f.error = denied(s.get("role_name"));
        } else {
            try {
                fileRows = db.query(FILES);
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) {
                    throw e;
                }
                f.error = denied(s.get("role_name"));
            }
        }
        f.compute(fileRows, db.query(SLOTS), previous);
        return f;
    }

    static String denied(Object role) {
        return "cannot list " + SNAPDIR + ": role " + role + " lacks pg_monitor (pg_ls_logicalsnapdir() is for "
                + "superusers and pg_monitor)";
    }

    /**
     * Neon's file name rule: sscanf(name, "%X-%X.snap") must fill both numbers; what follows them is not read, so
     * PostgreSQL's temporary "X-Y.snap.PID.tmp" counts too. Null for a name it skips.
     */
    static Long lsn(String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^([0-9A-Fa-f]{1,8})-([0-9A-Fa-f]{1,8})").matcher(name);
        return m.find() ? Long.parseLong(m.group(1), 16) << 32 | Long.parseLong(m.group(2), 16) : null;
    }

    /**
     * Neon's cutoff (0: none), step by step as its code takes it: LSNs newest first; at least maxFiles of them (-1
     * disables) gives the maxFiles-th newest. The size rule compares a directory size the code never adds up (it
     * stays 0 at the pinned commit), so it fires only when its limit is negative (-1, "disabled", with the file
     * rule on): then the newest file's LSN is the cutoff. Both -1: no cutoff.
     */
    static long cutoff(List<long[]> newestFirst, int maxFiles, int maxKb) {
        if (maxFiles < 0 && maxKb < 0) {
            return 0;
        }
        long cut = 0;
        int n = newestFirst.size();
        if (maxFiles >= 1 && maxFiles <= n) {
            cut = newestFirst.get(maxFiles - 1)[0];
        }
        long sizeUnsummed = 0;
        if (sizeUnsummed > maxKb * 1000 && n > 0 && maxFiles > 1) {
            cut = newestFirst.get(0)[0];
        }
        return cut;
    }

    private void compute(List<Map<String, Object>> fileRows, List<Map<String, Object>> slotRows, SnapForecast previous) {
        List<long[]> lsns = new ArrayList<>();
        double first = Double.MAX_VALUE;
        double last = 0;
        for (Map<String, Object> r : fileRows == null ? List.<Map<String, Object>>of() : fileRows) {
            Long l = lsn((String) r.get("name"));
            if (l != null) {
                lsns.add(new long[] {l, ((Number) r.get("size")).longValue()});
                double t = ((Number) r.get("modified")).doubleValue();
                first = Math.min(first, t);
                last = Math.max(last, t);
            }
        }
        lsns.sort((a, b) -> Long.compareUnsigned(b[0], a[0]));
        if (fileRows != null) {
            files = lsns.size();
            cutoff = cutoff(lsns, limit, sizeKb);
            perHour = lsns.size() >= 2 && last > first ? (lsns.size() - 1) / (last - first) * 3600 : null;
        }
        List<Slot> out = new ArrayList<>();
        for (Map<String, Object> r : slotRows) {
            out.add(slot(r, lsns, fileRows != null, previous, slotRows));
        }
        slots = out;
    }

    private Slot slot(Map<String, Object> r, List<long[]> lsns, boolean listed, SnapForecast previous,
                      List<Map<String, Object>> all) {
        String name = (String) r.get("slot_name");
        String restart = (String) r.get("restart_lsn");
        long restartAt = lsnText(restart);
        long beyond = lsns.stream().filter(l -> Long.compareUnsigned(l[0], restartAt) > 0).count();
        boolean dropped = listed && cutoff != null && cutoff != 0 && Long.compareUnsigned(restartAt, cutoff) < 0;
        Slot before = previous == null || !listed ? null
                : previous.slots.stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
        Double rate = !listed ? null : before != null && previous.files >= 0 && at > previous.at
                ? (beyond - before.beyond()) / (at - previous.at) * 3600 : perHour;
        Double eta = !listed ? null : dropped ? Double.valueOf(0) : limit >= 1 && rate != null && rate > 0
                ? (limit - beyond) / rate * 3600 : null;
        int order = 1 + (int) all.stream().filter(o -> Long.compareUnsigned(lsnText((String) o.get("restart_lsn")),
                restartAt) < 0).count();
        boolean ours = OUR_PREFIXES.stream().anyMatch(name::startsWith);
        return new Slot(name, (String) r.get("database"), Boolean.TRUE.equals(r.get("active")),
                Boolean.TRUE.equals(r.get("temporary")), restart, beyond, dropped, rate, eta, order, ours);
    }

    /** An LSN's text (X/Y) as a number; a slot without one (NULL) is at 0, older than any file. */
    static long lsnText(String t) {
        if (t == null) {
            return 0;
        }
        String[] p = t.split("/");
        return Long.parseLong(p[0], 16) << 32 | Long.parseLong(p[1], 16);
    }

    /** A slot near its drop: at or past the limit, within NEAR of it, or due within a day. */
    boolean near(Slot s) {
        return s.dropped() || limit >= 1 && s.beyond() >= NEAR * limit
                || s.etaSeconds() != null && s.etaSeconds() < SOON_SECONDS;
    }

    /** The slots that write .snap files (they decode): active logical slots; ours named as such on Neon. */
    List<String> hasteners() {
        List<String> h = new ArrayList<>();
        for (Slot s : slots) {
            if (s.active()) {
                h.add(s.name() + (s.ours() ? " (ours: ./jbang " + (s.name().startsWith(OUR_PREFIXES.get(0)) ? "tap"
                        : "stream-check") + "; stop it when done)" : ""));
            }
        }
        return h;
    }

    /** Where the limit comes from, and whether anything here enforces it. */
    String basis() {
        return "limit " + limit + " (" + limitFrom + ")" + (monitor ? "" : neon ? "; Neon's monitor not seen in "
                + "pg_stat_activity" : "; no Neon monitor here: forecast as Neon would");
    }

    /** One slot, for people: files beyond its restart_lsn of the limit, growth, when it goes. */
    String describe(Slot s) {
        StringBuilder b = new StringBuilder(s.name() + ": " + s.beyond() + " of " + limit + " files beyond restart_lsn "
                + (s.restartLsn() == null ? "NULL" : s.restartLsn()));
        if (s.perHour() != null) {
            b.append(String.format(java.util.Locale.ROOT, ", %+.0f/h", s.perHour()));
        }
        if (s.dropped()) {
            b.append(", dropped at Neon's next check (every " + CHECK_INTERVAL_SECONDS + " s)");
        } else if (s.etaSeconds() != null && s.etaSeconds() < CHECK_INTERVAL_SECONDS) {
            b.append(", dropped within about " + CHECK_INTERVAL_SECONDS + " s at this rate");
        } else if (s.etaSeconds() != null) {
            b.append(", dropped in about ").append(Durations.show(Duration.ofSeconds(Math.round(s.etaSeconds()))))
                    .append(s.active() ? " if its consumer stops moving it" : "");
        } else {
            b.append(", not growing");
        }
        return b.toString();
    }

    Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("limit", limit);
        m.put("limit_from", limitFrom);
        m.put("max_dir_size_kb", sizeKb);
        m.put("neon_monitor_running", monitor);
        m.put("neon_superuser_has_pg_monitor", neonSuperuserMonitor);
        m.put("files", files < 0 ? null : files);
        m.put("files_per_hour", perHour);
        m.put("cutoff_lsn", cutoff == null || cutoff == 0 ? null : String.format("%X/%X", cutoff >>> 32, cutoff & 0xFFFFFFFFL));
        m.put("error", error);
        m.put("slots", slots.stream().map(Slot::json).toList());
        m.put("hasteners", hasteners());
        m.put("rule", "a logical slot is dropped at Neon's first check (every " + CHECK_INTERVAL_SECONDS + " s) once "
                + limit + " .snap files lie beyond its restart_lsn; Neon's docs say \"" + DOCS_WORDING + "\"");
        return m;
    }
}
