package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.LogicalMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.OldTupleKind;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Truncate;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Type;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;

/** Decodes the text and binary golden sets captured from PostgreSQL 15 and checks every field. */
public class PgOutputGoldenTest {

    private static final Instant CAPTURE_NOT_BEFORE = Instant.parse("2020-01-01T00:00:00Z");
    private static final int INT4 = 23;
    private static final int TEXT = 25;
    private static final int NUMERIC = 1700;
    private static final int TIMESTAMPTZ = 1184;
    private static final int TEXT_ARRAY = 1009;

    private static GoldenSet text;
    private static GoldenSet binary;

    @BeforeClass
    public static void load() {
        text = GoldenSet.load("text");
        binary = GoldenSet.load("binary");
    }

    // ------------------------------------------------------------------ whole sets

    @Test
    public void everyMessageDecodesToTheTypeAndStepTheCaptureRecorded() {
        for (GoldenSet set : List.of(text, binary)) {
            assertTrue(set.name + " is empty", set.entries.size() > 50);
            for (GoldenSet.Entry e : set.entries) {
                assertEquals(set.name + "/" + e.file(), e.indexedType(), e.message().type());
                assertEquals(set.name + "/" + e.file(), (char) e.bytes()[0], e.message().type());
                assertTrue(set.name + "/" + e.file(), e.file().endsWith("-" + e.message().getClass().getSimpleName() + ".bin"));
                assertEquals(set.name + "/" + e.file(), e.indexedStep(), e.step());
            }
        }
    }

    @Test
    public void textSetCoversEveryNonStreamingMessageKind() {
        Set<Character> types = new TreeSet<>();
        text.entries.forEach(e -> types.add(e.message().type()));
        assertEquals("[B, C, D, I, K, M, O, P, R, T, U, Y, b, r]", types.toString());
    }

    @Test
    public void binarySetIsTheSameStreamAsTheTextSet() {
        assertEquals(text.entries.size(), binary.entries.size());
        for (int i = 0; i < text.entries.size(); i++) {
            assertEquals(text.entries.get(i).file(), binary.entries.get(i).file());
            assertEquals(text.entries.get(i).step(), binary.entries.get(i).step());
        }
    }

    @Test
    public void transactionsAreBracketedAndCommitLsnsGrow() {
        String open = null; // "B" or "b" while a transaction is open
        long lastCommitLsn = 0;
        for (GoldenSet.Entry e : text.entries) {
            PgOutputMessage m = e.message();
            switch (m.type()) {
                case 'B', 'b' -> {
                    assertNull(e.file() + " opens a transaction inside another", open);
                    open = String.valueOf(m.type());
                }
                case 'C' -> {
                    assertEquals(e.file(), "B", open);
                    open = null;
                    Commit c = (Commit) m;
                    assertTrue(e.file(), c.commitLsn() > lastCommitLsn);
                    lastCommitLsn = c.commitLsn();
                }
                case 'P' -> {
                    assertEquals(e.file(), "b", open);
                    open = null;
                }
                case 'I', 'U', 'D', 'T', 'O' -> assertTrue(e.file() + " outside a transaction", open != null);
                case 'K', 'r' -> assertNull(e.file() + " inside a transaction", open);
                case 'M' -> assertEquals(e.file(), open != null, ((LogicalMessage) m).transactional());
                default -> { }
            }
        }
        assertNull("the set ends inside a transaction", open);
    }

    @Test
    public void beginAndCommitAgree() {
        for (GoldenSet.Entry e : text.entries) {
            if (e.message() instanceof Begin b) {
                Commit c = nextCommit(e);
                assertTrue(e.file(), b.xid() > 0);
                assertEquals(e.file(), b.finalLsn(), c.commitLsn());
                assertEquals(e.file(), b.commitTime(), c.commitTime());
                assertEquals(e.file(), 0, c.flags());
                assertTrue(e.file(), c.endLsn() > c.commitLsn());
                assertSaneTime(e.file(), b.commitInstant());
            }
        }
    }

    private static Commit nextCommit(GoldenSet.Entry begin) {
        int i = text.entries.indexOf(begin);
        for (GoldenSet.Entry e : text.entries.subList(i, text.entries.size())) {
            if (e.message() instanceof Commit c) {
                return c;
            }
        }
        throw new AssertionError("no commit after " + begin.file());
    }

    // ------------------------------------------------------------------ steps of the text set

