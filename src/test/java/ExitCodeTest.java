import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.Exit;

/** The README's exit-code table and every --help show exactly {@link Exit#TABLE}. */
class ExitCodeTest {
    @Test
    void readmeListsEveryExitCode() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("repo.root", ".")).resolve("README.md"));
        for (Map.Entry<Integer, String> e : Exit.TABLE.entrySet()) {
            assertTrue(readme.contains("| " + e.getKey() + " | `") && readme.contains("| " + e.getValue() + " |"),
                    "README misses exit code " + e.getKey() + ": " + e.getValue());
        }
    }

    @Test
    void helpListsExitCodesAndAnExample() {
        for (Object cmd : new Object[] {new CheckLogicalReplication(), new ReplicaIdentity(), new CreatePublication(),
                new CreateReplicationRole(), new GrantAccess(), new Lab(), new MonitorIngestion(), new RightSize(), new Explore(),
                new AllowMaterializeIps(), new ConnectionDetails(), new Watch()}) {
            TestPg.Run r = TestPg.run(cmd, Map.of(), "--help");
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("Exit codes:"), r.out());
            assertTrue(r.out().contains("Example"), r.out());
            for (Map.Entry<Integer, String> e : Exit.TABLE.entrySet()) {
                assertTrue(r.out().contains(e.getValue()), cmd.getClass() + " --help misses " + e.getValue());
            }
        }
    }
}
