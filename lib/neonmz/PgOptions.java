package neonmz;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/**
 * How to reach the upstream (Neon) Postgres: {@code --pg-url}, else {@code DATABASE_URL}, else the
 * {@code PG*} variables; the password from the URL, {@code PGPASSWORD}, the password file, or
 * {@code --pg-password-file}. Put no password on the command line: argv is visible to every user of the machine.
 */
public class PgOptions {
    @Option(names = "--pg-url", paramLabel = "URL",
            description = "Upstream Postgres: a URI or key=value string (default: $DATABASE_URL, then PGHOST, "
                    + "PGPORT, PGDATABASE, PGUSER, PGSSLMODE). Keep the password out of it: use PGPASSWORD, "
                    + "~/.pgpass or --pg-password-file.")
    public String url;

    /** Where an upstream password belongs instead of argv (the warning's and the fixes' wording). */
    public static final String SAFER = "PGPASSWORD, ~/.pgpass or --pg-password-file";

    @Option(names = "--pg-password-file", paramLabel = "FILE",
            description = "Read the upstream password from the first line of FILE.")
    public Path passwordFile;

    /** True when an upstream was named (option or DATABASE_URL), for steps where it is optional. */
    public boolean given() {
        return url != null || Cli.ctx().env("DATABASE_URL") != null;
    }

    /** The resolved settings, checked for the pooler, with a warning when argv held a password. */
    public ConnInfo resolve(Out out) {
        return resolve(out, true);
    }

    /** As {@link #resolve(Out)}; a step that puts the URL's password to another use warns in its own words. */
    public ConnInfo resolve(Out out, boolean warnArgvPassword) {
        Cli.Ctx ctx = Cli.ctx();
        String source = url != null ? url : ctx.env("DATABASE_URL");
        ConnInfo ci = ConnInfo.parse(source);
        if (warnArgvPassword && url != null && ci.password() != null) {
            out.warn(Secrets.inArgv("--pg-url", null, SAFER));
        }
        if (passwordFile != null) {
            ci.password(Secrets.readFile(passwordFile, "password"), "file " + passwordFile);
        }
        ci.withDefaults(ctx.env());
        ci.ignored.remove("passfile");
        for (String k : ci.ignored.keySet()) {
            out.warn("connection parameter " + k + " is not used by this tool; ignored");
        }
        ci.requireDirect();
        return ci;
    }

    /** Resolves and connects (read-only under --dry-run). */
    public Pg connect(Out out) {
        return Pg.connect(resolve(out), out);
    }
}
