package neonmz;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLException;

/**
 * A JDBC session to the upstream Postgres: reads through {@link #query}, changes only through
 * {@link #exec} / {@link #transaction}, which honour {@code --dry-run} (the session is also made
 * read-only then, so a missed path fails instead of writing) and note each statement for the output.
 */
public final class Pg implements AutoCloseable {
    private final Connection conn;
    private final Out out;
    public final ConnInfo info;

    private Pg(Connection conn, Out out, ConnInfo info) {
        this.conn = conn;
        this.out = out;
        this.info = info;
    }

    public static Pg connect(ConnInfo ci, Out out) {
        try {
            Connection c = DriverManager.getConnection(ci.jdbcUrl(), ci.jdbcProperties("neonmz"));
            if (out.dryRun()) {
                try (Statement s = c.createStatement()) {
                    s.execute("SET default_transaction_read_only = on");
                }
            }
            return new Pg(c, out, ci);
        } catch (SQLException e) {
            throw connectFailure(ci, e);
        }
    }

    /**
     * A replication connection ({@code replication=database}: the walsender protocol, logical slots of this
     * database) for pgjdbc's replication API. Not wrapped: the caller owns it. A role without REPLICATION
     * is refused by the server with 42501, reported as {@link Exit#PERMISSION}.
     */
    public static Connection replication(ConnInfo ci) {
        java.util.Properties p = ci.jdbcProperties("neonmz");
        p.setProperty("replication", "database");
        p.setProperty("assumeMinServerVersion", "10");
        p.setProperty("preferQueryMode", "simple");   // the walsender speaks only the simple query protocol
        try {
            return DriverManager.getConnection(ci.jdbcUrl(), p);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                return fail(new Fail(Exit.PERMISSION, "role " + ci.user + " may not open a replication connection: "
                        + e.getMessage(), "give the role REPLICATION: ./jbang replication-role --role " + ci.user
                        + " (on Neon a role made with SQL cannot get it; make it with ./jbang replication-role --via "
                        + "api, neonctl or the Console)", e));
            }
            if ("53300".equals(e.getSQLState())) {
                return fail(new Fail(Exit.NOT_READY, "no free WAL sender for a replication connection: " + e.getMessage(),
                        "stop an unused subscriber, or raise max_wal_senders (Neon: 10; support can raise it)", e));
            }
            throw connectFailure(ci, e);
        }
    }

    private static Connection fail(Fail f) {
        throw f;
    }

    public Connection conn() {
        return conn;
    }

    public boolean dryRun() {
        return out.dryRun();
    }

    @Override
    public void close() {
        try {
            conn.close();
        } catch (SQLException ignored) {
            // closing a broken connection has nothing left to report
        }
    }

    // ---- reads -------------------------------------------------------------------------------

    /** Rows as ordered maps; Java collections among the parameters are bound as text[] arrays. */
    public List<Map<String, Object>> query(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                return rows(rs);
            }
        }
    }

    /** A result as ordered maps (label → value; SQL arrays as lists); shared with {@link Mz}. */
    public static List<Map<String, Object>> rows(ResultSet rs) throws SQLException {
        // Labels once, not per row: catalog reads return a row per table (10,000 and more).
        ResultSetMetaData md = rs.getMetaData();
        String[] labels = new String[md.getColumnCount()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = md.getColumnLabel(i + 1);
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>(labels.length * 2);
            for (int i = 0; i < labels.length; i++) {
                Object v = rs.getObject(i + 1);
                if (v instanceof Array a) {
                    v = List.of((Object[]) a.getArray());
                }
                row.put(labels[i], v);
            }
            rows.add(row);
        }
        return rows;
    }

    /** Turns the current row of a result into a value. */
    @FunctionalInterface
    public interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /**
     * Rows mapped one by one, for reads that return a row per table: no map per row, and the typed
     * getters instead of getObject (a cold JVM pays for every generic call, 10,000 tables times).
     */
    public <T> List<T> list(String sql, Row<T> row, Object... params) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                List<T> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(row.map(rs));
                }
                return out;
            }
        }
    }

    /** The first column of the first row, or null. */
    public Object value(String sql, Object... params) throws SQLException {
        List<Map<String, Object>> rows = query(sql, params);
        return rows.isEmpty() ? null : rows.get(0).values().iterator().next();
    }

    public String show(String setting) throws SQLException {
        return (String) value("SELECT current_setting(?, true)", setting);
    }

    private void bind(PreparedStatement ps, Object[] params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            if (p instanceof Collection<?> c) {
                ps.setArray(i + 1, conn.createArrayOf("text", c.toArray()));
            } else {
                ps.setObject(i + 1, p);
            }
        }
    }

    /** Neon computes set neon.endpoint_id (PeerDB detects Neon the same way). */
    public String neonEndpoint() throws SQLException {
        String ep = show("neon.endpoint_id");
        return ep == null || ep.isEmpty() ? null : ep;
    }

    public int serverVersionNum() throws SQLException {
        return Integer.parseInt(show("server_version_num"));
    }

    // ---- changes -----------------------------------------------------------------------------

    /** One statement in its own transaction (autocommit); printed, not run, under --dry-run. */
    public void exec(String sql) throws SQLException {
        out.statement(sql);
        if (out.dryRun()) {
            return;
        }
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * Statements in one transaction, sent in one round trip (a multi-statement string): all or nothing.
     * Under --dry-run they are printed between BEGIN and COMMIT.
     */
    public void transaction(List<String> sqls) throws SQLException {
        if (sqls.isEmpty()) {
            return;
        }
        if (sqls.size() > 1 || out.dryRun()) {
            out.statement("BEGIN");
        }
        for (String s : sqls) {
            out.statement(s);
        }
        if (sqls.size() > 1 || out.dryRun()) {
            out.statement("COMMIT");
        }
        if (out.dryRun()) {
            return;
        }
        StringBuilder all = new StringBuilder();
        for (String s : sqls) {
            all.append(s).append(";\n");
        }
        boolean auto = conn.getAutoCommit();
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
            st.execute(all.toString());
            conn.commit();
        } catch (SQLException e) {
            try {
                conn.rollback();
            } catch (SQLException gone) {
                // a lost connection cannot roll back (the server did): report why it was lost, not this
                e.addSuppressed(gone);
            }
            throw e;
        } finally {
            try {
                conn.setAutoCommit(auto);
            } catch (SQLException gone) {
                // the connection is gone; the error above (or the next statement) says so
            }
        }
    }

    // ---- errors ------------------------------------------------------------------------------

    static Fail connectFailure(ConnInfo ci, SQLException e) {
        String where = ci.host() + ":" + ci.port();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return new Fail(Exit.CONNECT, "unknown host " + ci.host(),
                        "check the host name in the connection string (Neon: Console → Connect, the direct host)", e);
            }
            if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
                return refused(ci, where, t.getMessage(), e);
            }
            if (t instanceof SocketTimeoutException) {
                return new Fail(Exit.CONNECT, "timed out connecting to " + where,
                        "check the host, the network and (Neon) the IP Allow list", e);
            }
            if (t instanceof SSLException) {
                return new Fail(Exit.CONNECT, "TLS failed with " + where + ": " + t.getMessage(),
                        "check sslmode (Neon needs sslmode=require; a local server may need sslmode=disable)", e);
            }
        }
        if (state.equals("28P01") || state.equals("28000")) {
            return new Fail(Exit.AUTH, "authentication failed for user \"" + ci.user + "\" at " + where
                    + (ci.passwordSource == null ? " (no password given)" : " (password from " + ci.passwordSource + ")"),
                    ci.authFix != null ? ci.authFix
                            : "check the user and password (PGPASSWORD, ~/.pgpass or --pg-password-file); on Neon a role's "
                            + "password can be reset in the Console: Roles → Reset password", e);
        }
        if (state.equals("3D000")) {
            return new Fail(Exit.NOT_FOUND, "database \"" + ci.dbname + "\" does not exist at " + where,
                    "check the database name at the end of the connection string (Neon's default is neondb)", e);
        }
        if (e.getMessage() != null && e.getMessage().contains("does not support SSL")) {
            return new Fail(Exit.CONNECT, "the server at " + where + " does not accept TLS",
                    "use sslmode=disable for a local server (never for Neon)", e);
        }
        return new Fail(Exit.CONNECT, "cannot connect to " + where + ": " + e.getMessage(),
                "check the connection string", e);
    }

    /**
     * Nothing listens where the settings point: the lab, stopped (its port, on this machine), says so and how
     * to start it; with no host set anywhere, says that nothing was set (localhost:5432 is only the default).
     */
    static Fail refused(ConnInfo ci, String where, String why, SQLException e) {
        Path lab = labAt(ci);
        if (lab != null) {
            boolean usual = lab.equals(labDirs(Cli.ctx().env()).get(0));
            return new Fail(Exit.CONNECT, "cannot connect to " + where + ": the lab (" + lab + ") is not running",
                    "start it: ./jbang lab start " + (usual ? "" : "--dir " + Out.shellQuote(lab.toString()) + " ")
                            + "--detach", e);
        }
        if (ci.hostDefaulted) {
            return new Fail(Exit.CONNECT, "cannot connect to " + where + ": no --pg-url, DATABASE_URL or PGHOST is "
                    + "set, so the default " + where + " was tried", "for the lab, in this shell: eval \"$(./jbang lab "
                    + "env)\"; for another server: --pg-url URL or export DATABASE_URL=URL", e);
        }
        return new Fail(Exit.CONNECT, "cannot connect to " + where + ": " + why,
                "is the server running and the port right? check --pg-url / DATABASE_URL", e);
    }

    /** The lab folder whose server these settings name (this machine, its port), or null. */
    static Path labAt(ConnInfo ci) {
        String h = ci.host();
        if (!(h.equals("localhost") || h.equals("127.0.0.1") || h.equals("::1"))) {
            return null;
        }
        for (Path d : labDirs(Cli.ctx().env())) {
            java.util.Properties p = new java.util.Properties();
            try (java.io.InputStream in = Files.newInputStream(d.resolve("lab.properties"))) {
                p.load(in);
            } catch (java.io.IOException | IllegalArgumentException notALab) {
                continue;
            }
            if (String.valueOf(ci.port()).equals(p.getProperty("port"))) {
                return d;
            }
        }
        return null;
    }

    /**
     * The lab's folder, as {@code lab} and {@code runbook --lab} use it: $NEONMZ_LAB_DIR, else /var/tmp/neonmz-lab for
     * root (PostgreSQL refuses to run as root; its files must be reachable by the user it runs as), else ~/.neonmz/lab.
     */
    public static Path labDir(Map<String, String> env) {
        String d = env.get("NEONMZ_LAB_DIR");
        if (d != null && !d.isEmpty()) {
            return Path.of(d);
        }
        if ("root".equals(System.getProperty("user.name"))
                && !System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows")) {
            return Path.of("/var/tmp/neonmz-lab");
        }
        return Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".neonmz", "lab");
    }

    /** Where labs live: the lab's folder ({@link #labDir}) first, then the folder of PGPASSFILE. */
    static List<Path> labDirs(Map<String, String> env) {
        List<Path> dirs = new ArrayList<>(List.of(labDir(env)));
        String passfile = env.get("PGPASSFILE");
        if (passfile != null && !passfile.isEmpty() && Path.of(passfile).getParent() != null) {
            dirs.add(Path.of(passfile).toAbsolutePath().getParent());
        }
        return dirs;
    }

    /**
     * Logs in with these settings and out again, as any client would (Materialize, a step as the replication role):
     * null when it can, else the server's refusal; {@link #wrongPassword} tells a refused password from the rest.
     */
    public static SQLException loginFailure(ConnInfo ci) {
        try (Connection c = DriverManager.getConnection(ci.jdbcUrl(), ci.jdbcProperties("neonmz"))) {
            return null;
        } catch (SQLException e) {
            return e;
        }
    }

    /** The server refused the password (invalid_password, 28P01), not the host, the database or pg_hba. */
    public static boolean wrongPassword(SQLException e) {
        return e != null && "28P01".equals(e.getSQLState());
    }

    /**
     * An object created by another session at the same time: the name check passed in both, and the loser
     * gets duplicate_object, or unique_violation on the catalog's name index when the winner had not committed.
     */
    public static boolean duplicate(SQLException e) {
        String state = e.getSQLState();
        return "42710".equals(state) || "23505".equals(state) && e.getMessage() != null && e.getMessage().contains("\"pg_");
    }

    /** Errors raised while a step runs, by SQLSTATE. */
    public static Fail translate(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String msg = e.getMessage();
        return switch (state) {
            case "42501" -> new Fail(Exit.PERMISSION, "permission denied: " + msg, msg != null && msg.contains(" role")
                    ? "connect as a role with CREATEROLE that administers this role (the one that created it; on "
                            + "Neon the project owner, e.g. neondb_owner)"
                    : msg != null && msg.contains("FOR ALL TABLES")
                    ? "FOR ALL TABLES needs a superuser (on Neon: neon_superuser); name the tables with --table or --schema"
                    : "connect as the owner of the objects (on Neon: the project owner role, e.g. neondb_owner)", e);
            case "42P01", "3F000", "42704" -> new Fail(Exit.NOT_FOUND, msg, "check the name (see the list above)", e);
            case "53200" -> new Fail(Exit.BUSY, "the server ran out of lock slots: " + msg,
                    "lower --batch-size, or raise max_locks_per_transaction", e);
            case "55P03", "40P01" -> new Fail(Exit.BUSY, "could not get a lock: " + msg,
                    "another session holds a lock on the table; retry when it is done", e);
            // Pg.connect makes a --dry-run session read-only, but it never sends a change then: so the server's
            // own setting (default_transaction_read_only for the database or role, a read replica, a hot standby).
            case "25006" -> new Fail(Exit.READ_ONLY, "the server accepts only reads here: " + msg,
                    "connect to the read-write primary (Neon: not a read replica's endpoint), or clear the setting: "
                            + "ALTER DATABASE … RESET default_transaction_read_only (or ALTER ROLE …); then run the "
                            + "same command again", e);
            case "57014" -> new Fail(Exit.TIMEOUT, "the statement was cancelled: " + msg + " (its transaction was "
                    + "rolled back)", msg != null && msg.contains("statement timeout")
                    ? "the database or role sets statement_timeout (SHOW statement_timeout); run again when the tables "
                            + "are not busy, or allow more: PGOPTIONS='-c statement_timeout=5min'"
                    : "another session cancelled it; run the same command again", e);
            case "28P01", "28000" -> new Fail(Exit.AUTH, msg, "check the user and password", e);
            case "57P01", "57P02", "57P03", "08000", "08003", "08006" -> new Fail(Exit.CONNECT,
                    "the connection was lost: " + msg, "run the same command again; it resumes where it stopped", e);
            // two sessions changing the same catalog row (e.g. two GRANTs on one table): the loser's statement fails
            case "XX000" -> msg != null && msg.contains("tuple concurrently updated")
                    ? new Fail(Exit.BUSY, "another session changed the same object at the same time: " + msg
                            + " (this transaction was rolled back)", "run the same command again once the other "
                            + "run (of this step or of the runbook) has finished", e)
                    : new Fail(Exit.INTERNAL, "SQL error " + state + ": " + msg,
                            "this may be a bug; run again with --verbose and report it", e);
            default -> new Fail(Exit.INTERNAL, "SQL error " + state + ": " + msg,
                    "this may be a bug; run again with --verbose and report it", e);
        };
    }
}
