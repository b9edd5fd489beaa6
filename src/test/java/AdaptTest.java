import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;

/**
 * adapt (copy-and-adapt): the copy's layout and closure, "already done", conflicts and --force, --name,
 * --update on a toolkit that changed (lib re-copied, an unedited step updated, an edited one kept with its
 * diff), then the copies through real JBang: every alias answers --help as the original does, an edited and
 * renamed copy runs against the lab with the original's result, and again with the network cut.
 */
class AdaptTest {
    static final Path ROOT = LauncherRun.ROOT;

    @TempDir
    Path tmp;

    static TestPg.Run adapt(String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--from");
        a.add(ROOT.toString());
        return TestPg.run(new Adapt(), Map.of(), a.toArray(String[]::new));
    }

    static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void copiesTheStepsWithOnlyTheLibFilesTheyNeedAndIsIdempotent() throws Exception {
        Path to = tmp.resolve("ops");
        TestPg.Run dry = adapt("replica-identity", "publication", "grants", "--to", to.toString(), "--dry-run", "--json");
        assertEquals(0, dry.exit(), dry.all());
        assertFalse(Files.exists(to), "a dry run writes nothing");
        assertEquals(17, dry.json().getAsJsonArray("files").size());

        TestPg.Run r = adapt("replica-identity", "publication", "grants", "--to", to.toString());
        assertEquals(0, r.exit(), r.all());
        assertEquals(List.of(".neonmz-adapt.json", "CreatePublication.java", "GrantAccess.java", "README.md", "ReplicaIdentity.java",
                "jbang-catalog.json", "lib/neonmz/Catalog.java", "lib/neonmz/Cli.java", "lib/neonmz/ConnInfo.java",
                "lib/neonmz/Exit.java", "lib/neonmz/Fail.java", "lib/neonmz/Json.java", "lib/neonmz/Out.java",
                "lib/neonmz/OutputOptions.java", "lib/neonmz/Pg.java", "lib/neonmz/PgOptions.java", "lib/neonmz/Secrets.java",
                "lib/neonmz/Sql.java"), files(to), "no Mz, NeonApi or Replication: the publication steps do not use them");
        String pub = Files.readString(to.resolve("CreatePublication.java"));
        assertTrue(pub.contains("\n//SOURCES lib/neonmz/Pg.java\n") && !pub.contains("../lib/"), "//SOURCES point at the copy");
        for (String f : List.of("CreatePublication.java", "GrantAccess.java", "ReplicaIdentity.java")) {
            assertEquals(Files.readString(ROOT.resolve("scripts/" + f)).replace("//SOURCES ../lib/", "//SOURCES lib/"),
                    Files.readString(to.resolve(f)), f + " is the original but for its //SOURCES");
        }
        JsonObject cat = JsonParser.parseString(Files.readString(to.resolve("jbang-catalog.json"))).getAsJsonObject();
        assertEquals("CreatePublication.java", cat.getAsJsonObject("aliases").getAsJsonObject("publication").get("script-ref").getAsString());
        String readme = Files.readString(to.resolve("README.md"));
        assertTrue(readme.contains("from commit `") && readme.contains("./jbang adapt --update --to"), readme);

        TestPg.Run again = adapt("replica-identity", "publication", "grants", "--to", to.toString());
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("adapt: already done"), again.out());

