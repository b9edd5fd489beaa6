import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

import neonmz.ConnInfo;

/**
 * A STAND-IN for Materialize, not Materialize: a PostgreSQL database (of the shared test server) with
 * schemas {@code mz_catalog} and {@code mz_internal} holding plain tables named and shaped like the
 * Materialize catalog relations the C.4/C.5/D scripts read (columns as in the shared reference,
 * materialize.md C.4/C.5 and cdc-anchors §1d; Materialize's uint8 is numeric here). Tests fill rows for
 * a scenario and point {@code --mz-url} at it; Materialize speaks the Postgres protocol and its catalog is
 * relations, so this exercises the scripts' SQL text (as far as PostgreSQL accepts it), their reading of
 * the answers and their decisions. It proves nothing about Materialize's own behaviour: what its catalog
 * really holds at each moment, SHOW/ALTER CLUSTER/SUBSCRIBE, or its types. That is the end-to-end tier's job.
 */
final class MzStandIn {
    static final String DDL = """
            CREATE SCHEMA mz_catalog;
            CREATE SCHEMA mz_internal;
            CREATE TABLE mz_catalog.mz_databases (id text PRIMARY KEY, oid oid, name text NOT NULL, owner_id text);
            CREATE TABLE mz_catalog.mz_schemas (id text PRIMARY KEY, oid oid, database_id text, name text NOT NULL, owner_id text);
            CREATE TABLE mz_catalog.mz_clusters (id text PRIMARY KEY, name text NOT NULL, owner_id text, managed boolean,
              size text, replication_factor integer, disk boolean);
            CREATE TABLE mz_catalog.mz_cluster_replicas (id text PRIMARY KEY, name text NOT NULL, cluster_id text, size text,
              availability_zone text, owner_id text, disk boolean);
            CREATE TABLE mz_catalog.mz_cluster_replica_sizes (size text PRIMARY KEY, processes numeric, workers numeric,
              cpu_nano_cores numeric, memory_bytes numeric, disk_bytes numeric, credits_per_hour numeric);
            CREATE TABLE mz_catalog.mz_sources (id text PRIMARY KEY, oid oid, schema_id text, name text NOT NULL, type text,
              connection_id text, size text, envelope_type text, key_format text, value_format text, cluster_id text,
              owner_id text, create_sql text, redacted_create_sql text);
            CREATE TABLE mz_catalog.mz_tables (id text PRIMARY KEY, oid oid, schema_id text, name text NOT NULL, owner_id text,
              source_id text);
            CREATE TABLE mz_catalog.mz_objects (id text PRIMARY KEY, oid oid, schema_id text, name text NOT NULL, type text,
              owner_id text, cluster_id text);
            CREATE TABLE mz_catalog.mz_connections (id text PRIMARY KEY, oid oid, schema_id text, name text NOT NULL, type text,
              owner_id text, create_sql text, redacted_create_sql text);
            CREATE TABLE mz_catalog.mz_secrets (id text PRIMARY KEY, oid oid, schema_id text, name text NOT NULL, owner_id text);
            CREATE TABLE mz_catalog.mz_egress_ips (egress_ip text, prefix_length integer, cidr text);
            CREATE TABLE mz_internal.mz_object_dependencies (object_id text, referenced_object_id text);
            CREATE TABLE mz_internal.mz_source_statuses (id text, name text, type text, last_status_change_at timestamptz,
              status text, error text, details jsonb);
            CREATE TABLE mz_internal.mz_source_statistics (id text, replica_id text, messages_received numeric,
              bytes_received numeric, updates_staged numeric, updates_committed numeric, records_indexed numeric,
              bytes_indexed numeric, rehydration_latency interval, snapshot_records_known numeric,
              snapshot_records_staged numeric, snapshot_committed boolean, offset_known numeric, offset_committed numeric);
            CREATE TABLE mz_internal.mz_hydration_statuses (object_id text, replica_id text, hydrated boolean);
            CREATE TABLE mz_internal.mz_postgres_sources (id text, replication_slot text, timeline_id numeric);
            CREATE TABLE mz_internal.mz_postgres_source_tables (id text, schema_name text, table_name text);
            CREATE TABLE mz_internal.mz_cluster_replica_utilization (replica_id text, process_id numeric,
              cpu_percent double precision, memory_percent double precision, disk_percent double precision,
              heap_percent double precision);
            """;

