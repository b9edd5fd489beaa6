///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS com.google.code.gson:gson:2.13.2
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/TextDiff.java
//DESCRIPTION Copy steps into your own repo as self-contained runbooks (the scripts, only the lib files they need, a catalog); --update later.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Cli;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Out;
import neonmz.OutputOptions;
import neonmz.TextDiff;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Copy-and-adapt: writes a runnable copy of the chosen steps into a folder of your own, flat: each script
 * (its class renamed with --name), the lib files it needs (the //SOURCES closure, nothing else) under
 * lib/neonmz/, //SOURCES rewritten to that layout, a jbang-catalog.json with their aliases, a README of what
 * came from which commit, and .neonmz-adapt.json (what was written, for --update). --update re-copies the
 * lib and takes upstream changes into step files you have not edited; for those you have, it shows the diff
 * and leaves your file alone. Nothing existing is overwritten without --force; --dry-run writes nothing.
 */
@Command(name = "adapt", mixinStandardHelpOptions = true,
        description = {"Copy steps out as self-contained scripts you own: ALIAS… into --to DIR with only the lib "
                + "files they need, a catalog and a README; run them there with jbang <alias> (or ./jbang with "
                + "--with-launcher). --update brings later toolkit changes in without overwriting your edits."},
        footer = {"%nExamples:",
                "  ./jbang adapt replica-identity publication grants --to ~/src/ops/neon-cdc",
                "  ./jbang adapt publication --name ShopPublication --to ~/src/ops/neon-cdc --with-launcher",
                "  ./jbang adapt --update --to ~/src/ops/neon-cdc      # from a newer clone of the toolkit",
                "  ./jbang adapt tap --to /tmp/x --dry-run            # what would be written"})
public class Adapt implements Callable<Integer>, Cli.OwnHelp {
    static final String MANIFEST = ".neonmz-adapt.json";
    static final Pattern SOURCES = Pattern.compile("(?m)^//SOURCES\\s+(\\S+)\\s*$");


    @Mixin OutputOptions out;

    @Parameters(paramLabel = "ALIAS", arity = "0..*", description = "Aliases to copy (from jbang-catalog.json); with "
            + "--update, default: those copied before.")
    List<String> aliases = new ArrayList<>();

    @Option(names = "--to", paramLabel = "DIR", description = "Where the copy goes (default ${DEFAULT-VALUE}).")
    Path to = Path.of("neonmz-runbooks");

    @Option(names = "--name", paramLabel = "CLASS", description = "New class (and file) name for the one step copied.")
    String name;

    @Option(names = "--update", description = "Re-copy the lib, the catalog and the README; step files you have not "
            + "edited take the new version, edited ones get a diff.")
    boolean update;

    @Option(names = "--force", description = "Overwrite files that exist and differ (your edits are lost).")
    boolean force;

    @Option(names = "--with-launcher", description = "Copy the ./jbang launcher too (it fetches JBang itself).")
    boolean withLauncher;

    @Option(names = "--from", paramLabel = "DIR", description = "The toolkit to copy from (default: $NEONMZ_ROOT, "
            + "which ./jbang sets, else the folder above the current one that holds jbang-catalog.json and lib/neonmz).")
    Path from;

    public static void main(String... args) {
        Cli.main(new Adapt(), args);
    }

    /** It writes files and touches no database: no SQL, no server, nothing to confirm. */
    @Override
    public Map<Integer, String> exitCodes() {
        return Map.of(Exit.NOT_FOUND, "no toolkit to copy from (--from), or --to DIR was not made by adapt (--update)",
                Exit.CONFLICT, "files in --to DIR exist and differ; nothing was written (--force overwrites)");
    }

    @Override
    public Map<String, String> optionHelp() {
        return Map.of("--json", "Machine output: one JSON object on stdout (the files and what was done to each).",
                "--dry-run", "Show each file it would write and how (create, unchanged, update, conflict…); write nothing.",
                "--verbose", "A stack trace on a bug.",
                "--yes", "");
    }

    /** One file of the copy: where it goes, what it holds, and whether it is a step the user edits. */
    record Planned(String path, String text, boolean step, boolean executable) {}

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Path root = toolkit();
        JsonObject catalog = JsonParser.parseString(Files.readString(root.resolve("jbang-catalog.json"))).getAsJsonObject()
                .getAsJsonObject("aliases");
        JsonObject manifest = readManifest();
        if (update && aliases.isEmpty()) {
            manifest.getAsJsonArray("aliases").forEach(a -> aliases.add(a.getAsString()));
            if (name == null && manifest.has("name") && !manifest.get("name").isJsonNull()) {
                name = manifest.get("name").getAsString();
            }
            withLauncher |= manifest.has("launcher") && manifest.get("launcher").getAsBoolean();
        }
        validate(catalog);

        String commit = AdaptFiles.commit(root);
        List<Planned> plan = plan(root, catalog, commit);
        o.put("from", root.toString());
        o.put("commit", commit);
        o.put("to", to.toString());
        o.put("aliases", aliases);
        return write(o, plan, manifest, commit);
    }

    // ---- what to copy -----------------------------------------------------------------------------------

    private void validate(JsonObject catalog) {
        if (aliases.isEmpty()) {
            throw Fail.usage("name the steps to copy", "e.g. ./jbang adapt replica-identity publication grants --to DIR; "
                    + "the aliases: " + String.join(", ", catalog.keySet()));
        }
        for (String a : aliases) {
            if (!catalog.has(a)) {
                throw Fail.usage("no alias " + a + " in jbang-catalog.json", "choose among: " + String.join(", ", catalog.keySet()));
            }
        }
        if (name != null && (aliases.size() != 1 || !name.matches("[A-Z][A-Za-z0-9_]*"))) {
            throw Fail.usage("--name takes a Java class name (e.g. ShopPublication) and exactly one alias",
                    "copy one step with --name, the others without it");
        }
    }

    /** The scripts of the aliases, the scripts and lib files they source (transitively), as the copy lays them out. */
    List<Planned> plan(Path root, JsonObject catalog, String commit) throws IOException {
        Set<Path> scripts = new LinkedHashSet<>();
        Set<Path> lib = new java.util.TreeSet<>();
        List<Path> todo = new ArrayList<>();
        for (String a : aliases) {
            todo.add(root.resolve(catalog.getAsJsonObject(a).get("script-ref").getAsString()).normalize());
        }
        while (!todo.isEmpty()) {
            Path f = todo.remove(0);
            boolean isLib = f.startsWith(root.resolve("lib"));
            if (!(isLib ? lib.add(f) : scripts.add(f))) {
                continue;
            }
            Matcher m = SOURCES.matcher(Files.readString(f, StandardCharsets.UTF_8));
            while (m.find()) {
                todo.add(f.getParent().resolve(m.group(1)).normalize());
            }
        }
        String renamedFrom = name == null ? null : AdaptFiles.className(scripts.iterator().next());
        // a script's file in the copy: its own name, or --name for the one renamed
        java.util.function.Function<Path, String> copyName = s -> renamedFrom != null
                && AdaptFiles.className(s).equals(renamedFrom) ? name + ".java" : s.getFileName().toString();
        List<Planned> out = new ArrayList<>();
        for (Path s : scripts) {
            String text = Files.readString(s, StandardCharsets.UTF_8).replaceAll("(?m)^//SOURCES \\.\\./lib/", "//SOURCES lib/");
            if (renamedFrom != null) {
                text = AdaptFiles.rename(text, renamedFrom, name);
            }
            out.add(new Planned(copyName.apply(s), text, true, false));
        }
        for (Path l : lib) {
            String rel = root.relativize(l).toString().replace('\\', '/');
            String text = Files.readString(l, StandardCharsets.UTF_8);
            out.add(new Planned(rel, rel.equals("lib/neonmz/Cli.java") ? AdaptFiles.copiedFrom(text, commit) : text, false, false));
        }
        Map<String, String> files = new LinkedHashMap<>();    // alias → its script in the copy
        for (String a : aliases) {
            files.put(a, copyName.apply(Path.of(catalog.getAsJsonObject(a).get("script-ref").getAsString())));
        }
        out.add(new Planned("jbang-catalog.json", catalog(catalog, files), false, false));
        out.add(new Planned("README.md", readme(commit, files), false, false));
        if (withLauncher) {
            out.add(new Planned("jbang", Files.readString(root.resolve("jbang"), StandardCharsets.UTF_8), false, true));
            out.add(new Planned(".jbang-version", AdaptFiles.jbangVersion(root) + "\n", false, false));
        }
        return out;
    }

    private String catalog(JsonObject catalog, Map<String, String> files) {
        JsonObject aliasesOut = new JsonObject();
        for (String a : aliases) {
            JsonObject entry = new JsonObject();
            entry.addProperty("script-ref", files.get(a));
            entry.addProperty("description", catalog.getAsJsonObject(a).get("description").getAsString());
            aliasesOut.add(a, entry);
        }
        JsonObject doc = new JsonObject();
        doc.addProperty("description", "Steps copied from the Neon to Materialize toolkit with ./jbang adapt (see README.md).");
        doc.add("aliases", aliasesOut);
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(doc) + "\n";
    }

    private String readme(String commit, Map<String, String> files) {
        StringBuilder b = new StringBuilder("# Runbooks copied from the Neon → Materialize toolkit\n\n");
        b.append("Copied with `./jbang adapt ").append(String.join(" ", aliases)).append(name == null ? "" : " --name " + name)
                .append("` from commit `").append(commit).append("`.\n\n");
        b.append("| alias | script |\n|---|---|\n");
        files.forEach((a, f) -> b.append("| `").append(a).append("` | `").append(f).append("` |\n"));
        b.append("\nThe scripts are yours to edit: each step's SQL is in constants at the top of its file. `lib/neonmz/` is ")
                .append("plumbing (connections, quoting, output), copied as it was (only the files these scripts need), but ")
                .append("for `COPIED_FROM` in `Cli.java`: the commit this copy came from, which every script's `--version` ")
                .append("prints with the toolkit's version.\n\n")
                .append("Run, from this folder: `jbang <alias> --help` (JBang on the PATH)")
                .append(withLauncher ? ", or `./jbang <alias> --help` (it fetches JBang itself, with Maven)" : "")
                .append(". Once the dependencies are cached (after the first run), they run offline.\n\n")
                .append(AdaptFiles.INSTALL_JBANG).append("\n")
                .append("Update from a newer clone of the toolkit: `./jbang adapt --update --to <this folder>`. It re-copies ")
                .append("`lib/`, this README and the catalog; a script you have not edited takes the new version, one you ")
                .append("have edited is left as it is and the update prints the diff to merge by hand. `.neonmz-adapt.json` ")
                .append("records what was copied, for that.\n");
        return b.toString();
    }

    // ---- writing ------------------------------------------------------------------------------------------

    private int write(Out o, List<Planned> plan, JsonObject manifest, String commit) throws IOException {
        Map<String, String> writtenBefore = new LinkedHashMap<>();
        if (manifest.has("files")) {
            manifest.getAsJsonObject("files").entrySet().forEach(e -> writtenBefore.put(e.getKey(), e.getValue().getAsString()));
        }
        List<String> diffs = new ArrayList<>();
        Map<String, String> actions = new LinkedHashMap<>();
        for (Planned p : plan) {
            actions.put(p.path(), action(p, writtenBefore, commit, diffs));
        }
        show(o, actions);
        List<String> conflicts = actions.entrySet().stream().filter(e -> e.getValue().equals("conflict")).map(Map.Entry::getKey).toList();
        if (!conflicts.isEmpty()) {
            throw new Fail(Exit.CONFLICT, "adapt: " + conflicts.size() + " file(s) in " + to + " exist and differ: "
                    + String.join(", ", conflicts) + "; nothing was written",
                    "--update keeps your edits (and shows the diff), --force overwrites them, or choose another --to");
        }
        diffs.forEach(d -> o.line(d.stripTrailing()));
        int changes = count(actions);
        if (o.dryRun()) {
            o.line("adapt: dry run, nothing written (%d file%s would change)", changes, changes == 1 ? "" : "s");
            return Exit.OK;
        }
        if (changes == 0) {
            o.put("already_done", true);
            o.line("adapt: already done (%s holds these steps as copied%s)", to, diffs.isEmpty() ? "" : "; your edits kept");
            return Exit.OK;
        }
        apply(plan, actions, writtenBefore, commit);
        o.put("already_done", false);
        o.line("adapt: %d file%s written to %s; run them there: cd %s && %s %s --help", changes, changes == 1 ? "" : "s", to,
                Out.shellQuote(to.toString()), withLauncher ? "./jbang" : "jbang", aliases.get(0));
        return Exit.OK;
    }

    /** What to do with one file: create, unchanged, overwrite (--force), update, kept (edited; its diff added), conflict. */
    private String action(Planned p, Map<String, String> writtenBefore, String commit, List<String> diffs) throws IOException {
        Path target = to.resolve(p.path());
        String have = Files.exists(target) ? Files.readString(target, StandardCharsets.UTF_8) : null;
        if (have == null) {
            return "create";
        } else if (have.equals(p.text())) {
            return "unchanged";
        } else if (force) {
            return "overwrite";
        } else if (update && (!p.step() || AdaptFiles.sha256(have).equals(writtenBefore.get(p.path())))) {
            return "update";   // lib, catalog, README, or a step file as it was copied
        } else if (update) {
            diffs.add(TextDiff.unified(p.path() + " (yours)", have, p.path() + " (toolkit " + commit + ")", p.text()));
            return "kept (edited; diff below)";
        }
        return "conflict";
    }

    private void show(Out o, Map<String, String> actions) {
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> json = new ArrayList<>();
        actions.forEach((path, action) -> {
            rows.add(List.of(path, action));
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("path", path);
            j.put("action", action.replaceAll(" .*", ""));
            json.add(j);
        });
        o.put("files", json);
        o.table(List.of("file", o.dryRun() ? "would" : "action"), rows);
    }

    /** Writes what changes (never an edited step file), then the manifest with what each file now holds. */
    private void apply(List<Planned> plan, Map<String, String> actions, Map<String, String> writtenBefore, String commit)
            throws IOException {
        Map<String, String> hashes = new LinkedHashMap<>();
        for (Planned p : plan) {
            String action = actions.get(p.path());
            Path target = to.resolve(p.path());
            if (!action.startsWith("kept") && !action.equals("unchanged")) {
                Files.createDirectories(target.toAbsolutePath().getParent());
                Files.writeString(target, p.text(), StandardCharsets.UTF_8);
                if (p.executable()) {
                    target.toFile().setExecutable(true, false);
                }
            }
            hashes.put(p.path(), action.startsWith("kept") ? writtenBefore.get(p.path()) : AdaptFiles.sha256(p.text()));
        }
        writeManifest(commit, hashes);
    }

    private static int count(Map<String, String> actions) {
        return (int) actions.values().stream().filter(a -> !a.equals("unchanged") && !a.startsWith("kept")).count();
    }

    private void writeManifest(String commit, Map<String, String> hashes) throws IOException {
        JsonObject m = new JsonObject();
        m.addProperty("commit", commit);
        m.add("aliases", new Gson().toJsonTree(aliases));
        m.addProperty("name", name);
        m.addProperty("launcher", withLauncher);
        m.add("files", new Gson().toJsonTree(hashes));
        Files.writeString(to.resolve(MANIFEST), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(m) + "\n",
                StandardCharsets.UTF_8);
    }

    private JsonObject readManifest() throws IOException {
        Path m = to.resolve(MANIFEST);
        if (!Files.exists(m)) {
            if (update) {
                throw new Fail(Exit.NOT_FOUND, "--update: " + to + " has no " + MANIFEST + " (it was not made by adapt)",
                        "give the folder adapt wrote with --to, or copy afresh: ./jbang adapt ALIAS… --to " + to);
            }
            return new JsonObject();
        }
        return JsonParser.parseString(Files.readString(m, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    // ---- plumbing of this tool ------------------------------------------------------------------------------

    /** The toolkit's folder: --from, $NEONMZ_ROOT (./jbang sets it), or upwards from here. */
    private Path toolkit() {
        List<Path> tried = new ArrayList<>();
        if (from != null) {
            tried.add(from);
        } else {
            String env = Cli.ctx().env("NEONMZ_ROOT");
            if (env != null) {
                tried.add(Path.of(env));
            }
            for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
                tried.add(p);
            }
        }
        for (Path p : tried) {
            if (Files.isRegularFile(p.resolve("jbang-catalog.json")) && Files.isDirectory(p.resolve("lib/neonmz"))) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new Fail(Exit.NOT_FOUND, "adapt: no toolkit found (a folder with jbang-catalog.json and lib/neonmz)",
                "run it as ./jbang adapt … in a clone of the toolkit, or give --from DIR");
    }
}

/** Plumbing of adapt: renaming a class in Java source, the toolkit's commit and JBang version, file hashes. */
final class AdaptFiles {
    private AdaptFiles() {}

    /**
     * How to install JBang, per system: the lines of JBang's installation guide (docs/modules/ROOT/pages/installation.adoc
     * in jbangdev/jbang). The same text is in the toolkit's README (ReleaseTest checks both).
     */
    static final String INSTALL_JBANG = """
            Installing JBang (the lines from JBang's installation guide; then open a new shell and check with `jbang version`):

            ```bash
            # Linux, macOS (also Git Bash or WSL on Windows): JBang's install script, then its PATH setup
            curl -Ls https://sh.jbang.dev | bash -s - app setup
            # Linux, macOS with SDKMAN!
            sdk install jbang
            # macOS with Homebrew
            brew install jbangdev/tap/jbang
            ```

            ```powershell
            # Windows PowerShell: JBang's install script, then its PATH setup
            iex "& { $(iwr -useb https://ps.jbang.dev) } app setup"
            # Windows with Chocolatey
            choco install jbang
            # Windows with Scoop
            scoop bucket add jbangdev https://github.com/jbangdev/scoop-bucket
            scoop install jbang
            ```
            """;

    /**
     * The identifier {@code from} renamed {@code to} in Java source, outside string and char literals and text
     * blocks (a message that says "Lab directory" keeps its words when class Lab becomes OurLab).
     */
    static String rename(String src, String from, String to) {
        Pattern word = Pattern.compile("\\b" + Pattern.quote(from) + "\\b");
        StringBuilder out = new StringBuilder();
        int code = 0;
        int i = 0;
        while (i < src.length()) {
            char c = src.charAt(i);
            int end = -1;
            if (src.startsWith("\"\"\"", i)) {
                end = src.indexOf("\"\"\"", i + 3) + 3;
            } else if (c == '"' || c == '\'') {
                end = i + 1;
                while (end < src.length() && src.charAt(end) != c) {
                    end += src.charAt(end) == '\\' ? 2 : 1;
                }
                end++;
            } else if (src.startsWith("//", i) || src.startsWith("/*", i)) {
                // a comment (its quotes are not literals): renamed with the code around it
                int stop = src.startsWith("//", i) ? src.indexOf('\n', i) : src.indexOf("*/", i + 2);
                i = stop < 0 ? src.length() : stop + 1;
                continue;
            }
            if (end > i) {
                out.append(word.matcher(src.substring(code, i)).replaceAll(to)).append(src, i, end);
                code = end;
                i = end;
            } else {
                i++;
            }
        }
        return out.append(word.matcher(src.substring(code)).replaceAll(to)).toString();
    }

    static String className(Path script) {
        String f = script.getFileName().toString();
        return f.substring(0, f.length() - ".java".length());
    }

    static String commit(Path root) {
        try {
            Process p = new ProcessBuilder("git", "-C", root.toString(), "describe", "--always", "--dirty", "--abbrev=12")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 && !out.isEmpty() ? out : "unknown (not a git clone)";
        } catch (IOException e) {
            return "unknown (no git)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /**
     * The copy's Cli.java: the commit it was copied from written into COPIED_FROM, which its --version prints (a
     * toolkit older than COPIED_FROM, given with --from, is copied as it is).
     */
    static String copiedFrom(String cli, String commit) {
        String line = "    static final String COPIED_FROM = null;\n";
        if (cli.indexOf(line) < 0 || cli.indexOf(line) != cli.lastIndexOf(line)) {
            return cli;
        }
        String literal = commit.replace("\\", "\\\\").replace("\"", "\\\"");
        return cli.replace(line, "    static final String COPIED_FROM = \"" + literal + "\";   // written by adapt\n");
    }

    static String jbangVersion(Path root) throws IOException {
        Matcher m = Pattern.compile("<jbang\\.version>\\s*([^<\\s]+)\\s*</jbang\\.version>")
                .matcher(Files.readString(root.resolve("pom.xml"), StandardCharsets.UTF_8));
        if (!m.find()) {
            throw new Fail(Exit.NOT_FOUND, "no <jbang.version> in " + root.resolve("pom.xml"), "copy without --with-launcher");
        }
        return m.group(1);
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
