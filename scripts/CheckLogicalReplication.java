///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step A.1: check that logical replication is enabled (wal_level), and the slots and WAL senders a source needs.

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * Guide step A.1 — "Enable logical replication", verified as the guide does with {@code SHOW wal_level}
 * (it must say {@code logical}). Also what Materialize's CREATE CONNECTION validation checks next:
 * max_wal_senders ≥ 1 and at least 2 free replication slots ("1 replication slot for the snapshots and 1
 * for the continuing replication"), and the slots already in use with the WAL each one holds back.
 */
@Command(name = "check-logical-replication", mixinStandardHelpOptions = true,
        description = {"Guide step A.1: is logical replication enabled (SHOW wal_level = logical)? Also reports "
                + "max_replication_slots, max_wal_senders and the slots in use. Changes nothing."},
        footer = {"%nExamples:",
                "  ./jbang check-logical-replication",
                "  DATABASE_URL='postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb' \\",
                "    PGPASSWORD=… ./jbang check-logical-replication --json"})
public class CheckLogicalReplication implements Callable<Integer> {
    /** The guide's check. */
    static final String SHOW_WAL_LEVEL = "SHOW wal_level";
    static final String SETTINGS = """
            SELECT current_setting('max_replication_slots')::int AS max_replication_slots,
                   current_setting('max_wal_senders')::int AS max_wal_senders,
                   (SELECT count(*) FROM pg_replication_slots)::int AS slots_used,
                   (SELECT count(*) FROM pg_stat_replication)::int AS senders_used,
                   current_setting('server_version') AS server_version""";
    static final String SLOTS = """
            SELECT slot_name, plugin, slot_type, active, wal_status,
                   pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained_wal
            FROM pg_replication_slots ORDER BY slot_name""";

    /** Materialize's CREATE CONNECTION validation (cdc-anchors §1a). */
    static final int SLOTS_NEEDED = 2;

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    public static void main(String... args) {
        Cli.main(new CheckLogicalReplication(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        try (Pg db = pg.connect(o)) {
            String walLevel = (String) db.value(SHOW_WAL_LEVEL);
            Map<String, Object> s = db.query(SETTINGS).get(0);
            String neon = db.neonEndpoint();
            boolean isNeon = neon != null || db.info.isNeon();
            int maxSlots = (Integer) s.get("max_replication_slots");
            int maxSenders = (Integer) s.get("max_wal_senders");
            int slotsUsed = (Integer) s.get("slots_used");
            int sendersUsed = (Integer) s.get("senders_used");
            int freeSlots = maxSlots - slotsUsed;
            boolean walOk = "logical".equals(walLevel);
            boolean slotsOk = freeSlots >= SLOTS_NEEDED;
            boolean sendersOk = maxSenders - sendersUsed >= 1;

            o.table(List.of("check", "value", "needed", "ok"), List.of(
                    List.of("wal_level", walLevel, "logical", yes(walOk)),
                    List.of("max_replication_slots", maxSlots + " (" + slotsUsed + " used, " + freeSlots + " free)",
                            SLOTS_NEEDED + " free", yes(slotsOk)),
                    List.of("max_wal_senders", maxSenders + " (" + sendersUsed + " used)", "1 free", yes(sendersOk))));
            List<Map<String, Object>> slots = db.query(SLOTS);
            if (!slots.isEmpty()) {
                o.line("");
                List<List<Object>> rows = new ArrayList<>();
                for (Map<String, Object> r : slots) {
                    rows.add(List.of(r.get("slot_name"), r.get("plugin") == null ? "" : r.get("plugin"),
                            Boolean.TRUE.equals(r.get("active")) ? "active" : "inactive",
                            r.get("wal_status") == null ? "" : r.get("wal_status"),
                            r.get("retained_wal") == null ? "" : r.get("retained_wal")));
                }
                o.table(List.of("slot", "plugin", "state", "wal_status", "retained WAL"), rows);
            }
            o.put("wal_level", walLevel);
            o.put("max_replication_slots", maxSlots);
            o.put("slots_used", slotsUsed);
            o.put("free_slots", freeSlots);
            o.put("max_wal_senders", maxSenders);
            o.put("senders_used", sendersUsed);
            o.put("server_version", s.get("server_version"));
            o.put("neon", isNeon);
            o.put("neon_endpoint", neon);
            o.put("slots", slots);

            if (!walOk) {
                String fix = isNeon
                        ? "enable it in the Neon Console: select your project → Settings → Logical Replication → "
                                + "Enable. It applies to every database of the project, cannot be reverted, and "
                                + "restarts all computes (open connections drop). Then run this check again."
                        : "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not enough), "
                                + "and run this check again";
                throw new Fail(Exit.NOT_READY, "logical replication is not enabled: wal_level is " + walLevel
                        + ", it must be logical", fix);
            }
            if (!sendersOk) {
                throw new Fail(Exit.NOT_READY, "no free WAL sender: max_wal_senders = " + maxSenders + ", "
                        + sendersUsed + " in use", isNeon ? "Neon sets max_wal_senders = 10; stop an unused "
                        + "subscriber, or ask Neon support to raise it" : "raise max_wal_senders (restart needed)");
            }
            if (!slotsOk) {
                throw new Fail(Exit.NOT_READY, "only " + freeSlots + " free replication slot(s); a Materialize source "
                        + "needs " + SLOTS_NEEDED + " (one for the snapshot, one for the stream)",
                        "drop slots no one uses (inactive above): SELECT pg_drop_replication_slot('<slot>'); "
                                + (isNeon ? "Neon's limit is 10 slots (support can raise it)"
                                : "or raise max_replication_slots (restart needed)"));
            }
            o.line("logical replication: enabled (wal_level=logical, %d free slots, %d free WAL senders)",
                    freeSlots, maxSenders - sendersUsed);
            o.put("already_done", true);
            return Exit.OK;
        }
    }

    static String yes(boolean b) {
        return b ? "yes" : "NO";
    }
}
