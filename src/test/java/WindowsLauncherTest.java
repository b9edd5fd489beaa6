import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * jbang.cmd and jbang.ps1, the Windows launchers. Neither cmd nor PowerShell runs here, so this checks what can
 * be checked without them: git gives them CRLF line endings, they pin what ./jbang pins (gson, the dependency
 * plugin, pom.xml's jbang.version, the cache layout), they set the lab's platform to a build zonky publishes,
 * and jbang.cmd hands its arguments to jbang.ps1 beside it. (When pwsh is installed, the script also parses.)
 */
class WindowsLauncherTest {
    static final Path ROOT = LauncherRun.ROOT;

    static String read(String f) throws IOException {
        return Files.readString(ROOT.resolve(f));
    }

    static String group(String regex, String text) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(text);
        assertTrue(m.find(), regex);
        return m.group(1);
    }

    @Test
    void gitChecksThemOutWithCrlfAndTheBashLauncherWithLf() {
        String eol = LauncherRun.runCommand(List.of("git", "-C", ROOT.toString(), "check-attr", "eol", "--",
                "jbang.cmd", "jbang.ps1", "jbang"));
        assertEquals(List.of("jbang.cmd: eol: crlf", "jbang.ps1: eol: crlf", "jbang: eol: lf"), eol.lines().toList());
    }

    @Test
    void theyPinWhatTheBashLauncherAndThePomPin() throws Exception {
        String bash = read("jbang");
        String ps1 = read("jbang.ps1");
        String gson = group("^readonly NEONMZ_GSON_VERSION=(\\S+)$", bash);
        assertEquals(gson, group("^\\$gsonVersion = '([^']+)'", ps1));
        assertEquals(DepsTest.pomVersions().get("com.google.code.gson:gson"), gson);
        assertEquals(group("^readonly NEONMZ_DEP_PLUGIN=(\\S+)$", bash), group("^\\$depPlugin = '([^']+)'", ps1));
        // jbang.version read from pom.xml (or .jbang-version in a copy), not written into the script
        assertTrue(ps1.contains(".project.properties.'jbang.version'") && ps1.contains("'.jbang-version'"), "pom.xml's jbang.version");
        assertFalse(ps1.contains(LauncherRun.JBANG_VERSION), "no jbang version written into jbang.ps1");
        // the same fetch: jbang-cli without its gson, plus gson at the pinned version, into jbang-<version>\lib
        for (String s : List.of("<artifactId>jbang-cli</artifactId>", "<exclusion><groupId>com.google.code.gson</groupId><artifactId>gson</artifactId></exclusion>",
                "copy-dependencies", "-DincludeScope=runtime", "\"jbang-$version\"", "'.cache'", "'neonmz'", "dev.jbang.Main")) {
            assertTrue(ps1.contains(s), s);
        }
        assertTrue(bash.contains("jbang_home=$cache_root/jbang-$jbang_version") && bash.contains("${XDG_CACHE_HOME:-$HOME/.cache}/neonmz"),
                "the same cache layout as ./jbang");
    }

    @Test
    void theProtocolAndThePlatform() throws IOException {
        String ps1 = read("jbang.ps1");
        assertTrue(ps1.contains("if ($rc -eq 255) {") && ps1.contains("Invoke-Expression \"& $output\""), "JBang's launcher protocol");
        assertTrue(ps1.contains("$env:JBANG_RUNTIME_SHELL, $env:JBANG_STDIN_NOTTY, $env:JBANG_LAUNCH_CMD = 'powershell'"));
        String platform = group("\\$env:NEONMZ_PG_PLATFORM = '([^']+)'", ps1);
        assertEquals("windows-amd64", platform);
        assertTrue(Lab.Platform.ARTIFACTS.contains(platform), Lab.Platform.ARTIFACTS.toString());
        String cmd = read("jbang.cmd");
        assertTrue(cmd.contains("powershell -NoProfile -ExecutionPolicy Bypass -File \"%~dp0jbang.ps1\" %*\r\n"), cmd);
        assertTrue(cmd.endsWith("exit /b %ERRORLEVEL%\r\n"), "the exit code passes through");
        // every line of the working copy ends in CRLF (cmd misparses labels and blocks with LF)
        assertTrue(cmd.replace("\r\n", "").indexOf('\n') < 0, "CRLF only");
    }

    @Test
    void theScriptParsesWherePowerShellIsInstalled() {
        String pwsh = LabEnvTest.onPath("pwsh").orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(pwsh != null, "no pwsh here: jbang.ps1 was checked by reading only");
        String out = LauncherRun.runCommand(List.of(pwsh, "-NoProfile", "-Command",
                "$e = $null; [System.Management.Automation.Language.Parser]::ParseFile('" + ROOT.resolve("jbang.ps1")
                        + "', [ref]$null, [ref]$e) | Out-Null; $e.Count"));
        assertEquals("0", out.strip());
    }
}
