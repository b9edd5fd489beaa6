///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
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
//SOURCES ConnectionDetails.java
//SOURCES CreateCluster.java
//SOURCES CreateConnection.java
//SOURCES CreateSource.java
//SOURCES MonitorIngestion.java
//SOURCES RightSize.java
//SOURCES Explore.java
//DESCRIPTION JShell with the toolkit loaded, for live exploration in workshops: run(step, args…), sql(query), the library's quoting and connection helpers.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import jdk.jshell.tool.JavaShellToolBuilder;
import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A JShell session with the toolkit on its class path (the library and every step script) and a few
 * helpers defined at start-up: {@code run("publication", "--table", "orders")} runs a step in-process as
 * {@code ./jbang publication --table orders} would, {@code sql("SELECT …")} prints a query's rows as a
 * table, {@code rows("SELECT …")} returns them, and the library is imported ({@code Sql.ident("Order Items")}).
 * The connection comes from the same settings the steps read: DATABASE_URL, else the PG* variables (so
 * {@code eval "$(./jbang lab env)"} first).
 *
 * Why not {@code jbang --interactive} on a script: JBang (0.132) gives JShell the //DEPS only, not the
 * script's //SOURCES, so the library would be missing. This script starts JShell itself, in this JVM,
 * with this JVM's class path, which JBang built from those //SOURCES.
 */
@Command(name = "shell", mixinStandardHelpOptions = true,
        description = {"JShell with the toolkit loaded, for live exploration (workshops): every step as "
                + "run(\"alias\", args…), sql(\"…\") to print a query's rows, rows(\"…\") to get them, and the library "
                + "(import neonmz.*: Sql.ident, ConnInfo, …). Connects with DATABASE_URL or PG* like the steps."},
        footer = {"%nExamples:",
                "  eval \"$(./jbang lab env)\" && ./jbang shell",
                "  jshell> run(\"publication\", \"--table\", \"orders\")",
                "  jshell> sql(\"SELECT * FROM pg_publication_tables\")",
                "  echo 'sql(\"SHOW wal_level\")' | ./jbang shell --quiet"})
public class Shell implements Callable<Integer> {
    /** Defined in the session before the first prompt: the helpers the workshop notebook uses. */
    static final String STARTUP = """
            import neonmz.*;
            import java.util.*;
            import java.sql.*;
            /** The class of an alias: its script-ref in the nearest jbang-catalog.json (this folder or above). */
            String className(String alias) throws java.io.IOException {
                for (java.nio.file.Path d = java.nio.file.Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
                    java.nio.file.Path cat = d.resolve("jbang-catalog.json");
                    if (java.nio.file.Files.exists(cat)) {
                        var aliases = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(cat))
                                .getAsJsonObject().getAsJsonObject("aliases");
                        if (!aliases.has(alias)) {
                            throw new IllegalArgumentException("no alias " + alias + " in " + cat + "; there are "
                                    + aliases.keySet());
                        }
                        String ref = aliases.getAsJsonObject(alias).get("script-ref").getAsString();
                        return ref.substring(ref.lastIndexOf('/') + 1).replace(".java", "");
                    }
                }
                return alias;   // no catalog here: take it as a class name (e.g. "CreatePublication")
            }
            /** Runs a step by its alias, in-process, as ./jbang <alias> <args> would; returns its exit code. */
            int run(String alias, String... args) throws java.io.IOException {
                try {
                    Object command = Class.forName(className(alias)).getDeclaredConstructor().newInstance();
                    return Cli.execute(command, Cli.systemCtx(), args);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("cannot start " + alias + ": " + e, e);
                }
            }
            /** A connection with the steps' settings (DATABASE_URL, else PG*), the pooler refused as they do. */
            java.sql.Connection connect() throws SQLException {
                ConnInfo ci = ConnInfo.parse(System.getenv("DATABASE_URL"));
                ci.withDefaults(System.getenv());
                ci.requireDirect();
                return DriverManager.getConnection(ci.jdbcUrl(), ci.jdbcProperties("neonmz-shell"));
            }
            /** A query's rows (parameters bound in order). */
            List<Map<String, Object>> rows(String query, Object... params) throws SQLException {
                try (java.sql.Connection c = connect(); PreparedStatement ps = c.prepareStatement(query)) {
                    for (int i = 0; i < params.length; i++) {
                        ps.setObject(i + 1, params[i]);
                    }
                    if (!ps.execute()) {
                        return List.of(Map.of("updated", ps.getUpdateCount()));
                    }
                    return Pg.rows(ps.getResultSet());
                }
            }
            /** Prints a query's rows as an aligned table. */
            void sql(String query, Object... params) throws SQLException {
                List<Map<String, Object>> r = rows(query, params);
                List<String> headers = r.isEmpty() ? List.of("(no rows)") : new ArrayList<>(r.get(0).keySet());
                List<List<Object>> cells = new ArrayList<>();
                for (Map<String, Object> m : r) {
                    cells.add(new ArrayList<>(m.values()));
                }
                System.out.print(Out.render(headers, cells));
            }
            """;

    @Option(names = {"-q", "--quiet"}, description = "No banner (for piped input).")
    boolean quiet;

    public static void main(String... args) {
        Cli.main(new Shell(), args);
    }

    @Override
    public Integer call() throws Exception {
        Path startup = Files.createTempFile("neonmz-shell", ".jsh");
        try {
            Files.writeString(startup, STARTUP, StandardCharsets.UTF_8);
            List<String> args = new ArrayList<>(List.of("--class-path", System.getProperty("java.class.path"),
                    "--execution", "local", "--startup", "DEFAULT", "--startup", startup.toString()));
            if (quiet) {
                args.add("-q");
            } else {
                System.out.println("neonmz shell: run(\"alias\", args...) runs a step; sql(\"...\") prints rows; "
                        + "rows(\"...\") returns them; /exit leaves");
            }
            try {
                int code = JavaShellToolBuilder.builder().start(args.toArray(String[]::new));
                return code == 0 ? Exit.OK : Exit.INTERNAL;
            } catch (Exception e) {
                throw new Fail(Exit.INTERNAL, "JShell did not start: " + e.getMessage(),
                        "run with a JDK (not a JRE): JShell is part of the JDK since Java 9");
            }
        } finally {
            deleteQuietly(startup);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary file; the OS cleans up
        }
    }
}
