-- materialize.md C.2: no sslmode given, local host → SSL MODE 'disable' (prefer is not a Materialize mode)
-- ./jbang connection --pg-url postgresql://neondb_owner@localhost/neondb --dry-run
CREATE SECRET IF NOT EXISTS pgpass AS '********';
CREATE CONNECTION pg_connection TO POSTGRES (HOST 'localhost', PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'disable', DATABASE 'neondb');