        // an edited file is never overwritten without --force, and nothing else is written either
        Files.writeString(to.resolve("GrantAccess.java"), "// mine\n", java.nio.file.StandardOpenOption.APPEND);
        Files.delete(to.resolve("lib/neonmz/Sql.java"));
        TestPg.Run conflict = adapt("replica-identity", "publication", "grants", "--to", to.toString());
        assertEquals(Exit.CONFLICT, conflict.exit(), conflict.all());
        assertTrue(conflict.err().contains("1 file(s) in " + to + " exist and differ: GrantAccess.java; nothing was written"),
                conflict.err());
        assertTrue(conflict.err().contains("--update keeps your edits"), conflict.err());
        assertFalse(Files.exists(to.resolve("lib/neonmz/Sql.java")), "all or nothing");
        TestPg.Run forced = adapt("replica-identity", "publication", "grants", "--to", to.toString(), "--force");
        assertEquals(0, forced.exit(), forced.all());
        assertFalse(Files.readString(to.resolve("GrantAccess.java")).contains("// mine"));
        assertTrue(Files.exists(to.resolve("lib/neonmz/Sql.java")));
    }

    @Test
    void nameRenamesTheClassAndBadInputIsRefused() throws Exception {
        Path to = tmp.resolve("one");
        TestPg.Run r = adapt("publication", "--name", "ShopPublication", "--to", to.toString());
        assertEquals(0, r.exit(), r.all());
        String s = Files.readString(to.resolve("ShopPublication.java"));
        assertTrue(s.contains("public class ShopPublication implements") && s.contains("Cli.main(new ShopPublication(), args)"), s);
        assertFalse(s.contains("CreatePublication"));
        assertFalse(Files.exists(to.resolve("CreatePublication.java")));

        assertEquals("class OurLab { /* the OurLab's */ String d = \"Lab directory\"; char c = 'L'; // OurLab's dir\n OurLab x = "
                + "new OurLab(); String t = \"\"\"\n Lab \"\"\"; }", AdaptFiles.rename("class Lab { /* the Lab's */ String d = "
                + "\"Lab directory\"; char c = 'L'; // Lab's dir\n Lab x = new Lab(); String t = \"\"\"\n Lab \"\"\"; }", "Lab", "OurLab"));
        TestPg.Run two = adapt("publication", "grants", "--name", "X", "--to", tmp.resolve("x").toString());
        assertEquals(Exit.USAGE, two.exit(), two.all());
        assertTrue(two.err().contains("--name takes a Java class name"), two.err());
        TestPg.Run unknown = adapt("publications", "--to", tmp.resolve("y").toString());
        assertEquals(Exit.USAGE, unknown.exit());
        assertTrue(unknown.err().contains("no alias publications in jbang-catalog.json") && unknown.err().contains("publication,"),
                unknown.err());
        TestPg.Run notOurs = adapt("--update", "--to", tmp.toString());
        assertEquals(Exit.NOT_FOUND, notOurs.exit(), notOurs.all());
        assertTrue(notOurs.err().contains("has no .neonmz-adapt.json"), notOurs.err());
    }

    @Test
    void theCommitGoesIntoTheCopysCliAsAJavaLiteral() {
        String cli = "class Cli {\n    static final String COPIED_FROM = null;\n}\n";
        assertEquals("class Cli {\n    static final String COPIED_FROM = \"v0.1.0-2-g\\\"x\\\\\";   // written by adapt\n}\n",
                AdaptFiles.copiedFrom(cli, "v0.1.0-2-g\"x\\"));
        assertEquals("class Cli {}\n", AdaptFiles.copiedFrom("class Cli {}\n", "abc"), "an older toolkit's Cli.java, as it is");
    }

    /** A toolkit of our own (a copy of this one) that changes after the adapt: --update takes what it can. */
    @Test
    void updateRecopiesTheLibAndKeepsEditedSteps() throws Exception {
        Path kit = tmp.resolve("kit");
        Files.createDirectories(kit.resolve("scripts"));
        Files.copy(ROOT.resolve("jbang-catalog.json"), kit.resolve("jbang-catalog.json"));
        for (String f : List.of("CreatePublication.java", "GrantAccess.java")) {
            Files.copy(ROOT.resolve("scripts/" + f), kit.resolve("scripts/" + f));
        }
        try (Stream<Path> s = Files.list(ROOT.resolve("lib/neonmz"))) {
            Files.createDirectories(kit.resolve("lib/neonmz"));
            for (Path p : s.toList()) {
                Files.copy(p, kit.resolve("lib/neonmz/" + p.getFileName()));
            }
        }
        Path to = tmp.resolve("ops");
        Map<String, String> none = Map.of();
        assertEquals(0, TestPg.run(new Adapt(), none, "publication", "grants", "--to", to.toString(), "--from", kit.toString()).exit());

        // the toolkit changes a lib file and both steps; the user edited one step
        Files.writeString(kit.resolve("lib/neonmz/Sql.java"), "// lib v2\n", java.nio.file.StandardOpenOption.APPEND);
        for (String f : List.of("CreatePublication.java", "GrantAccess.java")) {
            Path p = kit.resolve("scripts/" + f);
            Files.writeString(p, Files.readString(p).replace("Guide step A.2.", "Guide step (v2) A.2."));
        }
        Path mine = to.resolve("GrantAccess.java");
        Files.writeString(mine, Files.readString(mine).replace("public class GrantAccess", "// our tables only\npublic class GrantAccess"));

        TestPg.Run u = TestPg.run(new Adapt(), none, "--update", "--to", to.toString(), "--from", kit.toString(), "--json");
        assertEquals(0, u.exit(), u.all());
        Map<String, String> action = new HashMap<>();
        for (JsonElement e : u.json().getAsJsonArray("files")) {
            action.put(e.getAsJsonObject().get("path").getAsString(), e.getAsJsonObject().get("action").getAsString());
        }
        assertEquals("update", action.get("lib/neonmz/Sql.java"));
        assertEquals("update", action.get("CreatePublication.java"), "not edited: takes the new version");
        assertEquals("kept", action.get("GrantAccess.java"), "edited: left alone");
        assertEquals("unchanged", action.get("lib/neonmz/Pg.java"));
        assertTrue(Files.readString(to.resolve("lib/neonmz/Sql.java")).endsWith("// lib v2\n"));
        assertTrue(Files.readString(to.resolve("CreatePublication.java")).contains("Guide step (v2) A.2.2"));
        assertTrue(Files.readString(mine).contains("// our tables only") && !Files.readString(mine).contains("(v2)"));

        TestPg.Run human = TestPg.run(new Adapt(), none, "--update", "--to", to.toString(), "--from", kit.toString());
        assertEquals(0, human.exit(), human.all());
        assertTrue(human.out().contains("--- GrantAccess.java (yours)\n+++ GrantAccess.java (toolkit "), human.out());
        assertTrue(human.out().contains("\n-// our tables only\n") && human.out().contains("+//DESCRIPTION Guide step (v2) A.2.4"),
                human.out());
        assertTrue(human.out().contains("adapt: already done") && human.out().contains("your edits kept"), human.out());
    }

    // ---- through real JBang ----------------------------------------------------------------------------

    /**
     * Every alias, copied out on its own (with the launcher) into a folder outside the repo and renamed
     * (--name), runs through real JBang and answers --help exactly as the original; and all of them at once
     * make one flat folder with one catalog.
     */
    @Test
    @Tag("jbang")
    @Tag("scale")   // about 100 s: in the slow tier .ci/run runs after mvn test; mvn test runs the sample below
    void everyAliasCopiedOutAndRenamedRunsThroughRealJBang() throws Exception {
        copiedOutAndRenamed(new ArrayList<>(Commands.ALL.keySet()));
    }

    /**
     * A sample of the above in every mvn test: a step that changes the lab, a read-only one with --json, one that
     * sources another script (fleet runs doctor) and one that runs until stopped.
     */
    @Test
    @Tag("jbang")
    void aSampleOfAliasesCopiedOutAndRenamedRunsThroughRealJBang() throws Exception {
        copiedOutAndRenamed(new ArrayList<>(List.of("publication", "doctor", "fleet", "watch")));
    }

    static void copiedOutAndRenamed(List<String> aliases) throws Exception {
        List<String> different = new ArrayList<>();
        for (String alias : aliases) {
            Path to = Files.createTempDirectory("neonmz-adapt-" + alias);
            String original = Commands.of(alias).getClass().getSimpleName();
            TestPg.Run r = adapt(alias, "--name", "Our" + original, "--to", to.toString(), "--with-launcher");
            assertEquals(0, r.exit(), r.all());
            assertTrue(Files.exists(to.resolve("Our" + original + ".java")) && !Files.exists(to.resolve(original + ".java")), alias);
            TestPg.Run help = TestPg.run(Commands.of(alias), Map.of("NO_COLOR", "1"), "--help");
            LauncherRun.Result copy = LauncherRun.run(to.resolve("jbang"), to, Map.of(), alias, "--help");
            if (copy.exit() != 0 || !copy.out().equals(help.out())) {
                different.add(alias + ": " + copy.describe());
            }
            String[] args = LAB_RUNS.get(alias);
            if (args != null) {
                // against the lab: the original in-process on one fresh database, the copy through JBang on another
                String db1 = TestPg.newDatabase();
                String db2 = TestPg.newDatabase();
                Map<String, String> env1 = labEnv(db1);
                env1.put("MZ_REPLICATION_PASSWORD", "adapt-replication-pw-1");
                Map<String, String> env2 = labEnv(db2);
                env2.put("MZ_REPLICATION_PASSWORD", "adapt-replication-pw-1");
                TestPg.Run o = TestPg.run(Commands.of(alias), env1, args);
                List<String> withAlias = new ArrayList<>(List.of(alias));
                withAlias.addAll(List.of(args));
                LauncherRun.Result c = LauncherRun.run(to.resolve("jbang"), to, env2, withAlias.toArray(String[]::new));
                String want = o.exit() + "\n" + norm(o.out() + o.err(), db1);
                String got = c.exit() + "\n" + norm(c.out() + c.errWithoutLauncher() + (c.errWithoutLauncher().isEmpty() ? "" : "\n"), db2);
                if (!want.equals(got)) {
                    different.add(alias + " " + String.join(" ", args) + " against the lab:\n--- original\n" + want + "\n--- copy\n" + got);
                }
            }
        }
        assertEquals(List.of(), different);

        Path all = Files.createTempDirectory("neonmz-adapt-all");
        List<String> args = new ArrayList<>(aliases);
        args.addAll(List.of("--to", all.toString()));
        assertEquals(0, adapt(args.toArray(String[]::new)).exit());
        assertFalse(Files.exists(all.resolve("pom.xml")) || Files.exists(all.resolve("scripts")), "flat, and no build files");
        JsonObject cat = JsonParser.parseString(Files.readString(all.resolve("jbang-catalog.json"))).getAsJsonObject();
        assertEquals(aliases.size(), cat.getAsJsonObject("aliases").size());
    }

    /**
     * The README's promise: eject publication, rename it, change a constant, run it against the lab through
     * real JBang: the same statements as the original but for what was changed; then with the network cut.
     */
    @Test
    @Tag("jbang")
    void anEditedCopyRunsAgainstTheLabLikeTheOriginalAndOffline() throws Exception {
        Path to = Files.createTempDirectory("neonmz-adapt-one");
        assertEquals(0, adapt("publication", "--name", "ShopPublication", "--to", to.toString(), "--with-launcher").exit());
        Path f = to.resolve("ShopPublication.java");
        String s = Files.readString(f);
        assertTrue(s.contains("String name = \"mz_source\";"), "the default publication, as a field default");
        Files.writeString(f, s.replace("String name = \"mz_source\";", "String name = \"shop_cdc\";"));

        String db1 = TestPg.newDatabase();
        String db2 = TestPg.newDatabase();
        LauncherRun.Result original = LauncherRun.run(ROOT.resolve("jbang"), ROOT, labEnv(db1), "publication", "--table",
                "customers,orders", "--json");
        LauncherRun.Result copy = LauncherRun.run(to.resolve("jbang"), to, labEnv(db2), "publication", "--table",
                "customers,orders", "--json");
        assertEquals(0, original.exit(), original.describe());
        assertEquals(0, copy.exit(), copy.describe());
        assertEquals(statements(original).toString().replace("mz_source", "shop_cdc"), statements(copy).toString());
        assertEquals(List.of(Map.of("n", 2L)), TestPg.rows(db2,
                "SELECT count(*) AS n FROM pg_publication_tables WHERE pubname = 'shop_cdc'"));

        // with the network cut the shared test server is out of reach: the lab runs inside the cut too
        List<String> cut = OfflineTest.netCut();
        Path labDir = LabTest.labDir();
        Path inside = to.resolve("offline-run.sh");
        Files.writeString(inside, String.join("\n", "#!/bin/sh",
                "repo=" + neonmz.Out.shellQuote(ROOT.toString()),
                "\"$repo/jbang\" lab start --detach >/dev/null || exit 90",
                "eval \"$(\"$repo/jbang\" lab env)\"",
                "./jbang publication --table customers,orders,page_views",
                "rc=$?",
                "\"$repo/jbang\" lab stop >/dev/null",
                "exit $rc", ""));
        inside.toFile().setExecutable(true);
        Map<String, String> env = new HashMap<>();
        env.put("HOME", System.getProperty("user.home"));
        env.put("NEONMZ_OFFLINE", "1");
        env.put("NEONMZ_NO_FASTPATH", "1");   // JBang itself, from its local repository
        env.put("NEONMZ_LAB_DIR", labDir.toString());
        env.put("NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
        try {
            LauncherRun.Result offline = LauncherRun.run(cut, inside, to, env);
            assertEquals(0, offline.exit(), (cut.isEmpty() ? "NEONMZ_OFFLINE only" : "unshare -n") + "\n" + offline.describe());
            assertTrue(offline.out().contains("shop_cdc"), offline.out());
        } finally {
            Lab.Server.deleteTree(labDir);
        }
    }

    /**
     * An ejected copy's --version: the toolkit's version and the commit it was copied from (written into the copy's
     * Cli.java by adapt), through its own launcher and through plain JBang, inside a git repository of the user's own
     * whose HEAD it must not report; its README shows how to install JBang.
     */
    @Test
    @Tag("jbang")
    void aCopyReportsTheToolkitVersionAndTheCommitItWasCopiedFrom() throws Exception {
        Path to = OneLinerTest.otherRepository().resolve("ops");
        assertEquals(0, adapt("publication", "--to", to.toString(), "--with-launcher").exit());
        String commit = AdaptFiles.commit(ROOT);
        assertTrue(commit.matches("[0-9a-f]{12}(-dirty)?|v\\d.*"), "git describe of the toolkit: " + commit);
        String cli = Files.readString(to.resolve("lib/neonmz/Cli.java"));
        assertEquals(Files.readString(ROOT.resolve("lib/neonmz/Cli.java")).replace("static final String COPIED_FROM = null;",
                "static final String COPIED_FROM = \"" + commit + "\";   // written by adapt"), cli, "one line differs");
        assertTrue(Files.readString(to.resolve("README.md")).contains(AdaptFiles.INSTALL_JBANG), "install lines in the copy's README");

        String want = "publication " + neonmz.Cli.VERSION + " (neonmz toolkit, copied from commit " + commit + ")\n";
        LauncherRun.Result r = LauncherRun.run(to.resolve("jbang"), to, Map.of(), "publication", "--version");
        assertEquals(0, r.exit(), r.describe());
        assertEquals(want, r.out(), r.describe());
        LauncherRun.Result j = LauncherRun.run(to.resolve("jbang"), to, Map.of(), "publication", "--version", "--json");
        JsonObject o = JsonParser.parseString(j.out()).getAsJsonObject();
        assertEquals(neonmz.Cli.VERSION, o.get("version").getAsString(), j.describe());
        assertEquals(commit, o.get("commit").getAsString(), j.describe());
        assertTrue(o.get("copied").getAsBoolean(), j.describe());
        LauncherRun.Result plain = LauncherRun.run(OneLinerTest.plainJbang(), to, Map.of(), "publication", "--version");
        assertEquals(0, plain.exit(), plain.describe());
        assertEquals(want, plain.out(), "plain JBang in the copy's folder\n" + plain.describe());
    }

    /** What each alias runs against the lab in the copy and in the original (the others: --help only; they need Neon's API or Docker). */
    static final Map<String, String[]> LAB_RUNS = Map.ofEntries(
            Map.entry("check-logical-replication", new String[] {}),
            Map.entry("replica-identity", new String[] {"--table", "customers,orders"}),
            Map.entry("publication", new String[] {"--table", "customers,\"Order Items\""}),
            Map.entry("replication-role", new String[] {"--dry-run"}),
            Map.entry("grants", new String[] {"--dry-run"}),
            Map.entry("loadgen", new String[] {"--count", "20", "--rate", "0", "--seed", "7", "--json"}),
            Map.entry("cluster", new String[] {"--dry-run"}),
            Map.entry("connection", new String[] {"--dry-run"}),
            Map.entry("source", new String[] {"--dry-run", "--publication", "missing_pub"}),
            Map.entry("monitor", new String[] {"--dry-run"}),
            Map.entry("right-size", new String[] {"--dry-run"}),
            Map.entry("explore", new String[] {"--dry-run"}),
            Map.entry("teardown", new String[] {"--dry-run", "--upstream-only"}),
            Map.entry("doctor", new String[] {"--json"}),
            Map.entry("watch", new String[] {"--dry-run", "--heartbeat", "--all-in-schema"}));

    /** What differs between two runs on two databases: the database's name, timings. */
    static String norm(String s, String db) {
        return s.replace(db, "DB").replaceAll("\\d+ ms\\b", "[MS]").replaceAll("\"(elapsed_ms|run_ms)\":\\d+", "\"$1\":[MS]")
                .replaceAll("\"port\":\\d+", "\"port\":[PORT]");
    }

    /** The lab database's environment, with the user's HOME kept (JBang's and Maven's caches live there). */
    static Map<String, String> labEnv(String db) {
        Map<String, String> env = new HashMap<>(TestPg.env(db));
        env.put("HOME", System.getProperty("user.home"));
        return env;
    }

    static List<String> statements(LauncherRun.Result r) {
        List<String> out = new ArrayList<>();
        JsonParser.parseString(r.out().strip()).getAsJsonObject().getAsJsonArray("statements").forEach(e -> out.add(e.getAsString()));
        return out;
    }
}
