package neonmz;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Materialize's own error texts (validation, purification, runtime; reference cdc-anchors §1a–§1c),
 * each turned into the fix a user can apply, usually the toolkit step that repairs it. Used for errors
 * from statements (CREATE CONNECTION, VALIDATE CONNECTION, CREATE SOURCE) and for the {@code error}
 * column of mz_source_statuses that monitor shows.
 */
public final class MzErrors {
    private MzErrors() {}

    /** One known error: a regex over the message (and detail/hint), its exit code and its fix. */
    public record Known(String name, Pattern pattern, int exit, String fix) {}

    public static final List<Known> KNOWN = List.of(
            // CREATE CONNECTION / VALIDATE CONNECTION (cdc-anchors §1a)
            known("wal_level", "server must have wal_level >= logical", Exit.NOT_READY,
                    "enable logical replication upstream (guide A.1; on Neon: Console → Settings → Logical "
                            + "Replication → Enable), then check: ./jbang check-logical-replication"),
            known("replication disabled", "replication disabled on server", Exit.NOT_READY,
                    "set max_wal_senders to a value > 0 upstream (Neon sets 10); check: ./jbang check-logical-replication"),
            known("slots", "insufficient number of replication slots available", Exit.NOT_READY,
                    "a source needs 2 free replication slots upstream: drop unused ones (./jbang "
                            + "check-logical-replication lists them) or wait for other sources to finish snapshotting"),
            known("password", "password authentication failed for user \"?([^\"\\s]+)", Exit.AUTH,
                    "the secret holds a wrong password for the replication role: ./jbang connection --rotate "
                            + "--password-file FILE (the file ./jbang replication-role --password-out wrote); or give the "
                            + "role a new one: ./jbang replication-role --reset-password --password-out FILE, then the same "
                            + "connection --rotate (on Neon: --via api, or the Console, Roles → Reset password)"),
            known("role missing", "role \"?([^\"\\s]+)\"? does not exist", Exit.AUTH,
                    "the connection's USER does not exist upstream: create it (./jbang replication-role, guide A.2.3), "
                            + "then ./jbang connection --replace"),
            known("database missing", "database \"?([^\"\\s]+)\"? does not exist", Exit.NOT_FOUND,
                    "the connection's DATABASE does not exist upstream (Neon's default is neondb): ./jbang connection "
                            + "--replace --pg-url with the right database"),
            known("ssl mode", "unknown SSL MODE", Exit.USAGE,
                    "Materialize takes SSL MODE disable, require, verify_ca or verify_full (not prefer): ./jbang "
                            + "connection --ssl-mode require --replace"),
            known("no pg_hba", "no pg_hba\\.conf entry", Exit.AUTH,
                    "the upstream server refuses Materialize's address: allow it (Neon: IP Allow, guide B)"),
            known("certificate", "(self signed certificate|valid client certificate|certificate authentication failed"
                            + "|certificate verify failed)", Exit.AUTH,
                    "the upstream's TLS certificates do not check out: for Neon, SSL MODE require (its certificates are "
                            + "signed by a public CA; verify_ca/verify_full also need the CA): ./jbang connection --ssl-mode "
                            + "require --replace; a server that asks for client certificates is not set up like Neon"),
            known("tls", "(?i)(server does not support (TLS|SSL)|TLS handshake|SSL is not enabled on the server)",
                    Exit.CONNECT, "the upstream has no TLS: ./jbang connection --ssl-mode disable --replace for a local "
                            + "server without TLS (never for Neon, which needs require)"),
            // CREATE SOURCE / CREATE TABLE … FROM SOURCE purification (cdc-anchors §1b)
            known("no publication option", "CONNECTION must specify PUBLICATION", Exit.USAGE,
                    "name the publication: ./jbang source --publication mz_source"),
            known("empty publication", "(PUBLICATION (\\S+) is empty|only valid for non-empty publications)", Exit.NOT_FOUND,
                    "add tables to it upstream: ./jbang publication --table … (guide A.2.2)"),
            known("missing publication", "publication \"?([^\"\\s]+)\"? does not exist", Exit.NOT_FOUND,
                    "create it upstream: ./jbang publication --table … (guide A.2.2); a running source whose "
                            + "publication was dropped cannot go on: then ./jbang rebuild --mz-url \"$MZ_URL\" --apply"),
            known("missing schemas", "missing referenced schemas", Exit.NOT_FOUND,
                    "name schemas that exist upstream and hold published tables: ./jbang source --for-schemas …, "
                            + "or publish their tables first: ./jbang publication --schema …"),
            known("usage", "lacks USAGE privileges for schemas ([^\\n]+)", Exit.PERMISSION,
                    "grant it upstream: ./jbang grants --schema <schema> (guide A.2.4)"),
            known("select", "lacks SELECT privileges for tables ([^\\n]+)", Exit.PERMISSION,
                    "grant it upstream: ./jbang grants --schema <schema> (guide A.2.4)"),
            known("privileges", "insufficient privileges", Exit.PERMISSION,
                    "the replication role cannot read a published table upstream: ./jbang grants (guide A.2.4)"),
            known("bypassrls", "one or more tables requires BYPASSRLS", Exit.PERMISSION,
                    "row-level security is on for a published table: ALTER ROLE materialize BYPASSRLS upstream, as the "
                            + "role's creator (the role of ./jbang replication-role, guide A.2.3; Neon roles made with the "
                            + "Console/API have it through neon_superuser)"),
            known("replica identity", "(not tables with REPLICA IDENTITY FULL|REPLICA IDENTITY FULL"
                            + "|(?i)old row missing from replication stream|(?i)TOASTed value missing from old row)", Exit.NOT_READY,
                    "set it upstream: ./jbang replica-identity --publication mz_source (guide A.2.1)"),
            known("unsupported types", "referenced tables use unsupported types", Exit.USAGE,
                    "ingest those columns as text: ./jbang source adds TEXT COLUMNS for them by itself; or "
                            + "--text-column schema.table.column / --exclude-column"),
            known("uningestable types", "(?i)(uningestable|which Materialize cannot currently ingest)", Exit.USAGE,
                    "ingest the column as text (Materialize's hint: TEXT COLUMNS; ./jbang source adds reg* columns "
                            + "there by itself), --text-column schema.table.column, or leave it out: --exclude-column "
                            + "schema.table.column"),
            known("columns of tables not added", "(TEXT|EXCLUDE) COLUMNS refers to table not currently being added",
                    Exit.USAGE, "name only columns of the tables being added: ./jbang source --text-column / "
                            + "--exclude-column with schema.table.column of a selected table"),
            known("duplicated columns", "duplicated column name references", Exit.USAGE,
                    "name each column once, in TEXT COLUMNS or EXCLUDE COLUMNS, not both: ./jbang source "
                            + "--text-column / --exclude-column"),
            known("option without tables", "option is unnecessary when no tables are added", Exit.USAGE,
                    "drop TEXT COLUMNS / EXCLUDE COLUMNS when adding no tables: ./jbang source without --text-column"),
            known("reference not found", "reference to (\\S+) not found in source", Exit.NOT_FOUND,
                    "the table is not in the publication upstream: add it (./jbang publication --table …), or name only "
                            + "published tables: ./jbang source --for-tables …"),
            known("text columns option", "invalid TEXT COLUMNS option value", Exit.USAGE,
                    "name columns that exist in the selected tables: --text-column schema.table.column (./jbang source "
                            + "checks them against the publication first)"),
            known("database permission", "permission denied for database", Exit.PERMISSION,
                    "the replication role may not connect to the database upstream: GRANT CONNECT ON DATABASE <database> "
                            + "TO <role> as its owner (Neon's roles have it by default)"),
            known("private address", "Address resolved to a private IP", Exit.CONNECT,
                    "Materialize Cloud does not connect to private addresses: use the upstream's public host (Neon's "
                            + "endpoint host), or an SSH tunnel / PrivateLink connection"),
            known("details option", "CREATE SOURCE specifies DETAILS option", Exit.USAGE,
                    "do not reuse SHOW CREATE SOURCE output; let ./jbang source write the statement"),
            known("missing tables spec", "(missing TABLES specification|multi-output sources require a FOR TABLES)", Exit.USAGE,
                    "say which tables: ./jbang source writes FOR ALL TABLES by default, --for-tables for FOR TABLES "
                            + "(…), --for-schemas for FOR SCHEMAS (…); this server needs --syntax legacy"),
            known("forced table syntax", "not supported; use CREATE TABLE \\.\\. FROM SOURCE instead", Exit.USAGE,
                    "this Materialize forces the new source syntax (force_source_table_syntax on): ./jbang source "
                            + "--syntax new (or auto, which reads the setting)"),
            known("source table syntax", "(?i)(CREATE TABLE \\.\\.\\. FROM SOURCE is not supported"
                            + "|enable_create_table_from_source|CREATE TABLE \\.\\. FROM SOURCE syntax\\. is not available)",
                    Exit.NOT_READY,
                    "this Materialize has the new source syntax off: ./jbang source --syntax legacy"),
            // runtime (cdc-anchors §1c), as mz_source_statuses.error shows them
            known("not null", "contained NULL data, despite having NOT NULL constraint", Exit.CONFLICT,
                    "the upstream table broke its NOT NULL column: drop its subsource/table in Materialize, then "
                            + "./jbang source --add-new-tables re-adds it (a new snapshot)"),
            known("slot missing", "replication slot mysteriously missing", Exit.CONFLICT,
                    "the source's replication slot is gone upstream (on Neon: removed after long inactivity or a branch "
                            + "restore), so the source cannot go on: ./jbang rebuild --mz-url \"$MZ_URL\" --apply re-creates it with what is built on it (a full new snapshot)"),
            known("replica promoted", "upstream physical replica status changed", Exit.CONFLICT,
                    "the upstream changed role (a replica was promoted to primary): point the connection at the new "
                            + "primary (./jbang connection --replace), then drop and re-create the source"),
            known("overcompacted", "slot (overcompacted|compacted past snapshot point)", Exit.CONFLICT,
                    "the upstream WAL the source needs is gone, so the source cannot go on: ./jbang rebuild --mz-url \"$MZ_URL\" --apply re-creates it with what is built on it (a full new snapshot); set "
                            + "max_slot_wal_keep_size upstream and keep the source's cluster running"),
            known("slot invalidated", "replication slot has been invalidated", Exit.CONFLICT,
                    "the slot exceeded max_slot_wal_keep_size, so the source cannot go on: ./jbang rebuild --mz-url \"$MZ_URL\" --apply re-creates it with what is built on it (a full new snapshot)"),
            known("connection closed", "connection closed", Exit.BUSY,
                    "transient: the source reconnects by itself (a restart, a Neon compute that suspended or moved); "
                            + "no rebuild is needed: ./jbang monitor --watch follows it back to running"),
            known("slot active", "replication slot \"?((materialize|mzsnapshot)_\\w+)\"? is active for PID", Exit.BUSY,
                    "usually transient while a replica restarts: wait a minute and check again"),
            known("schema change", "(incompatible schema change|\\baltered\\b)", Exit.CONFLICT,
                    "a published table changed upstream in a way Materialize cannot follow (e.g. a column's type, or a "
                            + "dropped column or key): the table stops for good until it is re-created in Materialize. "
                            + "./jbang evolve --mz-url \"$MZ_URL\" shows the plan and --apply carries it out (a new version "
                            + "of the table, or the subsource again, with what is built on it); check the next migration "
                            + "before it ships: ./jbang evolve --migration FILE"),
            known("table dropped", "table was dropped", Exit.CONFLICT,
                    "a published table was dropped upstream (or left the publication): ./jbang evolve --mz-url "
                            + "\"$MZ_URL\" --apply --drop-gone drops its table or subsource in Materialize with what is built "
                            + "on it; or re-create the table upstream and then ./jbang evolve --mz-url \"$MZ_URL\" --apply"),
            known("timeline", "Expected timeline ID", Exit.CONFLICT,
                    "the upstream was restored to an earlier point (on Neon: a branch restore, or a new timeline), so the "
                            + "source cannot go on: ./jbang rebuild --mz-url \"$MZ_URL\" --apply re-creates it with what is built on it (a full new snapshot)"),
            known("truncate", "(?i)truncat", Exit.CONFLICT,
                    "a published table was TRUNCATEd upstream, which Materialize cannot ingest: ./jbang evolve "
                            + "--mz-url \"$MZ_URL\" --apply re-creates its table or subsource (a new snapshot) with what is "
                            + "built on it; upstream, use DELETE FROM instead (./jbang evolve --migration FILE finds a "
                            + "TRUNCATE before it ships, ./jbang guard refuses it)"),
            // Materialize's own catalog
            known("unknown size", "unknown cluster replica size ([^\\s]+)", Exit.USAGE,
                    "choose a size the server lists: SELECT size FROM mz_cluster_replica_sizes"),
            known("unknown cluster", "unknown cluster '?([^'\\s]+)", Exit.NOT_FOUND,
                    "create it first: ./jbang cluster (guide C.1), or name an existing one with --cluster"),
            known("unknown item", "unknown catalog item '([^']+)'", Exit.NOT_FOUND,
                    "create it first: ./jbang connection (guide C.2) makes the secret and the connection, ./jbang "
                            + "source the source and its tables; or name an existing one (SHOW SOURCES, SHOW TABLES and "
                            + "./jbang explore list what exists)"),
            known("still used", "still depended upon by", Exit.CONFLICT,
                    "other objects use it: drop them first (DROP SOURCE … ; CASCADE would drop their dependents "
                            + "too), or keep it and choose another name"),
            known("exists", "catalog item '([^']+)' already exists", Exit.CONFLICT,
                    "another object has that name: run the step again (it reports what exists), or choose another name"),
            known("connect", "(Connection refused|could not translate host name|timed out|No route to host"
                            + "|failed to lookup address)", Exit.CONNECT,
                    "Materialize cannot reach the upstream host: check HOST/PORT, that it is reachable from "
                            + "Materialize (a laptop's 127.0.0.1 is not; ./jbang connection --upstream-host), and IP "
                            + "Allow on Neon"),
            // the top line of upstream failures whose cause is in the detail (matched above when known)
            known("failed to connect", "failed to connect to PostgreSQL database", Exit.CONNECT,
                    "Materialize could not connect to the upstream or read what it needs: ./jbang doctor --mz-url … "
                            + "names the failing check"));

    private static Known known(String name, String regex, int exit, String fix) {
        return new Known(name, Pattern.compile(regex), exit, fix);
    }

    /** The first known error in the text, or null. */
    public static Known match(String text) {
        if (text == null) {
            return null;
        }
        for (Known k : KNOWN) {
            if (k.pattern().matcher(text).find()) {
                return k;
            }
        }
        return null;
    }

    /** A Fail for a Materialize error text: known ones get their fix, others are passed on as they are. */
    public static Fail fail(String context, String text, Throwable cause) {
        Known k = match(text);
        if (k == null) {
            return new Fail(Exit.INTERNAL, context + ": " + text,
                    "see Materialize's message above; run again with --verbose to see the statement", cause);
        }
        return new Fail(k.exit(), context + ": " + text, k.fix(), cause);
    }
}
