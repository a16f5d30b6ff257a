package org.mtm.gateway.internal.session;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLPeerUnverifiedException;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.tls.ClientCert;
import org.mtm.gateway.internal.tls.GatewayTls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;

/**
 * The startup phase of a client connection, up to its StartupMessage: SSLRequest (TLS when the gateway has a
 * certificate, 'N' otherwise; GSSENCRequest always 'N'), CancelRequest (handed to the session that owns the key,
 * then the connection closes), the gateway's own refusals (TLS required, too many clients, a malformed packet),
 * and the StartupMessage itself: its user, database and application name, and the packet to send the backend —
 * with the gateway's session option added, or untouched for replication connections (relayed raw). Other
 * protocol versions are refused as PostgreSQL refuses them.
 */
final class SessionStartup {
    static final String TLS_HANDLER = "tls";

    private static final ByteBuf REFUSE_ENCRYPTION =
            Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[] {'N'}).asReadOnly());
    private static final ByteBuf ACCEPT_ENCRYPTION =
            Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[] {'S'}).asReadOnly());

    /** What the session does once the startup phase ended. */
    interface Outcome {
        /** The connection is refused with this FATAL error. */
        void refused(ServerError fatal);

        /** A CancelRequest was passed on: the connection closes. */
        void cancelled();

        /**
         * The client's StartupMessage: connect the backend and send it {@code startup}.
         *
         * @param params the StartupMessage's pairs (a replication connection is relayed raw, but its user is known)
         */
        void start(ByteBuf startup, boolean raw, StartupParameters params);
    }

    private final SessionHost host;
    private final Channel client;
    private final Outcome outcome;

    SessionStartup(SessionHost host, Channel client, Outcome outcome) {
        this.host = host;
        this.client = client;
        this.outcome = outcome;
    }

    boolean encrypted() {
        return client.pipeline().get(TLS_HANDLER) != null;
    }

    /** The certificate the client presented in the TLS handshake (verified by the client CA), or null. */
    private X509Certificate clientCertificate() {
        SslHandler handler = (SslHandler) client.pipeline().get(TLS_HANDLER);
        if (handler == null) {
            return null;
        }
        try {
            Certificate[] chain = handler.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate c ? c : null;
        } catch (SSLPeerUnverifiedException none) {
            return null;
        }
    }

    /** Reads one startup packet if it has arrived; returns true when the next one may follow at once. */
    boolean read(ByteBuf in) {
        StartupPacket packet = StartupPacket.read(in);
        if (packet == null) {
            return false;
        }
        int ri = in.readerIndex();
        int length = packet.length();
        switch (packet.kind()) {
            case INVALID -> {
                outcome.refused(packet.refusal());
                return false;
            }
            case SSL_REQUEST, GSSENC_REQUEST -> {
                in.skipBytes(length);
                if (in.isReadable()) {
                    outcome.refused(ServerError.fatal(SqlStates.PROTOCOL_VIOLATION, "received unencrypted data after SSL request"));
                    return false;
                }
                GatewayTls tls = host.tls();
                if (packet.kind() == StartupPacket.Kind.SSL_REQUEST && tls != null && !encrypted()) {
                    SslHandler handler = tls.newHandler(client.alloc());
                    // 'S' leaves in plain text; everything after it goes through the TLS handler in front of the session
                    client.writeAndFlush(ACCEPT_ENCRYPTION.duplicate());
                    client.pipeline().addFirst(TLS_HANDLER, handler);
                    return true;
                }
                // No certificate (or GSS, which the gateway does not do): refuse, the client goes on in plain text on
                // the same connection (libpq sslmode=prefer, pgjdbc's default) or disconnects (sslmode=require).
                client.writeAndFlush(REFUSE_ENCRYPTION.duplicate());
                return true;
            }
            case CANCEL -> {
                // PostgreSQL answers nothing on a cancel connection, well formed or not
                if (packet.wellFormedCancel()) {
                    host.cancelRequested(packet.cancelPid(), packet.cancelKey());
                }
                in.skipBytes(length);
                outcome.cancelled();
                return false;
            }
            case STARTUP -> {
                return start(in, ri, packet);
            }
            default -> throw new IllegalStateException(packet.kind().toString());
        }
    }

    private boolean start(ByteBuf in, int ri, StartupPacket packet) {
        int length = packet.length();
        GatewayTls tls = host.tls();
        if (tls != null && tls.required() && !encrypted()) {
            // a cancel request (above) may come in plain text: libpq sends it so, and it carries no password or data
            outcome.refused(tls.clientCert() != ClientCert.NONE
                    ? tls.clientCert().refusal(null, packet.params().user())
                    : ServerError.fatal(SqlStates.INVALID_AUTHORIZATION, "connection without TLS refused: this gateway "
                    + "requires TLS (gateway.tls.required = true); connect with sslmode=require, verify-ca or verify-full"));
            return false;
        }
        ServerError certificate = tls == null ? null : tls.clientCert().refusal(clientCertificate(), packet.params().user());
        if (certificate != null) {
            outcome.refused(certificate);
            return false;
        }
        if (host.tooManyClients()) {
            outcome.refused(ServerError.fatal(SqlStates.TOO_MANY_CONNECTIONS, "sorry, too many clients already: this "
                    + "gateway serves at most " + host.maxConnections() + " connections (gateway.max_connections)"));
            return false;
        }
        StartupParameters params = packet.params();
        // replication connections speak their own command language: relay them untouched
        boolean raw = params.replication();
        ByteBuf startup;
        if (raw) {
            startup = in.readRetainedSlice(length);
        } else {
            // marks the session as one of the gateway's: the mtm schema's event trigger refuses DDL that the
            // gateway did not see (inside functions, procedures and DO blocks) in such sessions only
            startup = StartupParameters.withOptions(client.alloc(), in, ri, length, Session.GATEWAY_SESSION_OPTION);
            in.skipBytes(length);
        }
        outcome.start(startup, raw, params);
        return false;
    }
}
