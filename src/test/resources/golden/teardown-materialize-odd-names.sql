-- as teardown-materialize, names quoted as identifiers
-- ./jbang teardown --materialize-only --mz-url postgresql://materialize@127.0.0.1:1/materialize --source 'Sales Source' --connection 'pg "prod"' --secret 'Neon PW' --cluster 'Ingest PG' --dry-run
-- reviewed: materialize.md has no DROP text; syntax from the docs page sql/drop-source (IF EXISTS, CASCADE drops dependents, RESTRICT is the default); CASCADE only after the dependents check
DROP SOURCE IF EXISTS "Sales Source" CASCADE;
DROP CONNECTION IF EXISTS "pg ""prod""";
DROP SECRET IF EXISTS "Neon PW";
DROP CLUSTER IF EXISTS "Ingest PG";
