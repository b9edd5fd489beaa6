-- materialize.md C.3: the ANALYZE tip (upstream), then FOR TABLES (…); TEXT COLUMNS only for the tables added
-- ./jbang source --syntax legacy --for-tables 'orders,"Order Items"' --analyze --dry-run
ANALYZE public.orders, public."Order Items";
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_source', TEXT COLUMNS (public.orders.status)) FOR TABLES (public.orders, public."Order Items");
