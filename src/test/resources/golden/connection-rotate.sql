-- materialize.md C.2: ALTER SECRET name AS value, then VALIDATE CONNECTION
-- ./jbang connection --pg-url 'postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require' --rotate --dry-run
ALTER SECRET pgpass AS '********';
VALIDATE CONNECTION pg_connection;
