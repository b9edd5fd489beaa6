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

    String git(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("git", "-C", src.toString(), "-c", "user.name=t", "-c", "user.email=t@t",
                "-c", "commit.gpgsign=false"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), out);
        return out;
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
        write("test/pg-cdc/privileges.td", """
                ! CREATE SOURCE s
                  FROM POSTGRES CONNECTION pg (PUBLICATION 'p');
                contains:failed to connect
                detail:user u lacks USAGE privileges for schemas s
                """);
        write("test/pg-cdc/pg-cdc-ssl.td", """
                # off until an issue is fixed
                $ skip-if
                SELECT true

                ! CREATE CONNECTION c TO POSTGRES (HOST h, SSL MODE prefer)
                contains:unknown SSL MODE
                """);
        write("test/pg-cdc/not-listed.td", "! SELECT 1\ncontains:not kept\n");
        write("src/materialized/ci/entrypoint.sh", """
                export X="${X:-allowed_cluster_replica_sizes=\\"25cc\\",\\"50cc\\";enable_rbac_checks=false}"
                if (( CPUS >= 2 )); then
                    DEFAULT_CLUSTER_REPLICA_SIZE="50cc"
                else
                    DEFAULT_CLUSTER_REPLICA_SIZE="25cc"
                fi
                DEFAULT_OTHER_CLUSTER_REPLICA_SIZE="25cc"
                """);
        write("doc/user/content/releases/v26.1.md", "---\ntitle: v26.1\ndate: 2026-01-07\nreleased: true\npatch: 2\n---\n");
        write("doc/user/content/releases/v26.2.md", "---\ntitle: v26.2\ndate: 2026-01-14\nreleased: false\nrc: 1\n---\n");
        write("doc/user/content/releases/_index.md", """
                ## v26.1.2
                *Released to Materialize Self-Managed: 2026-01-10* <br>

                ## v26.1.0
                *Released to Materialize Cloud: 2026-01-07* <br>
                *Released to Materialize Self-Managed: 2026-01-08* <br>
                """);
        write("src/storage/src/source/postgres.rs", """
                pub enum TransientError {
                    #[error(
                        "slot overcompacted. Requested LSN {requested_lsn} but only {available_lsn}"
                    )]
                    OvercompactedReplicationSlot { requested_lsn: u64, available_lsn: u64 },
                }
                pub enum DefiniteError {
                    #[error("table was truncated")]
                    TableTruncated,
                    #[error(
                        "old row missing from replication stream. Did you forget to set REPLICA IDENTITY to FULL for your table?"
                    )]
                    DefaultReplicaIdentity,
                }
                """);
        write("src/sql/src/plan/error.rs", """
                impl fmt::Display for PlanError {
                    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        match self {
                            Self::UseTablesForSources(command) => write!(f, "{command} not supported; use X instead"),
                            Self::Other => write!(f, "other"),
                        }
                    }
                }
                """);
        write("src/sql-parser/src/ast/defs/statement.rs", "            Self::All => f.write_str(\"FOR ALL TABLES\"),\n");
        write("src/sql/src/pure/error.rs", """
                pub enum PgSourcePurificationError {
                    #[error("missing TABLES specification")]
                    RequiresExternalReferences,
                }
                impl PgSourcePurificationError {
                    pub fn hint(&self) -> Option<String> {
                        match self {
                            Self::RequiresExternalReferences => {
                                Some("provide a FOR clause, \\
                                    or another".into())
                            }
                            _ => None,
                        }
                    }
                }
                """);
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
        // a history for the gate: the flag's default flips in the second commit, at version 26.3.0-dev.0
        write("src/environmentd/Cargo.toml", "[package]\nversion = \"26.3.0-dev.0\"\n");
        write("src/adapter-types/src/dyncfgs.rs", "pub const X: Config<bool> = Config::new(\n    \"enable_background_alter_cluster\",\n    false,\n    \"Whether it returns at once.\",\n);\n");
        git("init", "-q");
        git("add", "src/environmentd/Cargo.toml", "src/adapter-types/src/dyncfgs.rs");
        git("commit", "-q", "-m", "one");
        Files.writeString(src.resolve("src/adapter-types/src/dyncfgs.rs"),
                Files.readString(src.resolve("src/adapter-types/src/dyncfgs.rs")).replace("false,", "true,"));
        git("commit", "-q", "-a", "-m", "two");
        String flip = git("rev-parse", "HEAD");
        Path gates = src.resolve("gates.json");
        Files.writeString(gates, """
                {"about": "test", "gates": [
                  {"name": "background", "commit": "%s", "path": "src/adapter-types/src/dyncfgs.rs",
                   "evidence": {"before": "\\"enable_background_alter_cluster\\",\\\\s*false", "after": "!enable_background_alter_cluster\\",\\\\s*false"},
                   "what": "returns at once", "before": "blocks", "after": "background", "release_notes_version": "v26.3.0"},
                  {"name": "wrong evidence", "commit": "%s", "path": "src/adapter-types/src/dyncfgs.rs",
                   "evidence": {"before": "no such text", "after": "true"}, "what": "x", "before": "y", "after": "z"}
                ]}
                """.formatted(flip, flip));
        Path manifest = src.resolve("COMMITS.tsv");
        Files.writeString(manifest, "src/catalog/src/builtin/mz_catalog.rs\t" + "a".repeat(40) + "\n");
        Path out = src.resolve("facts.json");

        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), SCRIPT.toString(),
                "--src", src.toString(), "--tag", "v26.1.2", "--out", out.toString(), "--commits", manifest.toString(),
                "--note", "test", "--repo", "someone/materialize", "--gates", gates.toString()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), said);
        assertTrue(said.contains("wrote " + out), said);
        assertTrue(said.contains("not found in the builtin catalog: mz_catalog.mz_databases"), "missing ones are said: " + said);

        JsonObject j = JsonParser.parseString(Files.readString(out)).getAsJsonObject();
        assertTrue(said.contains("gate wrong evidence: the evidence does not hold"), said);
        assertEquals("v26.1.2", j.getAsJsonObject("materialize").get("tag").getAsString());
        assertEquals("someone/materialize", j.getAsJsonObject("materialize").get("repo").getAsString());
        assertEquals(flip, j.getAsJsonObject("materialize").get("commit").getAsString());
        assertEquals("26.3.0-dev.0", j.getAsJsonObject("materialize").get("cargo_version").getAsString());
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
        assertEquals(List.of(new MzFacts.ErrorText("unknown SSL MODE", null, "test/pg-cdc/pg-cdc-ssl.td", true),
                        new MzFacts.ErrorText("failed to connect", "user u lacks USAGE privileges for schemas s", "test/pg-cdc/privileges.td")),
                f.errors(), "only the listed files (in the list's order); a file that skips itself is marked");
        assertEquals(List.of("25cc", "50cc"), List.copyOf(f.sizes("emulator")));
        assertEquals("50cc", f.emulatorDefaultSize(2));
        assertEquals("25cc", f.emulatorDefaultSize(1));
        assertEquals("v26.1.2", f.emulatorTag(), "the newest released minor, at its newest patch");
        assertEquals("materialize/materialized:v26.1.2", f.emulatorImage());
        assertEquals("v26.1.2", j.getAsJsonObject("emulator").getAsJsonObject("newest_self_managed").get("tag").getAsString());

        assertEquals(List.of("TransientError::OvercompactedReplicationSlot", "DefiniteError::TableTruncated",
                "DefiniteError::DefaultReplicaIdentity", "PgSourcePurificationError::RequiresExternalReferences",
                "PlanError::UseTablesForSources", "PlanError::UseTablesForSources(FOR ALL TABLES)"),
                f.runtimeErrors().stream().map(MzFacts.CodeError::name).toList());
        assertEquals("slot overcompacted. Requested LSN {requested_lsn} but only {available_lsn}",
                f.runtimeError("TransientError::OvercompactedReplicationSlot").text(), "a literal over several lines");
        assertEquals("provide a FOR clause, or another", f.runtimeError("PgSourcePurificationError::RequiresExternalReferences").hint(),
                "a backslash-newline joins the lines");
        assertEquals("FOR ALL TABLES not supported; use X instead", f.runtimeError("PlanError::UseTablesForSources(FOR ALL TABLES)").text());

        assertEquals(List.of("background", "wrong evidence"), f.gates().stream().map(MzFacts.Gate::name).toList());
        MzFacts.Gate g = f.gate("background");
        assertEquals("v26.3.0", g.firstVersion(), "X.Y.0-dev at the commit: first shipped in vX.Y.0");
        assertEquals(flip, g.commit());
        assertEquals("v26.3.0", g.releaseNotesVersion());
        assertTrue(g.appliesTo("v26.3.0 (abc)") && g.appliesTo("v26.10.1") && !g.appliesTo("v26.2.9"));
        assertTrue(j.getAsJsonArray("gates").get(0).getAsJsonObject().get("evidence_checked").getAsBoolean());
        assertFalse(j.getAsJsonArray("gates").get(1).getAsJsonObject().get("evidence_checked").getAsBoolean(),
                "kept, but marked: the evidence does not hold");
        assertEquals(Boolean.TRUE, f.flagDefault("enable_background_alter_cluster"));
        assertEquals("dyncfg", f.flagKind("enable_background_alter_cluster"));
        assertEquals(Boolean.FALSE, f.flagUserVisible("enable_background_alter_cluster"));
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

    /** The committed facts: one checkout, real commits everywhere, and the gates as researched (issue #18). */
    @Test
    void theCommittedFactsArePinnedToOneCheckoutWithTheirGates() throws Exception {
        MzFacts f = MzFacts.pinned();
        String text = Files.readString(MzFacts.FILE);
        assertFalse(text.contains("UNKNOWN") || text.contains("\"unknown\""), "every fact has the commit it was read from");
        java.util.regex.Matcher commits = java.util.regex.Pattern.compile("\"commit\": \"([^\"]*)\"").matcher(text);
        int n = 0;
        while (commits.find()) {
            assertTrue(commits.group(1).matches("[0-9a-f]{40}"), commits.group(1));
            n++;
        }
        assertTrue(n > 100, "commits seen: " + n);
        assertEquals("transparencies/materialize", f.repo());
        assertTrue(f.commit().matches("[0-9a-f]{40}"), f.commit());
        assertTrue(f.cargoVersion().startsWith(f.tag().substring(1)), f.cargoVersion() + " vs " + f.tag());
        JsonObject j = JsonParser.parseString(text).getAsJsonObject();
        j.getAsJsonArray("gates").forEach(g -> assertTrue(g.getAsJsonObject().get("evidence_checked").getAsBoolean(), g.toString()));

        assertEquals("v26.19.0", f.gate("postgres_source_tables_raw_names").firstVersion());
        assertEquals("v26.26.0", f.gate("create_table_from_source_default_on").firstVersion());
        assertEquals("v26.25.0", f.gate("create_table_from_source_default_on").releaseNotesVersion());
        assertEquals("v26.35.0", f.gate("background_alter_cluster").firstVersion());
        assertEquals("v26.34.0", f.gate("cluster_reconfigurations_relation").firstVersion());
        assertFalse(f.gate("subsource_dependency_inversion").appliesTo("v0.97.0"));
        assertTrue(f.gate("subsource_dependency_inversion").first().compareTo(neonmz.Mz.MINIMUM) < 0,
                "before the oldest release the toolkit accepts: no gate needed");
        assertEquals(Boolean.TRUE, f.flagDefault("enable_create_table_from_source"));
        assertEquals(Boolean.TRUE, f.flagDefault("enable_background_alter_cluster"));
        assertEquals(Boolean.TRUE, f.flagUserVisible("force_source_table_syntax"));

        assertEquals("FOR ALL TABLES not supported; use CREATE TABLE .. FROM SOURCE instead",
                f.runtimeError("PlanError::UseTablesForSources(FOR ALL TABLES)").text());
        assertTrue(f.runtimeError("DefiniteError::DefaultReplicaIdentity").text().startsWith("old row missing from replication stream"));
        assertEquals(List.of("occurred_at", "source_id", "status", "error", "details", "replica_id"),
                f.relationsByName().get("mz_internal.mz_source_status_history").columns().stream().map(MzFacts.Column::name).toList(),
                "no deployment_generation (there never was one on main)");
        assertEquals(List.of("name", "replicas", "activity", "comment"),
                f.relationsByName().get("mz_internal.mz_show_clusters").columns().stream().map(MzFacts.Column::name).toList());
    }
}
