import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.replication.PGReplicationStream;

import neonmz.ConnInfo;
import neonmz.Pg;
import neonmz.PgOutput;
import neonmz.PgOutput.Begin;
import neonmz.PgOutput.Commit;
import neonmz.PgOutput.Delete;
import neonmz.PgOutput.Insert;
import neonmz.PgOutput.Message;
import neonmz.PgOutput.Origin;
import neonmz.PgOutput.Relation;
import neonmz.PgOutput.Truncate;
import neonmz.PgOutput.Type;
import neonmz.PgOutput.Update;
import neonmz.PgOutput.Value;

/**
 * The pgoutput v1 decoder: first on real messages, read from the lab server through pgjdbc's replication
 * API (a temporary slot, as stream-check opens one), then on hand-built bytes for what a server rarely
 * sends on demand and for malformed input.
 */
class PgOutputTest {

    /** Everything pgoutput sends for a script of changes, as the raw messages (bytes) in order. */
    static List<byte[]> capture(String db, String publication, String... changes) throws Exception {
        ConnInfo ci = TestPg.server().superConn(db);
        List<byte[]> out = new ArrayList<>();
        try (Connection rc = Pg.replication(ci)) {
            PGConnection pgc = rc.unwrap(PGConnection.class);
            String slot = "neonmz_pgoutput_test_" + System.nanoTime() % 1_000_000;
            pgc.getReplicationAPI().createReplicationSlot().logical().withSlotName(slot).withOutputPlugin("pgoutput")
                    .withTemporaryOption().make();
            PGReplicationStream stream = pgc.getReplicationAPI().replicationStream().logical().withSlotName(slot)
                    .withSlotOption("proto_version", "1").withSlotOption("publication_names", publication)
                    .withSlotOption("messages", true)
                    .withStatusInterval(1, TimeUnit.SECONDS).start();
            try (Connection c = TestPg.superConn(db); Statement s = c.createStatement()) {
                for (String sql : changes) {
                    s.execute(sql);
                }
                s.execute("SELECT pg_logical_emit_message(true, 'neonmz-end', 'end')");   // a marker: then stop
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < until) {
                ByteBuffer b = stream.readPending();
                if (b == null) {
                    Thread.sleep(5);
                    continue;
                }
                byte[] bytes = new byte[b.remaining()];
                b.duplicate().get(bytes);
                out.add(bytes);
                if (bytes[0] == 'C' && out.stream().anyMatch(x -> new String(x, StandardCharsets.ISO_8859_1)
                        .contains("neonmz-end"))) {
                    return out;
                }
            }
            fail("the end marker never came; got " + out.size() + " messages");
            return out;
        }
    }

