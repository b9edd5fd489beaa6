-- materialize.md C.2: WITH (VALIDATE = false); --replace drops and re-creates
-- ./jbang connection --pg-url 'postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require' --replace --no-validate --dry-run
CREATE SECRET IF NOT EXISTS pgpass AS '********';
DROP CONNECTION IF EXISTS pg_connection;
CREATE CONNECTION pg_connection TO POSTGRES (HOST 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'require', DATABASE 'neondb') WITH (VALIDATE = false);
