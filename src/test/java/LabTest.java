import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import neonmz.ConnInfo;
import neonmz.Exit;

/**
 * The lab from other shells: a foreground `lab start` keeps running until `lab stop` is run by another
 * process; `lab status` and `lab url` answer from another process too. Real JVMs, real PostgreSQL.
 */
class LabTest {

    static Path labDir() throws IOException {
        Path base = Lab.Server.isRoot() ? Path.of("/var/tmp") : Path.of("target");
        Files.createDirectories(base);
        Path dir = Files.createTempDirectory(base, "neonmz-labtest-");
        if (Lab.Server.isRoot()) {
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir;
    }

    static ProcessBuilder lab(Path dir, int port, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "Lab"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("NEONMZ_LAB_DIR", dir.toString());
        pb.environment().put("NEONMZ_LAB_PORT", String.valueOf(port));
        pb.environment().put("NO_COLOR", "1");
        pb.redirectErrorStream(true);
        return pb;
    }

    static String output(Process p) throws Exception {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "process did not end");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void foregroundLabRunsUntilStoppedFromAnotherShell() throws Exception {
        Path dir = labDir();
        int port = TestPg.freePort();
        try {
            Process fg = lab(dir, port, "start").start();
            // wait for it to come up, as a user would in a second terminal
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int status;
            String out;
            do {
                Thread.sleep(300);
                Process st = lab(dir, port, "status").start();
                out = output(st);
                status = st.exitValue();
            } while (status != 0 && System.nanoTime() < deadline && fg.isAlive());
            assertEquals(0, status, out);
            assertTrue(out.contains("127.0.0.1:" + port), out);
            assertTrue(fg.isAlive(), "the foreground lab keeps running");

            Process url = lab(dir, port, "url").start();
            assertEquals("postgresql://neondb_owner@127.0.0.1:" + port + "/neondb?sslmode=disable", output(url).strip());

            // the lab is a real server: the owner can log in with the password from the lab's PGPASSFILE
            TestPg.Run check = TestPg.run(new CheckLogicalReplication(), Map.of(
                    "DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:" + port + "/neondb?sslmode=disable",
                    "PGPASSFILE", dir.resolve("pgpass").toString()), "--json");
            assertEquals(0, check.exit(), check.all());
            assertEquals("logical", check.json().get("wal_level").getAsString());

            Process stop = lab(dir, port, "stop").start();
            assertTrue(output(stop).contains("lab: stopped"));
            assertTrue(fg.waitFor(30, TimeUnit.SECONDS), "the foreground lab ends when stopped from elsewhere");
            String fgOut = new String(fg.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, fg.exitValue(), fgOut);
            assertTrue(fgOut.contains("lab: stopped"), fgOut);

            Process after = lab(dir, port, "status").start();
            String afterOut = output(after);
            assertEquals(Exit.CONNECT, after.exitValue(), afterOut);
            assertTrue(afterOut.contains("not running"), afterOut);
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    @Test
    void demoLeavesNothingRunningAndSecondRunIsAlreadyDone() throws Exception {
        Path dir = labDir();
        int port = TestPg.freePort();
        try {
            Map<String, String> env = Map.of("NEONMZ_LAB_DIR", dir.toString(), "NEONMZ_LAB_PORT", String.valueOf(port));
            TestPg.Run first = TestPg.run(new Lab(), env, "demo", "--json");
            assertEquals(0, first.exit(), first.all());
            assertEquals(5, first.json().getAsJsonArray("steps").size());
            assertFalse(new Lab.Server(dir).running(), "the demo stops the lab it started");
            TestPg.Run second = TestPg.run(new Lab(), env, "demo");
            assertEquals(0, second.exit(), second.all());
            // A.1 is a check (it reports "enabled"); the four changing steps find their work done
            assertEquals(4, second.out().split("already done", -1).length - 1, second.out());
            assertFalse(new Lab.Server(dir).running());
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    /** This machine's first non-loopback IPv4 address (a Docker bridge would be one), or null. */
    static String otherAddress() throws IOException {
        for (var nif : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (nif.isUp() && !nif.isLoopback()) {
                for (var a : java.util.Collections.list(nif.getInetAddresses())) {
                    if (a instanceof java.net.Inet4Address) {
                        return a.getHostAddress();
                    }
                }
            }
        }
        return null;
    }

    /**
     * lab start --listen (issue #21, item 2: a Materialize in Docker must reach the lab): a password login through
     * another address of this machine works with it, is refused without it; a wrong address is said before any
     * start; a running lab is not silently left on other addresses.
     */
    @Test
    void listenOpensTheLabToAnotherAddressOnlyWhenAsked() throws Exception {
        String addr = otherAddress();
        org.junit.jupiter.api.Assumptions.assumeTrue(addr != null, "this machine has no address besides loopback");
        Path dir = labDir();
        int port = TestPg.freePort();
        Map<String, String> env = Map.of("NEONMZ_LAB_DIR", dir.toString(), "NEONMZ_LAB_PORT", String.valueOf(port));
        try {
            TestPg.Run bad = TestPg.run(new Lab(), env, "start", "--detach", "--listen", "203.0.113.77");
            assertEquals(Exit.USAGE, bad.exit(), bad.all());
            assertTrue(bad.err().contains("not an address of this machine"), bad.err());
            assertFalse(Files.exists(dir.resolve("data")), "nothing created");

            TestPg.Run r = TestPg.run(new Lab(), env, "start", "--detach", "--listen", addr);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("on 127.0.0.1:" + port + ", also on " + addr), r.out());
            assertTrue(r.err().contains("warning: the lab also listens on " + addr) && r.err().contains("lab stop"), r.err());
            Lab.Server s = new Lab.Server(dir);
            ConnInfo remote = ConnInfo.parse("postgresql://neondb_owner@" + addr + ":" + port + "/neondb?sslmode=disable");
            remote.password(s.readSecret("owner.password"), "test");
            try (var c = Lab.Server.open(remote.withDefaults(Map.of()))) {
                assertTrue(c.isValid(2), "a login through " + addr);
            }
            TestPg.Run again = TestPg.run(new Lab(), env, "start", "--detach", "--listen", addr);
            assertEquals(0, again.exit(), again.all());
            assertTrue(again.out().contains("already running"), again.out());
            TestPg.Run plain = TestPg.run(new Lab(), env, "start", "--detach");
            assertEquals(Exit.CONFLICT, plain.exit(), plain.all());
            assertTrue(plain.err().contains("./jbang lab stop, then ./jbang lab start --detach"), plain.err());

            assertEquals(0, TestPg.run(new Lab(), env, "stop").exit());
            TestPg.Run loopback = TestPg.run(new Lab(), env, "start", "--detach");
            assertEquals(0, loopback.exit(), loopback.all());
            assertFalse(loopback.out().contains("also on"), loopback.out());
            assertFalse(Files.readString(dir.resolve("data/pg_hba.conf")).contains(Lab.Server.HBA_MARK), "the --listen line is gone");
            assertThrows(Exception.class, () -> Lab.Server.open(remote.withDefaults(Map.of())).close(),
                    "without --listen nothing listens on " + addr);
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    @Test
    void portInUseIsAClearUsageError() throws Exception {
        Path dir = labDir();
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            TestPg.Run r = TestPg.run(new Lab(), Map.of("NEONMZ_LAB_DIR", dir.toString()),
                    "start", "--detach", "--port", String.valueOf(taken.getLocalPort()));
            assertEquals(Exit.USAGE, r.exit(), r.all());
            assertTrue(r.err().contains("in use") && r.err().contains("--port"), r.err());
        } finally {
            Lab.Server.deleteTree(dir);
        }
    }

    @Test
    void resetDeletesOnlyTheLabsOwnFiles() throws Exception {
        Path dir = labDir();
        try {
            Path mine = Files.writeString(dir.resolve("notes.txt"), "the user's own file");
            Map<String, String> env = Map.of("NEONMZ_LAB_DIR", dir.toString(), "NEONMZ_LAB_PORT",
                    String.valueOf(TestPg.freePort()));
            assertEquals(0, TestPg.run(new Lab(), env, "start", "--detach").exit());
            TestPg.Run reset = TestPg.run(new Lab(), env, "reset");
            assertEquals(0, reset.exit(), reset.all());
            assertTrue(Files.exists(mine), "a file the lab did not write survives reset");
            try (var left = Files.list(dir)) {
                assertEquals(List.of(mine), left.toList());
            }
            assertFalse(new Lab.Server(dir).running());
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }
}
