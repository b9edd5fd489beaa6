-- materialize.md C.3 new tab with the same types; EXCLUDE COLUMNS per table
-- ./jbang source --publication mz_types --syntax new --exclude-column '"Sales Ops"."Invoice ""Q1""".note' --dry-run
CREATE SOURCE mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION pg_connection (PUBLICATION 'mz_types');
BEGIN;
CREATE TABLE "Invoice ""Q1""" FROM SOURCE mz_source (REFERENCE "Sales Ops"."Invoice ""Q1""") WITH (TEXT COLUMNS (amount, qty, "Ünïcode Spot", moods, client), EXCLUDE COLUMNS (note));
CREATE TABLE "Sales Ops_orders" FROM SOURCE mz_source (REFERENCE "Sales Ops".orders) WITH (TEXT COLUMNS (status));
CREATE TABLE public_orders FROM SOURCE mz_source (REFERENCE public.orders) WITH (TEXT COLUMNS (status));
COMMIT;
