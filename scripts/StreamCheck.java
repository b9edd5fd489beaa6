///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/PgOutput.java
//SOURCES ../lib/neonmz/Replication.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION After guide step A.2.4: prove the replication stream works: a temporary pgoutput slot on the publication, a no-op change, the change read back (as the replication role).

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

import neonmz.Catalog;
import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.PgOutput;
import neonmz.Replication;
import neonmz.Secrets;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * After guide step A.2.4, before the Materialize half: proves that the replication stream Materialize will
 * read works, end to end. It opens a replication connection as the replication role, creates a TEMPORARY
 * logical slot with the pgoutput plugin (what Materialize uses) on the publication, makes a change that
 * changes no data (an UPDATE of one row to itself, in its own transaction), and reads that change back
 * from the stream. That checks at once what Materialize's CREATE CONNECTION and CREATE SOURCE check one by
 * one (wal_level, a free slot and WAL sender, REPLICATION, the publication) and what they cannot: that the
 * old row arrives whole, which is what REPLICA IDENTITY FULL is for ("Materialize requires REPLICA
 * IDENTITY FULL", guide A.2.1). The slot is temporary, so the server drops it when the connection ends,
 * also when this process dies: nothing is left behind, and a second run does the same again.
 */
@Command(name = "stream-check", mixinStandardHelpOptions = true,
        description = {"After guide step A.2.4: prove the replication stream works. As the replication role "
                + "(--role, with its password; default: the connection's own user), open a temporary logical slot "
                + "(pgoutput, publication_names = the publication), make a change that changes no data (UPDATE one "
                + "row of a published table to itself, in one transaction), read it back from the stream, "
                + "acknowledge it, and close: the temporary slot is dropped by the server, which is verified.",
                "The old row must arrive whole (REPLICA IDENTITY FULL, which Materialize requires); otherwise "
                        + "exit 9 names the identity seen and the fix. --no-write makes no change and waits (--for) "
                        + "for one made by others."},
        footer = {"%nExamples:",
                "  ./jbang stream-check --role materialize --password-file ~/.neonmz/materialize.password",
                "  ./jbang stream-check --table '\"Order Items\"' --dry-run",
                "  ./jbang stream-check --role materialize --password-file ~/.neonmz/materialize.password --no-write --for 1m",
                "  ./jbang stream-check --json"})
public class StreamCheck implements Callable<Integer> {
    /** The change: one row updated to itself (its first writable column set to its own value). */
    static final String NOOP_UPDATE = "UPDATE %1$s SET %2$s = %2$s WHERE ctid = (SELECT ctid FROM %1$s LIMIT 1)";
    /** --insert-probe, for an empty table: a row of defaults inserted and deleted in the same transaction. */
    static final String PROBE_INSERT = "INSERT INTO %s DEFAULT VALUES";
    static final String PROBE_DELETE = "DELETE FROM %s WHERE xmin = pg_current_xact_id()::xid";
    /** Our transaction's id, to find it on the stream among other sessions' changes. */
    static final String XID = "SELECT pg_current_xact_id()::text";

    static final String SLOT_PREFIX = "neonmz_check_";
    static final String PLUGIN = Replication.PLUGIN;
    static final int PROTO_VERSION = 1;

    /**
     * The publication's tables, in order, with what the choice of the table to change needs: the identity,
     * whether the streaming role can read it (Materialize checks USAGE and SELECT), the first column an
     * UPDATE may set (not GENERATED ALWAYS AS IDENTITY, not generated), and UPDATE triggers that would
     * turn the no-op into a real change.
     */
    static final String TABLES = """
            SELECT c.oid::bigint AS oid, pt.schemaname, pt.tablename, c.relreplident::text AS identity,
                   has_schema_privilege(?, n.oid, 'USAGE') AND has_table_privilege(?, c.oid, 'SELECT') AS readable,
                   (SELECT a.attname::text FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attidentity <> 'a' AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1) AS first_column,
                   ARRAY(SELECT t.tgname::text FROM pg_trigger t
                          WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'
                            AND (t.tgtype & 16) <> 0 ORDER BY 1) AS update_triggers
            FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = ?
            ORDER BY pt.schemaname, pt.tablename""";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-p", "--publication"}, paramLabel = "NAME", description = "The publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = {"-r", "--role"}, paramLabel = "NAME",
            description = "Stream as this role, the one Materialize will use (e.g. materialize); its password from "
                    + "--password-file, --password-stdin or $MZ_REPLICATION_PASSWORD. Default: the connection's user. "
                    + "The change itself is always made by the connection's user.")
    String role;

    @Option(names = "--password-file", paramLabel = "FILE", description = "The --role's password: the first line of FILE.")
    Path passwordFile;

    @Option(names = "--password-stdin", description = "Read the --role's password from the first line of standard input.")
    boolean passwordStdin;

    @Option(names = {"-t", "--table"}, paramLabel = "TABLE",
            description = "The published table to change (default: the first published table that has a row).")
    String table;

    @Option(names = "--insert-probe", description = "When the table is empty: insert a row of column defaults and "
            + "delete it again, in one transaction (needs defaults for every NOT NULL column).")
    boolean insertProbe;

    @Option(names = "--no-write", description = "Change nothing: wait (--for) for a change made by someone else.")
    boolean noWrite;

    @Option(names = "--for", paramLabel = "DURATION", converter = Durations.class, defaultValue = "30s",
            description = "With --no-write: how long to wait for a change (default ${DEFAULT-VALUE}).")
    Duration waitFor;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "10s",
            description = "How long the slot may take to start and the change to arrive (default ${DEFAULT-VALUE}).")
    Duration timeout;

    public static void main(String... args) {
        Cli.main(new StreamCheck(), args);
    }

    /** A published table, as the TABLES query describes it. */
    record Published(long oid, String schema, String name, char identity, boolean readable, String firstColumn,
                     List<String> updateTriggers) {
        String qualified() {
            return Sql.qualified(schema, name);
        }
    }

    /** What was read from the stream for the change. */
    record Seen(String kind, PgOutput.Relation relation, String oldRow, long lsn, long endLsn, long latencyMs,
                Map<String, String> row) {}

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        validate();
        ConnInfo ci = pg.resolve(o);
        try (Pg db = Pg.connect(ci, o)) {
            Map<String, Object> s = Replication.settings(db);
            String me = (String) s.get("me");
            String streamer = role != null ? role : me;
            ConnInfo rci = Replication.streamConn(pg, o, ci, me, role, passwordFile, passwordStdin);
            preflight(db, s, streamer);
            List<Published> tables = published(db, streamer);
            warnIdentity(o, tables);
            String slot = Replication.slotName(SLOT_PREFIX);
            o.put("publication", publication);
            o.put("role", streamer);
            o.put("slot", slot);
            Published target = noWrite ? null : choose(db, tables);
            boolean probe = target != null && insertProbe && (target.firstColumn() == null || isEmpty(db, target));
            List<String> change = target == null ? List.of() : change(target, probe);
            StreamCheckSession session = new StreamCheckSession(o, publication, timeout, waitFor);
            session.plan(tables.size(), streamer, streamer.equals(me), slot, target, probe, change);
            if (o.dryRun()) {
                StreamCheckSession.statements(o, change);
                o.put("slot_dropped", true);
                o.line("stream check: would open slot %s as %s%s, then read the change back and drop the slot",
                        slot, streamer, target == null ? "" : " and change " + target.qualified());
                return Exit.OK;
            }
            Seen seen;
            try {
                seen = session.stream(db, rci, slot, target, change);
            } catch (RuntimeException | SQLException e) {
                if (!slotGone(db, slot)) {
                    o.warn("temporary slot " + slot + " is still there after the failure; the server drops it when its "
                            + "connection ends (or: SELECT pg_drop_replication_slot(" + Sql.literal(slot) + "))");
                }
                throw e;
            }
            boolean dropped = slotGone(db, slot);
            o.put("slot_dropped", dropped);
            session.show(seen, !noWrite, dropped);
            verify(o, seen, streamer, slot, dropped);
            return Exit.OK;
        }
    }

    /** The options, checked before connecting. */
    private void validate() {
        Sql.requireName("publication", publication);
        Durations.requirePositive("--timeout", timeout, "10s");
        Durations.requirePositive("--for", waitFor, "30s");
        if (noWrite && (table != null || insertProbe)) {
            throw Fail.usage("--no-write makes no change, so --table and --insert-probe do not apply",
                    "drop --no-write, or drop --table/--insert-probe");
        }
        if (role != null) {
            Sql.requireName("role", role);
        }
        if (passwordFile != null && passwordStdin) {
            throw Fail.usage("--password-file and --password-stdin both given", "give the password one way");
        }
    }

    // ---- before any slot -----------------------------------------------------------------------

    /** What blocks a slot (Replication.preflight), and for a change of ours: a publication that streams updates. */
    private void preflight(Pg db, Map<String, Object> s, String streamer) throws SQLException {
        Map<String, Object> pub = Replication.preflight(db, s, publication, streamer, "check");
        if (!noWrite && !(Boolean) pub.get("pubupdate")) {
            throw new Fail(Exit.CONFLICT, "publication " + publication + " does not publish updates, so the check's "
                    + "update would not be streamed (and Materialize needs inserts, updates and deletes)",
                    "ALTER PUBLICATION " + Sql.ident(publication) + " SET (publish = 'insert, update, delete, truncate')");
        }
    }

    private List<Published> published(Pg db, String streamer) throws SQLException {
        List<Published> tables = db.list(TABLES, rs -> new Published(rs.getLong("oid"), rs.getString("schemaname"),
                rs.getString("tablename"), rs.getString("identity").charAt(0), rs.getBoolean("readable"),
                rs.getString("first_column"), List.of((String[]) rs.getArray("update_triggers").getArray())),
                streamer, streamer, publication);
        if (tables.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " has no tables (Materialize: \"PUBLICATION "
                    + publication + " is empty\")", "add tables: ./jbang publication --name " + Out.shellQuote(publication)
                    + " --table <tables>");
        }
        List<String> unreadable = tables.stream().filter(t -> !t.readable()).map(Published::qualified).toList();
        if (!unreadable.isEmpty()) {
            throw new Fail(Exit.PERMISSION, "role " + streamer + " cannot read " + unreadable.size() + " published table(s): "
                    + String.join(", ", unreadable) + " (Materialize's CREATE SOURCE fails with \"insufficient privileges\")",
                    "./jbang grants --role " + Out.shellQuote(streamer) + " --publication " + Out.shellQuote(publication)
                            + " (guide step A.2.4)");
        }
        return tables;
    }

    private void warnIdentity(Out o, List<Published> tables) {
        List<String> notFull = tables.stream().filter(t -> t.identity() != 'f').map(Published::qualified).toList();
        if (!notFull.isEmpty()) {
            o.put("not_replica_identity_full", notFull);
            o.warn(notFull.size() + " published table(s) lack REPLICA IDENTITY FULL, which Materialize requires: "
                    + String.join(", ", notFull) + "; fix: ./jbang replica-identity --publication " + Out.shellQuote(publication));
        }
    }

    /** --table, or the first published table with a row (and an updatable column, and no UPDATE trigger). */
    private Published choose(Pg db, List<Published> tables) throws SQLException {
        if (table != null) {
            return given(db, tables);
        }
        List<String> skipped = new ArrayList<>();
        for (Published p : tables) {
            if (p.firstColumn() == null || !p.updateTriggers().isEmpty()) {
                continue;
            }
            if (isEmpty(db, p)) {
                skipped.add(p.qualified());
                continue;
            }
            return p;
        }
        if (insertProbe) {
            return tables.get(0);
        }
        throw new Fail(Exit.CONFLICT, "no published table has a row to update" + (skipped.isEmpty() ? ""
                : " (empty: " + String.join(", ", skipped) + ")"),
                "add --insert-probe with --table (a row of defaults inserted and deleted in one transaction), or "
                        + "--no-write to wait for a change made by others");
    }

    /** --table: one published table, with a column to set and a row to update (or --insert-probe). */
    private Published given(Pg db, List<Published> tables) throws SQLException {
        List<Sql.Name> names = Sql.parseNames(table);
        if (names.size() != 1) {
            throw Fail.usage("--table takes one table", "e.g. --table '\"Order Items\"'");
        }
        Catalog.Table t = Catalog.resolve(db, names).get(0);
        Published p = tables.stream().filter(x -> x.oid() == t.oid()).findFirst().orElseThrow(() ->
                new Fail(Exit.NOT_FOUND, "table " + t.qualified() + " is not in publication " + publication,
                        "choose a published table, or add it: ./jbang publication --table " + Out.shellQuote(table)));
        if (!insertProbe && p.firstColumn() == null) {
            throw new Fail(Exit.CONFLICT, "table " + p.qualified() + " has no column an UPDATE may set (all generated)",
                    "choose another --table");
        }
        if (!insertProbe && isEmpty(db, p)) {
            throw new Fail(Exit.CONFLICT, "table " + p.qualified() + " is empty: there is no row to update",
                    "add --insert-probe (inserts a row of defaults and deletes it, in one transaction), or choose "
                            + "another --table");
        }
        return p;
    }

    private static boolean isEmpty(Pg db, Published p) throws SQLException {
        return db.value("SELECT 1 FROM " + p.qualified() + " LIMIT 1") == null;
    }

    /** The statements of the change: the no-op update, or (an empty table, --insert-probe) insert + delete. */
    private static List<String> change(Published p, boolean probe) {
        if (probe) {
            return List.of(String.format(PROBE_INSERT, p.qualified()), String.format(PROBE_DELETE, p.qualified()));
        }
        return List.of(String.format(NOOP_UPDATE, p.qualified(), Sql.ident(p.firstColumn())));
    }

    // ---- after ---------------------------------------------------------------------------------

    /** The temporary slot goes when its walsender exits, just after the connection closes: wait for that. */
    static boolean slotGone(Pg db, String slot) throws SQLException {
        return Replication.slotGone(db, slot);
    }

    /**
     * What the stream must have shown: the slot gone with its connection, and for an UPDATE or DELETE the whole
     * old row (REPLICA IDENTITY FULL, which Materialize requires).
     */
    private void verify(Out o, Seen seen, String streamer, String slot, boolean dropped) {
        String tableName = seen.relation() == null ? "?" : seen.relation().qualified();
        char identity = seen.relation() == null ? '?' : seen.relation().replicaIdentity();
        if (!dropped) {
            throw new Fail(Exit.VERIFY, "temporary slot " + slot + " is still in pg_replication_slots after its "
                    + "connection closed", "drop it: SELECT pg_drop_replication_slot(" + Sql.literal(slot) + ")");
        }
        boolean needsOld = seen.kind().equals("UPDATE") || seen.kind().endsWith("DELETE");
        if (needsOld && !seen.oldRow().equals("full")) {
            throw new Fail(Exit.VERIFY, "the stream works, but " + tableName + " sent " + (seen.oldRow().equals("none")
                    ? "no old row" : "only the old key") + " with its " + seen.kind() + " (REPLICA IDENTITY "
                    + Replication.identityName(identity).toUpperCase(java.util.Locale.ROOT) + "); Materialize requires REPLICA "
                    + "IDENTITY FULL, which sends the whole old row",
                    "./jbang replica-identity --publication " + Out.shellQuote(publication) + " (guide step A.2.1)");
        }
        if (!needsOld && identity != 'f' && identity != '?') {
            o.warn("table " + tableName + " has REPLICA IDENTITY " + Replication.identityName(identity).toUpperCase(java.util.Locale.ROOT)
                    + "; Materialize requires FULL: ./jbang replica-identity --publication " + Out.shellQuote(publication));
        }
        o.line("stream works: %s read %s on %s through publication %s (old row %s), %d ms after commit",
                streamer, seen.kind(), tableName, publication, seen.oldRow(), seen.latencyMs());
        o.put("already_done", true);
    }

}

