package neonmz;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * A session to Materialize over the Postgres wire protocol (pgjdbc). Under {@code --dry-run} nothing
 * connects: {@link #planOnly()} is true, reads are not possible, and {@link #exec} prints the plan, so
 * a dry run works with no Materialize reachable. Errors come back through {@link MzErrors}.
 */
public final class Mz implements AutoCloseable {
    private final Connection conn;
    private final Out out;
    public final ConnInfo info;

    private Mz(Connection conn, Out out, ConnInfo info) {
        this.conn = conn;
        this.out = out;
        this.info = info;
    }

    /** Connects, unless --dry-run (then a plan-only session that never connects). */
    public static Mz connect(MzOptions opts, Out out) {
        ConnInfo ci = opts.resolve(out);
        if (out.dryRun()) {
            return new Mz(null, out, ci);
        }
        return open(ci, out);
    }

    /**
     * Connects also under --dry-run, for a step that only reads Materialize and makes its change elsewhere
     * (e.g. ip-allow reads mz_egress_ips, then changes the Neon project): its dry run needs the answer.
     */
    public static Mz connectToRead(MzOptions opts, Out out) {
        return open(opts.resolve(out), out);
    }

    private static Mz open(ConnInfo ci, Out out) {
        try {
            Connection c = DriverManager.getConnection(ci.jdbcUrl(), ci.jdbcProperties("neonmz"));
            return new Mz(c, out, ci);
        } catch (SQLException e) {
            Fail f = Pg.connectFailure(ci, e);
            if (f.exit == Exit.CONNECT) {
                return failMaterializeUnreachable(ci, f, e);
            }
            throw f;
        }
    }

    private static Mz failMaterializeUnreachable(ConnInfo ci, Fail f, SQLException e) {
        throw new Fail(Exit.CONNECT, "cannot reach Materialize (" + f.getMessage() + ")",
                "give --mz-url (or MZ_URL): Materialize Cloud's host from the console, user = your e-mail, "
                        + "password = an app password in MZ_PASSWORD; or run the emulator: docker run -d "
                        + "-p 127.0.0.1:6875:6875 materialize/materialized", e);
    }

    public boolean planOnly() {
        return conn == null;
    }

    public Connection conn() {
        return conn;
    }

    @Override
    public void close() {
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // nothing left to report
            }
        }
    }

    public List<Map<String, Object>> query(String sql, Object... params) throws SQLException {
        return queryWithin(0, sql, params);
    }

    /**
     * A read cancelled (a protocol cancel request, which Materialize honours) after {@code seconds}; 0 waits
     * as long as it takes. For reads that can block, e.g. a SELECT on a source still snapshotting.
     */
    public List<Map<String, Object>> queryWithin(int seconds, String sql, Object... params) throws SQLException {
        if (planOnly()) {
            throw new IllegalStateException("no reads in a plan-only (dry-run) session");
        }
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (seconds > 0) {
                ps.setQueryTimeout(seconds);
            }
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return Pg.rows(rs);
            }
        } catch (SQLException e) {
            throw translate("query failed", e);
        }
    }

    public Object value(String sql, Object... params) throws SQLException {
        List<Map<String, Object>> rows = query(sql, params);
        return rows.isEmpty() ? null : rows.get(0).values().iterator().next();
    }

    /** One statement; printed instead of run under --dry-run. */
    public void exec(String sql) throws SQLException {
        out.statement(sql);
        if (planOnly()) {
            return;
        }
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw translate(firstWords(sql), e);
        }
    }

    /**
     * One statement that carries a secret: {@code shown} (the same statement with the secret written as
     * {@link Secrets#MASK}) is what is printed, listed in --json and named in errors; {@code sql} is only sent.
     */
    public void execSecret(String sql, String shown) throws SQLException {
        out.statement(shown);
        if (planOnly()) {
            return;
        }
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw translate(firstWords(shown), e);
        }
    }

    /**
     * Statements in one explicit transaction (Materialize allows this for a few kinds only, e.g.
     * CREATE TABLE … FROM SOURCE); sent one by one.
     */
    public void transaction(List<String> sqls) throws SQLException {
        out.statement("BEGIN");
        sqls.forEach(out::statement);
        out.statement("COMMIT");
        if (planOnly()) {
            return;
        }
        conn.setAutoCommit(false);
        try (Statement s = conn.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            throw translate("transaction", e);
        } finally {
            conn.setAutoCommit(true);
        }
    }

    static String firstWords(String sql) {
        String[] w = sql.strip().split("\\s+");
        return String.join(" ", java.util.Arrays.asList(w).subList(0, Math.min(3, w.length)));
    }

    /** Materialize's message with its detail and hint, matched against {@link MzErrors}. */
    public static Fail translate(String context, SQLException e) {
        StringBuilder text = new StringBuilder(String.valueOf(e.getMessage()));
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            ServerErrorMessage m = p.getServerErrorMessage();
            text.setLength(0);
            text.append(m.getMessage());
            if (m.getDetail() != null) {
                text.append("\n  detail: ").append(m.getDetail());
            }
            if (m.getHint() != null) {
                text.append("\n  hint: ").append(m.getHint());
            }
        }
        return MzErrors.fail(context, text.toString(), e);
    }
}
