///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step C.2: create the Materialize secret and the connection to the upstream Postgres (default pgpass, pg_connection); Materialize validates it.

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.PgOptions;
import neonmz.Secrets;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step C.2 — "Create a connection". Two statements in Materialize: a secret with the replication
 * role's password, and a connection that names it. Materialize validates a Postgres connection when it is
 * created (wal_level logical, max_wal_senders ≥ 1, 2 free replication slots, and the login itself); an
 * existing one is re-checked with VALIDATE CONNECTION. Nothing here connects to the upstream: the
 * connection string only tells Materialize where to connect (the direct host; a -pooler host is refused).
 */
@Command(name = "connection", mixinStandardHelpOptions = true,
        description = {"Guide step C.2: CREATE SECRET pgpass with the replication role's password, then CREATE "
                + "CONNECTION pg_connection TO POSTGRES (HOST, PORT and DATABASE from --pg-url/DATABASE_URL, USER "
                + "--role), which Materialize validates. An existing connection is compared with what was asked "
                + "and re-checked with VALIDATE CONNECTION; --replace re-creates it, --rotate puts a new password "
                + "into the secret. The password comes from --password-file, --password-stdin or "
                + "$MZ_REPLICATION_PASSWORD; else, with a warning, from the connection string when its user is --role."},
        footer = {"%nExamples:",
                "  ./jbang connection --password-file ~/.neonmz/materialize.password",
                "  ./jbang connection --password-file ~/.neonmz/materialize.password --upstream-host host.docker.internal",
                "      # Materialize in Docker, the upstream (the lab) on this machine",
                "  printf '%%s\\n' \"$NEW_PASSWORD\" | ./jbang connection --password-stdin --rotate",
                "  ./jbang connection --password-file ~/.neonmz/materialize.password --dry-run   # no Materialize needed"})
public class CreateConnection implements Callable<Integer>, Cli.Resumable {
    // The guide's SQL (C.2). IF NOT EXISTS keeps a re-run from failing on the secret made by the first run.
    static final String CREATE_SECRET = "CREATE SECRET IF NOT EXISTS %s AS %s";
    static final String ALTER_SECRET = "ALTER SECRET %s AS %s";
    static final String CREATE_CONNECTION = "CREATE CONNECTION %s TO POSTGRES (HOST %s, PORT %d, USER %s, "
            + "PASSWORD SECRET %s, SSL MODE %s, DATABASE %s)";
    /** --no-validate: create without Materialize's check (e.g. before the upstream is ready). */
    static final String WITHOUT_VALIDATION = " WITH (VALIDATE = false)";
    static final String VALIDATE = "VALIDATE CONNECTION %s";
    static final String DROP_CONNECTION = "DROP CONNECTION IF EXISTS %s";

    /**
     * Objects of the session's current database and schema, where the unqualified names above land. A
     * connection's create_sql is its statement as SHOW CREATE CONNECTION prints it (one query, not two).
     */
    static final String EXISTING_CONNECTION = """
            SELECT c.id, c.type, c.create_sql FROM mz_catalog.mz_connections c
            JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = s.database_id
            WHERE c.name = ? AND s.name = current_schema() AND d.name = current_database()""";
    static final String EXISTING_SECRET = """
            SELECT c.id FROM mz_catalog.mz_secrets c
            JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
            JOIN mz_catalog.mz_databases d ON d.id = s.database_id
            WHERE c.name = ? AND s.name = current_schema() AND d.name = current_database()""";
    static final String DEPENDENT_SOURCES = """
            SELECT name FROM mz_catalog.mz_sources WHERE connection_id = ? ORDER BY name""";

    /** SSL MODE values Materialize takes (materialize.md C.2); libpq's prefer and allow are rejected. */
    static final List<String> SSL_MODES = List.of("disable", "require", "verify_ca", "verify_full");

