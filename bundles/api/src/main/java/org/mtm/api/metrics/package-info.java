/**
 * How a bundle shows its Dropwizard metrics in the node's one shared registry (the {@code MetricRegistry} service of
 * the admin bundle) without depending on that bundle staying up.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.mtm.api.metrics;
