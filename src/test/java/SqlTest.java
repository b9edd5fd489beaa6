import static org.junit.jupiter.api.Assertions.*;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import neonmz.Exit;
import neonmz.Fail;
import neonmz.Sql;

/** Quoting compared with the real server, and name parsing. */
class SqlTest {
    static final List<String> ODD = List.of("Order Items", "we\"ird", "Ünïcode", "x; DROP TABLE y", "_a1", "1abc",
            "CamelCase", "a", "_", "A", " ", "a b", "a$b", "é", "\"", "\"\"", "Select", "order_items", "abc123",
            "a-b", "tab\there", "new\nline", "x'y", "back\\slash", "😀", "a.b", "z9_", "_9", "ab", "$1");

    static Connection conn() throws SQLException {
        return TestPg.superConn("postgres");
    }

    static List<String> keywords(Connection c) throws SQLException {
        List<String> words = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT word FROM pg_get_keywords()")) {
            while (rs.next()) {
                words.add(rs.getString(1));
            }
        }
        return words;
    }

    /** Sql.ident(x) must be quote_ident(x), and must name exactly x when used in SQL. */
    static void assertSameAsServer(Connection c, List<String> names) throws SQLException {
        List<String> mismatches = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT quote_ident(x) FROM unnest(?::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                for (String n : names) {
                    assertTrue(rs.next());
                    String server = rs.getString(1);
                    if (!server.equals(Sql.ident(n))) {
                        mismatches.add(n + ": server " + server + ", Sql.ident " + Sql.ident(n));
                    }
                }
            }
        }
        assertEquals(List.of(), mismatches);
        // and the quoted form, used as a column label, names exactly the original
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < names.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("1 AS ").append(Sql.ident(names.get(i)));
        }
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql.toString())) {
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 0; i < names.size(); i++) {
                assertEquals(names.get(i), md.getColumnLabel(i + 1));
            }
        }
    }

    @Test
    void identMatchesQuoteIdentForEveryKeyword() throws SQLException {
        try (Connection c = conn()) {
            List<String> words = keywords(c);
            assertTrue(words.size() > 400, "pg_get_keywords() returned " + words.size());
            assertSameAsServer(c, words);
        }
    }

    @Test
    void identMatchesQuoteIdentForOddNames() throws SQLException {
        try (Connection c = conn()) {
            assertSameAsServer(c, ODD.stream().filter(n -> !n.isEmpty()).toList());
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT quote_ident('')")) {
                rs.next();
                assertEquals(rs.getString(1), Sql.ident(""));
            }
        }
        assertEquals("\"Order Items\"", Sql.ident("Order Items"));
        assertEquals("\"we\"\"ird\"", Sql.ident("we\"ird"));
        assertEquals("\"x; DROP TABLE y\"", Sql.ident("x; DROP TABLE y"));
        assertEquals("_a1", Sql.ident("_a1"));
        assertEquals("public.\"Order Items\"", Sql.qualified("public", "Order Items"));
    }

    @Test
    void literalRoundTripsThroughTheServer() throws SQLException {
        List<String> values = List.of("", "plain", "it's", "''", "back\\slash", "\\'", "ends with \\", "Ünïcode ☃ 😀",
                "line\nbreak\r\ttab", "$$dollar$$", "E'x'", "a\\nb", "x; DROP TABLE y; --", "\"quoted\"", "%_*?");
        try (Connection c = conn(); Statement s = c.createStatement()) {
            for (String v : values) {
                try (ResultSet rs = s.executeQuery("SELECT " + Sql.literal(v))) {
                    rs.next();
                    assertEquals(v, rs.getString(1), "literal " + Sql.literal(v));
                }
            }
        }
        Fail nul = assertThrows(Fail.class, () -> Sql.literal("a\0b"));
        assertEquals(Exit.USAGE, nul.exit);
    }

    // ---- parseNames ---------------------------------------------------------------------------

    static Sql.Name one(String spec) {
        List<Sql.Name> ns = Sql.parseNames(spec);
        assertEquals(1, ns.size(), ns.toString());
        return ns.get(0);
    }

    @Test
    void parsesPlainQualifiedAndQuotedNames() {
        assertEquals(new Sql.Name(null, "orders", false), one("orders"));
        assertEquals(new Sql.Name("public", "orders", false), one("public.orders"));
        assertEquals(new Sql.Name(null, "Order Items", true), one("\"Order Items\""));
        assertEquals(new Sql.Name(null, "we\"ird", true), one("\"we\"\"ird\""));
        assertEquals(new Sql.Name("my.schema", "t.x", true), one("\"my.schema\".\"t.x\""));
        assertEquals(new Sql.Name(null, "a,b", true), one("\"a,b\""));
        assertEquals("Order Items", one("  \"Order Items\"  ").name());
        assertEquals("Ünïcode", one("Ünïcode").name());
    }

    @Test
    void parsesLists() {
        assertEquals(List.of(new Sql.Name(null, "customers", false), new Sql.Name(null, "orders", false)),
                Sql.parseNames(" customers , orders "));
        List<Sql.Name> ns = Sql.parseNames("\"a,b\",\"c.d\",e.f");
        assertEquals(List.of("a,b", "c.d", "f"), ns.stream().map(Sql.Name::name).toList());
        assertEquals("e", ns.get(2).schema());
        // a space after the comma before a quoted name is not part of the name
        assertEquals(List.of("orders", "Order Items"),
                Sql.parseNames("orders, \"Order Items\"").stream().map(Sql.Name::name).toList());
        assertEquals(List.of("Order Items", "orders"),
                Sql.parseNames("\"Order Items\" , orders").stream().map(Sql.Name::name).toList());
        assertEquals(new Sql.Name("s", "T", true), one("\"s\" . \"T\""));
    }

    @Test
    void aQuotedPartKeepsItsCaseEvenWhenTheOtherIsNot() {
        Sql.Name n = one("public.\"Orders\"");
        assertEquals("public", n.schema());
        assertEquals("Orders", n.name());
        assertTrue(n.quoted(), "the table part was quoted: it must not be folded");
    }

    @Test
    void badNamesAreUsageErrors() {
        for (String bad : List.of("\"Order Items", "a.\"b", "a.b.c", "a,,b", "orders,", "\"\"", ".x", "x.", "")) {
            Fail f = assertThrows(Fail.class, () -> Sql.parseNames(bad), bad);
            assertEquals(Exit.USAGE, f.exit, bad);
            assertNotNull(f.fix, bad);
        }
        Fail f = assertThrows(Fail.class, () -> Sql.parseNames("\"Order Items"));
        assertTrue(f.getMessage().contains("unbalanced"), f.getMessage());
    }
}
