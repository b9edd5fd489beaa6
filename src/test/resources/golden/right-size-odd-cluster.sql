-- materialize.md C.5: the cluster name quoted as an identifier and as a literal
-- ./jbang right-size --cluster 'Ingest PG' --size M.1-small --apply --dry-run
SELECT id, size, replication_factor, managed FROM mz_catalog.mz_clusters WHERE name = 'Ingest PG';
SELECT size, credits_per_hour FROM mz_catalog.mz_cluster_replica_sizes ORDER BY credits_per_hour, size;
SELECT r.id AS replica_id, r.name AS replica, r.size,
       max(u.cpu_percent) AS cpu_percent, max(u.heap_percent) AS memory_percent
FROM mz_catalog.mz_cluster_replicas AS r
  JOIN mz_catalog.mz_clusters AS c ON c.id = r.cluster_id
  LEFT JOIN mz_internal.mz_cluster_replica_utilization AS u ON u.replica_id = r.id
WHERE c.name = 'Ingest PG'
GROUP BY r.id, r.name, r.size
ORDER BY r.name;
WITH on_cluster AS (
  SELECT s.id FROM mz_catalog.mz_sources AS s JOIN mz_catalog.mz_clusters AS c ON c.id = s.cluster_id
  WHERE c.name = 'Ingest PG' AND s.type NOT IN ('subsource', 'progress')),
objects AS (
  SELECT id FROM on_cluster
  UNION SELECT d.object_id FROM mz_internal.mz_object_dependencies AS d
          JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
        WHERE d.referenced_object_id IN (SELECT id FROM on_cluster)
  UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM on_cluster))
SELECT (SELECT count(*) FROM on_cluster) AS sources, count(DISTINCT st.id) AS objects,
       bool_and(st.snapshot_committed) AS snapshot_committed
FROM mz_internal.mz_source_statistics AS st
WHERE st.id IN (SELECT id FROM objects);
SELECT d.name AS database_name, n.name AS schema_name, s.name AS source_name, pgs.replication_slot
FROM mz_catalog.mz_sources AS s
  JOIN mz_internal.mz_postgres_sources AS pgs ON s.id = pgs.id
  JOIN mz_catalog.mz_schemas AS n ON n.id = s.schema_id
  JOIN mz_catalog.mz_databases AS d ON d.id = n.database_id
WHERE s.cluster_id = (SELECT id FROM mz_catalog.mz_clusters WHERE name = 'Ingest PG')
ORDER BY source_name;
SELECT slot_name, pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn) AS replication_lag_bytes,
       pg_current_wal_lsn() - confirmed_flush_lsn AS lag_bytes
FROM pg_catalog.pg_replication_slots WHERE slot_name IN ('<replication_slot>');
SELECT r.status, r.target ->> 'size' AS target_size, r.changes ->> 'size' AS pending_size, r.on_timeout
FROM mz_internal.mz_cluster_reconfigurations AS r JOIN mz_catalog.mz_clusters AS c ON c.id = r.cluster_id
WHERE c.name = 'Ingest PG';
ALTER CLUSTER "Ingest PG" SET (SIZE 'M.1-small');
