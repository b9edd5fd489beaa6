package neonmz;

import java.nio.file.Path;
import java.util.Locale;

import picocli.CommandLine.Option;

/**
 * How to reach Materialize (pgjdbc over the Postgres wire protocol): {@code --mz-url}, else
 * {@code MZ_URL}. Defaults are the emulator's (127.0.0.1:6875, user and database {@code materialize},
 * no TLS); any other host gets {@code sslmode=require}, as Materialize Cloud needs. The password (a
 * Cloud app password) comes from {@code MZ_PASSWORD} or {@code --mz-password-file}, never argv.
 */
public class MzOptions {
    public static final int DEFAULT_PORT = 6875;
    /** Where a Materialize password belongs instead of argv (the warning's and the fixes' wording). */
    public static final String SAFER = "MZ_PASSWORD, --mz-password-file or --mz-password-stdin";

    @Option(names = "--mz-url", paramLabel = "URL",
            description = "Materialize: a URI or key=value string (default: $MZ_URL; else MZ_HOST, MZ_PORT, MZ_USER, "
                    + "MZ_DATABASE, MZ_SSLMODE; else the local emulator postgresql://materialize@127.0.0.1:6875/materialize). "
                    + "Password: $MZ_PASSWORD, --mz-password-file or --mz-password-stdin.")
    public String url;

    @Option(names = "--mz-password-file", paramLabel = "FILE",
            description = "Read the Materialize (app) password from the first line of FILE.")
    public Path passwordFile;

    @Option(names = "--mz-password-stdin", description = "Read the Materialize (app) password from standard input.")
    public boolean passwordStdin;

    /** True when a Materialize URL was given (option or environment). */
    public boolean given() {
        return url != null || Cli.ctx().env("MZ_URL") != null || Cli.ctx().env("MZ_HOST") != null;
    }

    public ConnInfo resolve(Out out) {
        Cli.Ctx ctx = Cli.ctx();
        ConnInfo ci = ConnInfo.parse(url != null ? url : ctx.env("MZ_URL"));
        if (url != null && ci.password() != null) {
            out.warn(Secrets.inArgv("--mz-url", null, SAFER));
        }
        if (passwordFile != null) {
            ci.password(Secrets.readFile(passwordFile, "Materialize password"), "file " + passwordFile);
        } else if (passwordStdin) {
            ci.password(Secrets.readStdin("Materialize password"), "stdin");
        } else if (ci.password() == null && ctx.env("MZ_PASSWORD") != null) {
            ci.password(ctx.env("MZ_PASSWORD"), "MZ_PASSWORD");
        }
        // What the URL leaves open: MZ_HOST, MZ_PORT, MZ_USER, MZ_DATABASE, MZ_SSLMODE (the PG* names are
        // the upstream's), then the emulator's defaults.
        if (ci.hosts.isEmpty()) {
            ci.hosts.add(ctx.env("MZ_HOST") != null ? ctx.env("MZ_HOST") : "127.0.0.1");
        }
        if (ci.ports.isEmpty()) {
            try {
                ci.ports.add(ctx.env("MZ_PORT") != null ? Integer.parseInt(ctx.env("MZ_PORT")) : DEFAULT_PORT);
            } catch (NumberFormatException e) {
                throw Fail.usage("MZ_PORT is not a port number: " + ctx.env("MZ_PORT"), "unset it or give a number");
            }
        }
        if (ci.user == null) {
            ci.user = ctx.env("MZ_USER") != null ? ctx.env("MZ_USER") : "materialize";
        }
        if (ci.dbname == null) {
            ci.dbname = ctx.env("MZ_DATABASE") != null ? ctx.env("MZ_DATABASE") : "materialize";
        }
        if (ci.sslmode == null && ctx.env("MZ_SSLMODE") != null) {
            ci.sslmode = ctx.env("MZ_SSLMODE");
        }
        if (ci.sslmode == null) {
            String h = ci.host().toLowerCase(Locale.ROOT);
            boolean local = h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
            ci.sslmode = local ? "disable" : "require";
        }
        return ci;
    }
}
