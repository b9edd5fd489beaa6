import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;

/**
 * C.2 without a Materialize: the plan from the options alone (--dry-run), the usage errors caught before
 * anything is contacted, the password kept out of every output, and the reading of an existing
 * connection (SHOW CREATE CONNECTION) that decides "already done" or "differs".
 */
class CreateConnectionTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String NEON = SourceFixtures.NEON_URL;

    @TempDir
    Path tmp;

    /** The test server's environment, Materialize pointed at a port where nothing listens. */
    static Map<String, String> env(String... kv) throws Exception {
        Map<String, String> env = new HashMap<>(TestPg.env("neondb"));
        env.put("MZ_URL", "postgresql://materialize@127.0.0.1:" + TestPg.freePort() + "/materialize");
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    Path passwordFile(String pw) throws Exception {
        Path f = tmp.resolve("pw-" + N.incrementAndGet());
        Files.writeString(f, pw + "\n");
        return f;
    }

    // ---- the plan -------------------------------------------------------------------------------

    @Test
    void dryRunNeedsNoMaterializeAndMasksThePassword() throws Exception {
        String pw = "plan-pw-" + N.incrementAndGet();
        TestPg.Run r = TestPg.run(new CreateConnection(), env(), "--pg-url", NEON, "--password-file",
                passwordFile(pw).toString(), "--dry-run", "--json");
        assertEquals(0, r.exit(), r.all());
        JsonObject j = r.json();
        assertEquals("require", j.get("ssl_mode").getAsString());
        assertEquals("materialize", j.get("user").getAsString());
        assertEquals("ep-cool-darkness-123456.us-east-2.aws.neon.tech", j.get("host").getAsString());
        assertEquals("neondb", j.get("database").getAsString());
        assertEquals("CREATE SECRET IF NOT EXISTS pgpass AS '********'", j.getAsJsonArray("statements").get(0).getAsString());
        assertFalse(r.all().contains(pw));
    }

    @Test
    void humanDryRunSaysNoMaterializeWasContacted() throws Exception {
        TestPg.Run r = TestPg.run(new CreateConnection(), env(), "--pg-url", NEON, "--password-file",
                passwordFile("human-pw-" + N.incrementAndGet()).toString(), "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("-- dry run: no Materialize was contacted"), r.out());
        assertTrue(r.out().contains("channel_binding=require from the connection string is dropped"), r.out());
        assertTrue(r.out().contains("connection pg_connection: would be created"), r.out());
    }

    @Test
    void sslModeFromTheUrlTheOptionOrTheHost() throws Exception {
        Path pw = passwordFile("ssl-pw-" + N.incrementAndGet());
        Object[][] cases = {
            {"postgresql://o@ep-a-1.us-east-2.aws.neon.tech/neondb", null, "require"},            // Neon default
            {"postgresql://o@db.example.com/app", null, "require"},                              // remote default
            {"postgresql://o@db.example.com/app?sslmode=prefer", null, "require"},               // prefer is not Materialize's
            {"postgresql://o@127.0.0.1/app?sslmode=prefer", null, "disable"},
            {"postgresql://o@localhost/app", null, "disable"},
            {"postgresql://o@db.example.com/app?sslmode=verify-ca", null, "verify_ca"},
            {"postgresql://o@ep-a-1.us-east-2.aws.neon.tech/neondb", "verify_full", "verify_full"},
            {"postgresql://o@localhost/app?sslmode=disable", "require", "require"},
        };
        for (Object[] c : cases) {
            List<String> a = new ArrayList<>(List.of("--pg-url", (String) c[0], "--password-file", pw.toString(),
                    "--dry-run", "--json"));
            if (c[1] != null) {
                a.addAll(List.of("--ssl-mode", (String) c[1]));
            }
            TestPg.Run r = TestPg.run(new CreateConnection(), env(), a.toArray(String[]::new));
            assertEquals(0, r.exit(), r.all());
            assertEquals(c[2], r.json().get("ssl_mode").getAsString(), c[0] + " " + c[1]);
            assertTrue(r.json().getAsJsonArray("statements").get(1).getAsString().contains("SSL MODE '" + c[2] + "'"));
        }
    }

    @Test
    void upstreamHostOverridesTheHostOnly() throws Exception {
        TestPg.Run r = TestPg.run(new CreateConnection(), env(), "--password-file",
                passwordFile("docker-pw-" + N.incrementAndGet()).toString(), "--upstream-host", "host.docker.internal",
                "--dry-run", "--json");
        assertEquals(0, r.exit(), r.all());
        String create = r.json().getAsJsonArray("statements").get(1).getAsString();
        assertTrue(create.contains("HOST 'host.docker.internal', PORT " + TestPg.server().port()), create);
        assertTrue(create.contains("SSL MODE 'disable'"), create);
        assertTrue(create.contains("DATABASE 'neondb'"), create);
    }

    // ---- usage errors, before anything --------------------------------------------------------------

    @Test
    void missingPasswordIsAUsageErrorBeforeAnything() throws Exception {
        // a pooled host and an unreachable Materialize: neither is looked at before the password is known missing
        Map<String, String> e = env();
        TestPg.Run r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, e, "--pg-url",
                "postgresql://o@ep-x-pooler.us-east-2.aws.neon.tech/neondb");
        assertTrue(BadInputTest.message(r).contains("no password for the replication role materialize"), r.err());
        assertTrue(BadInputTest.fix(r).contains("--password-file"), r.err());
        assertTrue(BadInputTest.fix(r).contains("MZ_REPLICATION_PASSWORD"), r.err());
        // the owner's PGPASSWORD is not the replication role's password
        TestPg.Run r2 = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env("PGPASSWORD", "owner-pw-1"),
                "--pg-url", NEON);
        assertTrue(BadInputTest.message(r2).contains("no password"), r2.err());
    }

    @Test
    void poolerHostsAreRefused() throws Exception {
        Path pw = passwordFile("pooler-pw-" + N.incrementAndGet());
        TestPg.Run r = BadInputTest.failsCleanly(Exit.POOLER, CreateConnection::new, env(), "--pg-url",
                "postgresql://o@" + BadInputTest.POOLER_HOST + "/neondb", "--password-file", pw.toString());
        assertTrue(BadInputTest.fix(r).contains(BadInputTest.DIRECT_HOST), r.err());
        TestPg.Run viaEnv = BadInputTest.failsCleanly(Exit.POOLER, CreateConnection::new,
                env("DATABASE_URL", "postgresql://o@" + BadInputTest.POOLER_HOST + "/neondb"), "--password-file",
                pw.toString(), "--dry-run");
        assertTrue(BadInputTest.fix(viaEnv).contains(BadInputTest.DIRECT_HOST), viaEnv.err());
        TestPg.Run upstream = BadInputTest.failsCleanly(Exit.POOLER, CreateConnection::new, env(), "--pg-url", NEON,
                "--password-file", pw.toString(), "--upstream-host", BadInputTest.POOLER_HOST);
        assertTrue(BadInputTest.fix(upstream).contains(BadInputTest.DIRECT_HOST), upstream.err());
    }

    @Test
    void otherUsageErrors() throws Exception {
        Path pw = passwordFile("usage-pw-" + N.incrementAndGet());
        String f = pw.toString();
        Map<String, String> noUpstream = env();
        noUpstream.remove("DATABASE_URL");
        TestPg.Run r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, noUpstream, "--password-file", f);
        assertTrue(BadInputTest.message(r).contains("which upstream database"), r.err());
        r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env(), "--password-file", f, "--ssl-mode", "prefer");
        assertTrue(BadInputTest.fix(r).contains("rejects prefer"), r.err());
        r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env(), "--pg-url", NEON, "--password-file", f,
                "--ssl-mode", "disable");
        assertTrue(BadInputTest.message(r).contains("Neon accepts TLS connections only"), r.err());
        r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env(), "--password-file", f, "--password-stdin");
        assertTrue(BadInputTest.message(r).contains("both given"), r.err());
        r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env(), "--password-file", f, "--connection", "");
        r = BadInputTest.failsCleanly(Exit.USAGE, CreateConnection::new, env(), "--password-file",
                tmp.resolve("missing").toString());
        assertTrue(BadInputTest.message(r).contains("missing: no such file"), r.err());
    }

    @Test
    void withoutMaterializeARealRunFailsToConnectWithTheFix() throws Exception {
        TestPg.Run r = BadInputTest.failsCleanly(Exit.CONNECT, CreateConnection::new, env(), "--password-file",
                passwordFile("live-pw-" + N.incrementAndGet()).toString());
        assertTrue(BadInputTest.message(r).contains("cannot reach Materialize"), r.err());
        assertTrue(BadInputTest.fix(r).contains("--mz-url"), r.err());
    }

    @Test
    void helpHasAnExampleAndTheExitCodes() {
        TestPg.Run r = TestPg.run(new CreateConnection(), Map.of(), "--help");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("Example"), r.out());
        assertTrue(r.out().contains("Exit codes:"), r.out());
        assertTrue(r.out().contains("--password-file"), r.out());
    }

    // ---- the password never shows ---------------------------------------------------------------------

    /** From a file, stdin and the environment; in human (with --record), --json, --dry-run and --verbose runs. */
    @Test
    void passwordNeverPrintedAnywhere() throws Exception {
        for (String how : List.of("file", "stdin", "env")) {
            for (SecretsTest.Mode mode : SecretsTest.Mode.values()) {
                for (boolean verbose : List.of(false, true)) {
                    for (boolean dryRun : List.of(false, true)) {
                        String pw = "it's a s3cr\\t \"pw\" %40/" + N.incrementAndGet();
                        Set<String> forms = SecretsTest.forms(pw, List.of(pw.replace("'", "''")));
                        Map<String, String> e = env();
                        List<String> a = new ArrayList<>(List.of("--pg-url", NEON));
                        String stdin = "";
                        switch (how) {
                            case "file" -> a.addAll(List.of("--password-file", passwordFile(pw).toString()));
                            case "stdin" -> {
                                a.add("--password-stdin");
                                stdin = pw + "\n";
                            }
                            default -> e.put("MZ_REPLICATION_PASSWORD", pw);
                        }
                        if (verbose) {
                            a.add("--verbose");
                        }
                        if (dryRun && mode != SecretsTest.Mode.DRY_RUN) {
                            a.add("--dry-run");
                        }
                        Path record = tmp.resolve("rec-" + N.incrementAndGet() + ".md");
                        if (mode == SecretsTest.Mode.JSON) {
                            a.add("--json");
                        } else if (mode == SecretsTest.Mode.DRY_RUN) {
                            a.add("--dry-run");
                        } else {
                            a.addAll(List.of("--record", record.toString()));
                        }
                        TestPg.Run r = TestPg.runWithStdin(new CreateConnection(), e, stdin, a.toArray(String[]::new));
                        String where = how + ", " + mode + (verbose ? ", verbose" : "") + (dryRun ? ", dry-run" : "")
                                + " (exit " + r.exit() + ")";
                        boolean plan = dryRun || mode == SecretsTest.Mode.DRY_RUN;
                        assertEquals(plan ? Exit.OK : Exit.CONNECT, r.exit(), where + ": " + r.all());
                        SecretsTest.assertAbsent(where + " stdout", r.out(), forms);
                        SecretsTest.assertAbsent(where + " stderr", r.err(), forms);
                        if (mode == SecretsTest.Mode.JSON) {
                            SecretsTest.assertJsonAbsent(where + " json", JsonParser.parseString(r.out().strip()), forms);
                        }
                        if (mode == SecretsTest.Mode.RECORD) {
                            String text = Files.readString(record);
                            SecretsTest.assertAbsent(where + " record", text, forms);
                        }
                        if (plan && mode != SecretsTest.Mode.JSON) {
                            assertTrue(r.out().contains("AS '********'"), where + ": " + r.out());
                        }
                    }
                }
            }
        }
    }

    // ---- an existing connection ----------------------------------------------------------------------

    static final CreateConnection.Wanted WANT = new CreateConnection.Wanted(
            "ep-cool-darkness-123456.us-east-2.aws.neon.tech", 5432, "materialize", "neondb", "require", "pgpass");

    @Test
    void readsShowCreateConnectionInItsForms() {
        List<String> forms = List.of(
                // Materialize's normalized form (qualified, quoted, with =)
                "CREATE CONNECTION \"materialize\".\"public\".\"pg_connection\" TO POSTGRES (DATABASE = 'neondb', "
                        + "HOST = 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', PASSWORD = SECRET "
                        + "\"materialize\".\"public\".\"pgpass\", PORT = 5432, SSL MODE = 'require', USER = 'materialize')",
                // as typed (the guide's form)
                "CREATE CONNECTION pg_connection TO POSTGRES (HOST 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', "
                        + "PORT 5432, USER 'materialize', PASSWORD SECRET pgpass, SSL MODE 'require', DATABASE 'neondb')",
                // unqualified words, a keyword-cased secret, and WITH after the options
                "create connection pg_connection to postgres (host = 'EP-COOL-DARKNESS-123456.us-east-2.aws.neon.tech', "
                        + "port = 5432, user = 'materialize', password = secret materialize.public.PGPASS, "
                        + "ssl mode = require, database = 'neondb') with (validate = false)");
        for (String sql : forms) {
            Map<String, String> o = ConnectionText.options(sql);
            assertEquals("SECRET pgpass", o.get("PASSWORD"), sql);
            assertEquals("5432", o.get("PORT"), sql);
            assertEquals(List.of(), ConnectionText.differences(new CreateConnection.Existing("u1", "postgres", o), WANT),
                    sql + " → " + o);
        }
    }

    @Test
    void differencesAreNamed() {
        Map<String, String> o = ConnectionText.options("CREATE CONNECTION c TO POSTGRES (HOST = 'old.example.com', "
                + "PASSWORD = SECRET \"materialize\".\"public\".\"Old PW\", USER = 'neondb_owner', DATABASE = 'neondb', "
                + "SSH TUNNEL = \"materialize\".\"public\".tunnel)");
        List<String> d = ConnectionText.differences(new CreateConnection.Existing("u1", "postgres", o), WANT);
        String all = String.join("; ", d);
        assertTrue(all.contains("HOST is 'old.example.com', asked 'ep-cool-darkness-123456.us-east-2.aws.neon.tech'"), all);
        assertTrue(all.contains("USER is 'neondb_owner', asked 'materialize'"), all);
        assertTrue(all.contains("PASSWORD is SECRET Old PW, asked SECRET pgpass"), all);
        assertTrue(all.contains("SSL MODE is 'disable', asked 'require'"), all);  // Materialize's default when left out
        assertTrue(all.contains("it also has SSH TUNNEL"), all);
        assertFalse(all.contains("PORT"), all);  // 5432 is the default
        assertEquals(List.of("type is kafka, not postgres"),
                ConnectionText.differences(new CreateConnection.Existing("u2", "kafka", Map.of()), WANT));
    }

    // ---- an existing connection, read from the catalog (mz_connections.create_sql) of the stand-in -----

    /** The stand-in with secret pgpass and connection pg_connection whose create_sql has {@code host}; mz_source uses it. */
    static MzStandIn existing(String host, int port, String db) {
        MzStandIn mz = new MzStandIn();
        mz.exec("INSERT INTO mz_catalog.mz_secrets (id, schema_id, name) VALUES ('u98', 'u3', 'pgpass')",
                "INSERT INTO mz_catalog.mz_connections (id, schema_id, name, type, create_sql) VALUES ('u99', 'u3', "
                        + "'pg_connection', 'postgres', 'CREATE CONNECTION materialize.public.pg_connection TO POSTGRES "
                        + "(DATABASE = ''" + db + "'', HOST = ''" + host + "'', PASSWORD = SECRET materialize.public.pgpass, "
                        + "PORT = " + port + ", SSL MODE = ''disable'', USER = ''materialize'')')");
        mz.source("u10", "mz_source", "u2", "materialize_u10", "running", null);
        mz.exec("UPDATE mz_catalog.mz_sources SET connection_id = 'u99' WHERE id = 'u10'");
        return mz;
    }

    @Test
    void anExistingConnectionAsAskedIsAlreadyDoneAndOneThatDiffersIsNamed() throws Exception {
        String db = TestPg.newDatabase();
        int port = TestPg.server().port();
        Map<String, String> env = new HashMap<>(existing("127.0.0.1", port, db).env(db));
        env.put("MZ_REPLICATION_PASSWORD", "existing-pw-1");
        TestPg.Run same = TestPg.run(new CreateConnection(), env, "--no-validate", "--json");
        assertEquals(0, same.exit(), same.all());
        assertEquals("already_done", same.json().get("connection_action").getAsString(), same.out());
        assertEquals("kept", same.json().get("secret_action").getAsString());

        Map<String, String> other = new HashMap<>(existing("old.example.com", port, db).env(db));
        other.put("MZ_REPLICATION_PASSWORD", "existing-pw-1");
        TestPg.Run differs = TestPg.run(new CreateConnection(), other, "--no-validate");
        assertEquals(Exit.CONFLICT, differs.exit(), differs.all());
        assertTrue(differs.err().contains("HOST is 'old.example.com', asked '127.0.0.1'"), differs.err());

        // --replace would drop the connection a source uses: refused, naming the source (mz_sources.connection_id)
        TestPg.Run replace = TestPg.run(new CreateConnection(), other, "--no-validate", "--replace");
        assertEquals(Exit.CONFLICT, replace.exit(), replace.all());
        assertTrue(replace.err().contains("connection pg_connection is used by source(s) mz_source"), replace.err());
        assertFalse(replace.all().contains("existing-pw-1"));
    }
}
