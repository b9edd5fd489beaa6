-- materialize.md D: CREATE VIEW + CREATE INDEX, CREATE MATERIALIZED VIEW, SUBSCRIBE through a cursor (DECLARE … FETCH ALL c WITH (timeout = '1s'))
-- ./jbang explore --create-examples --cluster compute --subscribe-seconds 10 --dry-run
SELECT s.id, s.name, s.type, c.name AS cluster
FROM mz_catalog.mz_sources AS s LEFT JOIN mz_catalog.mz_clusters AS c ON c.id = s.cluster_id
WHERE s.id LIKE 'u%' AND s.type NOT IN ('subsource', 'progress')
ORDER BY s.name;
WITH source_ids AS (SELECT id FROM mz_catalog.mz_sources WHERE name = 'mz_source'),
ingested AS (
  SELECT d.object_id AS id FROM mz_internal.mz_object_dependencies AS d
    JOIN mz_catalog.mz_sources AS sub ON sub.id = d.object_id AND sub.type = 'subsource'
  WHERE d.referenced_object_id IN (SELECT id FROM source_ids)
  UNION SELECT id FROM mz_catalog.mz_tables WHERE source_id IN (SELECT id FROM source_ids)),
stats AS (
  SELECT id, bool_and(snapshot_committed) AS snapshot_committed FROM mz_internal.mz_source_statistics
  WHERE id IN (SELECT id FROM ingested) GROUP BY id)
SELECT o.id, d.name AS database_name, sc.name AS schema_name, o.name,
       t.schema_name AS upstream_schema, t.table_name AS upstream_table, stats.snapshot_committed
FROM ingested AS i
  JOIN mz_catalog.mz_objects AS o ON o.id = i.id
  JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
  JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
  JOIN mz_internal.mz_postgres_source_tables AS t ON t.id = i.id
  LEFT JOIN stats ON stats.id = i.id
ORDER BY t.schema_name, t.table_name;
CREATE VIEW IF NOT EXISTS orders_per_customer AS
  SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.total), 0) AS total_spent
  FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
CREATE INDEX IF NOT EXISTS orders_per_customer_idx IN CLUSTER compute ON orders_per_customer (customer_id);
CREATE MATERIALIZED VIEW IF NOT EXISTS revenue_per_day IN CLUSTER compute AS
  SELECT date_trunc('day', placed_at) AS day, count(*) AS orders, sum(total) AS revenue
  FROM orders
  GROUP BY date_trunc('day', placed_at);
BEGIN;
DECLARE c CURSOR FOR SUBSCRIBE orders_per_customer;
FETCH ALL c WITH (timeout = '1s');
COMMIT;
