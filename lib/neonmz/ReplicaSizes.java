package neonmz;

import java.math.BigDecimal;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Materialize's cluster replica sizes as steps on a ladder: given the sizes a Materialize offers with their
 * credits per hour (mz_catalog.mz_cluster_replica_sizes, size → credits_per_hour), the next size up or down
 * stays in the size's family (the M.1-… sizes, or the legacy cc sizes) and is ordered by credits. Used by
 * {@code right-size} (guide C.5).
 */
public final class ReplicaSizes {
    private ReplicaSizes() {}

    /** The next size up (+1) or down (-1) by credits, in the same family (M.1-… or the legacy cc sizes). */
    public static String next(Map<String, BigDecimal> credits, String current, int dir) {
        BigDecimal at = credits.get(current);
        if (at == null) {
            return null;
        }
        String best = null;
        for (Map.Entry<String, BigDecimal> e : credits.entrySet()) {
            if (e.getValue() == null || !family(e.getKey()).equals(family(current))) {
                continue;
            }
            int cmp = e.getValue().compareTo(at);
            if (dir > 0 && cmp > 0 && (best == null || e.getValue().compareTo(credits.get(best)) < 0)) {
                best = e.getKey();
            }
            if (dir < 0 && cmp < 0 && (best == null || e.getValue().compareTo(credits.get(best)) > 0)) {
                best = e.getKey();
            }
        }
        return best;
    }

    /** The family of a size: {@code M.1} for M.1-…, else {@code cc}. */
    public static String family(String size) {
        Matcher m = Pattern.compile("^(M\\.\\d+)-").matcher(size);
        return m.find() ? m.group(1) : "cc";
    }

    /** a against b by credits per hour; 0 when either is unknown. */
    public static int compare(Map<String, BigDecimal> credits, String a, String b) {
        BigDecimal x = credits.get(a);
        BigDecimal y = credits.get(b);
        return x == null || y == null ? 0 : x.compareTo(y);
    }
}
