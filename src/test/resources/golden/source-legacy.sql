-- materialize.md C.3 legacy tab: FOR ALL TABLES; Considerations: the enum orders.status goes in TEXT COLUMNS
-- ./jbang source --syntax legacy --dry-run
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_source', TEXT COLUMNS (public.orders.status)) FOR ALL TABLES;
