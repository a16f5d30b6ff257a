package org.mtm.consensus.internal.settings;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.mtm.api.Channels;
import org.mtm.api.NodeSet;
import org.mtm.api.PeerConnectivityListener;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.SettingsAgreement;
import org.mtm.api.Transport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the peers this node's {@link SharedSettings} (when one becomes reachable and when {@code org.mtm.multimaster}
 * changes), and warns — log, {@code mtm:status}, the status page — while a reachable peer's differ.
 */
@Component(immediate = true, service = {SettingsAgreement.class, PeerMessageHandler.class, PeerConnectivityListener.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.SETTINGS, configurationPid = "org.mtm.multimaster")
public final class SettingsAgreementService implements SettingsAgreement, PeerMessageHandler, PeerConnectivityListener {
    private static final Logger LOG = LoggerFactory.getLogger(SettingsAgreementService.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile Transport transport;

    private volatile Map<String, String> mine = SharedSettings.of(Map.of());
    private final Map<Integer, Map<String, String>> theirs = new ConcurrentHashMap<>();
    /** What was last logged per peer, so that a difference is logged once, and its end too. */
    private final Map<Integer, List<String>> logged = new ConcurrentHashMap<>();

    /** Also after a bundle update, when the peers are reachable already: they answer with theirs. */
    @Activate
    void activate(Map<String, Object> properties) {
        modified(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        mine = SharedSettings.of(properties);
        Transport t = transport;
        if (t != null) {
            t.broadcast(Channels.SETTINGS, SharedSettings.encode(mine, true));
        }
        theirs.keySet().forEach(this::report);
    }

    @Override
    public void peerReachable(int node) {
        Transport t = transport;
        if (t != null) {
            t.send(node, Channels.SETTINGS, SharedSettings.encode(mine, true));
        }
    }

    @Override
    public void peerUnreachable(int node) {
        // its values stay known: shown again only while it is reachable (differences())
    }

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        theirs.put(fromNode, SharedSettings.decode(payload));
        report(fromNode);
        Transport t = transport;
        if (SharedSettings.asks(payload) && t != null) {
            t.send(fromNode, Channels.SETTINGS, SharedSettings.encode(mine, false));
        }
    }

    private void report(int peer) {
        Map<String, String> values = theirs.get(peer);
        List<String> now = values == null ? List.of() : SharedSettings.differences(peer, values, mine);
        List<String> before = logged.put(peer, now);
        if (now.equals(before)) {
            return;
        }
        if (!now.isEmpty()) {
            LOG.warn("org.mtm.multimaster differs from a peer's, which the nodes of a cluster should share (set the same"
                + " value in etc/org.mtm.multimaster.cfg on every node): {}", String.join("; ", now));
        } else if (before != null && !before.isEmpty()) {
            LOG.info("org.mtm.multimaster agrees with node {}'s again", peer);
        }
    }

    @Override
    public List<String> differences() {
        Transport t = transport;
        NodeSet reachable = t == null ? NodeSet.EMPTY : t.reachablePeers();
        List<String> out = new ArrayList<>();
        for (int peer : reachable.ids()) {
            Map<String, String> values = theirs.get(peer);
            if (values != null) {
                out.addAll(SharedSettings.differences(peer, values, mine));
            }
        }
        return out;
    }
}