    @Test
    public void insertDescribesTheRelationThenSendsTextValues() {
        assertEquals("MBRIIC", text.types("insert"));
        Relation items = text.only("insert", Relation.class);
        assertEquals("public", items.namespace());
        assertEquals("items", items.name());
        assertEquals("public.items", items.qualifiedName());
        assertEquals(ReplicaIdentity.DEFAULT, items.replicaIdentity());
        assertEquals(List.of(new Column(1, "id", INT4, -1), new Column(0, "name", TEXT, -1), new Column(0, "qty", INT4, -1),
                new Column(0, "price", NUMERIC, (10 << 16 | 2) + 4), new Column(0, "note", TEXT, -1),
                new Column(0, "created", TIMESTAMPTZ, -1)), items.columns());
        assertTrue(items.columns().get(0).isKey());
        assertEquals(4, items.columnIndex("note"));
        assertEquals(0L, items.xid());

        List<Insert> inserts = text.all("insert", Insert.class);
        assertEquals(2, inserts.size());
        for (Insert i : inserts) {
            assertEquals(items.relationId(), i.relationId());
            assertEquals(PgOutputMessage.NO_XID, i.xid());
        }
        assertTexts(inserts.get(0).newTuple(), "1", "apple", "3", "1.50", null, "2024-01-02 03:04:05.123456+00");
        assertTexts(inserts.get(1).newTuple(), "2", "pear", "7", "0.25", "with 'quote', tab\tand ünïcode",
                "2024-01-02 03:04:06+00");
        assertEquals(TupleData.TEXT, inserts.get(0).newTuple().kind(0));
        assertEquals(TupleData.NULL, inserts.get(0).newTuple().kind(4));
    }

    @Test
    public void nullsAreSentAsNullColumns() {
        assertEquals("MBIC", text.types("insert-nulls"));
        TupleData row = text.only("insert-nulls", Insert.class).newTuple();
        assertTexts(row, "3", null, null, null, null, null);
        for (int i = 1; i < 6; i++) {
            assertTrue(row.isNull(i));
            assertFalse(row.hasValue(i));
            assertNull(row.bytes(i));
            assertEquals(0, row.valueLength(i));
        }
    }

    @Test
    public void updateOfTheKeyCarriesTheOldKey() {
        assertEquals("MBUC", text.types("update-key"));
        Update u = text.only("update-key", Update.class);
        assertEquals(OldTupleKind.KEY, u.oldKind());
        assertTexts(u.oldTuple(), "1", null, null, null, null, null);
        assertTexts(u.newTuple(), "10", "apple", "4", "1.50", null, "2024-01-02 03:04:05.123456+00");
    }

    @Test
    public void updateOutsideTheKeyCarriesNoOldTuple() {
        Update u = text.only("update-nokey", Update.class);
        assertEquals(OldTupleKind.NONE, u.oldKind());
        assertNull(u.oldTuple());
        assertEquals("8", u.newTuple().text(2));
    }

    @Test
    public void deleteWithDefaultIdentityCarriesTheKey() {
        assertEquals("MBDC", text.types("delete-key"));
        Delete d = text.only("delete-key", Delete.class);
        assertEquals(OldTupleKind.KEY, d.oldKind());
        assertTexts(d.oldTuple(), "10", null, null, null, null, null);
    }

    @Test
    public void replicaIdentityFullSendsWholeOldRows() {
        assertEquals("MBRIUDC", text.types("identity-full"));
        Relation r = text.only("identity-full", Relation.class);
        assertEquals("items_full", r.name());
        assertEquals(ReplicaIdentity.FULL, r.replicaIdentity());
        assertTrue(r.columns().stream().allMatch(Column::isKey));
        Update u = text.only("identity-full", Update.class);
        assertEquals(OldTupleKind.FULL, u.oldKind());
        assertTexts(u.oldTuple(), "1", "one");
        assertTexts(u.newTuple(), "1", "uno");
        Delete d = text.only("identity-full", Delete.class);
        assertEquals(OldTupleKind.FULL, d.oldKind());
        assertTexts(d.oldTuple(), "1", "uno");
    }

    @Test
    public void replicaIdentityIndexMarksItsColumnsAndSendsThemAsKey() {
        assertEquals("MBRIUC", text.types("identity-index"));
        Relation r = text.only("identity-index", Relation.class);
        assertEquals(ReplicaIdentity.INDEX, r.replicaIdentity());
        assertEquals(List.of(true, true, false), r.columns().stream().map(Column::isKey).toList());
        Update u = text.only("identity-index", Update.class);
        assertEquals(OldTupleKind.KEY, u.oldKind());
        assertTexts(u.oldTuple(), "1", "2", null);
        assertTexts(u.newTuple(), "5", "2", "x");
    }

