import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import neonmz.Exit;

/**
 * Issue #14, part 1: every Neon-side step that changes something, with each fault injected while the step
 * is inside its transaction. Another session holds a lock the step needs, so the step blocks at a known
 * statement (pg_stat_activity shows it waiting on a Lock); then the fault: its backend terminated, the
 * server stopped (immediate, fast), the script's JVM signalled (SIGINT, SIGTERM); or the database set up
 * to fail it (lock_timeout, statement_timeout, default_transaction_read_only). Each case asserts the error
 * (one line, a fix, the exit code of the README's table), the catalog in the before state or a whole-batch
 * state (never half a batch), and that the same command run again finishes with exit 0.
 * The table of outcomes is docs/fault-matrix.md.
 */
@Tag("faults")
class FaultMatrixTest {
    static final AtomicInteger N = new AtomicInteger();
    static final Map<String, AtomicInteger> INJECTED = new java.util.TreeMap<>();
    static final AtomicInteger RERUNS = new AtomicInteger();
    static Lab.Server dedicated;
    static final Map<String, String> DURABLE = Map.of("fsync", "on", "synchronous_commit", "on", "full_page_writes", "on");
    static final Path TMP = tmp();

    static Path tmp() {
        try {
            return Files.createTempDirectory("neonmz-fm");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    enum Fault {
        TERMINATE(Exit.CONNECT, "the connection was lost"),
        LOCK_TIMEOUT(Exit.BUSY, "could not get a lock"),
        STATEMENT_TIMEOUT(Exit.TIMEOUT, "the statement was cancelled"),
        READ_ONLY(Exit.READ_ONLY, "the server accepts only reads"),
        STOP_IMMEDIATE(Exit.CONNECT, "the connection was lost"),
        STOP_FAST(Exit.CONNECT, "the connection was lost"),
        SIGINT(130, "stopped by a signal"),
        SIGTERM(143, "stopped by a signal");

        final int exit;
        final String message;

        Fault(int exit, String message) {
            this.exit = exit;
            this.message = message;
        }

        boolean stops() {
            return this == STOP_IMMEDIATE || this == STOP_FAST;
        }

        boolean signal() {
            return this == SIGINT || this == SIGTERM;
        }

        /** Faults that need the step waiting at the held lock before they are injected. */
        boolean afterWait() {
            return this == TERMINATE || stops() || signal();
        }
    }

    /** A step: how to prepare a database for it, its arguments, and the lock that stops it mid-transaction. */
    record Step(String alias, String main, String blocker) {
        String[] args(String role, Fault f) {
            return switch (alias) {
                // batches of 2 in name order: the lock on a3 stops batch 2 of 3 after its first ALTER
                case "replica-identity" -> new String[] {"--schema", "fm", "--batch-size", "2", "--lock-timeout",
                        f == Fault.LOCK_TIMEOUT ? "300ms" : "0"};
                case "publication" -> new String[] {"--schema", "fm"};
                case "replication-role" -> new String[] {"--role", role, "--password-out",
                        TMP.resolve(role + "-" + N.incrementAndGet() + ".password").toString()};
                case "grants" -> new String[] {"--role", role, "--schema", "fm"};
                case "teardown" -> new String[] {"--upstream-only", "--role", role, "--schema", "fm", "--yes"};
                // the Neon half of the guide in one run (the Materialize half needs a Materialize)
                case "runbook" -> new String[] {"--tables", "fm.a1,fm.a2,fm.a3,fm.a4,fm.a5,fm.a6", "--role", role,
                        "--password-file", TMP.resolve(role + ".password").toString(), "--to", "grants", "--emulator", "never"};
                default -> throw new IllegalArgumentException(alias);
            };
        }
    }

    static final List<Step> STEPS = List.of(
            new Step("replica-identity", "ReplicaIdentity", "LOCK TABLE fm.a3 IN ACCESS SHARE MODE"),
            // CREATE PUBLICATION writes pg_publication, then a pg_publication_rel row per table: blocked there
            new Step("publication", "CreatePublication", "LOCK TABLE pg_catalog.pg_publication_rel IN SHARE MODE"),
            new Step("replication-role", "CreateReplicationRole", "LOCK TABLE pg_catalog.pg_authid IN SHARE MODE"),
            // GRANT USAGE and GRANT SELECT done, ALTER DEFAULT PRIVILEGES (the last) blocked
            new Step("grants", "GrantAccess", "LOCK TABLE pg_catalog.pg_default_acl IN SHARE MODE"),
            // DROP PUBLICATION, the REVOKEs done, DROP ROLE (the last) blocked
            new Step("teardown", "Teardown", "LOCK TABLE pg_catalog.pg_authid IN SHARE MODE"),
            // A.1 and A.2.1 done (all six tables in one batch), A.2.2's CREATE PUBLICATION blocked as above
            new Step("runbook", "Runbook", "LOCK TABLE pg_catalog.pg_publication_rel IN SHARE MODE"));

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (Step s : STEPS) {
            for (Fault f : Fault.values()) {
                a.add(Arguments.of(s.alias(), f));
            }
        }
        return a.stream();
    }

    @AfterAll
    static void counts() {
        System.out.println("FaultMatrixTest: faults injected " + INJECTED + ", re-runs completed " + RERUNS);
        if (dedicated != null) {
            dedicated.stopQuietly();
        }
    }

    static synchronized Lab.Server dedicated() {
        if (dedicated == null) {
            // the lab trades durability for speed (fsync, synchronous_commit off): an immediate stop would lose
            // committed transactions, which is the lab's choice, not a step's fault
            dedicated = TestPg.startServer(DURABLE);
        }
        return dedicated;
    }

    @ParameterizedTest(name = "{0} × {1}")
    @MethodSource("cases")
    void faultThenRerun(String alias, Fault fault) throws Exception {
        Step step = STEPS.stream().filter(s -> s.alias().equals(alias)).findFirst().orElseThrow();
        Lab.Server srv = fault.stops() ? dedicated() : TestPg.server();
        String db = newDatabase(srv);
        String role = "fm_role_" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        prepare(srv, db, alias, role);
        Map<String, String> env = TestPg.env(srv, db);
        String before = state(srv, db, role);

        Connection holder = Lab.Server.open(srv.superConn(db));
        holder.setAutoCommit(false);
        try (Statement s = holder.createStatement()) {
            s.execute(step.blocker());
        }
        // for the step's sessions only (the holder's began before)
        switch (fault) {
            case LOCK_TIMEOUT -> exec(srv, db, "ALTER DATABASE " + db + " SET lock_timeout = '300ms'");
            case STATEMENT_TIMEOUT -> exec(srv, db, "ALTER DATABASE " + db + " SET statement_timeout = '500ms'");
            case READ_ONLY -> exec(srv, db, "ALTER DATABASE " + db + " SET default_transaction_read_only = on");
            default -> { }
        }
        TestPg.Run r;
        try {
            r = fault.signal() ? signalled(step, fault, env, step.args(role, fault), srv, db)
                    : inProcess(step, fault, env, step.args(role, fault), srv, db);
        } finally {
            try {
                holder.rollback();
                holder.close();
            } catch (SQLException gone) {
                // the server was stopped under it
            }
        }
        INJECTED.computeIfAbsent(fault.name(), k -> new AtomicInteger()).incrementAndGet();
        if (fault.stops()) {
            srv.start(srv.port(), DURABLE, null);
        }
        exec(srv, db, "SET default_transaction_read_only = off", "ALTER DATABASE " + db + " RESET ALL");
        waitForNoOtherSession(srv, db);

        String context = alias + " × " + fault + ":\n" + r.all();
        assertEquals(fault.exit, r.exit(), context);
        assertTrue(r.err().contains("error: ") && r.err().contains(fault.message), context);
        assertTrue(r.err().contains("  fix: "), context);
        assertFalse(r.err().contains("unexpected") || r.err().contains("this may be a bug"), context);
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("error: ")).count(), "one error line: " + context);

