///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
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
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Before guide step C.2: the direct (non-pooled) Neon connection details for the replication role (HOST, PORT, USER, DATABASE, SSL MODE), as a table, JSON or shell exports; the password only into a 0600 file.

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

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
import neonmz.Secrets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What guide step C.2 needs from Neon: {@code CREATE CONNECTION … TO POSTGRES (HOST, PORT, USER, PASSWORD
 * SECRET, SSL MODE, DATABASE)}. The Neon API's connection_uri is asked for the direct URI (never
 * {@code pooled=true}: logical replication does not pass PgBouncer) and split into those fields;
 * {@code channel_binding=require}, which Neon's URIs carry, is dropped because Materialize's connection has no
 * such option. The password is never printed: {@code --password-out} writes it (from reveal_password) to a
 * 0600 file, which {@code ./jbang connection --password-file} then reads.
 */
@Command(name = "connection-details", mixinStandardHelpOptions = true,
        description = {"The direct (non-pooled) connection details of a Neon branch for a role (default materialize) "
                + "and database (default neondb), from the Neon API (GET connection_uri, never pooled): HOST, PORT, "
                + "USER, DATABASE and SSL MODE, the fields guide step C.2 (./jbang connection) needs. A -pooler host is "
                + "refused (exit 10) with the direct host; channel_binding is dropped (Materialize's CREATE CONNECTION "
                + "has no such option). The password is never shown: --password-out FILE writes it to a 0600 file "
                + "(needs a project that stores passwords). --env prints shell exports (PGHOST, PGPORT, PGUSER, "
                + "PGDATABASE, PGSSLMODE) to eval, which every step reads."},
        footer = {"%nExamples:",
                "  ./jbang connection-details                                  # role materialize, database neondb",
                "  ./jbang connection-details --password-out ~/.neonmz/materialize.password",
                "  eval \"$(./jbang connection-details --env)\" && ./jbang connection --password-file ~/.neonmz/materialize.password",
                "  ./jbang connection-details --role neondb_owner --branch dev --json"})
public class ConnectionDetails implements Callable<Integer> {
    @Mixin NeonOptions neon;
    @Mixin OutputOptions out;

    @Option(names = {"-r", "--role"}, paramLabel = "NAME",
            description = "The role to connect as (default ${DEFAULT-VALUE}: the replication role of guide A.2.3).")
    String role = "materialize";

    @Option(names = {"-d", "--database"}, paramLabel = "NAME", description = "The database (default ${DEFAULT-VALUE}).")
    String database = "neondb";

    @Option(names = "--password-out", paramLabel = "FILE",
            description = "Write the role's password (Neon's reveal_password) to FILE, readable by you only (0600); "
                    + "replaces FILE. Never printed.")
    Path passwordOut;

    @Option(names = "--env", description = "Print shell lines to eval: export PGHOST=… PGPORT=… PGUSER=… PGDATABASE=… "
            + "PGSSLMODE=require (the password stays out).")
    boolean env;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Give up on the Neon API after this long (default ${DEFAULT-VALUE}).")
    Duration timeout = Duration.ofMinutes(1);

