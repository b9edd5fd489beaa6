///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Catalog.java
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/PgOptions.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step A.2.4: grant the replication role USAGE and SELECT on the schemas, then verify it can read every published table.

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import neonmz.Catalog;
import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.Pg;
import neonmz.PgOptions;
import neonmz.Sql;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step A.2.4 — "Grant the user the required permissions on the schema(s) you want to
 * replicate". Granting SELECT on all tables of the schema, plus default privileges, "avoids having to
 * add privileges later if you add tables to your publication". Default privileges cover tables that
 * the role running this creates later; tables created by another role need --for-role OWNER.
 * Afterwards every published table is checked the way Materialize's CREATE SOURCE checks it:
 * has_schema_privilege(…, 'usage') and has_table_privilege(…, 'select').
 */
@Command(name = "grants", mixinStandardHelpOptions = true,
        description = {"Guide step A.2.4: GRANT USAGE on each schema, SELECT on all its tables, and default "
                + "privileges for later tables, to the replication role; then verify the role can read every "
                + "table of the publication."},
        footer = {"%nExamples:",
                "  ./jbang grants",
                "  ./jbang grants --role materialize --schema public --schema sales",
                "  ./jbang grants --dry-run --json"})
public class GrantAccess implements Callable<Integer>, Cli.Resumable {
    // The guide's three statements, per schema.
    static final String GRANT_USAGE = "GRANT USAGE ON SCHEMA %s TO %s";
    static final String GRANT_SELECT = "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s";
    static final String DEFAULT_PRIVILEGES = "ALTER DEFAULT PRIVILEGES%s IN SCHEMA %s GRANT SELECT ON TABLES TO %s";

    /** Per schema: does the role have USAGE, SELECT on every table, and the default privilege? */
    static final String STATE = """
            SELECT n.nspname,
                   has_schema_privilege(?, n.oid, 'USAGE') AS usage,
                   NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
                               AND NOT has_table_privilege(?, c.oid, 'SELECT')) AS select_all,
                   EXISTS (SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
                           WHERE d.defaclnamespace = n.oid AND d.defaclobjtype = 'r'
                             AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = ?)
                             AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ?)
                             AND a.privilege_type = 'SELECT') AS default_select
            FROM pg_namespace n WHERE n.nspname = ANY(?) ORDER BY n.nspname""";

    /**
     * What Materialize's purification checks for each published table (USAGE on its schema, SELECT on
     * it), counted on the server: one row back however many tables the publication has.
     */
    static final String VERIFY = """
            SELECT count(*) AS published,
                   coalesce(array_agg(format('%I.%I', t.schemaname, t.tablename) ORDER BY t.schemaname, t.tablename)
                            FILTER (WHERE NOT has_schema_privilege(?, n.oid, 'USAGE')
                                       OR NOT has_table_privilege(?, c.oid, 'SELECT')), '{}') AS unreadable
            FROM pg_publication_tables t
            JOIN pg_namespace n ON n.nspname = t.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
            WHERE t.pubname = ?""";

    @Mixin PgOptions pg;
    @Mixin OutputOptions out;

    @Option(names = {"-r", "--role"}, paramLabel = "NAME", description = "The replication role (default ${DEFAULT-VALUE}).")
    String role = "materialize";

    @Option(names = {"-s", "--schema"}, paramLabel = "SCHEMA", description = "Schema to grant on (repeatable; default public).")
    List<String> schemas = new ArrayList<>();

    @Option(names = {"-p", "--publication"}, paramLabel = "NAME",
            description = "Verify against this publication's tables (default ${DEFAULT-VALUE}).")
    String publication = "mz_source";

    @Option(names = "--for-role", paramLabel = "OWNER",
            description = "Default privileges for tables OWNER creates later (default: the connected role).")
    String forRole;

    public static void main(String... args) {
        Cli.main(new GrantAccess(), args);
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        validate();
        try (Pg db = pg.connect(o)) {
            boolean roleExists = requireRole(o, db);
            Catalog.requireSchemas(db, schemas); // fails with NOT_FOUND naming any missing schema
            String owner = forRole != null ? forRole : (String) db.value("SELECT current_user");
            if (forRole != null && db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", forRole) == null) {
                throw new Fail(Exit.NOT_FOUND, "role " + forRole + " (--for-role) does not exist", "check the name");
            }
            List<Map<String, Object>> state = roleExists ? db.query(STATE, role, role, owner, role, schemas)
                    : schemas.stream().sorted().map(n -> Map.<String, Object>of("nspname", n, "usage", false,
                            "select_all", false, "default_select", false)).toList();
            List<String> sqls = grants(o, state);
            o.put("role", role);
            o.put("schemas", schemas);
            db.transaction(sqls);
            o.put("already_done", sqls.isEmpty());
            o.put("granted", sqls.size());
            verify(o, db);
            if (sqls.isEmpty()) {
                o.line("grants: already done (%s has USAGE, SELECT and default SELECT on %s)", role, String.join(", ", schemas));
            } else {
                o.line("grants: %d statement%s %s for %s on %s", sqls.size(), sqls.size() == 1 ? "" : "s",
                        o.dryRun() ? "would run" : "run", role, String.join(", ", schemas));
            }
            return Exit.OK;
        }
    }

