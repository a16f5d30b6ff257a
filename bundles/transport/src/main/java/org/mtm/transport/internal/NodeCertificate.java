package org.mtm.transport.internal;

import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The node a transport certificate was issued to. A node's certificate names its node id in a subject alternative
 * name {@code URI:urn:mtm:node:<id>} (what {@code ./mtm up} writes); a peer is accepted as node N only when the
 * certificate it presented in the TLS handshake names N. Without this any certificate of the cluster CA could pose
 * as any node. Host names are not what identifies a node: the nodes of one host (the local cluster) share them.
 */
final class NodeCertificate {
    static final String URI_PREFIX = "urn:mtm:node:";
    private static final int URI_NAME = 6;

    private NodeCertificate() {
    }

    /** The node ids the certificate names, in order; empty when it names none. */
    static TreeSet<Integer> nodeIds(X509Certificate cert) {
        TreeSet<Integer> ids = new TreeSet<>();
        Collection<List<?>> names;
        try {
            names = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return ids;
        }
        if (names == null) {
            return ids;
        }
        for (List<?> name : names) {
            if (name.size() >= 2 && name.get(0) instanceof Integer type && type == URI_NAME
                    && name.get(1) instanceof String uri && uri.regionMatches(true, 0, URI_PREFIX, 0, URI_PREFIX.length())) {
                try {
                    int id = Integer.parseInt(uri.substring(URI_PREFIX.length()));
                    if (id > 0) {
                        ids.add(id);
                    }
                } catch (NumberFormatException e) {
                    // not a node id: names nothing
                }
            }
        }
        return ids;
    }

    /**
     * Null when the peer's certificate chain (its own certificate first, as the TLS session gives it) names
     * {@code node}; otherwise why the peer cannot be that node.
     */
    static String refusal(Certificate[] chain, int node) {
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            return "TLS: the peer presented no certificate, so it cannot be node " + node;
        }
        TreeSet<Integer> ids = nodeIds(cert);
        if (ids.contains(node)) {
            return null;
        }
        String subject = cert.getSubjectX500Principal().getName();
        return "TLS: the peer's certificate (" + subject + ") " + (ids.isEmpty() ? "names no node" : "is node "
            + (ids.size() == 1 ? ids.first() : ids) + "'s") + ", not node " + node + "'s: a node's certificate must "
            + "name it in a subjectAltName URI:" + URI_PREFIX + node;
    }
}
