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
                // entries, and the class-data archives beside them (binary)
                String text = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertFalse(text.contains(secret), "user arguments in " + f);
                assertFalse(text.contains("NEONMZ_FASTPATH_USER_ARGS"), "placeholder left in " + f);
                assertTrue(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)).endsWith("------"), f.toString());
            }
        }
    }

    /** The class-data sharing archive: written on a miss, used on hits, harmless when it is not valid. */
    @Test
    void hitsUseAClassDataArchiveAndAnInvalidOneIsHarmless() throws IOException {
        Path copy = LauncherRun.copyOfRepo("cds");
        Path jbang = copy.resolve("jbang");
        String[] args = {"replication-role", "--bogus", "x y"};
        Map<String, String> cds = new java.util.HashMap<>();
        cds.put("NEONMZ_NO_CDS", null);   // LauncherRun turns archives off for every other test
        LauncherRun.Result miss = LauncherRun.run(jbang, copy, cds, args);
        assertTrue(miss.miss(), miss.describe());
        String key = miss.trace().stream().filter(l -> l.startsWith("fastpath miss ")).findFirst().orElseThrow().substring(14);
        Path jsa = LauncherRun.CACHE.resolve("fastpath").resolve(key + ".jsa");
        assertTrue(Files.size(jsa) > 100_000, "an archive beside the entry\n" + miss.describe());
        LauncherRun.Result hit = LauncherRun.run(jbang, copy, cds, args);
        assertTrue(hit.hit() && hit.trace().contains("cds: " + jsa), hit.describe());
        LauncherRun.Result without = LauncherRun.run(jbang, copy, Map.of("NEONMZ_NO_CDS", "1"), args);
        assertTrue(without.hit() && without.trace().stream().noneMatch(l -> l.startsWith("cds")), without.describe());
        assertSameRun(without, hit);
        assertSameRun(without, miss);
        // an archive that is not one (damaged, or from another JVM build): the JVM runs as without it, silently
        Files.setPosixFilePermissions(jsa, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(jsa, "not a class-data archive\n".repeat(1000));
        LauncherRun.Result invalid = LauncherRun.run(jbang, copy, cds, args);
        assertTrue(invalid.hit() && invalid.trace().contains("cds: " + jsa), invalid.describe());
        assertSameRun(without, invalid);
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

    /** A directory with a fake installed {@code jbang} that records its arguments in {@code calls} and says so. */
    static Path fakeInstalledJbang(String name) throws IOException {
        Path bin = LauncherRun.scratchDir(name);
        Path fake = bin.resolve("jbang");
        Files.writeString(fake, "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/calls\"\necho \"installed jbang: $*\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    /** An empty directory outside the repo (target/ is inside it: JBang would find the repo's catalog from there). */
    static Path outsideTheRepo(String name) throws IOException {
        Path dir = Files.createTempDirectory("neonmz-launcher-" + name + "-");
        dir.toFile().deleteOnExit();
        return dir;
    }

    static List<String> calls(Path bin) throws IOException {
        Path calls = bin.resolve("calls");
        return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
    }

    @Test
    void anInstalledJbangNeverBypassesTheFastPath() throws IOException {
        Path bin = fakeInstalledJbang("fake-bin");
        String path = bin + ":" + System.getenv("PATH");
        Map<String, String> env = mapWithNull("PATH", path, "NEONMZ_JBANG_FORCE_BUNDLED");
        LauncherRun.Result bundled = warmHit(ROOT.resolve("jbang"), ROOT, Map.of(), "lab", "--help");
        // no jar beside the installed script: the pinned jbang-cli works the command out, the same entry hits
        LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), ROOT, env, "lab", "--help");
        assertTrue(r.hit(), r.describe());
        assertSameRun(bundled, r);
        assertEquals(List.of(), calls(bin), "a hit starts no JBang, installed or not");

        // JBang's own commands go to the installed jbang
        LauncherRun.Result v = LauncherRun.run(ROOT.resolve("jbang"), ROOT, env, "version");
        assertEquals("installed jbang: version", v.out().strip(), v.describe());

        // from another folder without the fast path, the installed jbang gets the repo's script, not an alias
        // no catalog there has (it used to say "Script or alias could not be found")
        Path elsewhere = outsideTheRepo("elsewhere");
        Map<String, String> slowEnv = new java.util.HashMap<>(env);
        slowEnv.put("NEONMZ_NO_FASTPATH", "1");
        LauncherRun.Result away = LauncherRun.run(ROOT.resolve("jbang"), elsewhere, slowEnv, "lab", "env");
        assertEquals("installed jbang: " + ROOT.resolve("scripts/Lab.java") + " env", away.out().strip(), away.describe());

        // the launcher itself on PATH (e.g. the repo root added to PATH) is not "an installed jbang"
        LauncherRun.Result self = LauncherRun.run(ROOT.resolve("jbang"), ROOT,
                mapWithNull("PATH", ROOT + ":" + System.getenv("PATH"), "NEONMZ_JBANG_FORCE_BUNDLED"), "lab", "--help");
        assertEquals(0, self.exit(), self.describe());
        assertTrue(self.out().contains("Usage: lab"), self.describe());
    }

    /**
     * An installed JBang laid out as its installer does (a jbang script with jbang.jar beside it; here the jar
     * is the real jbang-cli, through its manifest's Class-Path): a miss asks that jar, a hit asks nothing, and
     * from another folder the repo's aliases still run.
     */
    @Test
    void anInstalledJbangsJarWorksOutTheCommandOnAMiss() throws IOException {
        LauncherRun.Result bundled = warmHit(ROOT.resolve("jbang"), ROOT, Map.of(), "grants", "--help");
        Path bin = fakeInstalledJbang("installed-jbang");
        Path lib = LauncherRun.CACHE.resolve("jbang-" + LauncherRun.JBANG_VERSION).resolve("lib");
        java.util.jar.Manifest mf = new java.util.jar.Manifest();
        mf.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(java.util.jar.Attributes.Name.MAIN_CLASS, "dev.jbang.Main");
        try (Stream<Path> jars = Files.list(lib)) {
            mf.getMainAttributes().put(java.util.jar.Attributes.Name.CLASS_PATH,
                    String.join(" ", jars.map(j -> j.toUri().toString()).sorted().toList()));
        }
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(bin.resolve("jbang.jar")), mf)) {
            out.flush();
        }
        Map<String, String> env = mapWithNull("PATH", bin + ":" + System.getenv("PATH"), "NEONMZ_JBANG_FORCE_BUNDLED");
        Path elsewhere = outsideTheRepo("elsewhere-jar");
        LauncherRun.Result first = LauncherRun.run(ROOT.resolve("jbang"), elsewhere, env, "grants", "--help");
        assertTrue(first.miss(), "another JBang is another key\n" + first.describe());
        assertTrue(first.trace().stream().anyMatch(l -> l.contains("(jar " + bin.resolve("jbang.jar"))), first.describe());
        assertSameRun(bundled, first);
        LauncherRun.Result hit = LauncherRun.run(ROOT.resolve("jbang"), elsewhere, env, "grants", "--help");
        assertTrue(hit.hit(), hit.describe());
        assertSameRun(bundled, hit);
        assertEquals(List.of(), calls(bin), "the installed script is not run for a step");
    }

    // ---- bash 3.2 (macOS's /bin/bash) -----------------------------------------------------------

    /** A bash 3.2 binary: $NEONMZ_BASH32, /opt/bash-3.2/bin/bash or bash3.2 on PATH (built from GNU bash 3.2.48). */
    static Optional<Path> bash32() {
        List<Path> candidates = new ArrayList<>();
        Optional.ofNullable(System.getenv("NEONMZ_BASH32")).ifPresent(p -> candidates.add(Path.of(p)));
        candidates.add(Path.of("/opt/bash-3.2/bin/bash"));
        for (String dir : System.getenv("PATH").split(":")) {
            candidates.add(Path.of(dir, "bash3.2"));
        }
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    @Test
    void theFastPathWorksOnBash32() throws IOException {
        Optional<Path> bash = bash32();
        assumeTrue(bash.isPresent(), "no bash 3.2 here (set NEONMZ_BASH32); the text check below still runs");
        String version = LauncherRun.runCommand(List.of(bash.get().toString(), "-c", "echo $BASH_VERSION")).strip();
        assertTrue(version.startsWith("3.2."), version);
        Path copy = LauncherRun.copyOfRepo("bash32");   // a fresh key: bash 3.2 computes and writes it
        Path jbang = copy.resolve("jbang");
        String[] args = {"publication", "--bogus", "a b", "it's", "$HOME"};
        LauncherRun.Result miss = LauncherRun.run(List.of(bash.get().toString()), jbang, copy, Map.of(), args);
        assertTrue(miss.miss(), miss.describe());
        LauncherRun.Result hit = LauncherRun.run(List.of(bash.get().toString()), jbang, copy, Map.of(), args);
        assertTrue(hit.hit(), hit.describe());
        LauncherRun.Result bash5 = LauncherRun.run(jbang, copy, Map.of(), args);
        assertTrue(bash5.hit(), "bash 3.2 and bash 5 compute the same key\n" + bash5.describe());
        LauncherRun.Result slow = LauncherRun.run(jbang, copy, Map.of("NEONMZ_NO_FASTPATH", "1"), args);
        assertSameRun(slow, hit);
        assertSameRun(slow, miss);
        // a lib file edited: bash 3.2 follows //SOURCES too
        LauncherRun.edit(copy.resolve("lib/neonmz/OutputOptions.java"), "Machine output: one JSON object on stdout.",
                "Machine output: one JSON object on stdout. EDITED-FOR-BASH32");
        LauncherRun.Result edited = LauncherRun.run(List.of(bash.get().toString()), jbang, copy, Map.of(), "publication", "--help");
        assertTrue(edited.miss() && edited.out().contains("EDITED-FOR-BASH32"), edited.describe());
        // the steps list and the suggestion
        LauncherRun.Result steps = LauncherRun.run(List.of(bash.get().toString()), jbang, copy, Map.of());
        assertEquals(LauncherRun.run(jbang, copy, Map.of()).out(), steps.out());
        LauncherRun.Result typo = LauncherRun.run(List.of(bash.get().toString()), jbang, copy, Map.of(), "doctr");
        assertEquals(2, typo.exit(), typo.describe());
        assertTrue(typo.err().contains("did you mean doctor?"), typo.describe());
    }

    /** Constructs bash 3.2 lacks, anywhere in the launcher's code (comments aside). */
    @Test
    void theLauncherUsesNoBash4Constructs() throws IOException {
        List<String> code = Files.readAllLines(ROOT.resolve("jbang")).stream()
                .filter(l -> !l.stripLeading().startsWith("#")).toList();
        Map<String, String> constructs = new java.util.LinkedHashMap<>();
        constructs.put("(declare|local|typeset)\\s+-[a-zA-Z]*[Ang]", "associative arrays, namerefs, declare -g (bash 4)");
        constructs.put("\\b(mapfile|readarray|coproc)\\b", "mapfile/readarray/coproc (bash 4)");
        constructs.put("\\$\\{[#!]?[A-Za-z_][A-Za-z0-9_]*(\\[[^]]*\\])?(,,?|\\^\\^?)", "case modification ${x,,} ${x^^} (bash 4)");
        constructs.put("\\$\\{[A-Za-z_][A-Za-z0-9_]*(\\[[^]]*\\])?@[QEPAaUuLK]\\}", "${x@Q} (bash 4.4)");
        constructs.put("\\|&|&>>|;;&|;&", "|&, &>>, ;& (bash 4)");
        constructs.put("\\[\\[?\\s+-v\\s", "-v NAME (bash 4.2)");
        constructs.put("\\[-[0-9]+\\]", "negative array subscripts (bash 4.3)");
        constructs.put("\\bwait\\s+-n|globstar|EPOCHREALTIME|EPOCHSECONDS|printf\\s+'%\\(", "bash 4.2+ builtins");
        constructs.put("\\{[A-Za-z_][A-Za-z0-9_]*\\}[<>]", "{fd}> redirections (bash 4.1)");
        constructs.put("BASH_VERSINFO", "a bash version gate");
        List<String> found = new ArrayList<>();
        for (int i = 0; i < code.size(); i++) {
            for (var c : constructs.entrySet()) {
                if (java.util.regex.Pattern.compile(c.getKey()).matcher(code.get(i)).find()) {
                    found.add(c.getValue() + ": " + code.get(i).strip());
                }
            }
        }
        assertEquals(List.of(), found);
        // the checks themselves catch what they are for
        assertTrue(java.util.regex.Pattern.compile("(declare|local|typeset)\\s+-[a-zA-Z]*[Ang]").matcher("  local -A seen=()").find());
        assertTrue(java.util.regex.Pattern.compile("\\b(mapfile|readarray|coproc)\\b").matcher("mapfile -t lines < x").find());
    }

    // ---- the class path check: ':' here, ';' on Windows (Git Bash, MSYS2, Cygwin) -------------------

    /** Runs {@code script} after the launcher's own definitions of the named functions, in bash (and bash 3.2). */
    static List<String> withLauncherFunctions(List<String> functions, String script) throws IOException {
        String text = Files.readString(ROOT.resolve("jbang"));
        StringBuilder defs = new StringBuilder();
        for (String f : functions) {
            int start = text.indexOf("\n" + f + "() {\n");
            assertTrue(start >= 0, "no function " + f + " in ./jbang");
            int end = text.indexOf("\n}\n", start);
            defs.append(text, start + 1, end + 3);
        }
        List<String> outputs = new ArrayList<>();
        List<String> shells = new ArrayList<>(List.of("bash"));
        bash32().ifPresent(b -> shells.add(b.toString()));
        for (String shell : shells) {
            outputs.add(LauncherRun.runCommand(List.of(shell, "-c", defs + script)));
        }
        return outputs;
    }

    @Test
    void classPathsSplitOnColonOrOnWindowsSemicolons() throws IOException {
        String show = "split_classpath \"$1\"; printf '[%s]' \"${cp_entries[@]}\"; echo";
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("/a/x.jar:/b c/y.jar", "[/a/x.jar][/b c/y.jar]");
        cases.put("C:\\Users\\me\\.m2\\x.jar;C:\\Program Files\\y.jar", "[C:\\Users\\me\\.m2\\x.jar][C:\\Program Files\\y.jar]");
        cases.put("C:/Users/me/x.jar;D:/y.jar", "[C:/Users/me/x.jar][D:/y.jar]");
        cases.put("C:\\x.jar", "[C:\\x.jar]");
        cases.put("/c/Users/me/x.jar:/c/y.jar", "[/c/Users/me/x.jar][/c/y.jar]");
        cases.put("/lib/*:/a::/b", "[/lib/*][/a][/b]");
        for (var c : cases.entrySet()) {
            String script = "set -- '" + c.getKey().replace("'", "'\\''") + "'; " + show;
            for (String out : withLauncherFunctions(List.of("split_classpath"), script)) {
                assertEquals(c.getValue(), out.strip(), c.getKey());
            }
        }
        // the whole check on a ';'-separated class path of real files, and of one that is gone
        Path a = LauncherRun.scratchDir("cp").resolve("a b.jar");
        Files.writeString(a, "");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String ok = "fastpath_parse \"'" + java + "' -classpath '" + a + ";" + a.getParent() + "' Main\" && echo ok || echo gone";
        String gone = "fastpath_parse \"'" + java + "' -classpath '" + a + ";" + a.getParent().resolve("none.jar") + "' Main\" && echo ok || echo gone";
        for (String out : withLauncherFunctions(List.of("split_classpath", "fastpath_parse"), ok)) {
            assertEquals("ok", out.strip());
        }
        for (String out : withLauncherFunctions(List.of("split_classpath", "fastpath_parse"), gone)) {
            assertEquals("gone", out.strip());
        }
    }

    // ---- no arguments, and a misspelt alias ----------------------------------------------------

    @Test
    void noArgumentsListsTheStepsInTheCatalogsOrder() throws IOException {
        LauncherRun.Result r = LauncherRun.jbang();
        assertEquals(0, r.exit(), r.describe());
        String catalog = Files.readString(ROOT.resolve("jbang-catalog.json"));
        var aliases = com.google.gson.JsonParser.parseString(catalog).getAsJsonObject().getAsJsonObject("aliases");
        List<String> names = new ArrayList<>(aliases.keySet());
        List<String> listed = r.out().lines().filter(l -> l.startsWith("  ") && !l.startsWith("   "))
                .map(l -> l.strip().split("\\s+")[0]).toList();
        assertEquals(names, listed, r.out());
        // each description in full, wrapped but not cut
        String flat = r.out().replaceAll("\\s+", " ");
        for (String n : names) {
            String d = aliases.getAsJsonObject(n).get("description").getAsString();
            assertTrue(flat.contains(n + " " + d.replaceAll("\\s+", " ")), n + ": " + d);
        }
        assertTrue(r.out().contains("./jbang <step> --help") && r.out().contains("./jbang --help"), r.out());
        assertTrue(r.out().lines().allMatch(l -> l.length() <= 100), "wrapped at 100 columns");
        assertTrue(r.trace().stream().noneMatch(l -> l.startsWith("fastpath")), "no JBang involved");
    }

    @Test
    void aMisspeltAliasGetsDidYouMean() throws IOException {
        LauncherRun.Result r = LauncherRun.jbang("doctr", "--help");
        assertEquals(2, r.exit(), r.describe());
        assertEquals("", r.out());
        assertTrue(r.err().contains("no step \"doctr\"; did you mean doctor?"), r.describe());
        assertFalse(r.err().contains("could not be found"), r.describe());
        LauncherRun.Result two = LauncherRun.jbang("conection");
        assertTrue(two.err().contains("did you mean connection?"), two.describe());
        LauncherRun.Result prefix = LauncherRun.jbang("replica");
        assertTrue(prefix.err().contains("did you mean replica-identity or replication-role?"), prefix.describe());
        // from another folder too (the repo's catalog is the one suggested from)
        LauncherRun.Result away = LauncherRun.run(ROOT.resolve("jbang"), outsideTheRepo("typo"), Map.of(), "publicaton");
        assertEquals(2, away.exit(), away.describe());
        assertTrue(away.err().contains("did you mean publication?"), away.describe());
        // JBang's own commands and names nothing resembles still reach JBang
        LauncherRun.Result jbangCmd = LauncherRun.jbang("version");
        assertEquals(0, jbangCmd.exit(), jbangCmd.describe());
        LauncherRun.Result unknown = LauncherRun.jbang("zzzqqq");
        assertNotEquals(0, unknown.exit());
        assertTrue(unknown.err().contains("could not be found"), unknown.describe());
    }

    static Map<String, String> mapWithNull(String key, String value, String removed) {
        Map<String, String> m = new java.util.HashMap<>();
        m.put(key, value);
        m.put(removed, null);
        return m;
    }
}
