import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The README's one-liners without a fork of ours ("Without cloning: JBang one-liners"), run as written with a
 * plain JBang: the real jbang-cli jar behind JBang's own launcher protocol, not this repo's ./jbang (which sets
 * NEONMZ_ROOT and resolves aliases itself). Each run gets a fresh JBANG_DIR and user.home, so the user's JBang
 * settings and shell files are never touched. Also: why `jbang doctor@file:///…` fails, shown on JBang itself,
 * and ./jbang's answer to `app setup` / `app install` when no JBang is installed.
 */
@Tag("jbang")
class OneLinerTest {
    static final Path ROOT = LauncherRun.ROOT;
    private static Path plain;

    /** A `jbang` that is JBang itself: jbang-cli (as ./jbang fetched it) and the launcher protocol of JBang's script. */
    static synchronized Path plainJbang() throws Exception {
        if (plain != null) {
            return plain;
        }
        LauncherRun.Result v = LauncherRun.jbang("version");   // the pinned jbang-cli, fetched once
        assertEquals(0, v.exit(), v.describe());
        Path lib = LauncherRun.CACHE.resolve("jbang-" + LauncherRun.JBANG_VERSION).resolve("lib");
        assertTrue(Files.isRegularFile(lib.resolve("jbang-cli-" + LauncherRun.JBANG_VERSION + ".jar")), lib.toString());
        Path bin = Files.createDirectories(LauncherRun.scratchDir("plain-jbang").resolve("bin"));
        Path plainJbang = bin.resolve("jbang");
        Files.writeString(plainJbang, String.join("\n",
                "#!/usr/bin/env bash",
                "# JBang's launcher protocol, as JBang's own bash script speaks it: exit 255 means 'run this command'",
                "export JBANG_RUNTIME_SHELL=bash JBANG_STDIN_NOTTY=true JBANG_LAUNCH_CMD=jbang",
                "out=$(" + neonmz.Out.shellQuote(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                        + " ${JBANG_JAVA_OPTIONS:-} -classpath " + neonmz.Out.shellQuote(lib + "/*") + " dev.jbang.Main \"$@\")",
                "rc=$?",
                "if [ $rc -eq 255 ]; then eval \"exec $out\"; fi",
                "[ -z \"$out\" ] || printf '%s\\n' \"$out\"",
                "exit $rc", ""));
        assertTrue(plainJbang.toFile().setExecutable(true));
        plain = plainJbang;
        return plain;
    }

    /** A fresh JBang home and user home; the jars from the user's Maven repository (no network here). */
    static Map<String, String> freshJBang(Path home) throws Exception {
        Files.createDirectories(home);
        Map<String, String> env = new HashMap<>();
        env.put("JBANG_DIR", home.resolve(".jbang").toString());
        env.put("JBANG_REPO", Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        env.put("JBANG_JAVA_OPTIONS", "-Duser.home=" + home);   // JBang edits shell files under user.home
        env.put("HOME", home.toString());
        env.put("PATH", pathWithoutJbang());
        return env;
    }

    /** The PATH of this JVM without any folder that holds a jbang (none is installed on the test machines). */
    static String pathWithoutJbang() {
        return List.of(System.getenv("PATH").split(File.pathSeparator)).stream()
                .filter(d -> !d.isEmpty() && !Files.exists(Path.of(d, "jbang"))).collect(Collectors.joining(File.pathSeparator));
    }

    /** A folder outside the toolkit (a script looks for its checkout from the working directory up). */
    static Path outside() throws Exception {
        return Files.createTempDirectory("neonmz-oneliner-");
    }

    /** A folder outside the toolkit that is a git repository of its own, with a commit: its HEAD must never show. */
    static Path otherRepository() throws Exception {
        Path dir = outside();
        for (List<String> cmd : List.of(List.of("git", "init", "-q"),
                List.of("git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"))) {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), cmd + ": " + out);
        }
        return dir;
    }

