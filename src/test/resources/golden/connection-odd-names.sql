-- materialize.md C.2: names quoted as identifiers, values as literals
-- ./jbang connection --pg-url 'postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech:5433/Shop%20DB?sslmode=require' --secret 'Neon PW' --connection 'pg "prod"' --role 'Mz Ingest' --dry-run
CREATE SECRET IF NOT EXISTS "Neon PW" AS '********';
CREATE CONNECTION "pg ""prod""" TO POSTGRES (HOST 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', PORT 5433, USER 'Mz Ingest', PASSWORD SECRET "Neon PW", SSL MODE 'require', DATABASE 'Shop DB');
