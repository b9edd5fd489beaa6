import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Mz;

/**
 * The stand-in against Materialize's own expectations: each case of src/test/resources/materialize/expectations.json
 * (a {@code >} query of Materialize's testdrive files about the catalog of Postgres sources, with its expected rows,
 * extracted by bench/materialize-facts/ExtractMzExpectations.java) is replayed: its file's setup played by
 * {@link MzScript} on a fresh stand-in (a Materialize environment: quickstart; the storage controller's events on)
 * and a fresh upstream database of the test server, then its query run (SHOW statements as Materialize plans them,
 * other queries rewritten only mechanically) and its rows compared as testdrive compares them
 * (src/testdrive/src/action/sql.rs: both sides sorted, values as its decode_row prints them, the file's regex
 * applied to the actual values). It prints how many it reproduces and, with the reason, those it does not. A case
 * the stand-in gets wrong fails the test unless {@link #KNOWN} lists it with the reason; a listed case that is
 * reproduced fails too (the list stays true).
 */
class MzConformanceTest {
    static final Path FILE = Path.of(System.getProperty("repo.root", ".")).resolve("src/test/resources/materialize/expectations.json");

    /** Cases the stand-in does not reproduce, each with why (checked: each is indeed not reproduced). */
    static final Map<String, String> KNOWN = new LinkedHashMap<>();

    static {
        String stats = "needs a running source: statistics values (snapshot sizes, offsets, update counts) come from the replicas "
                + "ingesting; the stand-in writes none unless a test gives them";
        String error = "needs a running source: the error is what the replica hit upstream (the stand-in's controller reports no errors)";
        KNOWN.put("pg-cdc/pg-cdc.td:769", error + " (publication dropped upstream)");
        KNOWN.put("pg-cdc-old-syntax/pg-cdc.td:865", error + " (publication dropped upstream)");
        KNOWN.put("pg-cdc/row-level-security.td:114", error + " (RLS without BYPASSRLS)");
        for (String c : List.of("pg-cdc/statistics.td:89", "pg-cdc/statistics.td:114", "pg-cdc/statistics.td:154",
                "pg-cdc/statistics.td:197", "pg-cdc/statistics.td:221", "pg-cdc/statistics.td:235",
                "pg-cdc-old-syntax/statistics.td:88", "pg-cdc-old-syntax/statistics.td:111", "pg-cdc-old-syntax/statistics.td:144",
                "pg-cdc-old-syntax/statistics.td:184", "pg-cdc-old-syntax/statistics.td:207", "pg-cdc-old-syntax/statistics.td:226")) {
            KNOWN.put(c, stats);
        }
        String references = "reads mz_source_references, which purification fills from the upstream's tables (here MySQL's): not modelled";
        for (String c : List.of("testdrive/force-source-tables.td:325", "testdrive/force-source-tables.td:340",
                "testdrive/source-tables.td:322", "testdrive/source-tables.td:337")) {
            KNOWN.put(c, references);
        }
        String frontiers = "reads mz_internal.mz_frontiers (write frontiers of a running source under a TIMESTAMP INTERVAL): not modelled";
        for (String c : List.of("testdrive/source-timestamps.td:67", "testdrive/source-timestamps.td:80", "testdrive/source-timestamps.td:93")) {
            KNOWN.put(c, frontiers);
        }
        String resize = "the setup resizes clusters (ALTER CLUSTER … SET (SIZE …), graceful reconfiguration, auto-scaling strategies) "
                + "and the query reads which replica size runs the source by its statistics: not modelled";
        KNOWN.put("testdrive/cluster-controller.td:1307", resize);
        KNOWN.put("testdrive/cluster-controller.td:1344", resize);
        String sinks = "sinks (CREATE SINK, mz_sink_statuses, mz_sink_status_history) are not modelled";
        for (String c : List.of("testdrive/status-history.td:385", "testdrive/status-history.td:391", "testdrive/status-history.td:446",
                "testdrive/status-history.td:478")) {
            KNOWN.put(c, sinks);
        }
    }

    record Outcome(String id, String category, String reason) {}

    static JsonObject expectations;
    static final List<Outcome> OUTCOMES = new ArrayList<>();