    @Test
    void decodesWhatARealServerSends() throws Exception {
        String db = TestPg.newDatabase();
        TestPg.exec(db,
                "CREATE TABLE \"we\"\"ird\" (id int PRIMARY KEY, \"Prix €\" text, note text, big text)",
                "ALTER TABLE \"we\"\"ird\" ALTER COLUMN big SET STORAGE EXTERNAL",
                "CREATE TABLE full_one (id int, label text)",
                "ALTER TABLE full_one REPLICA IDENTITY FULL",
                "ALTER TABLE \"Order Items\" REPLICA IDENTITY FULL",
                "CREATE PUBLICATION p FOR TABLE \"we\"\"ird\", full_one, orders, \"Order Items\"",
                "SELECT pg_replication_origin_create('neonmz_test_origin')");
        String big = "repeat(md5('x'), 200)";   // 6400 bytes, EXTERNAL storage: TOASTed out of line
        List<byte[]> raw = capture(db, "p",
                "INSERT INTO \"we\"\"ird\" VALUES (1, 'ü 3,50 €', NULL, " + big + ")",
                "UPDATE \"we\"\"ird\" SET note = 'n' WHERE id = 1",            // big unchanged: 'u', no old row
                "UPDATE \"we\"\"ird\" SET id = 2 WHERE id = 1",                // key changed: old key 'K'
                "INSERT INTO full_one VALUES (7, 'seven')",
                "UPDATE full_one SET label = label",                           // FULL: the whole old row 'O'
                "DELETE FROM full_one",
                "UPDATE orders SET status = status WHERE id = 1",              // an enum column: a Type message first
                "UPDATE \"Order Items\" SET attributes = attributes WHERE order_id = 1 AND line = 1",
                "TRUNCATE full_one, \"we\"\"ird\" RESTART IDENTITY",
                "SELECT pg_replication_origin_session_setup('neonmz_test_origin')",
                "INSERT INTO full_one VALUES (8, 'from an origin')",
                "SELECT pg_replication_origin_session_reset()");

        PgOutput.Decoder d = new PgOutput.Decoder();
        List<Message> ms = new ArrayList<>();
        for (byte[] b : raw) {
            // decode from a buffer whose position is not 0 (pgjdbc hands over slices of a larger array)
            ByteBuffer shifted = ByteBuffer.allocate(b.length + 3);
            shifted.position(3);
            shifted.put(b);
            shifted.position(3);
            ms.add(d.decode(shifted));
        }
        Cursor changes = new Cursor(ms);

        Relation weird = changes.next(Relation.class);
        assertEquals("public", weird.schema());
        assertEquals("we\"ird", weird.name());
        assertEquals("public.\"we\"\"ird\"", weird.qualified());
        assertEquals('d', weird.replicaIdentity());
        assertEquals(List.of("id", "Prix €", "note", "big"), weird.columns().stream().map(PgOutput.Column::name).toList());
        assertTrue(weird.columns().get(0).key());
        assertFalse(weird.columns().get(1).key());
        assertEquals(23, weird.columns().get(0).typeOid());   // int4
        assertEquals(25, weird.columns().get(1).typeOid());   // text
        assertEquals(-1, weird.columns().get(1).typeModifier());

        Insert ins = changes.next(Insert.class);
        assertEquals(weird.oid(), ins.relationOid());
        assertEquals("1", ins.newRow().values().get(0).text());
        assertEquals("ü 3,50 €", ins.newRow().values().get(1).text());
        assertTrue(ins.newRow().values().get(2).isNull());
        assertEquals(6400, ins.newRow().values().get(3).text().length());
        assertEquals(weird, d.relationOf(ins));   // the decoder keeps the last Relation per OID

        Update toast = changes.next(Update.class);
        assertEquals(0, toast.oldKind());
        assertNull(toast.oldRow());
        assertEquals("n", toast.newRow().values().get(2).text());
        assertTrue(toast.newRow().values().get(3).isUnchangedToast());
        assertNull(toast.newRow().asMap(weird).get("big"));

        Update key = changes.next(Update.class);
        assertEquals('K', key.oldKind());
        assertEquals("1", key.oldRow().values().get(0).text());
        assertTrue(key.oldRow().values().get(1).isNull());       // the key form: other columns null
        assertEquals("2", key.newRow().values().get(0).text());

        Relation full = changes.next(Relation.class);
        assertEquals('f', full.replicaIdentity());
        assertTrue(full.columns().stream().allMatch(PgOutput.Column::key));   // FULL: every column is "key"
        assertEquals("7", changes.next(Insert.class).newRow().asMap(full).get("id"));
        Update fullUpdate = changes.next(Update.class);
        assertEquals('O', fullUpdate.oldKind());
        assertEquals(fullUpdate.oldRow(), fullUpdate.newRow());
        assertEquals("seven", fullUpdate.oldRow().asMap(full).get("label"));
        Delete del = changes.next(Delete.class);
        assertEquals('O', del.oldKind());
        assertEquals("seven", del.oldRow().values().get(1).text());

        Type enumType = changes.next(Type.class);
        assertEquals("public", enumType.schema());
        assertEquals("order_status", enumType.name());
        Relation orders = changes.next(Relation.class);
        assertEquals(enumType.oid(), orders.columns().get(2).typeOid());
        assertEquals(enumType, d.type(enumType.oid()));
        Update order = changes.next(Update.class);
        assertEquals(0, order.oldKind());
        assertEquals("paid", order.newRow().asMap(orders).get("status"));

        Relation items = changes.next(Relation.class);
        assertEquals("Order Items", items.name());
        assertEquals("public.\"Order Items\"", items.qualified());
        Update item = changes.next(Update.class);
        assertEquals('O', item.oldKind());
        assertEquals("{\"color\": \"blue\"}", item.oldRow().asMap(items).get("attributes"));

        Truncate t = changes.next(Truncate.class);
        assertEquals(List.of(full.oid(), weird.oid()).stream().sorted().toList(), t.relationOids().stream().sorted().toList());
        assertTrue(t.restartIdentity());
        assertFalse(t.cascade());

        Origin origin = changes.next(Origin.class);
        assertEquals("neonmz_test_origin", origin.name());
        assertEquals("8", changes.next(Insert.class).newRow().values().get(0).text());

        // every transaction: Begin ... Commit, the commit LSN of Begin equal to Commit's, times sane
        Begin begin = null;
        for (Message m : ms) {
            if (m instanceof Begin b) {
                begin = b;
                assertTrue(b.xid() > 0);
            } else if (m instanceof Commit c) {
                assertNotNull(begin);
                assertEquals(begin.finalLsn(), c.commitLsn());
                assertTrue(c.endLsn() > c.commitLsn());
                assertEquals(begin.commitTime(), c.commitTime());
                Instant at = c.commitInstant();
                assertTrue(Math.abs(at.toEpochMilli() - System.currentTimeMillis()) < 600_000, at.toString());
                begin = null;
            }
        }
        // the logical message ('M', asked for by the capture as an end marker) is not decoded, only passed on
        assertTrue(ms.stream().anyMatch(m -> m instanceof PgOutput.Unknown u && u.tag() == 'M'));
    }

