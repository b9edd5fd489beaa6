package neonmz;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Quoting and name parsing for PostgreSQL. Every identifier and literal a script sends goes through
 * here: tables named {@code "Order Items"}, {@code we"ird}, {@code Ünïcode} or {@code x; DROP TABLE y} are
 * data, never SQL. {@link #ident} quotes exactly when PostgreSQL's {@code quote_ident()} would
 * (SqlTest compares the two on the server for every keyword and a set of odd names).
 */
public final class Sql {
    private Sql() {}

    /**
     * Keywords that PostgreSQL (17) does not accept as bare column or table names: the reserved,
     * column-name and type/function-name categories of {@code pg_get_keywords()}. A word missing here
     * would only be quoted less, and SqlTest fails on the difference.
     */
    static final Set<String> KEYWORDS = Set.of(
            "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
            "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check",
            "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create", "cross",
            "current_catalog", "current_date", "current_role", "current_schema", "current_time",
            "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc", "distinct",
            "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for", "foreign",
            "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in",
            "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is", "isnull",
            "join", "json", "json_array", "json_arrayagg", "json_exists", "json_object", "json_objectagg",
            "json_query", "json_scalar", "json_serialize", "json_table", "json_value", "lateral", "leading",
            "least", "left", "like", "limit", "localtime", "localtimestamp", "merge_action", "national",
            "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric", "offset",
            "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position",
            "precision", "primary", "real", "references", "returning", "right", "row", "select",
            "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric", "system_user",
            "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true",
            "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where",
            "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
            "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable");

    /** An identifier as PostgreSQL's quote_ident() writes it: bare when safe, else double-quoted. */
    public static String ident(String name) {
        Objects.requireNonNull(name, "identifier");
        if (!name.isEmpty() && isSafeBare(name) && !KEYWORDS.contains(name)) {
            return name;
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /**
     * The name an identifier's SQL form stands for: {@code "Order Items"} → {@code Order Items},
     * {@code "we""ird"} → {@code we"ird}; a bare identifier is returned as it is (not folded: the form read is
     * how a catalog wrote a name, not what a user typed).
     */
    public static String unquoteIdent(String sql) {
        if (sql.length() >= 2 && sql.startsWith("\"") && sql.endsWith("\"")) {
            return sql.substring(1, sql.length() - 1).replace("\"\"", "\"");
        }
        return sql;
    }

    private static boolean isSafeBare(String s) {
        char first = s.charAt(0);
        if (!(first >= 'a' && first <= 'z') && first != '_') {
            return false;
        }
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks a name the user gives for an object a step creates or looks up: not empty, and at most 63
     * bytes (NAMEDATALEN - 1). PostgreSQL would silently cut a longer name, and a re-run would then look
     * for the long name, miss the object it made, and try to create it again.
     */
    public static String requireName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw Fail.usage("the " + what + " name is empty", "give a non-empty --" + what + " value");
        }
        if (name.indexOf('\0') >= 0) {
            throw Fail.usage("the " + what + " name contains a NUL character", "remove it: PostgreSQL names cannot hold NUL");
        }
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > 63) {
            throw Fail.usage("the " + what + " name " + ident(name) + " is " + bytes + " bytes long; PostgreSQL "
                    + "names hold at most 63", "choose a shorter name");
        }
        return name;
    }

    /** schema.name, each part quoted. */
    public static String qualified(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    public static String qualified(Name n) {
        return qualified(n.schema(), n.name());
    }

    /** A string literal: standard_conforming_strings is on in every supported server (14+), so only ' doubles. */
    public static String literal(String value) {
        Objects.requireNonNull(value, "literal");
        if (value.indexOf('\0') >= 0) {
            throw Fail.usage("a value contains a NUL character", "remove it; PostgreSQL text cannot hold NUL");
        }
        return "'" + value.replace("'", "''") + "'";
    }

    /** Comma-separated list of quoted identifiers. */
    public static String identList(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(ident(n));
        }
        return String.join(", ", out);
    }

    /** A table (or other object) name as the user gave it, before it is matched against the catalog. */
    public record Name(String schema, String name, boolean quoted, boolean schemaQuoted) {
        /** {@code quoted}: the name part was written in double quotes (kept exactly, never folded). */
        public Name(String schema, String name, boolean quoted) {
            this(schema, name, quoted, quoted);
        }

        /** For display in messages: the quoted, qualified form (schema may be null when not given). */
        public String display() {
            return schema == null ? ident(name) : qualified(schema, name);
        }
    }

    /**
     * Parses names the way pg_dump's {@code -t} does, with the convenience a shell needs: double
     * quotes keep a part exactly ({@code '"Order Items"'}); an unquoted part is matched exactly first and,
     * if no such object exists, folded to lower case (the resolver decides, see {@code quoted}).
     * Several names may be given separated by commas (commas inside quotes belong to the name).
     * {@code schema.table} splits on a dot outside quotes.
     */
    public static List<Name> parseNames(String spec) {
        List<Name> result = new ArrayList<>();
        for (List<Part> p : split(spec, "name", "--table '\"Order Items\"' (double quotes keep a name exactly)")) {
            if (p.size() == 1) {
                result.add(new Name(null, p.get(0).text(), p.get(0).quoted()));
            } else if (p.size() == 2) {
                // Each part is exact when quoted; the resolver may fold an unquoted one.
                result.add(new Name(p.get(0).text(), p.get(1).text(), p.get(1).quoted(), p.get(0).quoted()));
            } else {
                throw Fail.usage("too many dots in name: " + spec,
                        "quote a name that contains a dot: --table 'public.\"my.table\"'");
            }
        }
        return result;
    }

    /** A column as the user gave it: {@code [schema.]table.column}, each part possibly double-quoted. */
    public record ColumnRef(String schema, String table, String column, boolean schemaQuoted, boolean tableQuoted,
                            boolean columnQuoted) {
        public String display() {
            return (schema == null ? "" : ident(schema) + ".") + ident(table) + "." + ident(column);
        }
    }

    /**
     * Parses column references ({@code public.orders.status}, {@code '"Order Items".attributes'}), several
     * separated by commas; the same quoting rules as {@link #parseNames}. Unquoted parts are matched
     * exactly first and then folded by whoever resolves them.
     */
    public static List<ColumnRef> parseColumns(String spec) {
        List<ColumnRef> result = new ArrayList<>();
        for (List<Part> p : split(spec, "column", "--text-column 'public.\"Order Items\".attributes'")) {
            if (p.size() == 2) {
                result.add(new ColumnRef(null, p.get(0).text(), p.get(1).text(), false, p.get(0).quoted(),
                        p.get(1).quoted()));
            } else if (p.size() == 3) {
                result.add(new ColumnRef(p.get(0).text(), p.get(1).text(), p.get(2).text(), p.get(0).quoted(),
                        p.get(1).quoted(), p.get(2).quoted()));
            } else {
                int n = p.size();
                throw Fail.usage("a column needs its table: " + spec + " (" + n + " part" + (n == 1 ? "" : "s") + ")",
                        "give columns as table.column or schema.table.column; quote a part that holds a dot");
            }
        }
        return result;
    }

    /** One dot-separated part of a name, and whether it was double-quoted (kept exactly, never folded). */
    private record Part(String text, boolean quoted) {}

    /**
     * Splits a comma-separated list of dotted names: double quotes keep a part exactly (doubled quotes
     * inside stand for one), space around a quoted part or before a name is dropped, empty parts fail.
     */
    private static List<List<Part>> split(String spec, String what, String example) {
        List<List<Part>> result = new ArrayList<>();
        List<Part> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inQuotes = false;
        boolean curQuoted = false;
        for (int i = 0; i <= spec.length(); i++) {
            char c = i < spec.length() ? spec.charAt(i) : ',';
            if (inQuotes && i < spec.length()) {
                if (c != '"') {
                    cur.append(c);
                } else if (i + 1 < spec.length() && spec.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else {
                    inQuotes = false;
                }
            } else if (inQuotes) {
                throw Fail.usage("unbalanced double quote in " + what + ": " + spec, "close the quote, e.g. " + example);
            } else if (c == '"') {
                inQuotes = true;
                curQuoted = true;
            } else if (Character.isWhitespace(c) && (curQuoted || cur.length() == 0)) {
                continue;
            } else if (c == '.' || c == ',') {
                String p = curQuoted ? cur.toString() : cur.toString().strip();
                if (p.isEmpty()) {
                    throw Fail.usage("empty " + what + " in: " + spec, "e.g. " + example);
                }
                parts.add(new Part(p, curQuoted));
                cur.setLength(0);
                curQuoted = false;
                if (c == ',') {
                    result.add(parts);
                    parts = new ArrayList<>();
                }
            } else {
                cur.append(c);
            }
        }
        return result;
    }

    /** PostgreSQL's folding of an unquoted identifier (ASCII only, as the server does by default). */
    public static String fold(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        return b.toString();
    }
}
