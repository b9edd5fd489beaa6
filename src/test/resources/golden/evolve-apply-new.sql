-- new syntax: a new version beside the old table, the swap by rename, then what was built on it (source-versioning.md)
-- ./jbang evolve --mz-url … --apply
CREATE TABLE materialize.public.orders_evolve FROM SOURCE materialize.public.mz_source (REFERENCE public.orders) WITH (TEXT COLUMNS (status));
DROP TABLE materialize.public.orders CASCADE;
ALTER TABLE materialize.public.orders_evolve RENAME TO orders;
CREATE VIEW "materialize"."public"."orders_per_customer" AS SELECT "customer_id", count(*) AS "n" FROM [u9 AS "materialize"."public"."orders"] GROUP BY 1;
CREATE MATERIALIZED VIEW "materialize"."public"."big_customers" IN CLUSTER [u1] AS SELECT * FROM [u10 AS "materialize"."public"."orders_per_customer"] WHERE "n" > 1;
CREATE INDEX "big_customers_idx" IN CLUSTER [u1] ON [u11 AS "materialize"."public"."big_customers"] ("customer_id");
