///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//JAVA_OPTIONS -XX:TieredStopAtLevel=1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.postgresql:postgresql:42.7.14
//DEPS com.google.code.gson:gson:2.13.2
//SOURCES ../lib/neonmz/Cli.java
//SOURCES ../lib/neonmz/ConnInfo.java
//SOURCES ../lib/neonmz/Durations.java
//SOURCES ../lib/neonmz/Exit.java
//SOURCES ../lib/neonmz/Fail.java
//SOURCES ../lib/neonmz/Json.java
//SOURCES ../lib/neonmz/Mz.java
//SOURCES ../lib/neonmz/MzErrors.java
//SOURCES ../lib/neonmz/MzOptions.java
//SOURCES ../lib/neonmz/NeonApi.java
//SOURCES ../lib/neonmz/NeonOptions.java
//SOURCES ../lib/neonmz/Out.java
//SOURCES ../lib/neonmz/OutputOptions.java
//SOURCES ../lib/neonmz/Pg.java
//SOURCES ../lib/neonmz/Secrets.java
//SOURCES ../lib/neonmz/Sql.java
//DESCRIPTION Guide step B: add Materialize's egress IPs (mz_egress_ips, or --ip) to the Neon project's IP Allow list, keeping the entries already there.

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import neonmz.Cli;
import neonmz.Durations;
import neonmz.Exit;
import neonmz.Fail;
import neonmz.Mz;
import neonmz.MzOptions;
import neonmz.NeonApi;
import neonmz.NeonOptions;
import neonmz.Out;
import neonmz.OutputOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Guide step B — "(Optional) Configure network security": when the Neon project uses IP Allow, the
 * addresses Materialize connects from must be on its list. Materialize Cloud lists them in
 * {@code mz_egress_ips}; a self-managed Materialize (or the emulator) announces none, so they come from
 * {@code --ip}. Neon's PATCH replaces the whole list ("You cannot append values to an existing
 * configuration", reference/neon.md §1c), so the list is read, merged (new entries after the existing
 * ones, none dropped) and written back, as {@code neon ip-allow add} does; protected_branches_only is kept
 * unless {@code --protected-only}. An empty list means "allow every address": the first entries close the
 * project to everyone else, so that needs a confirmation.
 */
@Command(name = "ip-allow", mixinStandardHelpOptions = true,
        description = {"Guide step B: add Materialize's egress IPs to the Neon project's IP Allow list. The addresses "
                + "come from Materialize (SELECT * FROM mz_egress_ips, when --mz-url or MZ_URL is given) or from --ip "
                + "(a self-managed Materialize or the emulator announces none). The list is read, merged and written "
                + "back whole (Neon's API cannot append): existing entries and protected_branches_only are kept "
                + "(--protected-only sets it). An empty list allows every address; adding the first entries blocks "
                + "every other client, so that asks first (--yes skips). IP Allow is a Neon Scale-plan feature, and "
                + "block_public_connections, when on, supersedes the list.",
                "Entries: an IPv4 or IPv6 address, a CIDR block (203.0.113.0/24) or a range (203.0.113.1-203.0.113.9)."},
        footer = {"%nExamples:",
                "  ./jbang ip-allow --mz-url \"$MZ_URL\"                  # Materialize Cloud: its mz_egress_ips",
                "  ./jbang ip-allow --ip 203.0.113.10,203.0.113.11 --dry-run   # before, after and the PATCH; nothing sent",
                "  ./jbang ip-allow --ip 198.51.100.0/24 --ip 2001:db8::/48 --yes",
                "  ./jbang ip-allow --mz-url \"$MZ_URL\" --protected-only   # the list applies to protected branches only"})
public class AllowMaterializeIps implements Callable<Integer> {
    /** The guide's query (step B) is {@code SELECT * FROM mz_egress_ips;}; these are its columns. */
    static final String GUIDE_SQL = "SELECT * FROM mz_egress_ips";
    static final String EGRESS_IPS = """
            SELECT egress_ip, prefix_length, cidr FROM mz_catalog.mz_egress_ips ORDER BY egress_ip""";

    @Mixin NeonOptions neon;
    @Mixin MzOptions mz;
    @Mixin OutputOptions out;

    @Option(names = {"--ip", "--cidr"}, paramLabel = "ENTRY", split = ",",
            description = "An address to allow instead of reading Materialize: IPv4, IPv6, CIDR or a range a-b "
                    + "(repeatable, or a comma list).")
    List<String> ips = new ArrayList<>();

