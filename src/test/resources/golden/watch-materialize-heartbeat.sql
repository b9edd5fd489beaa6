-- materialize.md C.4: each tick, the status of the source and of what it feeds (stalled/failed/ceased) and its lag offset_known - offset_committed, the session kept; upstream: watch's reads (identity, grants, --all-in-schema, slots) and the heartbeat
-- ./jbang watch --mz-url postgresql://materialize@127.0.0.1:1/materialize --heartbeat --all-in-schema --source 'we'\''ird source' --dry-run
SELECT pg_current_wal_lsn()::text AS wal_lsn,
       current_setting('neon.endpoint_id', true) AS neon_endpoint,
       EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'mz_source') AS publication_exists,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'materialize') AS role_exists,
       (SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') FROM pg_namespace n
        JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'ddl_log' WHERE n.nspname = 'neonmz_guard') AS guard_log;
WITH role AS (SELECT oid FROM pg_roles WHERE rolname = 'materialize')
SELECT t.schemaname AS schema_name, t.tablename AS table_name, c.relreplident::text AS identity,
       has_schema_privilege((SELECT oid FROM role), n.oid, 'USAGE') AS usage,
       has_table_privilege((SELECT oid FROM role), c.oid, 'SELECT') AS can_select,
       array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
             AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'neonmz_guard_truncate') AS guarded
FROM pg_publication_tables t
JOIN pg_namespace n ON n.nspname = t.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
WHERE t.pubname = 'mz_source'
ORDER BY 1, 2;
SELECT n.nspname AS schema_name, c.relname AS table_name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN (SELECT schemaname FROM pg_publication_tables WHERE pubname = 'mz_source')
  AND NOT EXISTS (SELECT 1 FROM pg_publication_tables t
                  WHERE t.pubname = 'mz_source' AND t.schemaname = n.nspname AND t.tablename = c.relname)
  AND NOT EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                  WHERE p.pubname = 'mz_source' AND pr.prrelid = c.oid)
ORDER BY 1, 2;
SELECT s.slot_name, s.slot_type, s.active, s.wal_status,
       wal.lsn - s.restart_lsn AS retained_bytes,
       wal.lsn - s.confirmed_flush_lsn AS unconfirmed_bytes
FROM pg_replication_slots s CROSS JOIN (SELECT pg_current_wal_lsn() AS lsn) AS wal
WHERE NOT s.temporary AND (s.database = current_database() OR s.database IS NULL)
ORDER BY s.slot_name;
SELECT current_setting('neon.logical_replication_max_snap_files', true) AS max_snap_files,
       current_setting('neon.logical_replication_max_logicalsnapdir_size', true) AS max_dir_size_kb,
       EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'Logical replication monitor') AS monitor,
       current_user AS role_name, current_setting('server_version_num')::int AS server_version_num,
       has_function_privilege(to_regprocedure('pg_catalog.pg_ls_logicalsnapdir()'), 'EXECUTE') AS may_list,
       (SELECT pg_has_role(n.oid, m.oid, 'USAGE') FROM pg_roles n, pg_roles m
        WHERE n.rolname = 'neon_superuser' AND m.rolname = 'pg_monitor') AS neon_superuser_monitor,
       extract(epoch FROM clock_timestamp())::float8 AS now;
SELECT name, size, extract(epoch FROM modification)::float8 AS modified
FROM pg_ls_logicalsnapdir() ORDER BY modification, name;
SELECT slot_name, database, active, temporary, restart_lsn::text AS restart_lsn
FROM pg_replication_slots WHERE slot_type = 'logical'
ORDER BY restart_lsn NULLS FIRST, slot_name;
SELECT pg_logical_emit_message(false, 'neonmz_heartbeat', now()::text)::text AS lsn;
SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, role_name, command_tag,
       object_identity, verdict, change
FROM neonmz_guard.ddl_log WHERE at > now() - interval '60000 milliseconds'
ORDER BY id DESC LIMIT 100;
WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = 'we''ird source'),
objects AS (
  SELECT id FROM source_ids
  UNION SELECT d.object_id FROM mz_internal.mz_object_dependencies AS d
          JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
        WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
  UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)),
stats AS (
  SELECT id, bool_and(snapshot_committed) AS snapshot_committed,
         max(offset_known) AS offset_known, max(offset_committed) AS offset_committed
  FROM mz_internal.mz_source_statistics WHERE id IN (SELECT id FROM source_ids) GROUP BY id)
SELECT st.name, st.type, st.status, st.error, source_ids.id IS NOT NULL AS is_source,
       CASE WHEN stats.snapshot_committed
            THEN stats.offset_known::numeric - stats.offset_committed::numeric END AS offset_lag
FROM mz_internal.mz_source_statuses st
  JOIN objects ON objects.id = st.id
  LEFT JOIN source_ids ON source_ids.id = st.id
  LEFT JOIN stats ON stats.id = st.id
ORDER BY source_ids.id IS NULL, st.name;
WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = 'we''ird source'),
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
ORDER BY i.id, c.position;
