///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
//DEPS org.testcontainers:testcontainers:2.0.5
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/PgOutput.java
//SOURCES ../lib/neonmz/Replication.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//SOURCES Lab.java
//SOURCES CheckLogicalReplication.java
//SOURCES ReplicaIdentity.java
//SOURCES CreatePublication.java
//SOURCES CreateReplicationRole.java
//SOURCES GrantAccess.java
//SOURCES StreamCheck.java
//SOURCES AllowMaterializeIps.java
//SOURCES CreateCluster.java
//SOURCES ConnectionDetails.java
//SOURCES CreateConnection.java
//SOURCES CreateSource.java
//SOURCES MonitorIngestion.java
//SOURCES RightSize.java
//SOURCES Explore.java
//DESCRIPTION The whole guide in one command: every step in order, in one JVM, from one set of options (flags, runbook.properties, env); resumes, --plan, --from/--to/--only; --lab runs it against the local lab.

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Secrets;
import neonmz.Sql;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The guide "Ingest data from Neon", every step in its order, in one JVM: each step is the step script's
 * own command, called in-process (Cli.execute) with options derived from one set of settings. The steps
 * are idempotent, so a re-run reports the finished ones as "already done" and a failed run resumes where
 * it stopped. The Materialize half (C.1–D) runs against --mz-url when one is given, else against the
 * Materialize emulator in Docker (Testcontainers) when Docker is there, else only its plan is printed.
 */
@Command(name = "runbook", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The whole guide in one command: every step in the guide's order (A.1 check, A.2.1 replica "
                + "identity, A.2.2 publication, A.2.3 replication role, A.2.4 grants, then C.1 cluster, C.2 connection, "
                + "C.3 source, C.4 monitor until snapshotted, C.5 right-size, D explore), each the step script's own "
                + "command, in one JVM. Steps already done are reported and skipped; the first failure stops the run "
                + "with its fix and the command that resumes it. Ends with a summary table.",
                "Settings: flags, else runbook.properties (--config; copy runbook.properties.example), else the "
                        + "environment (RUNBOOK_<KEY>, and DATABASE_URL, MZ_URL, …), else the defaults. Secrets never go "
                        + "in the file or on the command line: only paths to files.",
                "Materialize: --mz-url/MZ_URL when given; else the emulator in Docker (Testcontainers) when Docker "
                        + "is there; else the plan of those steps is printed and the summary says Materialize was not "
                        + "run (exit 0)."},
        footer = {"%nExamples:",
                "  ./jbang runbook --lab                    # the lab PostgreSQL, every step, then stop the lab",
                "  ./jbang runbook --plan                   # every step's SQL and API calls, nothing changed",
                "  ./jbang runbook --config runbook.properties --mz-url \"$MZ_URL\"",
                "  ./jbang runbook --lab --from grants      # resume at a step (alias or guide id, e.g. A.2.4)",
                "  ./jbang runbook --only publication,grants --json"})
public class Runbook implements Callable<Integer>, Cli.Resumable {
    /** The emulator the Docker fallback runs: the image pom.xml pins as materialize.image (RunbookTest checks). */
    static final String EMULATOR_IMAGE = Mz.EMULATOR_IMAGE;   // the newest listed release (pom.xml materialize.version; facts.json emulator)
    /** How a container reaches a port of this machine that Testcontainers exposed to it. */
    static final String CONTAINER_HOST = "host.testcontainers.internal";
    static final String CONFIG_FILE = "runbook.properties";

    /** Tests only: runs before each step that is about to run (its alias), e.g. to stop the server mid-run. */
    static volatile Consumer<String> beforeStep = alias -> { };

    @Spec CommandSpec spec;
    @Mixin OutputOptions out;

    // ---- what to run ---------------------------------------------------------------------------
    @Option(names = "--lab", description = "Use the local lab as the upstream: start it if needed (./jbang lab), run "
            + "every step for real, stop it at the end (--keep-lab leaves it running).")
    Boolean lab;
    @Option(names = "--keep-lab", description = "Leave the lab running at the end (when this run started it).")
    Boolean keepLab;
    @Option(names = "--plan", description = "Dry run: every step with --dry-run, printing its SQL and API calls "
            + "(secrets masked); nothing changes. Same as --dry-run.")
    boolean plan;
    @Option(names = "--from", paramLabel = "STEP", description = "Start at STEP (alias or guide id, e.g. grants or A.2.4).")
    String from;
    @Option(names = "--to", paramLabel = "STEP", description = "Stop after STEP.")
    String to;
    @Option(names = "--only", paramLabel = "STEP", split = ",", description = "Only these steps (comma-separated or repeated).")
    List<String> only;
    @Option(names = "--with-neon-api", description = "Neon: also the API steps (check-logical-replication --enable, "
            + "replication-role --via api, ip-allow, connection-details); they read NEON_API_KEY, NEON_PROJECT_ID, ….")
    Boolean withNeonApi;
    @Option(names = "--config", paramLabel = "FILE", description = "Settings file (default: $NEONMZ_RUNBOOK_CONFIG, "
            + "else ./runbook.properties when it exists).")
    Path config;

