package neonmz;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Secrets: where they come from (env, a file, stdin, a generator; never argv) and the mask every
 * printed string passes through ({@link Out}, {@link Json}, error messages), so a password that reached a
 * string by any path still prints as {@code ********}.
 */
public final class Secrets {
    public static final String MASK = "********";
    private static final List<String> KNOWN = new CopyOnWriteArrayList<>();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    private Secrets() {}

    /** Remembers a secret (and its URL-encoded form) so that it is masked wherever it would be printed. */
    public static String register(String secret) {
        if (secret == null || secret.isEmpty()) {
            return secret;
        }
        add(secret);
        add(URLEncoder.encode(secret, StandardCharsets.UTF_8));
        add(URLEncoder.encode(secret, StandardCharsets.UTF_8).replace("+", "%20"));
        return secret;
    }

    private static void add(String s) {
        // Very short strings would mask ordinary text; such passwords are refused where we create them.
        if (s.length() >= 4 && !KNOWN.contains(s)) {
            KNOWN.add(s);
            KNOWN.sort(Comparator.comparingInt(String::length).reversed());
        }
    }

    public static String mask(String text) {
        if (text == null || KNOWN.isEmpty()) {
            return text;
        }
        String out = text;
        for (String s : KNOWN) {
            if (out.contains(s)) {
                out = out.replace(s, MASK);
            }
        }
        return out;
    }

    /**
     * The one warning, the same in every script, for a password typed inside a URL on the command line
     * ({@code --pg-url}, {@code --mz-url}): it is used, but argv is readable by every user of the machine.
     */
    public static String inArgv(String option, String usedAs, String safer) {
        return "the password in " + option + " is used" + (usedAs == null ? "" : " " + usedAs)
                + ", but every user of this machine can read it in the process list (ps); prefer " + safer;
    }

    /** A new password: 32 characters from an unambiguous alphabet, 180 bits from SecureRandom. */
    public static String generate() {
        StringBuilder b = new StringBuilder(32);
        for (int i = 0; i < 32; i++) {
            b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return register(b.toString());
    }

    /** The first line of a file (a password file as psql's PGPASSFILE users write them). */
    public static String readFile(Path file, String what) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.isEmpty() || lines.get(0).isEmpty()) {
                throw Fail.usage(what + " file " + file + " is empty", "write the " + what + " on its first line");
            }
            warnIfOthersCanRead(file, what);
            return register(lines.get(0));
        } catch (java.nio.file.NoSuchFileException e) {
            throw Fail.usage(what + " file " + file + ": no such file", "give the path of the file that holds the " + what
                    + " (its first line)");
        } catch (java.nio.file.AccessDeniedException e) {
            throw Fail.usage(what + " file " + file + ": permission denied", "make it readable by you (chmod 600, as its owner)");
        } catch (IOException e) {
            throw Fail.usage("cannot read " + what + " file " + file + ": " + e.getMessage(),
                    "check the path and that it is readable");
        }
    }

    /** As ssh and libpq's ~/.pgpass: a secret file others can read is worth a warning (used all the same). */
    private static void warnIfOthersCanRead(Path file, String what) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            Out o = Out.current();
            if (o != null && p.contains(PosixFilePermission.OTHERS_READ)) {
                o.warn(what + " file " + file + " can be read by every user of this machine; chmod 600 " + file);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // not POSIX, or gone since: nothing to say
        }
    }

    /**
     * The replication role's password file in its one default place, {@code ~/.neonmz/materialize.password}: where
     * every step's example, the runbook (with --lab too), {@code lab demo} and {@code teardown} look for it.
     */
    public static Path defaultPasswordFile() {
        return defaultPasswordFile(Cli.ctx() == null ? null : Cli.ctx().env("HOME"));
    }

    /** As {@link #defaultPasswordFile()}, under {@code home} (null: this user's). */
    public static Path defaultPasswordFile(String home) {
        return Path.of(home != null ? home : System.getProperty("user.home"), ".neonmz", "materialize.password");
    }

    /** The first line of standard input (for {@code --password-stdin}). */
    public static String readStdin(String what) {
        try {
            BufferedReader r = Cli.ctx().stdin();
            String line = r.readLine();
            if (line == null || line.isEmpty()) {
                throw Fail.usage("no " + what + " on standard input", "pipe it in: printf '%s\\n' \"$PW\" | ...");
            }
            return register(line);
        } catch (IOException e) {
            throw Fail.usage("cannot read " + what + " from standard input: " + e.getMessage(), "pipe it in");
        }
    }

    /**
     * A password the user gave, from the first source that has one: the first line of {@code file},
     * of standard input (when {@code stdin}), or the environment variable {@code env}; null when none.
     */
    public static String given(Path file, boolean stdin, String env) {
        if (file != null) {
            return readFile(file, "password");
        }
        if (stdin) {
            return readStdin("password");
        }
        String v = Cli.ctx().env(env);
        return v == null ? null : register(v);
    }

    /**
     * Writes a secret to a file only the owner can read (0600 on POSIX), atomically: a temporary file
     * in the same directory, then a rename. Refuses to replace an existing file unless asked.
     */
    public static void writeFile(Path file, String secret, boolean replace) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            if (!replace && Files.exists(file)) {
                throw new Fail(Exit.CONFLICT, "secret file " + file + " exists already",
                        "choose another file, or remove it first");
            }
            Path tmp;
            boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
            if (posix) {
                Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rw-------");
                tmp = Files.createTempFile(dir, ".secret", ".tmp", PosixFilePermissions.asFileAttribute(perms));
            } else {
                tmp = Files.createTempFile(dir, ".secret", ".tmp");
            }
            Files.writeString(tmp, secret + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (FileAlreadyExistsException e) {
            throw new Fail(Exit.CONFLICT, "secret file " + file + " exists already", "choose another file");
        } catch (IOException e) {
            throw Fail.usage("cannot write secret file " + file + ": " + e.getMessage(), "check the directory");
        }
    }
}
