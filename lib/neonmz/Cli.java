package neonmz;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Runs a picocli command the same way for every script: the exit-code table in {@code --help}, one
 * exception handler that turns {@link Fail}, SQL errors and bad options into a message, a fix and an
 * exit code, and the context (environment, stdin, output streams) that tests and the chaining scripts
 * replace to run commands in-process.
 */
public final class Cli {
    private Cli() {}

    /** What a command reads from the outside world; swapped as a whole for in-process runs. */
    public record Ctx(Map<String, String> env, BufferedReader stdin, PrintWriter out, PrintWriter err,
                      boolean terminal) {
        public String env(String name) {
            String v = env.get(name);
            return v == null || v.isEmpty() ? null : v;
        }
    }

    private static final ThreadLocal<Ctx> CTX = new ThreadLocal<>();

    public static Ctx ctx() {
        Ctx c = CTX.get();
        return c != null ? c : systemCtx();
    }

    public static Ctx systemCtx() {
        boolean terminal = System.console() != null && System.getenv("CI") == null;
        return new Ctx(System.getenv(),
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8), terminal);
    }

    /**
     * A step that changes something and that a re-run finishes: stopped by Ctrl-C or kill, it says so and
     * how to go on (the streaming commands, which Ctrl-C ends normally, are not).
     */
    public interface Resumable {}

    /** For a script's main: run, flush, exit with the code. */
    public static void main(Object command, String... args) {
        // Ctrl-C or kill: the JVM exits 130 (SIGINT) or 143 (SIGTERM); the server rolls back the open transaction
        Thread signalled = !(command instanceof Resumable) ? new Thread(() -> { }) : new Thread(() -> {
            System.out.flush();
            System.err.println("error: stopped by a signal (Ctrl-C or kill) before the command finished; the open "
                    + "transaction, if any, was rolled back");
            System.err.println("  fix: run the same command again; it continues where this stopped");
            System.err.flush();
        });
        Runtime.getRuntime().addShutdownHook(signalled);
        int code = execute(command, systemCtx(), args);
        try {
            Runtime.getRuntime().removeShutdownHook(signalled);
        } catch (IllegalStateException shuttingDown) {
            // a signal came as the command finished: the hook says so
        }
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /**
     * The toolkit's version: the one place it is set. It ships with every script (this file is in each one's
     * //SOURCES), so a script run from a URL or from an ejected copy knows it too. pom.xml's version, CHANGELOG.md's
     * newest release and a v* tag on HEAD are checked against it (VersionTest); see the README's "Releasing".
     */
    public static final String VERSION = "0.1.0";

    /**
     * In a copy made by {@code adapt}: the toolkit commit it was copied from (adapt writes it here, in the copy's
     * Cli.java only); null in the toolkit itself.
     */
    static final String COPIED_FROM = null;

    /**
     * The toolkit commit the command runs from: in an ejected copy the one it was copied from; otherwise HEAD of
     * the git checkout that holds the toolkit ($NEONMZ_ROOT, which ./jbang sets, else the nearest folder from the
     * working directory up with jbang-catalog.json and lib/neonmz/Cli.java that is not an ejected copy), or
     * "unknown" (run from a URL, or from outside a checkout): never the commit of some other repository around.
     */
    static String commit(Ctx ctx) {
        if (COPIED_FROM != null) {
            return COPIED_FROM;
        }
        java.nio.file.Path root = null;
        List<java.nio.file.Path> candidates = new ArrayList<>();
        if (ctx.env("NEONMZ_ROOT") != null) {
            candidates.add(java.nio.file.Path.of(ctx.env("NEONMZ_ROOT")).toAbsolutePath());
        }
        for (java.nio.file.Path d = java.nio.file.Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            candidates.add(d);
        }
        for (java.nio.file.Path d : candidates) {
            if (java.nio.file.Files.isRegularFile(d.resolve("jbang-catalog.json"))
                    && java.nio.file.Files.isRegularFile(d.resolve("lib/neonmz/Cli.java"))
                    && !java.nio.file.Files.exists(d.resolve(".neonmz-adapt.json"))) {
                root = d;
                break;
            }
        }
        return root == null ? "unknown" : gitHead(root);
    }

    /** HEAD's hash of the git checkout that holds {@code dir} (its .git, from dir up), or "unknown". */
    static String gitHead(java.nio.file.Path dir) {
        try {
            for (java.nio.file.Path d = dir; d != null; d = d.getParent()) {
                java.nio.file.Path git = d.resolve(".git");
                if (java.nio.file.Files.isRegularFile(git)) {   // a worktree: "gitdir: …"
                    git = d.resolve(java.nio.file.Files.readString(git).strip().replaceFirst("^gitdir: ", ""));
                }
                if (java.nio.file.Files.isDirectory(git)) {
                    String head = java.nio.file.Files.readString(git.resolve("HEAD")).strip();
                    if (!head.startsWith("ref: ")) {
                        return head;
                    }
                    String ref = head.substring(5);
                    java.nio.file.Path common = java.nio.file.Files.isRegularFile(git.resolve("commondir"))
                            ? git.resolve(java.nio.file.Files.readString(git.resolve("commondir")).strip()) : git;
                    for (java.nio.file.Path g : List.of(git, common)) {
                        if (java.nio.file.Files.isRegularFile(g.resolve(ref))) {
                            return java.nio.file.Files.readString(g.resolve(ref)).strip();
                        }
                        java.nio.file.Path packed = g.resolve("packed-refs");
                        if (java.nio.file.Files.isRegularFile(packed)) {
                            for (String line : java.nio.file.Files.readAllLines(packed)) {
                                if (line.endsWith(" " + ref)) {
                                    return line.substring(0, line.indexOf(' '));
                                }
                            }
                        }
                    }
                    return "unknown";
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
        return "unknown";
    }

    /**
     * --version: the command, the toolkit's version and commit ("copied from commit" in an ejected copy); with
     * --json as one JSON object.
     */
    private static boolean version(CommandLine cl, Ctx ctx, String... args) {
        List<String> a = List.of(args);
        if (!a.contains("--version") && !a.contains("-V")) {
            return false;
        }
        String name = cl.getCommandName();
        String commit = commit(ctx);
        ctx.out().println(a.contains("--json")
                ? "{\"command\":\"" + name + "\",\"ok\":true,\"exit\":0,\"version\":\"" + VERSION + "\",\"commit\":"
                        + Json.write(commit) + ",\"copied\":" + (COPIED_FROM != null) + "}"
                : name + " " + VERSION + " (neonmz toolkit, " + (COPIED_FROM != null ? "copied from commit " : "commit ")
                        + commit + ")");
        return true;
    }

    /** Runs a command with a given context (tests; one script calling another's command). */
    public static int execute(Object command, Ctx ctx, String... args) {
        Ctx previous = CTX.get();
        CTX.set(ctx);
        try {
            CommandLine cl = commandLine(command, ctx);
            if (version(cl, ctx, args)) {
                return Exit.OK;
            }
            int code = cl.execute(args);
            finish(cl, code, FAILURE.get());
            return code;
        } finally {
            FAILURE.remove();
            ctx.out().flush();
            ctx.err().flush();
            if (previous == null) {
                CTX.remove();
            } else {
                CTX.set(previous);
            }
        }
    }

    private static final ThreadLocal<Throwable> FAILURE = new ThreadLocal<>();

    static CommandLine commandLine(Object command, Ctx ctx) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(ctx.out());
        cl.setErr(ctx.err());
        cl.setColorScheme(CommandLine.Help.defaultColorScheme(
                ctx.env("NO_COLOR") != null || !ctx.terminal() ? CommandLine.Help.Ansi.OFF : CommandLine.Help.Ansi.AUTO));
        applyUsage(cl);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            FAILURE.set(ex);
            return exitCode(ex);
        });
        cl.setParameterExceptionHandler(Cli::badOption);
        return cl;
    }

    /**
     * A command that touches no database (adapt): its --help lists only the exit codes it can return and says
     * in its own words what the shared options do there, without the ones it has no use for.
     */
    public interface OwnHelp {
        /** The exit codes it can return, each with what it means there; 0, 1, 2 and 130 are always listed. */
        Map<Integer, String> exitCodes();

        /** Shared option → what it does here; an empty text hides the option from --help (it still parses). */
        Map<String, String> optionHelp();
    }

    private static void applyUsage(CommandLine cl) {
        OwnHelp own = cl.getCommand() instanceof OwnHelp h ? h : null;
        Map<String, String> codes = new LinkedHashMap<>();
        for (Map.Entry<Integer, String> e : Exit.TABLE.entrySet()) {
            int c = e.getKey();
            if (own == null || c <= Exit.USAGE || c == Exit.INTERRUPTED) {
                codes.put(String.format("%3d", c), e.getValue());
            } else if (own.exitCodes().containsKey(c)) {
                codes.put(String.format("%3d", c), own.exitCodes().get(c));
            }
        }
        cl.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(codes);
        cl.getCommandSpec().usageMessage().sortOptions(false);
        if (own != null) {
            ownOptionHelp(cl.getCommandSpec(), own.optionHelp());
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            applyUsage(sub);
        }
    }

    /** The options re-added in their order, those named in {@code help} with its text (or hidden). */
    private static void ownOptionHelp(CommandSpec spec, Map<String, String> help) {
        List<CommandLine.Model.OptionSpec> all = new ArrayList<>(spec.options());
        for (CommandLine.Model.OptionSpec o : all) {
            spec.remove(o);
        }
        for (CommandLine.Model.OptionSpec o : all) {
            String text = help.get(o.longestName());
            spec.addOption(text == null ? o : CommandLine.Model.OptionSpec.builder(o)
                    .description(text.isEmpty() ? o.description() : new String[] {text}).hidden(text.isEmpty()).build());
        }
    }

    private static int badOption(ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        String fix = "see " + cl.getCommandSpec().qualifiedName() + " --help";
        String message = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u) {
            // a misspelt option: name it alone (not the value after it), and the options it may have meant
            List<String> unknown = u.getUnmatched().stream().filter(x -> x.startsWith("-")).toList();
            List<String> near = u.getSuggestions();
            if (!unknown.isEmpty()) {
                message = "unknown option " + String.join(", ", unknown);
            }
            if (!near.isEmpty()) {
                fix = "did you mean " + String.join(" or ", near.subList(0, Math.min(3, near.size()))) + "? (" + fix + ")";
            }
        }
        List<String> given = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--")) {
                break;
            }
            given.add(a);
        }
        if (given.contains("--json")) {
            // --json promises one object on stdout, also when the options themselves are wrong
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("command", cl.getCommandSpec().qualifiedName(" "));
            o.put("ok", false);
            o.put("exit", Exit.USAGE);
            o.put("dry_run", given.contains("--dry-run"));
            o.put("statements", List.of());
            o.put("warnings", List.of());
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("message", message);
            e.put("fix", fix);
            o.put("error", e);
            cl.getOut().println(Json.write(o));
            cl.getOut().flush();
            return Exit.USAGE;
        }
        PrintWriter err = cl.getErr();
        err.println("error: " + Secrets.mask(message));
        err.println("  fix: " + fix);
        return Exit.USAGE;
    }

    // ---- hints follow how the command was started ---------------------------------------------

    /** A hint's command: ./jbang and the word after it (an alias, or a JBang command such as "alias list"). */
    private static final java.util.regex.Pattern HINT = java.util.regex.Pattern.compile("(?<![\\w/.~-])\\./jbang ([a-z][a-z0-9-]*)");

    /** The launch the last rewrite was worked out for (its environment) and the rewrite; one per run. */
    private static volatile Object[] launch = {null, null};

    /**
     * Hints and fix lines say "./jbang ALIAS …" (this toolkit's launcher in its folder); rewritten here to what works
     * where the command was started. JBang exports to a script only JBANG_LAUNCH_CMD (its launcher's path),
     * JBANG_RUNTIME_SHELL and JBANG_STDIN_NOTTY, not the alias or the catalog it was started from (no jbang.source
     * either: jbangdev/jbang#2642), and ./jbang exports NEONMZ_ROOT. So:
     * <ul>
     * <li>./jbang (NEONMZ_ROOT, the toolkit or a copy adapt made with its launcher): ./jbang in that folder, else the
     * launcher's path;</li>
     * <li>an installed JBang (JBANG_LAUNCH_CMD, no NEONMZ_ROOT): "jbang ALIAS" when the nearest jbang-catalog.json
     * (this folder or one above: a clone, an ejected copy) has the alias, "jbang ALIAS@NAME" for a catalog added
     * with jbang catalog add that has it, else "jbang ALIAS@&lt;catalog&gt;" (the catalog it was run from);</li>
     * <li>neither (in-process: tests, one script calling another's command): as written.</li>
     * </ul>
     */
    public static String hints(String text) {
        if (text == null || !text.contains("./jbang ")) {
            return text;
        }
        Map<String, String> env = ctx().env();
        Object[] l = launch;
        java.util.function.UnaryOperator<String> word;
        if (l[0] == env) {
            @SuppressWarnings("unchecked")
            java.util.function.UnaryOperator<String> w = (java.util.function.UnaryOperator<String>) l[1];
            word = w;
        } else {
            word = launcher(env);
            launch = new Object[] {env, word};
        }
        if (word == null) {
            return text;
        }
        java.util.regex.Matcher m = HINT.matcher(text);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(b, java.util.regex.Matcher.quoteReplacement(word.apply(m.group(1))));
        }
        return m.appendTail(b).toString();
    }

    /** How "./jbang WORD" is said for this launch (null: as it is). */
    static java.util.function.UnaryOperator<String> launcher(Map<String, String> env) {
        java.nio.file.Path cwd = java.nio.file.Path.of("").toAbsolutePath();
        String root = env.get("NEONMZ_ROOT");
        if (root != null && !root.isEmpty()) {
            java.nio.file.Path r = java.nio.file.Path.of(root).toAbsolutePath().normalize();
            if (r.equals(cwd)) {
                return null;
            }
            String rel = r.startsWith(cwd) ? "./" + cwd.relativize(r.resolve("jbang")) : r.resolve("jbang").toString();
            return w -> Out.shellQuote(rel) + " " + w;
        }
        if (env.get("JBANG_LAUNCH_CMD") == null || env.get("JBANG_LAUNCH_CMD").isEmpty()) {
            return null;
        }
        java.util.Set<String> near = null;
        List<java.nio.file.Path> catalogs = new ArrayList<>();
        for (java.nio.file.Path d = cwd; d != null; d = d.getParent()) {
            for (java.nio.file.Path f : List.of(d.resolve("jbang-catalog.json"), d.resolve(".jbang/jbang-catalog.json"))) {
                if (java.nio.file.Files.isRegularFile(f)) {
                    catalogs.add(f);
                    if (near == null) {
                        near = aliases(f);
                    }
                }
            }
        }
        String jbangDir = env.get("JBANG_DIR");
        catalogs.add(jbangDir != null && !jbangDir.isEmpty() ? java.nio.file.Path.of(jbangDir, "jbang-catalog.json")
                : java.nio.file.Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".jbang", "jbang-catalog.json"));
        Map<String, java.util.Set<String>> named = addedCatalogs(catalogs);
        java.util.Set<String> nearest = near == null ? java.util.Set.of() : near;
        return w -> {
            if (nearest.contains(w)) {
                return "jbang " + w;
            }
            for (Map.Entry<String, java.util.Set<String>> c : named.entrySet()) {
                if (c.getValue().contains(w)) {
                    return "jbang " + w + "@" + c.getKey();
                }
            }
            return isAlias(w) ? "jbang " + w + "@<catalog>" : "jbang " + w;
        };
    }

    /** A word of ours: an alias of this toolkit (not a JBang command such as alias, catalog, app). */
    private static boolean isAlias(String w) {
        return !List.of("alias", "app", "build", "cache", "catalog", "completion", "config", "deps", "edit", "export",
                "info", "init", "jdk", "run", "template", "trust", "version", "wrapper").contains(w);
    }

    /** The alias names of a jbang-catalog.json (read with a pattern: the scripts carry no JSON parser). */
    static java.util.Set<String> aliases(java.nio.file.Path catalog) {
        java.util.Set<String> names = new java.util.HashSet<>();
        try {
            String text = java.nio.file.Files.readString(catalog);
            int start = text.indexOf("\"aliases\"");
            if (start < 0) {
                return names;
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"([^\"]+)\"\\s*:\\s*\\{\\s*\"script-ref\"")
                    .matcher(text.substring(start));
            while (m.find()) {
                names.add(m.group(1));
            }
        } catch (java.io.IOException | RuntimeException unreadable) {
            // a catalog that cannot be read offers no alias
        }
        return names;
    }

    /** Catalogs added by name (jbang catalog add) to these catalog files, local ones with their aliases. */
    static Map<String, java.util.Set<String>> addedCatalogs(List<java.nio.file.Path> files) {
        Map<String, java.util.Set<String>> named = new LinkedHashMap<>();
        java.util.regex.Pattern entry = java.util.regex.Pattern.compile(
                "\"([^\"]+)\"\\s*:\\s*\\{[^{}]*?\"catalog-ref\"\\s*:\\s*\"([^\"]+)\"");
        for (java.nio.file.Path f : files) {
            try {
                if (!java.nio.file.Files.isRegularFile(f)) {
                    continue;
                }
                java.util.regex.Matcher m = entry.matcher(java.nio.file.Files.readString(f));
                while (m.find()) {
                    String ref = m.group(2).replaceFirst("^file://", "");
                    java.nio.file.Path p = f.toAbsolutePath().getParent().resolve(ref);
                    if (java.nio.file.Files.isDirectory(p)) {
                        p = p.resolve("jbang-catalog.json");
                    }
                    named.putIfAbsent(m.group(1), java.nio.file.Files.isRegularFile(p) ? aliases(p) : java.util.Set.of());
                }
            } catch (java.io.IOException | RuntimeException unreadable) {
                // next catalog
            }
        }
        return named;
    }

    /** The exit code for an exception (Fail carries its own). */
    public static int exitCode(Throwable ex) {
        Fail f = asFail(ex);
        return f != null ? f.exit : Exit.INTERNAL;
    }

    /** Fail as it is; SQL errors translated by SQLSTATE; anything else is a bug (null). */
    public static Fail asFail(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof Fail f) {
                return f;
            }
            if (t instanceof SQLException s) {
                return Pg.translate(s);
            }
            if (t instanceof InterruptedException) {
                return new Fail(Exit.INTERRUPTED, "interrupted", "run it again; each step is idempotent");
            }
        }
        return null;
    }

    /** After the command: print the failure (once), the --json object and the --record transcript. */
    private static void finish(CommandLine root, int code, Throwable failure) {
        ParseResult pr = root.getParseResult();
        CommandSpec spec = root.getCommandSpec();
        if (pr != null) {
            List<ParseResult> chain = new ArrayList<>();
            for (ParseResult p = pr; p != null; p = p.subcommand()) {
                chain.add(p);
            }
            spec = chain.get(chain.size() - 1).commandSpec();
            if (pr.isUsageHelpRequested() || pr.isVersionHelpRequested()) {
                return;
            }
        }
        OutputOptions oo = null;
        for (CommandSpec m : spec.mixins().values()) {
            if (m.userObject() instanceof OutputOptions o) {
                oo = o;
            }
        }
        if (oo != null && oo.started()) {
            oo.out().finish(code, failure);
        } else if (failure != null) {
            printFailure(ctx().err(), failure, false);
        }
    }

    static void printFailure(PrintWriter err, Throwable failure, boolean verbose) {
        Fail f = asFail(failure);
        if (f != null && f.exit == Exit.DECLINED && Out.ANSWERED_NO.equals(f.getMessage())) {
            err.println(Out.ANSWERED_NO);
        } else if (f != null) {
            err.println("error: " + Secrets.mask(hints(f.getMessage())));
            if (f.fix != null) {
                err.println("  fix: " + Secrets.mask(hints(f.fix)));
            }
        } else {
            err.println("error: unexpected " + failure.getClass().getSimpleName() + ": "
                    + Secrets.mask(String.valueOf(failure.getMessage())));
            if (verbose) {
                java.io.StringWriter sw = new java.io.StringWriter();
                failure.printStackTrace(new PrintWriter(sw));
                err.println(Secrets.mask(sw.toString()));
            } else {
                err.println("  fix: this is a bug; run again with --verbose and report the output");
            }
        }
    }
}
