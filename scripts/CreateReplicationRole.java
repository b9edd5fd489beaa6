///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step A.2.3: create the login role Materialize replicates as (default materialize), with LOGIN REPLICATION.

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import org.postgresql.util.PasswordUtil;

import com.google.gson.JsonObject;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Secrets;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step A.2.3 — "Create a dedicated user for Materialize". On plain PostgreSQL that is
 * {@code CREATE ROLE … LOGIN REPLICATION}. On Neon a role made with SQL never has REPLICATION and it
 * cannot be granted; roles made with the Console, neonctl or the API get it (neon.md §3), so on Neon
 * this script only checks an existing role and otherwise says how to create one.
 *
 * The password is hashed here (SCRAM-SHA-256, as psql's \password does), so the server's statement log
 * never sees it, and it leaves this process only where asked: a 0600 file, or the terminal.
 *
 * {@code --via api} makes the role the way Neon wants it: POST /projects/{id}/branches/{id}/roles, so the
 * control plane creates it with REPLICATION and membership in neon_superuser. Neon generates the password
 * and returns it once, in that response; it goes where asked, as above.
 */
@Command(name = "replication-role", mixinStandardHelpOptions = true,
        description = {"Guide step A.2.3: create the role Materialize connects as (default materialize) with LOGIN "
                + "REPLICATION. An existing role is checked and kept; its password changes only with "
                + "--reset-password. On Neon (--via sql): checks a role made with the Console/neonctl/API.",
                "--via api (Neon): creates the role through the Neon API on the branch (default: the default "
                        + "branch). Roles made this way get REPLICATION (they join neon_superuser), which a role made "
                        + "with SQL on Neon never gets: that is why to use it on Neon. Neon generates the password; "
                        + "it goes to --password-out FILE or --show-password. Creating a role or resetting its "
                        + "password drops open connections to the branch's compute."},
        footer = {"%nExamples:",
                "  ./jbang replication-role --password-out ~/.neonmz/materialize.password",
                "  ./jbang replication-role --password-stdin < pw.txt",
                "  ./jbang replication-role --role mz_ingest --show-password   # terminal only",
                "  NEON_API_KEY=… ./jbang replication-role --via api --project shiny-wind-028834 \\",
                "    --password-out ~/.neonmz/materialize.password   # on Neon",
                "  neonctl roles create --name materialize   # on Neon, then: ./jbang replication-role"})
public class CreateReplicationRole implements Callable<Integer>, Cli.Resumable {
    /** The role as the guide wants it; the password is a SCRAM verifier computed here. */
    static final String CREATE_ROLE = "CREATE ROLE %s WITH LOGIN REPLICATION PASSWORD %s";
    static final String ALTER_ATTRIBUTES = "ALTER ROLE %s WITH LOGIN REPLICATION";
    static final String ALTER_PASSWORD = "ALTER ROLE %s WITH PASSWORD %s";
    static final String ROLE = """
            SELECT rolcanlogin, rolreplication, rolsuper, rolbypassrls,
                   pg_has_role(r.oid, 'neon_superuser', 'MEMBER') AS neon_superuser
            FROM pg_roles r WHERE rolname = ?""";
    static final String ROLE_NO_NEON = """
            SELECT rolcanlogin, rolreplication, rolsuper, rolbypassrls, false AS neon_superuser
            FROM pg_roles r WHERE rolname = ?""";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-r", "--role"}, paramLabel = "NAME", description = "Role name (default ${DEFAULT-VALUE}).")
    String role = "materialize";

    @Option(names = "--password-file", paramLabel = "FILE", description = "Use the password on the first line of FILE.")
    Path passwordFile;

    @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
    boolean passwordStdin;

    @Option(names = "--password-out", paramLabel = "FILE",
            description = "Write the (generated) password to FILE, readable by you only (0600).")
    Path passwordOut;

    @Option(names = "--show-password", description = "Print the generated password once, only if stdout is a terminal.")
    boolean showPassword;

    @Option(names = "--reset-password", description = "Give an existing role a new password (drops nothing else; "
            + "with --via api Neon drops open connections to the compute).")
    boolean resetPassword;

    enum Via { sql, api }

    @Option(names = "--via", paramLabel = "sql|api", description = "How to make the role: sql (default: CREATE ROLE on "
            + "the database) or api (Neon API: the role gets REPLICATION through neon_superuser).")
    Via via = Via.sql;

    @Mixin NeonOptions neon;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5m",
            description = "With --via api: how long to wait in all for the Neon API and its operations "
                    + "(default ${DEFAULT-VALUE}).")
    Duration timeout;

    // --via api sends what the guide's curl sends: POST /projects/{project_id}/branches/{branch_id}/roles
    // with {"role":{"name":"materialize"}} (NeonApi.createRole; --dry-run prints it).

    public static void main(String... args) {
        Cli.main(new CreateReplicationRole(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Sql.requireName("role", role);
        if (passwordFile != null && passwordStdin) {
            throw Fail.usage("--password-file and --password-stdin both given", "use one");
        }
        if (via == Via.api) {
            return viaApi(o);
        }
        if (neon.givenOption() != null) {
            throw Fail.usage(neon.givenOption() + " is for --via api (the Neon API)", "add --via api, or drop "
                    + neon.givenOption());
        }
        try (Pg db = pg.connect(o)) {
            String neonEndpoint = db.neonEndpoint();
            boolean neon = neonEndpoint != null;
            boolean hasNeonSuperuser = db.value("SELECT 1 FROM pg_roles WHERE rolname = 'neon_superuser'") != null;
            List<Map<String, Object>> rows = db.query(hasNeonSuperuser ? ROLE : ROLE_NO_NEON, role);
            Map<String, Object> r = rows.isEmpty() ? null : rows.get(0);
            o.put("role", role);
            o.put("neon", neon);
            if (neon) {
                return onNeon(o, r);
            }
            if (r == null) {
                try {
                    return create(o, db);
                } catch (java.sql.SQLException e) {
                    if (!Pg.duplicate(e)) {
                        throw e;
                    }
                    // another run created it between the read and the CREATE: go on as a re-run would
                    o.line("role %s: created meanwhile by another session", role);
                    r = db.query(hasNeonSuperuser ? ROLE : ROLE_NO_NEON, role).get(0);
                }
            }
            return update(o, db, r);
        }
    }

    /** No such role: the guide's CREATE ROLE, with a password given or generated. */
    private Integer create(Out o, Pg db) throws SQLException {
        String pw = password(o);
        db.transaction(List.of(String.format(CREATE_ROLE, Sql.ident(role), Sql.literal(verifier(pw)))));
        deliver(o, pw);
        o.put("created", true);
        o.line("role %s: %s (LOGIN REPLICATION)%s", role, o.dryRun() ? "would be created" : "created", where());
        return Exit.OK;
    }

    /** The role exists: LOGIN REPLICATION added when missing; a new password only with --reset-password. */
    private Integer update(Out o, Pg db, Map<String, Object> r) throws SQLException {
        String q = Sql.ident(role);
        boolean login = (Boolean) r.get("rolcanlogin");
        boolean repl = (Boolean) r.get("rolreplication") || (Boolean) r.get("rolsuper");
        List<String> sqls = new ArrayList<>();
        if (!login || !repl) {
            sqls.add(String.format(ALTER_ATTRIBUTES, q));
        }
        String pw = null;
        if (resetPassword) {
            pw = password(o);
            sqls.add(String.format(ALTER_PASSWORD, q, Sql.literal(verifier(pw))));
        }
        o.put("created", false);
        o.put("attributes_added", !login || !repl);
        o.put("password_reset", resetPassword);
        if (sqls.isEmpty()) {
            if (showPassword || passwordStdin || passwordOut != null && passwordFile == null && !kept()) {
                o.warn("role " + role + " exists; its password was not changed (use --reset-password to set a new one)");
            }
            String verified = checkLogin(o);
            o.line("role %s: already done (exists with LOGIN REPLICATION; password unchanged%s)", role, verified);
            o.put("already_done", true);
            return Exit.OK;
        }
        db.transaction(sqls);
        if (pw != null) {
            deliver(o, pw);
            o.warn("a new password takes effect now: update the Materialize secret (CREATE SECRET / ALTER SECRET) "
                    + "that holds the old one");
        }
        o.line("role %s: %s%s%s", role, !login || !repl ? "LOGIN REPLICATION added" : "exists",
                resetPassword ? ", password reset" : "", pw != null ? where() : "");
        return Exit.OK;
    }

    /** Neon: REPLICATION comes only from roles the control plane makes (Console, neonctl, API). */
    private Integer onNeon(Out o, Map<String, Object> r) {
        String create = "create it through the Neon API with this script: ./jbang replication-role --via api --role "
                + Out.shellQuote(role) + " --password-out FILE (NEON_API_KEY, --project), or with the Neon CLI "
                + "(neonctl roles create --name " + role + ") or the Console (Branches → your branch → Roles & "
                + "Databases → Add Role); then run this again to check it";
        if (r == null) {
            throw new Fail(Exit.NEEDS_NEON_API, "this is Neon: a role made with SQL never gets the REPLICATION "
                    + "privilege, and it cannot be granted; role " + role + " does not exist yet", create);
        }
        boolean repl = (Boolean) r.get("rolreplication");
        if (!repl) {
            throw new Fail(Exit.NEEDS_NEON_API, "role " + role + " exists but lacks REPLICATION; on Neon that means it "
                    + "was made with SQL, and the privilege cannot be granted",
                    "drop it (DROP ROLE " + Sql.ident(role) + ") and " + create);
        }
        if (!(Boolean) r.get("rolcanlogin")) {
            throw new Fail(Exit.CONFLICT, "role " + role + " cannot log in (NOLOGIN)",
                    "create a login role with neonctl roles create --name " + role);
        }
        if (resetPassword) {
            throw new Fail(Exit.NEEDS_NEON_API, "on Neon a role's password is reset through Neon, not SQL",
                    "./jbang replication-role --via api --reset-password --password-out FILE, or neonctl roles "
                            + "reset-password, or Console → Roles → Reset password");
        }
        o.put("already_done", true);
        o.line("role %s: already done (exists on Neon with LOGIN REPLICATION%s)", role,
                Boolean.TRUE.equals(r.get("neon_superuser")) ? ", member of neon_superuser" : "");
        return Exit.OK;
    }

    /**
     * --via api: the role from Neon's control plane. Looked up first (safe to run twice); created only when
     * absent, and only once its password has somewhere to go (Neon shows a new role's password once).
     */
    private Integer viaApi(Out o) {
        RoleChecks.requireApiOptions(o, passwordFile != null || passwordStdin, role);
        Durations.requirePositive("--timeout", timeout, "5m");
        NeonApi api = neon.client(o, timeout);
        JsonObject project = api.resolveProject(neon.project());
        String pid = project.get("id").getAsString();
        JsonObject branch = api.resolveBranch(pid, neon.branch);
        String bid = branch.get("id").getAsString();
        String where = "Neon project " + project.get("name").getAsString() + " (" + pid + "), branch "
                + branch.get("name").getAsString();
        o.put("role", role);
        o.put("via", "api");
        o.put("neon_project", pid);
        o.put("neon_branch", bid);
        JsonObject existing = api.getRole(pid, bid, role);
        generated = true;   // Neon's password, never one the user gave
        if (existing != null && !resetPassword) {
            if (passwordOut != null || showPassword) {
                o.warn("role " + role + " exists; its password was not changed and Neon shows it only when it is made "
                        + "(use --reset-password for a new one)");
            }
            o.put("created", false);
            o.put("password_reset", false);
            o.put("already_done", true);
            o.line("role %s: already done (exists in %s; password unchanged)", role, where);
            return Exit.OK;
        }
        requireDestination(o, existing != null);
        String pw = existing == null ? createViaApi(o, api, pid, bid) : resetViaApi(o, api, pid, bid);
        if (pw != null) {
            deliver(o, pw);
        }
        String did = existing == null
                ? (o.dryRun() ? "would be created" : "created") + " in " + where + " (LOGIN REPLICATION, member of neon_superuser)"
                : (o.dryRun() ? "password would be reset" : "password reset") + " in " + where;
        o.line("role %s: %s%s", role, did, where());
        return Exit.OK;
    }


    /** The role made by Neon's control plane; returns the password Neon generated (shown only in this answer). */
    private String createViaApi(Out o, NeonApi api, String pid, String bid) {
        o.warn("creating a role makes Neon apply the branch's configuration: open connections to its compute drop");
        String pw = api.createRole(pid, bid, role);
        o.put("created", !o.dryRun());
        o.put("password_reset", false);
        return pw;
    }

    /** --reset-password of an existing role through Neon; returns the new password Neon generated. */
    private String resetViaApi(Out o, NeonApi api, String pid, String bid) {
        o.warn("resetting the password drops open connections to the compute; the old password stays valid until "
                + "Neon's operation finishes; then update the Materialize secret that holds it "
                + "(./jbang connection --rotate)");
        String pw = api.resetRolePassword(pid, bid, role);
        o.put("created", false);
        o.put("password_reset", !o.dryRun());
        return pw;
    }

    /** Neon's password exists once, in the answer: refuse before creating when it has nowhere to go. */
    private void requireDestination(Out o, boolean replace) {
        if (passwordOut == null && !showPassword && !o.dryRun()) {
            throw Fail.usage("Neon shows the new password once, and nowhere was given to keep it; nothing changed",
                    "add --password-out FILE (0600), or --show-password on a terminal");
        }
        if (showPassword && !Cli.ctx().terminal()) {
            throw Fail.usage("--show-password prints only to a terminal, and stdout is not one",
                    "use --password-out FILE instead");
        }
        if (passwordOut != null && !replace && java.nio.file.Files.exists(passwordOut)) {
            throw new Fail(Exit.CONFLICT, "password file " + passwordOut + " exists already; nothing was changed",
                    "choose another --password-out, or remove the old file if its password is not needed");
        }
    }

    /** The password to set: given (file, stdin, $MZ_REPLICATION_PASSWORD) or generated. */
    private String password(Out o) {
        String pw = Secrets.given(passwordFile, passwordStdin, "MZ_REPLICATION_PASSWORD");
        if (pw == null && kept()) {
            // the file an earlier run wrote (the role since dropped, e.g. by lab reset or teardown): one password,
            // one place, so the steps that read the file still log in
            pw = Secrets.readFile(passwordOut, "password");
            reused = true;
            return pw;
        }
        if (pw == null) {
            if (passwordOut == null && !showPassword && !o.dryRun()) {
                throw Fail.usage("a generated password must be kept somewhere, and nowhere was given",
                        "add --password-out FILE (0600), or --show-password on a terminal, or give one with "
                                + "--password-file/--password-stdin/$MZ_REPLICATION_PASSWORD");
            }
            pw = Secrets.generate();
            generated = true;
        }
        if (passwordOut != null && !resetPassword && java.nio.file.Files.exists(passwordOut)) {
            throw new Fail(Exit.CONFLICT, "password file " + passwordOut + " exists already; nothing was changed",
                    "choose another --password-out, or remove the old file if its password is not needed");
        }
        if (pw.length() < 8) {
            throw Fail.usage("the password is shorter than 8 characters", "use a longer one, or let it be generated");
        }
        if (showPassword && !Cli.ctx().terminal()) {
            throw Fail.usage("--show-password prints only to a terminal, and stdout is not one",
                    "use --password-out FILE instead");
        }
        return pw;
    }

    private boolean generated;
    private boolean reused;

    /** --password-out names a file that exists, and no new password was asked for: the password is the file's. */
    private boolean kept() {
        return passwordOut != null && !resetPassword && java.nio.file.Files.exists(passwordOut);
    }

    /** The role exists and a file holds its password: "already done" only when that password logs in (RoleChecks). */
    private String checkLogin(Out o) {
        Path file = passwordFile != null ? passwordFile : kept() ? passwordOut : null;
        return file == null || o.dryRun() ? "" : RoleChecks.check(o, pg.resolve(o), role, file);
    }

    private static String verifier(String pw) {
        return Secrets.register(PasswordUtil.encodeScramSha256(pw.toCharArray()));
    }

    /** Puts a password where the user asked: a 0600 file and/or the terminal (never JSON or a log). */
    private void deliver(Out o, String pw) {
        if (o.dryRun()) {
            return;
        }
        if (passwordOut != null && !reused) {
            Secrets.writeFile(passwordOut, pw, resetPassword);
            o.put("password_file", passwordOut.toString());
        }
        if (showPassword && generated) {
            // The only place a secret is printed unmasked: straight to the user's terminal, never recorded.
            System.console().writer().println("password for " + role + ": " + pw);
            System.console().writer().flush();
        }
    }

    private String where() {
        return passwordOut == null ? "" : reused ? "; password from " + passwordOut + " (kept: an earlier run wrote it)"
                : "; password in " + passwordOut + " (0600)";
    }
}

/**
 * The role's checks that are not the step's story: whether the password in a file logs in as the role, as
 * Materialize will (a refused password, 28P01, is the step's failure, with the fix; any other failure, such as
 * pg_hba or too many connections, only a warning), and the names and options Neon's API refuses.
 */
final class RoleChecks {
    private RoleChecks() {}

    /** Names Neon keeps for itself (DOCS manage/roles.md), besides any starting with pg_. */
    static final Set<String> NEON_RESERVED = Set.of("neon_superuser", "cloud_admin", "zenith_admin", "public", "none");

    /** --via api: Neon generates the password, and reserves some names. */
    static void requireApiOptions(Out o, boolean passwordGiven, String role) {
        if (passwordGiven) {
            throw Fail.usage("--password-file/--password-stdin do not go with --via api: Neon generates the password "
                    + "of a role it creates (or resets)", "drop it; Neon's password goes to --password-out FILE (0600) "
                    + "or, on a terminal, --show-password");
        }
        if (Cli.ctx().env("MZ_REPLICATION_PASSWORD") != null) {
            o.warn("$MZ_REPLICATION_PASSWORD is not used with --via api: Neon generates the password");
        }
        if (role.toLowerCase(Locale.ROOT).startsWith("pg_") || NEON_RESERVED.contains(role)) {
            throw Fail.usage("Neon reserves the role name " + role + " (names starting with pg_, and "
                    + String.join(", ", NEON_RESERVED.stream().sorted().toList()) + ")", "choose another --role");
        }
    }

    static String check(Out o, ConnInfo ci, String role, Path file) {
        ci.user = role;
        ci.password(Secrets.readFile(file, "password"), "file " + file);
        SQLException e = Pg.loginFailure(ci);
        if (e == null) {
            o.put("password_verified", true);
            return "; the password in " + file + " logs in";
        }
        if (Pg.wrongPassword(e)) {
            throw new Fail(Exit.CONFLICT, "role " + role + " exists, but the password in " + file
                    + " does not log in as " + role + " (it is not the role's password)",
                    "./jbang replication-role --reset-password --password-out " + Out.shellQuote(file.toString())
                            + " gives the role a new password in that file (then update Materialize's secret: "
                            + "./jbang connection --rotate)");
        }
        o.warn("could not check that the password in " + file + " logs in as " + role + ": "
                + Secrets.mask(String.valueOf(e.getMessage())));
        return "";
    }
}