    @BeforeAll
    static void replay() throws IOException {
        expectations = JsonParser.parseString(Files.readString(FILE, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, JsonArray> scripts = new LinkedHashMap<>();
        for (JsonElement s : expectations.getAsJsonArray("scripts")) {
            scripts.put(s.getAsJsonObject().get("path").getAsString(), s.getAsJsonObject().getAsJsonArray("setup"));
        }
        Map<String, List<JsonObject>> byFile = new LinkedHashMap<>();
        for (JsonElement e : expectations.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            byFile.computeIfAbsent(c.get("path").getAsString(), k -> new ArrayList<>()).add(c);
        }
        for (Map.Entry<String, List<JsonObject>> f : byFile.entrySet()) {
            OUTCOMES.addAll(replayFile(f.getKey(), scripts.get(f.getKey()), f.getValue(), false));
        }
        SCRIPTS.putAll(scripts);
        CASES.putAll(byFile);
    }

    static final Map<String, JsonArray> SCRIPTS = new LinkedHashMap<>();
    static final Map<String, List<JsonObject>> CASES = new LinkedHashMap<>();

    /** The Materialize release the expectations are of (its Cargo version), as the stand-in answers mz_version(). */
    static String version() {
        return "v" + expectations.getAsJsonObject("materialize").get("version").getAsString();
    }

    static int versionNum(Mz.Version v) {
        return v.major() * 100_000 + v.minor() * 100 + v.patch();
    }

    static String environment(String name, String path, String otherwise) {
        for (JsonElement e : expectations.getAsJsonArray("environment")) {
            JsonObject o = e.getAsJsonObject();
            if (o.get("name").getAsString().equals(name) && (!o.has("applies_to") || path.startsWith(o.get("applies_to").getAsString()))) {
                return o.get("value").getAsString();
            }
        }
        return otherwise;
    }

    static List<Outcome> replayFile(String path, JsonArray setup, List<JsonObject> cases, boolean reverse) {
        List<Outcome> outcomes = new ArrayList<>();
        // the releases the file's cases need: ours, and one inside each version constraint that excludes ours (v26+)
        Mz.Version ours = Mz.Version.parse(version());
        Map<Integer, String> versions = new TreeMap<>();
        versions.put(versionNum(ours), version());
        for (JsonObject c : cases) {
            if (c.has("version")) {
                int min = c.getAsJsonObject("version").get("min").getAsInt();
                int max = c.getAsJsonObject("version").get("max").getAsInt();
                int v = versionNum(ours);
                if ((v < min || v > max) && max >= 2_600_000) {
                    versions.put(max, "v" + max / 100_000 + "." + max % 100_000 / 100 + "." + max % 100);
                }
            }
        }
        int rf = Integer.parseInt(environment("default_replication_factor", path, "1"));
        List<MzStandIn> standIns = new ArrayList<>();
        Map<Integer, MzStandIn> byVersion = new LinkedHashMap<>();
        for (Map.Entry<Integer, String> v : versions.entrySet()) {
            MzStandIn mz = MzStandIn.environment(v.getValue(), rf).withController();
            mz.reverseExportEdges = reverse;
            standIns.add(v.getKey() == versionNum(ours) ? 0 : standIns.size(), mz);
            byVersion.put(v.getKey(), mz);
        }
        String upstream = TestPg.emptyDatabase();
        MzScript script = new MzScript(standIns, upstream,
                Boolean.parseBoolean(environment("enable_create_table_from_source", path, "false")));
        script.defaultReplicationFactor = rf;
        // testdrive's --var defaults and builtin variables, for the values the replay needs (sizes, the default cluster)
        script.vars.put("arg.default-replica-size", "scale=1,workers=1");
        script.vars.put("arg.default-storage-size", "scale=1,workers=1");
        script.vars.put("arg.single-replica-cluster", "quickstart");
        script.vars.put("testdrive.seed", "1");
        script.vars.put("testdrive.kafka-addr", "kafka:9092");
        script.vars.put("testdrive.schema-registry-url", "http://schema-registry:8081/");
        script.vars.put("testdrive.materialize-internal-sql-addr", "materialized:6877");
        script.vars.put("testdrive.materialize-sql-addr", "materialized:6875");
        int done = 0;
        String broken = null;
        for (JsonObject c : cases) {
            String id = c.get("id").getAsString();
            int upTo = c.getAsJsonObject("setup").get("commands").getAsInt();
            while (broken == null && done < upTo) {
                JsonObject cmd = setup.get(done).getAsJsonObject();
                done++;
                if (cmd.has("version") && !inRange(cmd.getAsJsonObject("version"), versionNum(ours))) {
                    continue;
                }
                try {
                    script.run(cmd);
                } catch (MzScript.Unsupported | IllegalArgumentException | IllegalStateException e) {
                    broken = "line " + cmd.get("line").getAsInt() + ": " + e.getMessage();
                }
            }
            if (broken != null) {
                outcomes.add(new Outcome(id, category(c, "not replayed"), "the setup cannot be replayed from " + broken));
                continue;
            }
            MzStandIn mz = standIns.get(0);
            String note = "";
            if (c.has("version") && !inRange(c.getAsJsonObject("version"), versionNum(ours))) {
                int max = c.getAsJsonObject("version").get("max").getAsInt();
                if (!byVersion.containsKey(max)) {
                    outcomes.add(new Outcome(id, category(c, "not applicable"), "the case is for Materialize releases "
                            + c.getAsJsonObject("version") + " only, before v26 (the stand-in models v26+)"));
                    continue;
                }
                mz = byVersion.get(max);
                note = " (as " + versions.get(max) + ")";
            }
            String verdict = evaluate(script, mz, c);
            outcomes.add(verdict == null ? new Outcome(id, category(c, "reproduced"), note.strip())
                    : new Outcome(id, category(c, "not reproduced"), verdict + note));
        }
        return outcomes;
    }

    static boolean inRange(JsonObject v, int version) {
        return version >= v.get("min").getAsInt() && version <= v.get("max").getAsInt();
    }

    /** skipped (Materialize's CI skips the file) apart; reproduced split by whether the controller's events are read. */
    static String category(JsonObject c, String outcome) {
        if (c.has("skipped_upstream")) {
            return "skipped upstream, " + outcome;
        }
        if (outcome.equals("reproduced")) {
            String q = c.get("query").getAsString();
            return q.contains("mz_source_status") || q.contains("mz_source_statistics") ? "reproduced with the controller's events"
                    : "reproduced from the statements";
        }
        return outcome;
    }

    /** null when the rows match; else what differs. */
    static String evaluate(MzScript script, MzStandIn mz, JsonObject c) {
        String query;
        List<List<String>> expected = new ArrayList<>();
        try {
            query = script.subst(c.get("query").getAsString());
            for (JsonElement r : c.getAsJsonArray("expected")) {
                List<String> row = new ArrayList<>();
                for (JsonElement v : r.getAsJsonArray()) {
                    row.add(script.subst(v.getAsString()));
                }
                expected.add(row);
            }
        } catch (MzScript.Unsupported e) {
            return e.getMessage();
        }
        MzScript.Translated t = script.translate(query);
        if (t.refused() != null) {
            return t.refused();
        }
        List<List<String>> actual = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        try (Connection conn = MzScript.connect(mz); Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(t.sql())) {
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                columns.add(md.getColumnLabel(i));
            }
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    String v = cell(rs, i, md.getColumnType(i), md.getColumnTypeName(i));
                    if (script.regex != null) {
                        v = script.regex.matcher(v).replaceAll(java.util.regex.Matcher.quoteReplacement(script.replacement));
                    }
                    row.add(v);
                }
                actual.add(row);
            }
        } catch (SQLException e) {
            String m = e.getMessage().split("\n")[0];
            return m.contains("does not exist") ? "reads what the stand-in does not model: " + m : "fails on the stand-in: " + m;
        }
        if (c.has("columns")) {
            List<String> want = new ArrayList<>();
            c.getAsJsonArray("columns").forEach(x -> want.add(x.getAsString()));
            if (!want.equals(columns)) {
                return "columns " + columns + ", Materialize's " + want;
            }
        }
        Comparator<List<String>> order = (a, b) -> {
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                int k = MzStandIn.byBytes(a.get(i), b.get(i));
                if (k != 0) {
                    return k;
                }
            }
            return Integer.compare(a.size(), b.size());
        };
        expected.sort(order);
        actual.sort(order);
        return expected.equals(actual) ? null : "rows " + actual + ", Materialize's " + expected;
    }

    static final Gson COMPACT = new GsonBuilder().disableHtmlEscaping().create();

    /** A value as testdrive prints it (src/testdrive/src/action/sql.rs decode_row): NULL as <null>, jsonb compact. */
    static String cell(ResultSet rs, int i, int type, String typeName) throws SQLException {
        Object o = rs.getObject(i);
        if (o == null) {
            return "<null>";
        }
        if (typeName.equals("jsonb") || typeName.equals("json")) {
            return COMPACT.toJson(sorted(JsonParser.parseString(rs.getString(i))));
        }
        if (o instanceof Boolean b) {
            return b.toString();
        }
        if (o instanceof BigDecimal d) {
            return d.toPlainString();
        }
        if (o instanceof Double || o instanceof Float) {
            double d = ((Number) o).doubleValue();
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
        }
        if (type == Types.TIMESTAMP_WITH_TIMEZONE || typeName.equals("timestamptz")) {
            java.time.OffsetDateTime t = rs.getObject(i, java.time.OffsetDateTime.class).withOffsetSameInstant(java.time.ZoneOffset.UTC);
            String s = t.toLocalDateTime().toString().replace('T', ' ');
            return (s.length() == 16 ? s + ":00" : s) + " UTC";
        }
        return rs.getString(i);
    }

    /** Materialize's jsonb keeps an object's keys in order (a BTreeMap). */
    static JsonElement sorted(JsonElement e) {
        if (e.isJsonObject()) {
            JsonObject out = new JsonObject();
            new TreeMap<>(e.getAsJsonObject().asMap()).forEach((k, v) -> out.add(k, sorted(v)));
            return out;
        }
        if (e.isJsonArray()) {
            JsonArray out = new JsonArray();
            e.getAsJsonArray().forEach(x -> out.add(sorted(x)));
            return out;
        }
        return e;
    }

    // ---- the checks ---------------------------------------------------------------------------------------

    @Test
    void theStandInReproducesMaterializesOwnExpectations() {
        Map<String, List<Outcome>> by = new TreeMap<>();
        OUTCOMES.forEach(o -> by.computeIfAbsent(o.category(), k -> new ArrayList<>()).add(o));
        JsonObject m = expectations.getAsJsonObject("materialize");
        long reproduced = OUTCOMES.stream().filter(o -> o.category().startsWith("reproduced")).count();
        long verified = OUTCOMES.stream().filter(o -> !o.category().startsWith("skipped upstream")).count();
        System.out.printf("MzConformanceTest: the stand-in reproduces %d of the %d expectations of Materialize %s (%s) that its CI "
                        + "runs (%d from the statements alone, %d with the storage controller's events)%n", reproduced, verified,
                m.get("version").getAsString(), m.get("commit").getAsString().substring(0, 10),
                by.getOrDefault("reproduced from the statements", List.of()).size(),
                by.getOrDefault("reproduced with the controller's events", List.of()).size());
        for (Map.Entry<String, List<Outcome>> e : by.entrySet()) {
            if (e.getKey().startsWith("reproduced")) {
                System.out.printf("MzConformanceTest: %s (%d): %s%n", e.getKey(), e.getValue().size(),
                        String.join(", ", e.getValue().stream().map(o -> o.id() + (o.reason().isEmpty() ? "" : " " + o.reason())).toList()));
                continue;
            }
            System.out.printf("MzConformanceTest: %s (%d):%n", e.getKey(), e.getValue().size());
            for (Outcome o : e.getValue()) {
                System.out.printf("  %s: %s%n", o.id(), KNOWN.getOrDefault(o.id(), o.reason()));
            }
        }
        List<String> wrong = new ArrayList<>();
        for (Outcome o : OUTCOMES) {
            boolean known = KNOWN.containsKey(o.id());
            if ((o.category().equals("not reproduced") || o.category().equals("not replayed")) && !known) {
                wrong.add(o.id() + ": " + o.reason());
            } else if (known && o.category().startsWith("reproduced")) {
                wrong.add(o.id() + " is reproduced now: take it off KNOWN");
            }
        }
        assertEquals(List.of(), wrong, "cases the stand-in gets wrong (fix the stand-in, or list them in KNOWN with the reason)");
        assertTrue(reproduced >= 30, "only " + reproduced + " reproduced");
    }

    /** The defect of issue #18 (a subsource's dependency row backwards): Materialize's own expectations catch it. */
    @Test
    void theBackwardDependencyEdgeIsCaughtByMaterializesExpectations() {
        String path = "test/pg-cdc-old-syntax/pg-cdc.td";
        List<Outcome> backwards = replayFile(path, SCRIPTS.get(path), CASES.get(path), true);
        Outcome status = backwards.stream().filter(o -> o.id().equals("pg-cdc-old-syntax/pg-cdc.td:394")).findFirst().orElseThrow();
        assertEquals("not reproduced", status.category(), "SELECT status FROM mz_internal.mz_source_statuses WHERE name = 'mz_source' "
                + "(Materialize's view joins subsources.id = deps.object_id) should see the backward edge");
        assertTrue(status.reason().contains("[running], [running]"), status.reason());
        assertTrue(OUTCOMES.stream().anyMatch(o -> o.id().equals(status.id()) && o.category().startsWith("reproduced")));
    }
}