    @Mixin MzOptions mz;
    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = "--secret", paramLabel = "NAME", description = "Secret name (default ${DEFAULT-VALUE}).")
    String secret = "pgpass";

    @Option(names = "--connection", paramLabel = "NAME", description = "Connection name (default ${DEFAULT-VALUE}).")
    String connection = "pg_connection";

    @Option(names = {"-r", "--role"}, paramLabel = "NAME",
            description = "The upstream replication role Materialize logs in as (default ${DEFAULT-VALUE}; guide "
                    + "A.2.3), not the owner in --pg-url.")
    String role = "materialize";

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "The role's password: the first line of FILE (e.g. the 0600 file that ./jbang "
                    + "replication-role --password-out wrote).")
    Path passwordFile;

    @Option(names = "--password-stdin", description = "Read the role's password from the first line of standard input.")
    boolean passwordStdin;

    @Option(names = "--ssl-mode", paramLabel = "MODE",
            description = "disable, require, verify-ca or verify-full (default: the sslmode of --pg-url when "
                    + "Materialize has it; else require, or disable for a local host). Materialize rejects prefer.")
    String sslMode;

    @Option(names = "--upstream-host", paramLabel = "HOST",
            description = "The host Materialize connects to, when it differs from the one in --pg-url (e.g. "
                    + "host.docker.internal when Materialize runs in Docker and the upstream on this machine).")
    String upstreamHost;

    @Option(names = "--no-validate", description = "Create with WITH (VALIDATE = false) and skip VALIDATE CONNECTION.")
    boolean noValidate;

    @Option(names = "--rotate", description = "Put the password given into an existing secret (ALTER SECRET), then validate.")
    boolean rotate;

    @Option(names = "--replace", description = "Re-create an existing connection as asked (refused while sources use it).")
    boolean replace;

    public static void main(String... args) {
        Cli.main(new CreateConnection(), args);
    }

    /** What the connection should be, as Materialize's options: key → value (PASSWORD → the secret's name). */
    record Wanted(String host, int port, String user, String database, String sslMode, String secret) {
        Map<String, String> options() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("HOST", host);
            m.put("PORT", String.valueOf(port));
            m.put("USER", user);
            m.put("PASSWORD", "SECRET " + secret);
            m.put("SSL MODE", sslMode);
            m.put("DATABASE", database);
            return m;
        }
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        // Everything the user must give is checked before anything is read or contacted.
        Cli.Ctx ctx = Cli.ctx();
        String askedSsl = checkGiven(ctx);
        ConnInfo up = pg.resolve(o, false); // refuses a Neon -pooler host; the URL's password is for the role here
        String host = materializeHost(up, o);
        Ssl ssl = sslMode(askedSsl, up, host);
        String password = password(ctx, up, o);

        Wanted want = new Wanted(host, up.port(), role, up.dbname, ssl.mode(), secret);
        ConnectionText.upstream(o, connection, want, ssl.from(), up.channelBinding);
        Statements sql = statements(want, password);

        try (Mz db = Mz.connect(mz, o)) {
            boolean secretExists = db.planOnly() ? rotate : !db.query(EXISTING_SECRET, secret).isEmpty();
            Existing existing = db.planOnly() ? assumed(o, want) : readConnection(db);
            // Decide everything before changing anything.
            refuseConflicts(db, o, existing, want);
            String secretAction = applySecret(db, o, secretExists, sql);
            String action = applyConnection(db, o, existing, sql);
            ConnectionText.outcome(o, connection, want, noValidate, db.planOnly(), action, secretAction);
            return Exit.OK;
        }
    }

    /** The checks of what the user gave (nothing read or contacted yet); returns --ssl-mode in Materialize's spelling. */
    private String checkGiven(Cli.Ctx ctx) {
        if (passwordFile != null && passwordStdin) {
            throw Fail.usage("--password-file and --password-stdin both given", "give the password one way");
        }
        if (passwordFile == null && !passwordStdin && ctx.env("MZ_REPLICATION_PASSWORD") == null) {
            ConnectionText.requireUrlPassword(pg, role, secret);
        }
        Sql.requireName("secret", secret);
        Sql.requireName("connection", connection);
        Sql.requireName("role", role);
        if (pg.url == null && ctx.env("DATABASE_URL") == null && ctx.env("PGHOST") == null) {
            throw Fail.usage("which upstream database should Materialize connect to?",
                    "give --pg-url or DATABASE_URL (the Neon connection string of the direct host; the lab: "
                            + "eval \"$(./jbang lab env)\")");
        }
        String askedSsl = sslMode == null ? null : ConnectionText.materializeSslMode(sslMode);
        if (sslMode != null && askedSsl == null) {
            throw Fail.usage("--ssl-mode " + sslMode + " is not one Materialize takes",
                    "use require (Neon), verify-ca, verify-full, or disable (a local server without TLS); Materialize "
                            + "rejects prefer and allow");
        }
        return askedSsl;
    }

    /** The host Materialize connects to: --upstream-host (a direct host too), else the one in the connection string. */
    private String materializeHost(ConnInfo up, Out o) {
        String host = up.host();
        if (upstreamHost != null) {
            if (upstreamHost.isBlank()) {
                throw Fail.usage("--upstream-host is empty", "give a host name or address");
            }
            ConnInfo h = new ConnInfo();
            h.hosts.add(upstreamHost);
            h.requireDirect();
            host = upstreamHost;
        }
        if (up.hosts.size() > 1 && upstreamHost == null) {
            o.warn("the connection string lists " + up.hosts.size() + " hosts; Materialize takes one: " + host);
        }
        return host;
    }

    /** The SSL MODE and where it came from. */
    record Ssl(String mode, String from) {}

    /** --ssl-mode, else the connection string's sslmode when Materialize has it, else by host; never disable for Neon. */
    private static Ssl sslMode(String askedSsl, ConnInfo up, String host) {
        Ssl ssl;
        if (askedSsl != null) {
            ssl = new Ssl(askedSsl, "--ssl-mode");
        } else if (up.sslmode != null && ConnectionText.materializeSslMode(up.sslmode) != null) {
            ssl = new Ssl(ConnectionText.materializeSslMode(up.sslmode), "the connection string");
        } else {
            boolean local = ConnectionText.isLocal(host);
            ssl = local ? new Ssl("disable", "a local host") : new Ssl("require", "the default for a remote host");
        }
        if (ssl.mode().equals("disable") && ConnectionText.isNeon(host)) {
            throw Fail.usage("SSL MODE disable for Neon host " + host + ": Neon accepts TLS connections only",
                    "use --ssl-mode require (the default for Neon hosts)");
        }
        return ssl;
    }

    /** The statements of this run, each secret statement also as shown (the password masked). */
    record Statements(String createSecret, String createSecretShown, String alterSecret, String alterSecretShown,
            String create, String validate, String drop) {}

    private Statements statements(Wanted want, String password) {
        String secretId = Sql.ident(secret);
        String literal = Sql.literal(password);
        String masked = "'" + Secrets.MASK + "'";
        String conn = Sql.ident(connection);
        String create = String.format(CREATE_CONNECTION, conn, Sql.literal(want.host()), want.port(), Sql.literal(role),
                secretId, Sql.literal(want.sslMode()), Sql.literal(want.database())) + (noValidate ? WITHOUT_VALIDATION : "");
        return new Statements(String.format(CREATE_SECRET, secretId, literal), String.format(CREATE_SECRET, secretId, masked),
                String.format(ALTER_SECRET, secretId, literal), String.format(ALTER_SECRET, secretId, masked),
                create, String.format(VALIDATE, conn), String.format(DROP_CONNECTION, conn));
    }

    /** A dry run cannot look: it assumes a first run, or, with --rotate, that both objects exist as asked. */
    private Existing assumed(Out o, Wanted want) {
        Existing existing = rotate && !replace ? new Existing("(assumed)", "postgres", want.options()) : null;
        o.line("-- dry run: no Materialize was contacted; the plan assumes %s",
                rotate ? "secret " + secret + " and connection " + connection + " exist (--rotate)"
                        : "neither secret " + secret + " nor connection " + connection + " exists yet");
        return existing;
    }

    /** Refuses, before anything changes: --replace of a connection that sources use, and an existing one that differs. */
    private void refuseConflicts(Mz db, Out o, Existing existing, Wanted want) throws Exception {
        List<String> differences = existing == null ? List.of() : ConnectionText.differences(existing, want);
        if (existing != null && !db.planOnly() && replace) {
            List<String> users = new ArrayList<>();
            for (Map<String, Object> r : db.query(DEPENDENT_SOURCES, existing.id())) {
                users.add((String) r.get("name"));
            }
            if (!users.isEmpty()) {
                throw new Fail(Exit.CONFLICT, "connection " + connection + " is used by source(s) "
                        + String.join(", ", users) + "; --replace would have to drop them; nothing was changed",
                        "drop the source(s) first (DROP SOURCE … CASCADE drops what depends on them), then run this "
                                + "again with --replace; or keep the connection and choose another --connection");
            }
        }
        if (existing != null && !replace && !differences.isEmpty()) {
            o.put("differences", differences);
            throw new Fail(Exit.CONFLICT, "connection " + connection + " exists but differs from what was asked: "
                    + String.join("; ", differences) + "; nothing was changed",
                    "re-create it as asked with --replace (refused while sources use it), or give the same "
                            + "settings, or choose another --connection");
        }
    }

    /** The secret: created when missing, the password put into it with --rotate, else kept. Returns what was done. */
    private String applySecret(Mz db, Out o, boolean secretExists, Statements sql) throws Exception {
        String secretAction;
        if (!secretExists) {
            db.execSecret(sql.createSecret(), sql.createSecretShown());
            secretAction = "created";
        } else if (rotate) {
            db.execSecret(sql.alterSecret(), sql.alterSecretShown());
            secretAction = "rotated";
        } else {
            secretAction = "kept";
            o.line("secret %s: exists, kept (Materialize never shows a secret, so it cannot be compared; "
                    + "--rotate puts the password given into it)", secret);
        }
        o.put("secret_action", secretAction);
        if (rotate && !secretExists && !db.planOnly()) {
            o.warn("--rotate: secret " + secret + " did not exist, so it was created");
        }
        return secretAction;
    }

    /**
     * The connection: created (dropped first with --replace), which Materialize validates; an existing one as
     * asked is re-checked with VALIDATE CONNECTION. Returns what was done: created, replaced or already done.
     */
    private String applyConnection(Mz db, Out o, Existing existing, Statements sql) throws Exception {
        if (existing != null && !replace) {
            if (!noValidate) {
                db.exec(sql.validate());
            }
            return "already done";
        }
        boolean replacing = existing != null || replace && db.planOnly();
        if (replacing) {
            db.exec(sql.drop());
        }
        db.exec(sql.create());
        if (db.planOnly()) {
            o.line("-- CREATE CONNECTION validates the upstream itself%s; an existing connection is compared "
                    + "with this one and re-checked with VALIDATE CONNECTION instead",
                    noValidate ? " unless WITH (VALIDATE = false)" : "");
        }
        return replacing ? "replaced" : "created";
    }

    /** An existing connection: its id, type and options as its create_sql (SHOW CREATE CONNECTION's text) gives them. */
    record Existing(String id, String type, Map<String, String> options) {}

    /** The connection of that name where ours lands, or null; one of another type is refused (dropped with --replace). */
    private Existing readConnection(Mz db) throws Exception {
        List<Map<String, Object>> rows = db.query(EXISTING_CONNECTION, connection);
        if (rows.isEmpty()) {
            return null;
        }
        String id = String.valueOf(rows.get(0).get("id"));
        String type = String.valueOf(rows.get(0).get("type"));
        if (!type.equalsIgnoreCase("postgres")) {
            if (replace) {
                return new Existing(id, type, Map.of());
            }
            throw new Fail(Exit.CONFLICT, "connection " + connection + " exists but is a " + type + " connection; "
                    + "nothing was changed", "choose another --connection, or --replace to re-create it");
        }
        Object sql = rows.get(0).get("create_sql");
        return new Existing(id, type, ConnectionText.options(sql == null ? "" : sql.toString()));
    }

    /**
     * The replication role's password: --password-file, --password-stdin, $MZ_REPLICATION_PASSWORD, else the one
     * in the connection string when its user is the role (the guide's Neon string), with a warning.
     */
    private String password(Cli.Ctx ctx, ConnInfo up, Out o) {
        String pw = Secrets.given(passwordFile, passwordStdin, "MZ_REPLICATION_PASSWORD");
        if (pw == null) {
            pw = ConnectionText.urlPassword(o, pg, up, role, secret);
        } else if (pg.url != null && up.password() != null) {
            o.warn("the password in --pg-url is not used (the replication role's comes from " + (passwordFile != null
                    ? "--password-file" : passwordStdin ? "--password-stdin" : "MZ_REPLICATION_PASSWORD") + "), and every "
                    + "user of this machine can read it in the process list (ps); remove it from the URL");
        }
        // The statement carries the password as a literal, with ' doubled: mask that form too.
        Secrets.register(pw.replace("'", "''"));
        if (pw.indexOf('\0') >= 0) {
            throw Fail.usage("the password contains a NUL character", "PostgreSQL passwords cannot hold NUL");
        }
        return pw;
    }
}

