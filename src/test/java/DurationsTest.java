import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import neonmz.Durations;

/** Durations as typed on a command line (--interval, --timeout, --stall-after). */
class DurationsTest {
    @Test
    void parsesWhatPeopleType() {
        assertEquals(Duration.ofSeconds(2), Durations.parse("2s"));
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofMillis(500), Durations.parse("0.5"));
        assertEquals(Duration.ofSeconds(5), Durations.parse("5"));
        assertEquals(Duration.ofSeconds(90), Durations.parse("1m30s"));
        assertEquals(Duration.ofHours(2), Durations.parse("2h"));
        assertEquals(Duration.ofSeconds(2), Durations.parse("PT2S"));
        for (String bad : new String[] {"", "soon", "2 s", "s", "1x", "m1", "-1s"}) {
            assertNull(Durations.parse(bad), bad);
        }
    }

    @Test
    void showsShortForms() {
        assertEquals("250ms", Durations.show(Duration.ofMillis(250)));
        assertEquals("2s", Durations.show(Duration.ofSeconds(2)));
        assertEquals("1.5s", Durations.show(Duration.ofMillis(1500)));
        assertEquals("1m30s", Durations.show(Duration.ofSeconds(90)));
        assertEquals("2h", Durations.show(Duration.ofHours(2)));
    }
}
