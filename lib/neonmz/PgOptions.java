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

    @Option(names = "--pg-password-file", paramLabel = "FILE",
            description = "Read the upstream password from the first line of FILE.")
    public Path passwordFile;

    /** True when an upstream was named (option or DATABASE_URL), for steps where it is optional. */
    public boolean given() {
        return url != null || Cli.ctx().env("DATABASE_URL") != null;
    }

    /** The resolved settings, checked for the pooler, with a warning when argv held a password. */
    public ConnInfo resolve(Out out) {
        Cli.Ctx ctx = Cli.ctx();
        String source = url != null ? url : ctx.env("DATABASE_URL");
        ConnInfo ci = ConnInfo.parse(source);
        if (url != null && ci.password() != null) {
            out.warn("the password in --pg-url is visible to other users in the process list; "
                    + "prefer DATABASE_URL, PGPASSWORD, ~/.pgpass or --pg-password-file");
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