/**
 * The text {@link CreateConnection} reads and writes around its SQL: an existing connection's options from
 * its create_sql (the CREATE CONNECTION … TO POSTGRES (…) statement as SHOW CREATE CONNECTION prints it),
 * where they differ from the connection asked, as readable lines; the spellings of SSL MODE and the kinds of
 * host it decides by; and the lines and JSON fields it prints about the upstream and the outcome.
 */
final class ConnectionText {
    private ConnectionText() {
    }

    /** Where the replication role's password belongs instead of argv. */
    static final String SAFER = "MZ_REPLICATION_PASSWORD, --password-file or --password-stdin";

    /**
     * With no --password-file, --password-stdin or $MZ_REPLICATION_PASSWORD: the connection string must carry
     * the replication role's own password (user = --role), else a usage error that says what was seen and why
     * it is not used. Checked before anything is resolved or contacted.
     */
    static void requireUrlPassword(PgOptions pg, String role, String secret) {
        String from = pg.url != null ? "--pg-url" : "DATABASE_URL";
        ConnInfo given = ConnInfo.parse(pg.url != null ? pg.url : Cli.ctx().env("DATABASE_URL"));
        String fix = "give --password-file FILE (the 0600 file ./jbang replication-role --password-out wrote), "
                + "--password-stdin, or $MZ_REPLICATION_PASSWORD";
        if (given.password() == null) {
            throw Fail.usage("no password for the replication role " + role + " (it goes into secret " + secret + ")", fix);
        }
        if (!role.equals(given.user)) {
            throw Fail.usage("no password for the replication role " + role + " (it goes into secret " + secret + "): the "
                    + "password in " + from + " is " + (given.user == null ? "given without a user" : "user " + given.user
                    + "'s") + ", not " + role + "'s, so it is not used", fix
                    + (given.user == null ? "" : "; or --role " + given.user + " if that is the replication role"));
        }
    }

