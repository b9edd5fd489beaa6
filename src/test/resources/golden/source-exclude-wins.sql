-- materialize.md C.3: an excluded column is not also in TEXT COLUMNS
-- ./jbang source --syntax legacy --exclude-column public.orders.status --dry-run
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_source', EXCLUDE COLUMNS (public.orders.status)) FOR ALL TABLES;
