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

    @Option(names = "--mz-url", paramLabel = "URL",
            description = "Materialize: a URI or key=value string (default: $MZ_URL, else the local emulator "
                    + "postgresql://materialize@127.0.0.1:6875/materialize). Password: $MZ_PASSWORD or --mz-password-file.")
    public String url;

    @Option(names = "--mz-password-file", paramLabel = "FILE",
            description = "Read the Materialize (app) password from the first line of FILE.")
    public Path passwordFile;

    /** True when a Materialize URL was given (option or environment). */
    public boolean given() {
        return url != null || Cli.ctx().env("MZ_URL") != null;
    }

    public ConnInfo resolve(Out out) {
        Cli.Ctx ctx = Cli.ctx();
        ConnInfo ci = ConnInfo.parse(url != null ? url : ctx.env("MZ_URL"));
        if (url != null && ci.password() != null) {
            out.warn("the password in --mz-url is visible to other users in the process list; "
                    + "prefer MZ_PASSWORD or --mz-password-file");
        }
        if (passwordFile != null) {
            ci.password(Secrets.readFile(passwordFile, "Materialize password"), "file " + passwordFile);
        } else if (ci.password() == null && ctx.env("MZ_PASSWORD") != null) {
            ci.password(ctx.env("MZ_PASSWORD"), "MZ_PASSWORD");
        }
        if (ci.hosts.isEmpty()) {
            ci.hosts.add("127.0.0.1");
        }
        if (ci.ports.isEmpty()) {
            ci.ports.add(DEFAULT_PORT);
        }
        if (ci.user == null) {
            ci.user = "materialize";
        }
        if (ci.dbname == null) {
            ci.dbname = "materialize";
        }
        if (ci.sslmode == null) {
            String h = ci.host().toLowerCase(Locale.ROOT);
            boolean local = h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
            ci.sslmode = local ? "disable" : "require";
        }
        return ci;
    }
}
