package org.mtm.gateway.internal.session;

import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.Admission;
import org.mtm.gateway.internal.commit.DetachedStatements;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.tls.GatewayTls;

/** What a {@link Session} needs from the gateway around it. */
interface SessionHost {

    /** The local PostgreSQL every session's backend connection goes to. */
    Endpoint backendEndpoint();

    TransactionCommitter committer();

    Admission admission();

    /** Statements on a connection outside any session (finishing prepared transactions of lost sessions). */
    DetachedStatements detached();

    /**
     * Whether autocommit statements are wrapped in a gateway-owned transaction (DESIGN §2.1): configured, and
     * the cluster is initialised.
     */
    boolean wrapAutocommit();

    /**
     * Whether the node belongs to an initialised cluster: global DDL is then logged for the other nodes and
     * statements the cluster cannot run are refused. Before, the gateway is a plain relay.
     */
    boolean clusterInitialised();

    /** The gateway's certificate, or null: SSLRequest is then answered 'N'. */
    /** True when a new client would exceed the gateway's own connection limit ({@code gateway.max_connections}). */
    default boolean tooManyClients() {
        return false;
    }

    /** The limit {@link #tooManyClients} enforces (0: none). */
    default int maxConnections() {
        return 0;
    }

    /** How long a client may take to send its startup packet ({@code gateway.startup_timeout_ms}; 0: no bound). */
    default long startupTimeoutMillis() {
        return 0;
    }

    /**
     * The longest message a client may send that the gateway holds whole before passing it on ({@code
     * gateway.max_message_bytes}); COPY data and long Bind messages stream through and are not bounded by it.
     */
    default int maxMessageBytes() {
        return Session.MAX_MESSAGE;
    }

    default GatewayTls tls() {
        return null;
    }

    /** The footprint's statements as the sessions send them (text, or calls of the node's functions). */
    default org.mtm.gateway.internal.commit.FootprintQueries footprintQueries() {
        return org.mtm.gateway.internal.commit.FootprintQueries.INLINE;
    }

    /** The multimaster functions the gateway answers itself (mtm.init_cluster, mtm.alter_sequences). */
    SurfaceFunctions surface();

    void opened(Session session);

    /**
     * A session that had stand-ins for temporary tables ended: its schema is dropped once its backend is gone
     * ({@link org.mtm.gateway.internal.sql.TempStandIns#SWEEP_SQL}).
     */
    default void standInsLeft() {
    }

    void closed(Session session);

    /** The backend's BackendKeyData, so that a CancelRequest on another connection finds this session. */
    void keyIssued(int pid, int secret, Session session);

    void keyRevoked(int pid, int secret);

    /** A CancelRequest arrived on a new client connection. */
    void cancelRequested(int pid, int secret);

    /** Sends a CancelRequest for this backend key to PostgreSQL. */
    void sendCancel(int pid, int secret);
}
