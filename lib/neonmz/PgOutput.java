package neonmz;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder for the messages of PostgreSQL's {@code pgoutput} plugin, protocol version 1 (the logical
 * replication message formats of the PostgreSQL docs, "Logical Replication Message Formats"), as read
 * from a replication stream. Plumbing only: bytes in, records out. A {@link Decoder} also remembers the
 * Relation messages, since Insert, Update and Delete name their table by its OID only.
 *
 * <p>Integers are big-endian; strings are NUL-terminated UTF-8 (the database encoding, which Neon keeps
 * at UTF8); LSNs and timestamps are 64-bit, timestamps in microseconds since 2000-01-01 UTC; OIDs and
 * transaction ids are unsigned 32-bit, kept here in a {@code long}. A top-level 'O' is an Origin message;
 * inside an Update or Delete 'O' marks the old row sent whole (REPLICA IDENTITY FULL) and 'K' the old key.
 */
public final class PgOutput {
    private PgOutput() {}

    /** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC). */
    static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

    /** Every decoded message. */
    public sealed interface Message permits Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate,
            Unknown {}

    /** 'B': a transaction begins; {@code finalLsn} is the LSN of its commit record. */
    public record Begin(long finalLsn, long commitTime, long xid) implements Message {
        public Instant commitInstant() {
            return instant(commitTime);
        }
    }

    /** 'C': the transaction ends; {@code endLsn} is where the next one starts (the position to acknowledge). */
    public record Commit(int flags, long commitLsn, long endLsn, long commitTime) implements Message {
        public Instant commitInstant() {
            return instant(commitTime);
        }
    }

    /** 'O' at the top level: the changes come from another replication origin. */
    public record Origin(long commitLsn, String name) implements Message {}

    /** A column of a {@link Relation}; {@code key} when it is part of the replica identity. */
    public record Column(boolean key, String name, long typeOid, int typeModifier) {}

    /**
     * 'R': a table's description, sent before its first change in a session and after each schema change.
     * {@code replicaIdentity} is pg_class.relreplident: 'd' default, 'n' nothing, 'f' full, 'i' index.
     */
    public record Relation(long oid, String schema, String name, char replicaIdentity, List<Column> columns)
            implements Message {
        /** schema.name as SQL, quoted where needed. */
        public String qualified() {
            return Sql.qualified(schema, name);
        }
    }

    /** 'Y': a non-built-in data type used by a column (an enum, a domain…). */
    public record Type(long oid, String schema, String name) implements Message {}

    /** 'I': a new row. */
    public record Insert(long relationOid, Tuple newRow) implements Message {}

    /**
     * 'U': a changed row. {@code oldKind} is 'O' (the old row whole: REPLICA IDENTITY FULL), 'K' (only the
     * old key columns: the key changed) or 0 (no old row: the default identity and an unchanged key);
     * {@code oldRow} is null when {@code oldKind} is 0.
     */
    public record Update(long relationOid, char oldKind, Tuple oldRow, Tuple newRow) implements Message {}

    /** 'D': a deleted row: the old row whole ('O') or its key ('K'). */
    public record Delete(long relationOid, char oldKind, Tuple oldRow) implements Message {}

    /** 'T': tables truncated together; options bit 1 CASCADE, bit 2 RESTART IDENTITY. */
    public record Truncate(int options, List<Long> relationOids) implements Message {
        public boolean cascade() {
            return (options & 1) != 0;
        }

        public boolean restartIdentity() {
            return (options & 2) != 0;
        }
    }

    /** Any other message (e.g. 'M' logical messages, or the streaming messages of later versions). */
    public record Unknown(char tag, int length) implements Message {}

    /** One column's value in a row: 'n' null, 'u' unchanged TOASTed value (not sent), 't' text, 'b' binary. */
    public record Value(char kind, byte[] data) {
        public static final Value NULL = new Value('n', null);
        public static final Value UNCHANGED_TOAST = new Value('u', null);

