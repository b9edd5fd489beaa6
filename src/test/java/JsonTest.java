import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import neonmz.Exit;
import neonmz.Json;

/** The JSON writer, and the one-object contract of every script's --json output. */
class JsonTest {
    @TempDir
    Path tmp;

    /** Strict JSON (no lenient extensions), and nothing after the one value. */
    static JsonElement parseStrict(String text) {
        try {
            JsonReader r = new JsonReader(new StringReader(text));
            r.setStrictness(Strictness.STRICT);
            JsonElement e = JsonParser.parseReader(r);
            assertEquals(JsonToken.END_DOCUMENT, r.peek(), "more than one JSON value in:\n" + text);
            return e;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    // ---- Json.write -------------------------------------------------------------------------------

    @Test
    void writesValuesGsonReadsBack() {
        StringBuilder control = new StringBuilder();
        for (char c = 0; c < 0x20; c++) {
            control.append(c);
        }
        control.append('\u007f').append('\u2028').append('\u2029');
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("b", "c");
        inner.put("empty_map", Map.of());
        inner.put("empty_list", List.of());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("list", Arrays.asList(1, 2L, (short) 3, 3.5, null, true, false, inner, List.of(List.of("deep"))));
        m.put("unicode", "Ünïcode ☃ 😀 日本語");
        m.put("control", control.toString());
        m.put("quotes", "\"quoted\" \\back\\slash\\ /slash/ 'single'");
        m.put("nan", Double.NaN);
        m.put("inf", Float.POSITIVE_INFINITY);
        m.put("big", new BigDecimal("12345678901234567890.125"));
        m.put("enum", DayOfWeek.MONDAY);
        m.put("path", Path.of("/tmp/some dir/x"));
        m.put("key\nwith \"odd\" chars\t", "v");
        m.put("null", null);

        String text = Json.write(m);
        assertFalse(text.contains("\n"), "one line: " + text);
        JsonObject o = parseStrict(text).getAsJsonObject();
        JsonArray list = o.getAsJsonArray("list");
        assertEquals(1, list.get(0).getAsInt());
        assertEquals(2L, list.get(1).getAsLong());
        assertEquals(3, list.get(2).getAsInt());
        assertEquals(3.5, list.get(3).getAsDouble());
        assertTrue(list.get(4).isJsonNull());
        assertTrue(list.get(5).getAsBoolean());
        assertFalse(list.get(6).getAsBoolean());
        assertEquals("c", list.get(7).getAsJsonObject().get("b").getAsString());
        assertEquals(0, list.get(7).getAsJsonObject().getAsJsonObject("empty_map").size());
        assertEquals(0, list.get(7).getAsJsonObject().getAsJsonArray("empty_list").size());
        assertEquals("deep", list.get(8).getAsJsonArray().get(0).getAsJsonArray().get(0).getAsString());
        assertEquals("Ünïcode ☃ 😀 日本語", o.get("unicode").getAsString());
        assertEquals(control.toString(), o.get("control").getAsString());
        assertEquals("\"quoted\" \\back\\slash\\ /slash/ 'single'", o.get("quotes").getAsString());
        assertTrue(o.get("nan").isJsonNull());
        assertTrue(o.get("inf").isJsonNull());
        assertEquals(new BigDecimal("12345678901234567890.125"), o.get("big").getAsBigDecimal());
        assertEquals("monday", o.get("enum").getAsString());
        assertEquals("/tmp/some dir/x", o.get("path").getAsString());
        assertEquals("v", o.get("key\nwith \"odd\" chars\t").getAsString());
        assertTrue(o.get("null").isJsonNull());
    }

    @Test
    void writesScalars() {
        assertEquals("null", Json.write(null));
        assertEquals("\"\"", Json.write(""));
        assertEquals("[]", Json.write(List.of()));
        assertEquals("{}", Json.write(Map.of()));
        assertEquals("\"\\u0000\\u001f\"", Json.write("\u0000\u001f"));
        assertEquals(-7, parseStrict(Json.write(-7)).getAsInt());
    }

    // ---- every script's --json ---------------------------------------------------------------------

    /** Exactly one JSON object on stdout, nothing on stderr, with the keys every script promises. */
    static JsonObject assertContract(String label, TestPg.Run r, String command) {
        assertEquals(1, r.out().strip().lines().count(), label + ": one line on stdout:\n" + r.out());
        JsonObject o = parseStrict(r.out()).getAsJsonObject();
        for (String k : List.of("command", "ok", "exit", "dry_run", "statements", "warnings")) {
            assertTrue(o.has(k), label + ": no \"" + k + "\" in " + r.out());
        }
        assertEquals(command, o.get("command").getAsString(), label);
        assertEquals(r.exit(), o.get("exit").getAsInt(), label);
        assertEquals(r.exit() == 0, o.get("ok").getAsBoolean(), label);
        assertTrue(o.get("dry_run").getAsJsonPrimitive().isBoolean(), label);
        for (String k : List.of("statements", "warnings")) {
            for (JsonElement e : o.getAsJsonArray(k)) {
                assertTrue(e.getAsJsonPrimitive().isString(), label + ": " + k + " holds strings");
            }
        }
        if (o.has("error")) {
            JsonObject e = o.getAsJsonObject("error");
            assertFalse(e.get("message").getAsString().isBlank(), label);
            assertFalse(e.get("fix").getAsString().isBlank(), label);
        }
        assertEquals("", r.err(), label + ": stderr under --json");
        return o;
    }

    record Call(String command, Supplier<Object> cmd, Map<String, String> env, String... args) {
        TestPg.Run run() {
            return TestPg.run(cmd.get(), env, args);
        }
    }

    static String[] json(String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--json");
        return a.toArray(String[]::new);
    }

    @Test
    void everyScriptSucceedsWithOneObject() {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        String role = "mz_json_" + ProcessHandle.current().pid();
        String pwFile = tmp.resolve("pw").toString();
        String lab = TestPg.server().dir.toString();
        List<Call> calls = List.of(
                new Call("check-logical-replication", CheckLogicalReplication::new, env, json()),
                new Call("replica-identity", ReplicaIdentity::new, env, json("--table", "customers", "--dry-run")),
                new Call("replica-identity", ReplicaIdentity::new, env, json("--table", "orders,customers")),
                new Call("replica-identity", ReplicaIdentity::new, env, json("--table", "orders,customers")),
                new Call("publication", CreatePublication::new, env, json("--table", "orders", "--dry-run")),
                new Call("publication", CreatePublication::new, env, json("--table", "orders,page_views")),
                new Call("publication", CreatePublication::new, env, json("--table", "orders")),
                new Call("replication-role", CreateReplicationRole::new, env, json("--role", role, "--dry-run")),
                new Call("replication-role", CreateReplicationRole::new, env, json("--role", role, "--password-out", pwFile)),
                new Call("replication-role", CreateReplicationRole::new, env, json("--role", role)),
                new Call("grants", GrantAccess::new, env, json("--role", role, "--dry-run")),
                new Call("grants", GrantAccess::new, env, json("--role", role)),
                new Call("lab status", Lab::new, env, json("status", "--dir", lab)),
                new Call("lab start", Lab::new, env, json("start", "--detach", "--dir", lab)),
                new Call("lab reset", Lab::new, env, json("reset", "--dir", tmp.resolve("no-lab").toString())));
        for (Call c : calls) {
            TestPg.Run r = c.run();
            String label = c.command() + " " + String.join(" ", c.args());
            assertEquals(0, r.exit(), label + "\n" + r.all());
            JsonObject o = assertContract(label, r, c.command());
            assertFalse(o.has("error"), label);
            assertEquals(List.of(c.args()).contains("--dry-run"), o.get("dry_run").getAsBoolean(), label);
            if (List.of(c.args()).contains("--dry-run")) {
                assertTrue(o.getAsJsonArray("statements").size() > 0, label + ": the statements it would run");
            }
        }
    }

    @Test
    void everyScriptFailsWithOneObject() {
        String db = TestPg.newDatabase();
        Map<String, String> env = TestPg.env(db);
        Map<String, String> pooled = new java.util.HashMap<>(env);
        pooled.put("DATABASE_URL", "postgresql://u:pw-1234@ep-x-pooler.c-2.us-east-2.aws.neon.tech/neondb");
        List<Call> calls = new ArrayList<>();
        Map<String, Supplier<Object>> steps = new LinkedHashMap<>();
        steps.put("check-logical-replication", CheckLogicalReplication::new);
        steps.put("replica-identity", ReplicaIdentity::new);
        steps.put("publication", CreatePublication::new);
        steps.put("replication-role", CreateReplicationRole::new);
        steps.put("grants", GrantAccess::new);
        Map<String, String[]> ok = Map.of("check-logical-replication", new String[0],
                "replica-identity", new String[] {"--table", "orders"}, "publication", new String[] {"--table", "orders"},
                "replication-role", new String[] {"--role", "never_made", "--password-out", tmp.resolve("x").toString()},
                "grants", new String[0]);
        steps.forEach((name, cmd) -> {
            calls.add(new Call(name, cmd, pooled, json(ok.get(name))));
            calls.add(new Call(name, cmd, env, json("--no-such-option")));
            calls.add(new Call(name, cmd, env, json("--dry-run", "--no-such-option")));
            calls.add(new Call(name, cmd, TestPg.env("no_such_db"), json(ok.get(name))));
        });
        calls.add(new Call("replica-identity", ReplicaIdentity::new, env, json()));
        calls.add(new Call("replica-identity", ReplicaIdentity::new, env, json("--table", "nosuch")));
        calls.add(new Call("publication", CreatePublication::new, env, json("--table", "nosuch", "--dry-run")));
        calls.add(new Call("publication", CreatePublication::new, env, json("--table", "\"Order Items")));
        calls.add(new Call("grants", GrantAccess::new, env, json("--role", "nobody_here")));
        calls.add(new Call("lab status", Lab::new, env, json("status", "--dir", tmp.resolve("no-lab").toString())));
        calls.add(new Call("lab status", Lab::new, env, json("status", "--no-such-option")));
        for (Call c : calls) {
            TestPg.Run r = c.run();
            String label = c.command() + " " + String.join(" ", c.args());
            assertNotEquals(0, r.exit(), label + "\n" + r.all());
            JsonObject o = assertContract(label, r, c.command());
            if (!c.command().equals("lab status") || r.exit() == Exit.USAGE) {
                assertTrue(o.has("error"), label + ": a failure says what and how to fix it: " + r.out());
            }
            assertEquals(List.of(c.args()).contains("--dry-run"), o.get("dry_run").getAsBoolean(), label);
        }
    }
}
