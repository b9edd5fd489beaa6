package neonmz;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.postgresql.PGConnection;
import org.postgresql.replication.PGReplicationStream;

/**
 * Plumbing for the scripts that read a replication stream themselves (stream-check, tap): who streams (the
 * connection's user or a replication role with its password), what blocks a logical slot (each with its
 * exit code and fix), a TEMPORARY pgoutput slot opened with a deadline, and the check that it went away.
 * A temporary slot belongs to its connection: the server drops it when the connection ends, also when the
 * client process dies, so nothing is left behind.
 */
public final class Replication {
    private Replication() {}

    public static final String PLUGIN = "pgoutput";

    static final String SETTINGS = """
            SELECT current_setting('wal_level') AS wal_level,
                   current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)::int AS free_slots,
                   current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication)::int AS free_senders,
                   current_user AS me""";
    static final String PUBLICATION = "SELECT pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication WHERE pubname = ?";
    static final String ROLE = "SELECT rolreplication OR rolsuper AS replication, rolcanlogin FROM pg_roles WHERE rolname = ?";
    static final String SLOT_LEFT = "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?";

    private static final SecureRandom RANDOM = new SecureRandom();

    /** The server's settings a slot needs, and the connection's user: wal_level, free_slots, free_senders, me. */
    public static Map<String, Object> settings(Pg db) throws SQLException {
        return db.query(SETTINGS).get(0);
    }

