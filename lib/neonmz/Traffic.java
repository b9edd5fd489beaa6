package neonmz;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;

/**
 * Workshop traffic, shared by {@code loadgen} (which runs it at a rate and reports) and {@code tap
 * --demo-changes} (which makes a few changes once its slot is ready): inserts, updates and deletes of one row
 * each on real tables, with values made up per column type, parent rows taken for foreign keys and only
 * unreferenced rows deleted. Seeded: the same seed on the same data makes the same changes.
 */
public final class Traffic {
    private Traffic() {}

    /** The statements, one row each; %s are quoted names and generated SQL values. */
    public static final String INSERT = "INSERT INTO %s (%s) VALUES (%s)";
    public static final String INSERT_WITH_PARENTS = "INSERT INTO %s (%s) SELECT %s FROM %s";
    public static final String PARENT_ROW = "(SELECT %s FROM %s ORDER BY random() LIMIT 1) AS %s";
    public static final String UPDATE = "UPDATE %s SET %s = %s WHERE ctid = (SELECT ctid FROM %s ORDER BY random() LIMIT 1)";
    public static final String DELETE = "DELETE FROM %1$s WHERE ctid = (SELECT x.ctid FROM %1$s AS x%2$s ORDER BY random() LIMIT 1)";
    public static final String NO_CHILD = "NOT EXISTS (SELECT 1 FROM %s AS c WHERE (%s) = (%s))";
    public static final String NEXT_KEY = "(SELECT coalesce(max(%s), 0) + 1 FROM %s)";
    /**
     * Before an insert that makes up a key (max + 1, a unique text): one lock for every loadgen and tap
     * --demo-changes on the server, held to the commit, so that two of them at once never pick the same key
     * (max + 1 reads only committed rows).
     */
    public static final String KEY_LOCK = "SELECT pg_advisory_xact_lock(hashtext('neonmz traffic: made-up keys'))";

