import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.ConnInfo;
import neonmz.Exit;

/**
 * doctor against the lab: a good setup (made by the step commands themselves) passes; then each check is
 * proven by breaking that one thing in a fresh database. Odd names throughout: "Order Items", we"ird, a
 * mixed-case schema and table, and a role name with a capital and a quote.
 */
class DoctorTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String TABLES = "customers,orders,\"Order Items\",page_views,\"we\"\"ird\",\"Mixed Case\".\"CamelT\"";

    record Lab(String db, String role, Map<String, String> env) {
        TestPg.Run doctor(String... args) {
            String[] a = new String[args.length + 3];
            a[0] = "--role";
            a[1] = role;
            a[2] = "--json";
            System.arraycopy(args, 0, a, 3, args.length);
            return TestPg.run(new Doctor(), env, a);
        }
    }

    /** A database set up by the Neon-side steps, run in-process as a user would: A.2.1, A.2.2, A.2.3, A.2.4. */
    static Lab good() throws Exception {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "CREATE TABLE \"we\"\"ird\" (id int PRIMARY KEY, v text)",
                "CREATE SCHEMA \"Mixed Case\"", "CREATE TABLE \"Mixed Case\".\"CamelT\" (id int PRIMARY KEY, v text)");
        String role = "Doc\"tor_" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        Map<String, String> env = TestPg.env(db);
        Path pw = Files.createTempFile("neonmz-doctor", ".password");
        Files.delete(pw);
        for (String[] step : List.of(
                new String[] {"replica-identity", "--table", TABLES},
                new String[] {"publication", "--table", TABLES},
                new String[] {"replication-role", "--role", role, "--password-out", pw.toString()},
                new String[] {"grants", "--role", role, "--schema", "public", "--schema", "Mixed Case"})) {
            TestPg.Run r = TestPg.run(Commands.of(step[0]), env, java.util.Arrays.copyOfRange(step, 1, step.length));
            assertEquals(0, r.exit(), step[0] + ": " + r.all());
        }
        return new Lab(db, role, env);
    }

    static JsonObject check(TestPg.Run r, String id) {
        for (JsonElement e : r.json().getAsJsonArray("checks")) {
            if (e.getAsJsonObject().get("id").getAsString().equals(id)) {
                return e.getAsJsonObject();
            }
        }
        fail("no check " + id + " in " + r.out());
        return null;
    }

    static String status(TestPg.Run r, String id) {
        return check(r, id).get("status").getAsString();
    }

    static String sql(TestPg.Run r, String id) {
        return check(r, id).get("sql").toString();
    }

    @Test
    void aGoodSetupPassesAndChangesNothing() throws Exception {
        Lab lab = good();
        String before = TestPg.catalogState(lab.db());
        TestPg.Run r = lab.doctor();
        assertEquals(0, r.exit(), r.all());
        assertEquals(0, r.json().getAsJsonObject("counts").get("fail").getAsInt(), r.out());
        for (String id : List.of("direct_host", "wal_level", "wal_senders", "replication_slots", "publication",
                "publication_tables", "replica_identity", "partitions", "inheritance", "role_login", "role_replication",
                "role_connect", "role_usage", "role_select", "default_privileges", "row_level_security",
                "slot_wal_status", "long_transactions", "prepared_transactions", "exclusive_locks")) {
            assertEquals("PASS", status(r, id), id + ": " + check(r, id));
        }
        assertEquals("WARN", status(r, "ssl"));                       // the lab has no TLS: fine locally
        assertEquals("WARN", status(r, "max_slot_wal_keep_size"));    // the lab's default, -1
        // orders.status is an enum: TEXT COLUMNS
        assertEquals("WARN", status(r, "column_types"));
        assertTrue(sql(r, "column_types").contains("TEXT COLUMNS (public.orders.status)"), r.out());
        assertTrue(check(r, "publication_tables").get("detail").getAsString().contains("\"Mixed Case\".\"CamelT\""));
        assertEquals(before, TestPg.catalogState(lab.db()));

        TestPg.Run human = TestPg.run(new Doctor(), lab.env(), "--role", lab.role());
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().matches("(?s).*PASS  wal_level +logical\n.*"), human.out());
        assertTrue(human.out().contains("fix: ./jbang source adds them as TEXT COLUMNS"), human.out());
        assertTrue(human.out().contains("doctor: "), human.out());
    }
}
