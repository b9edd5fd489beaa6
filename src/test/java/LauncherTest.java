import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The ./jbang launcher: the pinned jbang-cli it fetches, and its fast path (a cached launch command,
 * used without starting JBang's JVM), which must never run stale code and never store the user's arguments.
 */
class LauncherTest {
    static final Path ROOT = LauncherRun.ROOT;

    /** Runs until the fast path has an entry (at most one miss), and returns the hit. */
    static LauncherRun.Result warmHit(Path launcher, Path cwd, Map<String, String> env, String... args) {
        LauncherRun.Result r = LauncherRun.run(launcher, cwd, env, args);
        if (!r.hit()) {
            assertTrue(r.miss(), "expected a fast-path miss\n" + r.describe());
            r = LauncherRun.run(launcher, cwd, env, args);
        }
        assertTrue(r.hit(), "expected a fast-path hit\n" + r.describe());
        return r;
    }

    static void assertSameRun(LauncherRun.Result expected, LauncherRun.Result actual) {
        assertEquals(expected.exit(), actual.exit(), actual.describe());
        assertEquals(expected.out(), actual.out());
        assertEquals(expected.errWithoutLauncher(), actual.errWithoutLauncher());
    }

    @Test
    void aHitRunsExactlyWhatJBangWouldRun() {
        Path jbang = ROOT.resolve("jbang");
        for (String[] args : List.of(
                new String[] {"check-logical-replication", "--help"},
                // a usage error echoes the arguments back: they must arrive as given (quotes, spaces, $)
                new String[] {"check-logical-replication", "--bogus", "a b", "it's", "$HOME", "--pg-url=x;y"},
                new String[] {"scripts/CheckLogicalReplication.java", "--version"})) {
            LauncherRun.Result hit = warmHit(jbang, ROOT, Map.of(), args);
            LauncherRun.Result slow = LauncherRun.run(jbang, ROOT, Map.of("NEONMZ_NO_FASTPATH", "1"), args);
            assertTrue(slow.fastPathOff() && !slow.hit() && !slow.miss(), slow.describe());
            assertSameRun(slow, hit);
        }
    }

    @Test
    void aliasesResolveFromASubfolder() {
        LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), ROOT.resolve("scripts"), Map.of(), "publication", "--help");
        assertEquals(0, r.exit(), r.describe());
        assertTrue(r.hit() || r.miss(), "the fast path should resolve the alias from scripts/\n" + r.describe());
        assertTrue(r.out().contains("Usage: publication"), r.describe());
    }

    @Test
    void aliasesResolveFromOutsideTheRepo() throws IOException {
        // no catalog from here up has the alias: the launcher uses its own repo's catalog
        Path elsewhere = Files.createTempDirectory("neonmz-launcher-cwd-");
        try {
            LauncherRun.Result fast = LauncherRun.run(ROOT.resolve("jbang"), elsewhere, Map.of(), "publication", "--help");
            assertEquals(0, fast.exit(), fast.describe());
            assertTrue(fast.out().contains("Usage: publication"), fast.describe());
            LauncherRun.Result slow = LauncherRun.run(ROOT.resolve("jbang"), elsewhere, Map.of("NEONMZ_NO_FASTPATH", "1"),
                    "publication", "--help");
            assertSameRun(fast, slow);
        } finally {
            Files.deleteIfExists(elsewhere);
        }
    }

    @Test
    void jbangReadsTheCatalog() {
        // jbang-cli's own pom brings gson 2.10.1, with which JBang reads no aliases at all
        LauncherRun.Result r = LauncherRun.jbang("alias", "list");
        assertEquals(0, r.exit(), r.describe());
        for (String alias : List.of("check-logical-replication", "replica-identity", "publication", "replication-role",
                "grants", "lab")) {
            assertTrue(r.out().lines().anyMatch(l -> l.strip().equals(alias)), alias + " missing\n" + r.describe());
        }
        LauncherRun.Result v = LauncherRun.jbang("version");
        assertEquals(0, v.exit(), v.describe());
        assertEquals(LauncherRun.JBANG_VERSION, v.out().strip());
    }

    @Test
    void editingASourcedLibFileIsSeenAtOnce() throws IOException {
        Path copy = LauncherRun.copyOfRepo("edit");
        Path jbang = copy.resolve("jbang");
        LauncherRun.Result before = warmHit(jbang, copy, Map.of(), "check-logical-replication", "--help");
        assertTrue(before.out().contains("Machine output: one JSON object on stdout."), before.describe());

        // a file the script does not source: the entry stays valid
        LauncherRun.edit(copy.resolve("scripts/GrantAccess.java"), "//DESCRIPTION ", "//DESCRIPTION (edited) ");
        assertTrue(LauncherRun.run(jbang, copy, Map.of(), "check-logical-replication", "--help").hit());

        // a lib file it sources (//SOURCES ../lib/neonmz/OutputOptions.java): the next run sees the change
        String marker = "EDITED-BY-LAUNCHER-TEST"; // the same each run: JBang may reuse its jar for this content, rightly
        LauncherRun.edit(copy.resolve("lib/neonmz/OutputOptions.java"), "Machine output: one JSON object on stdout.",
                "Machine output: one JSON object on stdout. " + marker);
        LauncherRun.Result after = LauncherRun.run(jbang, copy, Map.of(), "check-logical-replication", "--help");
        assertTrue(after.miss(), after.describe());
        assertEquals(0, after.exit(), after.describe());
        assertTrue(after.out().contains(marker), "stale code ran\n" + after.describe());
        LauncherRun.Result again = warmHit(jbang, copy, Map.of(), "check-logical-replication", "--help");
        assertEquals(after.out(), again.out());

        // a file that Lab pulls in only through a script it sources: //SOURCES is followed recursively
        Path extra = copy.resolve("lib/neonmz/LauncherTestExtra.java");
        Files.writeString(extra, "package neonmz;\n\nclass LauncherTestExtra {}\n");
        LauncherRun.edit(copy.resolve("scripts/CheckLogicalReplication.java"), "//SOURCES ../lib/neonmz/Cli.java\n",
                "//SOURCES ../lib/neonmz/Cli.java\n//SOURCES ../lib/neonmz/LauncherTestExtra.java\n");
        LauncherRun.Result lab = warmHit(jbang, copy, Map.of(), "lab", "--help");
        Files.writeString(extra, "package neonmz;\n\nclass LauncherTestExtra { /* edited */ }\n");
        LauncherRun.Result lab2 = LauncherRun.run(jbang, copy, Map.of(), "lab", "--help");
        assertTrue(lab2.miss(), lab2.describe());
        assertSameRun(lab, lab2);
    }

    @Test
    void userArgumentsAreNeverCached() throws IOException {
        Path copy = LauncherRun.copyOfRepo("secret");   // a fresh key: this run writes the entry
        String secret = "s3cr3t-" + System.nanoTime();
        LauncherRun.Result r = LauncherRun.run(copy.resolve("jbang"), copy, Map.of(), "check-logical-replication",
                "--pg-url=postgresql://neondb_owner:" + secret + "@127.0.0.1:9/neondb", "--help");
        assertTrue(r.miss(), r.describe());
        assertEquals(0, r.exit(), r.describe());
        LauncherRun.Result hit = LauncherRun.run(copy.resolve("jbang"), copy, Map.of(), "check-logical-replication",
                "--pg-url=postgresql://neondb_owner:" + secret + "@127.0.0.1:9/neondb", "--help");
        assertTrue(hit.hit(), hit.describe());
        try (Stream<Path> files = Files.walk(LauncherRun.CACHE.resolve("fastpath"))) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                String text = Files.readString(f);
                assertFalse(text.contains(secret), "user arguments in " + f);
                assertFalse(text.contains("NEONMZ_FASTPATH_USER_ARGS"), "placeholder left in " + f);
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
            }
        }
    }

    /** A JDK home that is the running one under another name, with its own release file. */
    static Path fakeJdk(String name) throws IOException {
        Path real = Path.of(System.getProperty("java.home")).toRealPath();
        Path fake = LauncherRun.scratchDir(name);
        Files.createDirectories(fake.resolve("bin"));
        for (String tool : List.of("java", "javac")) {
            assumeTrue(Files.isExecutable(real.resolve("bin").resolve(tool)), "the test JVM is not a JDK");
            Files.createSymbolicLink(fake.resolve("bin").resolve(tool), real.resolve("bin").resolve(tool));
        }
        Files.copy(real.resolve("release"), fake.resolve("release"));
        return fake;
    }

    @Test
    void anotherJavaIsAnotherKey() throws IOException {
        Path jbang = ROOT.resolve("jbang");
        String[] args = {"replica-identity", "--help"};
        LauncherRun.Result base = warmHit(jbang, ROOT, Map.of(), args);

        // the same path, but the JDK was upgraded in place (its release file changed)
        Path fake = fakeJdk("jdk");
        Map<String, String> env = Map.of("JAVA_HOME", fake.toString());
        LauncherRun.Result first = LauncherRun.run(jbang, ROOT, env, args);
        assertTrue(first.miss(), first.describe());
        assertTrue(warmHit(jbang, ROOT, env, args).hit());
        Files.writeString(fake.resolve("release"), Files.readString(fake.resolve("release")) + "NEONMZ_TEST_UPGRADE=\"1\"\n");
        LauncherRun.Result upgraded = LauncherRun.run(jbang, ROOT, env, args);
        assertTrue(upgraded.miss(), upgraded.describe());
        assertSameRun(base, upgraded);

        // a different JDK altogether (the machine's second JDK, where there is one)
        Optional<Path> other = otherJdk();
        if (other.isPresent()) {
            Map<String, String> env2 = Map.of("JAVA_HOME", other.get().toString());
            LauncherRun.Result r = LauncherRun.run(jbang, ROOT, env2, args);
            assertTrue(r.miss() || r.hit(), r.describe());
            LauncherRun.Result hit = warmHit(jbang, ROOT, env2, args);
            assertSameRun(base, hit);
            LauncherRun.Result back = LauncherRun.run(jbang, ROOT, Map.of(), args);
            assertTrue(back.hit(), "the default java's entry is still there\n" + back.describe());
        }
    }

    /** A JDK under /usr/lib/jvm other than the running one, if any. */
    static Optional<Path> otherJdk() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        Path running = Path.of(System.getProperty("java.home")).toRealPath();
        try (Stream<Path> s = Files.list(jvms)) {
            List<Path> candidates = new ArrayList<>();
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isExecutable(p.resolve("bin/javac")) && !Files.isSymbolicLink(p) && !p.toRealPath().equals(running)) {
                    candidates.add(p);
                }
            }
            return candidates.stream().sorted().findFirst();
        }
    }

    @Test
    void anotherJBangVersionIsAnotherKey() throws IOException {
        Path copy = LauncherRun.copyOfRepo("version");
        Path jbang = copy.resolve("jbang");
        String[] args = {"grants", "--help"};
        LauncherRun.Result base = warmHit(jbang, copy, Map.of(), args);
        // pom.xml pins another version; its jars are in the cache already (the same ones, under that
        // version's name, so no fetch is needed): the launcher must not reuse the other version's entries
        String other = LauncherRun.JBANG_VERSION + "-neonmz-test";
        Path otherHome = LauncherRun.CACHE.resolve("jbang-" + other);
        if (!Files.exists(otherHome, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(otherHome, Path.of("jbang-" + LauncherRun.JBANG_VERSION));
        }
        LauncherRun.edit(copy.resolve("pom.xml"), "<jbang.version>" + LauncherRun.JBANG_VERSION + "</jbang.version>",
                "<jbang.version>" + other + "</jbang.version>");
        LauncherRun.Result changed = LauncherRun.run(jbang, copy, Map.of(), args);
        assertTrue(changed.miss(), changed.describe());
        assertSameRun(base, changed);
        assertTrue(LauncherRun.run(jbang, copy, Map.of(), args).hit());
    }

    @Test
    void concurrentFirstRunsFetchJBangOnce() throws Exception {
        Path cache = LauncherRun.scratchDir("fresh-cache");
        Map<String, String> env = Map.of("NEONMZ_CACHE", cache.toString());
        List<CompletableFuture<LauncherRun.Result>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            runs.add(CompletableFuture.supplyAsync(() -> LauncherRun.run(ROOT.resolve("jbang"), ROOT, env, "version")));
        }
        for (CompletableFuture<LauncherRun.Result> f : runs) {
            LauncherRun.Result r = f.get();
            assertEquals(0, r.exit(), r.describe());
            assertEquals(LauncherRun.JBANG_VERSION, r.out().strip(), r.describe());
        }
        Path home = cache.resolve("jbang-" + LauncherRun.JBANG_VERSION);
        assertTrue(Files.isSymbolicLink(home), "published with one atomic symlink");
        Path lib = home.resolve("lib");
        assertTrue(Files.isRegularFile(lib.resolve("jbang-cli-" + LauncherRun.JBANG_VERSION + ".jar")));
        assertTrue(Files.isRegularFile(lib.resolve("gson-2.13.2.jar")));
        try (Stream<Path> s = Files.list(lib)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("gson-") && !n.equals("gson-2.13.2.jar")).toList(),
                    "only gson 2.13.2");
        }
        try (Stream<Path> s = Files.list(cache)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(2, names.size(), "the published copy and its link, nothing left over: " + names);
        }
    }

    @Test
    void anInstalledJbangOnPathIsUsedUnlessForced() throws IOException {
        Path bin = LauncherRun.scratchDir("fake-bin");
        Path fake = bin.resolve("jbang");
        Files.writeString(fake, "#!/bin/sh\necho \"installed jbang: $*\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        String path = bin + ":" + System.getenv("PATH");
        LauncherRun.Result installed = LauncherRun.run(ROOT.resolve("jbang"), ROOT, Map.of("PATH", path), "lab", "--help");
        // NEONMZ_JBANG_FORCE_BUNDLED is set by default in these tests: unset it for this run
        LauncherRun.Result notForced = LauncherRun.run(ROOT.resolve("jbang"), ROOT,
                mapWithNull("PATH", path, "NEONMZ_JBANG_FORCE_BUNDLED"), "lab", "--help");
        assertEquals(0, notForced.exit(), notForced.describe());
        assertEquals("installed jbang: lab --help", notForced.out().strip());
        assertTrue(installed.out().contains("Usage: lab"), "forced: the bundled one\n" + installed.describe());

        // the launcher itself on PATH (e.g. the repo root added to PATH) is not "an installed jbang"
        LauncherRun.Result self = LauncherRun.run(ROOT.resolve("jbang"), ROOT,
                mapWithNull("PATH", ROOT + ":" + System.getenv("PATH"), "NEONMZ_JBANG_FORCE_BUNDLED"), "lab", "--help");
        assertEquals(0, self.exit(), self.describe());
        assertTrue(self.out().contains("Usage: lab"), self.describe());
    }

    static Map<String, String> mapWithNull(String key, String value, String removed) {
        Map<String, String> m = new java.util.HashMap<>();
        m.put(key, value);
        m.put(removed, null);
        return m;
    }
}
