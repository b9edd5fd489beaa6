import static org.junit.jupiter.api.Assertions.*;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzErrors;

/**
 * Every Materialize error text in ../shared/reference/cdc-anchors.md §1a–§1c (exact strings, with their
 * detail and hint as {@link Mz#translate} joins them) maps to its exit code and to a fix that names the
 * step that repairs it. Placeholders in the reference ({wal_level}, {user}, …) are filled with real values.
 */
class MzErrorsTest {
    /** The text Materialize sends (message, detail, hint), the exit code, and what the fix must name. */
    record Case(String section, String message, String detail, String hint, int exit, String fixNames) {
        String text() {
            return message + (detail == null ? "" : "\n  detail: " + detail) + (hint == null ? "" : "\n  hint: " + hint);
        }
    }

    static final List<Case> CASES = List.of(
            // §1a CREATE CONNECTION … TO POSTGRES validation
            new Case("1a", "db error: FATAL: password authentication failed for user \"materialize\"", null, null,
                    Exit.AUTH, "./jbang connection --rotate"),
            new Case("1a", "FATAL: password authentication failed for user materialize", null, null,
                    Exit.AUTH, "./jbang connection --rotate"),
            new Case("1a", "server must have wal_level >= logical, but has replica", null, null,
                    Exit.NOT_READY, "./jbang check-logical-replication"),
            new Case("1a", "server must have wal_level >= logical, but has minimal", null, null,
                    Exit.NOT_READY, "./jbang check-logical-replication"),
            new Case("1a", "replication disabled on server", null, "set max_wal_senders to a value > 0",
                    Exit.NOT_READY, "./jbang check-logical-replication"),
            new Case("1a", "PostgreSQL server has insufficient number of replication slots available",
                    "executing this statement requires 2 replication slots",
                    "you might be able to wait for other sources to finish snapshotting and try again",
                    Exit.NOT_READY, "./jbang check-logical-replication"),
            new Case("1a", "POSTGRES source validation: PostgreSQL server has insufficient number of replication slots "
                    + "available", null, null, Exit.NOT_READY, "./jbang check-logical-replication"),
            // §1b CREATE SOURCE / CREATE TABLE … FROM SOURCE purification
            new Case("1b", "CONNECTION must specify PUBLICATION", null, null, Exit.USAGE, "./jbang source --publication"),
            new Case("1b", "PUBLICATION mz_source is empty", null, null, Exit.NOT_FOUND, "./jbang publication"),
            new Case("1b", "database neondb missing referenced schemas", "missing schemas: sales", null,
                    Exit.NOT_FOUND, "./jbang source --for-schemas"),
            new Case("1b", "missing TABLES specification", null,
                    "provide a FOR TABLES (..), FOR SCHEMAS (..), or FOR ALL TABLES clause", Exit.USAGE,
                    "--syntax legacy"),
            new Case("1b", "insufficient privileges", "user materialize lacks USAGE privileges for schemas other", null,
                    Exit.PERMISSION, "./jbang grants"),
            new Case("1b", "insufficient privileges", "user priv lacks SELECT privileges for tables other.s", null,
                    Exit.PERMISSION, "./jbang grants"),
            new Case("1b", "one or more tables requires BYPASSRLS",
                    "user must have BYPASSRLS attribute to read tables public.orders",
                    "Add the BYPASSRLS attribute to the Materialize user", Exit.PERMISSION, "./jbang replication-role"),
            new Case("1b", "referenced items not tables with REPLICA IDENTITY FULL",
                    "referenced items: public.page_views", null, Exit.NOT_READY, "./jbang replica-identity"),
            new Case("1b", "the following are not tables with REPLICA IDENTITY FULL: tbl_a", null, null,
                    Exit.NOT_READY, "./jbang replica-identity"),
            new Case("1b", "referenced tables use unsupported types",
                    "the following columns contain unsupported types:\npublic.orders.status (OID 16385)",
                    "Use the TEXT COLUMNS option naming the listed columns, and Materialize can ingest their values as text.",
                    Exit.USAGE, "./jbang source"),
            new Case("1b", "TEXT COLUMNS refers to table not currently being added",
                    "the following tables are referenced but not added: public.page_views", null,
                    Exit.USAGE, "./jbang source --text-column"),
            new Case("1b", "EXCLUDE COLUMNS refers to table not currently being added",
                    "the following tables are referenced but not added: public.page_views", null,
                    Exit.USAGE, "./jbang source --text-column / --exclude-column"),
            new Case("1b", "duplicated column name references: public.orders.status", null, null,
                    Exit.USAGE, "./jbang source --text-column / --exclude-column"),
            new Case("1b", "TEXT COLUMNS option is unnecessary when no tables are added", null, null,
                    Exit.USAGE, "./jbang source"),
            new Case("1b", "CREATE SOURCE specifies DETAILS option", null,
                    "If trying to use the output of SHOW CREATE SOURCE, remove the DETAILS option.",
                    Exit.USAGE, "./jbang source"),
            new Case("1b", "PG column public.orders.status contained NULL data, despite having NOT NULL constraint",
                    null, null, Exit.CONFLICT, "./jbang source --add-new-tables"),
            new Case("1b", "TableContainsUningestableTypes", null, null, Exit.USAGE, "--exclude-column"),
            // today's texts (src/sql/src/plan/error.rs, src/storage/src/source/postgres.rs of the pinned checkout)
            new Case("1b", "table regtype_table contains column f1 of type regtype which Materialize cannot currently ingest",
                    null, "Remove the table or use TEXT COLUMNS (f1, ..) to ingest this column as text", Exit.USAGE,
                    "--text-column"),
            new Case("1b", "FOR ALL TABLES not supported; use CREATE TABLE .. FROM SOURCE instead", null, null,
                    Exit.USAGE, "./jbang source --syntax new"),
            new Case("1c", "old row missing from replication stream. Did you forget to set REPLICA IDENTITY to FULL for "
                    + "your table?", null, null, Exit.NOT_READY, "./jbang replica-identity"),
            new Case("1c", "TOASTed value missing from old row. Did you forget to set REPLICA IDENTITY to FULL for your "
                    + "table?", null, null, Exit.NOT_READY, "./jbang replica-identity"),
            new Case("1c", "incompatible schema change: column \"qty\" of table \"orders\" changed type", null, null,
                    Exit.CONFLICT, "./jbang evolve --mz-url \"$MZ_URL\" shows the plan and --apply"),
            new Case("1c", "table was truncated", null, null, Exit.CONFLICT, "./jbang evolve --mz-url \"$MZ_URL\" --apply"),
            new Case("1c", "table was dropped", null, null, Exit.CONFLICT, "--apply --drop-gone"),
            new Case("1c", "unsupported action: database restored from point-in-time backup. Expected timeline ID 1 but "
                    + "got 2", null, null, Exit.CONFLICT, "./jbang rebuild --mz-url \"$MZ_URL\" --apply"),
            new Case("1b", "Old row missing from replication stream for table with OID 16390", null, null,
                    Exit.NOT_READY, "./jbang replica-identity"),
            // §1c runtime, as mz_source_statuses.error shows them
            new Case("1c", "postgres: slot overcompacted. Requested LSN 0/1A2B3C4 but only LSNs >= 0/1B000000 are "
                    + "available", null, null, Exit.CONFLICT, "./jbang rebuild"),
            new Case("1c", "replication slot has been invalidated because it exceeded the maximum reserved size",
                    null, null, Exit.CONFLICT, "./jbang rebuild"),
            new Case("1c", "publication \"mz_source\" does not exist", null, null, Exit.NOT_FOUND, "./jbang rebuild"),
            new Case("1c", "postgres: connection closed", null, null, Exit.BUSY, "no rebuild is needed"),
            new Case("1c", "postgres: ERROR replication slot \"materialize_4a1f0c9be3d2417b8e5f6a7b8c9d0e1f\" is active "
                    + "for PID 1234", null, null, Exit.BUSY, "wait a minute"),
            // Materialize's own catalog, met by the steps
            new Case("catalog", "unknown cluster 'ingest_postgres'", null, null, Exit.NOT_FOUND, "./jbang cluster"),
            new Case("catalog", "unknown catalog item 'pg_connection'", null, null, Exit.NOT_FOUND, "./jbang connection"),
            new Case("catalog", "unknown cluster replica size 6400cc", null, null, Exit.USAGE, "mz_cluster_replica_sizes"));

