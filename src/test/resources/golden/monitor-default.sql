-- materialize.md C.4: the docs' status + snapshot_committed queries joined (one per tick), progress round(100.0*staged/NULLIF(known,0),2), lag offset_known - offset_committed, hydration; upstream: C.5's pg_current_wal_lsn() - confirmed_flush_lsn for the slot
-- ./jbang monitor --dry-run
WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = 'mz_source'),
sources AS (
  SELECT d.referenced_object_id AS object_id, d.object_id AS referenced_object_id
  FROM mz_internal.mz_object_dependencies AS d
    JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
  WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
  UNION SELECT source_id, id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)
  UNION SELECT id, id FROM source_ids),
stats AS (
  SELECT id, count(*) AS replicas,
         bool_and(snapshot_committed) AS snapshot_committed,
         max(snapshot_records_known) AS snapshot_records_known,
         max(snapshot_records_staged) AS snapshot_records_staged,
         max(offset_known) AS offset_known,
         max(offset_committed) AS offset_committed
  FROM mz_internal.mz_source_statistics
  WHERE id IN (SELECT referenced_object_id FROM sources)
  GROUP BY id),
hydration AS (
  SELECT object_id, bool_and(hydrated) AS hydrated
  FROM mz_internal.mz_hydration_statuses
  WHERE object_id IN (SELECT referenced_object_id FROM sources)
  GROUP BY object_id)
SELECT mz_source_statuses.id, mz_source_statuses.name, mz_source_statuses.type,
       mz_source_statuses.status, mz_source_statuses.error, mz_source_statuses.details,
       mz_source_statuses.last_status_change_at,
       source_ids.id IS NOT NULL AS is_source,
       stats.replicas, stats.snapshot_committed,
       stats.snapshot_records_known, stats.snapshot_records_staged,
       CASE WHEN NOT stats.snapshot_committed
            THEN round(100.0 * stats.snapshot_records_staged / NULLIF(stats.snapshot_records_known, 0), 2)
       END AS snapshot_percent,
       CASE WHEN stats.snapshot_committed
            THEN stats.offset_known::numeric - stats.offset_committed::numeric
       END AS offset_lag,
       hydration.hydrated,
       mz_postgres_sources.replication_slot
FROM mz_internal.mz_source_statuses
  JOIN (SELECT DISTINCT referenced_object_id FROM sources) AS objects
    ON mz_source_statuses.id = objects.referenced_object_id
  LEFT JOIN source_ids ON source_ids.id = mz_source_statuses.id
  LEFT JOIN stats ON stats.id = mz_source_statuses.id
  LEFT JOIN hydration ON hydration.object_id = mz_source_statuses.id
  LEFT JOIN mz_internal.mz_postgres_sources ON mz_postgres_sources.id = mz_source_statuses.id
ORDER BY source_ids.id IS NULL, mz_source_statuses.name, mz_source_statuses.id;
SELECT slot_name, active, wal_status, safe_wal_size,
       restart_lsn::text AS restart_lsn, confirmed_flush_lsn::text AS confirmed_flush_lsn,
       pg_current_wal_lsn() - restart_lsn AS retained_bytes,
       pg_current_wal_lsn() - confirmed_flush_lsn AS lag_bytes,
       pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn) AS replication_lag
FROM pg_catalog.pg_replication_slots WHERE slot_name = '<replication_slot>';