    public static final String COLUMNS = """
            SELECT a.attname::text AS name, t.typname::text AS type, t.typtype::text AS typtype, a.atttypid::bigint AS typid,
                   a.atttypmod AS typmod, a.attnotnull AS notnull, a.atthasdef AS hasdef, a.attidentity::text AS identity,
                   a.attgenerated::text AS generated,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique
                           AND a.attnum = ANY (i.indkey)) AS in_unique,
                   ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = a.atttypid ORDER BY e.enumsortorder) AS labels
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";
    /** Foreign keys of a table (outgoing: conrelid) or to it (incoming: confrelid), column lists in key order. */
    public static final String FOREIGN_KEYS = """
            SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
                   ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS child_cols,
                   ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS parent_cols
            FROM pg_constraint c WHERE c.contype = 'f' AND %s = ? ORDER BY c.conname""";

    public static final String[] KINDS = {"insert", "update", "delete"};

    /** A column, with what generating a value for it needs. */
    public record Col(String name, String type, char typtype, int typmod, boolean notNull, boolean hasDefault, boolean identity,
               boolean generated, boolean unique, List<String> labels) {}

    /** A foreign key: child columns referring to parent columns. */
    public record Fk(String child, String parent, List<String> childCols, List<String> parentCols) {}

    /** A table and its statements' ingredients. */
    public static final class Target {
        public final Catalog.Table table;
        final List<Col> cols;
        final List<Fk> parents;
        final List<Fk> children;
        public final long[] made = new long[3];
        public long skipped;
        public long rows;

        Target(Catalog.Table table, List<Col> cols, List<Fk> parents, List<Fk> children) {
            this.table = table;
            this.cols = cols;
            this.parents = parents;
            this.children = children;
        }

        public String q() {
            return table.qualified();
        }

        /** The columns an UPDATE may change: not keys, not references, not generated, with a value we can make. */
        List<Col> updatable() {
            List<Col> r = new ArrayList<>();
            for (Col c : cols) {
                if (!c.unique() && !c.identity() && !c.generated() && !inFk(c.name()) && canMake(c)) {
                    r.add(c);
                }
            }
            return r;
        }

        boolean inFk(String col) {
            return parents.stream().anyMatch(f -> f.childCols().contains(col));
        }

        /** Does an insert make up a key value (max + 1, a unique text), which another run could pick too? */
        public boolean makesUpKeys() {
            return cols.stream().anyMatch(c -> c.unique() && !c.identity() && !c.generated() && !c.hasDefault()
                    && !inFk(c.name()) && (isInteger(c) || isText(c)));
        }
    }

    /**
     * Makes the changes, {@code batch} statements per transaction, at {@code rate} per second (0: as fast as
     * it can), until {@code count} changes (null: no limit) or {@code limit} (null: none); the choices follow
     * {@code seed}. {@code o} shows verbose statements, warnings and a progress bar (null: nothing shown).
     * Returns {changes, transactions, elapsed ms}; each target's made/skipped counts are filled.
     */
    public static long[] run(Out o, Pg db, List<Target> targets, double[] weights, long seed, double rate, int batch, Long count,
                             Duration limit) throws SQLException {
        return run(o, db, targets, weights, seed, rate, batch, count, limit, () -> false);
    }

    /** As above, until {@code stop} says so too (checked before each statement; what is pending is committed). */
    public static long[] run(Out o, Pg db, List<Target> targets, double[] weights, long seed, double rate, int batch, Long count,
                             Duration limit, java.util.function.BooleanSupplier stop) throws SQLException {
        Random rnd = new Random(seed);
        Connection c = db.conn();
        try (Statement st = c.createStatement()) {
            // random() in the row choices follows the seed too
            st.execute("SELECT setseed(" + (new Random(seed).nextDouble() * 2 - 1) + ")");
        }
        long start = System.nanoTime();
        long end = limit == null ? Long.MAX_VALUE : start + limit.toNanos();
        long made = 0;
        long transactions = 0;
        long attempts = 0;
        int skippedInARow = 0;
        long[][] pending = new long[targets.size()][3];
        int inBatch = 0;
        boolean time = count == null;
        c.setAutoCommit(false);
        try (Statement st = c.createStatement();
             Out.Progress bar = o == null ? null : o.progress(time ? "loadgen (seconds)" : "loadgen", time ? limit.toSeconds() : count)) {
            while ((count == null || made < count) && System.nanoTime() < end && !stop.getAsBoolean()) {
                if (rate > 0) {
                    long due = start + (long) (attempts * 1e9 / rate);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        if (inBatch > 0 && wait > 50_000_000L) {
                            transactions += commit(c, targets, pending);   // do not hold a transaction open while idle
                            inBatch = 0;
                        }
                        sleep(Math.min(wait, Math.max(0, end - System.nanoTime())) / 1_000_000);
                        if (System.nanoTime() >= end) {
                            break;
                        }
                    }
                }
                attempts++;
                int ti = rnd.nextInt(targets.size());
                Target t = targets.get(ti);
                int kind = pick(weights, rnd);
                String sql = statement(t, kind, rnd);
                int n = 0;
                if (sql != null) {
                    boolean lock = kind == 0 && t.makesUpKeys();
                    if (o != null && o.verbose()) {
                        o.line((lock ? KEY_LOCK + ";\n" : "") + sql + ";");
                    }
                    try {
                        if (lock) {
                            st.execute(KEY_LOCK);
                        }
                        n = st.executeUpdate(sql);
                    } catch (SQLException e) {
                        c.rollback();
                        if (!CONCURRENT.contains(String.valueOf(e.getSQLState()))) {
                            throw failure(e, KINDS[kind], t);
                        }
                        // another writer at the same time (a loadgen, an application) made the change impossible: a
                        // row it refers to went, or the two waited for each other. The transaction is rolled back, its
                        // changes are not counted, and the run goes on.
                        for (long[] p : pending) {
                            for (int k = 0; k < 3; k++) {
                                made -= p[k];
                                p[k] = 0;
                            }
                        }
                        inBatch = -1;   // the increment below starts the next transaction at 0
                        n = 0;
                    }
                }
                if (n > 0) {
                    pending[ti][kind] += n;
                    made += n;
                    skippedInARow = 0;
                } else {
                    t.skipped++;
                    if (++skippedInARow >= 1000) {
                        if (o != null) {
                            o.warn("1000 attempts in a row changed nothing (empty tables, or every row referred to?): stopped");
                        }
                        break;
                    }
                }
                if (++inBatch >= batch) {
                    transactions += commit(c, targets, pending);
                    inBatch = 0;
                }
                if (bar == null) {
                    continue;
                } else if (time) {
                    bar.update((System.nanoTime() - start) / 1_000_000_000L, limit.toSeconds());
                } else {
                    bar.update(made, count);
                }
            }
            if (inBatch > 0) {
                transactions += commit(c, targets, pending);
            }
        } finally {
            if (!c.getAutoCommit()) {
                c.rollback();
                c.setAutoCommit(true);
            }
        }
        return new long[] {made, transactions, (System.nanoTime() - start) / 1_000_000};
    }

    /**
     * What another writer at the same time can cause, and a run outlives (counted as skipped): a foreign key whose
     * row went (23503), a deadlock (40P01), a serialization failure (40001).
     */
    static final java.util.Set<String> CONCURRENT = java.util.Set.of("23503", "40P01", "40001");

    /** A statement refused: the same key as another writer's, or the table itself, with its fix. */
    static Fail failure(SQLException e, String kind, Target t) {
        String what = "loadgen's " + kind + " on " + t.q() + " failed: " + e.getMessage()
                + " (its transaction was rolled back; the counts below are what was committed)";
        return "23505".equals(e.getSQLState())
                ? new Fail(Exit.CONFLICT, what + ": another writer inserted the same key; loadgens given the same "
                        + "--seed make the same values", "give each loadgen that runs at the same time its own --seed, "
                        + "or none (each run then picks its own)", e)
                : new Fail(Exit.CONFLICT, what, "leave the table out (--tables), or change the --mix", e);
    }

    private static int commit(Connection c, List<Target> targets, long[][] pending) throws SQLException {
        c.commit();
        for (int i = 0; i < targets.size(); i++) {
            for (int k = 0; k < 3; k++) {
                targets.get(i).made[k] += pending[i][k];
                pending[i][k] = 0;
            }
        }
        return 1;
    }

    // ---- the statements ------------------------------------------------------------------------

    public static Target describe(Pg db, Catalog.Table t) throws SQLException {
        List<Col> cols = db.list(COLUMNS, rs -> new Col(rs.getString("name"), rs.getString("type"),
                rs.getString("typtype").charAt(0), rs.getInt("typmod"), rs.getBoolean("notnull"), rs.getBoolean("hasdef"),
                !rs.getString("identity").isEmpty(), !rs.getString("generated").isEmpty(), rs.getBoolean("in_unique"),
                List.of((String[]) rs.getArray("labels").getArray())), t.oid());
        Pg.Row<Fk> fk = rs -> new Fk(rs.getString("child"), rs.getString("parent"),
                List.of((String[]) rs.getArray("child_cols").getArray()), List.of((String[]) rs.getArray("parent_cols").getArray()));
        List<Fk> parents = db.list(String.format(FOREIGN_KEYS, "c.conrelid"), fk, t.oid());
        List<Fk> children = db.list(String.format(FOREIGN_KEYS, "c.confrelid"), fk, t.oid());
        return new Target(t, cols, parents, children);
    }

    /** One statement of a kind (0 insert, 1 update, 2 delete) for a table, or null when it cannot have one. */
    public static String statement(Target t, int kind, Random rnd) {
        return switch (kind) {
            case 0 -> insert(t, rnd);
            case 1 -> update(t, rnd);
            default -> delete(t);
        };
    }

    public static String insert(Target t, Random rnd) {
        List<String> names = new ArrayList<>();
        List<String> values = new ArrayList<>();
        List<String> from = new ArrayList<>();
        List<String> covered = new ArrayList<>();
        int p = 0;
        for (Fk f : t.parents) {
            if (f.childCols().stream().anyMatch(covered::contains)) {
                continue;   // a column already taken from another parent
            }
            String alias = "p" + (++p);
            List<String> pc = f.parentCols().stream().map(Sql::ident).toList();
            from.add(String.format(PARENT_ROW, String.join(", ", pc), f.parent(), alias));
            for (int i = 0; i < f.childCols().size(); i++) {
                names.add(Sql.ident(f.childCols().get(i)));
                values.add(alias + "." + pc.get(i));
                covered.add(f.childCols().get(i));
            }
        }
        for (Col c : t.cols) {
            if (c.identity() || c.generated() || covered.contains(c.name()) || (c.hasDefault() && c.unique())) {
                continue;
            }
            String v = c.unique() && isInteger(c) ? String.format(NEXT_KEY, Sql.ident(c.name()), t.q())
                    : c.unique() && isText(c) ? uniqueText(c, t, rnd) : value(c, rnd);
            if (v == null) {
                if (c.hasDefault()) {
                    continue;
                }
                if (!c.notNull()) {
                    v = "NULL";
                } else {
                    throw new Fail(Exit.CONFLICT, "loadgen cannot make up a value for " + t.q() + "." + Sql.ident(c.name())
                            + " (type " + c.type() + ", NOT NULL, no default)", "leave the table out of --tables");
                }
            }
            names.add(Sql.ident(c.name()));
            values.add(v);
        }
        if (from.isEmpty()) {
            return String.format(INSERT, t.q(), String.join(", ", names), String.join(", ", values));
        }
        return String.format(INSERT_WITH_PARENTS, t.q(), String.join(", ", names), String.join(", ", values),
                String.join(", ", from));
    }

    public static String update(Target t, Random rnd) {
        List<Col> cs = t.updatable();
        if (cs.isEmpty()) {
            return null;
        }
        Col c = cs.get(rnd.nextInt(cs.size()));
        return String.format(UPDATE, t.q(), Sql.ident(c.name()), value(c, rnd), t.q());
    }

    public static String delete(Target t) {
        StringBuilder where = new StringBuilder();
        for (Fk f : t.children) {
            where.append(where.length() == 0 ? " WHERE " : " AND ").append(String.format(NO_CHILD, f.child(),
                    String.join(", ", f.childCols().stream().map(x -> "c." + Sql.ident(x)).toList()),
                    String.join(", ", f.parentCols().stream().map(x -> "x." + Sql.ident(x)).toList())));
        }
        return String.format(DELETE, t.q(), where);
    }

    public static boolean isInteger(Col c) {
        return c.type().equals("int2") || c.type().equals("int4") || c.type().equals("int8");
    }

    public static boolean isText(Col c) {
        return c.type().equals("text") || c.type().equals("citext") || (c.type().equals("varchar") && (c.typmod() < 0 || c.typmod() - 4 >= 24));
    }

    /**
     * A unique text value: the seeded token and the table's row count, so a second run with the same seed
     * (another table size) does not repeat the first one's values.
     */
    public static String uniqueText(Col c, Target t, Random rnd) {
        String token = token(rnd, 8);
        boolean mail = c.name().toLowerCase(Locale.ROOT).contains("mail");
        return "'lg-" + token + "-' || (SELECT count(*) FROM " + t.q() + ")" + (mail ? " || '@example.com'" : "");
    }

    public static boolean canMake(Col c) {
        return value(c, new Random(0)) != null;
    }

    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
            "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};

    /** A SQL value of the column's type, or null when we cannot make one up. */
    public static String value(Col c, Random rnd) {
        if (c.typtype() == 'e') {
            return c.labels().isEmpty() ? null : Sql.literal(c.labels().get(rnd.nextInt(c.labels().size())));
        }
        int mod = c.typmod() - 4;
        return switch (c.type()) {
            case "int2", "int4", "int8" -> String.valueOf(1 + rnd.nextInt(100));
            case "float4", "float8" -> String.format(Locale.ROOT, "%.3f", rnd.nextDouble() * 100);
            case "numeric" -> {
                int precision = c.typmod() < 0 ? 12 : (mod >> 16) & 0xffff;
                int scale = c.typmod() < 0 ? 2 : mod & 0xffff;
                long max = (long) Math.min(1000, Math.pow(10, Math.max(0, precision - scale)) - 1);
                long whole = 1 + (max > 1 ? (long) (rnd.nextDouble() * max) : 0);
                whole = Math.min(whole, Math.max(1, max));
                StringBuilder b = new StringBuilder(String.valueOf(whole));
                if (scale > 0) {
                    b.append('.');
                    for (int i = 0; i < scale; i++) {
                        b.append(rnd.nextInt(10));
                    }
                }
                yield max < 1 ? "0." + "0".repeat(Math.max(0, scale - 1)) + "1" : b.toString();
            }
            case "text", "varchar", "bpchar", "name", "citext" -> {
                String token = token(rnd, 8);
                String s = c.unique() ? (c.name().toLowerCase(Locale.ROOT).contains("mail")
                        ? "lg-" + token + "@example.com" : "lg-" + token)
                        : WORDS[rnd.nextInt(WORDS.length)] + " " + token.substring(0, 4);
                if (mod > 0 && (c.type().equals("varchar") || c.type().equals("bpchar")) && s.length() > mod) {
                    s = c.unique() ? token.substring(0, Math.min(8, mod)) : s.substring(0, mod);
                }
                yield Sql.literal(s);
            }
            case "bool" -> rnd.nextBoolean() ? "true" : "false";
            case "date" -> Sql.literal(LocalDate.of(2026, 3, 1).plusDays(rnd.nextInt(60)).toString());
            case "timestamptz", "timestamp" -> Sql.literal(LocalDate.of(2026, 3, 1).plusDays(rnd.nextInt(60)) + " "
                    + String.format(Locale.ROOT, "%02d:%02d:%02d", rnd.nextInt(24), rnd.nextInt(60), rnd.nextInt(60))
                    + (c.type().equals("timestamptz") ? "+00" : ""));
            case "jsonb", "json" -> Sql.literal("{\"n\": " + rnd.nextInt(1000) + ", \"by\": \"loadgen\"}");
            case "uuid" -> Sql.literal(new UUID(rnd.nextLong(), rnd.nextLong()).toString());
            case "bytea" -> Sql.literal("\\x" + Long.toHexString(rnd.nextLong()));
            default -> null;
        };
    }

    private static String token(Random rnd, int n) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    // ---- options ---------------------------------------------------------------------------------

    public static double[] parseMix(String spec) {
        double[] w = new double[3];
        for (String part : spec.split(",")) {
            String[] kv = part.strip().split("=", 2);
            int k = List.of(KINDS).indexOf(kv[0].strip().toLowerCase(Locale.ROOT));
            double v;
            try {
                v = kv.length == 2 ? Double.parseDouble(kv[1].strip()) : -1;
            } catch (NumberFormatException e) {
                v = -1;
            }
            if (k < 0 || v < 0) {
                throw Fail.usage("--mix: '" + part.strip() + "' is not KIND=WEIGHT (kinds: insert, update, delete)",
                        "e.g. --mix insert=60,update=30,delete=10");
            }
            w[k] = v;
        }
        if (w[0] + w[1] + w[2] <= 0) {
            throw Fail.usage("--mix has no weight above 0", "e.g. --mix insert=1");
        }
        return w;
    }

    public static String showMix(double[] w) {
        List<String> parts = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            parts.add(KINDS[k] + "=" + fmt(w[k]));
        }
        return String.join(",", parts);
    }

    public static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    public static int pick(double[] w, Random rnd) {
        double r = rnd.nextDouble() * (w[0] + w[1] + w[2]);
        return r < w[0] ? 0 : r < w[0] + w[1] ? 1 : 2;
    }

    private static void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Fail(Exit.INTERRUPTED, "interrupted", "run it again");
        }
    }
}
