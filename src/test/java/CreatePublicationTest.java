import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/** Guide step A.2.2 against a real PostgreSQL: the catalog afterwards is what counts. */
class CreatePublicationTest {

    static List<String> published(String db, String pub) {
        return TestPg.rows(db, "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = '"
                + pub + "' ORDER BY 1").stream().map(r -> (String) r.get("t")).toList();
    }

    @Test
    void createsThenReportsAlreadyDone() {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        TestPg.Run first = TestPg.run(new CreatePublication(), env, "--table", "orders,customers");
        assertEquals(0, first.exit(), first.all());
        assertEquals(List.of("public.customers", "public.orders"), published(db, "mz_source"));
        assertTrue(first.out().contains("publication mz_source: created with 2 tables"), first.out());

        TestPg.Run second = TestPg.run(new CreatePublication(), env, "--table", "orders,customers");
        assertEquals(0, second.exit(), second.all());
        assertTrue(second.out().contains("already done"), second.out());
        assertEquals(List.of("public.customers", "public.orders"), published(db, "mz_source"));
    }
}
