package neonmz;

import java.util.Map;
import java.util.Set;

/**
 * What Materialize ingests from a PostgreSQL publication, shared by {@code source} (guide C.3, which puts the
 * other columns in TEXT COLUMNS) and {@code doctor} (which reports them before): the upstream catalog query
 * that lists every published column with its type, and the reason a column needs TEXT COLUMNS. The supported
 * types are the pinned facts' (doc/user/shared-content/postgres-supported-types.md; MaterializeFidelityTest).
 */
public final class SourceTypes {
    private SourceTypes() {}

    /** Upstream: every published column with its type, the element type of arrays and the base type of domains. */
    public static final String COLUMNS = """
            SELECT n.nspname AS schema_name, c.relname AS table_name, c.relreplident::text AS identity,
                   a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS declared,
                   tn.nspname AS type_schema, t.typname, t.typtype::text AS typtype,
                   format_type(e.oid, NULL) AS elem, e.typtype::text AS elem_typtype,
                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
                   b.typtype::text AS base_typtype
            FROM pg_publication_tables p
            JOIN pg_namespace n ON n.nspname = p.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_type t ON t.oid = a.atttypid
            JOIN pg_namespace tn ON tn.oid = t.typnamespace
            LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typlen = -1 AND t.typelem <> 0
            LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
            WHERE p.pubname = ? %s
            ORDER BY n.nspname, c.relname, a.attnum""";
    /** PG15+: only the columns of the publication's column list; before 15 all but generated ones are published. */
    public static final String PUBLISHED_COLUMNS_15 = "AND a.attname = ANY (p.attnames)";
    public static final String PUBLISHED_COLUMNS_14 = "AND a.attgenerated = ''";

    /** The types Materialize ingests, each with its array type (materialize.md, Considerations: 28 types). */
    public static final Set<String> SUPPORTED = Set.of("bool", "bpchar", "bytea", "char", "date", "daterange", "float4",
            "float8", "int2", "int2vector", "int4", "int4range", "int8", "int8range", "interval", "json", "jsonb",
            "numeric", "numrange", "oid", "text", "time", "timestamp", "timestamptz", "tsrange", "tstzrange", "uuid",
            "varchar");

    /** Why Materialize needs a column as text, or null when it ingests the column's type. */
    public static String reason(Map<String, Object> r) {
        String typeSchema = (String) r.get("type_schema");
        String typname = (String) r.get("typname");
        String declared = (String) r.get("declared");
        String typtype = String.valueOf(r.get("typtype"));
        if ("pg_catalog".equals(typeSchema)
                && (SUPPORTED.contains(typname) || typname.startsWith("_") && SUPPORTED.contains(typname.substring(1)))) {
            return null;
        }
        if ("pg_catalog".equals(typeSchema) && typname.matches("_?reg\\w+")) {
            return typname.replaceFirst("^_", "") + (typname.startsWith("_") ? "[]" : "") + ": a reg* type, which "
                    + "Materialize ingests only as text (its OIDs name objects of the upstream catalog; "
                    + "test/pg-cdc/types-reg.td, the hint of \"cannot currently ingest\")";
        }
        if (typtype.equals("e")) {
            return "enum: it arrives as text and loses its ordering (it sorts as text)";
        }
        if ("pg_catalog".equals(typeSchema) && typname.equals("money")) {
            return "money: it arrives as text, which cannot be cast back to numeric (currency symbol, separators)";
        }
        if (typtype.equals("d")) {
            return "domain over " + r.get("base") + ("e".equals(String.valueOf(r.get("base_typtype"))) ? " (an enum)" : "")
                    + ": Materialize knows a column by its type's OID, and a domain is not a built-in type";
        }
        if (r.get("elem") != null) {
            return "array of " + r.get("elem") + ("e".equals(String.valueOf(r.get("elem_typtype"))) ? " (an enum)" : "")
                    + ": Materialize has arrays of its own types only";
        }
        return switch (typtype) {
            case "c" -> "composite type: it arrives as its text form (x,y,…)";
            case "r" -> "range type Materialize does not have (it has int4range, int8range, numrange, daterange, "
                    + "tsrange, tstzrange)";
            case "m" -> "multirange: not a type Materialize has";
            default -> declared + " is not one of the types Materialize ingests";
        };
    }
}
