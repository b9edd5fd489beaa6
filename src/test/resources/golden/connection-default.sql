-- materialize.md C.2: CREATE SECRET + CREATE CONNECTION (validates itself); Neon host → SSL MODE 'require'; channel_binding dropped
-- ./jbang connection --pg-url 'postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require' --dry-run
CREATE SECRET IF NOT EXISTS pgpass AS '********';
CREATE CONNECTION pg_connection TO POSTGRES (HOST 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'require', DATABASE 'neondb');