        public boolean isNull() {
            return kind == 'n';
        }

        public boolean isUnchangedToast() {
            return kind == 'u';
        }

        /** The text form ('t'), or null for a null or an unchanged TOASTed value. */
        public String text() {
            return data == null ? null : new String(data, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return switch (kind) {
                case 'n' -> "NULL";
                case 'u' -> "(unchanged toast)";
                case 'b' -> "(binary, " + data.length + " bytes)";
                default -> text();
            };
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Value v && v.kind == kind && java.util.Arrays.equals(v.data, data);
        }

        @Override
        public int hashCode() {
            return kind * 31 + java.util.Arrays.hashCode(data);
        }
    }

    /** A row: one value per column of its relation, in column order. */
    public record Tuple(List<Value> values) {
        /** Column name → text value (null for NULL and for an unchanged TOASTed value), in column order. */
        public Map<String, String> asMap(Relation r) {
            Map<String, String> m = new LinkedHashMap<>();
            for (int i = 0; i < values.size(); i++) {
                String name = r != null && i < r.columns().size() ? r.columns().get(i).name() : "column" + (i + 1);
                m.put(name, values.get(i).text());
            }
            return m;
        }
    }

    /** A malformed or truncated message. */
    public static final class DecodeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DecodeException(String message) {
            super(message);
        }
    }

    // ---- decoding ---------------------------------------------------------------------------------

    /** Decodes one message from the buffer's position to its limit (the buffer is not changed). */
    public static Message decode(ByteBuffer message) {
        ByteBuffer b = message.slice();
        if (!b.hasRemaining()) {
            throw new DecodeException("empty pgoutput message");
        }
        try {
            char tag = (char) b.get();
            Message m = switch (tag) {
                case 'B' -> new Begin(b.getLong(), b.getLong(), u32(b));
                case 'C' -> new Commit(b.get() & 0xff, b.getLong(), b.getLong(), b.getLong());
                case 'O' -> new Origin(b.getLong(), string(b));
                case 'R' -> relation(b);
                case 'Y' -> new Type(u32(b), string(b), string(b));
                case 'I' -> insert(b);
                case 'U' -> update(b);
                case 'D' -> delete(b);
                case 'T' -> truncate(b);
                default -> new Unknown(tag, b.limit());
            };
            if (!(m instanceof Unknown) && b.hasRemaining()) {
                throw new DecodeException("pgoutput message '" + tag + "' has " + b.remaining() + " bytes left over");
            }
            return m;
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new DecodeException("truncated pgoutput message '" + (char) message.get(message.position()) + "'");
        }
    }

    public static Message decode(byte[] message) {
        return decode(ByteBuffer.wrap(message));
    }

