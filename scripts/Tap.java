///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
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
//SOURCES ../lib/neonmz/Traffic.java
//DESCRIPTION Any time: stream the publication's changes (pgoutput, a temporary slot) and show each one with its old and new row: what Materialize will receive; warns on TRUNCATE.

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

import neonmz.Catalog;
import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Json;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.PgOutput;
import neonmz.Replication;
import neonmz.Sql;
import neonmz.Traffic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Any time after guide step A.2.4: reads the publication's replication stream the way Materialize does
 * (pgoutput, protocol version 1, publication_names) from a TEMPORARY slot, and shows every change with its
 * old and new row. That makes visible what the guide only states: with REPLICA IDENTITY FULL an UPDATE or
 * DELETE carries the whole old row; with the default identity only the key, or nothing. A TRUNCATE is
 * warned about each time: Materialize cannot replicate it (the source errors, guide "Known limitations").
 *
 * <p>The slot belongs to the replication connection: it goes when the tap stops (--max, --for, Ctrl-C), and
 * the server drops it also when the process is killed. What was read is acknowledged (at each commit, sent
 * with the status updates) so the server may recycle its WAL meanwhile.
 */
@Command(name = "tap", mixinStandardHelpOptions = true,
        description = {"Any time: stream the publication's changes as Materialize will receive them. As the replication "
                + "role (--role, with its password) or the connection's user, open a temporary logical slot (pgoutput, "
                + "proto_version 1, publication_names), then print one line per change: LSN, transaction id, "
                + "INSERT/UPDATE/DELETE/TRUNCATE, the table, the old row (full, key or none: what REPLICA IDENTITY "
                + "sends) and the new row. -v adds BEGIN, COMMIT and RELATION lines.",
                "Stops at --max changes, after --for, or on Ctrl-C, then prints the changes per table and kind; the "
                        + "slot goes with the connection. A TRUNCATE is warned about: Materialize cannot handle it."},
        footer = {"%nExamples:",
                "  ./jbang tap --role materialize --password-file ~/.neonmz/materialize.password",
                "  ./jbang tap --for 1m --json > changes.jsonl",
                "  ./jbang tap --demo-changes 6          # makes 6 changes itself (loadgen) once the slot is ready"})
public class Tap implements Callable<Integer> {
    static final String SLOT_PREFIX = "neonmz_tap_";
    static final int PROTO_VERSION = 1;
    static final String PUBLISHED = """
            SELECT pt.schemaname, pt.tablename, c.relreplident::text AS identity
            FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = ? ORDER BY 1, 2""";
    static final String SLOT = "SELECT plugin, slot_type, database, active FROM pg_replication_slots WHERE slot_name = ?";
    static final int MAX_VALUE_CHARS = 60;

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-p", "--publication"}, paramLabel = "NAME", description = "The publication (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = {"-r", "--role"}, paramLabel = "NAME",
            description = "Stream as this role (the one Materialize uses, e.g. materialize); its password from "
                    + "--password-file, --password-stdin or $MZ_REPLICATION_PASSWORD. Default: the connection's user.")
    String role;

    @Option(names = "--password-file", paramLabel = "FILE", description = "The --role's password: the first line of FILE.")
    Path passwordFile;

    @Option(names = "--password-stdin", description = "Read the --role's password from the first line of standard input.")
    boolean passwordStdin;

    @Option(names = "--max", paramLabel = "N", description = "Stop after N changes (rows inserted, updated or deleted; "
            + "a TRUNCATE counts as one).")
    Long max;

