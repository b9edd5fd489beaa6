///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step A.1: check that logical replication is enabled (wal_level), and the slots and WAL senders a source needs.

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.ConnInfo;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step A.1 — "Enable logical replication", verified as the guide does with {@code SHOW wal_level}
 * (it must say {@code logical}). Also what Materialize's CREATE CONNECTION validation checks next:
 * max_wal_senders ≥ 1 and at least 2 free replication slots ("1 replication slot for the snapshots and 1
 * for the continuing replication"), and the slots already in use with the WAL each one holds back.
 *
 * With {@code --enable} it first turns the Neon project setting on through the Neon API (what the Console's
 * Settings → Logical Replication → Enable does), after a warning and a confirmation, and waits until the
 * restarted compute reports {@code wal_level = logical}.
 */
@Command(name = "check-logical-replication", mixinStandardHelpOptions = true,
        description = {"Guide step A.1: is logical replication enabled (SHOW wal_level = logical)? Also reports "
                + "max_replication_slots, max_wal_senders and the slots in use. Changes nothing, unless --enable "
                + "is given.",
                "With --enable (Neon): reads the project setting enable_logical_replication through the Neon API "
                        + "(NEON_API_KEY, --project); when it is off, warns (it cannot be disabled again, applies to "
                        + "every database of the project, restarts all computes), asks (--yes skips), turns it on, "
                        + "waits for the compute to come back with wal_level=logical (--timeout), then checks."},
        footer = {"%nExamples:",
                "  ./jbang check-logical-replication",
                "  DATABASE_URL='postgresql://neondb_owner@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb' \\",
                "    PGPASSWORD=… ./jbang check-logical-replication --json",
                "  NEON_API_KEY=… ./jbang check-logical-replication --enable --project shiny-wind-028834 --dry-run"})
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

    /**
     * --enable: the Console's switch as an API call, PATCH /projects/{project_id} with
     * {"project":{"settings": ENABLE}} (neon.md §1a). Neon's spec: "Sets wal_level=logical for all compute
     * endpoints in this project. All active endpoints will be suspended. Once enabled, logical replication
     * cannot be disabled."
     */
    static final String ENABLE = "{\"enable_logical_replication\":true}";
    static final List<String> WARNING = List.of(
            "it cannot be disabled again: once on, logical replication stays on for this project",
            "it applies to every database of every branch of the project (wal_level=logical everywhere)",
            "all computes of the project restart: open connections drop",
            "while a subscriber (Materialize) is connected, the compute cannot scale to zero (it stays billed)");

    /** Materialize's CREATE CONNECTION validation (cdc-anchors §1a). */
    static final int SLOTS_NEEDED = 2;

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;
    @Mixin NeonOptions neon;

    @Option(names = "--enable", description = "Neon: turn logical replication on for the project through the Neon "
            + "API when it is off (irreversible; restarts all computes; asks first, --yes skips), then check.")
    boolean enable;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "With --enable: how long to wait in all for the Neon API, its operations and the compute's "
                    + "restart (default ${DEFAULT-VALUE}).", defaultValue = "5m")
    Duration timeout;

    /** Set by --enable: the project whose setting is on (for the check's message when wal_level still lags). */
    private String enabledIn;
    private ConnInfo resolved;

    public static void main(String... args) {
        Cli.main(new CheckLogicalReplication(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        if (!enable && neon.givenOption() != null) {
            throw Fail.usage(neon.givenOption() + " is for --enable (the Neon API); the check alone uses only SQL",
                    "add --enable, or drop " + neon.givenOption());
        }
        if (enable && !enable(o)) {
            return Exit.OK;   // --dry-run: the PATCH was printed; nothing changed, so there is nothing new to check
        }
        return check(o);
    }

    /** The guide's check (and Materialize's): wal_level, WAL senders, free slots. */
    private int check(Out o) throws SQLException {
        try (Pg db = Pg.connect(resolved != null ? resolved : pg.resolve(o), o)) {
            String walLevel = (String) db.value(SHOW_WAL_LEVEL);
            Map<String, Object> s = db.query(SETTINGS).get(0);
            String endpoint = db.neonEndpoint();
            boolean isNeon = endpoint != null || db.info.isNeon();
            int maxSlots = (Integer) s.get("max_replication_slots");
            int maxSenders = (Integer) s.get("max_wal_senders");
            int slotsUsed = (Integer) s.get("slots_used");
            int sendersUsed = (Integer) s.get("senders_used");
            int freeSlots = maxSlots - slotsUsed;
            boolean walOk = "logical".equals(walLevel);
            boolean slotsOk = freeSlots >= SLOTS_NEEDED;
            boolean sendersOk = maxSenders - sendersUsed >= 1;
            report(o, db, walLevel, s, walOk, slotsOk, sendersOk, isNeon, endpoint);

            if (!walOk) {
                throw notEnabled(walLevel, isNeon);
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

    /** The checks as a table, the slots in use as another, and both in the JSON. */
    private static void report(Out o, Pg db, String walLevel, Map<String, Object> s, boolean walOk, boolean slotsOk,
                               boolean sendersOk, boolean isNeon, String endpoint) throws SQLException {
        int maxSlots = (Integer) s.get("max_replication_slots");
        int maxSenders = (Integer) s.get("max_wal_senders");
        int slotsUsed = (Integer) s.get("slots_used");
        int sendersUsed = (Integer) s.get("senders_used");
        int freeSlots = maxSlots - slotsUsed;
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
        o.put("neon_endpoint", endpoint);
        o.put("slots", slots);
    }

    /** wal_level is not logical: after --enable, the wrong compute; otherwise how to turn it on, here. */
    private Fail notEnabled(String walLevel, boolean isNeon) {
        if (enabledIn != null) {
            return new Fail(Exit.NOT_READY, "Neon project " + enabledIn + " has logical replication enabled, but "
                    + "this database reports wal_level " + walLevel,
                    "check that the connection string points at a compute of that project (--pg-url, "
                            + "DATABASE_URL); a compute that has not restarted since gets it at its next start");
        }
        String console = "in the Neon Console: select your project → Settings → Logical Replication → Enable";
        String neonFix = "run ./jbang check-logical-replication --enable (Neon API: NEON_API_KEY and --project), "
                + "or enable it " + console + ". It applies to every database of the project, cannot be "
                + "reverted, and restarts all computes (open connections drop). Then run this check again.";
        String pgFix = "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not enough), "
                + "and run this check again";
        String fix = isNeon ? neonFix
                : Cli.ctx().env("NEON_API_KEY") != null
                ? "on Neon: ./jbang check-logical-replication --enable; on plain PostgreSQL: " + pgFix
                : pgFix;
        return new Fail(Exit.NOT_READY, "logical replication is not enabled: wal_level is " + walLevel
                + ", it must be logical", fix);
    }

    /**
     * --enable: reads the project setting and turns it on when it is off (after the warning and a yes), then
     * waits for the compute to come back with wal_level=logical. False under --dry-run once the PATCH is printed.
     */
    private boolean enable(Out o) {
        Durations.requirePositive("--timeout", timeout, "5m");
        if (neon.branch != null) {
            throw Fail.usage("--branch does not apply to --enable: logical replication is a setting of the whole "
                    + "project, every branch included", "drop --branch");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        NeonApi api = neon.client(o, timeout);
        JsonObject project = api.resolveProject(neon.project());
        String pid = project.get("id").getAsString();
        String label = project.get("name").getAsString() + " (" + pid + ")";
        JsonObject settings = project.has("settings") && project.get("settings").isJsonObject()
                ? project.getAsJsonObject("settings") : new JsonObject();
        boolean on = settings.has("enable_logical_replication") && settings.get("enable_logical_replication").getAsBoolean();
        o.put("neon_project", pid);
        o.put("setting_was_enabled", on);
        ConnInfo ci = pg.resolve(o);
        resolved = ci;
        requireEndpointOf(api, pid, label, preflight(o, ci));
        if (on) {
            o.line("Neon project %s: logical replication already enabled", label);
            o.put("setting_changed", false);
            enabledIn = label;
            return true;
        }
        o.warn("enabling logical replication for Neon project " + label + ":\n  - " + String.join("\n  - ", WARNING));
        o.confirm("enable logical replication for Neon project " + label + "?");
        api.updateProjectSettings(pid, JsonParser.parseString(ENABLE).getAsJsonObject());
        if (o.dryRun()) {
            o.line("Neon project %s: logical replication would be enabled; then this waits for the compute to restart "
                    + "with wal_level=logical and runs the check", label);
            o.put("setting_changed", false);
            return false;
        }
        o.put("setting_changed", true);
        enabledIn = label;
        o.line("Neon project %s: logical replication enabled; waiting for the compute to restart with wal_level=logical",
                label);
        long t0 = System.nanoTime();
        awaitLogical(o, ci, deadline);
        o.put("restart_wait_ms", (System.nanoTime() - t0) / 1_000_000);
        return true;
    }

    /** A compute of another project would never see the change: say so before changing anything. */
    private static void requireEndpointOf(NeonApi api, String pid, String label, String endpoint) {
        if (endpoint == null) {
            return;
        }
        List<String> ours = api.listEndpoints(pid, null).stream().map(e -> e.get("id").getAsString()).toList();
        if (!ours.contains(endpoint)) {
            throw new Fail(Exit.CONFLICT, "the database you connect to is on Neon endpoint " + endpoint
                    + ", which is not one of project " + label + " (its endpoints: " + String.join(", ", ours)
                    + "); nothing changed", "pass --project with the project of " + endpoint
                    + ", or point --pg-url/DATABASE_URL at a compute of " + pid);
        }
    }

    /** One connection before any change: bad credentials fail here, not after the irreversible PATCH. */
    private static String preflight(Out o, ConnInfo ci) {
        try (Pg db = Pg.connect(ci, o)) {
            return db.neonEndpoint();
        } catch (SQLException e) {
            throw Pg.translate(e);
        }
    }

    /**
     * Reconnects until SHOW wal_level says logical: the computes restart, so refused and terminated
     * connections are expected on the way (anything else, e.g. a wrong password, fails at once).
     */
    private static void awaitLogical(Out o, ConnInfo ci, long deadline) {
        Duration wait = Duration.ofMillis(250);
        String last = null;
        while (true) {
            try (Pg db = Pg.connect(ci, o)) {
                String wal = (String) db.value(SHOW_WAL_LEVEL);
                if ("logical".equals(wal)) {
                    return;
                }
                last = "wal_level is " + wal;
            } catch (Fail f) {
                if (f.exit != Exit.CONNECT) {
                    throw f;
                }
                last = f.getMessage();
            } catch (SQLException e) {
                Fail f = Pg.translate(e);
                if (f.exit != Exit.CONNECT) {
                    throw f;
                }
                last = f.getMessage();
            }
            if (System.nanoTime() + wait.toNanos() > deadline) {
                throw new Fail(Exit.TIMEOUT, "logical replication is enabled in Neon, but the compute did not come "
                        + "back with wal_level=logical in time (last: " + last + ")",
                        "run ./jbang check-logical-replication again in a minute (the setting is on; --enable is not "
                                + "needed again), or raise --timeout");
            }
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Fail(Exit.INTERRUPTED, "interrupted", "run the check again");
            }
            wait = wait.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5) : wait.multipliedBy(2);
        }
    }

    static String yes(boolean b) {
        return b ? "yes" : "NO";
    }
}
