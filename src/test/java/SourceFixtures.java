/**
 * Upstream fixtures for the C.3 tests: the lab's four tables published as mz_source (REPLICA IDENTITY
 * FULL, as after A.2.1/A.2.2), and a second publication mz_types whose columns need TEXT COLUMNS for
 * every reason there is: money, a domain, a composite type, an array of an enum, inet, an enum, odd
 * names (a schema with a space, a table with a quote, a unicode column), and a table name ("orders")
 * that two schemas share.
 */
final class SourceFixtures {
    static final String NEON_URL = "postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"
            + "?sslmode=require&channel_binding=require";

    static final String[] SETUP = {
        "ALTER TABLE customers REPLICA IDENTITY FULL",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
        "ALTER TABLE \"Order Items\" REPLICA IDENTITY FULL",
        "ALTER TABLE page_views REPLICA IDENTITY FULL",
        "CREATE PUBLICATION mz_source FOR TABLE customers, orders, \"Order Items\", page_views",
        "CREATE SCHEMA \"Sales Ops\"",
        "CREATE TYPE \"Sales Ops\".mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE DOMAIN \"Sales Ops\".positive_int AS integer CHECK (VALUE > 0)",
        "CREATE TYPE \"Sales Ops\".point3 AS (x float8, y float8, z float8)",
        "CREATE TABLE \"Sales Ops\".\"Invoice \"\"Q1\"\"\" (id bigint PRIMARY KEY, amount money NOT NULL, "
                + "qty \"Sales Ops\".positive_int, \"Ünïcode Spot\" \"Sales Ops\".point3, moods \"Sales Ops\".mood[], "
                + "tags text[], client inet, note text)",
        "ALTER TABLE \"Sales Ops\".\"Invoice \"\"Q1\"\"\" REPLICA IDENTITY FULL",
        "CREATE TABLE \"Sales Ops\".orders (id bigint PRIMARY KEY, status public.order_status, placed_on date)",
        "ALTER TABLE \"Sales Ops\".orders REPLICA IDENTITY FULL",
        "CREATE PUBLICATION mz_types FOR TABLE \"Sales Ops\".\"Invoice \"\"Q1\"\"\", \"Sales Ops\".orders, public.orders",
    };

    private SourceFixtures() {}

    /** A fresh copy of the lab database with both publications. */
    static String database() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, SETUP);
        return db;
    }
}