    /** The password of the connection string whose user is the role (see requireUrlPassword), with a warning. */
    static String urlPassword(Out o, PgOptions pg, ConnInfo up, String role, String secret) {
        String usedAs = "as the replication role " + role + "'s password (secret " + secret + ")";
        if (pg.url != null) {
            o.warn(Secrets.inArgv("--pg-url", usedAs, SAFER));
        } else {
            o.warn("the password in DATABASE_URL is used " + usedAs + "; " + SAFER + " name it on its own");
        }
        return up.password();
    }

    /** The upstream as Materialize will see it, with notes on what differs from the connection string. */
    static void upstream(Out o, String connection, CreateConnection.Wanted want, String sslFrom, String channelBinding) {
        String host = want.host();
        String ssl = want.sslMode();
        o.put("connection", connection);
        o.put("secret", want.secret());
        o.put("host", host);
        o.put("port", want.port());
        o.put("database", want.database());
        o.put("user", want.user());
        o.put("ssl_mode", ssl);
        o.line("upstream for Materialize: %s:%d, database %s, user %s, SSL MODE %s (from %s)", host, want.port(),
                want.database(), want.user(), ssl, sslFrom);
        if (channelBinding != null) {
            o.line("note: channel_binding=%s from the connection string is dropped: Materialize's connection has no such "
                    + "option (TLS still applies with SSL MODE %s)", channelBinding, ssl);
        }
        if (isLocal(host) && !host.equals("host.docker.internal")) {
            o.line("note: HOST %s is the machine Materialize runs on; a Materialize in Docker reaches this machine as "
                    + "host.docker.internal (--upstream-host; on Linux: docker run --add-host=host.docker.internal:host-gateway)",
                    host);
        }
    }

