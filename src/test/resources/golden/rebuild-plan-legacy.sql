-- the docs' recovery: DROP SOURCE … CASCADE, CREATE SOURCE as it was (legacy syntax), then what was built on it; <new>: an id known once it runs
-- ./jbang rebuild --mz-url …
DROP SOURCE materialize.public.mz_source CASCADE;
CREATE SOURCE materialize.public.mz_source IN CLUSTER ingest_postgres FROM POSTGRES CONNECTION materialize.public.pg_connection (PUBLICATION 'mz_source', TEXT COLUMNS (public.orders.status)) FOR TABLES (public.customers AS materialize.public.customers, public.orders AS materialize.public.orders);
CREATE VIEW "materialize"."public"."orders_per_customer" AS SELECT "customer_id", count(*) AS "n" FROM [<new> AS "materialize"."public"."orders"] GROUP BY 1;
CREATE MATERIALIZED VIEW "materialize"."public"."big_customers" IN CLUSTER [u1] AS SELECT * FROM [<new> AS "materialize"."public"."orders_per_customer"] WHERE "n" > 1;
CREATE INDEX "orders_per_customer_idx" IN CLUSTER [u1] ON [<new> AS "materialize"."public"."orders_per_customer"] ("customer_id");
CREATE INDEX "big_customers_idx" IN CLUSTER [u1] ON [<new> AS "materialize"."public"."big_customers"] ("customer_id");
