import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Test support: runs the real {@code ./jbang} launcher as a subprocess, as a user would, with the bundled
 * jbang-cli forced (an installed jbang on the developer's PATH must not change the results), NO_COLOR=1,
 * no standard input, and one JBang home and launcher cache under target/ shared by every test in the JVM
 * (the first jbang-cli fetch and the first compile of each script are slow; later runs reuse them).
 */
public final class LauncherRun {
    public static final Path ROOT = Path.of(System.getProperty("repo.root", System.getProperty("user.dir")))
            .toAbsolutePath().normalize();
    public static final Path TARGET = ROOT.resolve("target");
    /** JBang's home (JBANG_DIR) for all tests. */
    public static final Path JBANG_DIR = TARGET.resolve("jbang-home");
    /** The launcher's cache (NEONMZ_CACHE) for all tests: jbang-cli jars and the fast path's entries. */
    public static final Path CACHE = TARGET.resolve("neonmz-cache");
    public static final String JBANG_VERSION = System.getProperty("jbang.version");

    private static final AtomicInteger RUNS = new AtomicInteger();
    private static Path scratch;

    private LauncherRun() {}

    /** What one run printed. {@code trace} holds the launcher's own NEONMZ_LAUNCHER_TRACE lines. */
    public record Result(int exit, String out, String err, List<String> trace) {
        /** stderr without the launcher's trace and JBang's progress lines (those differ by design). */
        public String errWithoutLauncher() {
            return err.lines()
                    .filter(l -> !l.startsWith("neonmz-launcher: ") && !l.startsWith("jbang launcher: ")
                            && !l.startsWith("[jbang] "))
                    .collect(Collectors.joining("\n"));
        }

        public boolean hit() {
            return trace.stream().anyMatch(l -> l.startsWith("fastpath hit "));
        }

        public boolean miss() {
            return trace.stream().anyMatch(l -> l.startsWith("fastpath miss "));
        }

        public boolean fastPathOff() {
            return trace.stream().anyMatch(l -> l.startsWith("fastpath off"));
        }

        public String describe() {
            return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    /** The environment every run starts from: the test JVM's, less JBANG_* and NEONMZ_* settings. */
    public static Map<String, String> baseEnv() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("JBANG_") || k.startsWith("NEONMZ_"));
        env.put("NEONMZ_JBANG_FORCE_BUNDLED", "1");
        env.put("NEONMZ_LAUNCHER_TRACE", "1");
        env.put("NEONMZ_CACHE", CACHE.toString());
        env.put("JBANG_DIR", JBANG_DIR.toString());
        env.put("JBANG_NO_VERSION_CHECK", "true");
        env.put("NO_COLOR", "1");
        env.put("TZ", "UTC");
        // no class-data archives (about 2 s and 14 MB per script on a miss, a minute over the suite); the launcher
        // test of archives turns them back on
        env.put("NEONMZ_NO_CDS", "1");
        return env;
    }

    /** {@code ./jbang args...} in the repo root. */
    public static Result jbang(String... args) {
        return run(ROOT.resolve("jbang"), ROOT, Map.of(), args);
    }

    /** Runs a launcher (this repo's or a copy's) in {@code cwd}; {@code env} entries with a null value are removed. */
    public static Result run(Path launcher, Path cwd, Map<String, String> env, String... args) {
        return run(List.of(), launcher, cwd, env, null, args);
    }

    /** As {@link #run(Path, Path, Map, String...)}, with {@code stdin} (null: none) as standard input. */
    public static Result runWithStdin(Path launcher, Path cwd, Map<String, String> env, String stdin, String... args) {
        return run(List.of(), launcher, cwd, env, stdin, args);
    }

    /** As {@link #run(Path, Path, Map, String...)}, the launcher run through {@code wrapper} (e.g. unshare -n). */
    public static Result run(List<String> wrapper, Path launcher, Path cwd, Map<String, String> env, String... args) {
        return run(wrapper, launcher, cwd, env, null, args);
    }

    private static Result run(List<String> wrapper, Path launcher, Path cwd, Map<String, String> env, String stdin,
                              String... args) {
        Map<String, String> full = baseEnv();
        env.forEach((k, v) -> {
            if (v == null) {
                full.remove(k);
            } else {
                full.put(k, v);
            }
        });
        List<String> command = new ArrayList<>(wrapper);
        command.add(launcher.toString());
        command.addAll(List.of(args));
        try {
            Path logs = Files.createDirectories(scratchRoot().resolve("runs"));
            int n = RUNS.incrementAndGet();
            Path out = logs.resolve(ProcessHandle.current().pid() + "-" + n + ".out");
            Path err = logs.resolve(ProcessHandle.current().pid() + "-" + n + ".err");
            Path in = Path.of("/dev/null");
            if (stdin != null) {
                in = logs.resolve(ProcessHandle.current().pid() + "-" + n + ".in");
                Files.writeString(in, stdin, StandardCharsets.UTF_8);
            }
            ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(in.toFile()))
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().clear();
            pb.environment().putAll(full);
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            List<String> trace = stderr.lines().filter(l -> l.startsWith("neonmz-launcher: "))
                    .map(l -> l.substring("neonmz-launcher: ".length())).toList();
            return new Result(p.exitValue(), stdout, stderr, trace);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs a command (not the launcher) with the test JVM's environment; returns its stdout, failing on a nonzero exit. */
    public static String runCommand(List<String> command) {
        try {
            Path logs = Files.createDirectories(scratchRoot().resolve("runs"));
            Path out = logs.resolve(ProcessHandle.current().pid() + "-cmd-" + RUNS.incrementAndGet() + ".out");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("exit " + p.exitValue() + ": " + command + "\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * A new directory under target/launcher-scratch/, which is emptied once per test JVM (repo copies,
     * fresh caches and fake JDKs do not pile up across runs).
     */
    public static Path scratchDir(String name) {
        try {
            return Files.createTempDirectory(scratchRoot(), name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static synchronized Path scratchRoot() throws IOException {
        if (scratch == null) {
            Path dir = TARGET.resolve("launcher-scratch");
            deleteTree(dir);
            scratch = Files.createDirectories(dir);
        }
        return scratch;
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /**
     * A copy of what the launcher needs (launcher, pom.xml, catalog, scripts/, lib/) in a new directory
     * under target/, so a test can edit files without touching the repo.
     */
    public static Path copyOfRepo(String name) {
        try {
            Path dir = scratchDir(name);
            for (String f : List.of("jbang", "pom.xml", "jbang-catalog.json")) {
                Files.copy(ROOT.resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
            for (String d : List.of("scripts", "lib")) {
                try (var paths = Files.walk(ROOT.resolve(d))) {
                    for (Path p : (Iterable<Path>) paths::iterator) {
                        Path to = dir.resolve(ROOT.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(to);
                        } else {
                            Files.copy(p, to);
                        }
                    }
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces the only occurrence of {@code from} in a file. */
    public static void edit(Path file, String from, String to) {
        try {
            String text = Files.readString(file);
            int i = text.indexOf(from);
            if (i < 0 || text.indexOf(from, i + 1) >= 0) {
                throw new IllegalArgumentException("not exactly one '" + from + "' in " + file);
            }
            Files.writeString(file, text.replace(from, to));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
