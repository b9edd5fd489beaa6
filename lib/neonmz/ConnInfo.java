package neonmz;

import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * PostgreSQL connection settings as libpq reads them: a URI ({@code postgresql://user:pw@host:5432/db?sslmode=require}),
 * a key=value string ({@code host=… dbname=…}), the {@code PG*} environment variables and a password file
 * ({@code PGPASSFILE} or {@code ~/.pgpass}), mapped to pgjdbc properties. Knows Neon's host names and
 * refuses a {@code -pooler} host, naming the direct host instead (logical replication does not pass PgBouncer).
 */
public final class ConnInfo {
    public List<String> hosts = new ArrayList<>();
    public List<Integer> ports = new ArrayList<>();
    public String dbname;
    public String user;
    String password;
    public String sslmode;
    public String channelBinding;
    public String applicationName;
    public String options;
    public Integer connectTimeout;
    /** Where the password came from, for messages: "url", "PGPASSWORD", "passfile ~/.pgpass", "file …". */
    public String passwordSource;
    /**
     * The fix for a refused password when it is not the upstream owner's (the replication role's, from
     * --password-file): null means the owner's (PGPASSWORD, ~/.pgpass, --pg-password-file).
     */
    public String authFix;
    /** No host came from anywhere (--pg-url, DATABASE_URL, PGHOST): localhost is libpq's default, not a choice. */
    public boolean hostDefaulted;
    /** Parameters we read but pgjdbc has no use for (kept to warn once). */
    public final Map<String, String> ignored = new LinkedHashMap<>();

    private static final Set<String> KNOWN = Set.of("host", "hostaddr", "port", "dbname", "user", "password",
            "sslmode", "channel_binding", "application_name", "options", "connect_timeout", "passfile");

    public String host() {
        return hosts.isEmpty() ? "localhost" : hosts.get(0);
    }

    public int port() {
        return ports.isEmpty() ? 5432 : ports.get(0);
    }

    public String password() {
        return password;
    }

    public void password(String pw, String source) {
        this.password = Secrets.register(pw);
        this.passwordSource = source;
    }

    /** Does the string look like a URI or a key=value conninfo (rather than a bare database name)? */
    public static ConnInfo parse(String s) {
        ConnInfo c = new ConnInfo();
        if (s == null || s.isBlank()) {
            return c;
        }
        String t = s.strip();
        if (t.startsWith("postgresql://") || t.startsWith("postgres://")) {
            c.parseUri(t);
        } else if (t.startsWith("jdbc:postgresql://")) {
            c.parseUri(t.substring("jdbc:".length()));
        } else if (t.contains("=")) {
            c.parseKeyValue(t);
        } else {
            c.dbname = t; // psql takes a bare word as the database name
        }
        return c;
    }

    private void parseUri(String uri) {
        String rest = uri.substring(uri.indexOf("://") + 3);
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String path = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            path = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
        }
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String userinfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = userinfo.indexOf(':');
            if (colon >= 0) {
                user = decode(userinfo.substring(0, colon));
                // The typed form too (lower-case hex, ':' or '+' left raw…): it is masked when argv is printed.
                Secrets.register(userinfo.substring(colon + 1));
                password(decode(userinfo.substring(colon + 1)), "url");
            } else {
                user = decode(userinfo);
            }
        }
        if (!rest.isEmpty()) {
            List<Integer> given = new ArrayList<>();
            try {
                for (String hp : rest.split(",")) {
                    given.add(parseHostPort(hp));
                }
            } catch (Fail f) {
                // "u:pa/ss@host": the password ends the host part early and its first half reads as a port.
                // Say so without echoing that half (it is a piece of the password, not yet known as one).
                if (at < 0 && ((path != null && path.contains("@")) || (query != null && query.contains("@")))) {
                    throw Fail.usage("cannot read the host and port of the connection string: it has an \"@\" "
                            + "after the host part, so the password probably holds an unencoded /, ? or #",
                            "percent-encode them in the password: / → %2F, ? → %3F, # → %23 (and @ → %40, % → %25)");
                }
                throw f;
            }
            // libpq: a host written without a port gets the default, not its neighbour's port
            if (given.stream().anyMatch(p -> p != null)) {
                for (Integer p : given) {
                    ports.add(p != null ? p : 5432);
                }
            }
        }
        if (path != null && !path.isEmpty()) {
            dbname = decode(path);
        }
        if (query != null) {
            for (String kv : query.split("&")) {
                if (kv.isEmpty()) {
                    continue;
                }
                int eq = kv.indexOf('=');
                String k = decode(eq < 0 ? kv : kv.substring(0, eq));
                String v = eq < 0 ? "" : decode(kv.substring(eq + 1));
                if (k.equals("password")) {
                    Secrets.register(kv.substring(eq + 1));
                }
                set(k, v, "url");
            }
        }
    }

    /** Adds the host; returns its port, or null when none was written. */
    private Integer parseHostPort(String hp) {
        String host = hp;
        String port = null;
        if (hp.startsWith("[")) {
            int end = hp.indexOf(']');
            if (end < 0) {
                throw Fail.usage("missing \"]\" after an IPv6 address in the connection string",
                        "write IPv6 hosts in brackets: postgresql://user@[::1]:5432/db");
            }
            host = hp.substring(1, end);
            if (end + 1 < hp.length() && hp.charAt(end + 1) == ':') {
                port = hp.substring(end + 2);
            }
        } else {
            int colon = hp.lastIndexOf(':');
            if (colon >= 0) {
                host = hp.substring(0, colon);
                port = hp.substring(colon + 1);
            }
        }
        if (!host.isEmpty()) {
            hosts.add(decode(host));
        }
        return port != null && !port.isEmpty() ? parsePort(port) : null;
    }

    private static int parsePort(String p) {
        try {
            int n = Integer.parseInt(p.strip());
            if (n < 1 || n > 65535) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw Fail.usage("invalid port: " + p, "give a number from 1 to 65535");
        }
    }

    private void parseKeyValue(String s) {
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int eq = s.indexOf('=', i);
            if (eq < 0) {
                throw Fail.usage("missing \"=\" after \"" + s.substring(i).split("\\s")[0] + "\" in connection string",
                        "write key=value pairs, e.g. host=localhost dbname=neondb");
            }
            String key = s.substring(i, eq).strip();
            if (key.isEmpty() || key.chars().anyMatch(Character::isWhitespace)) {
                String word = key.isEmpty() ? "=" : key.split("\\s")[0];
                throw Fail.usage("missing \"=\" after \"" + word + "\" in connection string",
                        "write key=value pairs, e.g. host=localhost dbname=neondb");
            }
            i = eq + 1;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder v = new StringBuilder();
            int typed = i;
            if (i < n && s.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        v.append(s.charAt(i++));
                    } else if (c == '\'') {
                        closed = true;
                        break;
                    } else {
                        v.append(c);
                    }
                }
                if (!closed) {
                    if (key.equals("password")) {
                        Secrets.register(s.substring(typed + 1));   // the rest of the text: it is printed with argv
                    }
                    throw Fail.usage("unterminated quoted value for " + key + " in connection string",
                            "close the single quote");
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        v.append(s.charAt(i++));
                    } else {
                        v.append(c);
                    }
                }
            }
            if (key.equals("password")) {
                Secrets.register(s.substring(typed, i)); // as typed, quotes and escapes included
            }
            set(key, v.toString(), "connection string");
        }
    }

    /** Sets one libpq keyword. */
    private void set(String key, String value, String source) {
        switch (key) {
            case "host", "hostaddr" -> {
                if (key.equals("hostaddr")) {
                    namedHosts.addAll(hosts);   // libpq still sends the name (TLS SNI): Neon routes by it
                }
                hosts.clear();
                for (String h : value.split(",")) {
                    if (!h.isBlank()) {
                        hosts.add(h.strip());
                    }
                }
            }
            case "port" -> {
                ports.clear();
                for (String p : value.split(",")) {
                    ports.add(parsePort(p));
                }
            }
            case "dbname" -> dbname = value;
            case "user" -> user = value;
            case "password" -> password(value, source);
            case "sslmode" -> sslmode = checkedSslmode(value);
            case "channel_binding" -> channelBinding = checked(value, "channel_binding", "disable", "prefer", "require");
            case "application_name" -> applicationName = value;
            case "options" -> options = value;
            case "connect_timeout" -> {
                try {
                    connectTimeout = Integer.parseInt(value.strip());
                } catch (NumberFormatException e) {
                    throw Fail.usage("invalid connect_timeout: " + value, "give seconds as a whole number");
                }
            }
            default -> ignored.put(key, value);
        }
    }

    private static String checkedSslmode(String v) {
        return checked(v, "sslmode", "disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    }

    private static String checked(String v, String key, String... allowed) {
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw Fail.usage("invalid " + key + ": " + v, "use one of " + String.join(", ", allowed));
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // No echo of the text: it may be (part of) a password.
            throw Fail.usage("invalid percent-encoding in the connection string (a % not followed by two hex digits)",
                    "percent-encode special characters in the user, password and database: % → %25, @ → %40, "
                            + "/ → %2F, ? → %3F, # → %23");
        }
    }

    /**
     * Fills what the string left open from the environment, as libpq does: PGHOST, PGPORT, PGDATABASE,
     * PGUSER, PGPASSWORD, PGSSLMODE, PGCHANNELBINDING, PGAPPNAME, PGOPTIONS, PGCONNECT_TIMEOUT; then the
     * password file; then the defaults (user = OS user, database = user).
     */
    public ConnInfo withDefaults(Map<String, String> given) {
        // An empty variable counts as unset (libpq's defaults for port and password; CI exports empty secrets).
        Map<String, String> env = new java.util.HashMap<>();
        given.forEach((k, v) -> {
            if (k != null && v != null && !v.isEmpty()) {
                env.put(k, v);
            }
        });
        if (hosts.isEmpty() && env.get("PGHOST") != null) {
            set("host", env.get("PGHOST"), "PGHOST");
        }
        if (ports.isEmpty() && env.get("PGPORT") != null) {
            set("port", env.get("PGPORT"), "PGPORT");
        }
        if (dbname == null) {
            dbname = env.get("PGDATABASE");
        }
        if (user == null) {
            user = env.get("PGUSER");
        }
        if (sslmode == null && env.get("PGSSLMODE") != null) {
            sslmode = checkedSslmode(env.get("PGSSLMODE"));
        }
        if (channelBinding == null && env.get("PGCHANNELBINDING") != null) {
            channelBinding = checked(env.get("PGCHANNELBINDING"), "PGCHANNELBINDING", "disable", "prefer", "require");
        }
        if (applicationName == null) {
            applicationName = env.get("PGAPPNAME");
        }
        if (options == null) {
            options = env.get("PGOPTIONS");
        }
        if (connectTimeout == null && env.get("PGCONNECT_TIMEOUT") != null) {
            set("connect_timeout", env.get("PGCONNECT_TIMEOUT"), "PGCONNECT_TIMEOUT");
        }
        if (hosts.isEmpty()) {
            hosts.add("localhost"); // pgjdbc has no Unix-socket default; libpq would use the socket
            hostDefaulted = true;
        }
        if (user == null) {
            user = System.getProperty("user.name");
        }
        if (dbname == null) {
            dbname = user;
        }
        if (password == null && env.get("PGPASSWORD") != null) {
            password(env.get("PGPASSWORD"), "PGPASSWORD");
        }
        if (password == null) {
            String file = ignored.containsKey("passfile") ? ignored.get("passfile") : env.get("PGPASSFILE");
            Path pass = file != null ? Path.of(file)
                    : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".pgpass");
            String pw = fromPassFile(pass, host(), port(), dbname, user);
            if (pw != null) {
                password(pw, "passfile " + pass);
            }
        }
        if (sslmode == null && isNeon()) {
            sslmode = "require"; // Neon accepts TLS connections only
        }
        if (ports.size() > 1 && ports.size() != hosts.size()) {
            throw Fail.usage(ports.size() + " ports for " + hosts.size() + " hosts",
                    "give one port for all hosts, or one per host");
        }
        return this;
    }

    /** Looks up host:port:database:user:password lines, with * wildcards and \-escapes, first match wins. */
    static String fromPassFile(Path file, String host, int port, String db, String user) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            List<String> f = splitPassLine(line);
            if (f.size() < 5) {
                continue;
            }
            if (match(f.get(0), host) && match(f.get(1), String.valueOf(port)) && match(f.get(2), db)
                    && match(f.get(3), user)) {
                return f.get(4);
            }
        }
        return null;
    }

    private static boolean match(String pattern, String value) {
        return pattern.equals("*") || pattern.equals(value)
                || (pattern.equals("localhost") && ("127.0.0.1".equals(value) || "::1".equals(value)));
    }

    private static List<String> splitPassLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == ':' && out.size() < 4) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    // ---- Neon ---------------------------------------------------------------------------------------

    /** Neon compute hosts: ep-…(.c-N).region.aws|azure.neon.tech (also neon.build for Neon's staging). */
    public boolean isNeon() {
        return isNeonHost(host());
    }

    public static boolean isNeonHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.endsWith(".neon.tech") || h.endsWith(".neon.build");
    }

    public boolean isPooler() {
        return poolerHost() != null;
    }

    /** The first of the hosts that is a Neon pooled endpoint (DNS names are case-insensitive), or null. */
    /** Host names given before a hostaddr= replaced them (for the pooler check). */
    private final List<String> namedHosts = new ArrayList<>();

    private String poolerHost() {
        List<String> all = new ArrayList<>(hosts.isEmpty() ? List.of(host()) : hosts);
        all.addAll(namedHosts);
        for (String h : all) {
            String l = h.toLowerCase(Locale.ROOT);
            if ((l.endsWith(".neon.tech") || l.endsWith(".neon.build")) && l.split("\\.", 2)[0].endsWith("-pooler")) {
                return h;
            }
        }
        return null;
    }

    /** The direct host for a pooled one: the "-pooler" suffix removed from the first DNS label. */
    public String directHost() {
        String h = poolerHost() != null ? poolerHost() : host();
        String[] parts = h.split("\\.", 2);
        String first = parts[0].toLowerCase(Locale.ROOT).endsWith("-pooler")
                ? parts[0].substring(0, parts[0].length() - "-pooler".length()) : parts[0];
        return parts.length > 1 ? first + "." + parts[1] : first;
    }

    /** Refuses Neon's pooled endpoint with the direct host to use instead. */
    public void requireDirect() {
        String pooled = poolerHost();
        if (pooled != null) {
            throw new Fail(Exit.POOLER,
                    "host " + pooled + " is Neon's pooled endpoint (PgBouncer, transaction mode); logical "
                            + "replication and its setup need a direct connection",
                    "use the direct host " + directHost() + " (the same connection string without \"-pooler\"; "
                            + "in the Neon Console: Connect → turn off \"Connection pooling\")");
        }
    }

    // ---- pgjdbc -----------------------------------------------------------------------------------------

    public String jdbcUrl() {
        StringBuilder b = new StringBuilder("jdbc:postgresql://");
        for (int i = 0; i < hosts.size(); i++) {
            if (i > 0) {
                b.append(',');
            }
            String h = hosts.get(i);
            b.append(h.contains(":") ? "[" + h + "]" : h);
            int p = i < ports.size() ? ports.get(i) : port();
            b.append(':').append(p);
        }
        b.append('/').append(URLEncoder.encode(dbname, StandardCharsets.UTF_8).replace("+", "%20"));
        return b.toString();
    }

    /** pgjdbc properties; the password travels here, never in the URL (so it is in no URL-bearing message). */
    public Properties jdbcProperties(String defaultAppName) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("sslmode", sslmode == null ? "prefer" : sslmode);
        if (channelBinding != null) {
            p.setProperty("channelBinding", channelBinding);
        }
        p.setProperty("ApplicationName", applicationName != null ? applicationName : defaultAppName);
        if (options != null) {
            p.setProperty("options", options);
        }
        p.setProperty("connectTimeout", String.valueOf(connectTimeout != null ? connectTimeout : 10));
        // GSSAPI is never used by Neon or the lab; trying it first only costs time.
        p.setProperty("gssEncMode", "disable");
        return p;
    }

    /** A URI for display: the password masked, parameters kept. */
    public String display() {
        StringBuilder b = new StringBuilder("postgresql://");
        b.append(URLEncoder.encode(user == null ? "" : user, StandardCharsets.UTF_8));
        if (password != null) {
            b.append(':').append(Secrets.MASK);
        }
        b.append('@').append(host().contains(":") ? "[" + host() + "]" : host());
        if (port() != 5432) {
            b.append(':').append(port());
        }
        b.append('/').append(URLEncoder.encode(dbname == null ? "" : dbname, StandardCharsets.UTF_8));
        if (sslmode != null) {
            b.append("?sslmode=").append(sslmode);
        }
        return b.toString();
    }

    static boolean isKnownKey(String k) {
        return KNOWN.contains(k);
    }
}
