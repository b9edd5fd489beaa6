-- legacy: DROP SOURCE <subsource> CASCADE, ALTER SOURCE … ADD SUBSOURCE … WITH (TEXT COLUMNS …) (upstream-schema-change-behavior), then what was built on it; <new>: an id known once it runs
-- ./jbang evolve --mz-url … (orders gained a column upstream)
DROP SOURCE materialize.public.orders CASCADE;
ALTER SOURCE materialize.public.mz_source ADD SUBSOURCE public.orders AS materialize.public.orders WITH (TEXT COLUMNS (public.orders.status));
CREATE VIEW "materialize"."public"."orders_per_customer" AS SELECT "customer_id", count(*) AS "n" FROM [<new> AS "materialize"."public"."orders"] GROUP BY 1;
CREATE MATERIALIZED VIEW "materialize"."public"."big_customers" IN CLUSTER [u1] AS SELECT * FROM [<new> AS "materialize"."public"."orders_per_customer"] WHERE "n" > 1;
CREATE INDEX "big_customers_idx" IN CLUSTER [u1] ON [<new> AS "materialize"."public"."big_customers"] ("customer_id");
