package neonmz;

import java.nio.file.Path;
import java.time.Duration;

import picocli.CommandLine.Option;

/**
 * How to reach the Neon API: the key from {@code NEON_API_KEY} or {@code --api-key-file} (never argv:
 * argv is visible to every user of the machine), {@code --api-host}, the project and the branch.
 */
public class NeonOptions {
    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "Read the Neon API key from the first line of FILE (default: $NEON_API_KEY).")
    public Path apiKeyFile;

    @Option(names = "--api-host", paramLabel = "URL",
            description = "The Neon API base URL (default: $NEON_API_HOST, else " + NeonApi.DEFAULT_HOST + ").")
    public String apiHost;

    @Option(names = "--project", paramLabel = "ID|NAME",
            description = "The Neon project, by id or name (default: $NEON_PROJECT_ID).")
    public String project;

    @Option(names = "--branch", paramLabel = "ID|NAME",
            description = "The branch, by id or name (default: the project's default branch).")
    public String branch;

    @Option(names = "--org-id", paramLabel = "ORG",
            description = "The organization to search for --project by name (needed with a personal key; "
                    + "default: $NEON_ORG_ID).")
    public String orgId;

    /** The first of these options given on the command line, or null (for steps where the API is optional). */
    public String givenOption() {
        return apiKeyFile != null ? "--api-key-file" : apiHost != null ? "--api-host" : project != null ? "--project"
                : branch != null ? "--branch" : orgId != null ? "--org-id" : null;
    }

    /** The key: the file when given, else NEON_API_KEY; registered as a secret either way. */
    public String apiKey() {
        if (apiKeyFile != null) {
            return Secrets.readFile(apiKeyFile, "Neon API key");
        }
        String v = Cli.ctx().env("NEON_API_KEY");
        if (v == null) {
            throw Fail.usage("no Neon API key", "set NEON_API_KEY, or pass --api-key-file FILE "
                    + "(create a key in the Neon Console under Account settings > API keys)");
        }
        return Secrets.register(v.strip());
    }

    // The environment defaults are read here, from the command's context (not by picocli from the
    // process environment), so that in-process runs and chained scripts see the same values.

    public String apiHost() {
        return apiHost != null ? apiHost : or(Cli.ctx().env("NEON_API_HOST"), NeonApi.DEFAULT_HOST);
    }

    public String project() {
        return project != null ? project : Cli.ctx().env("NEON_PROJECT_ID");
    }

    public String orgId() {
        return orgId != null ? orgId : Cli.ctx().env("NEON_ORG_ID");
    }

    private static String or(String a, String b) {
        return a != null ? a : b;
    }

    /**
     * The client. Operations are polled every second at first, backing off to 5 s (Neon suggests 5 s);
     * $NEONMZ_API_POLL_MS sets a shorter first interval (the tests and notebooks use it against a local server);
     * $NEONMZ_API_PAGE smaller pages.
     */
    public NeonApi client(Out out, Duration timeout) {
        NeonApi api = new NeonApi(apiHost(), apiKey(), out, timeout).orgId(orgId());
        String ms = Cli.ctx().env("NEONMZ_API_POLL_MS");
        if (ms != null) {
            Duration d;
            try {
                d = Duration.ofMillis(Long.parseLong(ms.strip()));
            } catch (NumberFormatException e) {
                throw Fail.usage("NEONMZ_API_POLL_MS is not a number of milliseconds: " + ms, "unset it, or give e.g. 200");
            }
            api.intervals(d, d.multipliedBy(4), d, d.multipliedBy(4));
        }
        String page = Cli.ctx().env("NEONMZ_API_PAGE");   // smaller pages, to page through a small local server
        if (page != null) {
            try {
                api.pageSize(Integer.parseInt(page.strip()));
            } catch (NumberFormatException e) {
                throw Fail.usage("NEONMZ_API_PAGE is not a number: " + page, "unset it, or give e.g. 50");
            }
        }
        return api;
    }
}