    /** A slot name of ours: prefix, this process's id and 6 random characters (two runs never collide). */
    public static String slotName(String prefix) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder b = new StringBuilder(prefix).append(ProcessHandle.current().pid()).append('_');
        for (int i = 0; i < 6; i++) {
            b.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    /**
     * The replication connection's settings: the connection's own ({@code role} null or the same user), or
     * {@code role} with its password from the file, stdin or $MZ_REPLICATION_PASSWORD.
     */
    public static ConnInfo streamConn(PgOptions pg, Out o, ConnInfo ci, String me, String role, Path passwordFile,
                                      boolean passwordStdin) {
        boolean passwordGiven = passwordFile != null || passwordStdin;
        if (role == null || role.equals(me)) {
            if (passwordGiven) {
                if (role == null) {
                    throw Fail.usage("--password-file/--password-stdin is the --role's password, and no --role was given",
                            "add --role NAME (the replication role), or drop the password option");
                }
                ci.password(Secrets.given(passwordFile, passwordStdin, "MZ_REPLICATION_PASSWORD"), "the --role password");
                ci.authFix = roleAuthFix(role, passwordFile);
            }
            return ci;
        }
        // under --dry-run nothing connects as the role, and the file may not exist yet (a plan made before
        // replication-role has written it)
        String pw = o.dryRun() && passwordFile != null && !Files.exists(passwordFile) ? null
                : Secrets.given(passwordFile, passwordStdin, "MZ_REPLICATION_PASSWORD");
        if (pw == null && !o.dryRun()) {
            throw Fail.usage("no password for role " + role + " (--role)",
                    "give --password-file FILE (the 0600 file ./jbang replication-role --password-out wrote), "
                            + "--password-stdin, or $MZ_REPLICATION_PASSWORD");
        }
        ConnInfo r = pg.resolve(o);
        r.user = role;
        r.password(pw, passwordFile != null ? "file " + passwordFile : passwordStdin ? "stdin" : "MZ_REPLICATION_PASSWORD");
        r.authFix = roleAuthFix(role, passwordFile);
        return r;
    }

    /**
     * The fix for the replication role's refused password: its own file, or a new password (not the owner's
     * PGPASSWORD / --pg-password-file, which play no part in this login).
     */
    static String roleAuthFix(String role, Path passwordFile) {
        String file = passwordFile != null ? Out.shellQuote(passwordFile.toString()) : "FILE";
        return "give --password-file FILE holding role " + role + "'s password (the file ./jbang replication-role "
                + "--password-out wrote), or set a new one: ./jbang replication-role --role " + Out.shellQuote(role)
                + " --reset-password --password-out " + file;
    }

    /**
     * What blocks a slot, checked before one is asked for, each with its own exit code and fix: wal_level,
     * a free slot and WAL sender, the publication, and the streaming role (exists, REPLICATION, LOGIN).
     * Returns the publication's row (pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot).
     */
    public static Map<String, Object> preflight(Pg db, Map<String, Object> s, String publication, String streamer,
                                                String what) throws SQLException {
        return preflight(db, s, publication, streamer, what, true);
    }

    /** As above; {@code newSlot} false for reading a slot that exists already (no free slot needed). */
    public static Map<String, Object> preflight(Pg db, Map<String, Object> s, String publication, String streamer,
                                                String what, boolean newSlot) throws SQLException {
        String walLevel = (String) s.get("wal_level");
        if (!"logical".equals(walLevel)) {
            throw new Fail(Exit.NOT_READY, "logical replication is not enabled: wal_level is " + walLevel,
                    "see ./jbang check-logical-replication (on Neon: --enable)");
        }
        if (newSlot && (Integer) s.get("free_slots") < 1) {
            throw new Fail(Exit.NOT_READY, "no free replication slot for the " + what + " (max_replication_slots are all in use)",
                    "drop a slot no one uses (./jbang check-logical-replication lists them): "
                            + "SELECT pg_drop_replication_slot('<slot>'); a Materialize source needs 2 free");
        }
        if ((Integer) s.get("free_senders") < 1) {
            throw new Fail(Exit.NOT_READY, "no free WAL sender (max_wal_senders are all in use)",
                    "stop an unused subscriber, or raise max_wal_senders (Neon: 10; support can raise it)");
        }
        List<Map<String, Object>> p = db.query(PUBLICATION, publication);
        if (p.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "publication " + publication + " does not exist",
                    "create it: ./jbang publication --table <tables> (guide step A.2.2)");
        }
        List<Map<String, Object>> r = db.query(ROLE, streamer);
        if (r.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "role " + streamer + " does not exist",
                    "create it: ./jbang replication-role --role " + Out.shellQuote(streamer) + " (guide step A.2.3)");
        }
        if (!(Boolean) r.get(0).get("replication")) {
            throw new Fail(Exit.PERMISSION, "role " + streamer + " lacks the REPLICATION attribute, so it cannot open "
                    + "a replication stream (neither can Materialize as this role)",
                    "./jbang replication-role --role " + Out.shellQuote(streamer) + "; on Neon a role made with SQL "
                            + "cannot get REPLICATION: make it with ./jbang replication-role --via api, neonctl or the Console");
        }
        if (!(Boolean) r.get(0).get("rolcanlogin")) {
            throw new Fail(Exit.PERMISSION, "role " + streamer + " cannot log in (NOLOGIN)",
                    "ALTER ROLE " + Sql.ident(streamer) + " LOGIN, or ./jbang replication-role --role " + Out.shellQuote(streamer));
        }
        return p.get(0);
    }

    /**
     * Creates a TEMPORARY logical slot with pgoutput on a replication connection, within {@code timeout}:
     * a new logical slot waits for the transactions running on the server to end before it is ready. At the
     * timeout a cancel request is sent (the walsender stops waiting and releases the half-made slot), and
     * if even that goes unanswered, the connection is dropped.
     */
    public static void createTemporarySlot(Connection rc, String slot, Duration timeout) throws SQLException {
        PGConnection pgc = rc.unwrap(PGConnection.class);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "slot-timeout");
            t.setDaemon(true);
            return t;
        });
        AtomicBoolean timedOut = new AtomicBoolean();
        try {
            ScheduledFuture<?> watchdog = timer.schedule(() -> {
                timedOut.set(true);
                try {
                    pgc.cancelQuery();
                } catch (SQLException ignored) {
                    // the abort below follows
                }
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
            ScheduledFuture<?> abort = timer.schedule(() -> {
                try {
                    rc.abort(Runnable::run);
                } catch (SQLException ignored) {
                    // the connection is going away either way
                }
            }, timeout.toMillis() + 3000, TimeUnit.MILLISECONDS);
            try {
                pgc.getReplicationAPI().createReplicationSlot().logical()
                        .withSlotName(slot).withOutputPlugin(PLUGIN).withTemporaryOption().make();
            } catch (java.sql.SQLFeatureNotSupportedException e) {
                throw new Fail(Exit.NOT_READY, "temporary replication slots need PostgreSQL 10 or later",
                        "upgrade the server (Neon runs 14 and later)", e);
            } catch (SQLException e) {
                if (timedOut.get()) {
                    throw new Fail(Exit.TIMEOUT, "the temporary slot was not ready within --timeout "
                            + Durations.show(timeout) + ": a new logical slot waits for every running transaction to end",
                            "look for long transactions: SELECT pid, xact_start, state, query FROM pg_stat_activity "
                                    + "WHERE backend_xid IS NOT NULL ORDER BY xact_start; or raise --timeout", e);
                }
                throw slotFailure(e);
            } finally {
                watchdog.cancel(false);
                abort.cancel(false);
            }
        } finally {
            timer.shutdownNow();
        }
    }

    /** Starts streaming a pgoutput slot (protocol version {@code proto}) for one publication. */
    public static PGReplicationStream start(Connection rc, String slot, String publication, int proto,
                                            Duration statusInterval) throws SQLException {
        return rc.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                .withSlotName(slot)
                .withSlotOption("proto_version", String.valueOf(proto))
                .withSlotOption("publication_names", Sql.ident(publication))
                .withStatusInterval((int) Math.max(1, statusInterval.toMillis()), TimeUnit.MILLISECONDS)
                .start();
    }

    /** The server's refusal of a slot, by SQLSTATE, with its exit code and fix. */
    public static Fail slotFailure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String msg = e.getMessage();
        return switch (state) {
            case "55000" -> new Fail(Exit.NOT_READY, "the server refused a logical slot: " + msg,
                    "see ./jbang check-logical-replication (wal_level must be logical)", e);
            case "53400", "53300" -> new Fail(Exit.NOT_READY, "no free replication slot or WAL sender: " + msg,
                    "drop a slot no one uses (./jbang check-logical-replication lists them)", e);
            case "42501" -> new Fail(Exit.PERMISSION, "permission denied for a replication slot: " + msg,
                    "give the role REPLICATION: ./jbang replication-role", e);
            default -> Pg.translate(e);
        };
    }

    /** The temporary slot goes when its walsender exits, just after the connection closes: waits up to 5 s for that. */
    public static boolean slotGone(Pg db, String slot) throws SQLException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            if (db.query(SLOT_LEFT, slot).isEmpty()) {
                return true;
            }
            if (System.nanoTime() > until) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** pg_class.relreplident as a word: full, default, index, nothing. */
    public static String identityName(char c) {
        return switch (c) {
            case 'f' -> "full";
            case 'd' -> "default";
            case 'i' -> "index";
            case 'n' -> "nothing";
            default -> "unknown";
        };
    }
}