    @TestFactory
    Stream<DynamicTest> everyReferenceTextMapsToItsFix() {
        return CASES.stream().map(c -> DynamicTest.dynamicTest("§" + c.section() + " " + c.message(), () -> {
            Fail f = MzErrors.fail("CREATE SOURCE mz_source", c.text(), null);
            assertEquals(c.exit(), f.exit, c.text() + " → " + f.getMessage());
            assertNotNull(f.fix);
            assertTrue(f.fix.contains(c.fixNames()), "the fix for \"" + c.message() + "\" should name " + c.fixNames()
                    + ": " + f.fix);
            assertTrue(f.getMessage().contains(c.message()), "Materialize's own text is kept: " + f.getMessage());
            if (c.detail() != null) {
                assertTrue(f.getMessage().contains(c.detail()), "the detail is kept: " + f.getMessage());
            }
        }));
    }

    /** The way errors arrive: a server error with its fields, through Mz.translate (as exec and query do). */
    @Test
    void serverErrorsKeepTheirDetailAndHint() {
        org.postgresql.util.ServerErrorMessage m = new org.postgresql.util.ServerErrorMessage(
                "SERROR\u0000C58000\u0000Minsufficient privileges\u0000Duser materialize lacks SELECT privileges for "
                        + "tables public.orders\u0000Hgrant it\u0000");
        Fail f = Mz.translate("CREATE SOURCE mz_source", new org.postgresql.util.PSQLException(m));
        assertEquals(Exit.PERMISSION, f.exit);
        assertTrue(f.getMessage().contains("detail: user materialize lacks SELECT privileges for tables public.orders"),
                f.getMessage());
        assertTrue(f.getMessage().contains("hint: grant it"), f.getMessage());
        assertTrue(f.fix.contains("./jbang grants"), f.fix);
    }

    @Test
    void unknownTextsPassThroughAsTheyAre() {
        Fail f = MzErrors.fail("VALIDATE CONNECTION pg_connection", "something new went wrong", new SQLException("x"));
        assertEquals(Exit.INTERNAL, f.exit);
        assertTrue(f.getMessage().endsWith("something new went wrong"), f.getMessage());
    }

    /** The fixes name only steps that exist (each alias in a fix is one of the catalog's). */
    @Test
    void fixesNameRealAliases() {
        List<String> bad = new ArrayList<>();
        java.util.regex.Pattern alias = java.util.regex.Pattern.compile("\\./jbang ([a-z-]+)");
        for (MzErrors.Known k : MzErrors.KNOWN) {
            java.util.regex.Matcher m = alias.matcher(k.fix());
            while (m.find()) {
                if (!Commands.ALL.containsKey(m.group(1))) {
                    bad.add(k.name() + ": ./jbang " + m.group(1));
                }
            }
        }
        assertEquals(List.of(), bad);
    }
}
