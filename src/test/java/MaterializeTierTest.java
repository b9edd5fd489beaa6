import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.testcontainers.DockerClientFactory;

/**
 * The Materialize tier (MaterializeIT and MaterializeNewSyntaxIT: the emulator in Docker plus the lab
 * PostgreSQL, the whole C path end to end in both source syntaxes) runs with {@code mvn verify -Pmaterialize},
 * and in CI by .github/workflows/materialize.yml. In the default run this says, by name, why it did not run
 * and how to run it, so the skip is visible in the test output.
 */
class MaterializeTierTest {
    static final String TIER = "the Materialize tier (MaterializeIT, MaterializeNewSyntaxIT)";

    @TestFactory
    Stream<DynamicTest> materializeTier() {
        boolean docker;
        String problem = null;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            docker = false;
            problem = t.getMessage();
        }
        // the console shows about 150 characters of a name: why, which tier and how first; where Docker was looked for last
        String name = docker
                ? "SKIPPED here, Docker found: the Materialize tier runs in the failsafe phase, mvn verify -Pmaterialize"
                : "SKIPPED: no Docker engine, Materialize tier not run (CI runs it; or mvn verify -Pmaterialize with Docker): "
                        + where();
        String why = (docker ? "Docker found: " + TIER + " runs with mvn verify -Pmaterialize, not in mvn test"
                : "no Docker engine found (" + where() + "), so " + TIER + " did not run here; it runs in CI "
                        + "(.github/workflows/materialize.yml) or with mvn verify -Pmaterialize on a machine with Docker")
                + ". What it runs: the emulator image "
                + System.getProperty("materialize.image", "materialize/materialized (tag in pom.xml)")
                + " with the lab PostgreSQL, every Materialize step in the legacy and the new source syntax"
                + (problem == null ? "" : ". Testcontainers said: " + problem);
        return Stream.of(DynamicTest.dynamicTest(name, () -> Assumptions.abort(why)));
    }

    /** Where Docker was looked for, as Testcontainers looks first: DOCKER_HOST, then the default socket. */
    static String where() {
        String host = System.getenv("DOCKER_HOST");
        boolean socket = Files.exists(Path.of("/var/run/docker.sock"));
        return (host == null || host.isBlank() ? "DOCKER_HOST unset" : "DOCKER_HOST=" + host + " not reachable")
                + ", " + (socket ? "/var/run/docker.sock not answering" : "no /var/run/docker.sock");
    }
}
