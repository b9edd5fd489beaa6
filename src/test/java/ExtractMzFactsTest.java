import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * bench/materialize-facts/ExtractMzFacts.java, run as users run it ({@code java File.java}) on a small tree
 * laid out as Materialize's repository is, with files written here in the shapes it reads (not Materialize's
 * text): a relation with its columns inline, one built by a {@code make_…} function, one whose columns are
 * a {@code _DESC} in another file, parser cases, a testdrive error with its detail, the size lists, a flag.
 */
class ExtractMzFactsTest {
    static final Path SCRIPT = Path.of(System.getProperty("repo.root", ".")).resolve("bench/materialize-facts/ExtractMzFacts.java");

    @TempDir
    Path src;

    void write(String rel, String text) throws Exception {
        Path p = src.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
    }

    @Test
    void extractsEachKindOfFactWithItsPathAndCommit() throws Exception {
        write("src/catalog/src/builtin/mz_catalog.rs", """
                pub static MZ_EGRESS_IPS: LazyLock<BuiltinTable> = LazyLock::new(|| BuiltinTable {
                    name: "mz_egress_ips",
                    schema: MZ_CATALOG_SCHEMA,
                    desc: RelationDesc::builder()
                        .with_column("egress_ip", SqlScalarType::String.nullable(false))
                        .with_column("prefix_length", SqlScalarType::Int32.nullable(false))
                        .with_column(
                            "zones",
                            SqlScalarType::List {
                                element_type: Box::new(SqlScalarType::String),
                                custom_id: None,
                            }
                            .nullable(true),
                        )
                        .finish(),
                    ontology: Some(Ontology { links: &[OntologyLink { name: "other" }] }),
                });
                pub static MZ_NOT_WANTED: LazyLock<BuiltinTable> = LazyLock::new(|| BuiltinTable {
                    name: "mz_not_wanted",
                    schema: MZ_CATALOG_SCHEMA,
                    desc: RelationDesc::builder().with_column("x", SqlScalarType::Bool.nullable(false)).finish(),
                });
                """);
        write("src/catalog/src/builtin/builtin.rs", """
                pub(super) fn make_mz_sources(x: u32) -> BuiltinMaterializedView {
                    BuiltinMaterializedView {
                        name: "mz_sources",
                        schema: MZ_CATALOG_SCHEMA,
                        desc: RelationDesc::builder()
                            .with_column("id", SqlScalarType::String.nullable(false))
                            .with_column("privileges", SqlScalarType::Array(Box::new(SqlScalarType::MzAclItem)).nullable(false))
                            .finish(),
                    }
                }
                """);
        write("src/catalog/src/builtin/mz_internal.rs", """
                pub static MZ_SOURCE_STATUS_HISTORY: LazyLock<BuiltinSource> = LazyLock::new(|| BuiltinSource {
                    name: "mz_source_status_history",
                    schema: MZ_INTERNAL_SCHEMA,
                    desc: MZ_SOURCE_STATUS_HISTORY_DESC.clone(),
                });
                """);
        write("src/storage-client/src/healthcheck.rs", """
                pub static MZ_SOURCE_STATUS_HISTORY_DESC: LazyLock<RelationDesc> = LazyLock::new(|| {
                    RelationDesc::builder()
                        .with_column("occurred_at", SqlScalarType::TimestampTz { precision: None }.nullable(false))
                        .with_column("status", SqlScalarType::String.nullable(false))
                        .finish()
                });
                """);
        write("src/sql-parser/tests/testdata/ddl", """
                parse-statement
                CREATE CLUSTER c SIZE 'x'
                ----
                CREATE CLUSTER c (SIZE = 'x')
                =>
                CreateCluster(…)

                parse-statement
                CREATE TABLE t (a int)
                ----
                CREATE TABLE t (a int)

                parse-statement
                CREATE INDEX IF NOT EXISTS ON t (a)
                ----
                error: Expected index name, found ON
                """);
        write("test/pg-cdc/sub/errors.td", """
                ! CREATE SOURCE s
                  FROM POSTGRES CONNECTION pg (PUBLICATION 'p');
                contains:failed to connect
                detail:user u lacks USAGE privileges for schemas s
                """);
        write("misc/images/materialized/entrypoint.sh",
                "export X=\"${X:-allowed_cluster_replica_sizes=\\\"25cc\\\",\\\"50cc\\\";enable_rbac_checks=false}\"\n");
        write("doc/user/data/self_managed/self_managed_cluster_sizes.yml", "cluster_sizes:\n  - size: 25cc\n  - size: 6400cc\n");
        write("doc/user/data/m1_cluster_sizing.yml", "rows:\n  - Size: M.1-nano\n  - Size: M.1-small\n");
        write("doc/user/data/cc_m1_mapping.yml", "rows:\n  - cc: \"25cc\"\n    m1: \"**M.1-nano**\"\n  - cc: \"128C\"\n");
        write("doc/user/shared-content/postgres-supported-types.md",
                "supports:\n<li><code>bool</code></li>\n" + "<li><code>t%d</code></li>\n".repeat(11).formatted(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
        write("src/sql/src/session/vars/definitions.rs", """
                    {
                        name: enable_create_table_from_source,
                        desc: "Whether to allow it.",
                        default: false,
                    },
                pub static FORCE_SOURCE_TABLE_SYNTAX: VarDefinition = VarDefinition::new(
                    "force_source_table_syntax",
                    value!(bool; false),
                    "Force it",
                    true,
                );
                """);
        write("src/sql/src/func.rs", "            \"mz_version\" => Scalar {\n");
        write("doc/user/data/examples/create_cluster.yml", """
                - name: "syntax"
                  description: |
                    text
                  code: |
                    CREATE CLUSTER <name> (SIZE = <text>)
                    ;
                """);
        Path manifest = src.resolve("COMMITS.tsv");
        Files.writeString(manifest, "src/catalog/src/builtin/mz_catalog.rs\t" + "a".repeat(40) + "\n");
        Path out = src.resolve("facts.json");

        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), SCRIPT.toString(),
                "--src", src.toString(), "--tag", "v26.1.2", "--out", out.toString(), "--commits", manifest.toString(),
                "--note", "test").redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), said);
        assertTrue(said.contains("wrote " + out), said);
        assertTrue(said.contains("not found in the builtin catalog: mz_catalog.mz_databases"), "missing ones are said: " + said);

        JsonObject j = JsonParser.parseString(Files.readString(out)).getAsJsonObject();
        assertEquals("v26.1.2", j.getAsJsonObject("materialize").get("tag").getAsString());
        MzFacts f = MzFacts.load(out);
        assertEquals(List.of("mz_catalog.mz_sources", "mz_catalog.mz_egress_ips", "mz_internal.mz_source_status_history"),
                f.relations().stream().map(MzFacts.Relation::qualified).toList(), "only the listed ones, in the list's order");
        MzFacts.Relation egress = f.relationsByName().get("mz_catalog.mz_egress_ips");
        assertEquals(List.of(new MzFacts.Column("egress_ip", "String", false), new MzFacts.Column("prefix_length", "Int32", false),
                new MzFacts.Column("zones", "List(String)", true)), egress.columns());
        assertEquals("a".repeat(40), egress.commit());
        assertEquals("unknown", f.relationsByName().get("mz_catalog.mz_sources").commit(), "not a git checkout, not in --commits");
        assertEquals("materialized-view", f.relationsByName().get("mz_catalog.mz_sources").kind());
        assertEquals("Array(MzAclItem)", f.relationsByName().get("mz_catalog.mz_sources").columns().get(1).type());
        assertEquals(List.of("occurred_at", "status"), f.relationsByName().get("mz_internal.mz_source_status_history").columns()
                .stream().map(MzFacts.Column::name).toList(), "columns from the _DESC in healthcheck.rs");
        assertEquals("TimestampTz", f.relationsByName().get("mz_internal.mz_source_status_history").columns().get(0).type());

        assertEquals(List.of(new MzFacts.Case("CREATE CLUSTER", true, "CREATE CLUSTER c SIZE 'x'", "CREATE CLUSTER c (SIZE = 'x')",
                        "src/sql-parser/tests/testdata/ddl"),
                new MzFacts.Case("CREATE INDEX", false, "CREATE INDEX IF NOT EXISTS ON t (a)", "error: Expected index name, found ON",
                        "src/sql-parser/tests/testdata/ddl")), f.parserCases(), "CREATE TABLE without FROM SOURCE is not kept");
        assertEquals(List.of(new MzFacts.ErrorText("failed to connect", "user u lacks USAGE privileges for schemas s",
                "test/pg-cdc/sub/errors.td")), f.errors());
        assertEquals(List.of("25cc", "50cc"), List.copyOf(f.sizes("emulator")));
        assertEquals(List.of("25cc", "6400cc"), List.copyOf(f.sizes("self_managed")));
        assertEquals(List.of("M.1-nano", "M.1-small"), List.copyOf(f.sizes("cloud")));
        assertEquals(List.of("25cc", "128C"), List.copyOf(f.sizes("cloud_legacy")));
        assertEquals(12, f.supportedTypes().size());
        assertEquals(Boolean.FALSE, f.flagDefault("enable_create_table_from_source"));
        assertEquals(Boolean.FALSE, f.flagDefault("force_source_table_syntax"));
        assertTrue(f.hasFunction("mz_version"));
        assertEquals("CREATE CLUSTER", f.docsSyntax().get(0).kind());
        assertEquals("CREATE CLUSTER <name> (SIZE = <text>) ;", f.docsSyntax().get(0).code());
    }
}
