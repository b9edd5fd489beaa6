-- materialize.md C.1-C.3 undone in reverse (docs: DROP SOURCE/CONNECTION/SECRET/CLUSTER [IF EXISTS] name [CASCADE]): the plan from the names when Materialize is not reachable
-- ./jbang teardown --materialize-only --mz-url postgresql://materialize@127.0.0.1:1/materialize --dry-run
-- reviewed: materialize.md has no DROP text; syntax from the docs page sql/drop-source (IF EXISTS, CASCADE drops dependents, RESTRICT is the default); CASCADE only after the dependents check
DROP SOURCE IF EXISTS mz_source CASCADE;
DROP CONNECTION IF EXISTS pg_connection;
DROP SECRET IF EXISTS pgpass;
DROP CLUSTER IF EXISTS ingest_postgres;
