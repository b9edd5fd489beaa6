import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Exit;

/** loadgen on the lab's demo shop: what it says it did is what the tables show, and FKs never fail. */
class LoadGenTest {
    static final String[] TABLES = {"customers", "orders", "\"Order Items\"", "page_views"};

    static Map<String, Long> counts(String db) {
        Map<String, Long> m = new HashMap<>();
        for (String t : TABLES) {
            m.put("public." + t.replace("\"", ""), (Long) TestPg.rows(db, "SELECT count(*) AS n FROM " + t).get(0).get("n"));
        }
        return m;
    }

    static String dump(String db) {
        StringBuilder b = new StringBuilder();
        for (String t : TABLES) {
            b.append(TestPg.rows(db, "SELECT * FROM " + t + " ORDER BY 1, 2")).append('\n');
        }
        return b.toString();
    }

    @Test
    void countsAddUpAndDeletesRespectForeignKeys() {
        String db = TestPg.newDatabase();
        Map<String, Long> before = counts(db);
        TestPg.Run r = TestPg.run(new LoadGen(), TestPg.env(db), "--count", "120", "--rate", "0", "--batch", "9",
                "--mix", "insert=40,update=20,delete=40", "--seed", "11", "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals(120, j.get("changes").getAsLong());
        assertEquals(120, j.get("insert").getAsLong() + j.get("update").getAsLong() + j.get("delete").getAsLong());
        assertTrue(j.get("delete").getAsLong() > 20, j.toString());
        assertTrue(j.get("transactions").getAsLong() >= 14, j.toString());   // 9 statements each (a skipped attempt is one too)
        Map<String, Long> after = counts(db);
        for (JsonElement e : j.getAsJsonArray("tables")) {
            JsonObject t = e.getAsJsonObject();
            String name = t.get("table").getAsString();
            assertEquals(before.get(name) + t.get("insert").getAsLong() - t.get("delete").getAsLong(), after.get(name), name);
            assertEquals(after.get(name), t.get("rows").getAsLong(), name);
        }
        // every foreign key still holds (they are enforced, so a bad delete would have failed the run)
        assertEquals(0L, TestPg.rows(db, "SELECT count(*) AS n FROM \"Order Items\" i LEFT JOIN orders o ON o.id = i.order_id "
                + "WHERE o.id IS NULL").get(0).get("n"));
    }

    @Test
    void theSameSeedMakesTheSameChanges() {
        String a = TestPg.newDatabase();
        String b = TestPg.newDatabase();
        for (String db : List.of(a, b)) {
            TestPg.Run r = TestPg.run(new LoadGen(), TestPg.env(db), "--count", "40", "--rate", "0", "--seed", "42");
            assertEquals(Exit.OK, r.exit(), r.all());
            assertTrue(r.out().contains("loadgen: 40 changes ("), r.out());
            assertTrue(r.out().contains("table                 insert  update  delete  skipped  rows"), r.out());
        }
        assertEquals(dump(a), dump(b));
    }

    @Test
    void rateAndDuration() {
        String db = TestPg.newDatabase();
        long t0 = System.nanoTime();
        TestPg.Run r = TestPg.run(new LoadGen(), TestPg.env(db), "--rate", "40", "--for", "1s", "--json");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Exit.OK, r.exit(), r.all());
        long n = r.json().get("changes").getAsLong();
        // paced, not timed: about rate x duration (a stalled tick catches up, so a little over is allowed)
        assertTrue(n >= 10 && n <= 50, "changes: " + n);
        assertTrue(ms < 10000, "--for 1s stops: took " + ms);
    }

    @Test
    void dryRunAndBadOptions() {
        String db = TestPg.newDatabase();
        String before = dump(db);
        TestPg.Run d = TestPg.run(new LoadGen(), TestPg.env(db), "--dry-run");
        assertEquals(Exit.OK, d.exit(), d.all());
        assertTrue(d.out().contains("INSERT INTO public.\"Order Items\" (order_id, line, sku, quantity, unit_price, attributes) "
                + "SELECT p1.id, (SELECT coalesce(max(line), 0) + 1 FROM public.\"Order Items\")"), d.out());
        assertTrue(d.out().contains("DELETE FROM public.orders WHERE ctid = (SELECT x.ctid FROM public.orders AS x WHERE "
                + "NOT EXISTS (SELECT 1 FROM \"Order Items\" AS c WHERE (c.order_id) = (x.id))"), d.out());
        assertEquals(before, dump(db));
        TestPg.Run bad = TestPg.run(new LoadGen(), TestPg.env(db), "--mix", "insert=1,upsert=2");
        assertEquals(Exit.USAGE, bad.exit(), bad.all());
        assertTrue(bad.err().contains("--mix: 'upsert=2' is not KIND=WEIGHT"), bad.err());
        TestPg.Run missing = TestPg.run(new LoadGen(), TestPg.env(db), "--tables", "nope", "--count", "1");
        assertEquals(Exit.NOT_FOUND, missing.exit(), missing.all());
    }

    @Test
    void oddTableNames() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db,
                "CREATE SCHEMA \"Mixed Schéma\"",
                "CREATE TYPE \"Mixed Schéma\".\"Mood\" AS ENUM ('ok', 'we''ll see')",
                "CREATE TABLE \"Mixed Schéma\".\"we\"\"ird\" (id int PRIMARY KEY, \"Größe\" numeric(4,1), m \"Mixed Schéma\".\"Mood\" NOT NULL, "
                        + "u uuid, d date, b boolean, j json)",
                "CREATE TABLE \"Mixed Schéma\".\"Child\" (id serial PRIMARY KEY, parent int NOT NULL REFERENCES \"Mixed Schéma\".\"we\"\"ird\", "
                        + "label varchar(5) NOT NULL)");
        String tables = "\"Mixed Schéma\".\"we\"\"ird\",\"Mixed Schéma\".\"Child\"";
        TestPg.Run r = TestPg.run(new LoadGen(), TestPg.env(db), "--tables", tables, "--count", "60", "--rate", "0", "--json");
        assertEquals(Exit.OK, r.exit(), r.all());
        assertEquals(60, r.json().get("changes").getAsLong());
        assertEquals("Mixed Schéma.we\"ird", r.json().getAsJsonArray("tables").get(0).getAsJsonObject().get("table").getAsString());
        assertTrue((Long) TestPg.rows(db, "SELECT count(*) AS n FROM \"Mixed Schéma\".\"Child\"").get(0).get("n") > 0);
    }
}
