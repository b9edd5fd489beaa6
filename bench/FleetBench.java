import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Json;

/**
 * fleet over 1,000 branches (300 projects, as FleetTest builds them) against the fake Neon API, with latency
 * injected on both sides: every API answer waits {@code apiMs}, and every byte to and from PostgreSQL passes a
 * proxy that delays it {@code dbOneWayMs} each way (a round trip of twice that). The fake enforces and counts
 * Neon's published limits (700 requests in any 60 s, 40 of one route in any 1 s) and answers 429 over them.
 *
 * Runs, in one process, on the same organization:
 *   fleet           the default (--parallel 16, --api-rate 600, --api-burst 30), every database listed;
 *   fleet --database neondb --role neondb_owner   (no databases request per branch), then also with --parallel 32;
 *   one at a time   the yardstick: for each branch with logical replication on, what one does today per branch:
 *                   ./jbang connection-details --project P --branch B (4 requests) then ./jbang doctor on its URI,
 *                   in-process (no JVM start counted), one branch after the other; timed on the first
 *                   {@code sample} branches and extrapolated linearly to all of them (stated as such).
 * Compiled against target/test-classes by bench/fleet.sh (it uses FakeNeonApi, FleetTest's organization and
 * the lab server), which writes bench/results/fleet-bench.json; the figures go into docs/benchmarks.md.
 */
