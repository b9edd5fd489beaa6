import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/** Issue #21's papercuts (item 8), each with the message a newcomer now gets. */
class PapercutTest {
    /** A missing password file: its path once, and "no such file". */
    @Test
    void aMissingPasswordFileSaysNoSuchFile() {
        TestPg.Run r = TestPg.run(new CheckLogicalReplication(), Map.of(), "--pg-password-file", "/nonexistent/pw");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("error: password file /nonexistent/pw: no such file"), r.err());
        assertEquals(1, r.err().split("/nonexistent/pw", -1).length - 1, "the path once: " + r.err());
    }

    /** A deliberate "n" at teardown's prompt is an answer, said plainly (exit 15), not an error. */
    @Test
    void answeringNoIsNotAnError() {
        String db = EvolveTest.shop();
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        neonmz.Cli.Ctx ctx = new neonmz.Cli.Ctx(TestPg.env(db), new java.io.BufferedReader(new java.io.StringReader("n\n")),
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true), true);
        int code = neonmz.Cli.execute(new Teardown(), ctx, "--upstream-only");
        assertEquals(Exit.DECLINED, code, out + "" + err);
        assertTrue(err.toString().contains("answered no: nothing changed"), err.toString());
        assertFalse(err.toString().contains("error:"), err.toString());
        assertFalse(TestPg.rows(db, "SELECT 1 FROM pg_publication WHERE pubname = 'mz_source'").isEmpty(), "nothing changed");
    }

    /** A misspelt option is named alone (not the value after it), with the options it may have meant. */
    @Test
    void aMisspeltOptionGetsDidYouMean() {
        TestPg.Run r = TestPg.run(new ReplicaIdentity(), Map.of(), "--tabel", "orders");
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("error: unknown option --tabel"), r.err());
        assertFalse(r.err().contains("'orders'"), "the value is not reported as an option: " + r.err());
        assertTrue(r.err().contains("fix: did you mean --table?"), r.err());
        TestPg.Run j = TestPg.run(new ReplicaIdentity(), Map.of(), "--tabel", "orders", "--json");
        assertEquals("unknown option --tabel", j.json().getAsJsonObject("error").get("message").getAsString(), j.out());
    }

    /**
     * The replication role's refused password (stream-check and tap log in as --role with --password-file) names
     * the role's own file and replication-role --reset-password, not the owner's PGPASSWORD/--pg-password-file.
     */
    @Test
    void theRolesWrongPasswordNamesTheRolesFix() throws Exception {
        StreamCheckTest.Setup s = StreamCheckTest.setUp(true, "LOGIN REPLICATION");
        java.nio.file.Files.writeString(s.passwordFile(), "not-the-password\n");
        for (Object command : java.util.List.of(new StreamCheck(), new Tap())) {
            TestPg.Run r = TestPg.run(command, s.env(), s.asRole("--timeout", "10s"));
            assertEquals(Exit.AUTH, r.exit(), r.all());
            assertTrue(r.err().contains("authentication failed for user \"" + s.role() + "\""), r.err());
            assertTrue(r.err().contains("fix: give --password-file FILE holding role " + s.role() + "'s password"), r.err());
            assertTrue(r.err().contains("./jbang replication-role --role " + s.role() + " --reset-password --password-out "
                    + s.passwordFile()), r.err());
            assertFalse(r.err().contains("PGPASSWORD") || r.err().contains("--pg-password-file"), r.err());
            assertFalse(r.all().contains("not-the-password"), "no secret in the output");
        }
    }

    /**
     * lab stop, then doctor in a shell set up with the lab's env: one hop to the fix (lab start --detach), not
     * "is the server running? (lab status)".
     */
    @Test
    void aStoppedLabSaysLabStartDetach() throws Exception {
        java.nio.file.Path dir = LabTest.labDir();
        Map<String, String> labEnv = Map.of("NEONMZ_LAB_DIR", dir.toAbsolutePath().toString(),
                "NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()), "NO_COLOR", "1");
        try {
            TestPg.Run started = TestPg.run(new Lab(), labEnv, "start", "--detach");
            assertEquals(0, started.exit(), started.all());
            TestPg.Run env = TestPg.run(new Lab(), labEnv, "env");
            assertEquals(0, TestPg.run(new Lab(), labEnv, "stop").exit());
            // the student's second shell: only what `eval "$(./jbang lab env)"` set, the lab in its usual place
            Map<String, String> shell = new java.util.HashMap<>(Map.of("NO_COLOR", "1", "HOME", dir.toString()));
            for (String l : env.out().split("\n")) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("export (\\w+)='?([^']*)'?").matcher(l.strip());
                if (m.matches()) {
                    shell.put(m.group(1), m.group(2));
                }
            }
            assertTrue(shell.containsKey("DATABASE_URL"), env.all());
            TestPg.Run r = TestPg.run(new Doctor(), shell);
            assertEquals(Exit.CONNECT, r.exit(), r.all());
            assertTrue(r.err().contains("the lab (" + dir.toAbsolutePath() + ") is not running"), r.err());
            assertTrue(r.err().contains("fix: start it: ./jbang lab start --dir " + dir.toAbsolutePath() + " --detach"), r.err());
            shell.put("NEONMZ_LAB_DIR", dir.toAbsolutePath().toString());   // where lab start looks by itself
            r = TestPg.run(new Doctor(), shell);
            assertTrue(r.err().contains("fix: start it: ./jbang lab start --detach"), r.err());
            assertFalse(r.err().contains("lab status"), r.err());
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    /** No DATABASE_URL, --pg-url or PGHOST at all: said so, with the lab's eval line and --pg-url, not "lab status". */
    @Test
    void nothingSetSaysNothingWasSet() throws Exception {
        String port = String.valueOf(TestPg.freePort());
        TestPg.Run r = TestPg.run(new Doctor(), Map.of("NO_COLOR", "1", "HOME", "/nonexistent", "PGPORT", port));
        assertEquals(Exit.CONNECT, r.exit(), r.all());
        assertTrue(r.err().contains("error: cannot connect to localhost:" + port + ": no --pg-url, DATABASE_URL or PGHOST is "
                + "set, so the default localhost:" + port + " was tried"), r.err());
        assertTrue(r.err().contains("fix: for the lab, in this shell: eval \"$(./jbang lab env)\"; for another server: "
                + "--pg-url URL or export DATABASE_URL=URL"), r.err());
        // with a host given, the usual words (the server is not there)
        TestPg.Run given = TestPg.run(new Doctor(), Map.of("NO_COLOR", "1", "HOME", "/nonexistent",
                "DATABASE_URL", "postgresql://u@127.0.0.1:" + port + "/db?sslmode=disable"));
        assertEquals(Exit.CONNECT, given.exit(), given.all());
        assertFalse(given.err().contains("no --pg-url"), given.err());
    }

    /**
     * connection: Materialize refuses the replication role's password (its reference text, as MzErrorsTest has it):
     * the fix names the role's --password-file and replication-role --reset-password, not the owner's options.
     */
    @Test
    void materializeRefusingTheRolesPasswordNamesTheRolesFix() {
        neonmz.Fail f = neonmz.MzErrors.fail("CREATE CONNECTION pg_connection",
                "db error: FATAL: password authentication failed for user \"materialize\"", null);
        assertEquals(Exit.AUTH, f.exit);
        assertTrue(f.fix.contains("./jbang connection --rotate --password-file FILE"), f.fix);
        assertTrue(f.fix.contains("./jbang replication-role --reset-password --password-out FILE"), f.fix);
        assertFalse(f.fix.contains("PGPASSWORD") || f.fix.contains("--pg-password-file"), f.fix);
    }

    /** adapt touches no database: its --help has no SQL wording, no --yes, and only the exit codes it can return. */
    @Test
    void adaptHelpShowsOnlyItsOwn() {
        TestPg.Run r = TestPg.run(new Adapt(), Map.of("NO_COLOR", "1"), "--help");
        assertEquals(0, r.exit(), r.all());
        String help = r.out();
        for (String foreign : java.util.List.of("SQL", "--yes", "--pg-url", "cannot reach the server", "authentication failed",
                "wal_level", "Neon -pooler", "evolve", "Materialize release", "statement_timeout", "privilege")) {
            assertFalse(help.contains(foreign), foreign + " in adapt --help:\n" + help);
        }
        for (String own : java.util.List.of("--dry-run", "--json", "--to=DIR", "--update", "  0   done",
                "  2   bad option", "  6   no toolkit to copy from", "  7   files in --to DIR exist", "130   interrupted")) {
            assertTrue(help.contains(own), own + " missing from adapt --help:\n" + help);
        }
        // the options still work as before: --yes is accepted (hidden, not removed), --dry-run writes nothing
        TestPg.Run d = TestPg.run(new Adapt(), Map.of("NO_COLOR", "1"), "publication", "--to", "target/papercut-adapt-"
                + ProcessHandle.current().pid(), "--dry-run", "--yes", "--from", ".");
        assertEquals(0, d.exit(), d.all());
        assertFalse(java.nio.file.Files.exists(java.nio.file.Path.of("target/papercut-adapt-" + ProcessHandle.current().pid())));
    }

    /**
     * teardown deletes the dropped role's password file (the default one only when its password logs in as the role),
     * shown in --dry-run and in the plan it confirms; the README's replication-role --password-out line then works again.
     */
    @Test
    void teardownDeletesTheRolesPasswordFile() throws Exception {
        String role = TeardownTest.unique("pwfile");
        TeardownTest.Setup s = TeardownTest.setUp(TeardownTest.unique("pub"), role);
        java.nio.file.Path home = java.nio.file.Files.createTempDirectory("papercut-home");
        java.nio.file.Path pw = home.resolve(".neonmz/materialize.password");
        Map<String, String> env = new java.util.HashMap<>(s.env());
        env.put("HOME", home.toString());
        // the README's line, for a role of this test: a new password in the default file
        TeardownTest.ok(TestPg.run(Commands.of("replication-role"), env, "--role", role, "--reset-password",
                "--password-out", pw.toString()));
        String[] args = {"--upstream-only", "--role", role, "--publication", s.publication()};
        TestPg.Run dry = TeardownTest.teardown(env, concat(args, "--dry-run"));
        assertEquals(0, dry.exit(), dry.all());
        assertTrue(dry.out().contains("-- then delete the role's password file " + pw), dry.out());
        assertTrue(java.nio.file.Files.exists(pw), "--dry-run deletes nothing");

        TestPg.Run r = TeardownTest.teardown(env, concat(args, "--yes"));
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("; password file " + pw + " deleted"), r.out());
        assertFalse(java.nio.file.Files.exists(pw));
        assertFalse(TeardownTest.roleExists(s.db(), role));
        TeardownTest.ok(TestPg.run(Commands.of("replication-role"), env, "--role", role, "--password-out", pw.toString()));

        // a default file that is not this role's password is kept, and the plan says why
        java.nio.file.Files.writeString(pw, "someone-elses\n");
        TestPg.Run kept = TeardownTest.teardown(env, concat(args, "--yes"));
        assertEquals(0, kept.exit(), kept.all());
        assertTrue(kept.out().contains("note: password file " + pw + " kept: its password does not log in as " + role
                + " here; give --password-file to delete it"), kept.out());
        assertTrue(java.nio.file.Files.exists(pw));
        assertFalse(TeardownTest.roleExists(s.db(), role));
    }

    static String[] concat(String[] a, String... more) {
        String[] all = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, all, a.length, more.length);
        return all;
    }

    /** Two loadgens at once with the default seed, on one database: no duplicate keys, both finish. */
    @Test
    void twoLoadgensAtOnceDoNotCollide() throws Exception {
        String db = TestPg.newDatabase();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            java.util.List<java.util.concurrent.Future<TestPg.Run>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                runs.add(pool.submit(() -> TestPg.run(new LoadGen(), TestPg.env(db), "--count", "400", "--rate", "0",
                        "--mix", "insert=80,update=10,delete=10", "--json")));
            }
            java.util.Set<Long> seeds = new java.util.HashSet<>();
            for (java.util.concurrent.Future<TestPg.Run> f : runs) {
                TestPg.Run r = f.get(120, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(0, r.exit(), r.all());
                assertEquals(400, r.json().get("changes").getAsLong(), r.out());
                seeds.add(r.json().get("seed").getAsLong());
            }
            assertEquals(2, seeds.size(), "each run has a seed of its own");
        } finally {
            pool.shutdownNow();
        }
    }

    /** The same --seed makes the same values: a duplicate key then names that cause and its fix, not --mix. */
    @Test
    void aDuplicateKeyNamesTheSeed() {
        String db = TestPg.newDatabase();
        TestPg.execAsOwner(db, "INSERT INTO customers (email, name) VALUES ('extra@example.com', 'Extra')");
        String[] args = {"--tables", "customers", "--mix", "insert=1", "--count", "1", "--rate", "0", "--seed", "5"};
        TestPg.Run first = TestPg.run(new LoadGen(), TestPg.env(db), args);
        assertEquals(0, first.exit(), first.all());
        TestPg.execAsOwner(db, "DELETE FROM customers WHERE email = 'extra@example.com'");   // the row count as before
        TestPg.Run again = TestPg.run(new LoadGen(), TestPg.env(db), args);
        assertEquals(Exit.CONFLICT, again.exit(), again.all());
        assertTrue(again.err().contains("duplicate key"), again.err());
        assertTrue(again.err().contains(": another writer inserted the same key; loadgens given the same --seed make the "
                + "same values"), again.err());
        assertTrue(again.err().contains("fix: give each loadgen that runs at the same time its own --seed, or none"), again.err());
        assertFalse(again.err().contains("--mix"), again.err());
    }

    /**
     * Ctrl-C (a real SIGINT to a tap in its own JVM) while --demo-changes is making its changes: the demo stops, what
     * it committed is read, the summary (per table and kind) is printed, the temporary slot is dropped, exit 130.
     */
    @Test
    void ctrlCDuringDemoChangesStopsPromptlyWithASummary() throws Exception {
        TapTest.Setup s = TapTest.setUp(TestPg.newDatabase(), TapTest.LAB_TABLES, true);
        java.nio.file.Path log = java.nio.file.Files.createTempFile("neonmz-tap-int", ".out");
        // env --default-signal: a JVM started with SIGINT ignored (a background job's child) would ignore Ctrl-C too
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("env", "--default-signal=INT",
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "Tap"));
        cmd.addAll(java.util.List.of(s.asRole("--demo-changes", "1000000")));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(s.env());
        Process p = pb.start();
        try {
            TapTest.awaitSlot(s.db());
            long before = TestPg.rows(s.db(), "SELECT 1 FROM customers").size();
            for (int i = 0; i < 500 && TestPg.rows(s.db(), "SELECT 1 FROM customers").size() < before + 20; i++) {
                Thread.sleep(20);   // the demo is making its changes
            }
            long t0 = System.nanoTime();
            assertEquals(0, new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor());
            assertTrue(p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS), "the tap did not stop");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            String out = java.nio.file.Files.readString(log);
            assertEquals(130, p.exitValue(), out);
            assertTrue(out.contains("after the slot was ready (stopped: interrupted)"), out);
            assertTrue(out.contains("table                 insert  update  delete  truncate"), out);
            assertTrue(out.matches("(?s).*tap: [1-9][0-9]* changes .*; stopped: interrupted; slot neonmz_tap_\\w+ dropped\\s*"), out);
            assertTrue(TapTest.waitNoSlots(5000), "the temporary slot is gone");
            // before: nothing for the shutdown hook's 5 s, then no summary; now the time it takes to read what was made
            assertTrue(ms < 4000, "stopped after " + ms + " ms:\n" + out);
            System.out.println("tap stopped " + ms + " ms after SIGINT");
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * No colour reaches a pipe or a file: JBang's own output through ./jbang (alias list, its help; the launcher forced
     * colour there) and a script's --help, with NO_COLOR unset. On a terminal (script(1) gives one) colour stays,
     * unless NO_COLOR is set.
     */
    @Test
    void noColourIntoAPipe() throws Exception {
        Map<String, String> colourAllowed = new java.util.HashMap<>();
        colourAllowed.put("NO_COLOR", null);
        colourAllowed.put("CLICOLOR_FORCE", null);
        for (String[] args : new String[][] {{"alias", "list"}, {"publication", "--help"}, {"--help"}}) {
            LauncherRun.Result r = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, colourAllowed, args);
            assertFalse((r.out() + r.err()).contains("\u001b["), String.join(" ", args) + ": " + r.describe());
            assertTrue((r.out() + r.err()).contains(args[0].equals("--help") ? "Usage: jbang" : "publication"), r.describe());
        }
        java.nio.file.Path script = java.nio.file.Path.of("/usr/bin/script");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(script), "no script(1) for a terminal");
        for (String noColor : new String[] {null, "1"}) {
            java.util.List<String> cmd = java.util.List.of(script.toString(), "-qec",
                    LauncherRun.ROOT.resolve("jbang") + " alias list 2>/dev/null", "/dev/null");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(java.io.File.createTempFile("stdin", ""));
            pb.environment().putAll(LauncherRun.baseEnv());
            pb.environment().remove("NO_COLOR");
            pb.environment().remove("CLICOLOR_FORCE");
            if (noColor != null) {
                pb.environment().put("NO_COLOR", noColor);
            }
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES));
            assertTrue(out.contains("publication"), out);
            assertEquals(noColor == null, out.contains("\u001b["), "NO_COLOR=" + noColor + " on a terminal: " + out);
        }
    }

    /**
     * Fix lines follow how the command was started, through the real JBang (the bundled jbang-cli, behind a launcher
     * that speaks JBang's launcher protocol as an installed jbang does): a catalog added by name gives "jbang
     * lab@neonmz", the nearest catalog (a clone, an ejected copy) "jbang lab"; ./jbang from another folder its path.
     */
    @Test
    void hintsFollowHowTheCommandWasStarted() throws Exception {
        assertEquals(0, LauncherRun.jbang("version").exit());   // the bundled jbang-cli is there
        java.nio.file.Path lib = LauncherRun.CACHE.resolve("jbang-" + LauncherRun.JBANG_VERSION).resolve("lib");
        // outside the repo: a folder under it finds the repo's catalog (JBang looks from here up), as "jbang lab"
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("installed-jbang");
        java.nio.file.Path jbang = dir.resolve("bin/jbang");
        java.nio.file.Files.createDirectories(jbang.getParent());
        java.nio.file.Files.writeString(jbang, "#!/usr/bin/env bash\n"
                + "export JBANG_RUNTIME_SHELL=bash JBANG_STDIN_NOTTY=true JBANG_LAUNCH_CMD=$0\n"
                + "out=$(java -cp '" + lib + "/*' dev.jbang.Main \"$@\"); rc=$?\n"
                + "if [ $rc -eq 255 ]; then eval \"exec $out\"; fi\n"
                + "[ -n \"$out\" ] && printf '%s\\n' \"$out\"; exit $rc\n");
        jbang.toFile().setExecutable(true);
        Map<String, String> env = new java.util.HashMap<>();
        for (String k : java.util.List.of("DATABASE_URL", "PGHOST", "PGPASSFILE", "NEONMZ_ROOT", "NEONMZ_LAB_DIR")) {
            env.put(k, null);
        }
        env.put("PGPORT", String.valueOf(TestPg.freePort()));   // nothing listens there: "no ... is set"
        env.put("JBANG_DIR", dir.resolve("jbang-home").toString());   // its own user catalog
        env.put("JBANG_CACHE_DIR", LauncherRun.JBANG_DIR.resolve("cache").toString());   // the tests' builds
        java.nio.file.Path elsewhere = java.nio.file.Files.createDirectories(dir.resolve("elsewhere"));

        LauncherRun.Result add = LauncherRun.run(jbang, elsewhere, env, "catalog", "add", "--global", "--name", "neonmz",
                LauncherRun.ROOT.resolve("jbang-catalog.json").toString());
        assertEquals(0, add.exit(), add.describe());
        LauncherRun.Result named = LauncherRun.run(jbang, elsewhere, env, "doctor@neonmz");
        assertEquals(Exit.CONNECT, named.exit(), named.describe());
        assertTrue(named.err().contains("fix: for the lab, in this shell: eval \"$(jbang lab@neonmz env)\""), named.describe());

        LauncherRun.Result local = LauncherRun.run(jbang, LauncherRun.ROOT, env, "doctor");
        assertEquals(Exit.CONNECT, local.exit(), local.describe());
        assertTrue(local.err().contains("eval \"$(jbang lab env)\""), local.describe());

        LauncherRun.Result ours = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), elsewhere, env, "doctor");
        assertEquals(Exit.CONNECT, ours.exit(), ours.describe());
        assertTrue(ours.err().contains("eval \"$(" + LauncherRun.ROOT.resolve("jbang") + " lab env)\""), ours.describe());
        LauncherRun.Result home = LauncherRun.run(LauncherRun.ROOT.resolve("jbang"), LauncherRun.ROOT, env, "doctor");
        assertTrue(home.err().contains("eval \"$(./jbang lab env)\""), home.describe());
    }
}
