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
        checkGiven(o);
        NeonApi api = neon.client(o, timeout);
        Branch b = branch(api);
        ConnInfo ci = ConnInfo.parse(connectionUri(api, b));   // the password in it is registered as a secret and never shown
        String endpointHost = readWriteHost(api, b);
        Details d = direct(o, b, ci, endpointHost);
        put(o, b, d, endpointHost);
        if (passwordOut != null && !o.dryRun()) {
            writePassword(o, api, b);
        }
        if (env) {
            printEnv(o, b, d);
        } else {
            printTable(o, b, d);
        }
        return Exit.OK;
    }

    /** The checks of what the user gave, before the Neon API is asked. */
    private void checkGiven(Out o) {
        if (env && o.json()) {
            throw Fail.usage("--env and --json both given", "choose one output");
        }
        Durations.requirePositive("--timeout", timeout, "1m");
        if (role.isBlank() || database.isBlank()) {
            throw Fail.usage("--role and --database must not be empty", "e.g. --role materialize --database neondb");
        }
    }

    /** The Neon project and branch asked, by id and name. */
    record Branch(String pid, String pname, String bid, String bname) {}

    private Branch branch(NeonApi api) throws Exception {
        JsonObject project = api.resolveProject(neon.project());
        String pid = project.get("id").getAsString();
        String pname = project.has("name") ? project.get("name").getAsString() : pid;
        JsonObject branch = api.resolveBranch(pid, neon.branch);
        String bid = branch.get("id").getAsString();
        String bname = branch.has("name") ? branch.get("name").getAsString() : bid;
        return new Branch(pid, pname, bid, bname);
    }

    /** Neon's connection_uri for the role and database (never pooled=true); a 404 says which of the two is missing. */
    private String connectionUri(NeonApi api, Branch b) throws Exception {
        String uri;
        try {
            uri = api.connectionUri(b.pid(), b.bid(), database, role);   // never pooled=true
        } catch (NeonApi.ApiError e) {
            if (e.status != 404) {
                throw e;
            }
            if (api.getRole(b.pid(), b.bid(), role) == null) {
                throw new Fail(Exit.NOT_FOUND, "no role " + role + " on branch " + b.bname() + " of project " + b.pname()
                        + " (" + e.getMessage() + ")",
                        "create it (guide A.2.3) with ./jbang replication-role --via api, neon roles create --name "
                                + role + ", or the Console (Branches > " + b.bname() + " > Roles); or pass --role", e);
            }
            throw new Fail(Exit.NOT_FOUND, "no database " + database + " on branch " + b.bname() + " of project " + b.pname()
                    + " (" + e.getMessage() + ")", "pass --database NAME (Neon's first database is neondb)", e);
        }
        if (uri == null || uri.isBlank()) {
            throw new Fail(Exit.INTERNAL, "the Neon API's connection_uri answer has no uri", "check --api-host");
        }
        return uri;
    }

    /** The branch's read_write endpoint is the direct host (there is one per branch, reference/neon.md §1e); null if none. */
    private static String readWriteHost(NeonApi api, Branch b) throws Exception {
        String endpointHost = null;
        for (JsonObject ep : api.listEndpoints(b.pid(), b.bid())) {
            if ("read_write".equals(str(ep, "type")) && str(ep, "host") != null) {
                endpointHost = str(ep, "host");
            }
        }
        return endpointHost;
    }

    /**
     * The direct connection's fields as guide C.2 needs them; {@code ssl} as libpq spells it, {@code mzSsl} as
     * Materialize does, {@code plain} the URI again without password or channel_binding.
     */
    record Details(String host, int port, String user, String db, String ssl, String mzSsl, String plain,
            String channelBinding) {}

    /** Refuses a pooled host; the fields from the URI, defaulting to what was asked; SSL at least require. */
    private Details direct(Out o, Branch b, ConnInfo ci, String endpointHost) {
        if (ci.isPooler()) {
            String direct = endpointHost != null ? endpointHost : ci.directHost();
            throw new Fail(Exit.POOLER, "Neon's API answered with the pooled host " + ci.host() + " (PgBouncer, "
                    + "transaction mode), though no pooled URI was asked for; logical replication needs a direct connection",
                    "use the direct host " + direct + " (the same host without \"-pooler\")");
        }
        String host = ci.host();
        if (endpointHost != null && !endpointHost.equalsIgnoreCase(host)) {
            o.warn("connection_uri names host " + host + ", but branch " + b.bname() + "'s read_write endpoint is "
                    + endpointHost + "; check which compute Materialize should use");
        }
        int port = ci.port();
        String user = ci.user != null ? ci.user : role;
        String db = ci.dbname != null ? ci.dbname : database;
        // Neon takes TLS connections only: require unless the URI asks for a stricter check.
        String ssl = ci.sslmode != null && List.of("require", "verify-ca", "verify-full").contains(ci.sslmode)
                ? ci.sslmode : "require";
        ConnInfo shown = new ConnInfo();   // the URI again, without password or channel_binding
        shown.hosts.add(host);
        shown.ports.add(port);
        shown.user = user;
        shown.dbname = db;
        shown.sslmode = ssl;
        return new Details(host, port, user, db, ssl, ssl.replace('-', '_'), shown.display(), ci.channelBinding);
    }

    /** The details as JSON fields. */
    private void put(Out o, Branch b, Details d, String endpointHost) {
        o.put("project", b.pid());
        o.put("branch", b.bname());
        o.put("branch_id", b.bid());
        o.put("role", role);
        o.put("host", d.host());
        o.put("port", d.port());
        o.put("user", d.user());
        o.put("database", d.db());
        o.put("ssl_mode", d.mzSsl());
        o.put("uri", d.plain());
        o.put("endpoint_host", endpointHost);
        o.put("channel_binding_dropped", d.channelBinding() != null);
    }

    /** --password-out: the role's password (Neon's reveal_password) into a 0600 file; never printed. */
    private void writePassword(Out o, NeonApi api, Branch b) throws Exception {
        String password;
        try {
            password = api.revealRolePassword(b.pid(), b.bid(), role);
        } catch (NeonApi.ApiError e) {
            if (e.status == 412) {
                throw new Fail(Exit.NEEDS_NEON_API, "Neon does not store passwords for project " + b.pname()
                        + " (412 from reveal_password), so the password of " + role + " cannot be read back",
                        "give the role a new password and keep it: ./jbang replication-role --via api "
                                + "--reset-password --password-out " + Out.shellQuote(passwordOut.toString())
                                + " (or in the Console: Branches > " + b.bname() + " > Roles > " + role
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

    /** --env: shell exports to eval (the password stays out). */
    private void printEnv(Out o, Branch b, Details d) {
        o.line("# Neon project %s (%s), branch %s: the direct host for role %s; the password is not here", b.pname(), b.pid(),
                b.bname(), role);
        if (channelNote(d) != null) {
            o.line("# " + channelNote(d));
        }
        o.line("export PGHOST=%s PGPORT=%d PGUSER=%s PGDATABASE=%s PGSSLMODE=%s", Out.shellQuote(d.host()), d.port(),
                Out.shellQuote(d.user()), Out.shellQuote(d.db()), Out.shellQuote(d.ssl()));
        o.line("# then, guide C.2: " + next());
        if (Cli.ctx().env("DATABASE_URL") != null) {
            o.warn("DATABASE_URL is set, and every step reads it before PG*: unset DATABASE_URL for these exports "
                    + "to take effect");
        }
    }

    /** The fields as a table, and the next step with the URI. */
    private void printTable(Out o, Branch b, Details d) {
        String passwordNote = passwordOut == null ? "not shown (--password-out FILE writes it to a 0600 file)"
                : o.dryRun() ? "would be written to " + passwordOut + " (0600; --dry-run: not read)"
                : "in " + passwordOut + " (0600)";
        o.line("Neon project %s (%s), branch %s: direct connection for role %s", b.pname(), b.pid(), b.bname(), role);
        o.table(List.of("FIELD", "VALUE"), List.of(
                List.of("HOST", d.host()),
                List.of("PORT", d.port()),
                List.of("USER", d.user()),
                List.of("DATABASE", d.db()),
                List.of("SSL MODE", d.mzSsl()),
                List.of("PASSWORD", passwordNote)));
        if (channelNote(d) != null) {
            o.line("note: " + channelNote(d));
        }
        o.line("next, guide C.2: %s --pg-url %s", next(), Out.shellQuote(d.plain()));
    }

    private static String channelNote(Details d) {
        return d.channelBinding() == null ? null
                : "channel_binding=" + d.channelBinding() + " from Neon's URI is dropped: Materialize's CREATE "
                        + "CONNECTION has no such option (TLS still applies with SSL MODE " + d.mzSsl() + ")";
    }

    /** Guide C.2's command with these details. */
    private String next() {
        return "./jbang connection --role " + Out.shellQuote(role) + " --password-file "
                + (passwordOut != null ? Out.shellQuote(passwordOut.toString()) : "FILE");
    }

    private static String str(JsonObject o, String k) {
        return o.has(k) && o.get(k).isJsonPrimitive() ? o.get(k).getAsString().toLowerCase(Locale.ROOT) : null;
    }
}
