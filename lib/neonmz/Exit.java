package neonmz;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one table of exit codes every script uses. It is printed in each script's {@code --help} and in
 * the README (ExitCodeTest keeps the README in step with this table).
 */
public final class Exit {
    public static final int OK = 0;
    public static final int INTERNAL = 1;
    public static final int USAGE = 2;
    public static final int CONNECT = 3;
    public static final int AUTH = 4;
    public static final int NOT_READY = 5;
    public static final int NOT_FOUND = 6;
    public static final int CONFLICT = 7;
    public static final int PERMISSION = 8;
    public static final int VERIFY = 9;
    public static final int POOLER = 10;
    public static final int NEEDS_NEON_API = 11;
    public static final int BUSY = 12;
    public static final int TIMEOUT = 13;
    public static final int STALLED = 14;
    public static final int DECLINED = 15;
    public static final int UNSUPPORTED = 16;
    public static final int DRIFT = 17;
    public static final int READ_ONLY = 18;
    public static final int MIGRATION_FAILED = 19;
    public static final int NEEDS_OWN_RUN = 20;
    public static final int BRANCH_LEFT = 21;
    public static final int INTERRUPTED = 130;

    /** Code → meaning, in order; the text used by --help and the README. */
    public static final Map<Integer, String> TABLE = new LinkedHashMap<>();

    static {
        TABLE.put(OK, "done, or already done");
        TABLE.put(INTERNAL, "unexpected error (a bug: please report it with --verbose output)");
        TABLE.put(USAGE, "bad option or value");
        TABLE.put(CONNECT, "cannot reach the server (host, port, TLS, timeout)");
        TABLE.put(AUTH, "authentication failed (user or password)");
        TABLE.put(NOT_READY, "server settings block replication (wal_level, slots, WAL senders)");
        TABLE.put(NOT_FOUND, "a named database, schema, table, publication or role does not exist");
        TABLE.put(CONFLICT, "an object exists but differs from what was asked; nothing was changed");
        TABLE.put(PERMISSION, "the connected role lacks a privilege the step needs");
        TABLE.put(VERIFY, "the check after the change failed");
        TABLE.put(POOLER, "a Neon -pooler host was given; replication needs the direct host");
        TABLE.put(NEEDS_NEON_API, "Neon only: needs the Neon API, neonctl or the Console");
        TABLE.put(BUSY, "locks or lock slots not available; retry, or lower --batch-size");
        TABLE.put(TIMEOUT, "--timeout or statement_timeout passed before it was done");
        TABLE.put(STALLED, "a source is stuck: no snapshot progress, or an unknown error");
        TABLE.put(DECLINED, "not confirmed (answered no, or no terminal and no --yes)");
        TABLE.put(UNSUPPORTED, "the Materialize release is older than the oldest one supported (v26.0.0)");
        TABLE.put(DRIFT, "drift: a watch --fail-on condition, or evolve found some");
        TABLE.put(READ_ONLY, "the server accepts only reads (read-only setting, read replica)");
        TABLE.put(MIGRATION_FAILED, "evolve: the migration fails (nothing upstream changed)");
        TABLE.put(NEEDS_OWN_RUN, "evolve: a statement that cannot run in a transaction");
        TABLE.put(BRANCH_LEFT, "evolve --on-branch: its temporary branch could not be deleted");
        TABLE.put(INTERRUPTED, "interrupted (Ctrl-C)");
    }

    private Exit() {}
}
