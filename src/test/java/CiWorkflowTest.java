import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The CI workflow (.github/workflows/materialize.yml) runs the fast test command (.ci/run) and the Materialize
 * tier through the pom's profile, with the emulator image that pom.xml pins: the workflow holds no copy of it,
 * so a new pin needs no edit there. Its actions are pinned by version.
 */
class CiWorkflowTest {
    static final String WORKFLOW = ".github/workflows/materialize.yml";

    @Test
    void theWorkflowRunsBothTiersWithThePomsPin() throws Exception {
        String wf = Files.readString(LauncherRun.ROOT.resolve(WORKFLOW));
        String pom = Files.readString(LauncherRun.ROOT.resolve("pom.xml"));
        assertTrue(wf.contains("run: .ci/run"), "the tests job runs the README's test command through .ci/run");
        assertTrue(wf.contains("mvn -B -Pmaterialize verify"), "the Docker tier runs through the pom's profile");
        assertTrue(pom.contains("<id>materialize</id>"), "pom.xml has the materialize profile");
        assertTrue(pom.contains("<materialize.image>"), "pom.xml defines materialize.image, which failsafe passes to MzTier");
        assertTrue(wf.contains("-Dexpression=materialize.image"), "the workflow reads the image from the pom");
        Matcher version = Pattern.compile("v\\d+\\.\\d+\\.\\d+|materialize/materialized:").matcher(wf);
        assertFalse(version.find(), "no copy of the Materialize pin in " + WORKFLOW + ": " + (version.find(0) ? version.group() : ""));
        for (String path : List.of("target/surefire-reports/", "target/failsafe-reports/")) {
            assertTrue(wf.contains(path), "the reports are kept: " + path);
        }
    }

    @Test
    void everyActionIsPinnedByVersion() throws Exception {
        String wf = Files.readString(LauncherRun.ROOT.resolve(WORKFLOW));
        Matcher uses = Pattern.compile("uses:\\s*(\\S+)").matcher(wf);
        int n = 0;
        while (uses.find()) {
            n++;
            assertTrue(uses.group(1).matches("[\\w.-]+/[\\w.-]+@v\\d+(\\.\\d+)*"), "pinned by version: " + uses.group(1));
        }
        assertTrue(n >= 3, "checkout, setup-java and upload-artifact: " + n);
    }
}
