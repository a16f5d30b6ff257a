package org.mtm.gateway.internal.session;

import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.mtm.gateway.internal.sql.TempStandIns;
import org.mtm.gateway.internal.sql.TextEdits;

import io.netty.buffer.ByteBuf;

/**
 * What the gateway keeps of a prepared statement or portal: its classification, for global DDL the
 * statement's bytes (the DDL message carries them), for a portal of a gateway-answered call its bound
 * parameters and result format. {@code discardsTemporary}: 1 DISCARD TEMP/ALL, 2 sets search_path, 3 SET LOCAL
 * search_path — the session's stand-ins of temporary tables are dropped, or their schema put back on the path.
 */
record KeptStatement(SqlStatement st, byte[] body, SurfaceCall.Parameters params, boolean binaryResult,
                     TempStandIns.Rewrite standIn, int discardsTemporary, TextEdits qualified) {

    KeptStatement(SqlStatement st, byte[] body, SurfaceCall.Parameters params, boolean binaryResult,
                  TempStandIns.Rewrite standIn, int discardsTemporary) {
        this(st, body, params, binaryResult, standIn, discardsTemporary, null);
    }

    /** A statement that is no CREATE TEMP TABLE and no DISCARD TEMP/ALL. */
    KeptStatement(SqlStatement st, byte[] body, SurfaceCall.Parameters params, boolean binaryResult) {
        this(st, body, params, binaryResult, null, 0, null);
    }

    /**
     * CREATE TEMP TABLE sent as its stand-in ({@code standIn} non-null), made from the client's text with pg_temp
     * names qualified by {@code qualified} (or null): its errors' positions are taken back through both.
     */
    KeptStatement(SqlStatement st, byte[] body, SurfaceCall.Parameters params, boolean binaryResult,
                  TempStandIns.Rewrite standIn, TextEdits qualified) {
        this(st, body, params, binaryResult, standIn, 0, qualified);
    }

    /**
     * The portal of a gateway-answered call: this statement with the parameter values and result format of the
     * Bind whose parameter-format count starts at {@code i}; itself when they are not all at hand ({@code limit}:
     * a streamed Bind) or the Bind is malformed (the backend refuses it).
     */
    KeptStatement bound(ByteBuf in, int i, int limit) {
        try {
            int nFormats = in.getUnsignedShort(i);
            i += 2;
            if (2 * nFormats > limit - i) {
                return this;
            }
            boolean[] binaryFormat = new boolean[nFormats];
            for (int k = 0; k < nFormats; k++) {
                binaryFormat[k] = in.getShort(i + 2 * k) == 1;
            }
            i += 2 * nFormats;
            int n = in.getUnsignedShort(i);
            i += 2;
            byte[][] values = new byte[n][];
            for (int k = 0; k < n; k++) {
                int len = in.getInt(i);
                i += 4;
                if (len > limit - i) {
                    return this; // streamed or malformed: never allocate what the message does not hold
                }
                if (len >= 0) {
                    values[k] = new byte[len];
                    in.getBytes(i, values[k]);
                    i += len;
                }
            }
            int nResults = in.getUnsignedShort(i);
            boolean binary = nResults > 0 && in.getShort(i + 2) == 1;
            if (i + 2 + 2 * nResults > limit) {
                return this; // a streamed Bind: the values are not at hand (the call then says so)
            }
            return new KeptStatement(st, body, new BoundParameters(values, binaryFormat), binary, standIn, discardsTemporary,
                    qualified);
        } catch (IndexOutOfBoundsException e) {
            return this;
        }
    }

    /** A Bind's parameter values and their formats (one format for all, or one each, or none: text). */
    private record BoundParameters(byte[][] values, boolean[] binaryFormat) implements SurfaceCall.Parameters {
        @Override
        public byte[] value(int p) {
            if (p < 1 || p > values.length) {
                throw new IllegalArgumentException("there is no parameter $" + p);
            }
            return values[p - 1];
        }

        @Override
        public boolean binary(int p) {
            int n = binaryFormat.length;
            return n == 1 ? binaryFormat[0] : n > 1 && p <= n && binaryFormat[p - 1];
        }
    }
}
