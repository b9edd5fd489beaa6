package neonmz;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What is built on Materialize objects, kept so that it can be made again: for the steps that must drop a source,
 * a subsource or a table and make it anew (evolve --apply, rebuild). Plumbing shared by them, as the catalog reads
 * and the session are: which views, materialized views and indexes depend on what (transitively, each after what it
 * reads; mz_object_dependencies), their definitions as Materialize stores them (create_sql, which names what it reads
 * by id: {@code [u5 AS "materialize"."public"."t"]}, test/sqllogictest/mz_views.slt), kept in a capture file before
 * anything is dropped, and made again naming the new ids, each waited for until hydrated. Under a plan (no --apply,
 * or --dry-run) the statements are printed and nothing is read back or run.
 */
public final class MzDependents {
    /** What is built on what (user objects), and each user object's definition: two queries, however many. */
    public static final String DEPENDENCIES = """
            SELECT object_id, referenced_object_id FROM mz_internal.mz_object_dependencies WHERE object_id LIKE 'u%'""";
    public static final String OBJECTS = """
            SELECT o.id, o.type, d.name AS database_name, sc.name AS schema_name, o.name,
                   coalesce(v.create_sql, mv.create_sql, ix.create_sql) AS create_sql
            FROM mz_catalog.mz_objects AS o
              LEFT JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              LEFT JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
              LEFT JOIN mz_catalog.mz_views AS v ON v.id = o.id
              LEFT JOIN mz_catalog.mz_materialized_views AS mv ON mv.id = o.id
              LEFT JOIN mz_catalog.mz_indexes AS ix ON ix.id = o.id
            WHERE o.id LIKE 'u%'""";
    public static final String ID_OF = """
            SELECT o.id FROM mz_catalog.mz_objects AS o JOIN mz_catalog.mz_schemas AS sc ON sc.id = o.schema_id
              JOIN mz_catalog.mz_databases AS d ON d.id = sc.database_id
            WHERE d.name = ? AND sc.name = ? AND o.name = ? AND o.type <> 'index'""";
    public static final String INDEX_ID = "SELECT id FROM mz_catalog.mz_indexes WHERE name = ? AND on_id = ?";
    /** A new table's or subsource's snapshot is done; a re-created materialized view or index is hydrated. */
    public static final String SNAPSHOT_DONE = """
            SELECT bool_and(snapshot_committed) AS done FROM mz_internal.mz_source_statistics WHERE id = ?""";
    public static final String HYDRATED = "SELECT bool_and(hydrated) AS done FROM mz_internal.mz_hydration_statuses WHERE object_id = ?";
    /** The kinds that are made again from their create_sql. */
    public static final Set<String> KINDS = Set.of("view", "materialized-view", "index");

    private static final Pattern ID_REF = Pattern.compile("\\[(u\\d+) AS ");

    /** One object built on others: where it is (database, schema, name), what it is on (an index), its definition. */
    public record Dependent(String id, String type, String database, String schema, String name, String on,
                            String createSql) {
        public String ref() {
            return Sql.ident(database) + "." + Sql.ident(schema) + "." + Sql.ident(name);
        }

        String[] at() {
            return new String[] {database, schema, name};
        }
    }

    private final Mz m;
    private final Out o;
    private final boolean print;
    private final Duration timeout;
    private final List<String> planned = new ArrayList<>();
    private Map<String, Map<String, Object>> objects;
    private final Map<String, List<String>> dependents = new LinkedHashMap<>();
    private final Map<String, List<String>> refs = new LinkedHashMap<>();

    /** {@code print}: a plan (statements printed, nothing run); {@code timeout}: each wait's limit. */
    public MzDependents(Mz m, Out o, boolean print, Duration timeout) {
        this.m = m;
        this.o = o;
        this.print = print;
        this.timeout = timeout;
    }

    public boolean print() {
        return print;
    }

    /** The plan's statements (no --apply; --json "plan"). */
    public List<String> planned() {
        return planned;
    }

    /** What is built on any of {@code roots} (not the roots), transitively, each after what it reads. */
    public List<Dependent> on(Set<String> roots) throws SQLException {
        if (objects == null) {
            objects = new LinkedHashMap<>();
            for (Map<String, Object> r : m.query(OBJECTS)) {
                objects.put((String) r.get("id"), r);
            }
            for (Map<String, Object> r : m.query(DEPENDENCIES)) {
                String from = (String) r.get("object_id");
                String to = (String) r.get("referenced_object_id");
                dependents.computeIfAbsent(to, k -> new ArrayList<>()).add(from);
                if (to.startsWith("u")) {   // not builtin types and functions
                    refs.computeIfAbsent(from, k -> new ArrayList<>()).add(to);
                }
            }
        }
        Set<String> all = new LinkedHashSet<>();
        ArrayDeque<String> todo = new ArrayDeque<>(roots);
        while (!todo.isEmpty()) {
            for (String d : dependents.getOrDefault(todo.pop(), List.of())) {
                if (!roots.contains(d) && all.add(d)) {
                    todo.add(d);
                }
            }
        }
        List<Dependent> order = new ArrayList<>();
        Set<String> left = new LinkedHashSet<>(all);
        while (!left.isEmpty()) {
            String next = left.stream().filter(x -> refs.getOrDefault(x, List.of()).stream().noneMatch(left::contains))
                    .findFirst().orElseThrow(() -> new IllegalStateException("dependency cycle among " + left));
            Map<String, Object> ob = objects.getOrDefault(next, Map.of("type", "object", "name", next));
            order.add(new Dependent(next, (String) ob.get("type"), (String) ob.get("database_name"),
                    (String) ob.get("schema_name"), (String) ob.get("name"),
                    String.join(",", refs.getOrDefault(next, List.of())), (String) ob.get("create_sql")));
            left.remove(next);
        }
        return order;
    }

