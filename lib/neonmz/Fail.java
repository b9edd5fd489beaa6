package neonmz;

/**
 * A failure the user can fix: one clear message, the fix, and a distinct exit code ({@link Exit}).
 * The message and fix are printed as they are (after secret masking); no stack trace.
 */
public class Fail extends RuntimeException {
    private static final long serialVersionUID = 1L;
    public final int exit;
    public final String fix;

    public Fail(int exit, String message, String fix) {
        super(message, null, false, false);
        this.exit = exit;
        this.fix = fix;
    }

    public Fail(int exit, String message, String fix, Throwable cause) {
        super(message, cause, false, false);
        this.exit = exit;
        this.fix = fix;
    }

    public static Fail usage(String message, String fix) {
        return new Fail(Exit.USAGE, message, fix);
    }
}
