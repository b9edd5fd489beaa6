-- materialize.md C.3: FOR SCHEMAS (…), EXCLUDE COLUMNS, a --text-column of a supported type
-- ./jbang source --syntax legacy --for-schemas public --exclude-column 'public."Order Items".attributes' --text-column customers.email --dry-run
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_source', TEXT COLUMNS (public.customers.email, public.orders.status), EXCLUDE COLUMNS (public."Order Items".attributes)) FOR SCHEMAS (public);
