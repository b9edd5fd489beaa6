import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonObject;

import neonmz.ConnInfo;

/**
 * A small interpreter of the Materialize statements Materialize's testdrive files set up their Postgres sources with
 * (src/test/resources/materialize/expectations.json), playing them on {@link MzStandIn}'s statement API, and of the
 * testdrive builtins around them: {@code $ postgres-execute} upstream (a real PostgreSQL database of the test server,
 * as superuser) and as mz_system (the two syntax flags), {@code $ set}, {@code $ set-arg-default},
 * {@code $ set-from-sql}, {@code $ set-regex}. What it does with a statement is one of three things: plays it (a
 * statement the stand-in models), ignores it (a statement that writes nothing the stand-in models: SET, INSERT,
 * GRANT, ALTER SYSTEM of another setting, …), or refuses it ({@link Unsupported}: from then on the file's cases are
 * not replayed, with that statement as the reason). Statements testdrive expects to fail ({@code !}) change nothing.
 */
final class MzScript {
    /** A statement the interpreter does not play: the replay of the file stops being faithful here. */
    static final class Unsupported extends RuntimeException {
        Unsupported(String why) {
            super(why);
        }
    }

    final List<MzStandIn> standIns;
    final String upstreamDb;
    final Map<String, String> vars = new LinkedHashMap<>();
    final Map<String, String> connections = new LinkedHashMap<>();
    Pattern regex;
    String replacement;
    boolean tableFromSource;
    boolean forceSourceTables;
    final List<String> ignored = new ArrayList<>();
    private List<String> txn;

    MzScript(List<MzStandIn> standIns, String upstreamDb, boolean tableFromSource) {
        this.standIns = standIns;
        this.upstreamDb = upstreamDb;
        this.tableFromSource = tableFromSource;
        long timeline = upstreamTimeline();
        standIns.forEach(m -> m.upstreamTimeline = timeline);
    }

    // ---- the testdrive commands -----------------------------------------------------------------------

    /** One setup command of the file's script (kind mz, mz-fail or builtin). */
    void run(JsonObject cmd) {
        String kind = cmd.get("kind").getAsString();
        switch (kind) {
            case "mz" -> statement(subst(cmd.get("sql").getAsString()));
            case "mz-fail" -> {
                // testdrive expects Materialize to refuse it: nothing changes
            }
            default -> builtin(cmd);
        }
    }

    private void builtin(JsonObject cmd) {
        String name = cmd.get("name").getAsString();
        JsonObject args = cmd.getAsJsonObject("args");
        List<String> input = new ArrayList<>();
        if (cmd.has("input")) {
            cmd.getAsJsonArray("input").forEach(e -> input.add(e.getAsString()));
        }
        switch (name) {
            case "set-arg-default" -> args.entrySet().forEach(e -> vars.putIfAbsent("arg." + e.getKey(), e.getValue().getAsString()));
            case "set" -> args.entrySet().forEach(e -> vars.put(e.getKey(),
                    input.isEmpty() ? e.getValue().getAsString() : e.getValue().getAsString() + String.join("\n", input)));
            case "set-regex" -> {
                regex = Pattern.compile(args.get("match").getAsString());
                replacement = args.has("replacement") ? args.get("replacement").getAsString() : "<regex_match>";
            }
            case "unset-regex" -> regex = null;
            case "set-from-sql" -> setFromSql(args.get("var").getAsString(), String.join("\n", input));
            case "postgres-connect" -> connections.put(args.get("name").getAsString(), args.get("url").getAsString());
            case "postgres-execute" -> {
                String conn = args.get("connection").getAsString();
                conn = connections.getOrDefault(conn, conn);
                for (String line : input) {
                    if (conn.equals("mz_system") || conn.contains("mz_system") || conn.contains("materialize-internal-sql-addr")
                            || conn.equals("materialize")) {
                        for (String s : line.split(";")) {
                            if (!s.isBlank()) {
                                statement(subst(s.strip()));
                            }
                        }
                    } else {
                        upstream(subst(line));
                    }
                }
            }
            default -> ignored.add("$ " + name + " (" + (name.startsWith("mysql") || name.startsWith("kafka")
                    ? "another upstream than PostgreSQL" : "no Materialize catalog row") + ")");
        }
    }