    /** Walks the messages in order, taking the next one of a kind (a Relation may come again after TRUNCATE). */
    static final class Cursor {
        final List<Message> ms;
        int at;

        Cursor(List<Message> ms) {
            this.ms = ms;
        }

        <T extends Message> T next(Class<T> kind) {
            while (at < ms.size()) {
                Message m = ms.get(at++);
                if (kind.isInstance(m)) {
                    return kind.cast(m);
                }
                assertTrue(m instanceof Begin || m instanceof Commit || m instanceof Relation
                        || m instanceof PgOutput.Unknown, "skipped a change looking for " + kind.getSimpleName() + ": " + m);
            }
            return fail("no " + kind.getSimpleName() + " left in " + ms);
        }
    }

    // ---- hand-built -----------------------------------------------------------------------------

    /** Builds a message the way the server writes one. */
    static final class Msg {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final DataOutputStream out = new DataOutputStream(bytes);

        Msg ch(char c) throws IOException {
            out.writeByte(c);
            return this;
        }

        Msg i16(int v) throws IOException {
            out.writeShort(v);
            return this;
        }

        Msg i32(long v) throws IOException {
            out.writeInt((int) v);
            return this;
        }

        Msg i64(long v) throws IOException {
            out.writeLong(v);
            return this;
        }

        Msg str(String s) throws IOException {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.writeByte(0);
            return this;
        }

        Msg text(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeByte('t');
            out.writeInt(b.length);
            out.write(b);
            return this;
        }

        byte[] done() {
            return bytes.toByteArray();
        }
    }

    @Test
    void relationWithOddNamesAndUnsignedOids() throws Exception {
        byte[] b = new Msg().ch('R').i32(0xFFFFFFF0L).str("Sales Ü").str("we\"ird, tab").ch('f').i16(2)
                .ch('\1').str("ключ").i32(23).i32(-1)
                .ch('\0').str("").i32(4_000_000_000L).i32(42).done();
        Relation r = (Relation) PgOutput.decode(b);
        assertEquals(0xFFFFFFF0L, r.oid());
        assertEquals("Sales Ü", r.schema());
        assertEquals("we\"ird, tab", r.name());
        assertEquals("\"Sales Ü\".\"we\"\"ird, tab\"", r.qualified());
        assertEquals(new PgOutput.Column(true, "ключ", 23, -1), r.columns().get(0));
        assertEquals(new PgOutput.Column(false, "", 4_000_000_000L, 42), r.columns().get(1));
    }