    final Lab.Server server;
    final String db;

    /** A fresh stand-in database on the shared test server (empty but for the catalog tables), owned by neondb_owner. */
    MzStandIn() {
        this(TestPg.server());
    }

    MzStandIn(Lab.Server server) {
        this.server = server;
        db = "mz" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        TestPg.exec(server, "postgres", "CREATE DATABASE " + db + " OWNER neondb_owner");
        exec(DDL);
        // three-part names (database.schema.table) work in PostgreSQL only for the current database
        exec("INSERT INTO mz_catalog.mz_databases VALUES ('u1', 16384, current_database(), 'u1')",
                "INSERT INTO mz_catalog.mz_schemas VALUES ('u3', 16385, 'u1', 'public', 'u1')");
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
        env.put("MZ_URL", "postgresql://neondb_owner@127.0.0.1:" + server.port() + "/" + db + "?sslmode=disable");
        env.put("MZ_PASSWORD", server.readSecret("owner.password"));
        return env;
    }

    /** A Postgres source with its replication slot and its status. */
    MzStandIn source(String id, String name, String clusterId, String slot, String status, String error) {
        exec(String.format("INSERT INTO mz_catalog.mz_sources (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'postgres', %s)",
                        q(id), q(name), q(clusterId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type, cluster_id) VALUES (%s, 'u3', %s, 'source', %s)",
                        q(id), q(name), q(clusterId)),
                String.format("INSERT INTO mz_internal.mz_postgres_sources VALUES (%s, %s, 1)", q(id), q(slot)),
                // what the source references besides its subsources: its connection (not a source; must not show)
                String.format("INSERT INTO mz_internal.mz_object_dependencies VALUES (%s, 'u99')", q(id)));
        return status(id, name, "postgres", status, error);
    }

    /** A subsource (legacy syntax) of {@code sourceId} for upstream table {@code upstream} (schema.table). */
    MzStandIn subsource(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status,
                        String error) {
        exec(String.format("INSERT INTO mz_catalog.mz_sources (id, schema_id, name, type) VALUES (%s, 'u3', %s, 'subsource')",
                        q(id), q(name)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES (%s, 'u3', %s, 'source')",
                        q(id), q(name)),
                String.format("INSERT INTO mz_internal.mz_object_dependencies VALUES (%s, %s)", q(sourceId), q(id)),
                String.format("INSERT INTO mz_internal.mz_postgres_source_tables VALUES (%s, %s, %s)", q(id),
                        q(upstreamSchema), q(upstreamTable)));
        return status(id, name, "subsource", status, error);
    }

    /** A table made with CREATE TABLE … FROM SOURCE (new syntax): linked by mz_tables.source_id, not by a dependency row. */
    MzStandIn table(String id, String name, String sourceId, String upstreamSchema, String upstreamTable, String status) {
        exec(String.format("INSERT INTO mz_catalog.mz_tables (id, schema_id, name, source_id) VALUES (%s, 'u3', %s, %s)",
                        q(id), q(name), q(sourceId)),
                String.format("INSERT INTO mz_catalog.mz_objects (id, schema_id, name, type) VALUES (%s, 'u3', %s, 'table')",
                        q(id), q(name)),
                String.format("INSERT INTO mz_internal.mz_postgres_source_tables VALUES (%s, %s, %s)", q(id),
                        q(upstreamSchema), q(upstreamTable)));
        return status(id, name, "table", status, null);
    }

    MzStandIn status(String id, String name, String type, String status, String error) {
        exec(String.format("INSERT INTO mz_internal.mz_source_statuses VALUES (%s, %s, %s, now(), %s, %s, NULL)",
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
        exec(String.format("INSERT INTO mz_internal.mz_hydration_statuses VALUES (%s, %s, %s)", q(id), q(replica), hydrated));
        return this;
    }

    /** One row of mz_egress_ips (Materialize Cloud's announced egress addresses; empty on the emulator). */
    MzStandIn egressIp(String ip, Integer prefixLength, String cidr) {
        exec(String.format("INSERT INTO mz_catalog.mz_egress_ips VALUES (%s, %s, %s)", q(ip), prefixLength, q(cidr)));
        return this;
    }

    static String q(String s) {
        return s == null ? "NULL" : "'" + s.replace("'", "''") + "'";
    }
}
