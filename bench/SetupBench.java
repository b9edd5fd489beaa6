import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark of the Neon-side setup on many tables (docs/benchmarks.md, "Neon-side setup on 10,000
 * tables"). Not part of the build: bench/run-setup-bench.sh compiles it with javac against
 * target/classes (it uses the lab's server code, {@link Lab.Server}) and runs it.
 *
 * <p>One private PostgreSQL (the lab's embedded binaries) in a temporary directory on a free port; a
 * template database with N simple tables owned by neondb_owner and a login role materialize; then, each on
 * a fresh copy of the template (CREATE DATABASE … TEMPLATE):
 * <ul>
 * <li>ours: replica-identity, publication and grants, each a separate JVM (or ./jbang alias when an
 * executable ./jbang exists), wall time per step;</li>
 * <li>(b) psql -f of the same statements: ALTERs in BEGIN/COMMIT batches of 1000, one CREATE PUBLICATION
 * FOR TABLE of all tables, the three GRANT statements, one psql -f per step;</li>
 * <li>(a) one psql -c per statement, as the guide shows: a sample of the first ALTERs, extrapolated per
 * statement, plus the publication and grant statements measured as they are.</li>
 * </ul>
 * Then a counting pass through a wire-protocol proxy (connections, statements, round trips, client
 * transactions) and pg_stat_database (xact_commit), for a small and the large table count.
 * {@code --pg-bin DIR} runs the same against another installation's binaries (e.g. PostgreSQL 15).
 */
public class SetupBench {
    // ---- settings (command line) -----------------------------------------------------------------
    int tables = 10_000;
    int small = 1_000;
    int reps = 5;
    int aSample = 300;
    int batch = 1000;
    Path result;
    List<String> scriptCp = new ArrayList<>();
    boolean keep;
    boolean waitIdle;
    final List<Double> idleBeforeRuns = new ArrayList<>();

    // ---- state -----------------------------------------------------------------------------------
    final Path repo = Path.of("").toAbsolutePath();
    Path work;
    Srv server;
    Path pgBin;
    int port;
    final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    final List<String> javaOpts = new ArrayList<>();
    boolean viaJbang;
    final AtomicInteger copies = new AtomicInteger();

    static final String[][] STEPS = {
            {"replica-identity", "ReplicaIdentity"},
            {"publication", "CreatePublication"},
            {"grants", "GrantAccess"},
    };

    public static void main(String[] args) throws Exception {
        SetupBench b = new SetupBench();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tables" -> b.tables = Integer.parseInt(args[++i]);
                case "--small" -> b.small = Integer.parseInt(args[++i]);
                case "--reps" -> b.reps = Integer.parseInt(args[++i]);
                case "--a-sample" -> b.aSample = Integer.parseInt(args[++i]);
                case "--batch" -> b.batch = Integer.parseInt(args[++i]);
                case "--result" -> b.result = Path.of(args[++i]);
                case "--script-cp" -> b.scriptCp = List.of(args[++i].split(":"));
                case "--keep" -> b.keep = true;
                case "--wait-idle" -> b.waitIdle = true;
                case "--pg-bin" -> b.pgBin = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        b.run();
    }

    // ---- the run ---------------------------------------------------------------------------------

    void run() throws Exception {
        String opts = System.getenv("BENCH_JAVA_OPTS");
        if (opts != null && !opts.isBlank()) {
            javaOpts.addAll(List.of(opts.trim().split("\\s+")));
        }
        Path jbang = repo.resolve("jbang");
        viaJbang = Files.isRegularFile(jbang) && Files.isExecutable(jbang) && System.getenv("BENCH_NO_JBANG") == null;
        work = Files.createTempDirectory(Path.of(Lab.Server.isRoot() ? "/var/tmp" : System.getProperty("java.io.tmpdir")),
                "neonmz-bench-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        server = pgBin == null ? new LabSrv(new Lab.Server(work.resolve("lab"))) : new BinSrv(pgBin, work.resolve("pg"));
        port = freePort();
        log("bench dir %s, PostgreSQL port %d, scripts run as %s", work, port,
                viaJbang ? "./jbang <alias>" : "java -cp … <Main> (JVM start included)");
        server.start(port);
        Map<String, Object> res = new LinkedHashMap<>();
        try {
            res.putAll(measure());
        } finally {
            if (!keep) {
                server.stop();
                Lab.Server.deleteTree(work);
            } else {
                log("kept: %s (stop with pg_ctl -D %s stop)", work, server.dataDir());
            }
        }
        String json = toJson(res);
        System.out.println(json);
        if (result != null) {
            Files.createDirectories(result.toAbsolutePath().getParent());
            Files.writeString(result, json + "\n");
            log("results written to %s", result);
        }
    }

    Map<String, Object> measure() throws Exception {
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        res.put("machine", machine());
        res.put("server", superValue("postgres", "SELECT version()"));
        res.put("server_settings", superValue("postgres", "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) "
                + "FROM pg_settings WHERE name IN ('max_locks_per_transaction', 'max_connections', "
                + "'max_prepared_transactions', 'fsync', 'synchronous_commit', 'shared_buffers', 'wal_level')"));
        res.put("psql", capture(List.of("psql", "--version")).strip());
        res.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        res.put("scripts_run_as", viaJbang ? "./jbang <alias>" : "java " + String.join(" ", javaOpts)
                + (javaOpts.isEmpty() ? "" : " ") + "-cp <target/classes + //DEPS jars> <Main>");
        res.put("tables", tables);
        res.put("reps", reps);
        res.put("loadavg_at_start", loadavg());

        superExec("postgres", "CREATE ROLE materialize LOGIN");
        long t0 = System.nanoTime();
        createTemplate("bench_big", tables);
        log("template bench_big: %d tables in %.1f s", tables, secs(t0));
        t0 = System.nanoTime();
        createTemplate("bench_small", small);
        log("template bench_small: %d tables in %.1f s", small, secs(t0));

        // JVM floor: start, picocli, --version, exit (no database).
        List<Double> floor = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            floor.add(timeOnly(script("replica-identity", "ReplicaIdentity", List.of("--version")), Map.of()));
        }
        res.put("jvm_floor_s", median(floor));
        log("JVM floor (replica-identity --version): median %.3f s", median(floor));

        // ours and (b), interleaved, each on a fresh copy.
        Map<String, List<Double>> ours = new LinkedHashMap<>();
        Map<String, List<Double>> hand = new LinkedHashMap<>();
        List<Map<String, Object>> profiles = new ArrayList<>();
        List<String> load = new ArrayList<>();
        for (int r = 1; r <= reps; r++) {
            // Alternate which goes first, so that a drift in the machine's state favours neither.
            for (int k = 0; k < 2; k++) {
                awaitIdle();
                String l0 = loadavg();
                if ((r + k) % 2 == 0) {
                    Map<String, Double> o = runOurs("bench_big", r, profiles);
                    o.forEach((x, v) -> ours.computeIfAbsent(x, y -> new ArrayList<>()).add(v));
                    log("rep %d ours: %s (load %s -> %s)", r, fmt(o), l0, loadavg());
                } else {
                    Map<String, Double> b = runBatched("bench_big");
                    b.forEach((x, v) -> hand.computeIfAbsent(x, y -> new ArrayList<>()).add(v));
                    log("rep %d (b):  %s (load %s -> %s)", r, fmt(b), l0, loadavg());
                }
                load.add(l0 + " -> " + loadavg());
            }
        }
        res.put("loadavg_per_run", load);
        res.put("cpu_idle_pct_before_runs", idleBeforeRuns);
        res.put("ours_runs_s", ours);
        res.put("b_runs_s", hand);
        res.put("ours_median_s", medians(ours));
        res.put("b_median_s", medians(hand));
        res.put("ours_profile", profiles);

        awaitIdle();
        Map<String, Object> a = runPerStatement("bench_big");
        res.put("a", a);
        log("(a): %s", a);

        double oursTotal = median(ours.get("total"));
        double bTotal = median(hand.get("total"));
        double aTotal = (Double) a.get("extrapolated_total_s");
        res.put("ratio_ours_over_b", oursTotal / bTotal);
        res.put("ratio_a_over_ours", aTotal / oursTotal);
        log("ours %.2f s, (b) %.2f s, (a) %.0f s (extrapolated): ours/(b) = %.2f, (a)/ours = %.0f",
                oursTotal, bTotal, aTotal, oursTotal / bTotal, aTotal / oursTotal);

        // Round trips, statements, transactions: small vs big. Autovacuum off for this pass only, so that
        // pg_stat_database's commit counter sees the clients' transactions and nothing else.
        superExec("postgres", "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()");
        Map<String, Object> counts = new LinkedHashMap<>();
        for (String[] t : new String[][] {{"bench_small", String.valueOf(small)}, {"bench_big", String.valueOf(tables)}}) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("ours", countOurs(t[0]));
            c.put("b", countBatched(t[0]));
            counts.put(t[1], c);
        }
        counts.put("a_per_statement", countPerStatement("bench_big"));
        res.put("counts", counts);
        superExec("postgres", "ALTER SYSTEM RESET autovacuum", "SELECT pg_reload_conf()");
        return res;
    }

    // ---- ours ------------------------------------------------------------------------------------

    /** The command for one step: ./jbang alias …, or java -cp … Main …. */
    List<String> script(String alias, String main, List<String> args) {
        List<String> cmd = new ArrayList<>();
        if (viaJbang) {
            cmd.add(repo.resolve("jbang").toString());
            cmd.add(alias);
        } else {
            cmd.add(javaBin);
            cmd.addAll(javaOpts);
            cmd.add("-cp");
            cmd.add(String.join(":", scriptCp));
            cmd.add(main);
        }
        cmd.addAll(args);
        return cmd;
    }

    Map<String, String> env(String db, int viaPort, Path pgpass) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DATABASE_URL", "postgresql://neondb_owner@127.0.0.1:" + viaPort + "/" + db + "?sslmode=disable");
        env.put("PGPASSFILE", pgpass.toString());
        env.put("PGHOST", "127.0.0.1");
        env.put("PGPORT", String.valueOf(viaPort));
        env.put("PGDATABASE", db);
        env.put("PGUSER", "neondb_owner");
        env.put("PGSSLMODE", "disable");
        env.put("PGGSSENCMODE", "disable");
        env.put("NO_COLOR", "1");
        return env;
    }

    Map<String, Double> runOurs(String template, int rep, List<Map<String, Object>> profiles) throws Exception {
        String db = copy(template);
        Map<String, Double> t = new LinkedHashMap<>();
        double total = 0;
        for (String[] s : STEPS) {
            checkpoint();
            Path outFile = work.resolve("ours-" + s[0] + "-" + rep + ".out");
            double secs = time(script(s[0], s[1], List.of("--schema", "public")), env(db, port, server.pgpass()), outFile);
            t.put(s[0], secs);
            total += secs;
        }
        t.put("total", total);
        verifyDone(db);
        // The same steps again on another copy with --json: elapsed_ms inside the command, rest is JVM + connect.
        if (rep == 1) {
            String db2 = copy(template);
            for (String[] s : STEPS) {
                checkpoint();
                Path outFile = work.resolve("ours-json-" + s[0] + ".out");
                double secs = time(script(s[0], s[1], List.of("--schema", "public", "--json")), env(db2, port, server.pgpass()),
                        outFile);
                String out = Files.readString(outFile);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"elapsed_ms\":\\s*(\\d+)").matcher(out);
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("step", s[0]);
                p.put("wall_s", secs);
                p.put("in_command_s", m.find() ? Long.parseLong(m.group(1)) / 1000.0 : null);
                profiles.add(p);
            }
            drop(db2);
        }
        drop(db);
        return t;
    }

    /** Every table FULL, published, readable by materialize: the run really did the work. */
    void verifyDone(String db) throws SQLException {
        String q = "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relreplident = 'f') || '/' || "
                + "(SELECT count(*) FROM pg_publication_tables WHERE pubname = 'mz_source') || '/' || "
                + "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'public' AND c.relkind = 'r' AND has_table_privilege('materialize', c.oid, 'SELECT'))";
        String got = String.valueOf(superValue(db, q));
        String want = tables + "/" + tables + "/" + tables;
        if (!got.equals(want) && !got.equals(small + "/" + small + "/" + small)) {
            throw new IllegalStateException("after the run " + db + " has FULL/published/readable = " + got);
        }
    }

    // ---- (b) psql -f, batched ----------------------------------------------------------------------

    List<String> names(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            out.add(String.format("public.t%05d", i));
        }
        return out;
    }

    Map<String, Path> batchedFiles(int n) throws IOException {
        Map<String, Path> files = new LinkedHashMap<>();
        StringBuilder alters = new StringBuilder();
        List<String> ts = names(n);
        for (int i = 0; i < n; i += batch) {
            alters.append("BEGIN;\n");
            for (String t : ts.subList(i, Math.min(n, i + batch))) {
                alters.append("ALTER TABLE ").append(t).append(" REPLICA IDENTITY FULL;\n");
            }
            alters.append("COMMIT;\n");
        }
        files.put("replica-identity", write("b-alters-" + n + ".sql", alters.toString()));
        files.put("publication", write("b-publication-" + n + ".sql",
                "CREATE PUBLICATION mz_source FOR TABLE " + String.join(", ", ts) + ";\n"));
        files.put("grants", write("b-grants.sql", """
                GRANT USAGE ON SCHEMA public TO materialize;
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO materialize;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO materialize;
                """));
        return files;
    }

    Path write(String name, String text) throws IOException {
        Path p = work.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    static List<String> psql(String... args) {
        List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    Map<String, Double> runBatched(String template) throws Exception {
        int n = template.equals("bench_big") ? tables : small;
        Map<String, Path> files = batchedFiles(n);
        String db = copy(template);
        Map<String, Double> t = new LinkedHashMap<>();
        double total = 0;
        for (Map.Entry<String, Path> f : files.entrySet()) {
            checkpoint();
            double secs = time(psql("-f", f.getValue().toString()), env(db, port, server.pgpass()),
                    work.resolve("b-" + f.getKey() + ".out"));
            t.put(f.getKey(), secs);
            total += secs;
        }
        t.put("total", total);
        verifyDone(db);
        drop(db);
        return t;
    }

    // ---- (a) one psql -c per statement -------------------------------------------------------------

    Map<String, Object> runPerStatement(String template) throws Exception {
        String db = copy(template);
        checkpoint();
        Map<String, String> env = env(db, port, server.pgpass());
        List<String> ts = names(tables);
        List<Double> alter = new ArrayList<>();
        for (int i = 0; i < aSample && i < ts.size(); i++) {
            alter.add(time(psql("-c", "ALTER TABLE " + ts.get(i) + " REPLICA IDENTITY FULL"), env, null));
        }
        // One psql call for the publication too; its 10,000 names (~150 KB) exceed Linux's 128 KiB limit on
        // one argv string, so that one statement is read from a file (psql -f) instead of -c.
        String create = "CREATE PUBLICATION mz_source FOR TABLE " + String.join(", ", ts);
        double pub = create.length() < 100_000 ? time(psql("-c", create), env, null)
                : time(psql("-f", write("a-publication.sql", create + ";\n").toString()), env, null);
        double grants = 0;
        for (String g : List.of("GRANT USAGE ON SCHEMA public TO materialize",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO materialize",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO materialize")) {
            grants += time(psql("-c", g), env, null);
        }
        drop(db);
        double mean = alter.stream().mapToDouble(Double::doubleValue).sum() / alter.size();
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("sampled_alters", alter.size());
        a.put("alter_mean_s", mean);
        a.put("alter_median_s", median(alter));
        a.put("alters_extrapolated_s", mean * tables);
        a.put("publication_s", pub);
        a.put("grants_s", grants);
        a.put("extrapolated_total_s", mean * tables + pub + grants);
        return a;
    }

    // ---- counting pass: proxy + pg_stat_database ---------------------------------------------------

    Map<String, Object> countOurs(String template) throws Exception {
        String db = copy(template);
        Map<String, Object> out = new LinkedHashMap<>();
        try (Proxy proxy = new Proxy(port)) {
            Path pgpass = proxyPgpass(proxy.port());
            for (String[] s : STEPS) {
                out.put(s[0], counted(db, proxy, () -> time(script(s[0], s[1], List.of("--schema", "public")),
                        env(db, proxy.port(), pgpass), work.resolve("count-" + s[0] + ".out"))));
            }
        }
        verifyDone(db);
        drop(db);
        return out;
    }

    Map<String, Object> countBatched(String template) throws Exception {
        int n = template.equals("bench_big") ? tables : small;
        Map<String, Path> files = batchedFiles(n);
        String db = copy(template);
        Map<String, Object> out = new LinkedHashMap<>();
        try (Proxy proxy = new Proxy(port)) {
            Path pgpass = proxyPgpass(proxy.port());
            for (Map.Entry<String, Path> f : files.entrySet()) {
                out.put(f.getKey(), counted(db, proxy, () -> time(psql("-f", f.getValue().toString()),
                        env(db, proxy.port(), pgpass), null)));
            }
        }
        drop(db);
        return out;
    }

    /** Three psql -c ALTER calls through the proxy: what one statement of (a) costs on the wire. */
    Map<String, Object> countPerStatement(String template) throws Exception {
        String db = copy(template);
        Map<String, Object> out;
        try (Proxy proxy = new Proxy(port)) {
            Path pgpass = proxyPgpass(proxy.port());
            out = counted(db, proxy, () -> {
                for (int i = 1; i <= 3; i++) {
                    time(psql("-c", String.format("ALTER TABLE public.t%05d REPLICA IDENTITY FULL", i)),
                            env(db, proxy.port(), pgpass), null);
                }
                return 0.0;
            });
        }
        drop(db);
        Map<String, Object> per = new LinkedHashMap<>();
        out.forEach((k, v) -> per.put(k, v instanceof Number n ? n.doubleValue() / 3 : v));
        per.remove("wall_s");
        return per;
    }

    interface Timed {
        double run() throws Exception;
    }

    Map<String, Object> counted(String db, Proxy proxy, Timed body) throws Exception {
        long[] x0 = xacts(db);
        Proxy.Counts c0 = proxy.snapshot();
        double wall = body.run();
        proxy.awaitIdle();
        awaitNoBackends(db);
        Proxy.Counts c1 = proxy.snapshot();
        long[] x1 = xacts(db);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("connections", c1.connections - c0.connections);
        m.put("round_trips", c1.roundTrips() - c0.roundTrips());
        m.put("auth_round_trips", c1.authRequests - c0.authRequests);
        m.put("ready_for_query", c1.readyForQuery - c0.readyForQuery);
        m.put("statements_sent", c1.statements() - c0.statements());
        m.put("client_transactions", c1.transactions - c0.transactions);
        m.put("xact_commit", x1[0] - x0[0]);
        m.put("rollbacks", x1[1] - x0[1]);
        m.put("wall_s", wall);
        return m;
    }

    Path proxyPgpass(int proxyPort) throws IOException {
        String pw = server.ownerPassword();
        Path p = work.resolve("pgpass-proxy");
        Files.deleteIfExists(p);
        Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(p, "127.0.0.1:" + proxyPort + ":*:neondb_owner:" + pw + "\n");
        return p;
    }

    // ---- the server under test -----------------------------------------------------------------------

    /** The lab's PostgreSQL (default), or another installation's binaries (--pg-bin), set up the same way. */
    interface Srv {
        void start(int port) throws Exception;

        void stop();

        neonmz.ConnInfo superConn(String db);

        neonmz.ConnInfo ownerConn();

        Path pgpass();

        String ownerPassword() throws IOException;

        Path dataDir();
    }

    record LabSrv(Lab.Server lab) implements Srv {
        public void start(int port) throws Exception {
            lab.start(port, Map.of(), null);
        }

        public void stop() {
            lab.stop();
        }

        public neonmz.ConnInfo superConn(String db) {
            return lab.superConn(db);
        }

        public neonmz.ConnInfo ownerConn() {
            return lab.ownerConn();
        }

        public Path pgpass() {
            return lab.pgpass();
        }

        public String ownerPassword() throws IOException {
            return Files.readAllLines(lab.dir.resolve("owner.password")).get(0);
        }

        public Path dataDir() {
            return lab.dir.resolve("data");
        }
    }

    /**
     * A server from another installation's bin directory (e.g. /usr/lib/postgresql/15/bin), made like
     * the lab: initdb with SCRAM for TCP, the lab's settings, neon_superuser and neondb_owner, a PGPASSFILE.
     */
    static final class BinSrv implements Srv {
        final Path bin;
        final Path dir;
        int port;
        String superPw;
        String ownerPw;

        BinSrv(Path bin, Path dir) {
            this.bin = bin;
            this.dir = dir.toAbsolutePath();
        }

        public Path dataDir() {
            return dir.resolve("data");
        }

        public Path pgpass() {
            return dir.resolve("pgpass");
        }

        public String ownerPassword() {
            return ownerPw;
        }

        public void start(int port) throws Exception {
            this.port = port;
            Files.createDirectories(dataDir());
            superPw = neonmz.Secrets.generate();
            ownerPw = neonmz.Secrets.generate();
            Path pwfile = dir.resolve("initdb.pw");
            Files.writeString(pwfile, superPw + "\n");
            chown(dir);
            chown(dataDir());
            chown(pwfile);
            Files.setPosixFilePermissions(dataDir(), PosixFilePermissions.fromString("rwx------"));
            run(List.of("initdb", "-D", dataDir().toString(), "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C"));
            Files.delete(pwfile);
            StringBuilder conf = new StringBuilder("\n");
            Lab.SETTINGS.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
            conf.append("port = ").append(port).append('\n');
            Files.writeString(dataDir().resolve("postgresql.conf"), conf.toString(), java.nio.file.StandardOpenOption.APPEND);
            run(List.of("pg_ctl", "start", "-D", dataDir().toString(), "-l", dir.resolve("postgres.log").toString(),
                    "-w", "-t", "60"));
            try (Connection c = Lab.Server.open(superConn("postgres")); Statement s = c.createStatement()) {
                s.execute(Lab.CREATE_NEON_SUPERUSER);
                s.execute(String.format(Lab.CREATE_OWNER, neonmz.Sql.literal(
                        org.postgresql.util.PasswordUtil.encodeScramSha256(ownerPw.toCharArray()))));
            }
            Files.createFile(pgpass(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(pgpass(), "127.0.0.1:" + port + ":*:neondb_owner:" + ownerPw + "\n");
        }

        public void stop() {
            try {
                run(List.of("pg_ctl", "stop", "-D", dataDir().toString(), "-m", "fast", "-w"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        public neonmz.ConnInfo superConn(String db) {
            neonmz.ConnInfo ci = neonmz.ConnInfo.parse("postgresql://postgres@127.0.0.1:" + port + "/" + db + "?sslmode=disable");
            ci.password(superPw, "bench");
            return ci.withDefaults(Map.of());
        }

        public neonmz.ConnInfo ownerConn() {
            neonmz.ConnInfo ci = neonmz.ConnInfo.parse("postgresql://neondb_owner@127.0.0.1:" + port + "/postgres?sslmode=disable");
            ci.password(ownerPw, "bench");
            return ci.withDefaults(Map.of());
        }

        void chown(Path p) throws IOException {
            if (Lab.Server.isRoot()) {
                Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
            }
        }

        void run(List<String> cmd) throws IOException, InterruptedException {
            List<String> full = new ArrayList<>();
            if (Lab.Server.isRoot()) {
                full.addAll(List.of("runuser", "-u", "postgres", "--"));
            }
            full.add(bin.resolve(cmd.get(0)).toString());
            full.addAll(cmd.subList(1, cmd.size()));
            ProcessBuilder pb = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("tools.log").toFile()));
            pb.environment().put("LC_ALL", "C");
            if (pb.start().waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed; see " + dir.resolve("tools.log"));
            }
        }
    }

    long[] xacts(String db) throws SQLException, InterruptedException {
        try (Connection c = Lab.Server.open(server.superConn("postgres")); Statement s = c.createStatement()) {
            s.execute("SELECT pg_stat_force_next_flush()");
            try (ResultSet rs = s.executeQuery("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = '"
                    + db + "'")) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    void awaitNoBackends(String db) throws Exception {
        for (int i = 0; i < 200; i++) {
            Object n = superValue("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db + "'");
            if (((Number) n).intValue() == 0) {
                Thread.sleep(100); // the exiting backend flushes its statistics last
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("backends of " + db + " did not exit");
    }

    // ---- databases ---------------------------------------------------------------------------------

    void createTemplate(String name, int n) throws SQLException {
        superExec("postgres", "CREATE DATABASE " + name + " OWNER neondb_owner");
        superExec(name, "REVOKE ALL ON SCHEMA public FROM PUBLIC", "GRANT ALL ON SCHEMA public TO neondb_owner");
        var ci = server.ownerConn();
        ci.dbname = name;
        try (Connection c = Lab.Server.open(ci); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                b.append(String.format("CREATE TABLE public.t%05d (id int PRIMARY KEY, v text);\n", i));
                if (i % 500 == 0 || i == n) {
                    s.execute(b.toString());
                    c.commit();
                    b.setLength(0);
                }
            }
        }
        superExec("postgres", "CHECKPOINT");
    }

    String copy(String template) throws SQLException {
        String db = "run_" + copies.incrementAndGet();
        superExec("postgres", "CREATE DATABASE " + db + " TEMPLATE " + template + " OWNER neondb_owner STRATEGY FILE_COPY");
        return db;
    }

    void drop(String db) throws SQLException {
        superExec("postgres", "DROP DATABASE " + db + " WITH (FORCE)");
    }

    void checkpoint() throws SQLException {
        superExec("postgres", "CHECKPOINT");
    }

    void superExec(String db, String... sqls) throws SQLException {
        try (Connection c = Lab.Server.open(server.superConn(db)); Statement s = c.createStatement()) {
            for (String q : sqls) {
                s.execute(q);
            }
        }
    }

    Object superValue(String db, String sql) throws SQLException {
        try (Connection c = Lab.Server.open(server.superConn(db)); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getObject(1) : null;
        }
    }

    // ---- processes -------------------------------------------------------------------------------

    /** Wall time of one process, start to exit, in seconds; fails on a non-zero exit. */
    double time(List<String> cmd, Map<String, String> env, Path outFile) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(repo.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.equals("DATABASE_URL"));
        pb.environment().putAll(env);
        Path out = outFile != null ? outFile : work.resolve("last.out");
        pb.redirectOutput(out.toFile());
        long t0 = System.nanoTime();
        int rc = pb.start().waitFor();
        double secs = secs(t0);
        if (rc != 0) {
            throw new IllegalStateException("exit " + rc + " from " + String.join(" ", cmd).substring(0,
                    Math.min(200, String.join(" ", cmd).length())) + ":\n" + Files.readString(out));
        }
        return secs;
    }

    double timeOnly(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        return time(cmd, env, null);
    }

    static String capture(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return s;
    }

    static Map<String, Object> machine() throws IOException, InterruptedException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        String cpu = "?";
        for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (l.startsWith("model name")) {
                cpu = l.substring(l.indexOf(':') + 1).trim();
                break;
            }
        }
        m.put("cpu", cpu);
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("MemTotal:")) {
                m.put("memory_gib", Math.round(Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0 * 10) / 10.0);
            }
        }
        m.put("kernel", capture(List.of("uname", "-sr")).strip());
        return m;
    }

    /** Idle share of all CPUs over one second, from /proc/stat (the bench itself is idle meanwhile). */
    static double idleShare() throws IOException, InterruptedException {
        long[] a = cpu();
        Thread.sleep(1000);
        long[] b = cpu();
        return (double) (b[0] - a[0]) / Math.max(1, b[1] - a[1]);
    }

    static long[] cpu() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length; i++) {
            total += Long.parseLong(f[i]);
        }
        return new long[] {Long.parseLong(f[4]) + Long.parseLong(f[5]), total};
    }

    /** With --wait-idle: before a timed run, wait (at most 10 minutes) until other work leaves the CPUs ≥ 90 % idle. */
    void awaitIdle() throws IOException, InterruptedException {
        if (!waitIdle) {
            return;
        }
        long deadline = System.nanoTime() + 600_000_000_000L;
        double idle;
        while ((idle = idleShare()) < 0.9 && System.nanoTime() < deadline) {
            log("waiting for an idle machine (%.0f %% idle)", idle * 100);
            Thread.sleep(4000);
        }
        idleBeforeRuns.add(Math.round(idle * 1000) / 10.0);
    }

    /** The 1, 5 and 15 minute load averages: other work on the machine shows here. */
    static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    // ---- numbers ---------------------------------------------------------------------------------

    static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static Map<String, Double> medians(Map<String, List<Double>> runs) {
        Map<String, Double> m = new LinkedHashMap<>();
        runs.forEach((k, v) -> m.put(k, median(v)));
        return m;
    }

    static String fmt(Map<String, Double> t) {
        List<String> parts = new ArrayList<>();
        t.forEach((k, v) -> parts.add(String.format(Locale.ROOT, "%s %.3f s", k, v)));
        return String.join(", ", parts);
    }

    static void log(String format, Object... args) {
        System.err.println("[bench] " + String.format(Locale.ROOT, format, args));
    }

    static String toJson(Object o) {
        StringBuilder b = new StringBuilder();
        json(b, o, "");
        return b.toString();
    }

    private static void json(StringBuilder b, Object o, String indent) {
        if (o instanceof Map<?, ?> m) {
            b.append("{");
            String sep = "\n";
            for (Map.Entry<?, ?> e : m.entrySet()) {
                b.append(sep).append(indent).append("  ");
                json(b, String.valueOf(e.getKey()), indent + "  ");
                b.append(": ");
                json(b, e.getValue(), indent + "  ");
                sep = ",\n";
            }
            b.append(m.isEmpty() ? "}" : "\n" + indent + "}");
        } else if (o instanceof List<?> l) {
            b.append("[");
            String sep = "";
            for (Object x : l) {
                b.append(sep);
                json(b, x, indent);
                sep = ", ";
            }
            b.append("]");
        } else if (o instanceof Double d) {
            b.append(String.format(Locale.ROOT, "%.4f", d));
        } else if (o instanceof Number || o instanceof Boolean) {
            b.append(o);
        } else if (o == null) {
            b.append("null");
        } else {
            b.append('"').append(o.toString().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
        }
    }

    // ---- the wire-protocol proxy ---------------------------------------------------------------------

    /**
     * A TCP proxy in front of the server that reads the PostgreSQL protocol as it passes: connections,
     * statements sent (Query and Execute messages), and round trips: each time the server answers a
     * request the client must wait for (ReadyForQuery after a Query or Sync, and each authentication
     * challenge). Messages are forwarded one by one, unchanged, flushed when nothing more is buffered, so
     * pipelining is preserved. No TLS (sslmode=disable, gssencmode=disable).
     */
    static final class Proxy implements AutoCloseable {
        record Counts(long connections, long queries, long executes, long syncs, long readyForQuery, long authRequests,
                      long transactions) {
            long roundTrips() {
                return readyForQuery + authRequests;
            }

            long statements() {
                return queries + executes;
            }
        }

        final ServerSocket ss;
        final int target;
        final AtomicLong connections = new AtomicLong();
        final AtomicLong queries = new AtomicLong();
        final AtomicLong executes = new AtomicLong();
        final AtomicLong syncs = new AtomicLong();
        final AtomicLong readyForQuery = new AtomicLong();
        final AtomicLong authRequests = new AtomicLong();
        final AtomicLong transactions = new AtomicLong();
        final AtomicInteger open = new AtomicInteger();
        volatile boolean closed;

        Proxy(int target) throws IOException {
            this.target = target;
            ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return ss.getLocalPort();
        }

        Counts snapshot() {
            return new Counts(connections.get(), queries.get(), executes.get(), syncs.get(), readyForQuery.get(),
                    authRequests.get(), transactions.get());
        }

        void awaitIdle() throws InterruptedException {
            for (int i = 0; i < 400 && open.get() > 0; i++) {
                Thread.sleep(25);
            }
            if (open.get() > 0) {
                throw new IllegalStateException("proxy connections still open");
            }
        }

        void accept() {
            while (!closed) {
                try {
                    Socket client = ss.accept();
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                    client.setTcpNoDelay(true);
                    upstream.setTcpNoDelay(true);
                    connections.incrementAndGet();
                    open.addAndGet(2);
                    java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
                    start(() -> frontend(client, upstream, ran));
                    start(() -> backend(upstream, client, ran));
                } catch (IOException e) {
                    if (!closed) {
                        e.printStackTrace();
                    }
                }
            }
        }

        static void start(Runnable r) {
            Thread t = new Thread(r, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        /** Client to server: the startup packet, then typed messages. */
        void frontend(Socket from, Socket to, java.util.concurrent.atomic.AtomicBoolean ran) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(from.getInputStream(), 1 << 16));
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(to.getOutputStream(), 1 << 16))) {
                int len = in.readInt();
                byte[] body = in.readNBytes(len - 4);
                int code = ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
                if (code == 80877103 || code == 80877104) {
                    throw new IllegalStateException("TLS/GSS request through the bench proxy; use sslmode=disable");
                }
                out.writeInt(len);
                out.write(body);
                out.flush();
                while (true) {
                    int type = in.read();
                    if (type < 0) {
                        break;
                    }
                    switch (type) {
                        case 'Q' -> {
                            queries.incrementAndGet();
                            ran.set(true);
                        }
                        case 'E' -> {
                            executes.incrementAndGet();
                            ran.set(true);
                        }
                        case 'S' -> syncs.incrementAndGet();
                        default -> { }
                    }
                    pass(type, in, out);
                }
            } catch (EOFException | java.net.SocketException e) {
                // connection closed
            } catch (IOException e) {
                e.printStackTrace();
            } finally {
                closeBoth(from, to);
                open.decrementAndGet();
            }
        }

        /**
         * Server to client: typed messages from the first byte. A ReadyForQuery that reports the session
         * idle ('I') after statements ran ends a transaction of the client's (autocommit or COMMIT);
         * one that reports 'T' (a batch flushed mid-transaction) does not.
         */
        void backend(Socket from, Socket to, java.util.concurrent.atomic.AtomicBoolean ran) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(from.getInputStream(), 1 << 16));
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(to.getOutputStream(), 1 << 16))) {
                while (true) {
                    int type = in.read();
                    if (type < 0) {
                        break;
                    }
                    if (type == 'Z') {
                        readyForQuery.incrementAndGet();
                        int len = in.readInt();
                        byte[] body = in.readNBytes(len - 4);
                        if (ran.getAndSet(false) && body.length == 1 && body[0] == 'I') {
                            transactions.incrementAndGet();
                        }
                        out.write(type);
                        out.writeInt(len);
                        out.write(body);
                        if (in.available() == 0) {
                            out.flush();
                        }
                    } else if (type == 'R') {
                        int len = in.readInt();
                        byte[] body = in.readNBytes(len - 4);
                        int code = ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
                        // cleartext, MD5, SASL, SASL continue: the client must answer before anything goes on.
                        if (code == 3 || code == 5 || code == 10 || code == 11) {
                            authRequests.incrementAndGet();
                        }
                        out.write(type);
                        out.writeInt(len);
                        out.write(body);
                        if (in.available() == 0) {
                            out.flush();
                        }
                    } else {
                        pass(type, in, out);
                    }
                }
            } catch (EOFException | java.net.SocketException e) {
                // connection closed
            } catch (IOException e) {
                e.printStackTrace();
            } finally {
                closeBoth(from, to);
                open.decrementAndGet();
            }
        }

        static void pass(int type, DataInputStream in, DataOutputStream out) throws IOException {
            int len = in.readInt();
            out.write(type);
            out.writeInt(len);
            long left = len - 4;
            byte[] buf = new byte[8192];
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new EOFException();
                }
                out.write(buf, 0, n);
                left -= n;
            }
            if (in.available() == 0) {
                out.flush();
            }
        }

        static void closeBoth(Socket a, Socket b) {
            try {
                a.close();
            } catch (IOException ignored) {
                // closing
            }
            try {
                b.close();
            } catch (IOException ignored) {
                // closing
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            ss.close();
        }
    }
}
