import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Postgres wire-protocol proxy in front of a {@link MzStandIn}: the scripts connect to it as to Materialize
 * (real pgjdbc, real sockets), and the few statements of Materialize's own that PostgreSQL cannot parse
 * (ALTER CLUSTER … SET (SIZE …), SHOW of a Materialize setting) are rewritten, by the rules a test gives,
 * into calls of the stand-in's procedures, which change its catalog as Materialize would at that release.
 * Every other message passes through byte for byte. Only the statement text of Query ('Q') and Parse ('P')
 * messages is touched; what the script sent is what {@code $NEONMZ_MZ_LOG} shows.
 */
final class MzWire implements AutoCloseable {
    record Rule(Pattern pattern, String replacement, java.util.function.Function<Matcher, String> handler) {}

    private final ServerSocket listener;
    private final int target;
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    /** What reached the stand-in after rewriting (for a test to check that a rule fired). */
    final List<String> rewritten = new CopyOnWriteArrayList<>();

    MzWire(int targetPort) throws IOException {
        this.target = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "mz-wire");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Statements matching {@code regex} (whole, case-insensitive) become {@code replacement} ($1… groups). */
    MzWire rule(String regex, String replacement) {
        rules.add(new Rule(Pattern.compile("(?is)\\s*" + regex + "\\s*;?\\s*"), replacement, null));
        return this;
    }

    /**
     * Statements matching {@code regex} are played by {@code handler} (which changes the stand-in's catalog as the
     * statement would in Materialize) and replaced by what it returns; an exception it throws reaches the client as
     * the statement's error.
     */
    MzWire rule(String regex, java.util.function.Function<Matcher, String> handler) {
        rules.add(new Rule(Pattern.compile("(?is)\\s*" + regex + "\\s*;?\\s*"), null, handler));
        return this;
    }

    /** The next statement matching {@code regex} fails with {@code message} (once; later ones go to the other rules). */
    MzWire failOnce(String regex, String message) {
        Rule[] self = new Rule[1];
        self[0] = new Rule(Pattern.compile("(?is)\\s*" + regex + "\\s*;?\\s*"), null, m -> {
            rules.remove(self[0]);
            throw new IllegalStateException(message);
        });
        rules.add(0, self[0]);
        return this;
    }

    String rewrite(String sql) {
        for (Rule r : rules) {
            Matcher m = r.pattern().matcher(sql);
            if (m.matches() && r.handler() != null) {
                String out;
                try {
                    out = r.handler().apply(m);
                } catch (RuntimeException e) {
                    out = "DO $wire$ BEGIN RAISE EXCEPTION '%', " + "'" + String.valueOf(e.getMessage()).replace("'", "''")
                            + "'; END $wire$";
                }
                rewritten.add(out);
                return out;
            }
            if (m.matches()) {
                String out = m.replaceFirst(r.replacement());
                rewritten.add(out);
                return out;
            }
        }
        return sql;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                Thread up = new Thread(() -> clientToServer(client, server), "mz-wire-up");
                Thread down = new Thread(() -> copy(server, client), "mz-wire-down");
                up.setDaemon(true);
                down.setDaemon(true);
                up.start();
                down.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void copy(Socket from, Socket to) {
        try (from; to) {
            from.getInputStream().transferTo(to.getOutputStream());
        } catch (IOException ignored) {
            // one side closed: the session is over
        }
    }

    private void clientToServer(Socket client, Socket server) {
        try (client; server) {
            DataInputStream in = new DataInputStream(client.getInputStream());
            DataOutputStream out = new DataOutputStream(server.getOutputStream());
            OutputStream back = client.getOutputStream();
            // the startup packet (no type byte); SSL and GSS encryption requests are declined here ('N')
            while (true) {
                int len = in.readInt();
                byte[] body = in.readNBytes(len - 4);
                int code = ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
                if (code == 80877103 || code == 80877104) {
                    back.write('N');
                    back.flush();
                    continue;
                }
                out.writeInt(len);
                out.write(body);
                out.flush();
                break;
            }
            while (true) {
                int type = in.read();
                if (type < 0) {
                    return;
                }
                int len = in.readInt();
                byte[] body = in.readNBytes(len - 4);
                if (type == 'Q') {
                    body = cstring(rewrite(text(body, 0)));
                } else if (type == 'P') {
                    int nameEnd = indexOfNul(body, 0);
                    int sqlEnd = indexOfNul(body, nameEnd + 1);
                    String sql = new String(body, nameEnd + 1, sqlEnd - nameEnd - 1, StandardCharsets.UTF_8);
                    String now = rewrite(sql);
                    if (!now.equals(sql)) {
                        byte[] name = java.util.Arrays.copyOfRange(body, 0, nameEnd + 1);
                        byte[] rest = java.util.Arrays.copyOfRange(body, sqlEnd + 1, body.length);
                        byte[] sqlBytes = cstring(now);
                        byte[] b = new byte[name.length + sqlBytes.length + rest.length];
                        System.arraycopy(name, 0, b, 0, name.length);
                        System.arraycopy(sqlBytes, 0, b, name.length, sqlBytes.length);
                        System.arraycopy(rest, 0, b, name.length + sqlBytes.length, rest.length);
                        body = b;
                    }
                }
                out.write(type);
                out.writeInt(body.length + 4);
                out.write(body);
                out.flush();
            }
        } catch (IOException ignored) {
            // the client or the server went away
        }
    }

    private static String text(byte[] body, int from) {
        return new String(body, from, indexOfNul(body, from) - from, StandardCharsets.UTF_8);
    }

    private static int indexOfNul(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return b.length;
    }

    /** A NUL-terminated UTF-8 string, as the protocol carries statement texts. */
    private static byte[] cstring(String s) {
        byte[] t = s.getBytes(StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(t, t.length + 1);
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
