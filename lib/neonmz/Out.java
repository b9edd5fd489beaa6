package neonmz;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import picocli.CommandLine.Model.CommandSpec;

/**
 * A command's output in its three forms: human (short aligned lines on stdout, warnings and errors on
 * stderr), {@code --json} (one object at the end, nothing else on stdout; a stream such as a watch writes
 * one object per line before it, see {@link #jsonLine}) and {@code --record FILE} (a
 * Markdown transcript of the command and its human output, appended at the end). Under
 * {@code --dry-run} the statements a step would run are printed instead of run. Every string passes
 * through {@link Secrets#mask}.
 */
public final class Out {
    private final Cli.Ctx ctx;
    private final OutputOptions opts;
    private final CommandSpec spec;
    private final StringBuilder transcript = new StringBuilder();
    private final Map<String, Object> data = new LinkedHashMap<>();
    private final List<String> statements = new ArrayList<>();
    private final List<String> requests = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final long started = System.nanoTime();
    private boolean finished;

    /** The output of the command running on this thread (for warnings from plumbing that has none at hand). */
    private static final ThreadLocal<Out> CURRENT = new ThreadLocal<>();

    static Out current() {
        return CURRENT.get();
    }

    Out(Cli.Ctx ctx, OutputOptions opts, CommandSpec spec) {
        CURRENT.set(this);
        this.ctx = ctx;
        this.opts = opts;
        this.spec = spec;
    }

    public boolean json() {
        return opts.json;
    }

    public boolean dryRun() {
        return opts.dryRun;
    }

    public boolean yes() {
        return opts.yes;
    }

    public boolean verbose() {
        return opts.verbose;
    }

    public Cli.Ctx ctx() {
        return ctx;
    }

    // ---- human output ------------------------------------------------------------------------

    /** A line of human output (stdout); nothing in --json mode. */
    public void line(String text) {
        if (!opts.json) {
            emit(ctx.out(), text);
        }
    }

    public void line(String format, Object... args) {
        line(String.format(format, args));
    }

    /**
     * A line on stderr that is not a warning of this command (a chained step's own stderr, relayed by the
     * runbook); kept in the --record transcript; nothing in --json mode.
     */
    public void errLine(String text) {
        if (!opts.json) {
            emit(ctx.err(), text);
        }
    }

    /** A warning: stderr for humans, the "warnings" array in --json. */
    public void warn(String text) {
        warnings.add(Cli.hints(text));
        if (!opts.json) {
            emit(ctx.err(), "warning: " + text);
        }
    }

    private void emit(PrintWriter w, String text) {
        String m = Secrets.mask(Cli.hints(text));
        w.println(m);
        if (!batching) {
            w.flush();
        }
        if (opts.record != null) {   // only --record needs it (a tap may print millions of lines)
            transcript.append(m).append('\n');
        }
    }

    /** An aligned table with a header row; nothing in --json mode (put the rows into data instead). */
    public void table(List<String> headers, List<? extends List<?>> rows) {
        if (opts.json) {
            return;
        }
        for (String l : render(headers, rows).split("\n")) {
            line(l);
        }
    }

    /** The lines of an aligned table (header row first), each ending in a newline; the shell prints it too. */
    public static String render(List<String> headers, List<? extends List<?>> rows) {
        int[] width = new int[headers.size()];
        for (int i = 0; i < headers.size(); i++) {
            width[i] = headers.get(i).length();
        }
        for (List<?> r : rows) {
            for (int i = 0; i < r.size() && i < width.length; i++) {
                width[i] = Math.max(width[i], cell(r.get(i)).length());
            }
        }
        StringBuilder b = new StringBuilder(row(headers, width)).append('\n');
        for (List<?> r : rows) {
            b.append(row(r, width)).append('\n');
        }
        return b.toString();
    }

    private static String cell(Object o) {
        return o == null ? "" : o.toString();
    }