    @Test
    void tuplesWithNullsUnchangedToastTextAndBinary() throws Exception {
        byte[] b = new Msg().ch('U').i32(16384).ch('O').i16(4).ch('n').ch('u').text("").text("€")
                .ch('N').i16(4).ch('n').ch('u').ch('b').i32(3).ch('\1').ch('\0').ch('\377').text("x").done();
        Update u = (Update) PgOutput.decode(b);
        assertEquals('O', u.oldKind());
        List<Value> old = u.oldRow().values();
        assertTrue(old.get(0).isNull());
        assertNull(old.get(0).text());
        assertTrue(old.get(1).isUnchangedToast());
        assertEquals("", old.get(2).text());
        assertEquals("€", old.get(3).text());
        Value bin = u.newRow().values().get(2);
        assertEquals('b', bin.kind());
        assertArrayEquals(new byte[] {1, 0, (byte) 0xff}, bin.data());
        assertEquals("(binary, 3 bytes)", bin.toString());
        // without a Relation the map falls back to column numbers
        assertEquals("x", u.newRow().asMap(null).get("column4"));
    }

    @Test
    void beginCommitOriginTypeTruncateAndTimes() throws Exception {
        long micros = 1_000_000L * 86_400;   // 2000-01-02 00:00 UTC
        Begin b = (Begin) PgOutput.decode(new Msg().ch('B').i64(0x16B374D848L).i64(micros).i32(0xFFFFFFFFL).done());
        assertEquals("16/B374D848", PgOutput.lsn(b.finalLsn()));
        assertEquals(4294967295L, b.xid());
        assertEquals(Instant.parse("2000-01-02T00:00:00Z"), b.commitInstant());
        assertEquals(Instant.parse("1999-12-31T23:59:59.999999Z"), PgOutput.instant(-1));
        Commit c = (Commit) PgOutput.decode(new Msg().ch('C').ch('\0').i64(1).i64(2).i64(micros).done());
        assertEquals(2, c.endLsn());
        assertEquals("0/0", PgOutput.lsn(0));
        Origin o = (Origin) PgOutput.decode(new Msg().ch('O').i64(5).str("pg_16384").done());
        assertEquals("pg_16384", o.name());
        Type t = (Type) PgOutput.decode(new Msg().ch('Y').i32(99).str("Shop").str("Status Ä").done());
        assertEquals(new Type(99, "Shop", "Status Ä"), t);
        Truncate tr = (Truncate) PgOutput.decode(new Msg().ch('T').i32(2).ch('\3').i32(1).i32(2).done());
        assertEquals(List.of(1L, 2L), tr.relationOids());
        assertTrue(tr.cascade() && tr.restartIdentity());
        Delete d = (Delete) PgOutput.decode(new Msg().ch('D').i32(7).ch('K').i16(1).text("42").done());
        assertEquals('K', d.oldKind());
        Insert i = (Insert) PgOutput.decode(new Msg().ch('I').i32(7).ch('N').i16(0).done());
        assertTrue(i.newRow().values().isEmpty());
    }

    @Test
    void malformedMessagesFailClearly() throws Exception {
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new byte[0]));
        // truncated: a Begin cut short, a string without its NUL, a value longer than the message
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new Msg().ch('B').i64(1).done()));
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new Msg().ch('Y').i32(1).ch('a').done()));
        PgOutput.DecodeException e = assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(
                new Msg().ch('I').i32(1).ch('N').i16(1).ch('t').i32(100).ch('x').done()));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
        // wrong markers, unknown value kinds, bytes left over
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new Msg().ch('I').i32(1).ch('K').i16(0).done()));
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new Msg().ch('U').i32(1).ch('X').i16(0).done()));
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(new Msg().ch('D').i32(1).ch('N').i16(0).done()));
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(
                new Msg().ch('I').i32(1).ch('N').i16(1).ch('z').done()));
        assertThrows(PgOutput.DecodeException.class, () -> PgOutput.decode(
                new Msg().ch('C').ch('\0').i64(1).i64(2).i64(3).ch('!').done()));
        // an unknown message is passed on, not an error (later protocol versions add some)
        PgOutput.Unknown u = (PgOutput.Unknown) PgOutput.decode(new Msg().ch('S').i32(1).done());
        assertEquals('S', u.tag());
        assertEquals(5, u.length());
    }
}
