import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.google.gson.JsonObject;

import neonmz.Exit;

/**
 * Issue #14 parts 3 and 4: a table of bad inputs over every script. Each case runs in-process twice (human
 * with --verbose and --record FILE, then --json) and must fail with its own exit code, one "error:" line with
 * the expected words and one "fix:" line with its own, the same in error.message/error.fix under --json,
 * change nothing (the upstream catalog and slots, and no changing request to the fake Neon API), and print
 * none of the secrets it was given (stdout, stderr, the JSON, the transcript). A few cases also run as a
 * child JVM whose argv (/proc/PID/cmdline, and its children's) is sampled while it runs.
 *
 * Every secret is new per case (a counter in it), so no earlier run can have taught the mask that secret:
 * each case proves its own path registers what it reads.
 */
class BadInputCorpusTest {
    static final AtomicInteger N = new AtomicInteger();
    static final String POOLER = "ep-x-pooler.c-2.us-east-2.aws.neon.tech";
    static final String DIRECT = "ep-x.c-2.us-east-2.aws.neon.tech";
    static String db;
    static FakeNeonApi api;
    static Path dir;
    static int closedPort;
    /** Cases run, by script and by kind (for the report). */
    static final Map<String, Integer> BY_SCRIPT = new TreeMap<>();
    static final Map<String, Integer> BY_KIND = new TreeMap<>();

    /**
     * One bad input: the script (its alias), the kind, the expected exit code, words of the message and of the
     * fix, the arguments and environment, the secrets it was given, and warnings the human run must print.
     */
    record Case(String script, String kind, String name, int exit, String msg, String fix, List<String> args,
            Map<String, String> env, Set<String> secrets, List<String> warnings) {
        @Override
        public String toString() {
            return script + " [" + kind + "] " + name;
        }
    }

    /** Builds one case: each gets its own secrets (pw(), key()), registered for the check. */
    static final class B {
        final String script;
        final String kind;
        final String name;
        final int n = N.incrementAndGet();
        final Set<String> secrets = new LinkedHashSet<>();
        final Map<String, String> env = new HashMap<>(TestPg.env(db));
        final List<String> args = new ArrayList<>();
        final List<String> warnings = new ArrayList<>();
        int exit;
        String msg;
        String fix;

        B(String script, String kind, String name) {
            this.script = script;
            this.kind = kind;
            this.name = name;
            // a Materialize password and a replication password in every run: never needed by a bad input,
            // never to be printed (Materialize itself is a closed port: nothing can reach it)
            env.put("MZ_URL", "postgresql://materialize@127.0.0.1:" + closedPort + "/materialize");
            env.put("MZ_PASSWORD", secret("Mz-S3cret-pw-" + n));
            env.put("MZ_REPLICATION_PASSWORD", secret("Repl-S3cret-pw-" + n));
            env.putAll(api.env());
            env.put("NEON_API_KEY", FakeNeonApi.KEY);
            secrets.add(FakeNeonApi.KEY);
        }

        String secret(String s) {
            secrets.add(s);
            secrets.add(URLEncoder.encode(s, StandardCharsets.UTF_8));
            return s;
        }

        /** The upstream password of this case (distinctive, new). */
        String pw() {
            return secret("Sup3r-S3cret-pw-" + n);
        }

        /** An API key of this case that the fake does not know (unless told). */
        String key() {
            return secret("napi_c0rpus" + n + "x7fQ2mZpL9vKs3");
        }

        B args(String... a) {
            args.addAll(List.of(a));
            return this;
        }

        B env(String k, String v) {
            if (v == null) {
                env.remove(k);
            } else {
                env.put(k, v);
            }
            return this;
        }

        B warns(String w) {
            warnings.add(w);
            return this;
        }

        Case fails(int exit, String msg, String fix) {
            return new Case(script, kind, name, exit, msg, fix, List.copyOf(args), Map.copyOf(env), Set.copyOf(secrets),
                    List.copyOf(warnings));
        }
    }

    static B c(String script, String kind, String name) {
        return new B(script, kind, name);
    }

    @BeforeAll
    static void setUp() throws IOException {
        db = TestPg.newDatabase();
        TestPg.exec(db, "CREATE PUBLICATION pall FOR ALL TABLES");
        TestPg.exec(db, "CREATE PUBLICATION plist FOR TABLE orders");
        api = new FakeNeonApi();
        api.addRole(api.defaultBranch(FakeNeonApi.PROJECT_ID), "materialize", "npg_C0rpusRolePw77");
        dir = Files.createTempDirectory(Path.of("target"), "corpus-");
        closedPort = TestPg.freePort();
    }

    @AfterAll
    static void tearDown() {
        api.close();
        System.out.println("BadInputCorpusTest: cases by script " + BY_SCRIPT + "; by kind " + BY_KIND);
    }

    static String url(String userinfo, String host, String rest) {
        return "postgresql://" + userinfo + "@" + host + rest;
    }

    static String local(String userinfo) {
        return url(userinfo, "127.0.0.1:" + TestPg.server().port(), "/" + db + "?sslmode=disable");
    }

