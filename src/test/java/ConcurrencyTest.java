import static org.junit.jupiter.api.Assertions.*;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/**
 * Issue #14, part 2: two runs of a step (and two runbooks) at once against one database both end
 * correctly, or one refuses with a clear message; nothing is done twice wrongly. The races are forced: a
 * lock held on the catalog table both runs write stops both inside their CREATE, then is released.
 */
class ConcurrencyTest {

    static List<TestPg.Run> both(String holdSql, String db, Map<String, String> env, String alias, String[]... args)
            throws Exception {
        try (Connection holder = TestPg.superConn(db); Statement s = holder.createStatement()) {
            holder.setAutoCommit(false);
            if (holdSql != null) {
                s.execute(holdSql);
            }
            CompletableFuture<TestPg.Run> a = CompletableFuture.supplyAsync(() -> TestPg.run(Commands.of(alias), env, args[0]));
            CompletableFuture<TestPg.Run> b = CompletableFuture.supplyAsync(() -> TestPg.run(Commands.of(alias), env, args[1]));
            if (holdSql != null) {
                waitForWaiters(db, 2, a, b);
            }
            holder.rollback();
            return List.of(a.get(120, TimeUnit.SECONDS), b.get(120, TimeUnit.SECONDS));
        }
    }

    static void waitForWaiters(String db, int n, CompletableFuture<?>... runs) throws Exception {
        for (int i = 0; i < 3000; i++) {
            long w = (Long) TestPg.rows("postgres", "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '" + db
                    + "' AND wait_event_type = 'Lock' AND application_name = 'neonmz'").get(0).get("n");
            if (w >= n) {
                return;
            }
            for (CompletableFuture<?> r : runs) {
                if (r.isDone()) {
                    return;   // one finished first (it did not need the lock): the race is still real
                }
            }
            Thread.sleep(10);
        }
        fail("the runs never waited for the held lock");
    }

    static void bothOk(List<TestPg.Run> runs) {
        for (TestPg.Run r : runs) {
            assertEquals(Exit.OK, r.exit(), r.all());
            assertFalse(r.err().contains("error:"), r.all());
        }
    }

    @Test
    void twoReplicaIdentityRunsOnTheSameTables() throws Exception {
        String db = TestPg.emptyDatabase();
        ReplicaIdentityTest.createTables(db, 60);
        String[] args = {"--schema", "public", "--batch-size", "7", "--lock-timeout", "0"};
        // both wait on the first table, then take turns batch by batch (the ALTERs lock in the same order)
        bothOk(both("LOCK TABLE public.t00001 IN ACCESS SHARE MODE", db, TestPg.env(db), "replica-identity", args, args));
        assertEquals(60, ReplicaIdentityTest.full(db, "t00001", "t00060"));
    }

    @Test
    void twoPublicationRunsCreateItOnce() throws Exception {
        String db = TestPg.newDatabase();
        String[] args = {"--schema", "public"};
        List<TestPg.Run> runs = both("LOCK TABLE pg_catalog.pg_publication_rel IN SHARE MODE", db, TestPg.env(db),
                "publication", args, args);
        bothOk(runs);
        assertTrue(runs.stream().anyMatch(r -> r.out().contains("created meanwhile by another session")),
                "the race happened: " + runs);
        assertEquals(List.of(Map.of("n", 4L)), TestPg.rows(db, "SELECT count(*) AS n FROM pg_publication_tables "
                + "WHERE pubname = 'mz_source'"));
    }

    @Test
    void twoReplicationRoleRunsCreateItOnce() throws Exception {
        String db = TestPg.newDatabase();
        String role = "cc_role_" + ProcessHandle.current().pid();
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("neonmz-cc");
        List<TestPg.Run> runs = both("LOCK TABLE pg_catalog.pg_authid IN SHARE MODE", db, TestPg.env(db),
                "replication-role", new String[] {"--role", role, "--password-out", dir.resolve("a").toString()},
                new String[] {"--role", role, "--password-out", dir.resolve("b").toString()});
        bothOk(runs);
        // exactly one run made it and holds its password; the other says it was made meanwhile
        assertEquals(1, runs.stream().filter(r -> r.out().contains("created meanwhile by another session")).count(),
                runs.toString());
        assertEquals(1, java.util.stream.Stream.of("a", "b").filter(f -> java.nio.file.Files.exists(dir.resolve(f))).count());
    }

    /** Two runbooks at once: each ends with exit 0, or one stops with BUSY and a re-run finishes it. */
    @Test
    void twoRunbooksAgainstOneDatabase() throws Exception {
        RunbookTest.Db d = RunbookTest.db();
        List<TestPg.Run> runs = both(null, d.name(), d.env(), "runbook", d.args(), d.args());
        for (TestPg.Run r : runs) {
            assertTrue(r.exit() == Exit.OK || r.exit() == Exit.BUSY, r.all());
            assertFalse(r.all().contains("unexpected") || r.all().contains("this may be a bug"), r.all());
            if (r.exit() == Exit.BUSY) {
                assertTrue(r.err().contains("  fix: "), r.err());
            }
        }
        TestPg.Run again = TestPg.run(new Runbook(), d.env(), d.args("--json"));
        assertEquals(Exit.OK, again.exit(), again.all());
        for (String alias : RunbookTest.NEON_STEPS) {
            assertEquals("already done", RunbookTest.results(again.json()).get(alias), alias);
        }
    }
}
