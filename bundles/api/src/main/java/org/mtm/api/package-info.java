/**
 * Service interfaces and value types shared by the mtm bundles. Bundles talk to each other only through
 * these types, so any implementation bundle can be updated on a live node.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.mtm.api;