    private static Relation relation(ByteBuffer b) {
        long oid = u32(b);
        String schema = string(b);
        String name = string(b);
        char identity = (char) b.get();
        int n = b.getShort() & 0xffff;
        List<Column> cols = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            boolean key = (b.get() & 1) != 0;
            cols.add(new Column(key, string(b), u32(b), b.getInt()));
        }
        return new Relation(oid, schema, name, identity, Collections.unmodifiableList(cols));
    }

    private static Insert insert(ByteBuffer b) {
        long rel = u32(b);
        expect(b, 'N', "Insert");
        return new Insert(rel, tuple(b));
    }

    private static Update update(ByteBuffer b) {
        long rel = u32(b);
        char kind = (char) b.get();
        Tuple old = null;
        char oldKind = 0;
        if (kind == 'K' || kind == 'O') {
            oldKind = kind;
            old = tuple(b);
            kind = (char) b.get();
        }
        if (kind != 'N') {
            throw new DecodeException("pgoutput Update: expected 'N' before the new row, got '" + kind + "'");
        }
        return new Update(rel, oldKind, old, tuple(b));
    }

    private static Delete delete(ByteBuffer b) {
        long rel = u32(b);
        char kind = (char) b.get();
        if (kind != 'K' && kind != 'O') {
            throw new DecodeException("pgoutput Delete: expected 'K' or 'O', got '" + kind + "'");
        }
        return new Delete(rel, kind, tuple(b));
    }

    private static Truncate truncate(ByteBuffer b) {
        int n = b.getInt();
        int options = b.get() & 0xff;
        List<Long> rels = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            rels.add(u32(b));
        }
        return new Truncate(options, Collections.unmodifiableList(rels));
    }

    private static Tuple tuple(ByteBuffer b) {
        int n = b.getShort() & 0xffff;
        Value[] values = new Value[n];
        for (int i = 0; i < n; i++) {
            char kind = (char) b.get();
            switch (kind) {
                case 'n' -> values[i] = Value.NULL;
                case 'u' -> values[i] = Value.UNCHANGED_TOAST;
                case 't', 'b' -> {
                    int len = b.getInt();
                    if (len < 0 || len > b.remaining()) {
                        throw new DecodeException("pgoutput tuple: value length " + len + " exceeds the message");
                    }
                    byte[] data = new byte[len];
                    b.get(data);
                    values[i] = new Value(kind, data);
                }
                default -> throw new DecodeException("pgoutput tuple: unknown value kind '" + kind + "'");
            }
        }
        return new Tuple(Collections.unmodifiableList(java.util.Arrays.asList(values)));
    }

    private static void expect(ByteBuffer b, char want, String what) {
        char got = (char) b.get();
        if (got != want) {
            throw new DecodeException("pgoutput " + what + ": expected '" + want + "', got '" + got + "'");
        }
    }

    private static long u32(ByteBuffer b) {
        return Integer.toUnsignedLong(b.getInt());
    }

    private static String string(ByteBuffer b) {
        int start = b.position();
        int end = start;
        while (b.get(end) != 0) {
            end++;   // runs past the limit on a missing NUL: BufferUnderflow/IndexOutOfBounds → truncated
        }
        byte[] bytes = new byte[end - start];
        b.get(bytes);
        b.get(); // the NUL
        return new String(bytes, StandardCharsets.UTF_8);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** An LSN as PostgreSQL prints it ({@code 16/B374D848}). */
    public static String lsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(java.util.Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xffffffffL).toUpperCase(java.util.Locale.ROOT);
    }

    /** A pgoutput timestamp (µs since 2000-01-01 UTC) as an Instant. */
    public static Instant instant(long pgMicros) {
        long unixMicros = pgMicros + PG_EPOCH_MICROS;
        return Instant.ofEpochSecond(Math.floorDiv(unixMicros, 1_000_000L), Math.floorMod(unixMicros, 1_000_000L) * 1000);
    }

    /**
     * Decodes a stream's messages and keeps the Relation and Type messages seen so far (they come once per
     * session, before the first change of each table), so that a change can be tied to its table.
     */
    public static final class Decoder {
        private final Map<Long, Relation> relations = new HashMap<>();
        private final Map<Long, Type> types = new HashMap<>();

        public Message decode(ByteBuffer message) {
            Message m = PgOutput.decode(message);
            if (m instanceof Relation r) {
                relations.put(r.oid(), r);
            } else if (m instanceof Type t) {
                types.put(t.oid(), t);
            }
            return m;
        }

        /** The last Relation message for this OID, or null if none came yet. */
        public Relation relation(long oid) {
            return relations.get(oid);
        }

        public Type type(long oid) {
            return types.get(oid);
        }

        /** The relation a change is about (Insert, Update, Delete), or null. */
        public Relation relationOf(Message m) {
            if (m instanceof Insert i) {
                return relation(i.relationOid());
            }
            if (m instanceof Update u) {
                return relation(u.relationOid());
            }
            if (m instanceof Delete d) {
                return relation(d.relationOid());
            }
            return null;
        }
    }
}
