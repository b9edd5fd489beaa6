import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * A workshop room whose Wi-Fi fails: once the command has run here with the network, it runs again
 * without it. The run goes through the real ./jbang launcher (LauncherRun: its jbang-cli, JBang's home and
 * cache under target/, the shared ~/.m2), first online, then with the network cut, with the launcher's fast
 * path on (no JBang at all) and off (JBang resolves every //DEPS from its local repository).
 *
 * <p>The cut: where {@code unshare -n} works (root, or a kernel that allows it) the command runs in a new
 * network namespace with only a loopback interface: a real cut. Every run also gets proxies that point at a
 * closed port (http_proxy and friends; JAVA_TOOL_OPTIONS http(s).proxyHost) for the tools that honour them;
 * JBang 0.132.1's resolver does not (checked: it downloads straight through them), which is why the plain
 * variants need the namespace. With NEONMZ_OFFLINE=1 the launcher also passes JBang --offline ("no remote
 * access permitted") and Maven -o: those runs prove offline-ness wherever the test runs.
 */
class OfflineTest {
    /**
     * What a workshop runs: the README's main command (Materialize left out: pulling its image is not what a
     * room without network can do, and the point here is the lab and the Neon-side steps).
     */
    static final Command RUN = new Command(List.of("runbook", "--lab", "--emulator", "never"), "\nrunbook: ");

    record Command(List<String> args, String success) {
        String[] array() {
            return args.toArray(String[]::new);
        }
    }

    static final Path JBANG = LauncherRun.ROOT.resolve("jbang");
    static final String DEAD = "http://127.0.0.1:9";

    /** The prefix that cuts the network, or an empty list when this machine cannot. */
    static List<String> netCut() {
        List<String> cut = List.of("unshare", "-n", "--", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\"");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(cut) {{ add("true"); }}).redirectErrorStream(true).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? cut : List.of();
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** Proxies that lead nowhere, for everything that honours them. */
    static Map<String, String> deadProxies() {
        Map<String, String> env = new HashMap<>();
        for (String v : List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")) {
            env.put(v, DEAD);
        }
        env.put("no_proxy", null);
        env.put("NO_PROXY", null);
        String props = "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=9 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=9";
        env.put("JAVA_TOOL_OPTIONS", props);
        env.put("MAVEN_OPTS", props);
        return env;
    }

    static LauncherRun.Result offline(List<String> cut, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(deadProxies());
        all.putAll(env);
        return LauncherRun.run(cut, JBANG, LauncherRun.ROOT, all, RUN.array());
    }

    static void assertSuccess(String what, LauncherRun.Result r) {
        assertEquals(0, r.exit(), what + "\n" + r.describe());
        assertTrue(r.out().contains(RUN.success), what + "\n" + r.describe());
    }

    @Test
    void afterOneRunItRunsAgainWithTheNetworkCut() throws Exception {
        Path dir = LabTest.labDir();
        Map<String, String> lab = Map.of("NEONMZ_LAB_DIR", dir.toString(), "NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()));
        List<String> cut = netCut();
        System.out.println("network cut: " + (cut.isEmpty() ? "simulated only (no unshare -n here)" : "unshare -n"));
        try {
            // once, online (a no-op for the caches if an earlier test warmed them)
            assertSuccess("online", LauncherRun.run(JBANG, LauncherRun.ROOT, lab, RUN.array()));

            List<String> failures = new ArrayList<>();
            for (boolean offlineFlags : List.of(false, true)) {
                if (!offlineFlags && cut.isEmpty()) {
                    continue;   // without the namespace a plain run could reach the network unnoticed
                }
                for (boolean fastPath : List.of(true, false)) {
                    Map<String, String> env = new HashMap<>(lab);
                    if (offlineFlags) {
                        env.put("NEONMZ_OFFLINE", "1");
                    }
                    if (!fastPath) {
                        env.put("NEONMZ_NO_FASTPATH", "1");
                    }
                    String what = (cut.isEmpty() ? "" : "unshare -n, ") + (offlineFlags ? "NEONMZ_OFFLINE=1, " : "no flags, ")
                            + (fastPath ? "fast path on" : "fast path off");
                    LauncherRun.Result r = offline(cut, env);
                    if (r.exit() != 0 || !r.out().contains(RUN.success)) {
                        failures.add(what + "\n" + r.describe());
                    } else if (fastPath) {
                        assertTrue(r.hit(), what + ": the warmed fast path is used\n" + r.describe());
                    } else {
                        assertTrue(r.fastPathOff() && !r.hit(), what + ": JBang itself ran\n" + r.describe());
                    }
                }
            }
            assertEquals(List.of(), failures);
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
        }
    }

    /** The test can fail: with nothing cached (a fresh JBang home and repository), the same run offline fails, and says why. */
    @Test
    void withNothingCachedItFailsOfflineAndSaysWhy() throws Exception {
        Path fresh = LauncherRun.scratchDir("offline-cold");
        Path dir = LabTest.labDir();
        try {
            Map<String, String> env = new HashMap<>(Map.of(
                    "NEONMZ_LAB_DIR", dir.toString(),
                    "NEONMZ_LAB_PORT", String.valueOf(TestPg.freePort()),
                    "JBANG_DIR", fresh.resolve("jbang-home").toString(),
                    "JBANG_REPO", fresh.resolve("m2").toString(),
                    "NEONMZ_OFFLINE", "1"));
            List<String> cut = netCut();
            LauncherRun.Result r = offline(cut, env);
            assertNotEquals(0, r.exit(), r.describe());
            assertFalse(r.out().contains(RUN.success), r.describe());
            assertTrue(r.err().contains("offline (NEONMZ_OFFLINE is set) and JBang failed")
                    && r.err().contains("run the same command once with the network"), r.describe());
            if (!cut.isEmpty()) {
                // and without the flag, the cut alone stops it: nothing reached the network
                env.remove("NEONMZ_OFFLINE");
                LauncherRun.Result plain = offline(cut, env);
                assertNotEquals(0, plain.exit(), plain.describe());
                assertFalse(plain.out().contains(RUN.success), plain.describe());
            }
        } finally {
            new Lab.Server(dir).stopQuietly();
            Lab.Server.deleteTree(dir);
            LauncherRun.deleteTree(fresh);
        }
    }
}
