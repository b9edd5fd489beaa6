import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * One pinned docker line everywhere (issue #21, item 2): every materialize/materialized the README, the
 * notebooks, the docs, the scripts and the library name carries the Docker tier's tag (pom.xml
 * materialize.version), and the library's constant is that image.
 */
class PinnedImageTest {
    static final Pattern IMAGE = Pattern.compile("materialize/materialized(:[A-Za-z0-9._-]+)?");

    @Test
    void everyEmulatorImageNamedIsTheDockerTiersPin() throws IOException {
        String pinned = System.getProperty("materialize.image");
        assertTrue(pinned != null && pinned.startsWith("materialize/materialized:v"), "pom.xml materialize.image: " + pinned);
        assertEquals(pinned, neonmz.Mz.EMULATOR_IMAGE);
        Path root = LauncherRun.ROOT;
        List<Path> files = new ArrayList<>(List.of(root.resolve("README.md")));
        for (String dir : List.of("notebooks", "docs", "scripts", "lib")) {
            try (Stream<Path> s = Files.walk(root.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".md") || p.toString().endsWith(".java")).forEach(files::add);
            }
        }
        List<String> unpinned = new ArrayList<>();
        int seen = 0;
        for (Path f : files) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            Matcher m = IMAGE.matcher(text);
            while (m.find()) {
                seen++;
                String image = m.group();
                // Mz.java's "materialize/materialized:" + MINIMUM names the oldest supported release, on purpose
                boolean minimum = text.startsWith("materialize/materialized:\" + MINIMUM", m.start());
                if (!image.equals(pinned) && !minimum) {
                    int line = text.substring(0, m.start()).split("\n", -1).length;
                    unpinned.add(root.relativize(f) + ":" + line + ": " + image);
                }
            }
        }
        assertTrue(seen > 5, "docker lines found: " + seen);
        assertEquals("", String.join("\n", unpinned), "every docker line names " + pinned);
    }
}