    private static String row(List<?> cells, int[] width) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String c = cell(cells.get(i));
            b.append(c);
            if (i < cells.size() - 1) {
                b.append(" ".repeat(width[i] - c.length() + 2));
            }
        }
        return b.toString().stripTrailing();
    }

    private boolean batching;

    /**
     * For a stream of many lines (a tap): with {@code on}, {@link #line}, {@link #warn} and {@link #jsonLine}
     * stop flushing after each line (one write per line costs a system call); the caller calls {@link #flush}
     * whenever it waits for more, and batching ends (with a flush) when turned off.
     */
    public void batching(boolean on) {
        batching = on;
        if (!on) {
            flush();
        }
    }

    public void flush() {
        ctx.out().flush();
        ctx.err().flush();
    }

    // ---- machine output ----------------------------------------------------------------------

    /** A field of the --json object. */
    public void put(String key, Object value) {
        data.put(key, value);
    }

    /** A field put so far (null if none): how a chaining script reads a step's result, e.g. already_done. */
    public Object get(String key) {
        return data.get(key);
    }

    /**
     * For streams under --json (a watch, one object per tick): writes {@code obj} now, on one line of its
     * own. The command's usual object (ok, exit, error…) still follows as the last line. Nothing in human mode.
     */
    public void jsonLine(Map<String, Object> obj) {
        if (opts.json) {
            String json = Json.write(obj);
            ctx.out().println(json);
            if (!batching) {
                ctx.out().flush();
            }
            if (opts.record != null) {
                transcript.append(json).append('\n');
            }
        }
    }

    /**
     * As {@link #jsonLine(Map)}, for a line the caller has already written as JSON (a stream of millions of
     * lines builds them itself, without a map per line); secrets are masked here.
     */
    public void jsonLine(CharSequence json) {
        if (opts.json) {
            String m = Secrets.mask(json.toString());
            ctx.out().println(m);
            if (!batching) {
                ctx.out().flush();
            }
            if (opts.record != null) {
                transcript.append(m).append('\n');
            }
        }
    }

    /**
     * Notes a statement that changes something. Under --dry-run it is printed (the step then skips
     * running it); with --verbose it is echoed as it runs. Always listed in --json "statements".
     */
    public void statement(String sql) {
        statements.add(sql);
        if (opts.dryRun || opts.verbose) {
            line(sql + (sql.endsWith(";") ? "" : ";"));
        }
    }

    /**
     * Notes an HTTP request that changes something (the Neon API). Under --dry-run it is printed and not
     * sent; with --verbose it is echoed as it is sent. Listed in --json "requests". The API key travels
     * only in a header and is never part of what is shown.
     */
    public void request(String method, String url, String body) {
        requests.add(method + " " + url + (body == null ? "" : " " + body));
        if (opts.dryRun || opts.verbose) {
            line(method + " " + url + (body == null ? "" : "\n  " + body));
        }
    }

    /**
     * Asks before a change that cannot be undone. Yes without asking under --yes, and under --dry-run (which
     * changes nothing); on a terminal the question goes to stderr and the answer comes from stdin
     * ([y/N]); with no terminal (CI, a pipe, --json) it cannot ask, so it fails naming --yes. A "no"
     * fails too. Either failure exits {@link Exit#DECLINED} before anything changed.
     */
    /** What a deliberate "n" at a confirmation says (not as an error). */
    public static final String ANSWERED_NO = "answered no: nothing changed";

    public void confirm(String question) {
        if (opts.yes || opts.dryRun) {
            return;
        }
        if (!ctx.terminal() || opts.json) {
            throw new Fail(Exit.DECLINED, "not confirmed: " + question + " (no terminal to ask on); nothing changed",
                    "read the warning above, then run again with --yes");
        }
        ctx.err().print(Secrets.mask(question) + " [y/N] ");
        ctx.err().flush();
        String answer;
        try {
            answer = ctx.stdin().readLine();
        } catch (java.io.IOException e) {
            answer = null;
        }
        transcript.append(question).append(" [y/N] ").append(answer == null ? "" : answer.strip()).append('\n');
        if (answer != null && answer.strip().matches("(?i)|n|no")) {
            // a deliberate no (or Enter, whose default is no) is an answer, not an error: said plainly, exit 15
            throw new Fail(Exit.DECLINED, ANSWERED_NO, null);
        }
        if (answer == null || !answer.strip().matches("(?i)y|yes")) {
            throw new Fail(Exit.DECLINED, "not confirmed: " + question + "; nothing changed",
                    "run again and answer y, or pass --yes");
        }
    }

    // ---- progress ----------------------------------------------------------------------------

    /**
     * Progress for work that may take more than about two seconds: a bar redrawn on a terminal,
     * plain lines (at most one every two seconds) elsewhere, nothing in --json mode or when quick.
     */
    public Progress progress(String task, long total) {
        return new Progress(task, total);
    }

    public final class Progress implements AutoCloseable {
        private final String task;
        private long total;
        private final long start = System.nanoTime();
        private long done;
        private long lastPrint;
        private boolean drawn;

        Progress(String task, long total) {
            this.task = task;
            this.total = total;
        }

        public void step(long n) {
            done += n;
            draw();
        }

        /** Sets the position and the total outright (work whose total is learned on the way, e.g. a snapshot). */
        public void update(long done, long total) {
            this.done = done;
            this.total = total;
            draw();
        }

        private void draw() {
            long now = System.nanoTime();
            if (opts.json || now - start < 2_000_000_000L) {
                return;
            }
            if (ctx.terminal()) {
                if (now - lastPrint > 100_000_000L || done >= total) {
                    int w = 30;
                    int filled = total <= 0 ? w : (int) Math.max(0, Math.min(w, w * done / total));
                    ctx.err().print("\r" + task + " [" + "#".repeat(filled) + " ".repeat(w - filled) + "] "
                            + done + "/" + total);
                    ctx.err().flush();
                    drawn = true;
                    lastPrint = now;
                }
            } else if (now - lastPrint > 2_000_000_000L) {
                ctx.err().println(task + ": " + done + "/" + total);
                ctx.err().flush();
                lastPrint = now;
            }
        }

        /** Erases a drawn bar (before other lines are printed); the next update draws it again. */
        public void clear() {
            if (drawn) {
                ctx.err().print("\r" + " ".repeat(task.length() + 50) + "\r");
                ctx.err().flush();
                drawn = false;
            }
        }

        @Override
        public void close() {
            clear();
        }
    }

    // ---- the end -----------------------------------------------------------------------------

    /** Called once by {@link Cli} after the command: error text, the JSON object, the transcript. */
    void finish(int code, Throwable failure) {
        if (finished) {
            return;
        }
        finished = true;
        Fail f = failure == null ? null : Cli.asFail(failure);
        if (failure != null && !opts.json) {
            java.io.StringWriter sw = new java.io.StringWriter();
            Cli.printFailure(new PrintWriter(sw), failure, opts.verbose);
            for (String l : sw.toString().split("\n")) {
                emit(ctx.err(), l);
            }
        }
        if (opts.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("command", spec.qualifiedName(" "));
            o.put("ok", code == 0);
            o.put("exit", code);
            o.put("dry_run", opts.dryRun);
            o.putAll(data);
            o.put("statements", statements);
            if (!requests.isEmpty()) {
                o.put("requests", requests);
            }
            o.put("warnings", warnings);
            if (failure != null) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("message", f != null ? Cli.hints(f.getMessage()) : failure.toString());
                e.put("fix", f != null ? Cli.hints(f.fix) : "this is a bug; run again with --verbose and report it");
                o.put("error", e);
            }
            o.put("elapsed_ms", (System.nanoTime() - started) / 1_000_000);
            String json = Json.write(o);
            ctx.out().println(json);
            ctx.out().flush();
            transcript.append(json).append('\n');   // --record: the output is the object
        }
        if (opts.record != null) {
            writeRecord(code);
        }
    }

    private void writeRecord(int code) {
        StringBuilder b = new StringBuilder();
        b.append("```console\n$ ").append(commandLine()).append('\n');
        b.append(transcript);
        b.append("? ").append(code).append("\n```\n\n");
        try {
            Path parent = opts.record.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(opts.record, b.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            ctx.err().println("warning: cannot write --record file " + opts.record + ": " + e.getMessage());
        }
    }

    /** The command as a user types it: ./jbang alias args…, without --record itself; secrets masked. */
    String commandLine() {
        List<String> words = new ArrayList<>();
        words.add("./jbang");
        CommandSpec root = spec.root();
        words.add(root.name());
        List<String> args = root.commandLine().getParseResult() == null ? List.of()
                : root.commandLine().getParseResult().originalArgs();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--record")) {
                i++;
                continue;
            }
            if (a.startsWith("--record=")) {
                continue;
            }
            // Mask before quoting: quoting a word with ' in it would split a secret the mask looks for.
            words.add(shellQuote(Secrets.mask(maskUrlPassword(a))));
        }
        return String.join(" ", words);
    }

    /**
     * The password part of a URI-like word ({@code scheme://user:PASSWORD@host…}) masked, up to the last
     * "@": a URI that failed to parse (a raw / or % in the password) has no password registered to mask.
     */
    /** A byte count as pg_size_pretty shows it: bytes, kB, MB, GB, TB (1024-based; a unit from 10240 of the one below). */
    public static String bytes(java.math.BigDecimal n) {
        String[] units = {"bytes", "kB", "MB", "GB", "TB", "PB"};
        java.math.BigDecimal v = n;
        int u = 0;
        while (v.abs().compareTo(java.math.BigDecimal.valueOf(10 * 1024)) >= 0 && u < units.length - 1) {
            v = v.divide(java.math.BigDecimal.valueOf(1024), 0, java.math.RoundingMode.HALF_UP);
            u++;
        }
        return v.setScale(0, java.math.RoundingMode.HALF_UP).toPlainString() + " " + units[u];
    }

    static String maskUrlPassword(String word) {
        int scheme = word.indexOf("://");
        if (scheme < 0) {
            return word;
        }
        int at = word.lastIndexOf('@');
        int colon = word.indexOf(':', scheme + 3);
        if (colon < 0 || at < colon) {
            return word;
        }
        return word.substring(0, colon + 1) + Secrets.MASK + word.substring(at);
    }

    public static String shellQuote(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_./:=,@%+-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
