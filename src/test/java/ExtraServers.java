import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The two extra servers the bad-input tests need, started once per test JVM, in parallel, on first use:
 * one with {@code wal_level=replica} (logical replication not enabled), and one that looks like a Neon
 * compute ({@code neon.endpoint_id} set, as Neon sets it; also wal_level=replica).
 */
final class ExtraServers {
    static final String ENDPOINT = "ep-test-123";

    private static CompletableFuture<Lab.Server> replica;
    private static CompletableFuture<Lab.Server> neon;

    private ExtraServers() {}

    private static synchronized void start() {
        if (replica == null) {
            TestPg.server(); // the binaries are extracted once, before the two starts race for them
            replica = CompletableFuture.supplyAsync(() -> TestPg.startServer(Map.of("wal_level", "replica")));
            neon = CompletableFuture.supplyAsync(() -> TestPg.startServer(
                    Map.of("wal_level", "replica", "neon.endpoint_id", "'" + ENDPOINT + "'")));
        }
    }

    /** wal_level=replica, otherwise the lab. */
    static Lab.Server replica() {
        start();
        return replica.join();
    }

    /** A Neon look-alike: neon.endpoint_id is set (and wal_level=replica). */
    static Lab.Server neon() {
        start();
        return neon.join();
    }
}
