import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.SourcePositions;
import com.sun.source.util.TreePathScanner;

/**
 * The size budget of the scripts (docs/script-budget.md), measured on the parsed source (javac's tree, not
 * line patterns): a step script's main class, nested classes included, at most {@link #CLASS_LINES} lines
 * (Lab, Runbook, Doctor, Tap and Shell excepted: they chain or survey the steps); every method of every
 * script at most {@link #METHOD_LINES}; and no step script sources another script (only the chaining ones:
 * runbook, shell, lab, whose demo runs A.1–A.2.4, fleet, which runs doctor, and watch, which shares doctor's
 * SnapForecast).
 */
class ScriptBudgetTest {
    static final int CLASS_LINES = 350;
    static final int METHOD_LINES = 60;
    static final Set<String> LARGER = Set.of("Lab", "Runbook", "Doctor", "Tap", "Shell");
    /** Fleet runs doctor's checklist; watch repeats doctor's forecast of Neon's slot removal (SnapForecast). */
    static final Set<String> CHAINING = Set.of("Runbook", "Shell", "Lab", "Fleet", "Watch");
    static final Path SCRIPTS = LauncherRun.ROOT.resolve("scripts");

    record Measure(String script, int classLines, Map<String, Integer> methods) {}

    static List<Measure> measure() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(SCRIPTS)) {
            files = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<Measure> out = new ArrayList<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
            for (Path f : files) {
                Iterable<? extends JavaFileObject> units = fm.getJavaFileObjects(f.toFile());
                JavacTask task = (JavacTask) javac.getTask(null, fm, d -> { }, List.of("-proc:none"), null, units);
                for (CompilationUnitTree cu : task.parse()) {
                    out.add(measure(f, cu, task));
                }
            }
        }
        return out;
    }

    static Measure measure(Path f, CompilationUnitTree cu, JavacTask task) {
        SourcePositions pos = com.sun.source.util.Trees.instance(task).getSourcePositions();
        String name = f.getFileName().toString().replace(".java", "");
        int[] classLines = {0};
        Map<String, Integer> methods = new TreeMap<>();
        new TreePathScanner<Void, Void>() {
            @Override
            public Void visitClass(ClassTree c, Void v) {
                if (getCurrentPath().getParentPath().getLeaf().getKind() == Tree.Kind.COMPILATION_UNIT
                        && c.getSimpleName().contentEquals(name)) {
                    classLines[0] = lines(c);
                }
                return super.visitClass(c, v);
            }

            @Override
            public Void visitMethod(MethodTree m, Void v) {
                if (m.getBody() != null) {
                    String owner = ((ClassTree) getCurrentPath().getParentPath().getLeaf()).getSimpleName().toString();
                    methods.merge(owner + "." + m.getName() + "@" + cu.getLineMap().getLineNumber(pos.getStartPosition(cu, m)), lines(m), Math::max);
                }
                return super.visitMethod(m, v);
            }

            int lines(Tree t) {
                long start = cu.getLineMap().getLineNumber(pos.getStartPosition(cu, t));
                long end = cu.getLineMap().getLineNumber(pos.getEndPosition(cu, t));
                return (int) (end - start + 1);
            }
        }.scan(cu, null);
        return new Measure(name, classLines[0], methods);
    }

    @Test
    void stepScriptsStayWithinTheBudget() throws IOException {
        List<String> over = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        for (Measure m : measure()) {
            assertTrue(m.classLines() > 0, m.script() + ": no top-level class of that name");
            int longest = m.methods().values().stream().mapToInt(Integer::intValue).max().orElse(0);
            table.append(String.format("%-24s class %4d  longest method %3d%n", m.script(), m.classLines(), longest));
            if (!LARGER.contains(m.script()) && m.classLines() > CLASS_LINES) {
                over.add(m.script() + ": main class " + m.classLines() + " lines (budget " + CLASS_LINES + ")");
            }
            m.methods().forEach((method, n) -> {
                if (n > METHOD_LINES) {
                    over.add(m.script() + ": " + method + " " + n + " lines (budget " + METHOD_LINES + ")");
                }
            });
        }
        System.out.print(table);
        assertEquals(List.of(), over, "over the budget of docs/script-budget.md\n" + table);
    }

    static final Pattern SOURCES = Pattern.compile("(?m)^//SOURCES\\s+(\\S+)");

    @Test
    void noStepScriptSourcesAnotherScript() throws IOException {
        List<String> bad = new ArrayList<>();
        try (Stream<Path> s = Files.list(SCRIPTS)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String name = f.getFileName().toString().replace(".java", "");
                Matcher m = SOURCES.matcher(Files.readString(f));
                while (m.find()) {
                    if (!m.group(1).startsWith("../lib/") && !CHAINING.contains(name)) {
                        bad.add(name + " sources " + m.group(1) + ": what two steps share belongs in lib/");
                    }
                }
            }
        }
        assertEquals(List.of(), bad);
    }
}
