-- materialize.md C.1: CREATE CLUSTER ingest_postgres (SIZE = '50cc')
-- ./jbang cluster --dry-run
CREATE CLUSTER ingest_postgres (SIZE = '50cc');
