import static org.junit.jupiter.api.Assertions.*;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;

import neonmz.Exit;
import neonmz.Sql;

/**
 * No password reaches stdout, stderr, the --json object or a --record file, however it was given and
 * whatever the outcome; a generated role password reaches only its 0600 --password-out file.
 *
 * Every test sets a fresh password (a known, URL-hostile base plus a counter), so no earlier run can
 * have taught the mask that password: each run proves its own path registers the secret.
 */
class SecretsTest {
    static final String BASE = "s3cr:t@pw/+%x";
    static final AtomicInteger N = new AtomicInteger();
    static String db;
    static String owner;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() {
        db = TestPg.newDatabase();
        owner = "secret_owner_" + ProcessHandle.current().pid();
        TestPg.exec(db, "CREATE ROLE " + owner + " SUPERUSER LOGIN");
    }

    /** A new password for the owner role, known to no mask yet. */
    static String newPassword(String base) {
        String pw = base + "-" + N.incrementAndGet();
        TestPg.exec(db, "ALTER ROLE " + owner + " PASSWORD " + Sql.literal(pw));
        return pw;
    }

    static int port() {
        return TestPg.server().port();
    }

    /** How the password is given: an environment and extra arguments. */
    record Source(String name, Map<String, String> env, List<String> args, List<String> typedForms) {}