/**
 * stream-check's replication session, below the step: the lines that show the plan, the replication connection
 * and its temporary slot, the change's transaction on the ordinary connection, the pgoutput messages read until
 * that transaction commits on the stream, and the lines that show what was seen. Which table to change, and
 * whether what came back is right, is decided in {@link StreamCheck} above.
 */
record StreamCheckSession(Out o, String publication, Duration timeout, Duration waitFor) {
    /** What the check will do: the publication, the role, the slot, and the change (or none, with --no-write). */
    void plan(int tables, String streamer, boolean ownUser, String slot, StreamCheck.Published target, boolean probe,
              List<String> change) {
        if (probe) {
            o.line(row("table", target.qualified() + " is empty: --insert-probe inserts a row of defaults and deletes it"));
        }
        o.line(row("publication", publication + " (" + tables + " table" + (tables == 1 ? "" : "s") + ")"));
        o.line(row("streams as", streamer + (ownUser ? " (the connection's user)" : "")));
        o.line(row("slot", slot + " (temporary, " + StreamCheck.PLUGIN + ", proto_version " + StreamCheck.PROTO_VERSION + ")"));
        if (target == null) {
            o.line(row("change", "none (--no-write): waiting up to " + Durations.show(waitFor) + " for one made by others"));
            return;
        }
        o.put("table", target.schema() + "." + target.name());
        if (!target.updateTriggers().isEmpty()) {
            o.warn("table " + target.qualified() + " has UPDATE triggers (" + String.join(", ", target.updateTriggers())
                    + "); they fire on the no-op update and may change the row; choose another with --table");
        }
        if (!o.dryRun() && !o.verbose()) {
            for (String sql : change) {
                o.line(row("change", sql + ";"));
            }
        }
    }

