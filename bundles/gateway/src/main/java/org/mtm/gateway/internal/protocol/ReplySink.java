package org.mtm.gateway.internal.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Takes the replies of one {@link ReplyQueue} entry instead of (or besides) the client. Two shapes:
 * <ul>
 * <li>captured ({@code clientVisible() == false}): the gateway's own statements — every reply comes to
 * {@link #message}, the client sees nothing (ParameterStatus and NotificationResponse still go to it);</li>
 * <li>client-visible: replies go to the client as usual; only the ReadyForQuery is held back (unless
 * {@link #forwardsReady()}) and reported to {@link #ready} so the gateway can act before the client
 * learns the transaction status.</li>
 * </ul>
 * Called on the session's event loop.
 */
public interface ReplySink {

    default boolean clientVisible() {
        return false;
    }

    /**
     * Whether a reply of {@code type} is taken by the sink ({@link #message}) rather than relayed; asked when its
     * header is read (possibly more than once for one message), so it must not change the sink's state. A
     * client-visible sink may take some types (a gateway-answered part of a client's Query).
     */
    default boolean captures(byte type) {
        return !clientVisible();
    }

    /** A reply this client-visible sink did not capture went to the client (once per message). */
    default void passed(byte type) {
    }

    /** For client-visible sinks: whether the ReadyForQuery also goes to the client. */
    default boolean forwardsReady() {
        return false;
    }

    /** A whole reply (header included) of a captured entry; the buffer is valid only during the call. */
    default void message(byte type, ByteBuf message) {
    }

    /** For {@link ReplyQueue#OWN_UNSYNCED} entries: whether {@code type} is the entry's last reply. */
    default boolean ends(byte type) {
        return false;
    }

    /**
     * ReadyForQuery ended the entry: the backend's transaction status, and whether an ErrorResponse went to
     * the client since the previous ReadyForQuery.
     */
    default void ready(char status, boolean errorSeen) {
    }

    /** The entry ended without ReadyForQuery (its last reply arrived, or an ErrorResponse). */
    default void ended() {
    }

    /** The backend skipped the entry after an earlier error, or the connection was lost. */
    default void dropped() {
    }
}