    // ---- settings (also keys of runbook.properties) ----------------------------------------------
    @Option(names = "--pg-url", paramLabel = "URL", description = "Upstream (Neon) Postgres, no password in it "
            + "(default: $DATABASE_URL, then PG*; with --lab: the lab).")
    String pgUrl;
    @Option(names = "--pg-password-file", paramLabel = "FILE", description = "Upstream password: first line of FILE "
            + "(or PGPASSWORD, ~/.pgpass).")
    Path pgPasswordFile;
    @Option(names = "--tables", paramLabel = "TABLES", description = "Tables to replicate (A.2.1, A.2.2), "
            + "comma-separated (default with --lab: the demo shop's four; else every table of --schema).")
    String tables;
    @Option(names = "--schema", paramLabel = "SCHEMAS", description = "Schemas to replicate and grant on (default: "
            + "those of --tables, else public).")
    String schema;
    @Option(names = "--publication", paramLabel = "NAME", description = "Publication (default mz_source).")
    String publication;
    @Option(names = "--role", paramLabel = "NAME", description = "Replication role (default materialize).")
    String role;
    @Option(names = "--password-file", paramLabel = "FILE", description = "Where A.2.3 writes the role's password "
            + "(0600) and C.2 reads it (default ~/.neonmz/materialize.password, with --lab too; a file there is kept and used).")
    Path passwordFile;
    @Option(names = "--mz-url", paramLabel = "URL", description = "Materialize (default: $MZ_URL; else the emulator "
            + "in Docker; else plan only). Password: MZ_PASSWORD or --mz-password-file.")
    String mzUrl;
    @Option(names = "--mz-password-file", paramLabel = "FILE", description = "Materialize app password: first line of FILE.")
    Path mzPasswordFile;
    @Option(names = "--emulator", paramLabel = "auto|never", description = "Without a Materialize URL: start the "
            + "emulator in Docker when Docker is there (auto, the default), or never.")
    String emulator;
    @Option(names = "--cluster", paramLabel = "NAME", description = "Cluster (default ingest_postgres).")
    String cluster;
    @Option(names = "--size", paramLabel = "SIZE", description = "Cluster size (default 50cc).")
    String size;
    @Option(names = "--source", paramLabel = "NAME", description = "Source (default mz_source).")
    String source;
    @Option(names = "--upstream-host", paramLabel = "HOST", description = "The host Materialize connects to, when it "
            + "differs from the upstream's (set for you with the emulator and a local upstream).")
    String upstreamHost;
    @Option(names = "--snapshot-timeout", paramLabel = "DURATION", description = "C.4: how long to wait for the "
            + "snapshot (default 30m).")
    String snapshotTimeout;
    @Option(names = "--subscribe-seconds", paramLabel = "N", description = "D: SUBSCRIBE for N seconds (default 3).")
    String subscribeSeconds;
    @Option(names = "--lab-dir", paramLabel = "DIR", description = "The lab's directory (default $NEONMZ_LAB_DIR or ~/.neonmz/lab).")
    Path labDir;
    @Option(names = "--lab-port", paramLabel = "PORT", description = "Port for a lab not running yet (default $NEONMZ_LAB_PORT or 55432).")
    Integer labPort;
    @Option(names = "--api-key-file", paramLabel = "FILE", description = "With --with-neon-api: the Neon API key file (default $NEON_API_KEY).")
    Path apiKeyFile;
    @Option(names = "--project", paramLabel = "ID|NAME", description = "With --with-neon-api: the Neon project (default $NEON_PROJECT_ID).")
    String project;
    @Option(names = "--branch", paramLabel = "ID|NAME", description = "With --with-neon-api: the branch (default: the default branch).")
    String branch;
    @Option(names = "--api-host", paramLabel = "URL", description = "With --with-neon-api: the Neon API (default $NEON_API_HOST, else Neon's).")
    String apiHost;
    @Option(names = "--org-id", paramLabel = "ORG", description = "With --with-neon-api: the organization (default $NEON_ORG_ID).")
    String orgId;

    /** Every key runbook.properties may hold: the settings above, by their option names. */
    static final List<String> KEYS = List.of("lab", "keep-lab", "with-neon-api", "pg-url", "pg-password-file", "tables",
            "schema", "publication", "role", "password-file", "mz-url", "mz-password-file", "emulator", "cluster", "size",
            "source", "upstream-host", "snapshot-timeout", "subscribe-seconds", "lab-dir", "lab-port", "api-key-file",
            "project", "branch", "api-host", "org-id");
    static final Set<String> PATH_KEYS = Set.of("pg-password-file", "password-file", "mz-password-file", "lab-dir",
            "api-key-file");

    public static void main(String... args) {
        Cli.main(new Runbook(), args);
    }

    // ---- the steps, in the guide's order --------------------------------------------------------

    enum Side { NEON, MATERIALIZE }

    /**
     * One step: guide id, alias, which side it works on, whether it is a Neon API step (only with
     * --with-neon-api), its command and its arguments from the settings.
     */
    record Step(String id, String alias, Side side, boolean api, Supplier<Object> command,
                Function<Settings, List<String>> args) {
        boolean matches(String name) {
            return alias.equals(name) || id.equalsIgnoreCase(name);
        }
    }