    @Test
    public void userTypeIsDescribedBeforeTheRelationThatUsesIt() {
        assertEquals("MBYRIC", text.types("enum-type"));
        Type mood = text.only("enum-type", Type.class);
        assertEquals("app", mood.namespace());
        assertEquals("mood", mood.name());
        Relation moods = text.only("enum-type", Relation.class);
        assertEquals("app.moods", moods.qualifiedName());
        assertEquals(mood.typeOid(), moods.columns().get(1).typeOid());
        assertEquals(TEXT_ARRAY, moods.columns().get(2).typeOid());
        assertTexts(text.only("enum-type", Insert.class).newTuple(), "1", "happy", "{a,b}");
        RelationCache cache = text.relations();
        assertEquals(mood, cache.type(mood.typeOid()));
        assertEquals(moods, cache.require(moods.relationId()));
    }

    @Test
    public void toastedValueIsSentWholeOnInsertAndAsUnchangedOnUpdate() throws Exception {
        String body = md5Chain(300);
        TupleData inserted = text.only("toast-insert", Insert.class).newTuple();
        assertTexts(inserted, "1", "title", body);
        assertEquals(9600, inserted.valueLength(2));

        Update u = text.only("toast-update", Update.class);
        assertEquals(OldTupleKind.NONE, u.oldKind());
        TupleData row = u.newTuple();
        assertEquals("retitled", row.text(1));
        assertTrue(row.isUnchangedToast(2));
        assertEquals(TupleData.UNCHANGED_TOAST, row.kind(2));
        assertFalse(row.hasValue(2));
        assertNull(row.bytes(2));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> row.text(2));
        assertTrue(e.getMessage(), e.getMessage().contains("unchanged TOAST"));
        assertEquals("('1', 'retitled', UNCHANGED)", row.toString());
    }

    @Test
    public void truncateCarriesOptionsAndEveryRelation() {
        assertEquals("MBRICBRRTC", text.types("truncate"));
        Truncate t = text.only("truncate", Truncate.class);
        assertEquals(Truncate.OPTION_CASCADE | Truncate.OPTION_RESTART_IDENTITY, t.options());
        assertTrue(t.cascade());
        assertTrue(t.restartIdentity());
        RelationCache cache = text.relations();
        assertEquals(2, t.relationCount());
        assertEquals("public.items_full", cache.require(t.relationId(0)).qualifiedName());
        assertEquals("public.by_index", cache.require(t.relationId(1)).qualifiedName());
        int[] ids = t.relationIds();
        ids[0] = 0; // a copy: the record stays unchanged
        assertEquals("public.items_full", cache.require(t.relationId(0)).qualifiedName());
    }

    @Test
    public void transactionalMessagesArriveInsideTheirTransaction() {
        assertEquals("MBMMIC", text.types("message-transactional"));
        List<LogicalMessage> messages = text.all("message-transactional", LogicalMessage.class);
        LogicalMessage ddl = messages.get(1);
        assertTrue(ddl.transactional());
        assertEquals("mtm.ddl", ddl.prefix());
        assertEquals("CREATE TABLE t (a int)", ddl.contentText());
        assertEquals(PgOutputMessage.NO_XID, ddl.xid());
        LogicalMessage bin = messages.get(2);
        assertEquals("mtm.bin", bin.prefix());
        assertArrayEquals(new byte[] {0x00, (byte) 0xff, 0x10}, bin.content());
        assertEquals(3, bin.contentLength());
        assertTrue(bin.lsn() > ddl.lsn());
        Begin b = text.only("message-transactional", Begin.class);
        assertTrue(ddl.lsn() < b.finalLsn());
    }

    @Test
    public void nonTransactionalMessageArrivesAlone() {
        assertEquals("MM", text.types("message-nontransactional"));
        LogicalMessage m = text.all("message-nontransactional", LogicalMessage.class).get(1);
        assertFalse(m.transactional());
        assertEquals("mtm.nontx", m.prefix());
        assertEquals("outside any transaction", m.contentText());
        assertTrue(m.lsn() > 0);
    }

    @Test
    public void preparedTransactionThenCommitPrepared() {
        assertEquals("MbIP", text.types("prepare-commit"));
        BeginPrepare b = text.only("prepare-commit", BeginPrepare.class);
        Prepare p = text.only("prepare-commit", Prepare.class);
        assertEquals("MTM-1-100-1", b.gid());
        assertPrepareMatches(b, p);
        assertEquals("100", text.only("prepare-commit", Insert.class).newTuple().text(0));

        assertEquals("MK", text.types("commit-prepared"));
        CommitPrepared k = text.only("commit-prepared", CommitPrepared.class);
        assertEquals("MTM-1-100-1", k.gid());
        assertEquals(b.xid(), k.xid());
        assertEquals(0, k.flags());
        assertTrue(k.commitLsn() >= p.endLsn());
        assertTrue(k.endLsn() > k.commitLsn());
        assertFalse(k.commitInstant().isBefore(p.prepareInstant()));
        assertSaneTime("K", k.commitInstant());
    }

    @Test
    public void preparedTransactionThenRollbackPrepared() {
        assertEquals("MbIP", text.types("prepare-rollback"));
        BeginPrepare b = text.only("prepare-rollback", BeginPrepare.class);
        Prepare p = text.only("prepare-rollback", Prepare.class);
        assertEquals("MTM-1-101-1", p.gid());
        assertPrepareMatches(b, p);

        assertEquals("Mr", text.types("rollback-prepared"));
        RollbackPrepared r = text.only("rollback-prepared", RollbackPrepared.class);
        assertEquals("MTM-1-101-1", r.gid());
        assertEquals(p.xid(), r.xid());
        assertEquals(0, r.flags());
        assertEquals(p.endLsn(), r.prepareEndLsn());
        assertEquals(p.prepareTime(), r.prepareTime());
        assertTrue(r.rollbackEndLsn() > r.prepareEndLsn());
        assertFalse(r.rollbackInstant().isBefore(r.prepareInstant()));
        assertSaneTime("r", r.rollbackInstant());
    }

    @Test
    public void transactionUnderAReplicationOriginNamesItAfterBegin() {
        assertEquals("MBOIC", text.types("origin"));
        Origin o = text.only("origin", Origin.class);
        assertEquals("mtm_node_2", o.name());
        assertEquals(Lsn.parse("0/1A2B3C4D"), o.originLsn());
        // the commit timestamp is the origin's, as given to pg_replication_origin_xact_setup
        assertEquals(Instant.parse("2024-05-06T07:08:09Z"), text.only("origin", Begin.class).commitInstant());
        assertEquals(Instant.parse("2024-05-06T07:08:09Z"), text.only("origin", Commit.class).commitInstant());
    }

    @Test
    public void preparedTransactionUnderAReplicationOrigin() {
        assertEquals("MbOIP", text.types("origin-prepare"));
        BeginPrepare b = text.only("origin-prepare", BeginPrepare.class);
        assertEquals("MTM-2-201-1", b.gid());
        assertEquals(Instant.parse("2024-05-06T07:08:10Z"), b.prepareInstant());
        Origin o = text.only("origin-prepare", Origin.class);
        assertEquals("mtm_node_2", o.name());
        assertEquals("0/1A2B3E00", Lsn.format(o.originLsn()));
        assertPrepareMatches(b, text.only("origin-prepare", Prepare.class));
        CommitPrepared k = text.only("origin-commit-prepared", CommitPrepared.class);
        assertEquals(b.xid(), k.xid());
        assertEquals("MTM-2-201-1", k.gid());
    }

    // ------------------------------------------------------------------ binary set

    @Test
    public void binaryModeSendsTheTypesSendFormat() {
        assertEquals("MBRIIC", binary.types("insert"));
        TupleData row = binary.all("insert", Insert.class).get(0).newTuple();
        for (int i : new int[] {0, 1, 2, 3, 5}) {
            assertTrue("column " + i, row.isBinary(i));
        }
        assertTrue(row.isNull(4));
        assertArrayEquals(new byte[] {0, 0, 0, 1}, row.bytes(0));
        assertArrayEquals("apple".getBytes(StandardCharsets.UTF_8), row.bytes(1));
        assertArrayEquals(new byte[] {0, 0, 0, 3}, row.bytes(2));
        // numeric 1.50: ndigits 2, weight 0, sign +, dscale 2, base-10000 digits 1, 5000
        assertEquals("000200000000000200011388", HexFormat.of().formatHex(row.bytes(3)));
        long created = ByteBuffer.wrap(row.bytes(5)).getLong();
        assertEquals(Instant.parse("2024-01-02T03:04:05.123456Z"), PgTimestamp.toInstant(created));
        assertEquals(created, row.value(5).getLong());
        assertTrue(row.value(5).isReadOnly());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> row.text(0));
        assertTrue(e.getMessage(), e.getMessage().contains("binary"));
        assertEquals("with 'quote', tab\tand ünïcode",
                new String(binary.all("insert", Insert.class).get(1).newTuple().bytes(4), StandardCharsets.UTF_8));
    }

    @Test
    public void binaryModeKeepsNullsUnchangedToastAndEnums() {
        TupleData nulls = binary.only("insert-nulls", Insert.class).newTuple();
        assertTrue(nulls.isBinary(0));
        for (int i = 1; i < 6; i++) {
            assertTrue(nulls.isNull(i));
        }
        assertTrue(binary.only("toast-update", Update.class).newTuple().isUnchangedToast(2));
        TupleData mood = binary.only("enum-type", Insert.class).newTuple();
        assertArrayEquals("happy".getBytes(StandardCharsets.UTF_8), mood.bytes(1));
        assertTrue(mood.isBinary(2)); // text[] in array send format
        assertEquals("MBYRIC", binary.types("enum-type"));
        assertEquals(text.only("prepare-commit", BeginPrepare.class), binary.only("prepare-commit", BeginPrepare.class));
    }

    // ------------------------------------------------------------------ how the bytes arrive

    @Test
    public void decodesFromAnyPositionByteOrderAndBufferKindWithoutMovingTheBuffer() {
        for (GoldenSet.Entry e : text.entries) {
            PgOutputMessage expected = e.message();
            byte[] bytes = e.bytes();
            // as pgjdbc hands it over: the CopyData array, positioned after the 25-byte XLogData header
            byte[] copyData = new byte[25 + bytes.length + 3];
            System.arraycopy(bytes, 0, copyData, 25, bytes.length);
            ByteBuffer afterHeader = ByteBuffer.wrap(copyData, 25, bytes.length);
            ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
            ByteBuffer littleEndian = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (ByteBuffer b : List.of(afterHeader, direct, littleEndian)) {
                int position = b.position();
                int limit = b.limit();
                assertEquals(e.file(), expected, new PgOutputDecoder().decode(b));
                assertEquals(position, b.position());
                assertEquals(limit, b.limit());
            }
            assertEquals(ByteOrder.LITTLE_ENDIAN, littleEndian.order());
        }
    }

    @Test
    public void decodedMessagesShareNoMemoryWithTheBuffer() {
        GoldenSet.Entry e = text.entries.stream().filter(x -> x.message() instanceof Insert).findFirst().orElseThrow();
        byte[] bytes = e.bytes().clone();
        Insert before = (Insert) new PgOutputDecoder().decode(bytes);
        Arrays.fill(bytes, (byte) 0);
        assertEquals(e.message(), before);
    }

    // ------------------------------------------------------------------ helpers

    private static void assertPrepareMatches(BeginPrepare b, Prepare p) {
        assertEquals(b.gid(), p.gid());
        assertEquals(b.xid(), p.xid());
        assertTrue(b.xid() > 0);
        assertEquals(b.prepareLsn(), p.prepareLsn());
        assertEquals(b.endLsn(), p.endLsn());
        assertEquals(b.prepareTime(), p.prepareTime());
        assertEquals(0, p.flags());
        assertTrue(p.endLsn() > p.prepareLsn());
        assertSaneTime(b.gid(), p.prepareInstant());
    }

    private static void assertSaneTime(String what, Instant t) {
        assertTrue(what + " at " + t, !t.isBefore(CAPTURE_NOT_BEFORE) && t.isBefore(Instant.now().plusSeconds(86_400)));
    }

    static void assertTexts(TupleData row, String... expected) {
        assertEquals(row.toString(), expected.length, row.size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals("column " + i + " of " + row, expected[i], row.text(i));
            assertEquals(expected[i] == null, row.isNull(i));
            if (expected[i] != null) {
                assertTrue(row.isText(i));
                assertArrayEquals(expected[i].getBytes(StandardCharsets.UTF_8), row.bytes(i));
            }
        }
    }

    /** string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, n) g */
    private static String md5Chain(int n) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int g = 1; g <= n; g++) {
            sb.append(HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(String.valueOf(g).getBytes(StandardCharsets.US_ASCII))));
        }
        return sb.toString();
    }
}