    @Option(names = "--for", paramLabel = "DURATION", converter = Durations.class,
            description = "Stop after this long (default: at --max, or Ctrl-C).")
    Duration forDuration;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "10s",
            description = "How long the temporary slot may take to be ready (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--demo-changes", paramLabel = "N",
            description = "Once the slot is ready, make N changes on the publication's tables with loadgen "
                    + "(--count N --rate 0 --mix insert=1,update=1,delete=1 --seed 1, as the connection's user), then stop when they have been read "
                    + "(unless --max or --for say otherwise). For demos and notebooks: a tap only sees what happens "
                    + "after its slot exists.")
    Long demoChanges;

    @Option(names = "--quiet", description = "Print no line per change, only the summary (every message is still decoded).")
    boolean quiet;

    @Option(names = "--slot", paramLabel = "NAME", description = "Read this existing pgoutput slot instead of a "
            + "temporary one. It is left as it was: nothing is acknowledged, so its position does not move.")
    String existingSlot;

    /** Counted down by main() once the output is written, so a Ctrl-C lets the summary out first. */
    static final CountDownLatch PRINTED = new CountDownLatch(1);

    public static void main(String... args) {
        int code = Cli.execute(new Tap(), Cli.systemCtx(), args);
        System.out.flush();
        System.err.flush();
        PRINTED.countDown();
        System.exit(code);
    }

    /** Changes by kind for one table: insert, update, delete, truncate. */
    static final String[] KINDS = {"insert", "update", "delete", "truncate"};

    /** Why the tap stops, set by Ctrl-C or --for from another thread; the connection is closed to end a wait. */
    private final AtomicReference<String> halt = new AtomicReference<>();
    private final AtomicReference<Connection> live = new AtomicReference<>();
    private final CountDownLatch closed = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        try {
            return tap();
        } finally {
            closed.countDown();
        }
    }

    private int tap() throws Exception {
        Out o = out.out();
        requireOptions();
        ConnInfo ci = pg.resolve(o);
        try (Pg db = Pg.connect(ci, o)) {
            Map<String, Object> s = Replication.settings(db);
            String me = (String) s.get("me");
            String streamer = role != null ? role : me;
            ConnInfo rci = Replication.streamConn(pg, o, ci, me, role, passwordFile, passwordStdin);
            Replication.preflight(db, s, publication, streamer, "tap", existingSlot == null);
            if (existingSlot != null) {
                checkSlot(db, existingSlot);
            }
            List<Map<String, Object>> tables = db.query(PUBLISHED, publication);
            List<String> notFull = tables.stream().filter(t -> !"f".equals(t.get("identity")))
                    .map(t -> Sql.qualified((String) t.get("schemaname"), (String) t.get("tablename"))).toList();
            if (!notFull.isEmpty()) {
                o.put("not_replica_identity_full", notFull);
                o.warn(notFull.size() + " published table(s) lack REPLICA IDENTITY FULL, which Materialize requires: "
                        + String.join(", ", notFull) + "; their UPDATE and DELETE carry the key or no old row (below); fix: "
                        + "./jbang replica-identity --publication " + Out.shellQuote(publication));
            }
            int width = 0;
            for (Map<String, Object> t : tables) {
                width = Math.max(width, Sql.qualified((String) t.get("schemaname"), (String) t.get("tablename")).length());
            }
            String slot = existingSlot != null ? existingSlot : Replication.slotName(SLOT_PREFIX);
            o.put("publication", publication);
            o.put("role", streamer);
            o.put("slot", slot);
            o.put("temporary", existingSlot == null);
            String until = stopsAt();
            if (o.dryRun()) {
                o.line("tap: would open slot %s (temporary, %s, proto_version %d) on publication %s as %s; %s",
                        slot, Replication.PLUGIN, PROTO_VERSION, publication, streamer, until);
                return Exit.OK;
            }
            return stream(o, db, rci, slot, streamer, tables, Math.max(width, 12));
        }
    }

    private void requireOptions() {
        Sql.requireName("publication", publication);
        Durations.requirePositive("--timeout", timeout, "10s");
        Durations.requirePositive("--for", forDuration, "30s");
        if (max != null && max < 1) {
            throw Fail.usage("--max must be 1 or more", "e.g. --max 100");
        }
        if (demoChanges != null && demoChanges < 1) {
            throw Fail.usage("--demo-changes must be 1 or more", "e.g. --demo-changes 6");
        }
        if (role != null) {
            Sql.requireName("role", role);
        }
        if (passwordFile != null && passwordStdin) {
            throw Fail.usage("--password-file and --password-stdin both given", "give the password one way");
        }
    }

    private String stopsAt() {
        List<String> parts = new ArrayList<>();
        if (max != null) {
            parts.add("--max " + max);
        }
        if (forDuration != null) {
            parts.add("--for " + Durations.show(forDuration));
        }
        if (demoChanges != null && max == null) {
            parts.add("once the demo's changes are read");
        }
        parts.add("Ctrl-C");
        return "stops at " + String.join(", ", parts);
    }

    private void checkSlot(Pg db, String slot) throws SQLException {
        if (!slot.matches("[a-z0-9_]{1,63}")) {   // PostgreSQL's rule for slot names: no such slot can exist
            throw Fail.usage("--slot " + slot + " is not a replication slot name", "slot names are 1 to 63 of a-z, 0-9 and _");
        }
        List<Map<String, Object>> r = db.query(SLOT, slot);
        if (r.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "replication slot " + slot + " does not exist",
                    "drop --slot to use a temporary slot, or create it: SELECT pg_create_logical_replication_slot("
                            + Sql.literal(slot) + ", 'pgoutput')");
        }
        Map<String, Object> m = r.get(0);
        if (!"logical".equals(m.get("slot_type")) || !Replication.PLUGIN.equals(m.get("plugin"))) {
            throw new Fail(Exit.CONFLICT, "slot " + slot + " is not a logical pgoutput slot (" + m.get("slot_type") + ", "
                    + m.get("plugin") + ")", "use a pgoutput slot, or drop --slot");
        }
        if (Boolean.TRUE.equals(m.get("active"))) {
            throw new Fail(Exit.BUSY, "slot " + slot + " is in use by another connection", "wait until it is free, or drop --slot");
        }
    }

    // ---- the stream ----------------------------------------------------------------------------

    /** What the stream showed, per table (in the order first seen) and kind. */
    private final Map<String, long[]> byTable = new LinkedHashMap<>();
    /** Each relation's quoted name, made once (a new Relation message after a schema change is a new key). */
    private final Map<PgOutput.Relation, String> names = new java.util.IdentityHashMap<>();
    private long changes;
    private long transactions;

    /** Why the loop stopped (null: the stream ended), the last commit's end, when the first and last change came. */
    private String stopped;
    private long lastCommitEnd;
    private long firstChangeAt;
    private long lastChangeAt;
    /** The transaction being read (BEGIN's xid). */
    private long xid;

    /**
     * Opens the replication connection and the slot, shows the changes until a stop, then the summary, and
     * checks that a temporary slot went with its connection.
     */
    private int stream(Out o, Pg db, ConnInfo rci, String slot, String streamer, List<Map<String, Object>> tables,
                       int width) throws SQLException {
        boolean temporary = existingSlot == null;
        Thread hook = stopHook();
        Runtime.getRuntime().addShutdownHook(hook);
        ScheduledExecutorService timer = forTimer();
        try (Connection rc = Pg.replication(rci)) {
            live.set(rc);
            if (halt.get() != null) {
                rc.abort(Runnable::run);
            }
            if (temporary) {
                Replication.createTemporarySlot(rc, slot, timeout);
            }
            PGReplicationStream stream = Replication.start(rc, slot, publication, PROTO_VERSION, Duration.ofSeconds(1));
            o.line("tap: slot %s (%s, %s, proto_version %d) on publication %s as %s; %s", slot,
                    temporary ? "temporary" : "existing, not acknowledged", Replication.PLUGIN, PROTO_VERSION,
                    publication, streamer, stopsAt());
            Long limit = max;
            if (demoChanges != null) {
                demoing = true;
                long made = demo(o, tables);
                demoing = false;
                if (limit == null && forDuration == null || halt.get() != null) {
                    limit = made;
                }
                if (halt.get() != null) {
                    // Ctrl-C stopped the demo: read what it committed, for at most a second, then the summary
                    timer.schedule(() -> abort(rc), 1, TimeUnit.SECONDS);
                }
            }
            long deadline = forDuration == null ? Long.MAX_VALUE : System.nanoTime() + forDuration.toNanos();
            if (forDuration != null) {
                // the loop checks the deadline itself while changes flow; this ends a read that waits for one
                timer.schedule(() -> halt("for"), forDuration.toMillis(), TimeUnit.MILLISECONDS);
            }
            read(o, stream, limit, deadline, temporary, width, halt.get() != null);
            acknowledge(o, stream, temporary);
            stream.close();
        } catch (SQLException e) {
            stoppedOrFail(e);
        } finally {
            o.batching(false);
            live.set(null);
            timer.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and waits for us
            }
        }
        return finish(o, db, slot, temporary);
    }

    /** The shutdown hook: a stop (the slot goes with the connection), then a wait until the summary is out. */
    private Thread stopHook() {
        return new Thread(() -> {
            halt("interrupted");   // Ctrl-C (SIGINT) or SIGTERM: close the connection, so the slot goes now
            try {
                if (closed.await(5, TimeUnit.SECONDS)) {
                    PRINTED.await(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException ignored) {
                // the JVM is going away
            }
        }, "tap-stop");
    }

    /** The thread that ends a read waiting for a message once --for is up. */
    private static ScheduledExecutorService forTimer() {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tap-for");
            t.setDaemon(true);
            return t;
        });
    }

    /** Reads and shows the messages until a stop: Ctrl-C or --for, the limit, the deadline, the end of the stream. */
    private void read(Out o, PGReplicationStream stream, Long limit, long deadline, boolean temporary, int width,
                      boolean draining) throws SQLException {
        PgOutput.Decoder decoder = new PgOutput.Decoder();
        boolean human = !o.json() && !quiet;
        boolean jsonLines = o.json() && !quiet;
        o.batching(true);
        while (true) {
            if (halt.get() != null && !draining) {
                stopped = halt.get();
                break;
            }
            if (limit != null && changes >= limit) {
                stopped = draining ? halt.get() : max != null ? "max" : "demo";
                break;
            }
            if (System.nanoTime() >= deadline) {
                stopped = "for";
                break;
            }
            ByteBuffer buf = stream.readPending();
            if (buf == null) {
                // nothing buffered: out with what was printed, then wait for the next message (a stop closes
                // the connection, which ends the wait)
                o.flush();
                buf = stream.read();
                if (buf == null) {
                    stopped = halt.get();
                    break;
                }
            }
            message(o, human, jsonLines, stream, decoder, decoder.decode(buf), temporary, width);
        }
        o.batching(false);
    }

    /** One message: BEGIN, COMMIT and RELATION (shown with -v; a commit is acknowledged), a change, a TRUNCATE. */
    private void message(Out o, boolean human, boolean jsonLines, PGReplicationStream stream, PgOutput.Decoder decoder,
                         PgOutput.Message m, boolean temporary, int width) {
        long lsn = stream.getLastReceiveLSN().asLong();
        if (m instanceof PgOutput.Begin b) {
            xid = b.xid();
            if (o.verbose()) {
                event(o, human, jsonLines, lsn, xid, "BEGIN", null, width, "commits at " + PgOutput.lsn(b.finalLsn()),
                        Map.of("final_lsn", PgOutput.lsn(b.finalLsn())));
            }
        } else if (m instanceof PgOutput.Commit c) {
            transactions++;
            lastCommitEnd = c.endLsn();
            if (temporary) {
                // sent with the next status update (every second): the server may recycle the WAL up to here
                LogSequenceNumber ack = LogSequenceNumber.valueOf(lastCommitEnd);
                stream.setAppliedLSN(ack);
                stream.setFlushedLSN(ack);
            }
            if (o.verbose()) {
                event(o, human, jsonLines, lsn, xid, "COMMIT", null, width, "next " + PgOutput.lsn(c.endLsn()),
                        Map.of("end_lsn", PgOutput.lsn(c.endLsn())));
            }
        } else if (m instanceof PgOutput.Relation r) {
            if (o.verbose()) {
                event(o, human, jsonLines, lsn, xid, "RELATION", r.qualified(), width, "REPLICA IDENTITY "
                                + Replication.identityName(r.replicaIdentity()).toUpperCase(java.util.Locale.ROOT)
                                + ", " + r.columns().size() + " columns",
                        Map.of("identity", Replication.identityName(r.replicaIdentity())));
            }
        } else if (m instanceof PgOutput.Insert || m instanceof PgOutput.Update || m instanceof PgOutput.Delete) {
            long now = System.nanoTime();
            if (firstChangeAt == 0) {
                firstChangeAt = now;
            }
            lastChangeAt = now;
            change(o, human, jsonLines, decoder, m, lsn, xid, width);
        } else if (m instanceof PgOutput.Truncate t) {
            truncate(o, human, jsonLines, decoder, t, lsn, xid, width);
        }
    }

    /** A temporary slot: what was read is acknowledged before the stream closes. */
    private void acknowledge(Out o, PGReplicationStream stream, boolean temporary) throws SQLException {
        if (temporary && lastCommitEnd != 0) {
            LogSequenceNumber ack = LogSequenceNumber.valueOf(lastCommitEnd);
            stream.setAppliedLSN(ack);
            stream.setFlushedLSN(ack);
            stream.forceUpdateStatus();
            o.put("acknowledged_lsn", PgOutput.lsn(lastCommitEnd));
        }
    }

    /** A stop closes the connection: the summary still follows; otherwise the error is the answer. */
    private void stoppedOrFail(SQLException e) {
        if (halt.get() != null) {
            stopped = halt.get();   // the connection was closed to stop: the summary still follows
        } else {
            Fail f = Pg.translate(e);
            if (f.exit == Exit.CONNECT) {
                throw new Fail(Exit.CONNECT, "the replication connection was lost: " + e.getMessage(),
                        "run the tap again (the temporary slot went with the connection)", e);
            }
            throw f;
        }
    }

    /** The summary, then: a temporary slot must be gone with its connection. */
    private int finish(Out o, Pg db, String slot, boolean temporary) throws SQLException {
        boolean dropped = !temporary || Replication.slotGone(db, slot);
        summary(o, slot, temporary, dropped, stopped, firstChangeAt, lastChangeAt);
        if (temporary && !dropped) {
            throw new Fail(Exit.VERIFY, "temporary slot " + slot + " is still in pg_replication_slots after its "
                    + "connection closed", "drop it: SELECT pg_drop_replication_slot(" + Sql.literal(slot) + ")");
        }
        return "interrupted".equals(stopped) ? Exit.INTERRUPTED : Exit.OK;
    }

    /**
     * --demo-changes: loadgen's traffic (lib Traffic, the same as ./jbang loadgen … --count N --rate 0) on the
     * publication's tables, once the slot is ready; returns the changes it made.
     */
    private long demo(Out o, List<Map<String, Object>> tables) throws SQLException {
        List<String> names = tables.stream().map(t -> Sql.qualified((String) t.get("schemaname"), (String) t.get("tablename"))).toList();
        List<String> shown = List.of("--tables", String.join(",", names), "--count", String.valueOf(demoChanges),
                "--rate", "0", "--mix", "insert=1,update=1,delete=1", "--seed", "1");
        List<Traffic.Target> targets = new ArrayList<>();
        try (Pg traffic = pg.connect(o)) {
            for (Catalog.Table t : Catalog.resolve(traffic, Sql.parseNames(String.join(",", names)))) {
                targets.add(Traffic.describe(traffic, t));
            }
            long made;
            try {
                made = Traffic.run(null, traffic, targets, new double[] {1, 1, 1}, 1, 0, 1, (long) demoChanges, null,
                        () -> halt.get() != null)[0];
            } catch (Fail f) {
                throw new Fail(f.exit, "the demo's changes failed: " + f.getMessage(), "run ./jbang loadgen "
                        + String.join(" ", shown.stream().map(Out::shellQuote).toList()) + " to see why");
            }
            long[] kinds = new long[3];
            targets.forEach(t -> {
                for (int k = 0; k < 3; k++) {
                    kinds[k] += t.made[k];
                }
            });
            o.line("demo: ./jbang loadgen %s made %d changes (%d insert, %d update, %d delete) after the slot was ready%s",
                    String.join(" ", shown.stream().map(Out::shellQuote).toList()), made, kinds[0], kinds[1], kinds[2],
                    halt.get() != null ? " (stopped: " + halt.get() + ")" : "");
            o.put("demo_changes", made);
            return made;
        }
    }

    private void change(Out o, boolean human, boolean jsonLines, PgOutput.Decoder d, PgOutput.Message m, long lsn, long xid,
                        int width) {
        PgOutput.Relation r = d.relationOf(m);
        String table = r == null ? "?" : names.computeIfAbsent(r, PgOutput.Relation::qualified);
        int kind;
        char oldKind = 0;
        PgOutput.Tuple oldRow = null;
        PgOutput.Tuple newRow = null;
        if (m instanceof PgOutput.Insert i) {
            kind = 0;
            newRow = i.newRow();
        } else if (m instanceof PgOutput.Update u) {
            kind = 1;
            oldKind = u.oldKind();
            oldRow = u.oldRow();
            newRow = u.newRow();
        } else {
            PgOutput.Delete del = (PgOutput.Delete) m;
            kind = 2;
            oldKind = del.oldKind();
            oldRow = del.oldRow();
        }
        count(table, kind, 1);
        if (human) {
            StringBuilder b = new StringBuilder();
            if (kind > 0) {
                b.append(oldKind == 0 ? "old: none" : "old (" + oldRow(oldKind) + "): " + row(r, oldRow, oldKind == 'K'));
            }
            if (newRow != null) {
                b.append(b.length() > 0 ? "  " : "").append("new: ").append(row(r, newRow, false));
            }
            o.line(prefix(lsn, xid, KINDS[kind].toUpperCase(java.util.Locale.ROOT), table, width) + b);
        } else if (jsonLines) {
            o.jsonLine(json(r, KINDS[kind].toUpperCase(java.util.Locale.ROOT), lsn, xid, oldKind, oldRow, newRow));
        }
    }

    private final StringBuilder jb = new StringBuilder(1024);
    /** Each relation's column names as JSON keys ("name":), made once. */
    private final Map<PgOutput.Relation, String[]> keys = new java.util.IdentityHashMap<>();

    /**
     * A change as one JSON line, written straight into a reused buffer: lsn, xid, kind, table, identity, for
     * UPDATE and DELETE old_row (full/key/none) and old, for INSERT and UPDATE new (column → text, null for
     * NULL and an unchanged TOASTed value), unchanged_toast (the columns not sent) when there are any.
     */
    private CharSequence json(PgOutput.Relation r, String kind, long lsn, long xid, char oldKind, PgOutput.Tuple oldRow,
                              PgOutput.Tuple newRow) {
        StringBuilder b = jb;
        b.setLength(0);
        b.append("{\"lsn\":\"").append(PgOutput.lsn(lsn)).append("\",\"xid\":").append(xid)
                .append(",\"kind\":\"").append(kind).append("\",\"table\":");
        if (r == null) {
            b.append("null,\"identity\":null");
        } else {
            Json.quoted(b, r.schema() + "." + r.name());
            b.append(",\"identity\":\"").append(Replication.identityName(r.replicaIdentity())).append('"');
        }
        if (!kind.equals("INSERT")) {
            b.append(",\"old_row\":\"").append(oldRow(oldKind)).append("\",\"old\":");
            tuple(b, r, oldRow, oldKind == 'K');
        }
        if (newRow != null) {
            b.append(",\"new\":");
            tuple(b, r, newRow, false);
            boolean any = false;
            List<PgOutput.Value> v = newRow.values();
            for (int i = 0; i < v.size(); i++) {
                if (v.get(i).isUnchangedToast()) {
                    b.append(any ? "," : ",\"unchanged_toast\":[");
                    Json.quoted(b, r != null && i < r.columns().size() ? r.columns().get(i).name() : "column" + (i + 1));
                    any = true;
                }
            }
            if (any) {
                b.append(']');
            }
        }
        return b.append('}');
    }

    private void tuple(StringBuilder b, PgOutput.Relation r, PgOutput.Tuple t, boolean keyOnly) {
        if (t == null) {
            b.append("null");
            return;
        }
        String[] k = r == null ? null : keys.computeIfAbsent(r, x -> {
            String[] out = new String[x.columns().size()];
            for (int i = 0; i < out.length; i++) {
                StringBuilder q = new StringBuilder();
                Json.quoted(q, x.columns().get(i).name());
                out[i] = q.append(':').toString();
            }
            return out;
        });
        b.append('{');
        List<PgOutput.Value> values = t.values();
        boolean first = true;
        for (int i = 0; i < values.size(); i++) {
            if (keyOnly && r != null && i < r.columns().size() && !r.columns().get(i).key()) {
                continue;
            }
            if (!first) {
                b.append(',');
            }
            first = false;
            if (k != null && i < k.length) {
                b.append(k[i]);
            } else {
                b.append("\"column").append(i + 1).append("\":");
            }
            PgOutput.Value v = values.get(i);
            if (v.isNull() || v.isUnchangedToast()) {
                b.append("null");
            } else {
                Json.quoted(b, v.text());
            }
        }
        b.append('}');
    }

    private void truncate(Out o, boolean human, boolean jsonLines, PgOutput.Decoder d, PgOutput.Truncate t, long lsn,
                          long xid, int width) {
        List<String> names = new ArrayList<>();
        List<String> plain = new ArrayList<>();
        for (long oid : t.relationOids()) {
            PgOutput.Relation r = d.relation(oid);
            names.add(r == null ? "oid " + oid : r.qualified());
            plain.add(r == null ? "oid " + oid : r.schema() + "." + r.name());
            count(r == null ? "oid " + oid : r.qualified(), 3, 1);
        }
        changes -= t.relationOids().size() - 1;   // one TRUNCATE statement is one change, however many tables
        String opts = (t.cascade() ? " CASCADE" : "") + (t.restartIdentity() ? " RESTART IDENTITY" : "");
        if (human) {
            o.line(prefix(lsn, xid, "TRUNCATE", String.join(", ", names), width) + opts.strip());
        } else if (jsonLines) {
            Map<String, Object> j = base(lsn, xid, "TRUNCATE");
            j.put("tables", plain);
            j.put("cascade", t.cascade());
            j.put("restart_identity", t.restartIdentity());
            o.jsonLine(j);
        }
        o.warn("TRUNCATE of " + String.join(", ", names) + " at " + PgOutput.lsn(lsn) + ": Materialize cannot handle "
                + "TRUNCATE; a source that reads these tables errors and has to be recreated (use DELETE instead)");
    }

    private void event(Out o, boolean human, boolean jsonLines, long lsn, long xid, String kind, String table, int width,
                       String text, Map<String, Object> extra) {
        if (human) {
            o.line(prefix(lsn, xid, kind, table == null ? "" : table, width) + text);
        } else if (jsonLines) {
            Map<String, Object> j = base(lsn, xid, kind);
            if (table != null) {
                j.put("table", table);
            }
            j.putAll(extra);
            o.jsonLine(j);
        }
    }

    private void count(String table, int kind, long n) {
        byTable.computeIfAbsent(table, k -> new long[4])[kind] += n;
        changes += n;
    }

    private static Map<String, Object> base(long lsn, long xid, String kind) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("lsn", PgOutput.lsn(lsn));
        j.put("xid", xid);
        j.put("kind", kind);
        return j;
    }

    /** The aligned start of a line: LSN, xid, kind, table. */
    private static String prefix(long lsn, long xid, String kind, String table, int width) {
        return String.format("%-11s %-7d %-8s %-" + width + "s  ", PgOutput.lsn(lsn), xid, kind, table);
    }

    /** A row as (col=value, …): null, <unchanged toast>, long values cut; a key row shows its key columns only. */
    static String row(PgOutput.Relation r, PgOutput.Tuple t, boolean keyOnly) {
        StringBuilder b = new StringBuilder("(");
        List<PgOutput.Value> values = t.values();
        boolean first = true;
        for (int i = 0; i < values.size(); i++) {
            if (keyOnly && r != null && i < r.columns().size() && !r.columns().get(i).key()) {
                continue;
            }
            if (!first) {
                b.append(", ");
            }
            first = false;
            b.append(r != null && i < r.columns().size() ? r.columns().get(i).name() : "column" + (i + 1)).append('=');
            PgOutput.Value v = values.get(i);
            if (v.isNull()) {
                b.append("null");
            } else if (v.isUnchangedToast()) {
                b.append("<unchanged toast>");
            } else {
                String s = v.text();
                b.append(s.length() > MAX_VALUE_CHARS ? s.substring(0, MAX_VALUE_CHARS) + "…" : s);
            }
        }
        return b.append(')').toString();
    }

    /** A row for --json: column → text (null for NULL and for an unchanged TOASTed value). */
    static Map<String, String> map(PgOutput.Relation r, PgOutput.Tuple t, boolean keyOnly) {
        Map<String, String> all = t.asMap(r);
        if (!keyOnly || r == null) {
            return all;
        }
        Map<String, String> key = new LinkedHashMap<>();
        for (PgOutput.Column c : r.columns()) {
            if (c.key()) {
                key.put(c.name(), all.get(c.name()));
            }
        }
        return key;
    }

    private void summary(Out o, String slot, boolean temporary, boolean dropped, String stopped, long first, long last) {
        List<List<Object>> rows = new ArrayList<>();
        List<Map<String, Object>> json = new ArrayList<>();
        long[] sum = new long[4];
        for (Map.Entry<String, long[]> e : new TreeMap<>(byTable).entrySet()) {
            long[] k = e.getValue();
            rows.add(List.of(e.getKey(), k[0], k[1], k[2], k[3]));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", e.getKey());
            for (int i = 0; i < 4; i++) {
                m.put(KINDS[i], k[i]);
                sum[i] += k[i];
            }
            json.add(m);
        }
        if (!rows.isEmpty()) {
            o.table(List.of("table", "insert", "update", "delete", "truncate"), rows);
        }
        o.put("changes", changes);
        for (int i = 0; i < 4; i++) {
            o.put(KINDS[i], sum[i]);
        }
        o.put("transactions", transactions);
        o.put("tables", json);
        o.put("stopped", stopped);
        o.put("slot_dropped", temporary ? dropped : null);
        if (last > first) {
            o.put("decode_ms", (last - first) / 1_000_000);
        }
        String why = switch (stopped == null ? "" : stopped) {
            case "max" -> "--max " + max;
            case "demo" -> "the demo's changes read";
            case "for" -> "--for " + Durations.show(forDuration);
            case "interrupted" -> "interrupted";
            default -> "the stream ended";
        };
        o.line("tap: %d change%s (%d insert, %d update, %d delete, %d truncate) in %d transaction%s; stopped: %s; slot %s %s",
                changes, changes == 1 ? "" : "s", sum[0], sum[1], sum[2], sum[3], transactions,
                transactions == 1 ? "" : "s", why, slot,
                temporary ? (dropped ? "dropped" : "NOT dropped") : "left as it was");
    }


    /** pgoutput's marker for the old row: 'O' the whole row (FULL), 'K' the key only, none at all. */
    static String oldRow(char kind) {
        return kind == 'O' ? "full" : kind == 'K' ? "key" : "none";
    }

    /** While the demo makes its changes, a stop ends the demo first (its changes are then read); see stream(). */
    private volatile boolean demoing;

    private void halt(String why) {
        if (halt.compareAndSet(null, why) && !demoing) {
            abort(live.get());
        }
    }

    private static void abort(Connection c) {
        if (c != null) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException | RuntimeException ignored) {
                // closing is all that is wanted
            }
        }
    }
}