    static List<Step> steps(boolean withApi) {
        List<Step> all = List.of(
                new Step("A.1", "check-logical-replication", Side.NEON, false, CheckLogicalReplication::new,
                        s -> withApi ? List.of("--enable") : List.of()),
                new Step("A.2.1", "replica-identity", Side.NEON, false, ReplicaIdentity::new, Settings::tableArgs),
                new Step("A.2.2", "publication", Side.NEON, false, CreatePublication::new,
                        s -> concat(List.of("--name", s.publication), s.tableArgs())),
                new Step("A.2.3", "replication-role", Side.NEON, false, CreateReplicationRole::new,
                        s -> concat(List.of("--role", s.role, "--password-out", s.passwordFile.toString()),
                                withApi ? List.of("--via", "api") : List.of())),
                new Step("A.2.4", "grants", Side.NEON, false, GrantAccess::new,
                        s -> concat(List.of("--role", s.role, "--publication", s.publication), s.schemaArgs())),
                // not a step of the guide: a temporary logical slot on the publication, a no-op change, read back
                // as the replication role: proves the stream works before Materialize is involved
                new Step("check", "stream-check", Side.NEON, false, StreamCheck::new,
                        s -> List.of("--publication", s.publication, "--role", s.role,
                                "--password-file", s.passwordFile.toString())),
                // only for a project that uses IP Allow: the runbook never closes an open project
                new Step("B", "ip-allow", Side.MATERIALIZE, true, AllowMaterializeIps::new, s -> List.of("--if-in-use")),
                new Step("C.1", "cluster", Side.MATERIALIZE, false, CreateCluster::new,
                        s -> List.of("--name", s.cluster, "--size", s.size)),
                new Step("before C.2", "connection-details", Side.NEON, true, ConnectionDetails::new,
                        s -> List.of("--role", s.role)),
                new Step("C.2", "connection", Side.MATERIALIZE, false, CreateConnection::new, Settings::connectionArgs),
                new Step("C.3", "source", Side.MATERIALIZE, false, CreateSource::new,
                        s -> List.of("--source", s.source, "--cluster", s.cluster, "--publication", s.publication)),
                new Step("C.4", "monitor", Side.MATERIALIZE, false, MonitorIngestion::new,
                        s -> List.of("--source", s.source, "--until-snapshotted", "--timeout", s.snapshotTimeout)),
                new Step("C.5", "right-size", Side.MATERIALIZE, false, RightSize::new,
                        s -> List.of("--cluster", s.cluster)),
                new Step("D", "explore", Side.MATERIALIZE, false, Explore::new,
                        s -> concat(List.of("--source", s.source, "--cluster", s.cluster, "--subscribe-seconds",
                                s.subscribeSeconds), s.lab ? List.of("--create-examples") : List.of())));
        return all.stream().filter(st -> withApi || !st.api()).toList();
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    // ---- settings: flags > runbook.properties > environment > defaults ---------------------------

    /** The resolved settings every step's arguments come from. */
    static final class Settings {
        boolean lab;
        boolean keepLab;
        boolean withApi;
        String pgUrl;
        Path pgPasswordFile;
        String tables;
        String schema;
        String publication;
        String role;
        Path passwordFile;
        String mzUrl;
        Path mzPasswordFile;
        String emulator;
        String cluster;
        String size;
        String source;
        String upstreamHost;
        String snapshotTimeout;
        String subscribeSeconds;
        Path labDir;
        Integer labPort;
        Map<String, String> neon = new LinkedHashMap<>();
        /** Where each setting came from (flag, file, env NAME, default), for --verbose and --json. */
        Map<String, String> origin = new LinkedHashMap<>();

        List<String> tableArgs() {
            return tables != null ? List.of("--table", tables) : schemaArgs();
        }

        List<String> schemaArgs() {
            List<String> a = new ArrayList<>();
            for (String s : schema.split(",")) {
                if (!s.isBlank()) {
                    a.add("--schema");
                    a.add(s.strip());
                }
            }
            return a;
        }

        List<String> connectionArgs() {
            List<String> a = new ArrayList<>(List.of("--role", role, "--password-file", passwordFile.toString()));
            if (upstreamHost != null) {
                a.add("--upstream-host");
                a.add(upstreamHost);
            }
            return a;
        }
    }

    /** Reads the settings file, refusing unknown keys and secrets. Empty when there is no file. */
    static Map<String, String> readConfig(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        if (file == null) {
            return out;
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw Fail.usage("cannot read settings file " + file + ": " + e.getMessage(),
                    "check the path (copy runbook.properties.example to start one)");
        }
        for (String key : new TreeSet<>(p.stringPropertyNames())) {
            String v = p.getProperty(key).strip();
            if (key.contains("password") && !key.endsWith("-file") || key.equals("api-key")
                    || key.equals("secret") || key.equals("token")) {
                throw Fail.usage(file + ": " + key + " holds a secret; secrets never go in the settings file",
                        "put the secret in a file of its own (chmod 600) and name that file: " + key.replace("-file", "")
                                + "-file = /path/to/it (or use the environment: PGPASSWORD, MZ_PASSWORD, NEON_API_KEY)");
            }
            if (!KEYS.contains(key)) {
                throw Fail.usage(file + ": unknown key " + key, "the keys are: " + String.join(", ", KEYS)
                        + " (see runbook.properties.example)");
            }
            if ((key.equals("pg-url") || key.equals("mz-url")) && !v.isEmpty() && ConnInfo.parse(v).password() != null) {
                throw Fail.usage(file + ": " + key + " holds a password; secrets never go in the settings file",
                        "remove it from the URL and use " + (key.equals("pg-url") ? "pg-password-file, PGPASSWORD or ~/.pgpass"
                                : "mz-password-file or MZ_PASSWORD"));
            }
            if (PATH_KEYS.contains(key) && !v.isEmpty()) {
                v = resolvePath(v, file).toString();
            }
            if (!v.isEmpty()) {
                out.put(key, v);
            }
        }
        return out;
    }

    /** A path from the settings file: ~/ is the home directory; a relative one is relative to the file. */
    static Path resolvePath(String v, Path file) {
        if (v.startsWith("~/")) {
            String home = Cli.ctx().env("HOME");
            return Path.of(home != null ? home : System.getProperty("user.home"), v.substring(2));
        }
        Path p = Path.of(v);
        Path dir = file.toAbsolutePath().getParent();
        return p.isAbsolute() || dir == null ? p : dir.resolve(p).normalize();
    }

    Path configFile() {
        if (config != null) {
            return config;
        }
        String env = Cli.ctx().env("NEONMZ_RUNBOOK_CONFIG");
        if (env != null) {
            return Path.of(env);
        }
        Path here = Path.of(CONFIG_FILE);
        return Files.isRegularFile(here) ? here : null;
    }

    /** One setting: the flag, else the file, else RUNBOOK_KEY or the usual variables, else the default. */
    static String pick(Settings s, Map<String, String> file, String key, Object flag, String def, String... envs) {
        if (flag != null) {
            s.origin.put(key, "flag");
            return flag.toString();
        }
        if (file.containsKey(key)) {
            s.origin.put(key, "file");
            return file.get(key);
        }
        List<String> names = new ArrayList<>();
        names.add("RUNBOOK_" + key.toUpperCase(Locale.ROOT).replace('-', '_'));
        names.addAll(List.of(envs));
        for (String n : names) {
            String v = Cli.ctx().env(n);
            if (v != null) {
                s.origin.put(key, "env " + n);
                return v;
            }
        }
        if (def != null) {
            s.origin.put(key, "default");
        }
        return def;
    }

    static boolean bool(String v, String key) {
        if (v == null) {
            return false;
        }
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off", "" -> false;
            default -> throw Fail.usage(key + " must be true or false, not " + v, "write " + key + " = true");
        };
    }

