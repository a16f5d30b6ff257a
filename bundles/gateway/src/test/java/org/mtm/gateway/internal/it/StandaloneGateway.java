package org.mtm.gateway.internal.it;

import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.session.GatewayServer;

/**
 * A gateway core in front of a running PostgreSQL, as in an initialised cluster (autocommit wrapping on, commits
 * local): for side-by-side measurements of the relay itself ({@code bench/gateway-ab}), not a node.
 *
 * <p>Arguments: listen port, PostgreSQL port (127.0.0.1), I/O threads.
 */
public final class StandaloneGateway {
    private StandaloneGateway() {
    }

    public static void main(String[] args) throws Exception {
        Endpoint postgres = new Endpoint("127.0.0.1", Integer.parseInt(args[1]));
        GatewayServer server = new GatewayServer(new GatewayServer.Settings("127.0.0.1", Integer.parseInt(args[0]),
                () -> postgres, true, Integer.parseInt(args[2]))).clusterInitialised(() -> true);
        System.out.println("gateway " + server.start());
        Thread.sleep(Long.MAX_VALUE); // serves until bench/gateway-ab kills the process
    }
}
