-- mtm catalog: the cluster's durable, node-local state. Idempotent: installed at every activation on
-- the local database and by init_cluster on every peer. These tables are never replicated.
CREATE SCHEMA IF NOT EXISTS mtm;

-- The configured nodes as this node knows them; is_self marks the row of this node.
CREATE TABLE IF NOT EXISTS mtm.cluster_nodes (
    id int PRIMARY KEY CHECK (id BETWEEN 1 AND 64),
    conninfo text NOT NULL,
    transport_host text NOT NULL,
    transport_port int NOT NULL,
    is_self boolean NOT NULL DEFAULT false
);

-- Where the Karaf node beside this database listens, by service (transport, gateway).
CREATE TABLE IF NOT EXISTS mtm.endpoints (
    service text PRIMARY KEY,
    host text NOT NULL,
    port int NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The node's generation state (one row); masks are NodeSet bit masks.
CREATE TABLE IF NOT EXISTS mtm.generation_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current_gen bigint NOT NULL,
    gen_members bigint NOT NULL,
    gen_configured bigint NOT NULL,
    last_online_in bigint NOT NULL,
    last_vote bigint NOT NULL,
    donors bigint NOT NULL
);

-- Tables made local with mtm.make_table_local: never replicated.
CREATE TABLE IF NOT EXISTS mtm.local_tables (
    rel_schema name NOT NULL,
    rel_name name NOT NULL,
    PRIMARY KEY (rel_schema, rel_name)
);
