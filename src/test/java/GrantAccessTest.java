import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;

import neonmz.Exit;

/** Guide step A.2.4: the grants, and the check Materialize makes afterwards on every published table. */
class GrantAccessTest {

    @Test
    void grantsThenVerifiesEveryPublishedTable() {
        String db = TestPg.newDatabase();
        String role = "mz_grants_" + ProcessHandle.current().pid();
        TestPg.exec("postgres", "DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        Map<String, String> env = TestPg.env(db);
        TestPg.execAsOwner(db, "CREATE PUBLICATION mz_source FOR TABLE customers, orders, \"Order Items\", page_views");

        TestPg.Run first = TestPg.run(new GrantAccess(), env, "--role", role, "--json");
        assertEquals(Exit.OK, first.exit(), first.all());
        JsonObject j = first.json();
        assertEquals(4, j.get("verified_tables").getAsInt());
        assertEquals(0, j.getAsJsonArray("unreadable_tables").size());
        // USAGE on public is PUBLIC's already (PostgreSQL 15+): SELECT on all tables and the default privilege.
        assertEquals(2, j.get("granted").getAsInt());

        TestPg.Run again = TestPg.run(new GrantAccess(), env, "--role", role);
        assertEquals(Exit.OK, again.exit(), again.all());
        assertTrue(again.out().contains("verified: " + role + " can read all 4 tables of publication mz_source"), again.out());
        assertTrue(again.out().contains("grants: already done"), again.out());

        // A published table in a schema the role was not granted: named (quoted as SQL would) and exit 9.
        TestPg.execAsOwner(db, "CREATE SCHEMA sales", "CREATE TABLE sales.\"We ird\" (id int PRIMARY KEY)",
                "ALTER PUBLICATION mz_source ADD TABLE sales.\"We ird\"");
        TestPg.Run unreadable = TestPg.run(new GrantAccess(), env, "--role", role);
        assertEquals(Exit.VERIFY, unreadable.exit(), unreadable.all());
        assertTrue(unreadable.err().contains("cannot read 1 table(s) of publication mz_source: sales.\"We ird\""),
                unreadable.err());

        TestPg.Run fixed = TestPg.run(new GrantAccess(), env, "--role", role, "--schema", "public", "--schema", "sales");
        assertEquals(Exit.OK, fixed.exit(), fixed.all());
        assertTrue(fixed.out().contains("can read all 5 tables"), fixed.out());
    }

    @Test
    void missingSchemaIsNamed() {
        String db = TestPg.newDatabase();
        String role = "mz_grants_" + ProcessHandle.current().pid();
        TestPg.exec("postgres", "DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        TestPg.Run r = TestPg.run(new GrantAccess(), TestPg.env(db), "--role", role, "--schema", "nope");
        assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
        assertTrue(r.err().contains("schema not found: nope"), r.err());
    }
}
