-- materialize.md C.2 + Running Materialize yourself: the lab seen from the emulator's container; sslmode=disable kept
-- ./jbang connection --pg-url 'postgresql://neondb_owner@127.0.0.1:5432/neondb?sslmode=disable' --upstream-host host.docker.internal --dry-run
CREATE SECRET IF NOT EXISTS pgpass AS '********';
CREATE CONNECTION pg_connection TO POSTGRES (HOST 'host.docker.internal', PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'disable', DATABASE 'neondb');
