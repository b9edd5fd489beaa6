-- materialize.md C.3 new tab (Materialize's default from v26.25, what a dry run plans): CREATE SOURCE, then CREATE TABLE … FROM SOURCE (REFERENCE schema.t) WITH (TEXT COLUMNS (c)) in one transaction; Considerations: the enum orders.status as text
-- ./jbang source --dry-run
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_source');
BEGIN;
CREATE TABLE "Order Items" FROM SOURCE mz_source (REFERENCE public."Order Items");
CREATE TABLE customers FROM SOURCE mz_source (REFERENCE public.customers);
CREATE TABLE orders FROM SOURCE mz_source (REFERENCE public.orders) WITH (TEXT COLUMNS (status));
CREATE TABLE page_views FROM SOURCE mz_source (REFERENCE public.page_views);
COMMIT;
