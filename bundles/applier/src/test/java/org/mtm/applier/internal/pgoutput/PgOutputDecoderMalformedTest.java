package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;

/** Inputs that are not well-formed pgoutput raise {@link PgOutputFormatException}, never a skip. */
public class PgOutputDecoderMalformedTest {

    /** S for xid 1, first segment: puts a decoder inside a stream block. */
    private static final byte[] STREAM_START = {'S', 0, 0, 0, 1, 1};

    @Test
    public void emptyMessage() {
        PgOutputFormatException e = fails(new byte[0]);
        assertEquals(PgOutputFormatException.NO_TYPE, e.messageType());
        assertEquals(0, e.offset());
        assertEquals("a message type byte", e.expected());
        assertTrue(e.getMessage(), e.getMessage().startsWith("empty pgoutput message at offset 0: expected a message type byte"));
    }

    @Test
    public void unknownTypeNamesTheByteAndTheKnownTypes() {
        PgOutputFormatException e = fails(new byte[] {'Z', 1, 2, 3});
        assertEquals('Z', e.messageType());
        assertEquals(0, e.offset());
        assertTrue(e.getMessage(), e.getMessage().startsWith("pgoutput message 'Z' (0x5A) at offset 0: expected a message type byte,"
                + " one of B C O R Y I U D T M S E c A b P K r p"));
        // an XLogData ('w') or keepalive ('k') frame passed without stripping pgjdbc's header
        assertEquals('w', fails(new byte[] {'w', 0, 0}).messageType());
        PgOutputFormatException control = fails(new byte[] {0x01});
        assertTrue(control.getMessage(), control.getMessage().startsWith("pgoutput message type 0x01 at offset 0"));
    }

    @Test
    public void everyTruncationOfEveryGoldenMessageIsReported() {
        int checked = 0;
        for (String name : List.of("text", "binary", "streaming")) {
            GoldenSet set = GoldenSet.load(name);
            PgOutputDecoder tracker = new PgOutputDecoder();
            for (GoldenSet.Entry e : set.entries) {
                boolean inBlock = tracker.inStreamBlock();
                tracker.decode(e.bytes());
                byte[] bytes = e.bytes();
                // the streaming set holds ~200 similar inserts: cut every length of the first few only
                if (name.equals("streaming") && e.message() instanceof PgOutputMessage.Insert && checked % 20 != 0) {
                    checked++;
                    continue;
                }
                for (int length = 1; length < bytes.length; length++) {
                    PgOutputDecoder decoder = new PgOutputDecoder();
                    if (inBlock) {
                        decoder.decode(STREAM_START);
                    }
                    ByteBuffer cut = ByteBuffer.wrap(bytes, 0, length);
                    PgOutputFormatException x = assertThrows(name + "/" + e.file() + " cut to " + length,
                            PgOutputFormatException.class, () -> decoder.decode(cut));
                    assertEquals(bytes[0] & 0xFF, x.messageType());
                    assertTrue(x.offset() <= length);
                    assertTrue(x.getMessage(), x.getMessage().contains("truncated") || x.getMessage().contains("without one"));
                    assertEquals("decoder state changed by a failed message", inBlock, decoder.inStreamBlock());
                }
                checked++;
            }
        }
        assertTrue(checked > 400);
    }

    @Test
    public void truncationMessageSaysWhatWasExpectedWhere() {
        // Begin: int64 final LSN, int64 commit time, int32 xid — cut inside the xid
        byte[] begin = new byte[1 + 8 + 8 + 2];
        begin[0] = 'B';
        PgOutputFormatException e = fails(begin);
        assertEquals(17, e.offset());
        assertEquals("xid (int32)", e.expected());
        assertEquals("pgoutput message 'B' (0x42) at offset 17: expected xid (int32), the message is truncated: 4 bytes needed,"
                + " 2 remain of 19; restart replication from the last confirmed LSN", e.getMessage());
    }

    @Test
    public void trailingBytesAreReported() {
        byte[] commit = goldenOf("text", PgOutputMessage.Commit.class);
        byte[] longer = Arrays.copyOf(commit, commit.length + 2);
        PgOutputFormatException e = fails(longer);
        assertEquals('C', e.messageType());
        assertEquals(commit.length, e.offset());
        assertEquals("end of message", e.expected());
        assertTrue(e.getMessage(), e.getMessage().contains("2 unexpected bytes remain"));
    }

    @Test
    public void unknownColumnKindInATuple() {
        // I, relid 16384, 'N', 2 columns: 't' len 1 "x", then 'q'
        byte[] insert = {'I', 0, 0, 0x40, 0, 'N', 0, 2, 't', 0, 0, 0, 1, 'x', 'q'};
        PgOutputFormatException e = fails(insert);
        assertEquals(14, e.offset());
        assertTrue(e.getMessage(), e.getMessage().contains("expected column kind 'n', 'u', 't' or 'b', got 'q' (113) for column 1"));
    }

