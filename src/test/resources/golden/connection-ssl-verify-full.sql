-- materialize.md C.2: SSL MODE verify_full (libpq's verify-full spelled Materialize's way)
-- ./jbang connection --pg-url 'postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require' --ssl-mode verify-full --dry-run
CREATE SECRET IF NOT EXISTS pgpass AS '********';
CREATE CONNECTION pg_connection TO POSTGRES (HOST 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'verify_full', DATABASE 'neondb');