    public static void main(String... args) {
        Cli.main(new ConnectionDetails(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (env && o.json()) {
            throw Fail.usage("--env and --json both given", "choose one output");
        }
        Durations.requirePositive("--timeout", timeout, "1m");
        if (role.isBlank() || database.isBlank()) {
            throw Fail.usage("--role and --database must not be empty", "e.g. --role materialize --database neondb");
        }
        NeonApi api = neon.client(o, timeout);
        JsonObject project = api.resolveProject(neon.project());
        String pid = project.get("id").getAsString();
        String pname = project.has("name") ? project.get("name").getAsString() : pid;
        JsonObject branch = api.resolveBranch(pid, neon.branch);
        String bid = branch.get("id").getAsString();
        String bname = branch.has("name") ? branch.get("name").getAsString() : bid;

        String uri;
        try {
            uri = api.connectionUri(pid, bid, database, role);   // never pooled=true
        } catch (NeonApi.ApiError e) {
            if (e.status != 404) {
                throw e;
            }
            if (api.getRole(pid, bid, role) == null) {
                throw new Fail(Exit.NOT_FOUND, "no role " + role + " on branch " + bname + " of project " + pname
                        + " (" + e.getMessage() + ")",
                        "create it (guide A.2.3) with ./jbang replication-role --via api, neon roles create --name "
                                + role + ", or the Console (Branches > " + bname + " > Roles); or pass --role", e);
            }
            throw new Fail(Exit.NOT_FOUND, "no database " + database + " on branch " + bname + " of project " + pname
                    + " (" + e.getMessage() + ")", "pass --database NAME (Neon's first database is neondb)", e);
        }
        if (uri == null || uri.isBlank()) {
            throw new Fail(Exit.INTERNAL, "the Neon API's connection_uri answer has no uri", "check --api-host");
        }
        ConnInfo ci = ConnInfo.parse(uri);   // the password in it is registered as a secret and never shown

        // The branch's read_write endpoint is the direct host (there is one per branch, reference/neon.md §1e).
        String endpointHost = null;
        for (JsonObject ep : api.listEndpoints(pid, bid)) {
            if ("read_write".equals(str(ep, "type")) && str(ep, "host") != null) {
                endpointHost = str(ep, "host");
            }
        }
        if (ci.isPooler()) {
            String direct = endpointHost != null ? endpointHost : ci.directHost();
            throw new Fail(Exit.POOLER, "Neon's API answered with the pooled host " + ci.host() + " (PgBouncer, "
                    + "transaction mode), though no pooled URI was asked for; logical replication needs a direct connection",
                    "use the direct host " + direct + " (the same host without \"-pooler\")");
        }
        String host = ci.host();
        if (endpointHost != null && !endpointHost.equalsIgnoreCase(host)) {
            o.warn("connection_uri names host " + host + ", but branch " + bname + "'s read_write endpoint is "
                    + endpointHost + "; check which compute Materialize should use");
        }
        int port = ci.port();
        String user = ci.user != null ? ci.user : role;
        String db = ci.dbname != null ? ci.dbname : database;
        // Neon takes TLS connections only: require unless the URI asks for a stricter check.
        String ssl = ci.sslmode != null && List.of("require", "verify-ca", "verify-full").contains(ci.sslmode)
                ? ci.sslmode : "require";
        String mzSsl = ssl.replace('-', '_');
        ConnInfo shown = new ConnInfo();   // the URI again, without password or channel_binding
        shown.hosts.add(host);
        shown.ports.add(port);
        shown.user = user;
        shown.dbname = db;
        shown.sslmode = ssl;
        String plain = shown.display();

        o.put("project", pid);
        o.put("branch", bname);
        o.put("branch_id", bid);
        o.put("role", role);
        o.put("host", host);
        o.put("port", port);
        o.put("user", user);
        o.put("database", db);
        o.put("ssl_mode", mzSsl);
        o.put("uri", plain);
        o.put("endpoint_host", endpointHost);
        o.put("channel_binding_dropped", ci.channelBinding != null);

        String password = null;
        if (passwordOut != null && !o.dryRun()) {
            try {
                password = api.revealRolePassword(pid, bid, role);
            } catch (NeonApi.ApiError e) {
                if (e.status == 412) {
                    throw new Fail(Exit.NEEDS_NEON_API, "Neon does not store passwords for project " + pname
                            + " (412 from reveal_password), so the password of " + role + " cannot be read back",
                            "give the role a new password and keep it: ./jbang replication-role --via api "
                                    + "--reset-password --password-out " + Out.shellQuote(passwordOut.toString())
                                    + " (or in the Console: Branches > " + bname + " > Roles > " + role
                                    + " > Reset password); a reset drops the role's connections, and an existing "
                                    + "Materialize secret then needs it too (./jbang connection --rotate)", e);
                }
                throw e;
            }
            if (password == null || password.isEmpty()) {
                throw new Fail(Exit.INTERNAL, "the Neon API's reveal_password answer has no password", "check --api-host");
            }
            boolean existed = Files.exists(passwordOut);
            Secrets.writeFile(passwordOut, password, true);
            o.put("password_file", passwordOut.toString());
            o.put("password_file_replaced", existed);
        }
        String passwordNote = passwordOut == null ? "not shown (--password-out FILE writes it to a 0600 file)"
                : o.dryRun() ? "would be written to " + passwordOut + " (0600; --dry-run: not read)"
                : "in " + passwordOut + " (0600)";
        String channelNote = ci.channelBinding == null ? null
                : "channel_binding=" + ci.channelBinding + " from Neon's URI is dropped: Materialize's CREATE "
                        + "CONNECTION has no such option (TLS still applies with SSL MODE " + mzSsl + ")";
        String next = "./jbang connection --role " + Out.shellQuote(role) + " --password-file "
                + (passwordOut != null ? Out.shellQuote(passwordOut.toString()) : "FILE");

        if (env) {
            o.line("# Neon project %s (%s), branch %s: the direct host for role %s; the password is not here", pname, pid,
                    bname, role);
            if (channelNote != null) {
                o.line("# " + channelNote);
            }
            o.line("export PGHOST=%s PGPORT=%d PGUSER=%s PGDATABASE=%s PGSSLMODE=%s", Out.shellQuote(host), port,
                    Out.shellQuote(user), Out.shellQuote(db), Out.shellQuote(ssl));
            o.line("# then, guide C.2: " + next);
            if (Cli.ctx().env("DATABASE_URL") != null) {
                o.warn("DATABASE_URL is set, and every step reads it before PG*: unset DATABASE_URL for these exports "
                        + "to take effect");
            }
            return Exit.OK;
        }
        o.line("Neon project %s (%s), branch %s: direct connection for role %s", pname, pid, bname, role);
        o.table(List.of("FIELD", "VALUE"), List.of(
                List.of("HOST", host),
                List.of("PORT", port),
                List.of("USER", user),
                List.of("DATABASE", db),
                List.of("SSL MODE", mzSsl),
                List.of("PASSWORD", passwordNote)));
        if (channelNote != null) {
            o.line("note: " + channelNote);
        }
        o.line("next, guide C.2: %s --pg-url %s", next, Out.shellQuote(plain));
        return Exit.OK;
    }

    private static String str(JsonObject o, String k) {
        return o.has(k) && o.get(k).isJsonPrimitive() ? o.get(k).getAsString().toLowerCase(Locale.ROOT) : null;
    }
}