        String mid = state(srv, db, role);
        TestPg.Run again = TestPg.run(Commands.of(alias), env, step.args(role, Fault.TERMINATE));
        assertEquals(Exit.OK, again.exit(), "re-run after " + context + "\nre-run:\n" + again.all());
        RERUNS.incrementAndGet();
        String after = state(srv, db, role);
        assertNotEquals(before, after, "the re-run did the step: " + context);
        if (alias.equals("replica-identity")) {
            // batch 1 (a1, a2) committed, batch 2 (a3, a4) rolled back as a whole, batch 3 never ran
            assertTrue(mid.equals(before) || mid.equals(riState(before, 2)), "half a batch: " + mid + "\n" + context);
        } else if (alias.equals("runbook")) {
            // whole steps only: nothing, or A.2.1 (one batch of six) with A.2.2 rolled back
            assertTrue(mid.equals(before) || mid.equals(riState(before, 6)), "half a step: " + mid + "\n" + context);
        } else {
            assertTrue(mid.equals(before) || mid.equals(after), "neither before nor after:\n" + mid + "\n" + context);
        }
        assertEquals(after, state(srv, db, role));
        TestPg.Run third = TestPg.run(Commands.of(alias), env, step.args(role, Fault.TERMINATE));
        assertEquals(Exit.OK, third.exit(), third.all());
        assertTrue(third.out().contains("already done"), third.out());
    }

    /** The step in this JVM; the fault injected once it waits for the held lock. */
    static TestPg.Run inProcess(Step step, Fault fault, Map<String, String> env, String[] args, Lab.Server srv,
                                String db) throws Exception {
        CompletableFuture<TestPg.Run> run = CompletableFuture.supplyAsync(() -> TestPg.run(Commands.of(step.alias()), env, args));
        if (fault.afterWait()) {
            int pid = waitingBackend(srv, db, run);
            switch (fault) {
                case TERMINATE -> exec(srv, "postgres", "SELECT pg_terminate_backend(" + pid + ")");
                case STOP_IMMEDIATE -> srv.pgCtl(List.of("stop", "-D", srv.data().toString(), "-m", "immediate", "-w"), true);
                case STOP_FAST -> srv.pgCtl(List.of("stop", "-D", srv.data().toString(), "-m", "fast", "-w"), true);
                default -> throw new IllegalStateException(fault.name());
            }
        }
        return run.get(60, TimeUnit.SECONDS);
    }

    /** The step's own main in a child JVM, signalled once it waits for the held lock. */
    static TestPg.Run signalled(Step step, Fault fault, Map<String, String> env, String[] args, Lab.Server srv,
                                String db) throws Exception {
        // a JVM started with SIGINT ignored (a background job of a script) would ignore Ctrl-C: reset it (coreutils env)
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), step.main()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.equals("DATABASE_URL"));
        pb.environment().putAll(env);
        Path out = Files.createTempFile("fm-out", ".txt");
        Path err = Files.createTempFile("fm-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try {
            waitingBackend(srv, db, p.onExit().thenApply(x -> null));
            if (fault == Fault.SIGTERM) {
                p.destroy();
            } else {
                new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).inheritIO().start().waitFor();
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not exit");
            return new TestPg.Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The step's backend, once it waits for a lock (it is the only session of ours in the database). */
    static int waitingBackend(Lab.Server srv, String db, CompletableFuture<?> run) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < until) {
            if (run.isDone()) {
                fail("the step ended before it reached the held lock: " + (run.isCompletedExceptionally() ? "" : run.get()));
            }
            List<Map<String, Object>> w = TestPg.rows(srv, "postgres", "SELECT pid FROM pg_stat_activity WHERE datname = '"
                    + db + "' AND wait_event_type = 'Lock' AND application_name = 'neonmz'");
            if (!w.isEmpty()) {
                return (Integer) w.get(0).get("pid");
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the step never waited for the held lock");
    }

    /** A killed client's backend lives on until it next talks to it: wait until it has gone. */
    static void waitForNoOtherSession(Lab.Server srv, String db) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            if (TestPg.rows(srv, "postgres", "SELECT 1 FROM pg_stat_activity WHERE datname = '" + db
                    + "' AND application_name = 'neonmz'").isEmpty()) {
                return;
            }
            Thread.sleep(20);
        }
        fail("a session of the step is still there");
    }

    static String newDatabase(Lab.Server srv) {
        String name = "fm" + ProcessHandle.current().pid() + "_" + N.incrementAndGet();
        exec(srv, "postgres", "CREATE DATABASE " + name + " TEMPLATE neondb OWNER neondb_owner");
        return name;
    }

    /** Six tables a1 … a6 in schema fm (owner neondb_owner), and what the step needs to exist before it. */
    static void prepare(Lab.Server srv, String db, String alias, String role) throws IOException {
        List<String> sqls = new ArrayList<>(List.of("CREATE SCHEMA fm AUTHORIZATION neondb_owner"));
        for (int i = 1; i <= 6; i++) {
            sqls.add("CREATE TABLE fm.a" + i + " (id int PRIMARY KEY, v text)");
            sqls.add("ALTER TABLE fm.a" + i + " OWNER TO neondb_owner");
        }
        if (alias.equals("grants") || alias.equals("teardown")) {
            sqls.add("SET ROLE neondb_owner");   // the owner administers the role it made (PostgreSQL 16+), as on Neon
            sqls.add("CREATE ROLE " + role + " LOGIN REPLICATION");
            sqls.add("CREATE PUBLICATION mz_source FOR TABLE fm.a1, fm.a2, fm.a3, fm.a4, fm.a5, fm.a6");
            sqls.add("RESET ROLE");
        }
        exec(srv, db, sqls.toArray(String[]::new));
        if (alias.equals("teardown")) {
            TestPg.Run g = TestPg.run(new GrantAccess(), TestPg.env(srv, db), "--role", role, "--schema", "fm");
            assertEquals(0, g.exit(), g.all());
        }
    }

    /** Everything a Neon-side step changes (TestPg.catalogState), roles narrowed to the case's own. */
    static String state(Lab.Server srv, String db, String role) {
        String all = TestPg.catalogState(srv, db);
        return all.replaceAll("\\{rolname=(?!" + role + "|neondb_owner)[^}]*\\}(, )?", "");
    }

    /** The replica-identity state with the first n tables of fm FULL. */
    static String riState(String before, int n) {
        String s = before;
        for (int i = 1; i <= n; i++) {
            s = s.replace("{nspname=fm, relname=a" + i + ", relreplident=d}", "{nspname=fm, relname=a" + i + ", relreplident=f}");
        }
        return s;
    }

    static void exec(Lab.Server srv, String db, String... sqls) {
        TestPg.exec(srv, db, sqls);
    }
}
