import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

import neonmz.ConnInfo;

/**
 * A STAND-IN for Materialize, not Materialize: a PostgreSQL database (of the shared test server) whose
 * schemas {@code mz_catalog} and {@code mz_internal} hold plain tables generated from the pinned facts
 * ({@link MzFacts}: exactly the builtin relations and columns of Materialize's catalog at the pinned release,
 * extracted from its source; types mapped to PostgreSQL's, e.g. uint8 → numeric), a {@code mz_version()}
 * that answers the pinned tag, and mz_catalog on the search path (so a bare {@code mz_sources} resolves as on
 * Materialize). A query naming a relation or column Materialize lacks fails here as it would there.
 * Tests fill rows for a scenario and point {@code --mz-url} at it. It proves nothing about Materialize's own
 * behaviour (what its catalog holds at each moment, its DDL, SUBSCRIBE): that is the Docker tier's job.
 */
final class MzStandIn {
    final Lab.Server server;
    final String db;
    /** The release mz_version() answers: the rows written follow its rules (e.g. quoted names before v26.19). */
    final neonmz.Mz.Version version;

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
        this.version = neonmz.Mz.Version.parse(version != null ? version : facts.tag());
        db = "mz" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        TestPg.exec(server, "postgres", "CREATE DATABASE " + db + " OWNER neondb_owner");
        TestPg.exec(server, "postgres", "ALTER DATABASE " + db + " SET search_path = public, mz_catalog");
        exec(facts.standInDdl());
        exec("CREATE FUNCTION mz_catalog.mz_version() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT "
                + q((version != null ? version : facts.tag()) + " (stand-in)") + " $$");
        alterClusterProcedure();
        // three-part names (database.schema.table) work in PostgreSQL only for the current database
        exec("INSERT INTO mz_catalog.mz_databases (id, oid, name, owner_id) VALUES ('u1', 16384, current_database(), 'u1')",
                "INSERT INTO mz_catalog.mz_schemas (id, oid, database_id, name, owner_id) VALUES ('u3', 16385, 'u1', 'public', 'u1')");
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
        boolean background = version.atLeast(neonmz.Mz.BACKGROUND_RESIZE);
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
        Map<String, String> env = new HashMap<>(TestPg.env(server, upstreamDb == null ? db : upstreamDb));
        if (upstreamDb == null) {
            env.remove("DATABASE_URL");
        }
        env.put("MZ_URL", "postgresql://neondb_owner@127.0.0.1:" + (wire != null ? wire.port() : server.port()) + "/" + db
                + "?sslmode=disable");
        env.put("MZ_PASSWORD", server.readSecret("owner.password"));
        return env;
    }

    /** A Postgres source with its replication slot and its status. */
    MzStandIn source(String id, String name, String clusterId, String slot, String status, String error) {
        exec(String.format("INSERT INTO mz_catalog.mz_sources (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'postgres', %s)",
                        q(id), q(name), q(clusterId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'source', %s)",
                        q(id), q(name), q(clusterId)),
                String.format("INSERT INTO mz_internal.mz_postgres_sources (id, replication_slot) VALUES (%s, %s)", q(id), q(slot)),
                // what the source references: its connection (not a source) and its progress subsource, which
                // Materialize shows as always running; neither is one of the source's tables
                String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, 'u99')", q(id)),
                String.format("INSERT INTO mz_catalog.mz_sources (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'progress', %s)",
                        q(id + "p"), q(name + "_progress"), q(clusterId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'source', %s)",
                        q(id + "p"), q(name + "_progress"), q(clusterId)),
                String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, %s)", q(id), q(id + "p")));
        status(id + "p", name + "_progress", "progress", "running", null);
        return status(id, name, "postgres", status, error);
    }

    /**
     * A subsource (legacy syntax) of {@code sourceId} for upstream table {@code upstream} (schema.table): it
     * depends on its source (object_id = the subsource, as Materialize's mz_source_statuses joins them) and
     * runs on its source's cluster.
     */
    MzStandIn subsource(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status,
                        String error) {
        exec(String.format("INSERT INTO mz_catalog.mz_sources (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'subsource', "
                                + "(SELECT cluster_id FROM mz_catalog.mz_sources WHERE id = %s))",
                        q(id), q(name), q(sourceId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'source', "
                                + "(SELECT cluster_id FROM mz_catalog.mz_sources WHERE id = %s))",
                        q(id), q(name), q(sourceId)),
                String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, %s)", q(id), q(sourceId)),
                String.format("INSERT INTO mz_internal.mz_postgres_source_tables (id, schema_name, table_name) VALUES (%s, %s, %s)", q(id),
                        q(stored(upstreamSchema)), q(stored(upstreamTable))));
        return status(id, name, "subsource", status, error);
    }

    /** A table made with CREATE TABLE … FROM SOURCE (new syntax): linked by mz_tables.source_id, not by a dependency row. */
    MzStandIn table(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status) {
        exec(String.format("INSERT INTO mz_catalog.mz_tables (id, schema_id, name, source_id) VALUES (%s, 'u3', %s, %s)",
                        q(id), q(name), q(sourceId)),
                String.format("INSERT INTO mz_internal.mz_object_dependencies (object_id, referenced_object_id) VALUES (%s, %s)", q(id), q(sourceId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES (%s, 'u3', %s, 'table')",
                        q(id), q(name)),
                String.format("INSERT INTO mz_internal.mz_postgres_source_tables (id, schema_name, table_name) VALUES (%s, %s, %s)", q(id),
                        q(stored(upstreamSchema)), q(stored(upstreamTable))));
        return status(id, name, "table", status, null);
    }

    MzStandIn status(String id, String name, String type, String status, String error) {
        exec(String.format("INSERT INTO mz_internal.mz_source_statuses (id, name, type, last_status_change_at, status, error) "
                + "VALUES (%s, %s, %s, now(), %s, %s)",
                q(id), q(name), q(type), q(status), q(error)));
        return this;
    }

    /** One replica's row of mz_source_statistics. */
    MzStandIn stats(String id, String replica, Long known, Long staged, boolean committed, Long offsetKnown,
                    Long offsetCommitted) {
        exec(String.format("INSERT INTO mz_internal.mz_source_statistics (id, replica_id, snapshot_records_known, "
                        + "snapshot_records_staged, snapshot_committed, offset_known, offset_committed) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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

    /**
     * A name as mz_postgres_source_tables holds it: raw from v26.19 (commit 9a225279, "Store raw identifier
     * values without SQL quoting"); before, the identifier's SQL form, quoted where needed.
     */
    String stored(String name) {
        return version.atLeast(neonmz.Mz.RAW_SOURCE_TABLE_NAMES) ? name : neonmz.Sql.ident(name);
    }

    static String q(String s) {
        return s == null ? "NULL" : "'" + s.replace("'", "''") + "'";
    }
}
