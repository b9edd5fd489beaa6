package neonmz;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds tables in the upstream catalog by the names a user typed ({@link Sql#parseNames}), by schema,
 * or by publication. One query per lookup whatever the number of tables; names that match nothing
 * fail together, with near matches suggested.
 */
public final class Catalog {
    private Catalog() {}

    /** A table or partitioned table; {@code identity} is pg_class.relreplident (d, f, i, n). */
    public record Table(long oid, String schema, String name, char kind, char identity, boolean partition) {
        public String qualified() {
            return Sql.qualified(schema, name);
        }

        public boolean partitioned() {
            return kind == 'p';
        }

        public String identityName() {
            return switch (identity) {
                case 'f' -> "full";
                case 'd' -> "default";
                case 'i' -> "index";
                case 'n' -> "nothing";
                default -> String.valueOf(identity);
            };
        }
    }

    static final String TABLES = """
            SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident, c.relispartition
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p')
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
            """;

    private static Table row(ResultSet r) throws SQLException {
        return new Table(r.getLong(1), r.getString(2), r.getString(3), r.getString(4).charAt(0),
                r.getString(5).charAt(0), r.getBoolean(6));
    }

    /** User tables of the database, keyed schema → name → table. */
    private static Map<String, Map<String, Table>> all(Pg pg, String extraWhere, Object... params) throws SQLException {
        Map<String, Map<String, Table>> bySchema = new LinkedHashMap<>();
        for (Table t : pg.list(TABLES + extraWhere + " ORDER BY n.nspname, c.relname", Catalog::row, params)) {
            bySchema.computeIfAbsent(t.schema(), k -> new LinkedHashMap<>()).put(t.name(), t);
        }
        return bySchema;
    }

    /**
     * Resolves typed names. Unqualified names are looked up along the search path, as PostgreSQL does.
     * An unquoted name is matched exactly first, then folded to lower case.
     */
    public static List<Table> resolve(Pg pg, List<Sql.Name> names) throws SQLException {
        Map<String, Map<String, Table>> db = all(pg, "");
        @SuppressWarnings("unchecked")
        List<String> path = (List<String>) pg.query("SELECT current_schemas(false) AS s").get(0).get("s");
        Set<Table> found = new LinkedHashSet<>();
        List<String> missing = new ArrayList<>();
        for (Sql.Name n : names) {
            Table t = find(db, path, n);
            if (t == null) {
                String hint = nearMatch(db, n);
                missing.add(n.display() + (hint == null ? "" : " (did you mean " + hint + "?)"));
            } else {
                found.add(t);
            }
        }
        if (!missing.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, (missing.size() == 1 ? "table not found: " : "tables not found: ")
                    + String.join(", ", missing),
                    "check the names (schema.table; double quotes keep case and spaces: --table '\"Order Items\"'); "
                            + "list tables with: psql -c '\\dt *.*'");
        }
        return new ArrayList<>(found);
    }

    private static Table find(Map<String, Map<String, Table>> db, List<String> path, Sql.Name n) {
        List<String> schemas = new ArrayList<>();
        if (n.schema() != null) {
            schemas.add(n.schema());
            if (!n.schemaQuoted()) {
                schemas.add(Sql.fold(n.schema()));
            }
        } else {
            schemas.addAll(path);
        }
        for (String candidate : n.quoted() ? List.of(n.name()) : List.of(n.name(), Sql.fold(n.name()))) {
            for (String s : schemas) {
                Map<String, Table> m = db.get(s);
                if (m != null && m.containsKey(candidate)) {
                    return m.get(candidate);
                }
            }
        }
        return null;
    }

    private static String nearMatch(Map<String, Map<String, Table>> db, Sql.Name n) {
        for (Map<String, Table> m : db.values()) {
            for (Table t : m.values()) {
                if (t.name().equalsIgnoreCase(n.name()) || t.name().replace(' ', '_').equalsIgnoreCase(n.name())) {
                    return t.qualified();
                }
            }
        }
        return null;
    }

    /** Every table in the schemas (which must exist). */
    public static List<Table> inSchemas(Pg pg, List<String> schemas) throws SQLException {
        requireSchemas(pg, schemas);
        List<Table> out = new ArrayList<>();
        all(pg, " AND n.nspname = ANY(?)", schemas).values().forEach(m -> out.addAll(m.values()));
        return out;
    }

    /** Fails with NOT_FOUND naming every schema that does not exist; reads no tables. */
    public static void requireSchemas(Pg pg, List<String> schemas) throws SQLException {
        List<String> present = new ArrayList<>();
        for (Map<String, Object> r : pg.query("SELECT nspname FROM pg_namespace WHERE nspname = ANY(?)", schemas)) {
            present.add((String) r.get("nspname"));
        }
        List<String> missing = new ArrayList<>(schemas);
        missing.removeAll(present);
        if (!missing.isEmpty()) {
            throw new Fail(Exit.NOT_FOUND, "schema not found: " + String.join(", ", missing.stream().map(Sql::ident).toList()),
                    "check the name (schemas are case-sensitive when quoted); list them with: psql -c '\\dn'");
        }
    }

    /** The tables a publication holds as listed in pg_publication_rel (or all, for FOR ALL TABLES). */
    public static List<Table> inPublication(Pg pg, String publication) throws SQLException {
        List<Table> out = new ArrayList<>();
        all(pg, " AND (n.nspname, c.relname) IN (SELECT schemaname, tablename "
                + "FROM pg_publication_tables WHERE pubname = ?)", publication).values().forEach(m -> out.addAll(m.values()));
        return out;
    }

    /** The tables named in the publication itself (pg_publication_rel), as ALTER PUBLICATION sees them. */
    public static List<Table> inPublicationRel(Pg pg, String publication) throws SQLException {
        List<Table> out = new ArrayList<>();
        all(pg, " AND c.oid IN (SELECT pr.prrelid FROM pg_publication_rel pr JOIN pg_publication p "
                + "ON p.oid = pr.prpubid WHERE p.pubname = ?)", publication).values().forEach(m -> out.addAll(m.values()));
        return out;
    }

    /** Partitioned tables followed by all their partitions (leaves and intermediate), one query. */
    public static List<Table> withPartitions(Pg pg, List<Table> tables) throws SQLException {
        List<Long> parents = new ArrayList<>();
        for (Table t : tables) {
            if (t.partitioned()) {
                parents.add(t.oid());
            }
        }
        Set<Table> out = new LinkedHashSet<>(tables);
        if (!parents.isEmpty()) {
            all(pg, " AND c.oid IN (SELECT relid FROM unnest(?::oid[]) AS p(oid), pg_partition_tree(p.oid))",
                    parents.stream().map(String::valueOf).toList())
                    .values().forEach(m -> out.addAll(m.values()));
        }
        return new ArrayList<>(out);
    }
}