    @Option(names = "--protected-only",
            description = "Apply the list to protected branches only (sets protected_branches_only; without it the "
                    + "project's current value is kept).")
    boolean protectedOnly;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Give up on the Neon API after this long (default ${DEFAULT-VALUE}).")
    Duration timeout = Duration.ofMinutes(2);

    @Option(names = "--if-in-use", description = "Only when the project uses IP Allow already (its list is not "
            + "empty); with an empty list (every address may connect) there is nothing to do. The runbook uses it, "
            + "so that it never closes an open project.")
    boolean ifInUse;

    public static void main(String... args) {
        Cli.main(new AllowMaterializeIps(), args);
    }

    private static Fail noAddresses() {
        return Fail.usage("which addresses should the Neon project allow?",
                "give --mz-url (or MZ_URL) to read Materialize Cloud's egress IPs (" + GUIDE_SQL + "), or --ip "
                        + "ADDR[,ADDR…] with the addresses a self-managed Materialize connects from");
    }

    @Override
    public Integer call() throws Exception {
        Out o = out.out();
        Durations.requirePositive("--timeout", timeout, "2m");
        // The entries first: a typo fails before anything is contacted.
        List<IpAllowList.Entry> wanted = entriesGiven(o);
        if (neon.branch != null) {
            o.warn("IP Allow is a project setting: --branch is not used (protected_branches_only limits it to "
                    + "protected branches)");
        }

        NeonApi api = neon.client(o, timeout);
        JsonObject project = api.resolveProject(neon.project());
        String pid = project.get("id").getAsString();
        String pname = project.has("name") ? project.get("name").getAsString() : pid;
        IpAllowList before = IpAllowList.of(IpAllowList.object(project, "settings"));
        if (ifInUse && before.ips().isEmpty()) {
            return notInUse(o, pid, pname);
        }
        String from = ips.isEmpty() ? "mz_egress_ips" : "--ip";
        if (ips.isEmpty()) {
            wanted.addAll(fromMaterialize(o));
        }
        wanted = IpAllowList.distinct(wanted);

        // The merge: the new entries after the existing ones, none dropped (Neon's PATCH replaces the whole list).
        List<String> added = before.notOnList(wanted);
        IpAllowList after = before.plus(added, protectedOnly || before.protectedOnly());
        report(o, project, from, wanted, before, after, added);
        if (added.isEmpty() && after.protectedOnly() == before.protectedOnly()) {
            o.put("already_done", true);
            o.line("ip-allow: already done (%s already in the list of project %s)",
                    IpAllowList.entries(wanted.size() - added.size()), pname);
            return Exit.OK;
        }
        o.put("already_done", false);
        if (before.ips().isEmpty()) {
            confirmClosing(o, pname, after);
        }

        write(api, pid, after);
        String what = IpAllowList.entries(added.size()) + (added.isEmpty() ? "" : " (" + String.join(", ", added) + ")")
                + (after.protectedOnly() != before.protectedOnly() ? ", protected_branches_only on" : "");
        if (o.dryRun()) {
            o.line("ip-allow: would add %s; nothing was sent (--dry-run)", what);
            return Exit.OK;
        }
        return verify(o, api, pid, pname, after, what);
    }

    /** The --ip entries, parsed; none when Materialize's egress IPs are to be read (after --if-in-use had its say). */
    private List<IpAllowList.Entry> entriesGiven(Out o) {
        List<IpAllowList.Entry> wanted = new ArrayList<>();
        if (!ips.isEmpty()) {
            for (String ip : ips) {
                wanted.add(IpAllowList.Entry.parse(ip, "--ip"));
            }
            if (mz.url != null) {
                o.warn("--ip given: Materialize (--mz-url) is not read; its mz_egress_ips are added only without --ip");
            }
        } else if (!mz.given() && !ifInUse) {
            throw noAddresses();
        }
        return wanted;
    }

    /** --if-in-use, empty list: the guide's step B is for projects that use IP Allow; an empty list lets every address in. */
    private static Integer notInUse(Out o, String pid, String pname) {
        o.put("project", pid);
        o.put("in_use", false);
        o.put("already_done", true);
        o.line("ip-allow: nothing to do: project %s does not use IP Allow (its list is empty, so every address "
                + "may connect, Materialize's included)", pname);
        return Exit.OK;
    }

