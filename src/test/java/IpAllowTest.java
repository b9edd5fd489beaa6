import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import neonmz.Exit;

/** ip-allow (guide step B) against {@link FakeNeonApi} over real HTTP, Materialize's egress IPs from {@link MzStandIn}. */
class IpAllowTest {
    static final String PID = "shiny-wind-028834";
    FakeNeonApi fake;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeNeonApi();
    }

    @AfterEach
    void stop() {
        fake.closeAndCheckSpec();
    }

    Map<String, String> env() {
        return new HashMap<>(fake.env());
    }

    TestPg.Run run(String... args) {
        return run(env(), args);
    }

    TestPg.Run run(Map<String, String> env, String... args) {
        TestPg.Run r = TestPg.run(new AllowMaterializeIps(), env, args);
        assertFalse(r.all().contains(FakeNeonApi.KEY), "the API key is never shown: " + r.all());
        return r;
    }

    JsonObject allowed() {
        return fake.projects.get(PID).getAsJsonObject("settings").getAsJsonObject("allowed_ips");
    }

    List<String> ips() {
        return allowed().getAsJsonArray("ips").asList().stream().map(e -> e.getAsString()).toList();
    }

    void setAllowed(boolean protectedOnly, String... ips) {
        JsonArray a = new JsonArray();
        for (String ip : ips) {
            a.add(ip);
        }
        allowed().add("ips", a);
        allowed().addProperty("protected_branches_only", protectedOnly);
    }

    long patches() {
        return fake.count("PATCH", "/projects/" + PID);
    }

    @Test
    void ifInUseLeavesAnOpenProjectOpenAndAddsToAListInUse() {
        // an empty list lets every address in: --if-in-use (the runbook's way) changes nothing, asks nothing,
        // and needs no addresses (no Materialize, no --ip)
        TestPg.Run open = run("--if-in-use", "--json");
        assertEquals(0, open.exit(), open.all());
        assertTrue(open.json().get("already_done").getAsBoolean());
        assertFalse(open.json().get("in_use").getAsBoolean());
        assertEquals(0, fake.count("PATCH", "/projects/"));
        assertTrue(run("--if-in-use").out().contains("does not use IP Allow"));
        // a list in use gets the addresses added; without any addresses that is the usual usage error
        setAllowed(false, "198.51.100.7");
        assertEquals(Exit.USAGE, run("--if-in-use").exit());
        TestPg.Run added = run("--if-in-use", "--ip", "203.0.113.10");
        assertEquals(0, added.exit(), added.all());
        assertEquals(1, fake.count("PATCH", "/projects/"));
        assertTrue(added.out().contains("after:  198.51.100.7, 203.0.113.10"), added.out());
    }

    @Test
    void mergesAfterTheUsersEntriesAndKeepsProtectedBranchesOnly() {
        setAllowed(true, "198.51.100.7", "192.0.2.0/24");
        TestPg.Run r = run("--ip", "203.0.113.10,192.0.2.0/24", "--ip", "203.0.113.11");
        assertEquals(0, r.exit(), r.all());
        assertEquals(List.of("198.51.100.7", "192.0.2.0/24", "203.0.113.10", "203.0.113.11"), ips());
        assertTrue(allowed().get("protected_branches_only").getAsBoolean(), "kept");
        assertEquals(1, patches());
        // one PATCH with the whole list: Neon replaces it (reference §1c)
        JsonObject body = JsonParser.parseString(fake.log.stream().filter(q -> q.method().equals("PATCH")).findFirst()
                .orElseThrow().body()).getAsJsonObject();
        assertEquals(4, body.getAsJsonObject("project").getAsJsonObject("settings").getAsJsonObject("allowed_ips")
                .getAsJsonArray("ips").size());
        assertTrue(r.out().contains("added 2 entries (203.0.113.10, 203.0.113.11); verified"), r.out());
        assertTrue(r.out().contains("before: 198.51.100.7, 192.0.2.0/24"), r.out());
        assertFalse(r.err().contains("blocks every other client"), "a list that had entries needs no confirmation");
        assertEquals(2, fake.count("GET", "/projects/" + PID), "read, then re-read to verify");

        // the second run changes nothing
        TestPg.Run again = run("--ip", "203.0.113.10,203.0.113.11/32");
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("ip-allow: already done (2 entries already in the list of project shop)"),
                again.out());
        assertEquals(1, patches(), "no PATCH when nothing is new");
    }

    @Test
    void dryRunShowsBeforeAfterAndThePatchAndSendsNothing() {
        setAllowed(false, "198.51.100.7");
        TestPg.Run r = run("--ip", "203.0.113.10", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertEquals(0, patches());
        assertEquals(List.of("198.51.100.7"), ips());
        assertTrue(r.out().contains("  before: 198.51.100.7\n"), r.out());
        assertTrue(r.out().contains("  after:  198.51.100.7, 203.0.113.10\n"), r.out());
        assertTrue(r.out().contains("PATCH " + fake.url() + "/projects/" + PID + "\n  {\"project\":{\"settings\":"
                + "{\"allowed_ips\":{\"ips\":[\"198.51.100.7\",\"203.0.113.10\"],\"protected_branches_only\":false}}}}"),
                r.out());
        assertTrue(r.out().contains("would add 1 entry (203.0.113.10); nothing was sent (--dry-run)"), r.out());
    }

    @Test
    void anEmptyListAsksFirstAndWithoutATerminalNeedsYes() {
        TestPg.Run r = run("--ip", "203.0.113.10");
        assertEquals(Exit.DECLINED, r.exit(), r.all());
        assertTrue(r.err().contains("allows every address") && r.err().contains("blocks every other client"), r.err());
        assertTrue(r.err().contains("--yes"), r.err());
        assertEquals(0, patches());
        assertEquals(List.of(), ips());

        TestPg.Run json = run("--ip", "203.0.113.10", "--json");
        assertEquals(Exit.DECLINED, json.exit(), json.all());
        assertEquals(0, patches());

        TestPg.Run yes = run("--ip", "203.0.113.10", "--yes", "--json");
        assertEquals(0, yes.exit(), yes.all());
        assertEquals(List.of("203.0.113.10"), ips());
        JsonObject j = yes.json();
        assertEquals(0, j.getAsJsonObject("before").getAsJsonArray("ips").size());
        assertEquals("203.0.113.10", j.getAsJsonObject("after").getAsJsonArray("ips").get(0).getAsString());
        assertEquals("203.0.113.10", j.getAsJsonArray("added").get(0).getAsString());
        assertTrue(j.get("verified").getAsBoolean());
        assertTrue(j.getAsJsonArray("warnings").toString().contains("blocks every other client"), j.toString());
    }

    @Test
    void invalidEntriesAreUsageErrorsBeforeAnythingIsContacted() {
        for (String bad : List.of("203.0.113.256", "example.com", "1.2.3", "203.0.113.0/33", "2001:db8::/129",
                "203.0.113.9-203.0.113.1", "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "::ffff:1.2.3.999", " ")) {
            TestPg.Run r = run("--ip", bad, "--yes");
            assertEquals(Exit.USAGE, r.exit(), bad + ": " + r.all());
            assertTrue(r.err().contains("not an IPv4 or IPv6 address, a CIDR block or a range")
                    || r.err().contains("an empty entry"), r.err());
        }
        assertEquals(0, fake.log.size(), "nothing was sent");
    }

    @Test
    void ipv6CidrAndRangesAreAcceptedAndCompareByValue() {
        setAllowed(false, "2001:DB8:0:0:0:0:0:1", "10.0.0.0/8");
        TestPg.Run r = run("--ip", "2001:db8::1,2001:db8::/48,203.0.113.1-203.0.113.9,::ffff:192.0.2.1,10.0.0.0/8",
                "--cidr", "fe80::1/128", "--yes");
        assertEquals(0, r.exit(), r.all());
        assertEquals(List.of("2001:DB8:0:0:0:0:0:1", "10.0.0.0/8", "2001:db8::/48", "203.0.113.1-203.0.113.9",
                "::ffff:192.0.2.1", "fe80::1/128"), ips());
    }

    @Test
    void ipv6OnAnAzureProjectIsWarnedAbout() {
        setAllowed(false, "198.51.100.7");
        fake.projects.get(PID).addProperty("region_id", "azure-eastus2");
        TestPg.Run r = run("--ip", "2001:db8::1", "--dry-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.err().contains("Azure") && r.err().contains("IPv4 entries only"), r.err());
    }

    @Test
    void protectedOnlySetsTheFlag() {
        setAllowed(false, "198.51.100.7");
        TestPg.Run r = run("--ip", "198.51.100.7", "--protected-only");
        assertEquals(0, r.exit(), r.all());
        assertTrue(allowed().get("protected_branches_only").getAsBoolean());
        assertEquals(List.of("198.51.100.7"), ips());
        assertEquals(1, patches(), "the flag alone is a change");
        assertTrue(r.out().contains("protected_branches_only on"), r.out());
    }

    @Test
    void blockPublicConnectionsIsWarnedAbout() {
        setAllowed(false, "198.51.100.7");
        fake.projects.get(PID).getAsJsonObject("settings").addProperty("block_public_connections", true);
        TestPg.Run r = run("--ip", "198.51.100.7");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.err().contains("block_public_connections") && r.err().contains("supersedes"), r.err());
    }

    @Test
    void takesTheAddressesFromMaterializesMzEgressIps() {
        MzStandIn mz = new MzStandIn();
        mz.egressIp("3.215.237.176", 32, "3.215.237.176/32").egressIp("52.6.88.1", 32, null);
        setAllowed(false, "198.51.100.7");
        Map<String, String> env = env();
        env.putAll(mz.env(null));
        TestPg.Run r = run(env, "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals(List.of("198.51.100.7", "3.215.237.176/32", "52.6.88.1"), ips(), "cidr when present, else egress_ip");
        assertEquals("mz_egress_ips", r.json().get("source").getAsString());
        assertFalse(r.out().contains(mz.server.readSecret("owner.password")));

        // a dry run reads Materialize too: it needs the addresses to show the plan
        mz.egressIp("52.6.88.2", 32, "52.6.88.2/32");
        TestPg.Run dry = run(env, "--dry-run");
        assertEquals(0, dry.exit(), dry.all());
        assertTrue(dry.out().contains("Materialize's egress IPs (SELECT * FROM mz_egress_ips): 3.215.237.176/32, "
                + "52.6.88.1, 52.6.88.2/32"), dry.out());
        assertTrue(dry.out().contains("would add 1 entry (52.6.88.2/32)"), dry.out());
        assertEquals(1, patches());
    }

    @Test
    void anEmptyMzEgressIpsSaysToUseIp() {
        MzStandIn mz = new MzStandIn();
        Map<String, String> env = env();
        env.putAll(mz.env(null));
        TestPg.Run r = run(env);
        assertEquals(Exit.NOT_FOUND, r.exit(), r.all());
        assertTrue(r.err().contains("nothing to add"), r.err());
        assertTrue(r.err().contains("self-managed Materialize or the emulator") && r.err().contains("--ip"), r.err());
        assertEquals(0, patches());
    }

    @Test
    void withNeitherMaterializeNorIpItAsksWhich() {
        TestPg.Run r = run();
        assertEquals(Exit.USAGE, r.exit(), r.all());
        assertTrue(r.err().contains("--mz-url") && r.err().contains("--ip"), r.err());
        assertEquals(0, fake.log.size());
    }

    @Test
    void aListThatDoesNotReadBackFailsVerification() {
        setAllowed(false, "198.51.100.7");
        // a proxy that drops the new entries: the PATCH "succeeds", the re-read tells the truth
        TestPg.Run r;
        fake.server.removeContext("/api/v2");
        FakeNeonApi real = fake;
        fake.server.createContext("/api/v2", ex -> {
            if (ex.getRequestMethod().equals("PATCH")) {
                byte[] b = "{\"project\":{}}".getBytes();
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
                ex.close();
                return;
            }
            byte[] b = ("{\"project\":" + real.projects.get(PID) + "}").getBytes();
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        r = run("--ip", "203.0.113.10");
        assertEquals(Exit.VERIFY, r.exit(), r.all());
        assertTrue(r.err().contains("missing: 203.0.113.10"), r.err());
    }
}
