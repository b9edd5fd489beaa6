package neonmz;

import java.nio.file.Path;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The output options every script shares: {@code --json --dry-run --record FILE --yes --verbose}. */
public class OutputOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--json", description = "Machine output: one JSON object on stdout.")
    public boolean json;

    @Option(names = "--dry-run", description = "Print the exact SQL it would run (secrets masked); change nothing.")
    public boolean dryRun;

    @Option(names = "--record", paramLabel = "FILE",
            description = "Append a Markdown transcript (the command and its output) to FILE.")
    public Path record;

    @Option(names = "--yes", description = "Answer yes to confirmations (for scripts and CI).")
    public boolean yes;

    @Option(names = {"-v", "--verbose"}, description = "Echo each SQL statement as it runs; stack traces on bugs.")
    public boolean verbose;

    private Out out;

    /** The output for this run, created on first use. */
    public Out out() {
        if (out == null) {
            out = new Out(Cli.ctx(), this, mixee);
        }
        return out;
    }

    boolean started() {
        return out != null;
    }
}