    /** A dependent of a kind that is not made again (a sink, …): refused before anything changes. */
    public static void requireRecreatable(List<Dependent> deps, String on, String instead) {
        for (Dependent d : deps) {
            if (!KINDS.contains(d.type())) {
                throw new Fail(Exit.CONFLICT, "a " + d.type() + " (" + d.name() + ") is built on " + on + ", and only "
                        + "views, materialized views and indexes are made again; nothing was changed", instead);
            }
        }
    }

    /** The dependents into a capture ({@code prefix}.dependents and one group of keys each). */
    public static void store(Properties p, String prefix, List<Dependent> deps) {
        p.setProperty(prefix + ".dependents", String.join(",", deps.stream().map(Dependent::id).toList()));
        for (Dependent d : deps) {
            String k = prefix + ".dep." + d.id();
            p.setProperty(k + ".type", d.type());
            p.setProperty(k + ".at", d.database() + "\u0000" + d.schema() + "\u0000" + d.name());
            p.setProperty(k + ".on", d.on());
            p.setProperty(k + ".create_sql", d.createSql());
        }
    }

    /** The dependents of a capture, in their order. */
    public static List<Dependent> load(Properties p, String prefix) {
        List<Dependent> out = new ArrayList<>();
        for (String id : p.getProperty(prefix + ".dependents", "").split(",")) {
            if (id.isEmpty()) {
                continue;
            }
            String k = prefix + ".dep." + id;
            String[] at = p.getProperty(k + ".at").split("\u0000");
            out.add(new Dependent(id, p.getProperty(k + ".type"), at[0], at[1], at[2], p.getProperty(k + ".on"),
                    p.getProperty(k + ".create_sql")));
        }
        return out;
    }

    /**
     * Each dependent again (unless it is there already: a run that stopped), from its definition with the new ids
     * in place of the old ({@code ids}: old → new, filled in as they are made); then its hydration.
     */
    public void recreate(List<Dependent> deps, Map<String, String> ids) throws Exception {
        for (Dependent d : deps) {
            String now = print ? null : idOf(d, ids);
            if (now == null) {
                exec(remap(d.createSql(), ids));
                now = print ? "<new>" : idOf(d, ids);
            }
            ids.put(d.id(), now);
            if (!d.type().equals("view")) {
                await(now, HYDRATED, "the hydration of " + d.type().replace('-', ' ') + " " + d.ref());
            }
        }
    }

    /** create_sql with each {@code [uN AS …]} of an old id naming the new one. */
    public static String remap(String createSql, Map<String, String> ids) {
        Matcher mt = ID_REF.matcher(createSql);
        StringBuilder b = new StringBuilder();
        while (mt.find()) {
            mt.appendReplacement(b, Matcher.quoteReplacement("[" + ids.getOrDefault(mt.group(1), mt.group(1)) + " AS "));
        }
        return mt.appendTail(b).toString();
    }

    /** The id of the relation at database.schema.name; null when there is none. */
    public String idOf(String database, String schema, String name) throws SQLException {
        List<Map<String, Object>> r = m.query(ID_OF, database, schema, name);
        return r.isEmpty() ? null : (String) r.get(0).get("id");
    }

    /** A made-again dependent's id: by name, an index by its name and the (new) relation it is on. */
    private String idOf(Dependent d, Map<String, String> ids) throws SQLException {
        if (!d.type().equals("index")) {
            return idOf(d.database(), d.schema(), d.name());
        }
        String on = d.on().split(",")[0];
        List<Map<String, Object>> r = m.query(INDEX_ID, d.name(), ids.getOrDefault(on, on));
        return r.isEmpty() ? null : (String) r.get(0).get("id");
    }

    /** One statement: run; under a plan printed (and, --dry-run aside, logged as what would be sent). */
    public void exec(String sql) throws SQLException {
        boolean exact = !sql.contains("<new>");   // a re-created definition names ids that exist only once it runs
        if (print && o.dryRun()) {
            if (exact) {
                m.planned(sql);
            } else {
                o.statement(sql);
            }
        } else if (print) {
            o.line(sql + ";");
            planned.add(sql);
            if (exact) {
                m.sent(sql);   // $NEONMZ_MZ_LOG: what the plan would send
            }
        } else {
            m.exec(sql);
        }
    }

    /** Polls {@code sql} (one boolean, the id its parameter) until it says done, at most the timeout. */
    public void await(String id, String sql, String what) throws Exception {
        if (print) {
            o.line("-- then wait for %s", what);
            return;
        }
        long until = System.nanoTime() + timeout.toNanos();
        long start = System.nanoTime();
        o.line("waiting for %s", what);
        while (!Boolean.TRUE.equals(m.value(sql, id))) {
            if (System.nanoTime() > until) {
                throw new Fail(Exit.TIMEOUT, "waited " + Durations.show(timeout) + " for " + what,
                        "give it longer (--timeout 2h); ./jbang monitor shows the progress");
            }
            Thread.sleep(500);
        }
        o.line("done: %s (%s)", what, Durations.show(Duration.ofNanos(System.nanoTime() - start)));
    }
}