    /** ${…} as testdrive substitutes them (src/testdrive/src/action.rs substitute_vars). */
    String subst(String s) {
        Matcher m = Pattern.compile("\\$\\{([^}]+)\\}").matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = vars.get(m.group(1));
            if (v == null) {
                throw new Unsupported("unknown variable ${" + m.group(1) + "}");
            }
            m.appendReplacement(b, Matcher.quoteReplacement(v));
        }
        m.appendTail(b);
        return b.toString();
    }

    private void setFromSql(String var, String sql) {
        try (Connection c = connect(standIns.get(0)); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(translate(subst(sql)).sql())) {
            if (!rs.next()) {
                throw new Unsupported("$ set-from-sql var=" + var + ": no row on the stand-in");
            }
            vars.put(var, rs.getString(1));
        } catch (SQLException e) {
            throw new Unsupported("$ set-from-sql var=" + var + ": " + e.getMessage());
        }
    }

    // ---- upstream -------------------------------------------------------------------------------------

    /** Roles and slots are the test server's, shared by every test: their statements are not replayed (they write no catalog row). */
    static final Pattern UPSTREAM_SHARED = Pattern.compile("(?is)^\\s*((ALTER|CREATE|DROP)\\s+(USER|ROLE)\\b|GRANT\\b|REVOKE\\b|ALTER\\s+SYSTEM\\b"
            + "|ALTER\\s+DEFAULT\\s+PRIVILEGES\\b"
            + "|.*\\bpg_(drop|create_logical|create_physical)_replication_slot\\b|.*\\bpg_terminate_backend\\b)");

    private void upstream(String sql) {
        if (UPSTREAM_SHARED.matcher(sql).find()) {
            ignored.add("upstream: " + sql.strip() + " (server-wide; writes no catalog row)");
            return;
        }
        try (Connection c = TestPg.superConn(upstreamDb); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            if ("42704".equals(e.getSQLState()) && (e.getMessage().contains("role") || sql.matches("(?is)\\s*DROP\\s+POLICY\\b.*"))) {
                // a statement about a role the replay does not create (roles are server-wide): no catalog row depends on it
                ignored.add("upstream: " + sql.strip() + " (" + e.getMessage() + ")");
                return;
            }
            throw new Unsupported("upstream statement failed on the test server: " + sql.strip() + ": " + e.getMessage());
        }
    }

    private long upstreamTimeline() {
        try (Connection c = TestPg.superConn(upstreamDb); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT timeline_id FROM pg_control_checkpoint()")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return 1;
        }
    }

    /** The publication's tables, as Materialize's purification reads them (pg_publication_tables), in order. */
    List<MzStandIn.Ref> publicationTables(String publication) {
        List<MzStandIn.Ref> out = new ArrayList<>();
        try (Connection c = TestPg.superConn(upstreamDb);
             java.sql.PreparedStatement p = c.prepareStatement("SELECT schemaname, tablename FROM pg_publication_tables "
                     + "WHERE pubname = ? ORDER BY 1, 2")) {
            p.setString(1, publication);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    out.add(new MzStandIn.Ref(upstreamDb, rs.getString(1), rs.getString(2)));
                }
            }
        } catch (SQLException e) {
            throw new Unsupported("reading publication " + publication + ": " + e.getMessage());
        }
        return out;
    }

    // ---- Materialize statements ---------------------------------------------------------------------------

    /** What publication each Postgres source of the replay reads (for its REFERENCEs). */
    private final Map<String, String> publications = new LinkedHashMap<>();

    void statement(String sql) {
        sql = sql.strip().replaceAll(";\\s*$", "");
        Tokens t = new Tokens(sql);
        if (txn != null && !t.peekIs("COMMIT") && !t.peekIs("ROLLBACK") && !t.peekIs("END")) {
            txn.add(sql);
            return;
        }
        if (t.accept("BEGIN") || t.accept("START", "TRANSACTION")) {
            txn = new ArrayList<>();
            return;
        }
        if (t.accept("COMMIT") || t.accept("END")) {
            List<String> stmts = txn == null ? List.of() : txn;
            txn = null;
            stmts.forEach(this::statement);
            return;
        }
        if (t.accept("ROLLBACK")) {
            txn = null;
            return;
        }
        if (t.accept("ALTER", "SYSTEM", "SET")) {
            String var = t.ident();
            t.accept("=");
            t.accept("TO");
            String value = t.word().toLowerCase(Locale.ROOT);
            switch (var) {
                case "enable_create_table_from_source" -> tableFromSource = value.equals("true") || value.equals("on");
                case "force_source_table_syntax" -> forceSourceTables = value.equals("true") || value.equals("on");
                default -> ignored.add("ALTER SYSTEM SET " + var + " (not modelled)");
            }
            return;
        }
        if (t.peekIs("SET") || t.peekIs("RESET") || t.peekIs("INSERT") || t.peekIs("UPDATE") || t.peekIs("DELETE")
                || t.peekIs("GRANT") || t.peekIs("REVOKE") || t.peekIs("VALIDATE") || t.peekIs("DECLARE") || t.peekIs("FETCH")
                || t.peekIs("CLOSE") || t.accept("ALTER", "SECRET") || t.accept("ALTER", "CONNECTION") || t.accept("ALTER", "ROLE")
                || t.accept("CREATE", "ROLE") || t.accept("ALTER", "DEFAULT") || t.peekIs("COMMENT")) {
            ignored.add(sql.split("\\s+")[0].toUpperCase(Locale.ROOT) + " (writes no row the stand-in models)");
            return;
        }
        if (t.accept("CREATE", "SECRET")) {
            boolean ine = t.accept("IF", "NOT", "EXISTS");
            String name = t.name();
            if (!(ine && exists(name))) {
                each(m -> m.createSecret(name));
            }
            return;
        }
        if (t.accept("CREATE", "CONNECTION")) {
            createConnection(t);
            return;
        }
        if (t.accept("CREATE", "CLUSTER", "REPLICA")) {
            String[] cr = t.name().split("\\.");
            t.accept("(");
            t.accept("SIZE");
            t.accept("=");
            String size = t.string();
            each(m -> m.createClusterReplica(cr[0], cr[1], size));
            return;
        }
        if (t.accept("CREATE", "CLUSTER")) {
            createCluster(t);
            return;
        }
        if (t.accept("DROP", "CLUSTER", "REPLICA")) {
            t.accept("IF", "EXISTS");
            String[] cr = t.name().split("\\.");
            each(m -> m.dropClusterReplica(cr[0], cr[1]));
            return;
        }
        if (t.accept("DROP", "CLUSTER")) {
            boolean ie = t.accept("IF", "EXISTS");
            String name = t.name();
            boolean cascade = t.rest().toUpperCase(Locale.ROOT).contains("CASCADE");
            if (!(ie && standIns.get(0).cluster(name) == null)) {
                each(m -> m.dropCluster(name, cascade));
            }
            return;
        }
        if (t.accept("ALTER", "CLUSTER")) {
            String name = t.name();
            String rest = t.rest();
            Matcher rf = Pattern.compile("(?i)^SET\\s*\\(\\s*REPLICATION\\s+FACTOR\\s*=?\\s*(\\d+)\\s*\\)\\s*$").matcher(rest.strip());
            if (rf.find()) {
                int n = Integer.parseInt(rf.group(1));
                each(m -> m.alterClusterReplicationFactor(name, n));
                return;
            }
            if (rest.matches("(?is)\\s*SET\\s*\\(\\s*INTROSPECTION.*")) {
                ignored.add("ALTER CLUSTER … SET (INTROSPECTION …) (not modelled)");
                return;
            }
            throw new Unsupported("ALTER CLUSTER " + name + " " + rest.strip() + " (only REPLICATION FACTOR is modelled)");
        }
        if (t.accept("CREATE", "SOURCE")) {
            createSource(t);
            return;
        }
        if (t.accept("CREATE", "TABLE")) {
            createTable(t);
            return;
        }
        if (t.accept("ALTER", "SOURCE")) {
            alterSource(t);
            return;
        }
        if (t.accept("CREATE", "SCHEMA")) {
            t.accept("IF", "NOT", "EXISTS");
            String name = t.name();
            each(m -> m.createSchema(name));
            return;
        }
        if (t.accept("CREATE", "VIEW") || t.accept("CREATE", "OR", "REPLACE", "VIEW")) {
            String name = t.name();
            List<String> refs = references(t.rest());
            each(m -> m.createView(name, refs.toArray(String[]::new)));
            return;
        }
        if (t.accept("CREATE", "MATERIALIZED", "VIEW")) {
            String name = t.name();
            String cluster = "quickstart";
            if (t.accept("IN", "CLUSTER")) {
                cluster = t.name();
            }
            String c = cluster;
            List<String> refs = references(t.rest());
            each(m -> m.createMaterializedView(name, c, refs.toArray(String[]::new)));
            return;
        }
        if (t.accept("CREATE", "DEFAULT", "INDEX") || t.peekIs("CREATE") && t.accept("CREATE", "INDEX")) {
            createIndex(t, sql);
            return;
        }
        if (t.accept("DROP")) {
            drop(t);
            return;
        }
        throw new Unsupported("statement not modelled: " + sql.replaceAll("\\s+", " ").strip());
    }

    private void each(java.util.function.Consumer<MzStandIn> f) {
        for (MzStandIn m : standIns) {
            f.accept(m);
        }
    }

    private boolean exists(String name) {
        return standIns.get(0).id(name) != null;
    }

    private void createConnection(Tokens t) {
        boolean ine = t.accept("IF", "NOT", "EXISTS");
        String name = t.name();
        t.expect("TO");
        StringBuilder type = new StringBuilder();
        while (!t.peekIs("(") && !t.done()) {
            type.append(type.length() == 0 ? "" : "-").append(t.word().toLowerCase(Locale.ROOT));
        }
        String body = t.rest();
        List<String> refs = new ArrayList<>();
        Tokens o = new Tokens(body);
        while (!o.done()) {
            if (o.accept("SECRET") || o.accept("SSH", "TUNNEL") || o.accept("AWS", "CONNECTION")) {
                refs.add(o.name());
            } else {
                o.next();
            }
        }
        if (ine && exists(name)) {
            return;
        }
        String ty = type.toString();
        each(m -> m.createConnection(name, ty, null, refs.toArray(String[]::new)));
    }

    private void createCluster(Tokens t) {
        String name = t.name();
        String rest = t.rest();
        Matcher replicas = Pattern.compile("(?is)\\bREPLICAS\\s*\\((.*)\\)").matcher(rest);
        if (replicas.find()) {
            List<String[]> rs = new ArrayList<>();
            Matcher r = Pattern.compile("(?is)(\\w+)\\s*\\(\\s*SIZE\\s*=?\\s*'([^']*)'").matcher(replicas.group(1));
            while (r.find()) {
                rs.add(new String[] {r.group(1), r.group(2)});
            }
            each(m -> {
                m.createUnmanagedCluster(name);
                rs.forEach(x -> m.createClusterReplica(name, x[0], x[1]));
            });
            return;
        }
        Matcher size = Pattern.compile("(?is)\\bSIZE\\s*=?\\s*'([^']*)'").matcher(rest);
        Matcher rf = Pattern.compile("(?is)\\bREPLICATION\\s+FACTOR\\s*=?\\s*(\\d+)").matcher(rest);
        if (Pattern.compile("(?is)\\bSCHEDULE\\b").matcher(rest).find()) {
            throw new Unsupported("CREATE CLUSTER … SCHEDULE (scheduled clusters are not modelled)");
        }
        String sz = size.find() ? size.group(1) : "scale=1,workers=1";
        int n = rf.find() ? Integer.parseInt(rf.group(1)) : defaultReplicationFactor();
        each(m -> m.createCluster(name, sz, n));
    }

    int defaultReplicationFactor = 1;

    private int defaultReplicationFactor() {
        return defaultReplicationFactor;
    }

    private void createSource(Tokens t) {
        boolean ine = t.accept("IF", "NOT", "EXISTS");
        String name = t.name();
        String cluster = "quickstart";
        if (t.accept("IN", "CLUSTER")) {
            cluster = t.name();
        }
        t.expect("FROM");
        String type;
        String connection = null;
        String publication = null;
        String loadGenerator = "";
        if (t.accept("POSTGRES", "CONNECTION")) {
            type = "postgres";
            connection = t.name();
            String opts = t.group();
            Matcher p = Pattern.compile("(?is)\\bPUBLICATION\\s*=?\\s*'([^']*)'").matcher(opts);
            if (!p.find()) {
                throw new Unsupported("CREATE SOURCE without PUBLICATION");
            }
            publication = p.group(1);
        } else if (t.accept("LOAD", "GENERATOR")) {
            type = "load-generator";
            loadGenerator = t.peekIs("(") ? "" : t.list.get(t.at).text;
            while (!t.done() && !t.peekIs("(") && !t.peekIs("FOR") && !t.peekIs("WITH") && !t.peekIs(";")) {
                t.next();
            }
            if (t.peekIs("(")) {
                t.group();
            }
        } else if (t.accept("KAFKA", "CONNECTION")) {
            type = "kafka";
            connection = t.name();
            t.group();
        } else if (t.accept("MYSQL", "CONNECTION")) {
            type = "mysql";
            connection = t.name();
            if (t.peekIs("(")) {
                t.group();
            }
        } else {
            throw new Unsupported("CREATE SOURCE FROM " + t.rest() + " (source type not modelled)");
        }
        String rest = t.rest();
        Map<String, MzStandIn.Ref> legacy = null;
        Matcher forClause = Pattern.compile("(?is)^\\s*FOR\\s+(ALL\\s+TABLES|TABLES\\s*\\((.*?)\\)|SCHEMAS\\s*\\((.*?)\\))").matcher(rest);
        boolean oldSyntax = forClause.find() || Pattern.compile("(?is)\\b(FORMAT|ENVELOPE|INCLUDE|EXPOSE\\s+PROGRESS)\\b").matcher(rest).find();
        if (oldSyntax && forceSourceTables && tableFromSource) {
            throw new Unsupported("CREATE SOURCE in the old syntax while force_source_table_syntax is on (Materialize refuses it)");
        }
        if (!oldSyntax && !tableFromSource && !type.equals("kafka")) {
            throw new Unsupported("CREATE SOURCE without FOR … while enable_create_table_from_source is off (Materialize refuses it)");
        }
        if (oldSyntax) {
            legacy = new LinkedHashMap<>();
            forClause.reset();
            if (forClause.find()) {
                if (type.equals("load-generator") && loadGenerator.equals("auction") && forClause.group(1).toUpperCase(Locale.ROOT).startsWith("ALL")) {
                    // the AUCTION generator's tables (src/storage-types/src/sources/load_generator.rs, LoadGenerator::views)
                    for (String v : List.of("organizations", "users", "accounts", "auctions", "bids")) {
                        legacy.put(v, new MzStandIn.Ref(null, "auction", v));
                    }
                } else if (!type.equals("postgres")) {
                    throw new Unsupported("legacy subsources of a " + type + " source (its upstream tables are not modelled)");
                }
                List<MzStandIn.Ref> pub = type.equals("postgres") ? publicationTables(publication) : List.of();
                if (!type.equals("postgres")) {
                    // done above
                } else if (forClause.group(1).toUpperCase(Locale.ROOT).startsWith("ALL")) {
                    for (MzStandIn.Ref r : pub) {
                        legacy.put(r.table(), r);
                    }
                } else if (forClause.group(2) != null) {
                    for (String item : splitTop(forClause.group(2))) {
                        Tokens it = new Tokens(item);
                        List<String> ref = it.nameParts();
                        // a subsource lands in its source's schema (pure.rs source_export_name_gen): AS public.x names x
                        List<String> asParts = it.accept("AS") ? it.nameParts() : ref;
                        legacy.put(asParts.get(asParts.size() - 1), resolve(pub, ref, publication));
                    }
                } else {
                    List<String> schemas = new ArrayList<>();
                    for (String s : splitTop(forClause.group(3))) {
                        schemas.add(new Tokens(s).ident());
                    }
                    for (MzStandIn.Ref r : pub) {
                        if (schemas.contains(r.schema())) {
                            legacy.put(r.table(), r);
                        }
                    }
                }
            }
        }
        if (ine && exists(name)) {
            return;
        }
        String c = cluster;
        String conn = connection;
        Map<String, MzStandIn.Ref> l = legacy;
        each(m -> m.createSource(name, c, type, conn, l));
        if (publication != null) {
            publications.put(name, publication);
        }
    }

    /** A REFERENCE (table, schema.table or database.schema.table) among the publication's tables. */
    private MzStandIn.Ref resolve(List<MzStandIn.Ref> pub, List<String> ref, String publication) {
        String table = ref.get(ref.size() - 1);
        String schema = ref.size() >= 2 ? ref.get(ref.size() - 2) : null;
        List<MzStandIn.Ref> found = pub.stream().filter(r -> r.table().equals(table) && (schema == null || r.schema().equals(schema)))
                .toList();
        if (found.size() != 1) {
            throw new Unsupported("reference " + String.join(".", ref) + " matches " + found.size() + " tables of publication "
                    + publication + " (Materialize refuses it)");
        }
        return found.get(0);
    }

    private void createTable(Tokens t) {
        boolean ine = t.accept("IF", "NOT", "EXISTS");
        String name = t.name();
        if (t.peekIs("(")) {
            String cols = t.group();
            if (!t.peekIs("FROM")) {
                if (!(ine && exists(name))) {
                    each(m -> m.createTable(name));
                }
                return;
            }
        }
        if (!t.accept("FROM", "SOURCE")) {
            if (!(ine && exists(name))) {
                each(m -> m.createTable(name));
            }
            return;
        }
        if (!tableFromSource) {
            throw new Unsupported("CREATE TABLE … FROM SOURCE while enable_create_table_from_source is off (Materialize refuses it)");
        }
        String source = t.name();
        MzStandIn.Item src = standIns.get(0).item(standIns.get(0).id(source));
        if (src == null) {
            throw new Unsupported("CREATE TABLE … FROM SOURCE " + source + ": no such source in the replay");
        }
        MzStandIn.Ref upstream = null;
        if (t.peekIs("(")) {
            Tokens g = new Tokens(t.group());
            g.accept("REFERENCE");
            g.accept("=");
            List<String> ref = g.nameParts();
            if ("postgres".equals(src.type)) {
                upstream = resolve(publicationTables(publications.get(source)), ref, publications.get(source));
            }
        } else if ("postgres".equals(src.type)) {
            throw new Unsupported("CREATE TABLE … FROM a Postgres source without REFERENCE");
        }
        if (ine && exists(name)) {
            return;
        }
        MzStandIn.Ref u = upstream;
        each(m -> m.createTableFromSource(name, source, u));
    }

    private void alterSource(Tokens t) {
        String name = t.name();
        if (t.accept("ADD", "SUBSOURCE") || t.accept("ADD", "TABLE")) {
            String rest = t.rest().replaceAll("(?is)\\bWITH\\s*\\(.*$", "");
            List<MzStandIn.Ref> pub = publicationTables(publications.get(name));
            Map<String, MzStandIn.Ref> add = new LinkedHashMap<>();
            for (String item : splitTop(rest)) {
                Tokens it = new Tokens(item);
                List<String> ref = it.nameParts();
                List<String> asParts = it.accept("AS") ? it.nameParts() : ref;
                add.put(asParts.get(asParts.size() - 1), resolve(pub, ref, publications.get(name)));
            }
            each(m -> m.addSubsources(name, add));
            return;
        }
        if (t.accept("SET") || t.accept("RESET") || t.accept("REFRESH", "REFERENCES")) {
            ignored.add("ALTER SOURCE " + name + " SET/RESET/REFRESH REFERENCES (writes no row the stand-in models)");
            return;
        }
        throw new Unsupported("ALTER SOURCE " + name + " " + t.rest().strip());
    }

    private void createIndex(Tokens t, String sql) {
        String name = null;
        if (!t.peekIs("IN") && !t.peekIs("ON")) {
            name = t.name();
        }
        String cluster = "quickstart";
        if (t.accept("IN", "CLUSTER")) {
            cluster = t.name();
        }
        t.expect("ON");
        String on = t.name();
        // src/sql/src/plan/statement/ddl.rs: a default index is named <relation>_primary_idx
        String n = name != null ? name : on + "_primary_idx";
        String c = cluster;
        each(m -> m.createIndex(n, c, on));
    }

    private void drop(Tokens t) {
        String kind;
        if (t.accept("MATERIALIZED", "VIEW")) {
            kind = "MATERIALIZED VIEW";
        } else {
            kind = t.word().toUpperCase(Locale.ROOT);
        }
        if (!List.of("SOURCE", "TABLE", "VIEW", "MATERIALIZED VIEW", "INDEX", "CONNECTION", "SECRET").contains(kind)) {
            throw new Unsupported("DROP " + kind + " (not modelled)");
        }
        boolean ie = t.accept("IF", "EXISTS");
        List<String> names = new ArrayList<>();
        while (!t.done() && !t.peekIs("CASCADE") && !t.peekIs("RESTRICT")) {
            names.add(t.name());
            t.accept(",");
        }
        boolean cascade = t.accept("CASCADE");
        for (String n : names) {
            if (!exists(n)) {
                if (ie || names.indexOf(n) != names.lastIndexOf(n)) {
                    continue;   // IF EXISTS, or named twice
                }
                throw new Unsupported("DROP " + kind + " " + n + ": no such item in the replay");
            }
            each(m -> m.drop(n, cascade));
        }
    }

    /** The catalog items a view's query names (every identifier that is an item of the replay). */
    private List<String> references(String query) {
        List<String> out = new ArrayList<>();
        Tokens t = new Tokens(query);
        while (!t.done()) {
            Token k = t.next();
            if ((k.kind == 'i' || k.kind == 'q') && exists(k.text) && !out.contains(k.text)) {
                out.add(k.text);
            }
        }
        return out;
    }

    static List<String> splitTop(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        boolean quoted = false;
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\'') {
                quoted = !quoted;
            }
            if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')') {
                depth--;
            }
            if (!quoted && depth == 0 && c == ',') {
                out.add(b.toString().strip());
                b.setLength(0);
            } else {
                b.append(c);
            }
        }
        if (!b.toString().isBlank()) {
            out.add(b.toString().strip());
        }
        return out;
    }

    // ---- queries ------------------------------------------------------------------------------------------

    record Translated(String sql, String refused) {}

    /**
     * A query as the stand-in runs it: SHOW SUBSOURCES / SHOW TABLES / SHOW SOURCES become the query Materialize's
     * planner builds (the templates of src/sql/src/plan/statement/show.rs in the facts, wrapped as ShowSelect wraps
     * them: SELECT projection FROM (query) q WHERE filter); any other query gets {@link MzFacts#pgSql}'s mechanical
     * rewrite, or is refused with its reason.
     */
    Translated translate(String query) {
        MzFacts facts = MzFacts.pinned();
        MzStandIn mz = standIns.get(0);
        String q = query.strip().replaceAll(";\\s*$", "");
        Tokens t = new Tokens(q);
        if (t.accept("SHOW", "SUBSOURCES")) {
            MzFacts.Show show = facts.show("SHOW SUBSOURCES");
            List<String> filter = new ArrayList<>();
            String on = null;
            String from = null;
            if (t.accept("ON")) {
                on = t.name();
            } else if (t.accept("FROM")) {
                from = t.name();
            }
            if (on == null && from == null) {
                filter.add(pick(show, "subsources.id NOT LIKE 's%'"));
                filter.add(pick(show, "subsources.schema_id = '{schema_spec}'").replace("{schema_spec}", MzStandIn.PUBLIC_SCHEMA));
            }
            if (on != null) {
                String id = mz.id(on);
                if (id == null) {
                    return new Translated(null, "SHOW SUBSOURCES ON " + on + ": no such source on the stand-in");
                }
                filter.add(pick(show, "sources.id = '{}'").replace("{}", id));
            }
            if (from != null) {
                filter.add(pick(show, "subsources.schema_id = '{schema_spec}'").replace("{schema_spec}", schemaId(from)));
            }
            String sql = show.template().replace("{}", String.join(pick(show, " AND "), filter));
            return new Translated(wrap(sql, null), null);
        }
        if (t.accept("SHOW", "TABLES")) {
            MzFacts.Show show = facts.show("SHOW TABLES");
            String schema = MzStandIn.PUBLIC_SCHEMA;
            if (t.accept("FROM")) {
                schema = schemaId(t.name());
            }
            String sql = show.template().replace("{schema_spec}", schema);
            if (t.accept("ON")) {
                String on = t.name();
                String id = mz.id(on);
                if (id == null) {
                    return new Translated(null, "SHOW TABLES ON " + on + ": no such source on the stand-in");
                }
                sql += pick(show, " AND tables.source_id = '{}'").replace("{}", id);
            }
            return new Translated(wrap(sql, "name, comment"), null);
        }
        if (t.accept("SHOW", "SOURCES")) {
            MzFacts.Show show = facts.show("SHOW SOURCES");
            String schema = MzStandIn.PUBLIC_SCHEMA;
            if (t.accept("FROM")) {
                schema = schemaId(t.name());
            }
            String where = pick(show, "schema_id = '{schema_spec}'").replace("{schema_spec}", schema);
            if (t.accept("IN", "CLUSTER")) {
                where += pick(show, " AND cluster_id = '{}'").replace("{}", mz.clusterId(t.name()));
            }
            return new Translated(wrap(show.template().replace("{where_clause}", where), "name, type, cluster, comment"), null);
        }
        if (t.peekIs("SHOW")) {
            return new Translated(null, "SHOW statement not modelled: " + q);
        }
        MzFacts.Rewrite r = MzFacts.pgSql(q);
        return new Translated(r.sql(), r.refused() == null ? null : "Materialize-only SQL: " + r.refused());
    }

    private static String pick(MzFacts.Show show, String literal) {
        if (!show.has(literal)) {
            throw new IllegalStateException(show.function() + " no longer has the literal " + literal + " (" + show.path() + ")");
        }
        return literal;
    }

    /** ShowSelect::new (src/sql/src/plan/statement/show.rs): SELECT projection FROM (query) q WHERE true (testdrive sorts the rows). */
    private static String wrap(String query, String projection) {
        return "SELECT " + (projection == null ? "*" : projection) + " FROM (" + query + ") q WHERE true";
    }

    private String schemaId(String name) {
        return name.equals("public") ? MzStandIn.PUBLIC_SCHEMA : name;
    }

    static Connection connect(MzStandIn mz) throws SQLException {
        ConnInfo ci = mz.server.ownerConn();
        ci.dbname = mz.db;
        return Lab.Server.open(ci);
    }

    // ---- a tokenizer of Materialize's SQL (identifiers as Materialize folds them) -------------------------------

    record Token(char kind, String text) {}   // i: identifier (folded), q: quoted identifier, s: string, n: number, p: punctuation

    static final class Tokens {
        final List<Token> list = new ArrayList<>();
        final List<Integer> starts = new ArrayList<>();
        final String src;
        int at;

        Tokens(String s) {
            src = s;
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '-' && s.startsWith("--", i)) {
                    while (i < s.length() && s.charAt(i) != '\n') {
                        i++;
                    }
                } else if (c == '"') {
                    StringBuilder b = new StringBuilder();
                    int j = i + 1;
                    while (j < s.length()) {
                        if (s.charAt(j) == '"') {
                            if (j + 1 < s.length() && s.charAt(j + 1) == '"') {
                                b.append('"');
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        b.append(s.charAt(j++));
                    }
                    add('q', b.toString(), i);
                    i = j + 1;
                } else if (c == '\'') {
                    StringBuilder b = new StringBuilder();
                    int j = i + 1;
                    while (j < s.length()) {
                        if (s.charAt(j) == '\'') {
                            if (j + 1 < s.length() && s.charAt(j + 1) == '\'') {
                                b.append('\'');
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        b.append(s.charAt(j++));
                    }
                    add('s', b.toString(), i);
                    i = j + 1;
                } else if (Character.isLetter(c) || c == '_') {
                    int j = i;
                    while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == '$')) {
                        j++;
                    }
                    add('i', s.substring(i, j).toLowerCase(Locale.ROOT), i);
                    i = j;
                } else if (Character.isDigit(c)) {
                    int j = i;
                    while (j < s.length() && (Character.isDigit(s.charAt(j)) || s.charAt(j) == '.')) {
                        j++;
                    }
                    add('n', s.substring(i, j), i);
                    i = j;
                } else {
                    add('p', String.valueOf(c), i);
                    i++;
                }
            }
        }

        private void add(char kind, String text, int start) {
            list.add(new Token(kind, text));
            starts.add(start);
        }

        boolean done() {
            return at >= list.size();
        }

        Token next() {
            return list.get(at++);
        }

        boolean peekIs(String word) {
            return !done() && is(list.get(at), word);
        }

        private static boolean is(Token t, String word) {
            return (t.kind == 'i' || t.kind == 'p') && t.text.equalsIgnoreCase(word);
        }

        /** The words in order (keywords, case-insensitively), consumed only if they all match. */
        boolean accept(String... words) {
            for (int k = 0; k < words.length; k++) {
                if (at + k >= list.size() || !is(list.get(at + k), words[k])) {
                    return false;
                }
            }
            at += words.length;
            return true;
        }

        void expect(String word) {
            if (!accept(word)) {
                throw new Unsupported("expected " + word + " at: " + rest());
            }
        }

        String word() {
            if (done()) {
                throw new Unsupported("unexpected end of statement: " + src);
            }
            return next().text;
        }

        String ident() {
            Token k = next();
            if (k.kind != 'i' && k.kind != 'q' && k.kind != 's') {
                throw new Unsupported("expected a name at '" + k.text + "' in: " + src);
            }
            return k.text;
        }

        String string() {
            Token k = next();
            return k.text;
        }

        /** A possibly qualified name, parts folded (unquoted) or kept (quoted). */
        List<String> nameParts() {
            List<String> parts = new ArrayList<>();
            parts.add(ident());
            while (peekIs(".")) {
                at++;
                parts.add(ident());
            }
            return parts;
        }

        /** A name as the stand-in knows it: the item, or schema.item (a database part dropped). */
        String name() {
            List<String> p = nameParts();
            if (p.size() >= 3) {
                p = p.subList(p.size() - 2, p.size());
            }
            return p.size() == 2 && p.get(0).equals("public") ? p.get(1) : String.join(".", p);
        }

        /** A parenthesised group's text (without the parentheses). */
        String group() {
            if (!peekIs("(")) {
                throw new Unsupported("expected ( at: " + rest());
            }
            int depth = 0;
            int start = starts.get(at) + 1;
            while (!done()) {
                Token k = next();
                if (k.kind == 'p' && k.text.equals("(")) {
                    depth++;
                } else if (k.kind == 'p' && k.text.equals(")") && --depth == 0) {
                    return src.substring(start, starts.get(at - 1));
                }
            }
            throw new Unsupported("unbalanced ( in: " + src);
        }

        String rest() {
            return done() ? "" : src.substring(starts.get(at));
        }
    }
}
