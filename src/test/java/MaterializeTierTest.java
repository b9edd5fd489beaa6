import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.testcontainers.DockerClientFactory;

/**
 * The Materialize tier (MaterializeIT: the emulator in Docker plus the lab PostgreSQL, the whole C path
 * end to end) runs with {@code mvn verify -Pmaterialize}. In the default run this says, by name, why it
 * did not run, so the skip is visible in the test output.
 */
class MaterializeTierTest {
    @TestFactory
    Stream<DynamicTest> materializeTier() {
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            docker = false;
        }
        String name = docker ? "SKIPPED here, Docker found: run mvn verify -Pmaterialize"
                : "SKIPPED: no Docker engine, so no Materialize; runs with mvn verify -Pmaterialize";
        String why = name + " (the emulator image " + System.getProperty("materialize.image", "materialize/materialized")
                + " with the lab PostgreSQL, the whole C path end to end)";
        return Stream.of(DynamicTest.dynamicTest(name, () -> Assumptions.abort(why)));
    }
}
