/**
 * TLS material from PEM files shared by the gateway and the transport: certificates re-read when their files change,
 * trust in a CA with its certificate revocation list.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.mtm.api.tls;