    /** The outcome: what was done to the secret and the connection, as JSON fields and one line. */
    static void outcome(Out o, String connection, CreateConnection.Wanted want, boolean noValidate, boolean planOnly,
            String action, String secretAction) {
        String secret = want.secret();
        o.put("connection_action", action.replace(' ', '_'));
        o.put("already_done", action.equals("already done") && !secretAction.equals("rotated"));
        o.put("validated", !noValidate && !planOnly);
        String checks = "wal_level, WAL senders, 2 free slots, login as " + want.user();
        String how = noValidate ? "not validated: --no-validate"
                : planOnly ? "Materialize checks " + checks
                : "validated by Materialize: " + checks;
        if (action.equals("already done") && secretAction.equals("rotated")) {
            o.line("connection %s: secret %s %s%s (%s)", connection, secret, planOnly ? "would be rotated" : "rotated",
                    noValidate ? "" : planOnly ? ", then the connection validated" : ", connection validated", how);
        } else if (action.equals("already done")) {
            o.line("connection %s: already done (exists as asked; %s)", connection, how);
        } else {
            String what = action.equals("replaced") ? "re-created" : "created";
            o.line("connection %s: %s%s (%s)", connection, planOnly ? "would be " + what : what,
                    secretAction.equals("rotated") ? ", secret " + secret + " rotated" : "", how);
        }
    }