    /** The options, checked before connecting (no --schema: public). */
    private void validate() {
        Sql.requireName("role", role);
        Sql.requireName("publication", publication);
        if (forRole != null) {
            Sql.requireName("for-role", forRole);
        }
        if (schemas.isEmpty()) {
            schemas = List.of("public");
        }
    }

    /** The role must exist (A.2.3), except in a plan made before it: then it is assumed to have no privileges. */
    private boolean requireRole(Out o, Pg db) throws SQLException {
        boolean roleExists = db.value("SELECT 1 FROM pg_roles WHERE rolname = ?", role) != null;
        if (!roleExists && !o.dryRun()) {
            throw new Fail(Exit.NOT_FOUND, "role " + role + " does not exist",
                    "create it first: ./jbang replication-role (on Neon: neonctl roles create --name " + role + ")");
        }
        if (!roleExists) {
            // a plan made before A.2.3 has run (./jbang runbook --plan): the role has no privileges yet
            o.warn("role " + role + " does not exist yet (./jbang replication-role creates it); "
                    + "the plan assumes it has no privileges");
        }
        return roleExists;
    }

    /** The guide's statements that are missing, per schema (shown as a table of what the role has). */
    private List<String> grants(Out o, List<Map<String, Object>> state) {
        List<String> sqls = new ArrayList<>();
        List<List<Object>> rows = new ArrayList<>();
        String r = Sql.ident(role);
        for (Map<String, Object> s : state) {
            String schema = (String) s.get("nspname");
            String q = Sql.ident(schema);
            boolean usage = (Boolean) s.get("usage");
            boolean select = (Boolean) s.get("select_all");
            boolean defaults = (Boolean) s.get("default_select");
            if (!usage) {
                sqls.add(String.format(GRANT_USAGE, q, r));
            }
            if (!select) {
                sqls.add(String.format(GRANT_SELECT, q, r));
            }
            if (!defaults) {
                sqls.add(String.format(DEFAULT_PRIVILEGES, forRole == null ? "" : " FOR ROLE " + Sql.ident(forRole), q, r));
            }
            rows.add(List.of(q, yes(usage), yes(select), yes(defaults)));
        }
        o.table(List.of("schema", "USAGE", "SELECT on all tables", "default SELECT"), rows);
        return sqls;
    }

    /** Verify what Materialize will check: every published table readable by the role. */
    private void verify(Out o, Pg db) throws SQLException {
        boolean hasPublication = db.value("SELECT 1 FROM pg_publication WHERE pubname = ?", publication) != null;
        if (!hasPublication) {
            o.warn("publication " + publication + " does not exist yet, so no published table was verified "
                    + "(./jbang publication creates it)");
            return;
        }
        if (o.dryRun()) {
            return;
        }
        Map<String, Object> v = db.query(VERIFY, role, role, publication).get(0);
        long published = ((Number) v.get("published")).longValue();
        List<String> unreadable = new ArrayList<>();
        for (Object t : (List<?>) v.get("unreadable")) {
            unreadable.add((String) t);
        }
        o.put("verified_tables", published);
        o.put("unreadable_tables", unreadable);
        if (!unreadable.isEmpty()) {
            throw new Fail(Exit.VERIFY, "role " + role + " cannot read " + unreadable.size() + " table(s) of "
                    + "publication " + publication + ": " + String.join(", ", unreadable),
                    "grant on their schemas too: ./jbang grants --role " + Out.shellQuote(role) + " --schema <schema> "
                            + "(Materialize's CREATE SOURCE fails with \"insufficient privileges\" otherwise)");
        }
        o.line("verified: %s can read all %d table%s of publication %s", role, published,
                published == 1 ? "" : "s", publication);
    }

    static String yes(boolean b) {
        return b ? "yes" : "NO";
    }
}