    /** The README's one-liners of a form: the backticked `jbang …` commands in the row that starts with it. */
    static List<List<String>> readmeCommands(String rowStart) throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String row = readme.lines().filter(l -> l.startsWith("| `" + rowStart)).findFirst()
                .orElseThrow(() -> new AssertionError("no README row for " + rowStart));
        String form = row.substring(1, row.indexOf(" | ", 1));
        List<List<String>> out = new ArrayList<>();
        Matcher m = Pattern.compile("`(jbang [^`]+)`").matcher(form);
        while (m.find()) {
            List<String> words = new ArrayList<>(List.of(m.group(1).replace("/path/to/neonmz/", ROOT + "/").split(" ")));
            words.remove(0);
            out.add(words);
        }
        assertFalse(out.isEmpty(), row);
        return out;
    }

    static String versionLine(String head) {
        return "doctor " + neonmz.Cli.VERSION + " (neonmz toolkit, commit " + head + ")\n";
    }

    @Test
    void theLocalCatalogPathFormRunsAsTheReadmeWritesIt() throws Exception {
        List<List<String>> commands = readmeCommands("jbang doctor@/path/to/neonmz/jbang-catalog.json");
        assertEquals(List.of(List.of("doctor@" + ROOT + "/jbang-catalog.json")), commands);
        Path cwd = otherRepository();
        Map<String, String> env = freshJBang(LauncherRun.scratchDir("home-path"));
        List<String> args = new ArrayList<>(commands.get(0));
        args.add("--version");
        LauncherRun.Result r = LauncherRun.run(plainJbang(), cwd, env, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.describe());
        // run from a URL or a catalog path, a script cannot know its checkout (jbangdev/jbang#2642): unknown, and
        // not the HEAD of the repository the user stands in
        assertEquals(versionLine("unknown"), r.out(), r.describe());
        args.set(1, "--help");
        LauncherRun.Result help = LauncherRun.run(plainJbang(), cwd, env, args.toArray(String[]::new));
        assertEquals(0, help.exit(), help.describe());
        assertTrue(help.out().contains("Usage: doctor"), help.describe());
    }

    @Test
    void catalogAddThenAliasAtNameRunsWithAFreshJBangHome() throws Exception {
        List<List<String>> commands = readmeCommands("jbang catalog add --global --name neonmz");
        assertEquals(List.of(List.of("catalog", "add", "--global", "--name", "neonmz", ROOT + "/jbang-catalog.json"),
                List.of("doctor@neonmz")), commands);
        Path home = LauncherRun.scratchDir("home-catalog-add");
        Map<String, String> env = freshJBang(home);
        Path cwd = otherRepository();
        LauncherRun.Result add = LauncherRun.run(plainJbang(), cwd, env, commands.get(0).toArray(String[]::new));
        assertEquals(0, add.exit(), add.describe());
        String userCatalog = Files.readString(home.resolve(".jbang/jbang-catalog.json"));
        assertTrue(userCatalog.contains("\"neonmz\"") && userCatalog.contains(ROOT + "/jbang-catalog.json"), userCatalog);
        List<String> args = new ArrayList<>(commands.get(1));
        args.add("--version");
        LauncherRun.Result r = LauncherRun.run(plainJbang(), cwd, env, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.describe());
        assertEquals(versionLine("unknown"), r.out(), r.describe());
        // the user's own JBang home was not written: a fresh one held the catalog
        assertFalse(Files.readString(home.resolve(".jbang/jbang-catalog.json")).isEmpty());
    }

    /**
     * JBang caches a file: URL's catalog and takes "file:///path/to" (the URL's folder) as the base, which it then
     * reads as the relative path "file:/path/to" under the cached copy's folder: a symlink named "file:" to / in that
     * folder makes the same command run. If a JBang release fixes this, the first half fails: update the README.
     */
    @Test
    void aFileUrlCatalogFailsBecauseJBangLooksNextToItsCachedCopy() throws Exception {
        Map<String, String> env = freshJBang(LauncherRun.scratchDir("home-file-url"));
        Path cwd = outside();
        String[] args = {"doctor@file://" + ROOT + "/jbang-catalog.json", "--version"};
        LauncherRun.Result r = LauncherRun.run(plainJbang(), cwd, env, args);
        assertNotEquals(0, r.exit(), r.describe());
        Matcher m = Pattern.compile("\\((\\S+/cache/urls/[0-9a-f]+)/jbang-catalog\\.json\\) failed to resolve scripts/Doctor\\.java")
                .matcher(r.err());
        assertTrue(m.find(), r.describe());
        Path cached = Path.of(m.group(1));
        assertTrue(cached.startsWith(Path.of(env.get("JBANG_DIR"))), "the copy in JBang's URL cache: " + cached);
        assertEquals(Files.readString(ROOT.resolve("jbang-catalog.json")), Files.readString(cached.resolve("jbang-catalog.json")));

        Files.createSymbolicLink(cached.resolve("file:"), Path.of("/"));
        LauncherRun.Result through = LauncherRun.run(plainJbang(), cwd, env, args);
        assertEquals(0, through.exit(), "JBang looked for " + cached + "/file:" + ROOT + "/scripts/Doctor.java\n" + through.describe());
        assertEquals(versionLine("unknown"), through.out());
    }

    /**
     * The GitHub forms, on JBang itself with every request refused (a proxy on a port where nothing listens, so no
     * network is needed or used): the URLs it tries for alias@org/repo[/ref], read from its --verbose log. A ref with
     * a dot (v0.1.0) is first tried as a host name (https://org/repo/ref/…, which fails for a GitHub org name).
     */
    @Test
    void theGitHubFormsReadTheCatalogAtTheRepositoryRootAtThatRef() throws Exception {
        Map<String, String> env = freshJBang(LauncherRun.scratchDir("home-github"));
        int closed = TestPg.freePort();
        env.put("JBANG_JAVA_OPTIONS", env.get("JBANG_JAVA_OPTIONS") + " -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=" + closed
                + " -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=" + closed);
        Path cwd = outside();
        for (String[] c : List.of(new String[] {"our-org/neonmz", "HEAD"}, new String[] {"our-org/neonmz/v0.1.0", "v0.1.0"},
                new String[] {"our-org/neonmz/release/0.1", "release/0.1"})) {
            LauncherRun.Result r = LauncherRun.run(plainJbang(), cwd, env, "--verbose", "doctor@" + c[0], "--version");
            assertNotEquals(0, r.exit(), r.describe());
            List<String> tried = new ArrayList<>();
            Matcher m = Pattern.compile("No catalog found at (\\S+)").matcher(r.err());
            while (m.find()) {
                tried.add(m.group(1));
            }
            List<String> want = new ArrayList<>();
            if (c[0].contains(".")) {
                want.add("https://" + c[0]);
            }
            want.addAll(List.of("https://github.com/our-org/neonmz/blob/" + c[1] + "/jbang-catalog.json",
                    "https://gitlab.com/our-org/neonmz/-/blob/" + c[1] + "/jbang-catalog.json",
                    "https://bitbucket.org/our-org/neonmz/src/" + c[1] + "/jbang-catalog.json"));
            // (JBang 0.132.1 goes through the list twice before it gives up: the order is what counts)
            assertEquals(want, tried.stream().distinct().toList(), c[0] + "\n" + r.describe());
            assertTrue(r.err().contains("Requesting HTTP GET https://raw.githubusercontent.com/our-org/neonmz/" + c[1]
                    + "/jbang-catalog.json"), "GitHub's file fetched raw\n" + r.describe());
        }
    }

    /**
     * The catalog and the scripts from a URL, as the GitHub form fetches them once it has the catalog: a local HTTP
     * server answers /REF/PATH with `git show REF:PATH` of this repository (GitHub's raw files at a ref, in
     * miniature). doctor runs, every file JBang asked for came from that ref, and --version says what it can.
     */
    @Test
    void fromAUrlTheScriptAndItsLibFilesComeFromTheCatalogsRef() throws Exception {
        String ref = VersionTest.git(ROOT, "rev-parse", "HEAD");
        List<String> served = java.util.Collections.synchronizedList(new ArrayList<>());
        com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath().substring(1);
            byte[] body = null;
            int slash = path.indexOf('/');
            if (slash > 0) {
                Process p = new ProcessBuilder("git", "show", path.substring(0, slash) + ":" + path.substring(slash + 1))
                        .directory(ROOT.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                byte[] out = p.getInputStream().readAllBytes();
                try {
                    body = p.waitFor() == 0 ? out : null;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            served.add((body == null ? "404 " : "200 ") + path);
            ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        http.start();
        try {
            Map<String, String> env = freshJBang(LauncherRun.scratchDir("home-url"));
            String catalog = "http://127.0.0.1:" + http.getAddress().getPort() + "/" + ref + "/jbang-catalog.json";
            LauncherRun.Result r = LauncherRun.run(plainJbang(), outside(), env, "doctor@" + catalog, "--version");
            assertEquals(0, r.exit(), r.describe() + "\n" + served);
            assertEquals(versionLine("unknown"), r.out(), r.describe());
            List<String> sources = new ArrayList<>(List.of("200 " + ref + "/jbang-catalog.json", "200 " + ref + "/scripts/Doctor.java"));
            Matcher m = Pattern.compile("(?m)^//SOURCES \\.\\./(\\S+)$").matcher(Files.readString(ROOT.resolve("scripts/Doctor.java")));
            while (m.find()) {
                sources.add("200 " + ref + "/" + m.group(1));
            }
            assertEquals(sources.stream().sorted().toList(), served.stream().sorted().toList(), "each file once, from the ref");
        } finally {
            http.stop(0);
        }
    }

    /** What JBang's app setup does with a jbang-cli fetched by Maven: "completed", shell files edited, no jbang. */
    @Test
    void appSetupOfAMavenFetchedJBangInstallsNoJbang() throws Exception {
        Path home = LauncherRun.scratchDir("home-app-setup-plain");
        LauncherRun.Result r = LauncherRun.run(plainJbang(), home, freshJBang(home), "app", "setup");
        assertEquals(0, r.exit(), r.describe());
        assertTrue(r.err().contains("JBang environment setup completed"), r.describe());
        assertTrue(Files.readString(home.resolve(".bashrc")).contains("/.jbang/bin"), "PATH set up in .bashrc");
        try (var files = Files.list(home.resolve(".jbang/bin"))) {
            assertEquals(List.of(), files.toList(), "and the folder put on the PATH holds no jbang");
        }
    }

    @Test
    void launcherSaysPlainlyWhatToDoInsteadOfAppSetupAndChangesNothing() throws Exception {
        for (String[] args : List.of(new String[] {"app", "setup"}, new String[] {"app", "install", "doctor"},
                new String[] {"--verbose", "app", "setup", "--force"})) {
            Path home = LauncherRun.scratchDir("home-app-setup");
            LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), home, freshJBang(home), args);
            assertEquals(1, r.exit(), r.describe());
            assertTrue(r.err().contains("changes nothing here: no JBang is installed"), r.describe());
            assertTrue(r.err().contains("run the aliases from any folder with this launcher: " + ROOT.resolve("jbang") + " <alias>"),
                    r.describe());
            for (String line : installCommands()) {
                assertTrue(r.err().contains(line), "the README's install line " + line + "\n" + r.describe());
            }
            try (var files = Files.list(home)) {
                assertEquals(List.of(), files.toList(), String.join(" ", args) + ": nothing written (no .bashrc, no .jbang/bin)");
            }
        }
        // with a JBang installed (the plain one on the PATH) the launcher lets JBang do it
        Path home = LauncherRun.scratchDir("home-app-setup-installed");
        Map<String, String> env = freshJBang(home);
        env.put("PATH", plainJbang().getParent() + File.pathSeparator + env.get("PATH"));
        LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), home, env, "app", "setup");
        assertEquals(0, r.exit(), r.describe());
        assertFalse(r.err().contains("changes nothing here"), r.describe());
        assertTrue(Files.exists(home.resolve(".bashrc")), r.describe());
    }

    /** The install commands of the README's block (AdaptFiles.INSTALL_JBANG, which the README holds verbatim). */
    static List<String> installCommands() {
        return AdaptFiles.INSTALL_JBANG.lines().filter(l -> !l.isBlank() && !l.startsWith("#") && !l.startsWith("```")
                && !l.startsWith("Installing JBang")).toList();
    }

    @Test
    void theReadmeAndAnEjectedCopyShowTheSameInstallLines() throws Exception {
        assertTrue(Files.readString(ROOT.resolve("README.md")).contains(AdaptFiles.INSTALL_JBANG), "README.md holds the block");
        List<String> commands = installCommands();
        assertEquals(List.of("curl -Ls https://sh.jbang.dev | bash -s - app setup", "sdk install jbang",
                "brew install jbangdev/tap/jbang", "iex \"& { $(iwr -useb https://ps.jbang.dev) } app setup\"",
                "choco install jbang", "scoop bucket add jbangdev https://github.com/jbangdev/scoop-bucket",
                "scoop install jbang"), commands, "JBang's installation guide's lines");
        String launcher = Files.readString(ROOT.resolve("jbang"));
        for (String c : commands) {
            assertTrue(launcher.contains(c.replace("\"", "\\\"").replace("$(", "\\$(")), "the launcher's message: " + c);
        }
    }
}