    Settings settings() {
        Settings s = new Settings();
        Map<String, String> file = readConfig(configFile());
        Map<String, String> env = Cli.ctx().env();
        s.lab = bool(pick(s, file, "lab", lab, "false"), "lab");
        s.keepLab = bool(pick(s, file, "keep-lab", keepLab, "false"), "keep-lab");
        s.withApi = bool(pick(s, file, "with-neon-api", withNeonApi, "false"), "with-neon-api");
        s.pgUrl = pick(s, file, "pg-url", pgUrl, null);
        String v = pick(s, file, "pg-password-file", pgPasswordFile, null);
        s.pgPasswordFile = v == null ? null : Path.of(v);
        s.tables = pick(s, file, "tables", tables, s.lab ? String.join(",", Lab.DEMO_TABLES) : null);
        // the schemas to grant on: given, else those of the tables (an unqualified table is in public)
        s.schema = pick(s, file, "schema", schema, s.tables == null ? "public" : Sql.parseNames(s.tables).stream()
                .map(n -> n.schema() == null ? "public" : n.schemaQuoted() ? Sql.ident(n.schema()) : n.schema())
                .distinct().collect(java.util.stream.Collectors.joining(",")));
        s.publication = pick(s, file, "publication", publication, "mz_source");
        s.role = pick(s, file, "role", role, "materialize");
        v = pick(s, file, "lab-dir", labDir, null, "NEONMZ_LAB_DIR");
        s.labDir = v != null ? Path.of(v) : Lab.defaultDir(env);
        v = pick(s, file, "lab-port", labPort, null, "NEONMZ_LAB_PORT");
        try {
            s.labPort = v == null ? Lab.DEFAULT_PORT : Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw Fail.usage("lab-port is not a port number: " + v, "give a number, e.g. --lab-port 55433");
        }
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        // one default place, with --lab too: the steps' examples, the notebooks and the workshop all use it
        Path defaultPw = Secrets.defaultPasswordFile(home);
        v = pick(s, file, "password-file", passwordFile, defaultPw.toString());
        s.passwordFile = Path.of(v).toAbsolutePath();
        s.mzUrl = pick(s, file, "mz-url", mzUrl, null, "MZ_URL");
        v = pick(s, file, "mz-password-file", mzPasswordFile, null);
        s.mzPasswordFile = v == null ? null : Path.of(v);
        s.emulator = pick(s, file, "emulator", emulator, "auto");
        if (!s.emulator.equals("auto") && !s.emulator.equals("never")) {
            throw Fail.usage("emulator must be auto or never, not " + s.emulator, "--emulator never (or auto)");
        }
        s.cluster = pick(s, file, "cluster", cluster, "ingest_postgres");
        s.size = pick(s, file, "size", size, "50cc");
        s.source = pick(s, file, "source", source, "mz_source");
        s.upstreamHost = pick(s, file, "upstream-host", upstreamHost, null);
        s.snapshotTimeout = pick(s, file, "snapshot-timeout", snapshotTimeout, "30m");
        s.subscribeSeconds = pick(s, file, "subscribe-seconds", subscribeSeconds, "3");
        neonSettings(s, file);
        if (s.lab && s.pgUrl != null) {
            throw Fail.usage("--lab and pg-url both name the upstream", "drop one of them");
        }
        // the steps get the URLs through the environment, so the steps' own argv warning is given here
        if (pgUrl != null && ConnInfo.parse(pgUrl).password() != null) {
            out.out().warn(Secrets.inArgv("--pg-url", null, neonmz.PgOptions.SAFER));
        }
        if (mzUrl != null && ConnInfo.parse(mzUrl).password() != null) {
            out.out().warn(Secrets.inArgv("--mz-url", null, neonmz.MzOptions.SAFER));
        }
        if (s.lab && s.withApi) {
            throw Fail.usage("--with-neon-api talks to a Neon project; the lab is not one", "drop --lab, or --with-neon-api");
        }
        return s;
    }

    /** The Neon API steps' options: only flags and the file (those steps read NEON_API_KEY, … themselves). */
    private void neonSettings(Settings s, Map<String, String> file) {
        String[][] neonKeys = {{"api-key-file", "--api-key-file"}, {"project", "--project"}, {"branch", "--branch"},
                {"api-host", "--api-host"}, {"org-id", "--org-id"}};
        Object[] neonFlags = {apiKeyFile, project, branch, apiHost, orgId};
        for (int i = 0; i < neonKeys.length; i++) {
            // only flags and the file: the API steps read NEON_API_KEY, NEON_PROJECT_ID, … themselves
            String nv = neonFlags[i] != null ? neonFlags[i].toString() : file.get(neonKeys[i][0]);
            if (nv != null) {
                s.neon.put(neonKeys[i][1], nv);
            }
        }
    }

