import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;

import org.junit.jupiter.api.Test;

import neonmz.ConnInfo;
import neonmz.MzOptions;
import neonmz.OutputOptions;

/** --mz-url resolution: emulator defaults, Cloud TLS, password only from env or file. */
class MzOptionsTest {
    static ConnInfo resolve(Map<String, String> env, String url) {
        ConnInfo[] out = new ConnInfo[1];
        @picocli.CommandLine.Command(name = "t")
        class T implements java.util.concurrent.Callable<Integer> {
            @picocli.CommandLine.Mixin MzOptions mz;
            @picocli.CommandLine.Mixin OutputOptions o;

            public Integer call() {
                out[0] = mz.resolve(o.out());
                return 0;
            }
        }
        TestPg.Run r = url == null ? TestPg.run(new T(), env) : TestPg.run(new T(), env, "--mz-url", url);
        assertEquals(0, r.exit(), r.all());
        return out[0];
    }

    @Test
    void emulatorDefaults() {
        ConnInfo ci = resolve(Map.of(), null);
        assertEquals("127.0.0.1", ci.host());
        assertEquals(6875, ci.port());
        assertEquals("materialize", ci.user);
        assertEquals("materialize", ci.dbname);
        assertEquals("disable", ci.sslmode);
    }

    @Test
    void cloudUrlFromEnvGetsTlsAndThePasswordFromEnv() {
        ConnInfo ci = resolve(Map.of("MZ_URL", "postgresql://ops%40example.com@abc123.us-east-1.aws.materialize.cloud:6875/materialize",
                "MZ_PASSWORD", "mzp_app_password_1"), null);
        assertEquals("ops@example.com", ci.user);
        assertEquals("require", ci.sslmode);
        assertEquals("mzp_app_password_1", ci.password());
        assertFalse(ci.jdbcUrl().contains("mzp_app_password_1"));
        assertTrue(ci.display().contains("********"));
    }

    @Test
    void mzVariablesFillWhatTheUrlLeavesOpen() {
        ConnInfo ci = resolve(Map.of("MZ_HOST", "abc.eu-west-1.aws.materialize.cloud", "MZ_USER", "ops@example.com",
                "MZ_PASSWORD", "mzp_app_password_2"), null);
        assertEquals("abc.eu-west-1.aws.materialize.cloud", ci.host());
        assertEquals(6875, ci.port());
        assertEquals("ops@example.com", ci.user);
        assertEquals("require", ci.sslmode);
        ConnInfo local = resolve(Map.of("MZ_PORT", "16875"), null);
        assertEquals(16875, local.port());
        assertEquals("disable", local.sslmode);
    }
}
