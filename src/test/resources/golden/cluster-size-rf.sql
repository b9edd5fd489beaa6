-- materialize.md C.1: SIZE and REPLICATION FACTOR; odd name quoted
-- ./jbang cluster --name 'Ingest PG' --size M.1-small --replication-factor 2 --dry-run
CREATE CLUSTER "Ingest PG" (SIZE = 'M.1-small', REPLICATION FACTOR = 2);