public class FleetBench {
    public static void main(String[] args) throws Exception {
        long apiMs = Long.parseLong(arg(args, 0, "150"));
        long dbOneWayMs = Long.parseLong(arg(args, 1, "10"));
        int sample = Integer.parseInt(arg(args, 2, "100"));
        Path out = Path.of(arg(args, 3, "bench/results/fleet-bench.json"));
        FleetTest.databases();
        Lab.Server server = TestPg.server();
        try (Proxy proxy = new Proxy(server.port(), dbOneWayMs)) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("api_latency_ms", apiMs);
            result.put("db_one_way_ms", dbOneWayMs);
            result.put("fleet_default", fleet(proxy, apiMs, List.of()));
            result.put("fleet_database_role", fleet(proxy, apiMs, List.of("--database", FleetTest.good, "--role", "neondb_owner")));
            result.put("fleet_database_role_parallel_32", fleet(proxy, apiMs,
                    List.of("--database", FleetTest.good, "--role", "neondb_owner", "--parallel", "32")));
            result.put("one_at_a_time", oneAtATime(proxy, apiMs, sample));
            Files.createDirectories(out.getParent());
            Files.writeString(out, Json.write(result) + "\n", StandardCharsets.UTF_8);
            System.out.println(Json.write(result));
        } finally {
            FleetTest.dropSlot();
            System.exit(0);
        }
    }

    static String arg(String[] a, int i, String d) {
        return a.length > i ? a[i] : d;
    }

    /** FleetTest's organization (300 projects, 1,000 branches), every branch backed by the good database through the proxy. */
    static FakeNeonApi organization(Proxy proxy, long apiMs) throws Exception {
        FakeNeonApi api = FleetTest.fleet(300);
        String owner = TestPg.server().readSecret("owner.password");
        for (List<JsonObject> bs : api.branches.values()) {
            for (JsonObject b : bs) {
                api.back(b.get("id").getAsString(), "127.0.0.1:" + proxy.port(), List.of(FleetTest.good), "neondb_owner", owner);
            }
        }
        api.latencyMs = apiMs;
        api.perMinute = 700;
        api.perRouteSecond = 40;
        return api;
    }

    static Map<String, Object> fleet(Proxy proxy, long apiMs, List<String> extra) throws Exception {
        FakeNeonApi api = organization(proxy, apiMs);
        Map<String, String> env = new HashMap<>(api.env());
        env.remove("NEON_PROJECT_ID");
        List<String> a = new ArrayList<>(List.of("--org-id", FakeNeonApi.ORG_ID, "--replication-role", FleetTest.ROLE, "--json"));
        a.addAll(extra);
        long t0 = System.nanoTime();
        TestPg.Run r = TestPg.run(new Fleet(), env, a.toArray(String[]::new));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        JsonObject j = JsonParser.parseString(r.out().strip()).getAsJsonObject();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("args", String.join(" ", a));
        m.put("exit", r.exit());
        m.put("ms", ms);
        m.put("rows", j.getAsJsonArray("branches").size());
        m.put("counts", j.get("counts").toString());
        m.put("api", j.get("api").toString());
        int[] peaks = api.peaks();
        m.put("requests_seen_by_fake", api.log.size());
        m.put("over_limit", api.overLimit.get());
        m.put("peak_per_60s", peaks[0]);
        m.put("peak_per_route_1s", peaks[1]);
        api.close();
        System.err.println("fleet " + extra + ": " + ms + " ms, " + m);
        return m;
    }

    /** The yardstick on the first {@code sample} branches with logical replication on, extrapolated to all of them. */
    static Map<String, Object> oneAtATime(Proxy proxy, long apiMs, int sample) throws Exception {
        FakeNeonApi api = organization(proxy, apiMs);
        List<String[]> todo = new ArrayList<>();
        for (Map.Entry<String, List<JsonObject>> e : api.branches.entrySet()) {
            boolean logical = api.projects.get(e.getKey()).getAsJsonObject("settings").get("enable_logical_replication").getAsBoolean();
            boolean ours = FakeNeonApi.ORG_ID.equals(api.projectOrg.get(e.getKey()));
            for (JsonObject b : e.getValue()) {
                if (logical && ours) {
                    todo.add(new String[] {e.getKey(), b.get("id").getAsString()});
                }
            }
        }
        long t0 = System.nanoTime();
        int failures = 0;
        for (String[] pb : todo.subList(0, Math.min(sample, todo.size()))) {
            Map<String, String> env = new HashMap<>(api.env());
            env.remove("NEON_PROJECT_ID");
            TestPg.Run d = TestPg.run(new ConnectionDetails(), env, "--project", pb[0], "--branch", pb[1], "--role",
                    "neondb_owner", "--database", FleetTest.good, "--json");
            JsonObject j = JsonParser.parseString(d.out().strip()).getAsJsonObject();
            String url = "postgresql://neondb_owner@" + j.get("host").getAsString() + ":" + j.get("port").getAsInt() + "/"
                    + FleetTest.good + "?sslmode=disable";
            Map<String, String> denv = new HashMap<>();
            denv.put("PGPASSWORD", TestPg.server().readSecret("owner.password"));
            TestPg.Run doc = TestPg.run(new Doctor(), denv, "--pg-url", url, "--role", FleetTest.ROLE, "--json");
            failures += d.exit() == 0 && doc.exit() == 0 ? 0 : 1;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        int n = Math.min(sample, todo.size());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("branches_timed", n);
        m.put("branches_in_fleet", todo.size());
        m.put("ms_timed", ms);
        m.put("ms_per_branch", ms / (double) n);
        m.put("ms_extrapolated", Math.round(ms / (double) n * todo.size()));
        m.put("failures", failures);
        m.put("requests_seen_by_fake", api.log.size());
        m.put("over_limit", api.overLimit.get());
        api.close();
        System.err.println("one at a time: " + m);
        return m;
    }

    /** A TCP proxy that delays every chunk by a fixed time in each direction (order kept, throughput not capped). */
    static final class Proxy implements AutoCloseable {
        final ServerSocket listen;
        final int target;
        final long delayMs;

        Proxy(int target, long delayMs) throws IOException {
            this.listen = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            this.target = target;
            this.delayMs = delayMs;
            Thread t = new Thread(this::accept, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return listen.getLocalPort();
        }

        void accept() {
            while (!listen.isClosed()) {
                try {
                    Socket c = listen.accept();
                    Socket s = new Socket(InetAddress.getLoopbackAddress(), target);
                    c.setTcpNoDelay(true);
                    s.setTcpNoDelay(true);
                    pipe(c, s);
                    pipe(s, c);
                } catch (IOException e) {
                    // closed, or the server refused: the client sees its connection drop
                }
            }
        }

        record Chunk(long due, byte[] data) {}

        void pipe(Socket from, Socket to) throws IOException {
            BlockingQueue<Chunk> q = new LinkedBlockingQueue<>();
            InputStream in = from.getInputStream();
            OutputStream os = to.getOutputStream();
            Thread reader = new Thread(() -> {
                byte[] buf = new byte[65536];
                try {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        q.add(new Chunk(System.nanoTime() + delayMs * 1_000_000, java.util.Arrays.copyOf(buf, n)));
                    }
                } catch (IOException e) {
                    // closed
                }
                q.add(new Chunk(System.nanoTime() + delayMs * 1_000_000, null));
            });
            Thread writer = new Thread(() -> {
                try {
                    while (true) {
                        Chunk c = q.take();
                        long wait = c.due() - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                        if (c.data() == null) {
                            break;
                        }
                        os.write(c.data());
                        os.flush();
                    }
                } catch (IOException | InterruptedException e) {
                    // closed
                }
                try {
                    to.shutdownOutput();
                } catch (IOException e) {
                    // closed
                }
            });
            reader.setDaemon(true);
            writer.setDaemon(true);
            reader.start();
            writer.start();
        }

        @Override
        public void close() throws IOException {
            listen.close();
        }
    }
}