    /** Materialize Cloud's egress addresses: cidr when the row has one, else egress_ip. */
    private List<IpAllowList.Entry> fromMaterialize(Out o) throws Exception {
        if (!mz.given()) {
            throw noAddresses();
        }
        List<IpAllowList.Entry> found = new ArrayList<>();
        try (Mz db = Mz.connectToRead(mz, o)) {
            for (Map<String, Object> r : db.query(EGRESS_IPS)) {
                Object cidr = r.get("cidr");
                Object ip = r.get("egress_ip");
                String v = cidr != null && !cidr.toString().isBlank() ? cidr.toString() : ip == null ? null : ip.toString();
                if (v != null && !v.isBlank()) {
                    found.add(IpAllowList.Entry.parse(v, "mz_egress_ips"));
                }
            }
            if (found.isEmpty()) {
                throw new Fail(Exit.NOT_FOUND, "Materialize at " + db.info.host() + " lists no egress IPs ("
                        + GUIDE_SQL + " is empty), so there is nothing to add to IP Allow",
                        "a self-managed Materialize or the emulator announces no egress addresses: give the addresses "
                                + "its connections leave from with --ip ADDR[,ADDR…]");
            }
            o.line("Materialize's egress IPs (%s): %s", GUIDE_SQL, String.join(", ", found.stream().map(e -> e.text()).toList()));
        }
        return found;
    }

    /** Before and after, and what would defeat the list: block_public_connections, IPv6 entries on Azure. */
    private static void report(Out o, JsonObject project, String from, List<IpAllowList.Entry> wanted,
            IpAllowList before, IpAllowList after, List<String> added) {
        String pid = project.get("id").getAsString();
        String pname = project.has("name") ? project.get("name").getAsString() : pid;
        JsonObject settings = IpAllowList.object(project, "settings");
        boolean blockPublic = settings.has("block_public_connections")
                && settings.get("block_public_connections").isJsonPrimitive()
                && settings.get("block_public_connections").getAsBoolean();
        o.put("project", pid);
        o.put("source", from);
        o.put("given", wanted.stream().map(IpAllowList.Entry::text).toList());
        o.put("before", before.json());
        o.put("after", after.json());
        o.put("added", added);
        o.put("block_public_connections", blockPublic);

        o.line("project %s (%s), IP Allow%s:", pname, pid, after.protectedOnly() ? " (protected branches only)" : "");
        o.line("  before: %s", before.shown());
        o.line("  after:  %s", after.shown());
        if (blockPublic) {
            o.warn("the project has block_public_connections on, which supersedes the IP Allow list: no address on "
                    + "the public internet can connect, Materialize's included, whatever the list holds (turn it off in "
                    + "the Console, Settings > Network security, or connect through Private Networking)");
        }
        String region = project.has("region_id") ? project.get("region_id").getAsString() : "";
        if (region.startsWith("azure") && added.stream().anyMatch(ip -> ip.contains(":"))) {
            o.warn("project " + pname + " is on Azure (" + region + "), where IP Allow takes IPv4 entries only "
                    + "(Neon docs, manage/projects); Neon may refuse the IPv6 ones");
        }
    }

    /** An empty list allows every address: the first entries close the project to every other client. */
    private static void confirmClosing(Out o, String pname, IpAllowList after) {
        o.warn("the IP Allow list of project " + pname + " is empty, which allows every address; adding these "
                + "entries blocks every other client of the project (laptops, apps, CI, other replication "
                + "subscribers) unless their addresses are on the list too");
        o.confirm("allow only " + String.join(", ", after.ips()) + " to connect to project " + pname + "?");
    }

    /** The PATCH, whole list; a refusal most often means the plan has no IP Allow. */
    private static void write(NeonApi api, String pid, IpAllowList after) {
        try {
            api.updateProjectSettings(pid, after.patch());
        } catch (NeonApi.ApiError e) {
            if (e.status == 400 || e.status == 402 || e.status == 403 || e.status == 422) {
                throw new Fail(e.exit, e.getMessage(), "IP Allow needs Neon's Scale plan (or a higher one): check the "
                        + "plan in the Console (Billing); also check the entries, and that the API key may change the "
                        + "project's settings", e);
            }
            throw e;
        }
    }

