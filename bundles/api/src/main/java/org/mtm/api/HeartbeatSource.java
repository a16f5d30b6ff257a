package org.mtm.api;

/** Supplies the state a node announces in each heartbeat (consensus: generation, donors, connectivity). */
public interface HeartbeatSource {
    byte[] heartbeatPayload();
}