    /** libpq's or Materialize's spelling → Materialize's, or null when Materialize has no such mode. */
    static String materializeSslMode(String mode) {
        String m = mode.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        return CreateConnection.SSL_MODES.contains(m) ? m : null;
    }

    static boolean isLocal(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("host.docker.internal");
    }

    static boolean isNeon(String host) {
        return ConnInfo.isNeonHost(host);
    }

    /** Where the existing connection differs from the wanted one, as short readable lines. */
    static List<String> differences(CreateConnection.Existing e, CreateConnection.Wanted want) {
        if (!e.type().equalsIgnoreCase("postgres")) {
            return List.of("type is " + e.type() + ", not postgres");
        }
        Map<String, String> have = new LinkedHashMap<>(e.options());
        have.putIfAbsent("PORT", "5432");          // Materialize's defaults when the option is left out
        have.putIfAbsent("SSL MODE", "disable");
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> w : want.options().entrySet()) {
            String h = have.remove(w.getKey());
            if (!same(w.getKey(), h, w.getValue())) {
                out.add(w.getKey() + " is " + (h == null ? "not set" : show(h)) + ", asked " + show(w.getValue()));
            }
        }
        for (String extra : have.keySet()) {
            out.add("it also has " + extra + " (not asked)");
        }
        return out;
    }

    private static String show(String v) {
        return v.startsWith("SECRET ") || v.matches("\\d+") ? v : "'" + v + "'";
    }

    private static boolean same(String key, String have, String want) {
        if (have == null) {
            return false;
        }
        return switch (key) {
            case "HOST" -> have.equalsIgnoreCase(want);
            case "SSL MODE" -> want.equals(materializeSslMode(have));
            default -> have.equals(want);
        };
    }

    /**
     * The options of a CREATE CONNECTION … TO POSTGRES (…) statement as SHOW CREATE CONNECTION prints it
     * ({@code HOST = 'h'} or {@code HOST 'h'}, names possibly qualified and quoted): upper-case key →
     * value; string literals unquoted, identifiers folded, {@code PASSWORD = SECRET db.schema.name} → "SECRET name".
     */
    static Map<String, String> options(String createSql) {
        List<String[]> tokens = tokens(createSql);
        int i = 0;
        while (i + 2 < tokens.size() && !(isWord(tokens.get(i), "TO") && isWord(tokens.get(i + 1), "POSTGRES")
                && tokens.get(i + 2)[1].equals("("))) {
            i++;
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (i + 2 >= tokens.size()) {
            return out;
        }
        i += 3;
        int depth = 0;
        List<String[]> option = new ArrayList<>();
        for (; i < tokens.size(); i++) {
            String[] t = tokens.get(i);
            if (t[0].equals("p") && t[1].equals("(")) {
                depth++;
            } else if (t[0].equals("p") && t[1].equals(")")) {
                if (depth == 0) {
                    addOption(out, option);
                    break;
                }
                depth--;
            } else if (depth == 0 && t[0].equals("p") && t[1].equals(",")) {
                addOption(out, option);
                option = new ArrayList<>();
                continue;
            }
            option.add(t);
        }
        return out;
    }

    private static final List<String> KEYS = List.of("SSL CERTIFICATE AUTHORITY", "SSL CERTIFICATE", "SSL KEY",
            "SSL MODE", "AWS PRIVATELINK", "SSH TUNNEL", "HOST", "PORT", "USER", "PASSWORD", "DATABASE");

    /** One option's tokens into {@code out}: the key is the words before "=", else the longest known key they start with. */
    private static void addOption(Map<String, String> out, List<String[]> option) {
        if (option.isEmpty()) {
            return;
        }
        int eq = -1;
        for (int j = 0; j < option.size(); j++) {
            if (option.get(j)[0].equals("p") && option.get(j)[1].equals("=")) {
                eq = j;
                break;
            }
        }
        int keyEnd = eq >= 0 ? eq : knownKeyLength(option);
        int valueStart = eq >= 0 ? eq + 1 : keyEnd;
        StringBuilder key = new StringBuilder();
        for (int j = 0; j < keyEnd; j++) {
            key.append(j == 0 ? "" : " ").append(option.get(j)[1].toUpperCase(Locale.ROOT));
        }
        out.put(key.toString(), value(option.subList(Math.min(valueStart, option.size()), option.size())));
    }

    /** Without "=": how many leading words make the longest known key (1 when they make none). */
    private static int knownKeyLength(List<String[]> option) {
        String words = "";
        int n = 0;
        int best = 1;
        for (String[] t : option) {
            if (!t[0].equals("w")) {
                break;
            }
            words = words.isEmpty() ? t[1].toUpperCase(Locale.ROOT) : words + " " + t[1].toUpperCase(Locale.ROOT);
            n++;
            if (KEYS.contains(words)) {
                best = n;
            }
        }
        return best;
    }

    /** An option's value: SECRET and its last name part, one token (a word folded), or the tokens joined by spaces. */
    private static String value(List<String[]> value) {
        if (!value.isEmpty() && isWord(value.get(0), "SECRET")) {
            String last = "";
            for (String[] t : value.subList(1, value.size())) {
                if (t[0].equals("w")) {
                    last = Sql.fold(t[1]);
                } else if (t[0].equals("q")) {
                    last = t[1];
                }
            }
            return "SECRET " + last;
        }
        if (value.size() == 1) {
            String[] t = value.get(0);
            return t[0].equals("w") ? Sql.fold(t[1]) : t[1];
        }
        StringBuilder b = new StringBuilder();
        for (String[] t : value) {
            b.append(b.length() == 0 ? "" : " ").append(t[1]);
        }
        return b.toString();
    }

    private static boolean isWord(String[] t, String w) {
        return t[0].equals("w") && t[1].equalsIgnoreCase(w);
    }

    /** Tokens as {kind, text}: w word, s string literal, q quoted identifier, n number, p punctuation. */
    private static List<String[]> tokens(String s) {
        List<String[]> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '\'' || c == '"') {
                StringBuilder b = new StringBuilder();
                int j = i + 1;
                while (j < s.length()) {
                    char d = s.charAt(j);
                    if (d == c) {
                        if (j + 1 < s.length() && s.charAt(j + 1) == c) {
                            b.append(c);
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    b.append(d);
                    j++;
                }
                out.add(new String[] {c == '\'' ? "s" : "q", b.toString()});
                i = j + 1;
            } else if (Character.isLetter(c) || c == '_') {
                int j = i;
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == '$')) {
                    j++;
                }
                out.add(new String[] {"w", s.substring(i, j)});
                i = j;
            } else if (Character.isDigit(c)) {
                int j = i;
                while (j < s.length() && Character.isDigit(s.charAt(j))) {
                    j++;
                }
                out.add(new String[] {"n", s.substring(i, j)});
                i = j;
            } else {
                out.add(new String[] {"p", String.valueOf(c)});
                i++;
            }
        }
        return out;
    }
}