    /** Re-read: the change counts only when the project says so. */
    private static Integer verify(Out o, NeonApi api, String pid, String pname, IpAllowList after, String what) {
        IpAllowList now = IpAllowList.of(IpAllowList.object(api.getProject(pid), "settings"));
        Set<String> nowKeys = now.keys();
        List<String> missing = new ArrayList<>();
        for (String ip : after.ips()) {
            if (!nowKeys.contains(IpAllowList.Entry.key(ip))) {
                missing.add(ip);
            }
        }
        if (!missing.isEmpty() || now.protectedOnly() != after.protectedOnly()) {
            throw new Fail(Exit.VERIFY, "after the change, the IP Allow list of project " + pname + " reads "
                    + now.shown() + ", protected_branches_only " + now.protectedOnly() + "; missing: "
                    + (missing.isEmpty() ? "none" : String.join(", ", missing)),
                    "check Settings > Network security in the Neon Console (IP Allow needs the Scale plan), then run "
                            + "the step again");
        }
        o.put("verified", true);
        o.line("ip-allow: added %s; verified, project %s now allows %s", what, pname, IpAllowList.entries(now.ips().size()));
        return Exit.OK;
    }
}

/**
 * Neon's IP Allow list as this step reads, merges and shows it: project.settings.allowed_ips (SPEC AllowedIps;
 * absent or null means an empty list), its entries compared by value, and the PATCH that writes it back whole.
 */
record IpAllowList(List<String> ips, boolean protectedOnly) {
    static IpAllowList of(JsonObject settings) {
        JsonObject a = object(settings, "allowed_ips");
        List<String> ips = new ArrayList<>();
        if (a.has("ips") && a.get("ips").isJsonArray()) {
            for (JsonElement e : a.getAsJsonArray("ips")) {
                if (e.isJsonPrimitive()) {
                    ips.add(e.getAsString());
                }
            }
        }
        boolean p = a.has("protected_branches_only") && a.get("protected_branches_only").isJsonPrimitive()
                && a.get("protected_branches_only").getAsBoolean();
        return new IpAllowList(ips, p);
    }

    /** The entries of {@code wanted} that are not on this list (compared by value), as given. */
    List<String> notOnList(List<Entry> wanted) {
        Set<String> have = keys();
        List<String> added = new ArrayList<>();
        for (Entry e : wanted) {
            if (!have.contains(e.key)) {
                added.add(e.text);
            }
        }
        return added;
    }

    /** This list with {@code added} after its entries. */
    IpAllowList plus(List<String> added, boolean protectedAfter) {
        List<String> after = new ArrayList<>(ips);
        after.addAll(added);
        return new IpAllowList(after, protectedAfter);
    }