    static Path file(String name, String content, String perms) {
        try {
            Path f = dir.resolve(N.incrementAndGet() + "-" + name);
            Files.writeString(f, content);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
            return f;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cases, by kind. */
    static List<Case> cases() {
        List<Case> all = new ArrayList<>();
        urls(all);
        pooler(all);
        names(all);
        objects(all);
        files(all);
        neonApi(all);
        options(all);
        return all;
    }

    // ---- malformed connection strings -----------------------------------------------------------

    static void urls(List<Case> all) {
        B b = c("check-logical-replication", "url", "port out of range");
        all.add(b.args("--pg-url", url("neondb_owner:" + b.pw(), "127.0.0.1:99999", "/neondb")).fails(Exit.USAGE,
                "invalid port: 99999", "1 to 65535"));
        b = c("replica-identity", "url", "key=value without =");
        all.add(b.args("--table", "orders", "--pg-url", "host=127.0.0.1 password=" + b.pw() + " dbname")
                .fails(Exit.USAGE, "missing \"=\" after \"dbname\"", "key=value"));
        b = c("publication", "url", "unknown sslmode");
        all.add(b.args("--table", "orders", "--pg-url", local("neondb_owner:" + b.pw()).replace("disable", "requir"))
                .fails(Exit.USAGE, "invalid sslmode: requir", "verify-full"));
        b = c("replication-role", "url", "IPv6 without ]");
        all.add(b.args("--pg-url", url("neondb_owner:" + b.pw(), "[::1", "/neondb")).fails(Exit.USAGE,
                "missing \"]\" after an IPv6 address", "["));
        b = c("grants", "url", "unterminated quote");
        all.add(b.args("--pg-url", "host=127.0.0.1 password='" + b.pw() + " dbname=x").fails(Exit.USAGE,
                "unterminated quoted value for password", "quote"));
        b = c("stream-check", "url", "bad percent-encoding");
        all.add(b.args("--pg-url", url("neondb_owner:" + b.pw() + "%zz", "127.0.0.1", "/neondb")).fails(Exit.USAGE,
                "invalid percent-encoding", "%25"));
        b = c("tap", "url", "unencoded / in the password");
        String slashed = b.secret("Sup3r/S3cret-pw-" + b.n);
        all.add(b.args("--pg-url", url("neondb_owner:" + slashed, "127.0.0.1", "/neondb")).fails(Exit.USAGE,
                "unencoded /, ? or #", "%2F"));
        b = c("loadgen", "url", "IPv6 with a bad port");
        all.add(b.args("--pg-url", url("neondb_owner:" + b.pw(), "[2001:db8::1]:port", "/neondb")).fails(Exit.USAGE,
                "invalid port", "1 to 65535"));
        b = c("check-logical-replication", "url", "IPv6 loopback, nothing listening");
        all.add(b.args("--pg-url", url("neondb_owner:" + b.pw(), "[::1]:" + closedPort, "/neondb?sslmode=disable"))
                .warns("the password in --pg-url is used").fails(Exit.CONNECT, "::1", "running"));
        b = c("doctor", "url", "jdbc: URL with an unknown sslmode");
        all.add(b.args("--pg-url", "jdbc:" + local("neondb_owner:" + b.pw()).replace("disable", "verify-fulll"))
                .fails(Exit.USAGE, "invalid sslmode: verify-fulll", "verify-full"));
        b = c("teardown", "url", "DATABASE_URL with a bad port");
        all.add(b.env("DATABASE_URL", url("neondb_owner:" + b.pw(), "127.0.0.1:0", "/neondb")).args("--upstream-only",
                "--yes").fails(Exit.USAGE, "invalid port: 0", "1 to 65535"));
        b = c("explore", "url", "--mz-url key=value with an unknown sslmode");
        all.add(b.args("--mz-url", "host=mz.example.com user=me password=" + b.pw() + " sslmode=on").fails(Exit.USAGE,
                "invalid sslmode: on", "verify-full"));
        b = c("cluster", "url", "--mz-url with a bad port");
        all.add(b.args("--mz-url", url("materialize:" + b.pw(), "mz.example.com:70000", "/materialize")).fails(
                Exit.USAGE, "invalid port: 70000", "1 to 65535"));
        b = c("monitor", "url", "MZ_PORT not a number");
        all.add(b.env("MZ_URL", null).env("MZ_PORT", "sixty").fails(Exit.USAGE, "MZ_PORT is not a port number",
                "give a number"));
    }

    // ---- Neon's pooled host, in every form --------------------------------------------------------

    static void pooler(List<Case> all) {
        B b = c("publication", "pooler", "URI in --pg-url");
        all.add(b.args("--table", "orders", "--pg-url", url("neondb_owner:" + b.pw(), POOLER, "/neondb"))
                .warns("the password in --pg-url is used").fails(Exit.POOLER, "pooled endpoint", DIRECT));
        b = c("replica-identity", "pooler", "key=value");
        all.add(b.args("--table", "orders", "--pg-url", "host=" + POOLER + " dbname=neondb user=o password=" + b.pw())
                .fails(Exit.POOLER, "pooled endpoint", DIRECT));
        b = c("grants", "pooler", "DATABASE_URL");
        all.add(b.env("DATABASE_URL", url("neondb_owner:" + b.pw(), POOLER, "/neondb")).fails(Exit.POOLER,
                "pooled endpoint", DIRECT));
        b = c("replication-role", "pooler", "PGHOST");
        all.add(b.env("DATABASE_URL", null).env("PGHOST", POOLER).env("PGPASSWORD", b.pw()).fails(Exit.POOLER,
                "pooled endpoint", DIRECT));
        b = c("stream-check", "pooler", "upper case");
        all.add(b.args("--pg-url", url("o", POOLER.toUpperCase(), "/neondb")).fails(Exit.POOLER, "pooled endpoint",
                DIRECT.toUpperCase()));
        b = c("tap", "pooler", "second host of a list");
        all.add(b.args("--pg-url", url("o", DIRECT + "," + POOLER, "/neondb")).fails(Exit.POOLER, "pooled endpoint",
                DIRECT));
        b = c("loadgen", "pooler", "jdbc: URL");
        all.add(b.args("--pg-url", "jdbc:postgresql://" + POOLER + ":5432/neondb").fails(Exit.POOLER,
                "pooled endpoint", DIRECT));
        b = c("connection", "pooler", "--upstream-host");
        all.add(b.args("--upstream-host", POOLER).fails(Exit.POOLER, "pooled endpoint", DIRECT));
        b = c("connection", "pooler", "the guide's string with the role's password");
        all.add(b.args("--pg-url", url("materialize:" + b.pw(), POOLER, "/neondb?sslmode=require"))
                .env("MZ_REPLICATION_PASSWORD", null).fails(Exit.POOLER, "pooled endpoint", DIRECT));
        b = c("doctor", "pooler", "--pg-url (doctor reports it as its one FAIL)");
        all.add(b.args("--pg-url", url("o", POOLER, "/neondb"), "--long-transaction", "soon").fails(Exit.USAGE, "soon",
                "--help"));
        b = c("teardown", "pooler", "--pg-url with --upstream-only");
        all.add(b.args("--upstream-only", "--yes", "--pg-url", url("o", POOLER, "/neondb")).fails(Exit.POOLER,
                "pooled endpoint", DIRECT));
        b = c("check-logical-replication", "pooler", "hostaddr beside the pooled name");
        all.add(b.args("--pg-url", "host=" + POOLER + " hostaddr=127.0.0.1 dbname=neondb").fails(Exit.POOLER,
                "pooled endpoint", DIRECT));
        b = c("source", "pooler", "--pg-url");
        all.add(b.args("--pg-url", url("o", POOLER, "/neondb")).fails(Exit.POOLER, "pooled endpoint", DIRECT));
    }

    // ---- identifiers ----------------------------------------------------------------------------

    static void names(List<Case> all) {
        String nul = "p\0x";
        String wide = "é".repeat(32);   // 32 characters, 64 bytes: one over PostgreSQL's 63
        all.add(c("publication", "name", "NUL in --name").args("--name", nul, "--table", "orders")
                .fails(Exit.USAGE, "NUL", "remove it"));
        all.add(c("publication", "name", "64 bytes in 32 characters").args("--name", wide, "--table", "orders")
                .fails(Exit.USAGE, "64 bytes", "shorter"));
        all.add(c("replication-role", "name", "NUL in --role").args("--role", nul).fails(Exit.USAGE, "NUL", "remove it"));
        all.add(c("grants", "name", "64 bytes in --role").args("--role", wide).fails(Exit.USAGE, "64 bytes", "shorter"));
        all.add(c("cluster", "name", "NUL in --name").args("--name", nul).fails(Exit.USAGE, "NUL", "remove it"));
        all.add(c("cluster", "name", "64 characters").args("--name", "c".repeat(64)).fails(Exit.USAGE, "64 bytes", "shorter"));
        all.add(c("connection", "name", "NUL in --connection").args("--connection", nul).fails(Exit.USAGE, "NUL", "remove it"));
        all.add(c("source", "name", "64 characters in --source").args("--source", "s".repeat(64))
                .fails(Exit.USAGE, "64 bytes", "shorter"));
        all.add(c("teardown", "name", "NUL in --publication").args("--upstream-only", "--yes", "--publication", nul)
                .fails(Exit.USAGE, "NUL", "remove it"));
        all.add(c("replica-identity", "name", "unbalanced quote").args("--table", "\"orders")
                .fails(Exit.USAGE, "quote", "\""));
        all.add(c("publication", "name", "three dots").args("--table", "db.public.orders")
                .fails(Exit.USAGE, "too many dots", "quote a name"));
        all.add(c("stream-check", "name", "empty entry in the table list").args("--publication", "plist", "--table", "orders,,customers")
                .fails(Exit.USAGE, "empty", "table"));
        all.add(c("publication", "name", "empty --table").args("--table", "").fails(Exit.USAGE, "empty", "table"));
        all.add(c("replica-identity", "name", "only commas").args("--table", ",,").fails(Exit.USAGE, "empty", "table"));
        all.add(c("tap", "name", "slot name with a space").args("--publication", "plist", "--slot", "my slot").fails(Exit.USAGE, "my slot",
                "a-z"));
    }

    // ---- objects that are missing or different ---------------------------------------------------

    static void objects(List<Case> all) {
        all.add(c("publication", "object", "unknown schema of a table").args("--table", "nosch.orders")
                .fails(Exit.NOT_FOUND, "nosch.orders", "schema"));
        all.add(c("stream-check", "object", "unknown publication").args("--publication", "nopub")
                .fails(Exit.NOT_FOUND, "nopub", "publication"));
        all.add(c("tap", "object", "unknown publication").args("--publication", "nopub")
                .fails(Exit.NOT_FOUND, "nopub", "publication"));
        all.add(c("replica-identity", "object", "unknown schema").args("--schema", "nosch")
                .fails(Exit.NOT_FOUND, "schema not found: nosch", "schema"));
        all.add(c("publication", "object", "FOR ALL TABLES asked for a schema's tables").args("--name", "pall",
                "--schema", "public").fails(Exit.CONFLICT, "FOR ALL TABLES", "--sync"));
        all.add(c("publication", "object", "FOR ALL TABLES asked for a list").args("--name", "pall", "--table",
                "orders,customers").fails(Exit.CONFLICT, "FOR ALL TABLES", "--sync"));
        all.add(c("grants", "object", "unknown role").args("--role", "nobody_here")
                .fails(Exit.NOT_FOUND, "nobody_here", "replication-role"));
        all.add(c("loadgen", "object", "unknown table").args("--count", "1", "--tables", "nosch.t")
                .fails(Exit.NOT_FOUND, "nosch.t", "check the names"));
    }

    // ---- password and key files -------------------------------------------------------------------

    static void files(List<Case> all) {
        B b = c("check-logical-replication", "file", "missing --pg-password-file");
        all.add(b.args("--pg-password-file", dir.resolve("no-such-file").toString()).fails(Exit.USAGE,
                "no-such-file: no such file", "the file that holds the password"));
        b = c("grants", "file", "empty --pg-password-file");
        all.add(b.args("--pg-password-file", file("empty", "", "rw-------").toString()).fails(Exit.USAGE, "is empty",
                "first line"));
        b = c("publication", "file", "--pg-password-file is a directory (unreadable)");
        all.add(b.args("--table", "orders", "--pg-password-file", dir.toString()).fails(Exit.USAGE,
                "cannot read password file", "readable"));
        b = c("replica-identity", "file", "world-readable --pg-password-file with a wrong password");
        all.add(b.args("--table", "orders", "--pg-password-file", file("open", b.pw() + "\n", "rw-r--r--").toString())
                .warns("can be read by every user of this machine; chmod 600").fails(Exit.AUTH, "neondb_owner",
                        "password"));
        b = c("connection", "file", "missing --password-file");
        all.add(b.args("--password-file", dir.resolve("nope").toString()).fails(Exit.USAGE, "nope: no such file",
                "the file that holds the password"));
        b = c("connection", "file", "empty --password-file");
        all.add(b.args("--password-file", file("empty", "\n", "rw-------").toString()).fails(Exit.USAGE, "is empty",
                "first line"));
        b = c("stream-check", "file", "missing --password-file");
        all.add(b.args("--role", "materialize", "--publication", "plist", "--password-file", dir.resolve("nope").toString()).fails(Exit.USAGE, "nope: no such file",
                "the file that holds the password"));
        b = c("cluster", "file", "missing --mz-password-file");
        all.add(b.args("--mz-password-file", dir.resolve("nope").toString()).fails(Exit.USAGE,
                "Materialize password file", "the file that holds the Materialize password"));
        b = c("monitor", "file", "world-readable --mz-password-file, Materialize unreachable");
        all.add(b.args("--mz-password-file", file("mz", b.pw() + "\n", "rw-r--r--").toString())
                .warns("can be read by every user").fails(Exit.CONNECT, "127.0.0.1:" + closedPort, "Materialize"));
        b = c("ip-allow", "file", "missing --api-key-file");
        all.add(b.args("--api-key-file", dir.resolve("nope").toString(), "--ip", "203.0.113.7").fails(Exit.USAGE,
                "Neon API key file", "the file that holds the Neon API key"));
        b = c("connection-details", "file", "empty --api-key-file");
        all.add(b.args("--api-key-file", file("key", "", "rw-------").toString()).fails(Exit.USAGE, "is empty",
                "first line"));
        b = c("replication-role", "file", "missing --password-file");
        all.add(b.args("--password-file", dir.resolve("nope").toString()).fails(Exit.USAGE, "nope: no such file",
                "the file that holds the password"));
    }

    // ---- the Neon API: keys and answers -----------------------------------------------------------

    static void neonApi(List<Case> all) {
        B b = c("connection-details", "api", "wrong key");
        all.add(b.env("NEON_API_KEY", b.key()).fails(Exit.AUTH, "returned 401", "NEON_API_KEY"));
        b = c("ip-allow", "api", "expired key");
        String expired = b.key();
        api.otherKeys.put(expired, "expired");
        all.add(b.env("NEON_API_KEY", expired).args("--ip", "203.0.113.7").fails(Exit.AUTH, "expired", "NEON_API_KEY"));
        b = c("connection-details", "api", "another organization's key");
        String other = b.key();
        api.otherKeys.put(other, "other-org");
        all.add(b.env("NEON_API_KEY", other).fails(Exit.PERMISSION, "403", "may access"));
        b = c("fleet", "api", "another organization's key");
        String other2 = b.key();
        api.otherKeys.put(other2, "other-org");
        all.add(b.env("NEON_API_KEY", other2).args("--org-id", FakeNeonApi.ORG_ID).fails(Exit.PERMISSION, "403",
                "may access"));
        b = c("ip-allow", "api", "no key at all");
        all.add(b.env("NEON_API_KEY", null).args("--ip", "203.0.113.7").fails(Exit.USAGE, "no Neon API key",
                "NEON_API_KEY"));
        b = c("connection-details", "api", "key file with a wrong key");
        all.add(b.args("--api-key-file", file("key", b.key() + "\n", "rw-------").toString()).fails(Exit.AUTH,
                "returned 401", "NEON_API_KEY"));
        b = c("evolve", "api", "wrong key for --on-branch");
        all.add(b.env("NEON_API_KEY", b.key()).args("--migration", file("m.sql", "ALTER TABLE orders ADD COLUMN note "
                + "text;\n", "rw-r--r--").toString(), "--on-branch").fails(Exit.AUTH, "returned 401", "NEON_API_KEY"));
        all.add(c("evolve", "api", "--project without --on-branch").args("--migration", file("m.sql", "SELECT 1;\n",
                "rw-r--r--").toString(), "--project", FakeNeonApi.PROJECT_ID).fails(Exit.USAGE,
                "--project is for --on-branch", "--on-branch"));
        all.add(badAnswer(c("connection-details", "api", "answer not JSON"), "not-json").fails(Exit.CONNECT,
                "not JSON", "--api-host"));
        all.add(badAnswer(c("ip-allow", "api", "answer cut off"), "truncated").args("--ip", "203.0.113.7")
                .fails(Exit.CONNECT, "cut off", "--api-host"));
        all.add(badAnswer(c("fleet", "api", "200 with an error body"), "error-200").args("--org-id", FakeNeonApi.ORG_ID)
                .fails(Exit.CONNECT, "answered 200 with an error: internal error", "try again"));
        all.add(c("ip-allow", "api", "--api-host not a URL").args("--api-host", "not a url", "--ip", "203.0.113.7")
                .fails(Exit.USAGE, "not an http(s) URL", "--api-host"));
    }

    /** The fake answers this case's first request with a bad body (set just before the case runs). */
    static B badAnswer(B b, String kind) {
        b.env.put("NEONMZ_CORPUS_BAD_ANSWER", kind);
        return b;
    }

    // ---- options and the replication password -----------------------------------------------------

    static void options(List<Case> all) {
        B b = c("connection", "url-password", "the URL's password is another user's");
        all.add(b.env("MZ_REPLICATION_PASSWORD", null).args("--pg-url", url("neondb_owner:" + b.pw(), DIRECT,
                "/neondb")).fails(Exit.USAGE, "the password in --pg-url is user neondb_owner's, not materialize's",
                "--role neondb_owner"));
        b = c("connection", "url-password", "the role's password in the URL, an SSL mode Materialize lacks");
        all.add(b.env("MZ_REPLICATION_PASSWORD", null).args("--pg-url", url("materialize:" + b.pw(), DIRECT,
                "/neondb"), "--ssl-mode", "prefer").fails(Exit.USAGE, "--ssl-mode prefer", "require"));
        all.add(c("connection", "option", "both password sources").args("--password-file", "x", "--password-stdin")
                .fails(Exit.USAGE, "both given", "one way"));
        all.add(c("cluster", "option", "replication factor not a number").args("--replication-factor", "two")
                .fails(Exit.USAGE, "two", "--help"));
        all.add(c("monitor", "option", "bad --interval").args("--interval", "soon").fails(Exit.USAGE, "soon", "--help"));
        all.add(c("right-size", "option", "--samples 0").args("--samples", "0").fails(Exit.USAGE, "--samples",
                "--samples 3"));
        all.add(c("explore", "option", "bad --count-timeout").args("--count-timeout", "-1s").fails(Exit.USAGE, "-1s",
                "--help"));
        all.add(c("teardown", "option", "both halves excluded").args("--upstream-only", "--materialize-only")
                .fails(Exit.USAGE, "--upstream-only", "one"));
        all.add(c("loadgen", "option", "negative rate").args("--rate", "-5").fails(Exit.USAGE, "--rate", "--rate 10"));
        all.add(c("fleet", "option", "--parallel 0").args("--parallel", "0").fails(Exit.USAGE, "--parallel", "--parallel 8"));
        all.add(c("watch", "option", "unknown --fail-on kind").args("--once", "--fail-on", "drfit")
                .fails(Exit.USAGE, "drfit", "drift"));
        all.add(c("watch", "option", "--max-retained not a size").args("--once", "--max-retained", "lots")
                .fails(Exit.USAGE, "lots", "--help"));
        b = c("watch", "pooler", "the -pooler host");
        all.add(b.args("--once", "--pg-url", url("neondb_owner:" + b.pw(), "ep-cool-x-123-pooler.us-east-2.aws.neon.tech", "/neondb"))
                .fails(Exit.POOLER, "-pooler", "ep-cool-x-123.us-east-2.aws.neon.tech"));
        all.add(c("runbook", "option", "missing settings file").args("--config", dir.resolve("none.properties")
                .toString(), "--plan").fails(Exit.USAGE, "cannot read settings file", "runbook.properties.example"));
        b = c("runbook", "option", "a password in the settings file");
        all.add(b.args("--config", file("rb.properties", "pg-url = " + local("neondb_owner:" + b.pw()) + "\n",
                "rw-------").toString(), "--plan").fails(Exit.USAGE, "pg-url holds a password", "PGPASSWORD"));
        b = c("runbook", "option", "--lab and --pg-url");
        all.add(b.args("--lab", "--plan", "--pg-url", local("neondb_owner:" + b.pw())).fails(Exit.USAGE,
                "--lab and pg-url", "drop one"));
        all.add(c("adapt", "option", "unknown alias").args("--to", dir.resolve("adapted").toString(), "no-such-step")
                .fails(Exit.USAGE, "no-such-step", "choose among"));
        all.add(c("doctor", "option", "empty --publication").args("--publication", "").fails(Exit.USAGE, "empty",
                "non-empty"));
        all.add(c("source", "option", "unknown --syntax").args("--syntax", "newest").fails(Exit.USAGE, "newest",
                "syntax"));
        all.add(c("lab", "option", "port out of range").args("start", "--port", "70000").fails(Exit.USAGE, "70000",
                "1 to 65535"));
        all.add(c("evolve", "option", "missing migration file").args("--migration", dir.resolve("none.sql").toString())
                .fails(Exit.USAGE, "no such file", "path"));
        all.add(c("evolve", "option", "--apply with --migration").args("--migration", file("m.sql",
                "ALTER TABLE orders ADD COLUMN note text;\n", "rw-r--r--").toString(), "--apply")
                .fails(Exit.USAGE, "--apply follows drift", "deploy the migration first"));
        all.add(c("evolve", "option", "--on-branch without --migration").args("--on-branch")
                .fails(Exit.USAGE, "--on-branch checks a --migration", "--migration FILE --on-branch"));
        b = c("evolve", "pooler", "the -pooler host");
        all.add(b.args("--migration", file("m.sql", "ALTER TABLE orders ADD COLUMN note text;\n", "rw-r--r--").toString(),
                "--pg-url", url("neondb_owner:" + b.pw(), "ep-cool-x-123-pooler.us-east-2.aws.neon.tech", "/neondb"))
                .fails(Exit.POOLER, "-pooler", "ep-cool-x-123.us-east-2.aws.neon.tech"));
        all.add(c("rebuild", "option", "--parallel").args("--parallel").fails(Exit.USAGE, "--parallel is not done",
                "rebuild in place"));
        all.add(c("rebuild", "connect", "Materialize unreachable").args().fails(Exit.CONNECT, "cannot reach Materialize",
                "--mz-url"));
        all.add(c("guard", "option", "--strict with --truncate-only").args("--strict", "--truncate-only")
                .fails(Exit.USAGE, "--truncate-only leaves out", "choose one"));
        // neondb_owner is a member of the lab's neon_superuser, which plain PostgreSQL does not honour: refused, in
        // one transaction, with nothing left
        all.add(c("guard", "object", "event triggers refused").args("--publication", "plist")
                .fails(Exit.PERMISSION, "neon_superuser", "--truncate-only"));
    }

    // ---- running and checking --------------------------------------------------------------------

    /** What a run could change: the upstream catalog, its slots, and the changes sent to the Neon API. */
    static String snapshot() {
        return TestPg.catalogState(db) + TestPg.rows("postgres", "SELECT slot_name FROM pg_replication_slots ORDER BY 1")
                + " api changes: " + api.log.stream().filter(r -> !r.method().equals("GET")).count()
                + " fake projects: " + api.projects;
    }

    static TestPg.Run run(Case c, String... extra) {
        String bad = c.env().get("NEONMZ_CORPUS_BAD_ANSWER");
        if (bad != null) {
            api.badAnswer = bad;
            api.badAnswers = 1;
        }
        List<String> args = new ArrayList<>(c.args());
        args.addAll(List.of(extra));
        try {
            return TestPg.run(Commands.of(c.script()), c.env(), args.toArray(String[]::new));
        } finally {
            api.badAnswers = 0;
        }
    }

    static void assertNoSecret(Case c, String where, String text) {
        for (String s : c.secrets()) {
            assertFalse(text.contains(s), c + ": a secret (" + s.substring(0, 6) + "…) in " + where + ":\n" + text);
        }
    }

    static String noIds(String s) {
        return s.replaceAll("request_id [0-9a-f-]+", "request_id …");
    }

    static void check(Case c) throws IOException {
        String before = snapshot();
        Path record = dir.resolve("record-" + N.incrementAndGet() + ".md");
        TestPg.Run human = run(c, "--verbose", "--record", record.toString());
        String err = human.err();
        assertEquals(c.exit(), human.exit(), c + ":\n" + human.all());
        List<String> errors = err.lines().filter(l -> l.startsWith("error: ")).toList();
        List<String> fixes = err.lines().filter(l -> l.startsWith("  fix: ")).toList();
        assertEquals(1, errors.size(), c + ":\n" + err);
        assertEquals(1, fixes.size(), c + ":\n" + err);
        String message = err.substring(err.indexOf("error: ") + 7, err.indexOf("\n  fix: "));
        assertTrue(message.contains(c.msg()), c + ": message lacks \"" + c.msg() + "\":\n" + err);
        assertTrue(fixes.get(0).contains(c.fix()), c + ": fix lacks \"" + c.fix() + "\":\n" + err);
        assertFalse(err.contains("\tat ") || err.contains("unexpected"), c + ": a stack trace or a bug:\n" + err);
        for (String w : c.warnings()) {
            assertTrue(err.lines().anyMatch(l -> l.startsWith("warning: ") && l.contains(w)), c + ": no warning \"" + w
                    + "\":\n" + err);
        }
        TestPg.Run json = run(c, "--json");
        assertEquals(c.exit(), json.exit(), c + ":\n" + json.all());
        JsonObject o = json.json();
        assertFalse(o.get("ok").getAsBoolean(), c + ": " + json.out());
        assertEquals(c.exit(), o.get("exit").getAsInt(), c + ": " + json.out());
        JsonObject e = o.getAsJsonObject("error");
        assertEquals(noIds(message), noIds(e.get("message").getAsString().replace("\r", "")), c + ": " + json.out());
        assertEquals(fixes.get(0).substring(7), e.get("fix").getAsString(), c + ": " + json.out());
        for (String w : c.warnings()) {
            assertTrue(o.toString().contains(w), c + ": the JSON lacks the warning \"" + w + "\": " + json.out());
        }
        assertEquals(before, snapshot(), c + ": something changed");
        assertNoSecret(c, "stdout", human.out());
        assertNoSecret(c, "stderr", human.err());
        assertNoSecret(c, "--json", json.all());
        // picocli's own errors (a value of the wrong type) come before any option is set: no transcript then
        assertTrue(Files.exists(record) || c.fix().equals("--help"), c + ": no --record transcript");
        assertNoSecret(c, "--record", Files.exists(record) ? Files.readString(record) : "");
        BY_SCRIPT.merge(c.script(), 1, Integer::sum);
        BY_KIND.merge(c.kind(), 1, Integer::sum);
    }

    @TestFactory
    Stream<DynamicTest> corpus() {
        List<Case> cases = cases();
        assertTrue(cases.size() >= 60, "at least 60 cases: " + cases.size());
        Set<String> scripts = new LinkedHashSet<>(Commands.ALL.keySet());
        cases.forEach(c -> scripts.remove(c.script()));
        assertEquals(Set.of(), scripts, "every script has a case");
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
    }

    // ---- argv as ps sees it -----------------------------------------------------------------------

    /**
     * Runs a script as a child JVM with the test's classpath and samples /proc/PID/cmdline of it and its
     * children while it runs; returns every argv seen, and the output.
     */
    static String[] sampledRun(Case c) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Commands.of(c.script()).getClass().getName()));
        cmd.addAll(c.args());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(c.env());
        pb.environment().put("PATH", System.getenv("PATH"));
        Path out = dir.resolve("ps-" + N.incrementAndGet() + ".out");
        Path errFile = dir.resolve("ps-" + N.get() + ".err");
        pb.redirectOutput(out.toFile()).redirectError(errFile.toFile());
        Process p = pb.start();
        StringBuilder seen = new StringBuilder();
        Consumer<ProcessHandle> sample = h -> {
            try {
                seen.append(new String(Files.readAllBytes(Path.of("/proc", String.valueOf(h.pid()), "cmdline")),
                        StandardCharsets.UTF_8).replace('\0', ' ')).append('\n');
            } catch (IOException gone) {
                // ended between listing and reading
            }
        };
        int samples = 0;
        while (p.isAlive()) {
            sample.accept(p.toHandle());
            p.descendants().forEach(sample);
            samples++;
            Thread.sleep(15);
        }
        p.waitFor();
        assertTrue(samples >= 3, c + ": sampled " + samples + " times");
        return new String[] {seen.toString(), Files.readString(out), Files.readString(errFile),
                String.valueOf(p.exitValue())};
    }

    @Test
    void argvHoldsNoSecretTheUserDidNotPutThere() throws Exception {
        Map<String, Case> picked = new java.util.LinkedHashMap<>();
        for (Case c : cases()) {
            switch (c.toString()) {
                case "replica-identity [file] world-readable --pg-password-file with a wrong password",
                     "connection-details [api] wrong key", "connection [file] empty --password-file",
                     "monitor [file] world-readable --mz-password-file, Materialize unreachable" -> picked.put(c.name(), c);
                default -> { }
            }
        }
        assertEquals(4, picked.size(), picked.keySet().toString());
        for (Case c : picked.values()) {
            String[] r = sampledRun(c);
            assertEquals(String.valueOf(c.exit()), r[3], c + ":\n" + r[1] + r[2]);
            for (String s : c.secrets()) {
                assertFalse(r[0].contains(s), c + ": a secret in argv:\n" + r[0]);
                assertFalse(r[1].contains(s) || r[2].contains(s), c + ": a secret in the output");
            }
        }
        // a password the user typed into --pg-url is in argv (their choice), and the run says so
        B b = c("check-logical-replication", "url", "password typed in --pg-url");
        String pw = b.pw();
        Case typed = b.args("--pg-url", url("neondb_owner:" + pw, "[::1]:" + closedPort, "/neondb?sslmode=disable"))
                .fails(Exit.CONNECT, "::1", "running");
        String[] r = sampledRun(typed);
        assertTrue(r[0].contains(pw), "the typed password is in argv, as ps shows it");
        assertTrue(r[2].contains("warning: the password in --pg-url is used, but every user of this machine can read "
                + "it in the process list (ps); prefer PGPASSWORD, ~/.pgpass or --pg-password-file"), r[2]);
        assertFalse(r[1].contains(pw) || r[2].contains(pw), "but it is printed nowhere");
        System.out.println("BadInputCorpusTest: argv sampled in " + (picked.size() + 1) + " child runs");
    }

    /** Materialize's URL gets the same warning in the same words, and so does the runbook that passes both on. */
    @Test
    void everyUrlOptionWarnsInTheSameWords() {
        List<String[]> runs = new ArrayList<>();
        String pgPw = "Sup3r-S3cret-pw-" + N.incrementAndGet();
        String mzPw = "Mz-S3cret-pw-" + N.incrementAndGet();
        String pgUrl = "postgresql://neondb_owner:" + pgPw + "@127.0.0.1:" + closedPort + "/neondb?sslmode=disable";
        String mzUrl = "postgresql://materialize:" + mzPw + "@127.0.0.1:" + closedPort + "/materialize";
        String pgWarning = "warning: the password in --pg-url is used, but every user of this machine can read it in "
                + "the process list (ps); prefer PGPASSWORD, ~/.pgpass or --pg-password-file";
        String mzWarning = "warning: the password in --mz-url is used, but every user of this machine can read it in "
                + "the process list (ps); prefer MZ_PASSWORD, --mz-password-file or --mz-password-stdin";
        Path migration;
        try {
            migration = Files.createTempFile("evolve", ".sql");
            Files.writeString(migration, "ALTER TABLE orders ADD COLUMN note text;\n");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        Map<String, List<String>> needs = Map.of("replica-identity", List.of("--table", "orders"), "publication",
                List.of("--table", "orders"), "teardown", List.of("--upstream-only", "--yes"), "source",
                List.of("--publication", "plist"), "evolve", List.of("--migration", migration.toString()));
        for (String alias : Commands.ALL.keySet()) {
            Object cmd = Commands.of(alias);
            picocli.CommandLine cl = new picocli.CommandLine(cmd);
            boolean pg = cl.getCommandSpec().findOption("--pg-url") != null;
            boolean mz = cl.getCommandSpec().findOption("--mz-url") != null;
            if (alias.equals("connection") || alias.equals("runbook")) {
                continue;   // below
            }
            Map<String, String> env = new HashMap<>(TestPg.env(db));
            env.putAll(api.env());
            if (pg) {
                List<String> a = new ArrayList<>(needs.getOrDefault(alias, List.of()));
                a.addAll(List.of("--pg-url", pgUrl));
                if (mz) {
                    a.addAll(List.of("--mz-url", mzUrl));
                }
                TestPg.Run r = TestPg.run(Commands.of(alias), env, a.toArray(String[]::new));
                runs.add(new String[] {alias, "pg"});
                // a step that reads Materialize first stops there, before it resolves the upstream
                assertTrue(r.err().contains(pgWarning) || mz && r.err().contains("cannot reach Materialize"), alias
                        + ":\n" + r.all());
                assertFalse(r.all().contains(pgPw) || r.all().contains(mzPw), alias + ":\n" + r.all());
            }
            if (mz) {
                List<String> a = new ArrayList<>(alias.equals("teardown") ? List.of("--materialize-only", "--yes")
                        : needs.getOrDefault(alias, List.of()));
                a.addAll(List.of("--mz-url", mzUrl));
                TestPg.Run r = TestPg.run(Commands.of(alias), env, a.toArray(String[]::new));
                runs.add(new String[] {alias, "mz"});
                assertTrue(r.err().contains(mzWarning), alias + ":\n" + r.all());
                assertFalse(r.all().contains(mzPw), alias + ":\n" + r.all());
            }
        }
        // the runbook hands the URLs to its steps through the environment: it warns once itself
        TestPg.Run rb = TestPg.run(new Runbook(), TestPg.env(db), "--plan", "--pg-url", pgUrl, "--mz-url", mzUrl);
        assertTrue(rb.err().contains(pgWarning) && rb.err().contains(mzWarning), rb.all());
        assertFalse(rb.all().contains(pgPw) || rb.all().contains(mzPw), rb.all());
        assertTrue(runs.size() >= 12, Arrays.deepToString(runs.toArray()));

        // connection: the guide's Neon string, whose user is the replication role, gives the role's password
        String rolePw = "Repl-S3cret-pw-" + N.incrementAndGet();
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        TestPg.Run conn = TestPg.run(new CreateConnection(), env, "--pg-url", "postgresql://materialize:" + rolePw + "@"
                + DIRECT + "/neondb?sslmode=require", "--dry-run");
        assertEquals(0, conn.exit(), conn.all());
        assertTrue(conn.err().contains("warning: the password in --pg-url is used as the replication role materialize's "
                + "password (secret pgpass), but every user of this machine can read it in the process list (ps); prefer "
                + "MZ_REPLICATION_PASSWORD, --password-file or --password-stdin"), conn.err());
        assertTrue(conn.out().contains("CREATE SECRET IF NOT EXISTS pgpass AS '********'"), conn.out());
        assertFalse(conn.all().contains(rolePw), conn.all());
        // from DATABASE_URL (not argv): used, and said so
        env.put("DATABASE_URL", "postgresql://materialize:" + rolePw + "x@" + DIRECT + "/neondb");
        TestPg.Run fromEnv = TestPg.run(new CreateConnection(), env, "--dry-run", "--json");
        assertEquals(0, fromEnv.exit(), fromEnv.all());
        assertTrue(fromEnv.json().get("warnings").toString().contains("the password in DATABASE_URL is used as the "
                + "replication role materialize's password"), fromEnv.out());
        assertFalse(fromEnv.all().contains(rolePw), fromEnv.all());
        // another source given: the URL's password is not used, and still said to be in argv
        env.put("MZ_REPLICATION_PASSWORD", rolePw + "y");
        TestPg.Run both = TestPg.run(new CreateConnection(), env, "--pg-url", "postgresql://materialize:" + rolePw
                + "z@" + DIRECT + "/neondb", "--dry-run");
        assertEquals(0, both.exit(), both.all());
        assertTrue(both.err().contains("the password in --pg-url is not used (the replication role's comes from "
                + "MZ_REPLICATION_PASSWORD)"), both.err());
        assertFalse(both.all().contains(rolePw), both.all());
    }
}