    @Test
    public void negativeValueLength() {
        byte[] insert = {'I', 0, 0, 0x40, 0, 'N', 0, 1, 'b', -1, -1, -1, -1};
        PgOutputFormatException e = fails(insert);
        assertEquals(9, e.offset());
        assertTrue(e.getMessage(), e.getMessage().contains("got -1 for column 0"));
    }

    @Test
    public void wrongTupleMarkers() {
        assertEquals(5, fails(new byte[] {'I', 0, 0, 0x40, 0, 'K', 0, 0}).offset());
        PgOutputFormatException update = fails(new byte[] {'U', 0, 0, 0x40, 0, 'X', 0, 0});
        assertTrue(update.getMessage(), update.getMessage().contains("expected tuple marker 'K', 'O' or 'N', got 'X'"));
        PgOutputFormatException afterOld = fails(new byte[] {'U', 0, 0, 0x40, 0, 'K', 0, 0, 'K', 0, 0});
        assertEquals(8, afterOld.offset());
        assertEquals("new tuple marker 'N' after the old tuple", afterOld.expected());
        assertEquals("old tuple marker 'K' or 'O'", fails(new byte[] {'D', 0, 0, 0x40, 0, 'N', 0, 0}).expected());
    }

    @Test
    public void unknownReplicaIdentity() {
        // R, relid, "" namespace, "t" name, identity 'z'
        byte[] relation = {'R', 0, 0, 0x40, 0, 0, 't', 0, 'z', 0, 0};
        PgOutputFormatException e = fails(relation);
        assertEquals(8, e.offset());
        assertTrue(e.getMessage(), e.getMessage().contains("expected replica identity d, n, f or i, got 'z'"));
    }

    @Test
    public void unterminatedString() {
        byte[] origin = {'O', 0, 0, 0, 0, 0, 0, 0, 1, 'n', 'o', 'd', 'e'};
        PgOutputFormatException e = fails(origin);
        assertEquals(9, e.offset());
        assertEquals("origin name (string) terminated by NUL", e.expected());
    }

    @Test
    public void impossibleCountsDoNotAllocate() {
        PgOutputFormatException truncate = fails(new byte[] {'T', 0x7f, -1, -1, -1, 0});
        assertEquals(6, truncate.offset());
        assertTrue(truncate.getMessage(), truncate.getMessage().contains(
                "expected truncated relation oids (int32 each), the message is truncated: 8589934588 bytes needed, 0 remain"));
        assertEquals(1, fails(new byte[] {'T', -1, -1, -1, -1, 0}).offset());
        PgOutputFormatException message = fails(new byte[] {'M', 1, 0, 0, 0, 0, 0, 0, 0, 1, 'p', 0, 0x7f, -1, -1, -1});
        assertTrue(message.getMessage(), message.getMessage().contains("message content, the message is truncated"));
        assertEquals("content length (int32) >= 0",
                fails(new byte[] {'M', 1, 0, 0, 0, 0, 0, 0, 0, 1, 'p', 0, -1, -1, -1, -1}).expected());
    }

    @Test
    public void streamBlocksMustNestCorrectly() {
        assertEquals("a stream start (S) before this stream stop", fails(new byte[] {'E'}).expected());
        PgOutputDecoder decoder = new PgOutputDecoder();
        decoder.decode(STREAM_START);
        PgOutputFormatException twice = assertThrows(PgOutputFormatException.class, () -> decoder.decode(STREAM_START));
        assertEquals("a stream stop (E) before this stream start", twice.expected());
        assertTrue(decoder.inStreamBlock());
        decoder.reset();
        assertFalse(decoder.inStreamBlock());
    }

    @Test
    public void streamedChangeWithoutItsXidIsTruncated() {
        // a non-streamed insert (no xid) fed to a decoder inside a stream block reads the relid as xid
        PgOutputDecoder decoder = new PgOutputDecoder();
        decoder.decode(STREAM_START);
        byte[] plainInsert = {'I', 0, 0, 0x40, 0, 'N', 0, 0};
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(plainInsert));
        assertEquals('I', e.messageType());
        assertFalse(e.getMessage().isEmpty());
    }

    private static PgOutputFormatException fails(byte[] message) {
        return assertThrows(PgOutputFormatException.class, () -> new PgOutputDecoder().decode(message));
    }

    private static byte[] goldenOf(String set, Class<? extends PgOutputMessage> type) {
        return GoldenSet.load(set).entries.stream().filter(e -> type.isInstance(e.message())).findFirst().orElseThrow().bytes();
    }
}