    /** The entries' keys (see {@link Entry#key}). */
    Set<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        for (String ip : ips) {
            keys.add(Entry.key(ip));
        }
        return keys;
    }

    Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ips", ips);
        m.put("protected_branches_only", protectedOnly);
        return m;
    }

    /** The project settings PATCH: {"allowed_ips": {"ips": [...], "protected_branches_only": ...}}. */
    JsonObject patch() {
        JsonObject allowed = new JsonObject();
        JsonArray list = new JsonArray();
        ips.forEach(list::add);
        allowed.add("ips", list);
        allowed.addProperty("protected_branches_only", protectedOnly);
        JsonObject patch = new JsonObject();
        patch.add("allowed_ips", allowed);
        return patch;
    }

    String shown() {
        return ips.isEmpty() ? "(empty: every address may connect)" : String.join(", ", ips);
    }

    static String entries(int n) {
        return n + " " + (n == 1 ? "entry" : "entries");
    }

    static JsonObject object(JsonObject o, String k) {
        return o != null && o.has(k) && o.get(k).isJsonObject() ? o.getAsJsonObject(k) : new JsonObject();
    }

    static List<Entry> distinct(List<Entry> entries) {
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : entries) {
            m.putIfAbsent(e.key, e);
        }
        return new ArrayList<>(m.values());
    }

    /**
     * One IP Allow entry as Neon takes them (reference/neon.md §1c): an IPv4 or IPv6 address, a CIDR block or a
     * range a-b. The key compares entries by value: 203.0.113.7 and 203.0.113.7/32 are the same, and so are
     * two spellings of one IPv6 address.
     */
    record Entry(String text, String key) {
        static final Pattern V4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

        static Entry parse(String raw, String from) {
            String t = raw == null ? "" : raw.strip();
            String k = t.isEmpty() ? null : keyOrNull(t);
            if (k == null) {
                throw Fail.usage((from.equals("--ip") ? "--ip " : from + " gave ") + (t.isEmpty() ? "an empty entry" : t)
                                + ": not an IPv4 or IPv6 address, a CIDR block or a range",
                        "write e.g. 203.0.113.10, 2001:db8::1, 203.0.113.0/24 or 203.0.113.1-203.0.113.9 "
                                + "(no host names, no spaces)");
            }
            return new Entry(t, k);
        }

        /** The key of an entry already on the list; one this tool cannot read compares as its text. */
        static String key(String text) {
            String k = keyOrNull(text.strip());
            return k != null ? k : "text:" + text.strip().toLowerCase(Locale.ROOT);
        }

        static String keyOrNull(String t) {
            int dash = t.indexOf('-');
            if (dash >= 0) {
                byte[] a = address(t.substring(0, dash).strip());
                byte[] b = address(t.substring(dash + 1).strip());
                if (a == null || b == null || a.length != b.length || compare(a, b) > 0) {
                    return null;
                }
                return hex(a) + "-" + hex(b);
            }
            int slash = t.indexOf('/');
            if (slash >= 0) {
                byte[] a = address(t.substring(0, slash));
                String p = t.substring(slash + 1);
                if (a == null || !p.matches("\\d{1,3}")) {
                    return null;
                }
                int prefix = Integer.parseInt(p);
                if (prefix > a.length * 8) {
                    return null;
                }
                return prefix == a.length * 8 ? hex(a) : hex(a) + "/" + prefix;
            }
            byte[] a = address(t);
            return a == null ? null : hex(a);
        }

        static byte[] address(String s) {
            return s.contains(":") ? v6(s) : v4(s);
        }

        static byte[] v4(String s) {
            Matcher m = V4.matcher(s);
            if (!m.matches()) {
                return null;
            }
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                int n = Integer.parseInt(m.group(i + 1));
                if (n > 255) {
                    return null;
                }
                b[i] = (byte) n;
            }
            return b;
        }

        /** RFC 4291 text forms: eight groups, one "::", an IPv4 tail. No zone ids (Neon has no use for them). */
        static byte[] v6(String s) {
            if (!s.matches("[0-9A-Fa-f:.]+")) {
                return null;
            }
            String text = s;
            byte[] tail = null;
            int lastColon = text.lastIndexOf(':');
            if (text.indexOf('.') >= 0) {
                tail = v4(text.substring(lastColon + 1));
                if (tail == null) {
                    return null;
                }
                text = text.substring(0, lastColon + 1) + "0:0";   // two placeholder groups for the IPv4 tail
            }
            int dbl = text.indexOf("::");
            if (dbl >= 0 && text.indexOf("::", dbl + 1) >= 0) {
                return null;
            }
            List<String> head = groups(dbl >= 0 ? text.substring(0, dbl) : text);
            List<String> rest = dbl >= 0 ? groups(text.substring(dbl + 2)) : List.of();
            if (head == null || rest == null) {
                return null;
            }
            int n = head.size() + rest.size();
            if (dbl >= 0 ? n > 7 : n != 8) {
                return null;
            }
            List<String> all = new ArrayList<>(head);
            for (int i = n; i < 8; i++) {
                all.add("0");
            }
            all.addAll(rest);
            byte[] b = new byte[16];
            for (int i = 0; i < 8; i++) {
                int v = Integer.parseInt(all.get(i), 16);
                b[2 * i] = (byte) (v >> 8);
                b[2 * i + 1] = (byte) v;
            }
            if (tail != null) {
                System.arraycopy(tail, 0, b, 12, 4);
            }
            return b;
        }

        private static List<String> groups(String s) {
            if (s.isEmpty()) {
                return List.of();
            }
            List<String> g = new ArrayList<>();
            for (String p : s.split(":", -1)) {
                if (!p.matches("[0-9A-Fa-f]{1,4}")) {
                    return null;
                }
                g.add(p);
            }
            return g;
        }

        private static int compare(byte[] a, byte[] b) {
            for (int i = 0; i < a.length; i++) {
                int c = Integer.compare(a[i] & 0xff, b[i] & 0xff);
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        }

        private static String hex(byte[] b) {
            StringBuilder sb = new StringBuilder(b.length * 2);
            for (byte x : b) {
                sb.append(String.format("%02x", x & 0xff));
            }
            return sb.toString();
        }
    }
}