    static Map<String, String> baseEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("PGPASSFILE", "/nonexistent/pgpass");
        env.put("HOME", System.getProperty("java.io.tmpdir"));
        env.put("NO_COLOR", "1");
        return env;
    }

    static String plainUrl(String user) {
        return "postgresql://" + user + "@127.0.0.1:" + port() + "/" + db + "?sslmode=disable";
    }

    static Source viaPgpassword(String user, String pw) {
        Map<String, String> env = baseEnv();
        env.put("DATABASE_URL", plainUrl(user));
        env.put("PGPASSWORD", pw);
        return new Source("PGPASSWORD", env, List.of(), List.of());
    }

    static Source viaDatabaseUrl(String user, String pw) {
        Map<String, String> env = baseEnv();
        String enc = URLEncoder.encode(pw, StandardCharsets.UTF_8).replace("+", "%20"); // libpq keeps '+' as is
        env.put("DATABASE_URL", "postgresql://" + user + ":" + enc + "@127.0.0.1:" + port() + "/" + db + "?sslmode=disable");
        return new Source("DATABASE_URL", env, List.of(), List.of(enc));
    }

    /** A URL as a person might type it: lower-case hex, ':' and '+' left as they are (all valid). */
    static Source viaPgUrl(String user, String pw) {
        StringBuilder typed = new StringBuilder();
        for (char c : pw.toCharArray()) {
            switch (c) {
                case '@' -> typed.append("%40");
                case '/' -> typed.append("%2f");
                case '%' -> typed.append("%25");
                case ' ' -> typed.append("%20");
                case '\\' -> typed.append("%5c");
                case '?' -> typed.append("%3f");
                case '#' -> typed.append("%23");
                default -> typed.append(c);
            }
        }
        String url = "postgresql://" + user + ":" + typed + "@127.0.0.1:" + port() + "/" + db + "?sslmode=disable";
        return new Source("--pg-url", baseEnv(), List.of("--pg-url", url), List.of(typed.toString()));
    }

    static Source viaKeyValue(String user, String pw) {
        String quoted = "'" + pw.replace("\\", "\\\\").replace("'", "\\'") + "'";
        String kv = "host=127.0.0.1 port=" + port() + " dbname=" + db + " user=" + user + " password=" + quoted
                + " sslmode=disable";
        return new Source("key=value", baseEnv(), List.of("--pg-url", kv), List.of(quoted));
    }

    static List<Source> sources(String user, String pw) {
        return List.of(viaPgpassword(user, pw), viaDatabaseUrl(user, pw), viaPgUrl(user, pw), viaKeyValue(user, pw));
    }

    /** Every form a secret could be printed in. */
    static Set<String> forms(String secret, List<String> typed) {
        Set<String> f = new LinkedHashSet<>();
        f.add(secret);
        String enc = URLEncoder.encode(secret, StandardCharsets.UTF_8);
        f.add(enc);
        f.add(enc.replace("+", "%20"));
        f.add(enc.toLowerCase(java.util.Locale.ROOT));
        f.addAll(typed);
        f.add(secret.replace("\\", "\\\\").replace("\"", "\\\"")); // as a JSON string body
        for (String x : List.copyOf(f)) {
            f.add(x.replace("'", "'\\''")); // inside a shell-quoted word (a --record command line)
        }
        return f;
    }

    static void assertAbsent(String where, String text, Set<String> forms) {
        for (String f : forms) {
            assertFalse(text.contains(f), where + " contains the secret (" + f + "):\n" + text);
        }
    }

    static void assertJsonAbsent(String where, JsonElement e, Set<String> forms) {
        if (e.isJsonObject()) {
            e.getAsJsonObject().entrySet().forEach(x -> {
                assertAbsent(where + " key", x.getKey(), forms);
                assertJsonAbsent(where + "." + x.getKey(), x.getValue(), forms);
            });
        } else if (e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> assertJsonAbsent(where + "[]", x, forms));
        } else if (e.isJsonPrimitive()) {
            assertAbsent(where, e.getAsString(), forms);
        }
    }

    /** Human output is checked in RECORD mode: its stdout and stderr are the human output, plus the file. */
    enum Mode { RECORD, JSON, DRY_RUN }

    /** One run in one mode (null: plain human output); checks every output for every form of the secrets. */
    TestPg.Run check(String label, Mode mode, Supplier<Object> cmd, Source src, String stdin, Set<String> secrets,
                     String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(src.args());
        Path record = tmp.resolve("record-" + N.incrementAndGet() + ".md");
        if (mode == Mode.JSON) {
            all.add("--json");
        } else if (mode == Mode.DRY_RUN) {
            all.add("--dry-run");
        } else if (mode == Mode.RECORD) {
            all.addAll(List.of("--record", record.toString()));
        }
        TestPg.Run r = TestPg.runWithStdin(cmd.get(), src.env(), stdin, all.toArray(String[]::new));
        String where = label + " [" + src.name() + ", " + mode + ", exit " + r.exit() + "]";
        assertAbsent(where + " stdout", r.out(), secrets);
        assertAbsent(where + " stderr", r.err(), secrets);
        assertFalse(r.all().contains("SCRAM-SHA-256$"), where + " shows a password verifier:\n" + r.all());
        if (mode == Mode.JSON) {
            assertJsonAbsent(where + " json", JsonParser.parseString(r.out().strip()), secrets);
        }
        if (mode == Mode.RECORD) {
            assertTrue(Files.exists(record), where + ": no record file");
            String text = Files.readString(record);
            assertTrue(text.contains("$ ./jbang "), text);
            assertAbsent(where + " record", text, secrets);
            assertFalse(text.contains("SCRAM-SHA-256$"), text);
        }
        return r;
    }

    // ---- the upstream password ----------------------------------------------------------------

    @Test
    void upstreamPasswordNeverPrinted() throws Exception {
        String mz = "mz_secret_" + N.incrementAndGet();
        TestPg.exec(db, "CREATE ROLE " + mz + " LOGIN");
        String pw = newPassword(BASE);
        for (Source src : sources(owner, pw)) {
            Set<String> secrets = forms(pw, src.typedForms());
            for (Mode mode : Mode.values()) {
                int n = N.incrementAndGet();
                expectOk(check("check-logical-replication", mode, CheckLogicalReplication::new, src, "", secrets));
                expectOk(check("replica-identity", mode, ReplicaIdentity::new, src, "", secrets, "--table", "orders"));
                expectOk(check("publication", mode, CreatePublication::new, src, "", secrets,
                        "--table", "orders,customers", "--name", "p" + n));
                expectOk(check("grants", mode, GrantAccess::new, src, "", secrets, "--role", mz, "--publication", "p" + n));
                String rolePw = "role:pw@/+%-" + n;
                Set<String> withRole = new LinkedHashSet<>(secrets);
                withRole.addAll(forms(rolePw, List.of()));
                expectOk(check("replication-role --password-stdin", mode, CreateReplicationRole::new, src, rolePw + "\n",
                        withRole, "--role", "mz_stdin_" + n, "--password-stdin"));
            }
        }
    }

    static void expectOk(TestPg.Run r) {
        assertEquals(0, r.exit(), r.all());
    }

    @Test
    void upstreamPasswordNeverPrintedOnFailure() throws Exception {
        // the owner's password given for neondb_owner: authentication fails
        String pw = newPassword(BASE);
        for (Source src : sources("neondb_owner", pw)) {
            Set<String> secrets = forms(pw, src.typedForms());
            for (Mode mode : Mode.values()) {
                for (Map.Entry<Supplier<Object>, String[]> c : List.<Map.Entry<Supplier<Object>, String[]>>of(
                        Map.entry(CheckLogicalReplication::new, new String[0]),
                        Map.entry(ReplicaIdentity::new, new String[] {"--table", "orders"}),
                        Map.entry(CreatePublication::new, new String[] {"--table", "orders"}),
                        Map.entry(CreateReplicationRole::new, new String[] {"--role", "never_made", "--password-out",
                                tmp.resolve("never").toString()}),
                        Map.entry(GrantAccess::new, new String[0]))) {
                    TestPg.Run r = check("wrong password", mode, c.getKey(), src, "", secrets, c.getValue());
                    assertEquals(Exit.AUTH, r.exit(), r.all());
                }
            }
        }
        // the right password, a missing table
        for (Source src : sources(owner, pw)) {
            Set<String> secrets = forms(pw, src.typedForms());
            for (Mode mode : Mode.values()) {
                for (Supplier<Object> cmd : List.<Supplier<Object>>of(ReplicaIdentity::new, CreatePublication::new)) {
                    TestPg.Run r = check("missing table", mode, cmd, src, "", secrets, "--table", "nosuch");
                    assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
                }
                TestPg.Run v = check("missing table --verbose", mode, ReplicaIdentity::new, src, "", secrets,
                        "--table", "nosuch", "--verbose");
                assertEquals(Exit.NOT_FOUND, v.exit(), v.all());
            }
        }
    }

    @Test
    void passwordWithQuotesBackslashesAndSpaces() throws Exception {
        String pw = newPassword("it's a \\ s3cr:t@pw/+%x \"q\"");
        for (Source src : sources(owner, pw)) {
            Set<String> secrets = forms(pw, src.typedForms());
            for (Mode mode : Mode.values()) {
                expectOk(check("check-logical-replication", mode, CheckLogicalReplication::new, src, "", secrets));
                TestPg.Run r = check("missing table", mode, CreatePublication::new, src, "", secrets, "--table", "nosuch");
                assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
            }
        }
    }

    /** A password pasted into a URL without percent-encoding: a usage error that shows no piece of it. */
    @Test
    void unencodedPasswordInUrl() throws Exception {
        for (String base : List.of(BASE, "s3cr3tHead/Tail?x")) {
            String pw = newPassword(base);
            String raw = "postgresql://" + owner + ":" + pw + "@127.0.0.1:" + port() + "/" + db + "?sslmode=disable";
            Map<String, String> env = baseEnv();
            env.put("DATABASE_URL", raw);
            Set<String> secrets = forms(pw, List.of());
            for (String piece : pw.split("[@/?]")) {
                if (piece.length() >= 4) {
                    secrets.add(piece);
                }
            }
            for (Source src : List.of(new Source("raw DATABASE_URL", env, List.of(), List.of()),
                    new Source("raw --pg-url", baseEnv(), List.of("--pg-url", raw), List.of()))) {
                for (Mode mode : Mode.values()) {
                    TestPg.Run r = check("unencoded", mode, CheckLogicalReplication::new, src, "", secrets);
                    assertEquals(Exit.USAGE, r.exit(), r.all());
                }
            }
        }
    }

    // ---- the generated role password ------------------------------------------------------------

    @Test
    void generatedRolePasswordOnlyInItsFile() throws Exception {
        String pw = newPassword(BASE);
        for (Source src : sources(owner, pw)) {
            Set<String> upstream = forms(pw, src.typedForms());
            for (Mode mode : Mode.values()) {
                String role = "mz_gen_" + N.incrementAndGet();
                Path out = tmp.resolve(role + ".password");
                TestPg.Run r = check("replication-role --password-out", mode, CreateReplicationRole::new, src, "",
                        upstream, "--role", role, "--password-out", out.toString());
                expectOk(r);
                if (mode == Mode.DRY_RUN) {
                    assertFalse(Files.exists(out), "--dry-run writes no password file");
                    assertTrue(r.out().contains("PASSWORD '********'"), r.out());
                    continue;
                }
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
                String generated = Files.readString(out).strip();
                assertTrue(generated.length() >= 16, generated);
                Set<String> gen = forms(generated, List.of());
                assertAbsent(role + " stdout", r.out(), gen);
                assertAbsent(role + " stderr", r.err(), gen);
                // no other file in the directory holds it (the temporary file was moved, not copied)
                try (var files = Files.list(tmp)) {
                    for (Path p : files.toList()) {
                        if (!p.equals(out)) {
                            assertAbsent(p.toString(), Files.readString(p), gen);
                        }
                    }
                }
                // and it is the role's password
                try (Connection c = DriverManager.getConnection(
                        "jdbc:postgresql://127.0.0.1:" + port() + "/" + db + "?sslmode=disable", role, generated)) {
                    assertTrue(c.isValid(2));
                }
            }
        }
    }

    @Test
    void resetPasswordDryRunShowsNoPassword() throws Exception {
        String role = "mz_reset_" + N.incrementAndGet();
        TestPg.exec(db, "CREATE ROLE " + role + " LOGIN REPLICATION PASSWORD 'before-reset-1'");
        String pw = newPassword(BASE);
        for (Source src : sources(owner, pw)) {
            Set<String> secrets = forms(pw, src.typedForms());
            String next = "next:pw@/+%-" + N.incrementAndGet();
            secrets.addAll(forms(next, List.of()));
            for (Mode mode : List.of(Mode.DRY_RUN, Mode.JSON)) {
                List<String> extra = mode == Mode.JSON ? List.of("--dry-run") : List.of();
                List<String> args = new ArrayList<>(List.of("--role", role, "--reset-password", "--password-stdin"));
                args.addAll(extra);
                TestPg.Run r = check("replication-role --reset-password", mode, CreateReplicationRole::new, src,
                        next + "\n", secrets, args.toArray(String[]::new));
                expectOk(r);
            }
        }
    }

    // ---- the lab --------------------------------------------------------------------------------

    @Test
    void labPrintsNoPassword() throws Exception {
        Lab.Server s = TestPg.server();
        Set<String> secrets = new LinkedHashSet<>();
        secrets.addAll(forms(Files.readString(s.dir.resolve("owner.password")).strip(), List.of()));
        secrets.addAll(forms(Files.readString(s.dir.resolve("superuser.password")).strip(), List.of()));
        Source none = new Source("lab", baseEnv(), List.of("--dir", s.dir.toString()), List.of());
        // (lab status and start change nothing, so --dry-run adds nothing to check)
        for (Mode mode : List.of(Mode.RECORD, Mode.JSON)) {
            expectOk(check("lab status", mode, Lab::new, none, "", secrets, "status"));
            expectOk(check("lab start --detach", mode, Lab::new, none, "", secrets, "start", "--detach"));
        }
        expectOk(check("lab url", null, Lab::new, none, "", secrets, "url"));
        TestPg.Run env = check("lab env", null, Lab::new, none, "", secrets, "env");
        expectOk(env);
        assertTrue(env.out().contains("PGPASSFILE="), env.out());

        // the demo on a server that is not ready: it stops at A.1, prints no password, leaves the server running
        Lab.Server replica = ExtraServers.replica();
        Set<String> replicaSecrets = new LinkedHashSet<>(secrets);
        replicaSecrets.addAll(forms(Files.readString(replica.dir.resolve("owner.password")).strip(), List.of()));
        Source other = new Source("lab", baseEnv(), List.of("--dir", replica.dir.toString()), List.of());
        for (Mode mode : List.of(Mode.RECORD, Mode.JSON)) {
            TestPg.Run demo = check("lab demo", mode, Lab::new, other, "", replicaSecrets, "demo");
            assertEquals(Exit.NOT_READY, demo.exit(), demo.all());
        }
        assertTrue(replica.running());
    }
}
