package neonmz;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A SQL file split into statements where psql -f splits it (the rules of psql's lexer, src/fe_utils/psqlscan.l):
 * a semicolon ends a statement unless it is inside a string ({@code '…'} with {@code ''}, {@code E'…'} with
 * backslash escapes too), a quoted identifier ({@code "…"}), a dollar quote ({@code $tag$…$tag$}), a comment
 * ({@code --} to the end of the line, nested {@code /* … *}{@code /}), parentheses, or the
 * {@code BEGIN ATOMIC … END} body of {@code CREATE [OR REPLACE] FUNCTION|PROCEDURE} (psql's heuristic: BEGIN, and
 * CASE inside it, open; END closes). Each statement is sent as it is written; a piece with nothing but comments,
 * blanks and semicolons is no statement. psql's own backslash commands are not understood (the server rejects them
 * as a syntax error).
 */
public final class SqlScript {
    /** The {@code number}th statement (from 1), starting on {@code line} of the file (from 1). */
    public record Statement(int number, int line, String sql) {}

    private SqlScript() {}

    public static List<Statement> split(String text) {
        return new Lexer(text).run();
    }

    private static final class Lexer {
        private final String s;
        private final List<Statement> out = new ArrayList<>();
        private int start;
        private int line = 1;
        private int startLine = 1;
        private boolean content;
        private int parens;
        private int begins;
        private int words;
        private final char[] head = new char[4];

        Lexer(String s) {
            this.s = s;
        }

        List<Statement> run() {
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                int next = i + 1;
                if (c == '-' && at(i, "--")) {
                    next = until(i, "\n", false);
                } else if (c == '/' && at(i, "/*")) {
                    next = blockComment(i);
                } else {
                    if (!content && !Character.isWhitespace(c) && c != ';') {
                        content = true;
                        startLine = line;
                    }
                    if (c == '\'') {
                        next = quoted(i + 1, '\'', false);
                    } else if (c == '"') {
                        next = quoted(i + 1, '"', false);
                    } else if (c == '$' && dollarTag(i) != null) {
                        String tag = dollarTag(i);
                        next = until(i + tag.length(), tag, true);
                    } else if (identStart(c)) {
                        next = word(i);
                    } else if (c == '(') {
                        parens++;
                    } else if (c == ')' && parens > 0) {
                        parens--;
                    } else if (c == ';' && parens == 0 && begins == 0) {
                        end(i + 1);
                    }
                }
                line += count(i, next);
                i = next;
            }
            end(s.length());
            return out;
        }

        /** An identifier or keyword; E'…' is a string with backslash escapes; BEGIN ATOMIC bodies are tracked. */
        private int word(int i) {
            int j = i + 1;
            while (j < s.length() && (identStart(s.charAt(j)) || Character.isDigit(s.charAt(j))
                    || s.charAt(j) == '$')) {
                j++;
            }
            String w = s.substring(i, j).toLowerCase(Locale.ROOT);
            if (w.equals("e") && j < s.length() && s.charAt(j) == '\'') {
                return quoted(j + 1, '\'', true);
            }
            if (words == 0) {
                java.util.Arrays.fill(head, '\0');
            }
            if (words < head.length && List.of("create", "function", "procedure", "or", "replace").contains(w)) {
                head[words] = w.charAt(0);
            }
            words++;
            boolean routine = head[0] == 'c' && (head[1] == 'f' || head[1] == 'p'
                    || head[1] == 'o' && head[2] == 'r' && (head[3] == 'f' || head[3] == 'p'));
            if (routine && parens == 0) {
                if (w.equals("begin")) {
                    begins++;
                } else if (w.equals("case") && begins >= 1) {
                    begins++;
                } else if (w.equals("end") && begins > 0) {
                    begins--;
                }
            }
            return j;
        }

        /** Past the closing quote ({@code qq} doubled is one; with {@code backslash}, \x is one too). */
        private int quoted(int i, char q, boolean backslash) {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (backslash && c == '\\') {
                    i += 2;
                } else if (c == q && i + 1 < s.length() && s.charAt(i + 1) == q) {
                    i += 2;
                } else if (c == q) {
                    return i + 1;
                } else {
                    i++;
                }
            }
            return s.length();
        }

        /** The tag ($$ or $name$) of a dollar quote starting at i, or null ($1 is a parameter, a$b$ an identifier). */
        private String dollarTag(int i) {
            int j = i + 1;
            if (j < s.length() && (identStart(s.charAt(j)))) {
                j++;
                while (j < s.length() && (identStart(s.charAt(j)) || Character.isDigit(s.charAt(j)))) {
                    j++;
                }
            }
            return j < s.length() && s.charAt(j) == '$' ? s.substring(i, j + 1) : null;
        }

        private int blockComment(int i) {
            int depth = 0;
            int j = i;
            while (j < s.length()) {
                if (at(j, "/*")) {
                    depth++;
                    j += 2;
                } else if (at(j, "*/")) {
                    depth--;
                    j += 2;
                    if (depth == 0) {
                        return j;
                    }
                } else {
                    j++;
                }
            }
            return s.length();
        }

        /** Past {@code end} searched from i ({@code past}) or up to it (a line comment keeps its newline). */
        private int until(int i, String end, boolean past) {
            int k = s.indexOf(end, i + (past ? 0 : 1));
            return k < 0 ? s.length() : past ? k + end.length() : k;
        }

        private void end(int to) {
            if (content) {
                out.add(new Statement(out.size() + 1, startLine, s.substring(start, to).strip()));
            }
            start = to;
            content = false;
            parens = 0;
            begins = 0;
            words = 0;
        }

        private boolean at(int i, String t) {
            return s.startsWith(t, i);
        }

        private int count(int from, int to) {
            int n = 0;
            for (int k = from; k < to && k < s.length(); k++) {
                n += s.charAt(k) == '\n' ? 1 : 0;
            }
            return n;
        }

        private static boolean identStart(char c) {
            return Character.isLetter(c) || c == '_' || c >= 0x80;
        }
    }
}
