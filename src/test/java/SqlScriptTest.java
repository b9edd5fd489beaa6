import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import neonmz.SqlScript;

/**
 * {@link SqlScript} splits a file where psql -f does: checked on a file full of semicolons that end no statement,
 * and against psql itself (Debian's, when installed): the same file run by psql -f into one database and statement
 * by statement through JDBC (autocommit) into another leaves the same state, CREATE INDEX CONCURRENTLY and VACUUM
 * included (a statement glued to another would run in one implicit transaction, where they fail).
 */
class SqlScriptTest {
    static final String FILE = """
            -- a comment; with a semicolon
            CREATE TABLE "se;mi" (id int PRIMARY KEY, note text DEFAULT 'a;b', "x""y;" text);
            /* a block comment; /* nested; */ still a comment; */
            INSERT INTO "se;mi" VALUES (1, 'it''s; fine', E'back\\'slash;'), (2, $$dollar; quoted$$, $t$tagged $$; inner$t$);
            CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE sql
            BEGIN ATOMIC
              SELECT i + 1;
              SELECT CASE WHEN i > 0 THEN i + 1 ELSE 1 END;
            END;
            CREATE FUNCTION plpgsql_one() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;
            CREATE RULE notify_it AS ON UPDATE TO "se;mi" DO ALSO (NOTIFY a; NOTIFY b);
            CREATE INDEX CONCURRENTLY se_mi_note ON "se;mi" (note);
            SELECT a$b$ FROM (SELECT 1 AS a$b$) t; -- a dollar inside an identifier starts no quote
            VACUUM "se;mi"
            """;

    @Test
    void semicolonsInStringsQuotesCommentsParenthesesAndAtomicBodiesEndNoStatement() {
        List<SqlScript.Statement> s = SqlScript.split(FILE);
        assertEquals(List.of(2, 4, 5, 10, 11, 12, 13, 14), s.stream().map(SqlScript.Statement::line).toList());
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8), s.stream().map(SqlScript.Statement::number).toList());
        assertTrue(s.get(0).sql().startsWith("-- a comment; with a semicolon\nCREATE TABLE \"se;mi\""), s.get(0).sql());
        assertTrue(s.get(1).sql().endsWith("$t$tagged $$; inner$t$);"), s.get(1).sql());
        assertTrue(s.get(2).sql().endsWith("ELSE 1 END;\nEND;"), s.get(2).sql());
        assertEquals("CREATE INDEX CONCURRENTLY se_mi_note ON \"se;mi\" (note);", s.get(5).sql());
        assertEquals("-- a dollar inside an identifier starts no quote\nVACUUM \"se;mi\"", s.get(7).sql());
        assertEquals(List.of(), SqlScript.split("-- only a comment;\n/* and ; another */\n;\n  ;"));
        assertEquals(List.of("SELECT $1::int;", "SELECT 'x'"), SqlScript.split("SELECT $1::int; SELECT 'x'")
                .stream().map(SqlScript.Statement::sql).toList(), "$1 is a parameter, not a dollar quote");
        assertEquals(1, SqlScript.split("SELECT 'unterminated; string").size());
        // psql's heuristic counts BEGIN only in CREATE [OR REPLACE] FUNCTION|PROCEDURE: a transaction's BEGIN ends at ;
        assertEquals(3, SqlScript.split("BEGIN;\nSELECT 1;\nCOMMIT;").size());
        assertEquals(2, SqlScript.split("CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
                + "CALL p();").size());
    }

    @Test
    void psqlAndTheSplitStatementsLeaveTheSameState() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/psql")), "psql is not installed: this cross-check "
                + "against it is skipped (apt-get install postgresql-client)");
        Path file = Files.createTempFile("script", ".sql");
        Files.writeString(file, FILE);
        String byPsql = TestPg.emptyDatabase();
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", String.valueOf(TestPg.server().port()), "-U", "neondb_owner", "-d", byPsql, "-f", file.toString())
                .redirectErrorStream(true);
        pb.environment().put("PGPASSFILE", TestPg.server().pgpass().toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);

        String bySplit = TestPg.emptyDatabase();
        try (Connection c = TestPg.ownerConn(bySplit); Statement st = c.createStatement()) {
            for (SqlScript.Statement s : SqlScript.split(FILE)) {
                st.execute(s.sql());
            }
        }
        assertEquals(state(byPsql), state(bySplit));
        assertTrue(state(bySplit).contains("se_mi_note"), state(bySplit));
    }

    static String state(String db) {
        List<Object> all = new ArrayList<>();
        all.add(TestPg.rows(db, "SELECT id, note, \"x\"\"y;\" FROM \"se;mi\" ORDER BY id"));
        all.add(TestPg.rows(db, "SELECT add_one(1) AS a, add_one(-1) AS b, plpgsql_one() AS c"));
        all.add(TestPg.rows(db, "SELECT indexrelid::regclass::text AS i, indisvalid FROM pg_index WHERE indrelid = "
                + "'\"se;mi\"'::regclass ORDER BY 1"));
        all.add(TestPg.rows(db, "SELECT rulename, pg_get_ruledef(oid) AS def FROM pg_rewrite WHERE ev_class = "
                + "'\"se;mi\"'::regclass"));
        all.add(TestPg.rows(db, "SELECT vacuum_count > 0 AS vacuumed FROM pg_stat_user_tables WHERE relname = 'se;mi'"));
        return all.toString();
    }
}