    // ---- a step's outcome -------------------------------------------------------------------------

    record Outcome(Step step, String result, int exit, long ms, String note, String message, String fix,
                   List<String> args) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", step.id());
            m.put("alias", step.alias());
            m.put("result", result);
            m.put("exit", exit);
            m.put("elapsed_ms", ms);
            m.put("note", note);
            m.put("command", commandLine(step.alias(), args));
            if (message != null) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("message", message);
                e.put("fix", fix);
                m.put("error", e);
            }
            return m;
        }
    }

    static String commandLine(String alias, List<String> args) {
        StringBuilder b = new StringBuilder("./jbang ").append(alias);
        for (String a : args) {
            b.append(' ').append(Out.shellQuote(a));
        }
        return b.toString();
    }

    /** Relays a step's output line by line (indented) as it comes, and keeps the lines. */
    static final class LineWriter extends Writer {
        private final StringBuilder partial = new StringBuilder();
        private final Consumer<String> sink;
        final List<String> lines = new ArrayList<>();

        LineWriter(Consumer<String> sink) {
            this.sink = sink;
        }

        @Override
        public synchronized void write(char[] c, int off, int len) {
            for (int i = off; i < off + len; i++) {
                if (c[i] == '\n') {
                    emit();
                } else if (c[i] == '\r') {
                    partial.setLength(0);   // a progress bar redrawn in place: not relayed
                } else {
                    partial.append(c[i]);
                }
            }
        }

        private void emit() {
            String l = partial.toString();
            partial.setLength(0);
            lines.add(l);
            sink.accept(l);
        }

        /** Whole lines only, except a question waiting for its answer (Out.confirm's "[y/N] "). */
        @Override
        public synchronized void flush() {
            if (partial.toString().endsWith("[y/N] ")) {
                emit();
            }
        }

        @Override
        public synchronized void close() {
            if (partial.length() > 0) {
                emit();
            }
        }
    }

    // ---- the run ----------------------------------------------------------------------------------

    private Out o;
    private Settings s;
    private Map<String, String> childEnv;
    /** Materialize: "url", "emulator" or "plan" (its steps print their plan), with the reason. */
    private String mzMode;
    private String mzReason;
    /** Whether the slice holds any Materialize step. */
    private boolean anyMz;

    /** The lab this run uses (--lab), and whether this run started it (then it stops it at the end). */
    private Lab.Server server;
    private boolean started;
    /** The emulator this run started, stopped at the end. */
    private Emulator emu;

    /** The guide's steps in order from one set of settings, then the summary; what this run started is stopped. */
    @Override
    public Integer call() throws Exception {
        o = out.out();
        boolean dry = plan || out.dryRun;
        s = settings();
        List<Step> all = steps(s.withApi);
        List<Step> chosen = slice(all);
        childEnv = new LinkedHashMap<>(Cli.ctx().env());
        List<Outcome> outcomes = new ArrayList<>();
        Outcome failed;
        long t0 = System.nanoTime();
        try {
            upstreamEnv();
            anyMz = chosen.stream().anyMatch(st -> st.side() == Side.MATERIALIZE);
            if (s.mzUrl != null) {
                childEnv.put("MZ_URL", s.mzUrl);
            }
            if (dry) {
                mzMode = "plan";
                mzReason = "--plan";
            }
            o.put("plan", dry);
            o.put("config", configFile() == null ? null : configFile().toString());
            failed = runSteps(all, chosen, dry, outcomes);
        } finally {
            if (emu != null) {
                emu.close();
                o.line("materialize: emulator container stopped");
            }
            if (server != null && started && !s.keepLab) {
                server.stopQuietly();
                o.line("lab: stopped (--keep-lab leaves it running)");
            } else if (server != null) {
                o.line("lab: left running (./jbang lab stop stops it)");
            }
        }
        return summary(outcomes, failed, dry, (System.nanoTime() - t0) / 1_000_000);
    }

    /** The upstream the steps connect to: the lab (started if need be) or --pg-url, else the environment's. */
    private void upstreamEnv() throws Exception {
        if (s.lab) {
            server = new Lab.Server(s.labDir);
            if (!server.running()) {
                started = true;   // also when the start fails half-way: what it left running is stopped below
                server.start(s.labPort, Map.of(), null);
            }
            o.line("lab: PostgreSQL %s %s on 127.0.0.1:%d (%s)", server.version(), started ? "started" : "already running",
                    server.port(), server.dir);
            childEnv.put("DATABASE_URL", server.url());
            childEnv.put("PGPASSFILE", server.pgpass().toString());
            for (String k : List.of("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSSLMODE")) {
                childEnv.remove(k);
            }
        } else if (s.pgUrl != null) {
            childEnv.put("DATABASE_URL", s.pgUrl);
        }
    }

    /**
     * Every step in the guide's order: the chosen ones run (the Materialize side chosen at its first step),
     * the others are reported skipped; the first failure ends a real run. Returns the first failure, or null.
     */
    private Outcome runSteps(List<Step> all, List<Step> chosen, boolean dry, List<Outcome> outcomes) {
        Outcome failed = null;
        boolean pendingChanges = false;
        for (Step st : all) {
            if (!chosen.contains(st)) {
                outcomes.add(new Outcome(st, "skipped", 0, 0, sliceNote(), null, null, st.args().apply(s)));
                continue;
            }
            if (st.side() == Side.MATERIALIZE && mzMode == null) {
                emu = chooseMaterialize();   // at the first Materialize step: the Neon half may fail first
            }
            Outcome r = runStep(st, dry, pendingChanges);
            outcomes.add(r);
            if (dry && !"already done".equals(r.result())) {
                pendingChanges = true;
            }
            if ("failed".equals(r.result()) && failed == null) {
                failed = r;
                if (!dry) {
                    break;
                }
            }
        }
        if (failed != null && !dry) {
            // the steps after the failure did not run
            for (Step st : all) {
                if (outcomes.stream().noneMatch(x -> x.step().equals(st))) {
                    outcomes.add(new Outcome(st, "skipped", 0, 0, chosen.contains(st) ? "after the failure" : sliceNote(),
                            null, null, st.args().apply(s)));
                }
            }
        }
        return failed;
    }

    /** The steps to run: all, or the --only list, or --from … --to. */
    List<Step> slice(List<Step> all) {
        if (only != null && (from != null || to != null)) {
            throw Fail.usage("--only does not go with --from/--to", "use one or the other");
        }
        if (only != null) {
            List<Step> out = new ArrayList<>();
            for (String name : only) {
                out.add(find(all, name.strip()));
            }
            return all.stream().filter(out::contains).toList();
        }
        int a = from == null ? 0 : all.indexOf(find(all, from));
        int b = to == null ? all.size() - 1 : all.indexOf(find(all, to));
        if (a > b) {
            throw Fail.usage("--from " + from + " comes after --to " + to + " in the guide's order", "swap them");
        }
        return all.subList(a, b + 1);
    }

    static Step find(List<Step> all, String name) {
        for (Step st : all) {
            if (st.matches(name)) {
                return st;
            }
        }
        boolean api = steps(true).stream().anyMatch(st -> st.matches(name));
        if (api) {
            throw Fail.usage("step " + name + " is a Neon API step", "add --with-neon-api");
        }
        throw Fail.usage("no step " + name, "the steps: " + String.join(", ",
                all.stream().map(st -> st.alias() + " (" + st.id() + ")").toList()));
    }

    String sliceNote() {
        if (only != null) {
            return "not in --only";
        }
        return "outside --from/--to";
    }

    /** Materialize from the URL, else the emulator (Docker), else plan only; says which and why. */
    Emulator chooseMaterialize() {
        if (s.mzUrl != null || Cli.ctx().env("MZ_HOST") != null) {
            mzMode = "url";
            mzReason = s.mzUrl != null ? "from " + s.origin.getOrDefault("mz-url", "MZ_URL") : "from MZ_HOST";
            o.line("materialize: %s", s.mzUrl != null ? ConnInfo.parse(s.mzUrl).display() : "MZ_HOST");
            return null;
        }
        if (s.emulator.equals("never")) {
            mzMode = "plan";
            mzReason = "no --mz-url or MZ_URL, and --emulator never";
            return null;
        }
        String docker = Emulator.dockerHint(Cli.ctx().env());
        if (docker == null) {
            mzMode = "plan";
            mzReason = "no --mz-url or MZ_URL, and no Docker here: DOCKER_HOST unset, no /var/run/docker.sock";
            return null;
        }
        ConnInfo up = upstream();
        boolean local = up != null && isLocal(up.host());
        o.line("materialize: starting the emulator %s in Docker (%s); this can take a minute", EMULATOR_IMAGE, docker);
        try {
            Emulator e = Emulator.start(local ? up.port() : -1);
            childEnv.put("MZ_URL", e.url);
            childEnv.remove("MZ_HOST");
            if (local && s.upstreamHost == null) {
                s.upstreamHost = CONTAINER_HOST;   // the container reaches this machine's port through Testcontainers
            }
            mzMode = "emulator";
            mzReason = "no --mz-url or MZ_URL; Docker found (" + docker + ")";
            o.line("materialize: emulator up at %s", e.url);
            return e;
        } catch (RuntimeException | LinkageError ex) {
            mzMode = "plan";
            mzReason = "no --mz-url or MZ_URL, and Docker (" + docker + ") did not start the emulator: "
                    + String.valueOf(ex.getMessage()).lines().findFirst().orElse("");
            return null;
        }
    }

    ConnInfo upstream() {
        String url = childEnv.get("DATABASE_URL");
        try {
            return ConnInfo.parse(url).withDefaults(childEnv);
        } catch (RuntimeException e) {
            return null;
        }
    }

    static boolean isLocal(String host) {
        String h = host == null ? "" : host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
    }

    /** Runs one step in-process with the settings' arguments; its output relayed, indented. */
    Outcome runStep(Step st, boolean dry, boolean pendingChanges) {
        List<String> args = new ArrayList<>(st.args().apply(s));
        boolean mzPlanOnly = st.side() == Side.MATERIALIZE && "plan".equals(mzMode);
        boolean asPlan = dry || mzPlanOnly;
        // by default a Materialize step that only plans is one line, its header: the SQL is behind --plan (or -v)
        boolean hush = mzPlanOnly && !dry && !out.verbose;
        if (!hush) {
            o.line("");
        }
        o.line("== %s %s", st.id(), commandLine(st.alias(), args));
        Object cmd = st.command().get();
        addOptions(st, new CommandLine(cmd).getCommandSpec(), args, asPlan);
        Map<String, String> env = new LinkedHashMap<>(childEnv);
        if (asPlan && st.alias().equals("connection") && !Files.exists(s.passwordFile)) {
            // the plan before A.2.3 has run: no password file yet; a stand-in, masked like any password
            args.remove(args.indexOf("--password-file") + 1);
            args.remove("--password-file");
            env.put("MZ_REPLICATION_PASSWORD", Secrets.generate());
            o.line("   (the password file %s does not exist yet: A.2.3 writes it)", s.passwordFile);
        }
        LineWriter so = new LineWriter(hush ? l -> { } : l -> o.line("   " + l));
        LineWriter se = new LineWriter(l -> o.errLine("   " + l));
        Cli.Ctx ctx = new Cli.Ctx(env, Cli.ctx().stdin(), new PrintWriter(so, true), new PrintWriter(se, true),
                Cli.ctx().terminal() && !out.json);
        long t0 = System.nanoTime();
        beforeStep.accept(st.alias());
        int code = Cli.execute(cmd, ctx, args.toArray(String[]::new));
        so.close();
        se.close();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (hush && code != Exit.OK) {
            so.lines.forEach(l -> o.line("   " + l));   // a plan that failed: all it printed, for the reason
        }
        Object already = stepData(cmd, "already_done");
        if (code == Exit.OK) {
            String result = asPlan ? (Boolean.TRUE.equals(already) ? "already done" : dry ? "planned" : "skipped")
                    : Boolean.TRUE.equals(already) ? "already done" : "done";
            String note = mzPlanOnly && !dry ? (hush ? "Materialize not run: --plan shows its SQL"
                    : "Materialize not run: plan printed") : "";
            return new Outcome(st, result, code, ms, note, null, null, args);
        }
        return failure(st, code, ms, se.lines, asPlan && pendingChanges, dry, args);
    }

    /** The shared settings, for the steps that take them, and the run's --dry-run, --verbose, --yes. */
    private void addOptions(Step st, CommandSpec cs, List<String> args, boolean asPlan) {
        addIf(cs, args, "--pg-password-file", s.pgPasswordFile);
        addIf(cs, args, "--mz-password-file", s.mzPasswordFile);
        if (st.api()) {
            s.neon.forEach((k, v) -> addIf(cs, args, k, v));
        }
        if (st.alias().equals("check-logical-replication") && s.withApi) {
            s.neon.forEach((k, v) -> addIf(cs, args, k, v));
        }
        if (st.alias().equals("replication-role") && s.withApi) {
            s.neon.forEach((k, v) -> addIf(cs, args, k, v));
        }
        if (asPlan) {
            args.add("--dry-run");
        }
        if (out.verbose) {
            args.add("--verbose");
        }
        if (out.yes) {
            args.add("--yes");
        }
    }

    /**
     * A step that exited non-zero: failed, with the message and fix it printed; in a plan, a step whose
     * objects come from an earlier step not yet run (exit NOT_FOUND) is planned instead.
     */
    private Outcome failure(Step st, int code, long ms, List<String> errLines, boolean afterPendingPlan, boolean dry,
                            List<String> args) {
        String message = null;
        String fix = null;
        for (String l : errLines) {
            if (l.startsWith("error: ") && message == null) {
                message = l.substring(7);
            } else if (l.startsWith("  fix: ") && fix == null) {
                fix = l.substring(7);
            }
        }
        if (message == null) {
            message = st.alias() + " exited " + code;
        }
        if (afterPendingPlan && code == Exit.NOT_FOUND) {
            // its objects come from an earlier step that the plan has not run
            return new Outcome(st, dry ? "planned" : "skipped", Exit.OK, ms,
                    "exact plan after the steps above have run", null, null, args);   // the step said why, above
        }
        return new Outcome(st, "failed", code, ms, Exit.TABLE.containsKey(code) ? "exit " + code + " " + exitName(code)
                : "exit " + code, message, fix, args);
    }

    static void addIf(CommandSpec cs, List<String> args, String option, Object value) {
        if (value != null && cs.findOption(option) != null) {
            args.add(option);
            args.add(value.toString());
        }
    }

    /** A field of a step's --json object (e.g. already_done), read from its OutputOptions after it ran. */
    static Object stepData(Object cmd, String key) {
        for (Class<?> c = cmd.getClass(); c != null; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (f.getType() == OutputOptions.class) {
                    try {
                        f.setAccessible(true);
                        OutputOptions oo = (OutputOptions) f.get(cmd);
                        return oo == null ? null : oo.out().get(key);
                    } catch (ReflectiveOperationException | RuntimeException e) {
                        return null;
                    }
                }
            }
        }
        return null;
    }

    static String exitName(int code) {
        for (Field f : Exit.class.getFields()) {
            try {
                if (f.getType() == int.class && f.getInt(null) == code) {
                    return f.getName();
                }
            } catch (IllegalAccessException e) {
                return "";
            }
        }
        return "";
    }

    /** The command that resumes at a step: this run's arguments, less the slice and output options. */
    String resumeCommand(String alias) {
        return rerunCommand("--from", alias);
    }

    /** This run's command, less the slice and output options, then {@code extra}. */
    String rerunCommand(String... extra) {
        List<String> words = new ArrayList<>(List.of("./jbang", "runbook"));
        List<String> given = spec.commandLine().getParseResult() == null ? List.of()
                : spec.commandLine().getParseResult().originalArgs();
        Set<String> withValue = Set.of("--from", "--only", "--record");
        for (int i = 0; i < given.size(); i++) {
            String a = given.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (withValue.contains(name)) {
                if (!a.contains("=")) {
                    i++;
                }
                continue;
            }
            if (a.equals("--json") || a.equals("--plan") || a.equals("--dry-run")) {
                continue;
            }
            words.add(Out.shellQuote(Secrets.mask(a)));
        }
        words.addAll(List.of(extra));
        return String.join(" ", words);
    }

    int summary(List<Outcome> outcomes, Outcome failed, boolean dry, long totalMs) {
        o.line("");
        List<List<Object>> rows = new ArrayList<>();
        for (Outcome r : outcomes) {
            // the time last: the table's shape does not depend on the timings
            rows.add(List.of(r.step().id(), r.step().alias(), r.result(), r.note(), r.ms() + " ms"));
        }
        o.table(List.of("step", "alias", "result", "note", "time"), rows);
        o.put("steps", outcomes.stream().map(Outcome::json).toList());
        Map<String, Object> mz = new LinkedHashMap<>();
        boolean mzChosen = anyMz;
        mz.put("mode", !mzChosen ? "not in the slice" : mzMode == null ? "not reached" : mzMode);
        mz.put("run", mzChosen && ("url".equals(mzMode) || "emulator".equals(mzMode)));
        mz.put("reason", mzReason);
        o.put("materialize", mz);
        o.put("lab", s.lab);
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String k : List.of("done", "already done", "planned", "skipped", "failed")) {
            counts.put(k, (int) outcomes.stream().filter(r -> r.result().equals(k)).count());
        }
        o.put("counts", counts);
        boolean mzPlanned = mzChosen && "plan".equals(mzMode) && !dry && failed == null;
        if (mzPlanned) {
            o.line("Materialize: not run (%s).", mzReason);
            o.line("  Its SQL, nothing run: %s", rerunCommand("--plan", "--from", firstMz(outcomes)));
            o.line("  To run it: give --mz-url (or MZ_URL) for a Materialize, or install Docker for the emulator, "
                    + "then: %s", resumeCommand(firstMz(outcomes)));
        }
        StringBuilder tally = new StringBuilder();
        counts.forEach((k, n) -> {
            if (n > 0) {
                tally.append(tally.length() == 0 ? "" : ", ").append(n).append(' ').append(k);
            }
        });
        if (failed != null && !dry) {
            String resume = resumeCommand(failed.step().alias());
            o.put("resume", resume);
            o.line("runbook: stopped at %s %s (%s): %s", failed.step().id(), failed.step().alias(), failed.note(), tally);
            throw new Fail(failed.exit(), "step " + failed.step().id() + " " + failed.step().alias() + " failed: "
                    + failed.message(), (failed.fix() == null ? "" : failed.fix() + "; then resume: ") + resume);
        }
        if (failed != null) {
            o.line("runbook --plan: %s (%s %s cannot be planned: exit %d)", tally, failed.step().id(), failed.step().alias(),
                    failed.exit());
            return failed.exit();
        }
        o.line("runbook%s: %s in %d ms", dry ? " --plan" : "", tally, totalMs);
        String next = next(dry, mzPlanned, mzChosen && ("url".equals(mzMode) || "emulator".equals(mzMode)));
        o.put("next", next);
        o.line("next: %s", next);
        return Exit.OK;
    }

    /** What to do after a run that ended well: the one line a newcomer reads last. */
    String next(boolean dry, boolean mzPlanned, boolean mzRan) {
        if (dry) {
            return "run it: " + rerunCommand();
        }
        if (mzRan && !"emulator".equals(mzMode)) {
            return "watch it: ./jbang monitor --source " + Out.shellQuote(s.source) + " --watch; the data: ./jbang explore "
                    + "--source " + Out.shellQuote(s.source);
        }
        String tap = "./jbang tap --role " + Out.shellQuote(s.role) + " --password-file "
                + Out.shellQuote(s.passwordFile.toString()) + " --demo-changes 5";
        if (s.lab) {
            return "work on the lab: ./jbang lab start --detach, eval \"$(./jbang lab env)\", then any step, e.g. " + tap
                    + (mzPlanned ? "; Materialize: see above" : "");
        }
        return mzPlanned ? "see a change travel as Materialize will read it: " + tap
                : "watch the stream: " + tap;
    }

    static String firstMz(List<Outcome> outcomes) {
        return outcomes.stream().filter(r -> r.step().side() == Side.MATERIALIZE).map(r -> r.step().alias())
                .findFirst().orElse("cluster");
    }

    // ---- the Materialize emulator in Docker (Testcontainers), only when Docker is there -------------

    /** Kept in its own class so that Testcontainers is loaded only when Docker looks present. */
    static final class Emulator implements AutoCloseable {
        final org.testcontainers.containers.GenericContainer<?> container;
        final String url;

        private Emulator(org.testcontainers.containers.GenericContainer<?> container) {
            this.container = container;
            this.url = "postgresql://materialize@" + container.getHost() + ":" + container.getMappedPort(6875)
                    + "/materialize?sslmode=disable";
        }

        /** Where Docker seems to be, checked cheaply (no Docker client): DOCKER_HOST or a socket; null if none. */
        static String dockerHint(Map<String, String> env) {
            String host = env.get("DOCKER_HOST");
            if (host != null && !host.isEmpty()) {
                return "DOCKER_HOST=" + host;
            }
            String home = env.getOrDefault("HOME", System.getProperty("user.home"));
            for (Path p : List.of(Path.of("/var/run/docker.sock"), Path.of(home, ".docker", "run", "docker.sock"))) {
                if (Files.exists(p)) {
                    return p.toString();
                }
            }
            return null;
        }

        /** Starts the emulator; {@code hostPort} (when > 0) is a port of this machine the container may reach. */
        static Emulator start(int hostPort) {
            if (!org.testcontainers.DockerClientFactory.instance().isDockerAvailable()) {
                throw new Fail(Exit.CONNECT, "Docker is not usable (Testcontainers found no working engine)",
                        "start Docker, or give --mz-url");
            }
            if (hostPort > 0) {
                org.testcontainers.Testcontainers.exposeHostPorts(hostPort);
            }
            org.testcontainers.containers.GenericContainer<?> c = new org.testcontainers.containers.GenericContainer<>(
                    org.testcontainers.utility.DockerImageName.parse(EMULATOR_IMAGE))
                    .withExposedPorts(6875, 6878)
                    .withAccessToHost(true)
                    .waitingFor(org.testcontainers.containers.wait.strategy.Wait.forHttp("/api/readyz").forPort(6878)
                            .forStatusCode(200).withStartupTimeout(Duration.ofMinutes(4)));
            c.start();
            return new Emulator(c);
        }

        @Override
        public void close() {
            container.stop();
        }
    }
}
