package neonmz;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Durations as people type them on a command line: {@code 90s}, {@code 500ms}, {@code 10m}, {@code 2h},
 * {@code 1m30s}, a bare number of seconds ({@code 5}, {@code 0.5}), or ISO-8601 ({@code PT2S}).
 */
public final class Durations implements ITypeConverter<Duration> {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h|d)");

    @Override
    public Duration convert(String value) {
        Duration d = parse(value);
        if (d == null) {
            throw new TypeConversionException("'" + value + "' is not a duration (e.g. 30s, 500ms, 10m, 2h, 1m30s)");
        }
        return d;
    }

    /** Fails (bad option) unless {@code d} is more than zero; {@code example} is a value to suggest, e.g. "5m". */
    public static Duration requirePositive(String option, Duration d, String example) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw Fail.usage(option + " must be more than 0", "e.g. " + option + " " + example);
        }
        return d;
    }

    /** The duration, or null when the text is not one. */
    public static Duration parse(String value) {
        if (value == null) {
            return null;
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (v.isEmpty()) {
            return null;
        }
        if (v.startsWith("pt") || v.startsWith("p")) {
            try {
                return Duration.parse(v.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                return null;
            }
        }
        if (v.matches("\\d+(\\.\\d+)?")) {
            return millis(Double.parseDouble(v) * 1000);
        }
        Matcher m = PART.matcher(v);
        int pos = 0;
        double ms = 0;
        while (m.find()) {
            if (m.start() != pos) {
                return null;
            }
            double n = Double.parseDouble(m.group(1));
            ms += n * switch (m.group(2)) {
                case "ms" -> 1;
                case "s" -> 1000;
                case "m" -> 60_000;
                case "h" -> 3_600_000;
                default -> 86_400_000;
            };
            pos = m.end();
        }
        return pos == v.length() && pos > 0 ? millis(ms) : null;
    }

    private static Duration millis(double ms) {
        return Duration.ofMillis(Math.round(ms));
    }

    /** Short human form: 1h2m, 3m4s, 5s, 250ms. */
    public static String show(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s < 60) {
            return ms % 1000 == 0 ? s + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        if (s < 3600) {
            return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s");
        }
        return s / 3600 + "h" + (s % 3600 / 60 == 0 ? "" : s % 3600 / 60 + "m");
    }
}
