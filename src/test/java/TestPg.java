import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.ConnInfo;

/**
 * Test support: one real PostgreSQL per test JVM (the lab's own server code, so the lab is tested
 * too), a fresh database per test copied from the lab's demo database, and in-process runs of the
 * commands with captured output and a controlled environment.
 */
public final class TestPg {
    private static Lab.Server server;
    private static final AtomicInteger DBS = new AtomicInteger();

    private TestPg() {}

    /** The shared server, started on first use and stopped when the JVM ends. */
    public static synchronized Lab.Server server() {
        if (server == null) {
            server = startServer(Map.of());
        }
        return server;
    }

    /** A separate server (e.g. wal_level=replica); the caller stops it. */
    public static Lab.Server startServer(Map<String, String> overrides) {
        try {
            Path base = Lab.Server.isRoot() ? Path.of("/var/tmp") : Path.of("target");
            Files.createDirectories(base);
            Path dir = Files.createTempDirectory(base, "neonmz-test-");
            if (Lab.Server.isRoot()) {
                Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Lab.Server s = new Lab.Server(dir);
            for (int attempt = 1; ; attempt++) {
                try {
                    s.start(freePort(), overrides, null);
                    break;
                } catch (neonmz.Fail f) {
                    // a free port can be taken before the server binds it (ExtraServers starts two at once): another
                    if (attempt >= 3 || f.getMessage() == null || !f.getMessage().contains("is in use")) {
                        throw f;
                    }
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    s.stop();
                    Lab.Server.deleteTree(dir);
                } catch (Exception ignored) {
                    // best effort
                }
            }));
            return s;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("cannot start the test PostgreSQL", e);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A new database, a copy of the lab's demo database (owner neondb_owner). */
    public static String newDatabase() {
        String name = "t" + ProcessHandle.current().pid() + "_" + DBS.incrementAndGet();
        try (Connection c = superConn("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " TEMPLATE neondb OWNER neondb_owner");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    /** An empty database owned by neondb_owner. */
    public static String emptyDatabase() {
        String name = "e" + ProcessHandle.current().pid() + "_" + DBS.incrementAndGet();
        try (Connection c = superConn("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " OWNER neondb_owner");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    public static Connection superConn(String db) throws SQLException {
        return Lab.Server.open(server().superConn(db));
    }

    public static Connection ownerConn(String db) throws SQLException {
        ConnInfo ci = server().ownerConn();
        ci.dbname = db;
        return Lab.Server.open(ci);
    }

    /** Environment that points the commands at a database of the shared server (password via PGPASSFILE). */
    public static Map<String, String> env(String db) {
        return env(server(), db);
    }

    public static Map<String, String> env(Lab.Server s, String db) {
        Map<String, String> env = new HashMap<>();
        env.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:" + s.port() + "/" + db + "?sslmode=disable");
        env.put("PGPASSFILE", s.pgpass().toString());
        env.put("HOME", System.getProperty("java.io.tmpdir"));
        env.put("NO_COLOR", "1");
        return env;
    }

    /** The result of one in-process run. */
    public record Run(int exit, String out, String err) {
        public String all() {
            return out + err;
        }

        public JsonObject json() {
            return JsonParser.parseString(out.strip()).getAsJsonObject();
        }
    }

    public static Run run(Object command, Map<String, String> env, String... args) {
        return runWithStdin(command, env, "", args);
    }

    public static Run runWithStdin(Object command, Map<String, String> env, String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Cli.Ctx ctx = new Cli.Ctx(env, new BufferedReader(new StringReader(stdin)), new PrintWriter(out, true),
                new PrintWriter(err, true), false);
        int code = Cli.execute(command, ctx, args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Rows of a query as maps (for assertions on the catalog). */
    public static List<Map<String, Object>> rows(String db, String sql) {
        return rows(server(), db, sql);
    }

    public static List<Map<String, Object>> rows(Lab.Server server, String db, String sql) {
        try (Connection c = Lab.Server.open(server.superConn(db)); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            List<Map<String, Object>> out = new ArrayList<>();
            while (rs.next()) {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    m.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                }
                out.add(m);
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void exec(String db, String... sqls) {
        exec(server(), db, sqls);
    }

    public static void exec(Lab.Server server, String db, String... sqls) {
        try (Connection c = Lab.Server.open(server.superConn(db)); Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs as the database owner (neondb_owner), as a Neon user would. */
    public static void execAsOwner(String db, String... sqls) {
        try (Connection c = ownerConn(db); Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A snapshot of everything the Neon-side steps could change, to prove a run changed nothing:
     * replica identities, publications and their tables, roles, and privileges.
     */
    public static String catalogState(String db) {
        return catalogState(server(), db);
    }

    public static String catalogState(Lab.Server server, String db) {
        StringBuilder b = new StringBuilder();
        for (String q : List.of(
                "SELECT n.nspname, c.relname, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') ORDER BY 1, 2",
                "SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete FROM pg_publication ORDER BY 1",
                "SELECT pubname, schemaname, tablename FROM pg_publication_tables ORDER BY 1, 2, 3",
                "SELECT rolname, rolcanlogin, rolreplication, rolpassword IS NOT NULL AS has_pw FROM pg_authid "
                        + "WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1",
                "SELECT n.nspname, n.nspacl::text FROM pg_namespace n ORDER BY 1",
                "SELECT c.relname, c.relacl::text FROM pg_class c WHERE c.relkind IN ('r','p') ORDER BY 1",
                "SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3")) {
            b.append(rows(server, db, q)).append('\n');
        }
        return b.toString();
    }
}
