package neonmz;

import java.util.ArrayList;
import java.util.List;

/**
 * A unified diff of two texts by lines (longest common subsequence; fine for files of a few thousand
 * lines), as {@code diff -u} prints it, so a tool can show what would change without overwriting.
 */
public final class TextDiff {
    private TextDiff() {}

    /** The unified diff from {@code a} (labelled {@code from}) to {@code b} ({@code to}) with 3 lines of context; "" when equal. */
    public static String unified(String from, String a, String to, String b) {
        List<String> x = a.lines().toList();
        List<String> y = b.lines().toList();
        int n = x.size();
        int m = y.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = x.get(i).equals(y.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // the edit script: ' ' kept, '-' only in a, '+' only in b, with each line's position in a and b
        List<char[]> ops = new ArrayList<>();
        List<int[]> pos = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && x.get(i).equals(y.get(j))) {
                ops.add(new char[] {' '});
                pos.add(new int[] {i++, j++});
            } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
                ops.add(new char[] {'+'});
                pos.add(new int[] {i, j++});
            } else {
                ops.add(new char[] {'-'});
                pos.add(new int[] {i++, j});
            }
        }
        StringBuilder out = new StringBuilder();
        int k = 0;
        while (k < ops.size()) {
            if (ops.get(k)[0] == ' ') {
                k++;
                continue;
            }
            int start = Math.max(0, k - 3);
            int end = k;
            // extend the hunk while changes are within 6 kept lines of each other
            int kept = 0;
            for (int e = k; e < ops.size(); e++) {
                if (ops.get(e)[0] == ' ') {
                    if (++kept > 6) {
                        break;
                    }
                } else {
                    kept = 0;
                    end = e;
                }
            }
            int stop = Math.min(ops.size(), end + 4);
            hunk(out, ops, pos, start, stop, x, y);
            k = stop;
        }
        return out.isEmpty() ? "" : "--- " + from + "\n+++ " + to + "\n" + out;
    }

    private static void hunk(StringBuilder out, List<char[]> ops, List<int[]> pos, int start, int stop, List<String> x,
                             List<String> y) {
        int aStart = pos.get(start)[0];
        int bStart = pos.get(start)[1];
        int aLen = 0;
        int bLen = 0;
        StringBuilder body = new StringBuilder();
        for (int e = start; e < stop; e++) {
            char op = ops.get(e)[0];
            String line = op == '+' ? y.get(pos.get(e)[1]) : x.get(pos.get(e)[0]);
            body.append(op).append(line).append('\n');
            if (op != '+') {
                aLen++;
            }
            if (op != '-') {
                bLen++;
            }
        }
        out.append("@@ -").append(aLen == 0 ? aStart : aStart + 1).append(',').append(aLen)
                .append(" +").append(bLen == 0 ? bStart : bStart + 1).append(',').append(bLen).append(" @@\n").append(body);
    }
}