    /**
     * Opens the replication connection and the temporary slot, makes the change, reads until the change's
     * transaction has committed on the stream, acknowledges it, and closes (which drops the slot).
     */
    StreamCheck.Seen stream(Pg db, ConnInfo rci, String slot, StreamCheck.Published target, List<String> change)
            throws SQLException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection rc = Pg.replication(rci)) {
            Replication.createTemporarySlot(rc, slot, timeout);
            o.put("slot_created", true);
            PGReplicationStream stream = Replication.start(rc, slot, publication, StreamCheck.PROTO_VERSION,
                    Duration.ofSeconds(1));
            long xid = -1;
            long committedAt = 0;
            if (target != null) {
                statements(o, change);
                long[] r = write(db, target, change);
                xid = r[0];
                committedAt = r[1];
                deadline = Math.max(deadline, committedAt + timeout.toNanos());
            } else {
                deadline = System.nanoTime() + waitFor.toNanos();
            }
            StreamCheck.Seen seen = read(stream, xid, committedAt, deadline, target);
            LogSequenceNumber ack = LogSequenceNumber.valueOf(seen.endLsn());
            stream.setAppliedLSN(ack);
            stream.setFlushedLSN(ack);
            stream.forceUpdateStatus();
            o.put("acknowledged_lsn", PgOutput.lsn(seen.endLsn()));
            stream.close();
            return seen;
        } catch (SQLException e) {
            Fail f = Pg.translate(e);
            if (f.exit == Exit.CONNECT) {
                throw new Fail(Exit.CONNECT, "the replication connection was lost: " + e.getMessage(),
                        "run the check again (the temporary slot went with the connection)", e);
            }
            throw f;
        }
    }

    /** The change as --dry-run and --verbose show it: its statements in one transaction. */
    static void statements(Out o, List<String> change) {
        if (change.isEmpty()) {
            return;
        }
        o.statement("BEGIN");
        change.forEach(o::statement);
        o.statement("COMMIT");
    }

    /**
     * The change, in one transaction on the ordinary connection: returns our transaction id (32 bits, as
     * pgoutput's Begin carries it) and the time just before COMMIT was sent.
     */
    private long[] write(Pg db, StreamCheck.Published target, List<String> change) throws SQLException {
        Connection c = db.conn();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            // a row locked by another session must not hold the check beyond --timeout (a client-side cancel)
            st.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
            long xid;
            try (ResultSet rs = st.executeQuery(StreamCheck.XID)) {
                rs.next();
                xid = Long.parseLong(rs.getString(1)) & 0xffffffffL;
            }
            int n = st.executeUpdate(change.get(0));
            // another session updated the same row at once (a second check, a runbook): the row found by ctid
            // has a new version when our UPDATE gets its lock, so it matches nothing; the next statement of this
            // transaction (READ COMMITTED) sees the new version
            for (int retry = 0; n == 0 && retry < 5; retry++) {
                n = st.executeUpdate(change.get(0));
            }
            if (n != 1) {
                c.rollback();
                throw new Fail(Exit.CONFLICT, "the change touched " + n + " rows of " + target.qualified()
                        + " instead of 1 (was the table emptied meanwhile?); it was rolled back", "run the check again");
            }
            for (String sql : change.subList(1, change.size())) {
                st.executeUpdate(sql);
            }
            long t0 = System.nanoTime();
            c.commit();
            return new long[] {xid, t0};
        } catch (SQLException e) {
            c.rollback();
            if ("23502".equals(e.getSQLState()) || "23514".equals(e.getSQLState()) || "23503".equals(e.getSQLState())) {
                throw new Fail(Exit.CONFLICT, "the insert probe into " + target.qualified() + " failed: " + e.getMessage()
                        + " (rolled back)", "choose a table whose columns all have defaults, or one with a row "
                        + "(without --insert-probe)", e);
            }
            if ("57014".equals(e.getSQLState())) {
                throw new Fail(Exit.BUSY, "the change to " + target.qualified() + " waited longer than --timeout "
                        + Durations.show(timeout) + " (a lock held by another session?); it was rolled back",
                        "run again when the table is not locked, choose another --table, or raise --timeout", e);
            }
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    /**
     * Reads until our transaction (xid) commits on the stream, or, with --no-write (xid -1), until the first
     * transaction with a change to a published table commits. Returns what its first change showed.
     */
    private StreamCheck.Seen read(PGReplicationStream stream, long xid, long committedAt, long deadline,
                                  StreamCheck.Published target) throws SQLException {
        PgOutput.Decoder decoder = new PgOutput.Decoder();
        boolean inOurs = false;
        PgOutput.Begin begin = null;
        Object first = null;   // a PgOutput change, or a Probe
        int changes = 0;
        while (System.nanoTime() < deadline) {
            ByteBuffer buf = stream.readPending();
            if (buf == null) {
                pause();
                continue;
            }
            long receivedAt = System.nanoTime();
            PgOutput.Message m = decoder.decode(buf);
            if (m instanceof PgOutput.Begin b) {
                begin = b;
                inOurs = xid < 0 || b.xid() == xid;
                first = null;
                changes = 0;
            } else if (inOurs && (m instanceof PgOutput.Insert || m instanceof PgOutput.Update
                    || m instanceof PgOutput.Delete || m instanceof PgOutput.Truncate)) {
                changes++;
                if (first == null) {
                    first = m;
                } else if (first instanceof PgOutput.Insert && m instanceof PgOutput.Delete) {
                    first = new Probe((PgOutput.Insert) first, (PgOutput.Delete) m);   // --insert-probe
                }
            } else if (m instanceof PgOutput.Commit c && inOurs) {
                inOurs = false;
                if (first == null) {
                    continue;   // an empty transaction (servers before 15 send them), or another table's
                }
                long latency;
                if (xid >= 0) {
                    latency = (receivedAt - committedAt) / 1_000_000;
                } else {
                    latency = Duration.between(c.commitInstant(), Instant.now()).toMillis();
                }
                return seen(decoder, first, begin, c, Math.max(0, latency));
            }
        }
        throw notSeen(xid, target);
    }

    /** Nothing pending on the stream: wait a little before asking again. */
    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Fail(Exit.INTERRUPTED, "interrupted", "run the check again");
        }
    }

    /** The change (xid), or with --no-write (xid -1) any change, did not come in time. */
    private Fail notSeen(long xid, StreamCheck.Published target) {
        String what = xid >= 0 ? "the change to " + target.qualified() + " (transaction " + xid + ")"
                : "any change to a table of publication " + publication;
        return new Fail(Exit.TIMEOUT, "the stream did not show " + what + " within "
                + Durations.show(xid >= 0 ? timeout : waitFor),
                xid >= 0 ? "check that the table is in the publication without a row filter (WHERE) that hides the row, "
                        + "then run again, or raise --timeout"
                        : "make a change to a published table while it waits, or wait longer with --for");
    }

    /** --insert-probe: the insert and the delete of one row, shown as one change. */
    private record Probe(PgOutput.Insert insert, PgOutput.Delete delete) {}

    private static StreamCheck.Seen seen(PgOutput.Decoder d, Object first, PgOutput.Begin b, PgOutput.Commit c,
                                         long latency) {
        String kind;
        String old;
        PgOutput.Relation r;
        Map<String, String> row;
        if (first instanceof Probe p) {
            kind = "INSERT+DELETE";
            r = d.relation(p.insert().relationOid());
            old = oldRow(p.delete().oldKind());
            row = p.insert().newRow().asMap(r);
        } else if (first instanceof PgOutput.Update u) {
            kind = "UPDATE";
            r = d.relation(u.relationOid());
            old = oldRow(u.oldKind());
            row = u.newRow().asMap(r);
        } else if (first instanceof PgOutput.Delete del) {
            kind = "DELETE";
            r = d.relation(del.relationOid());
            old = oldRow(del.oldKind());
            row = del.oldRow().asMap(r);
        } else if (first instanceof PgOutput.Insert i) {
            kind = "INSERT";
            r = d.relation(i.relationOid());
            old = "n/a";
            row = i.newRow().asMap(r);
        } else {
            PgOutput.Truncate t = (PgOutput.Truncate) first;
            kind = "TRUNCATE";
            r = d.relation(t.relationOids().get(0));
            old = "n/a";
            row = Map.of();
        }
        return new StreamCheck.Seen(kind, r, old, b.finalLsn(), c.endLsn(), latency, row);
    }

    /** pgoutput's marker for the old row: 'O' the whole row (FULL), 'K' the key only, none at all. */
    static String oldRow(char kind) {
        return kind == 'O' ? "full" : kind == 'K' ? "key" : "none";
    }

    /** What was seen, acknowledged and dropped: the lines, and the JSON (written: the change was ours). */
    void show(StreamCheck.Seen seen, boolean written, boolean dropped) {
        String tableName = seen.relation() == null ? "?" : seen.relation().qualified();
        char identity = seen.relation() == null ? '?' : seen.relation().replicaIdentity();
        o.put("table", seen.relation() == null ? null : seen.relation().schema() + "." + seen.relation().name());
        o.put("change", seen.kind());
        o.put("old_row", seen.oldRow());
        o.put("replica_identity", Replication.identityName(identity));
        o.put("lsn", PgOutput.lsn(seen.lsn()));
        o.put("latency_ms", seen.latencyMs());
        o.put("written", written);
        o.line(row("seen", seen.kind() + " on " + tableName + " at " + PgOutput.lsn(seen.lsn()) + ", "
                + seen.latencyMs() + " ms after commit; old row: " + seen.oldRow()
                + " (REPLICA IDENTITY " + Replication.identityName(identity).toUpperCase(java.util.Locale.ROOT) + ")"));
        o.line(row("acknowledged", PgOutput.lsn(seen.endLsn()) + "; connection closed"));
        o.line(row("slot dropped", dropped ? "yes" : "NO"));
    }

    private static String row(String label, String text) {
        return String.format("%-13s%s", label, text);
    }
}
