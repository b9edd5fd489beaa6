package neonmz;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * A session to Materialize over the Postgres wire protocol (pgjdbc). Under {@code --dry-run} nothing
 * connects: {@link #planOnly()} is true, reads are not possible, and {@link #exec} prints the plan, so
 * a dry run works with no Materialize reachable. Errors come back through {@link MzErrors}.
 *
 * <p>On connecting it reads {@code mz_version()} once ({@link #version}): a release older than
 * {@link #MINIMUM} is refused with one message naming the minimum, and the version is shown in the output
 * ({@code materialize_version} in --json). With {@code NEONMZ_MZ_LOG=FILE} every statement sent to
 * Materialize is appended to FILE as one JSON line (secrets masked, as printed), like {@code psql -e}.
 */
public final class Mz implements AutoCloseable {
    /**
     * The oldest Materialize release the toolkit supports: the first v26 release, where the guide's both C.3
     * syntaxes are documented ("Cloud or Self-Managed v26.0.0+") and the catalog relations the scripts read
     * have the columns pinned in src/test/resources/materialize/facts.json (MaterializeFidelityTest).
     */
    public static final Version MINIMUM = new Version(26, 0, 0, "v26.0.0");
    /*
     * Where Materialize changed within the releases the toolkit supports: each the first release with the new
     * behaviour, dated in Materialize's history (docs/materialize-facts.md, "Version gates"; the gates of
     * src/test/resources/materialize/facts.json, which MzGatesTest compares with these).
     */
    /** mz_postgres_source_tables holds raw names ({@code Order Items}); before, SQL-quoted where needed ({@code "Order Items"}). */
    public static final Version RAW_SOURCE_TABLE_NAMES = new Version(26, 19, 0, "v26.19.0");
    /** CREATE TABLE … FROM SOURCE on by default (enable_create_table_from_source; public preview, release notes v26.25). */
    public static final Version NEW_SOURCE_SYNTAX_DEFAULT = new Version(26, 25, 0, "v26.25.0");
    /** mz_internal.mz_cluster_reconfigurations and SHOW CLUSTERS' activity column exist. */
    public static final Version CLUSTER_RECONFIGURATIONS = new Version(26, 34, 0, "v26.34.0");
    /** ALTER CLUSTER … SET (SIZE …) returns at once and resizes in the background (before: the cluster restarts). */
    public static final Version BACKGROUND_RESIZE = new Version(26, 35, 0, "v26.35.0");

    /** Materialize's own version function (mz_catalog.mz_version(), text like "v26.12.0 (0123abcde)"). */
    public static final String VERSION_SQL = "SELECT mz_version()";

    private final Connection conn;
    private final Out out;
    public final ConnInfo info;
    /** The server's release, read once on connecting; null under --dry-run (nothing is contacted). */
    public final Version version;

    private Mz(Connection conn, Out out, ConnInfo info, Version version) {
        this.conn = conn;
        this.out = out;
        this.info = info;
        this.version = version;
    }

    /** A Materialize release, as mz_version() prints it ("v26.12.0 (sha)", "v0.147.3 (sha)", "v26.5.0-dev.0 (sha)"). */
    public record Version(int major, int minor, int patch, String text) implements Comparable<Version> {
        private static final Pattern FORM = Pattern.compile("v?(\\d+)\\.(\\d+)\\.(\\d+)\\S*");

        /** Parses the first vX.Y.Z in {@code s}; null when there is none. */
        public static Version parse(String s) {
            Matcher m = s == null ? null : FORM.matcher(s);
            if (m == null || !m.find()) {
                return null;
            }
            return new Version(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    m.group().startsWith("v") ? m.group() : "v" + m.group());
        }

        @Override
        public int compareTo(Version o) {
            return major != o.major ? Integer.compare(major, o.major)
                    : minor != o.minor ? Integer.compare(minor, o.minor) : Integer.compare(patch, o.patch);
        }

        public boolean atLeast(Version o) {
            return compareTo(o) >= 0;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** Connects, unless --dry-run (then a plan-only session that never connects). */
    public static Mz connect(MzOptions opts, Out out) {
        ConnInfo ci = opts.resolve(out);
        if (out.dryRun()) {
            return new Mz(null, out, ci, null);
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
            return new Mz(c, out, ci, readVersion(c, ci, out));
        } catch (SQLException e) {
            Fail f = Pg.connectFailure(ci, e);
            if (f.exit == Exit.CONNECT) {
                return failMaterializeUnreachable(ci, f, e);
            }
            throw f;
        }
    }

    /** mz_version(), checked against {@link #MINIMUM}, shown once (a line, and materialize_version in --json). */
    private static Version readVersion(Connection c, ConnInfo ci, Out out) throws SQLException {
        log(VERSION_SQL);
        String text;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(VERSION_SQL)) {
            rs.next();
            text = rs.getString(1);
        } catch (SQLException e) {
            c.close();
            if ("42883".equals(e.getSQLState())) {
                throw new Fail(Exit.USAGE, "the server at " + ci.host() + ":" + ci.port() + " is not Materialize "
                        + "(it has no mz_version())", "point --mz-url (or MZ_URL) at Materialize, not at the upstream "
                        + "PostgreSQL: Materialize Cloud's host from the console, or the emulator on port 6875", e);
            }
            throw translate("SELECT mz_version()", e);
        }
        Version v = Version.parse(text);
        if (v == null) {
            c.close();
            throw new Fail(Exit.INTERNAL, "mz_version() answered " + text + ", which is not a release number",
                    "report it, with the answer above");
        }
        if (!v.atLeast(MINIMUM)) {
            c.close();
            throw new Fail(Exit.UNSUPPORTED, "Materialize " + v + " is older than " + MINIMUM
                    + ", the oldest release this toolkit supports", "upgrade Materialize to " + MINIMUM
                    + " or newer (self-managed: the Helm chart's environmentd version; the emulator: a "
                    + "materialize/materialized:" + MINIMUM + " or newer image)");
        }
        out.put("materialize_version", v.text());
        if (!out.json()) {
            out.line("Materialize " + v.text() + " at " + ci.host() + ":" + ci.port());
        }
        return v;
    }

    /**
     * The emulator image every docker line names: the newest release the docs list, the same as the Docker tier's
     * (pom.xml materialize.version; facts.json emulator). Checked by PinnedImageTest.
     */
    public static final String EMULATOR_IMAGE = "materialize/materialized:v26.38.0";

    private static Mz failMaterializeUnreachable(ConnInfo ci, Fail f, SQLException e) {
        throw new Fail(Exit.CONNECT, "cannot reach Materialize (" + f.getMessage() + ")",
                "give --mz-url (or MZ_URL): Materialize Cloud's host from the console, user = your e-mail, "
                        + "password = an app password in MZ_PASSWORD; or run the emulator: docker run -d "
                        + "-p 127.0.0.1:6875:6875 " + EMULATOR_IMAGE, e);
    }

    /** Whether this server is {@code v} or newer; false under --dry-run (no version was read). */
    public boolean atLeast(Version v) {
        return version != null && version.atLeast(v);
    }

    /**
     * An upstream schema or table name as read from mz_postgres_source_tables: raw from {@link
     * #RAW_SOURCE_TABLE_NAMES} on, before that quoted where SQL needs it (the identifier's AST form:
     * {@code "Order Items"}, {@code "we""ird"}), which this undoes so that both compare with upstream names.
     */
    public String sourceTableName(String stored) {
        if (stored == null || version == null || version.atLeast(RAW_SOURCE_TABLE_NAMES)) {
            return stored;
        }
        return Sql.unquoteIdent(stored);
    }

    /**
     * The columns of {@code TEXT COLUMNS = (…)} or {@code EXCLUDE COLUMNS = (…)} in a create_sql (Materialize writes
     * them so: test/pg-cdc/pg-cdc.td, alter-source.td), each the last part of its dotted name, unquoted.
     */
    public static List<String> optionColumns(String createSql, String which) {
        List<String> out = new java.util.ArrayList<>();
        if (createSql == null) {
            return out;
        }
        java.util.regex.Matcher mt = java.util.regex.Pattern.compile("\\b" + which + " COLUMNS = \\(").matcher(createSql);
        if (!mt.find()) {
            return out;
        }
        StringBuilder part = new StringBuilder();
        boolean quoted = false;
        for (int i = mt.end(); i < createSql.length(); i++) {
            char c = createSql.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < createSql.length() && createSql.charAt(i + 1) == '"') {
                    part.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    part.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == '.') {
                part.setLength(0);
            } else if (c == ',' || c == ')') {
                if (!part.toString().isBlank()) {
                    out.add(part.toString().strip());
                }
                part.setLength(0);
                if (c == ')') {
                    break;
                }
            } else {
                part.append(c);
            }
        }
        return out;
    }

    /** An ingested table's columns against its upstream table's now: gone upstream, and added upstream but not ingested. */
    public record ColumnDrift(List<String> gone, List<String> added) {
        public boolean none() {
            return gone.isEmpty() && added.isEmpty();
        }
    }

    /**
     * What Materialize ingests of a table ({@code ingested}: its mz_columns; {@code excluded}: its EXCLUDE COLUMNS)
     * against the upstream table's columns now: Materialize matches columns by name (facts schema_rules), so a
     * column gone upstream stops the table at its next check, and one added upstream (and not excluded) is not
     * ingested until the table is re-created.
     */
    public static ColumnDrift columnDrift(List<String> ingested, List<String> excluded, List<String> upstream) {
        return new ColumnDrift(ingested.stream().filter(c -> !upstream.contains(c)).toList(),
                upstream.stream().filter(c -> !ingested.contains(c) && !excluded.contains(c)).toList());
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
        sent(sql);
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
        sent(sql);
        if (planOnly()) {
            return;
        }
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw translate(firstWords(sql), e);
        }
    }

    /** A statement of a dry run's plan that runs on Materialize at run time (a read): printed, and logged as {@link #sent}. */
    public void planned(String sql) {
        out.statement(sql);
        sent(sql);
    }

    /**
     * One statement that only checks (e.g. VALIDATE CONNECTION for a read-only step): not printed as a
     * planned change; its SQLException comes back as it is, for the caller to judge.
     */
    public void check(String sql) throws SQLException {
        sent(sql);
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * Appends {@code sql} (as printed: secrets masked) to $NEONMZ_MZ_LOG when set: each statement sent to
     * Materialize, and under --dry-run each one that would be. For statements sent on {@link #conn()}
     * directly (a cursor's DECLARE/FETCH), the caller calls this.
     */
    public void sent(String sql) {
        log(sql);
    }

    private static void log(String sql) {
        String file = Cli.ctx().env("NEONMZ_MZ_LOG");
        if (file == null) {
            return;
        }
        Path log = Path.of(file);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("sql", sql);
        try {
            Files.writeString(log, Json.write(line) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new Fail(Exit.USAGE, "cannot write NEONMZ_MZ_LOG " + log + ": " + e.getMessage(),
                    "unset NEONMZ_MZ_LOG or give a writable file");
        }
    }

    /**
     * One statement that carries a secret: {@code shown} (the same statement with the secret written as
     * {@link Secrets#MASK}) is what is printed, listed in --json and named in errors; {@code sql} is only sent.
     */
    public void execSecret(String sql, String shown) throws SQLException {
        out.statement(shown);
        sent(shown);
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
        sqls.forEach(this::sent);
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
