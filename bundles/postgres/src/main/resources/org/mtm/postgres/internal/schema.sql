-- mtm catalog: the cluster's durable, node-local state. Idempotent: installed at every activation on
-- the local database and by init_cluster on every peer. These tables are never replicated.
CREATE SCHEMA IF NOT EXISTS mtm;
-- Any role may call the functions below (status views, replica identity upkeep after its own DDL); the tables
-- stay private: the functions that read or fix them run as their owner (SECURITY DEFINER).
GRANT USAGE ON SCHEMA mtm TO PUBLIC;

-- The configured nodes as this node knows them; is_self marks the row of this node.
CREATE TABLE IF NOT EXISTS mtm.cluster_nodes (
    id int PRIMARY KEY CHECK (id BETWEEN 1 AND 64),
    conninfo text NOT NULL,
    transport_host text NOT NULL,
    transport_port int NOT NULL,
    is_self boolean NOT NULL DEFAULT false
);

-- A server made from a base backup of another node (database.base_backup_from) that has not joined yet (manual
-- F.31.4.3): the rows here are its source's, so the catalog reads as "no cluster" until mtm.join_node empties it.
CREATE TABLE IF NOT EXISTS mtm.join_pending (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    source_node int NOT NULL,
    backup_end_lsn pg_lsn NOT NULL,
    source_conninfo text NOT NULL,
    made_at timestamptz NOT NULL DEFAULT now()
);
-- Set by mtm.join_node: the node is itself now; the row goes once its own replication slots exist (they wait for the
-- prepared transactions copied with the backup, which its catch-up finishes), and it may not go online before.
ALTER TABLE mtm.join_pending ADD COLUMN IF NOT EXISTS joined boolean NOT NULL DEFAULT false;

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
-- Why the node cannot recover by itself (the WAL it needs is gone at every donor), with what to do; NULL: it can.
-- It stays disabled across restarts until it is dropped and added again (a new init_cluster row has NULL).
ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS disabled_because text;
-- The configured set of the election this node last voted yes for (mtm.drop_node changes it); NULL: gen_configured.
ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS vote_configured bigint;
-- The generation number that change was accepted at (the first phase of a change election learns it); NULL: last_vote.
ALTER TABLE mtm.generation_state ADD COLUMN IF NOT EXISTS vote_accepted_in bigint;

-- Tables made local with mtm.make_table_local: never replicated.
CREATE TABLE IF NOT EXISTS mtm.local_tables (
    rel_schema name NOT NULL,
    rel_name name NOT NULL,
    PRIMARY KEY (rel_schema, rel_name)
);

-- 3PC / Paxos state of distributed transactions on this node (status: in = prepared, pc = precommitted,
-- pa = preaborted, cm = committed, ab = aborted); terms are (ballot, node). Never replicated.
CREATE TABLE IF NOT EXISTS mtm.transactions (
    gid text PRIMARY KEY,
    coordinator int NOT NULL,
    generation bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('in', 'pc', 'pa', 'cm', 'ab')),
    proposal_ballot int NOT NULL DEFAULT 0,
    proposal_node int NOT NULL DEFAULT 0,
    accepted_ballot int NOT NULL DEFAULT 0,
    accepted_node int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- mtm.in_doubt: this node's prepared copies of distributed transactions (gids MTM-<origin>-<xid>-<generation>), with
-- what the resolver knows of each (mtm.transactions: none or in = prepared, pc = precommitted, pa = preaborted, cm and
-- ab = decided, the copy not finished yet) and how long it has been prepared. A commit passes through here for
-- milliseconds; a row that stays (age beyond heartbeat_recv_timeout) is one the coordinator left to the resolver.
CREATE OR REPLACE VIEW mtm.in_doubt AS
SELECT p.gid,
       pg_catalog.split_part(p.gid, '-', 2)::int AS origin_node,
       pg_catalog.split_part(p.gid, '-', 4)::int8 AS generation,
       CASE t.status WHEN 'pc' THEN 'precommitted' WHEN 'pa' THEN 'preaborted' WHEN 'cm' THEN 'committed'
                     WHEN 'ab' THEN 'aborted' ELSE 'prepared' END AS state,
       p.prepared,
       pg_catalog.clock_timestamp() - p.prepared AS age
FROM pg_catalog.pg_prepared_xacts p LEFT JOIN mtm.transactions t ON t.gid = p.gid
WHERE p.database = pg_catalog.current_database() AND p.gid ~ '^MTM-[0-9]+-[0-9]+-[0-9]+$';
GRANT SELECT ON mtm.in_doubt TO PUBLIC;

-- The live view of the Karaf node beside this server, written when it changes (the node checks it every half second
-- with a statement that takes no transaction id: its writer's pg_stat_activity.state_change says the view is fresh);
-- unlogged: no WAL, never decoded. mtm.status() and mtm.nodes() read it.
CREATE UNLOGGED TABLE IF NOT EXISTS mtm.live_status (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    my_node_id int NOT NULL,
    status text NOT NULL,
    connected int[] NOT NULL,
    gen_num bigint NOT NULL,
    gen_members int[] NOT NULL,
    gen_members_online int[] NOT NULL,
    gen_configured int[] NOT NULL,
    updated_at timestamptz NOT NULL,
    writer_pid int
);
-- The backend of the node's publishing connection: when the node dies, so does that backend, and the view is
-- known stale at once instead of after the freshness interval (a catalog installed before it had no column).
ALTER TABLE mtm.live_status ADD COLUMN IF NOT EXISTS writer_pid int;
-- The referee of a 2+1 cluster as the node last saw it (all null: no referee_connstring).
ALTER TABLE mtm.live_status ADD COLUMN IF NOT EXISTS referee_connstring text,
    ADD COLUMN IF NOT EXISTS referee_reachable boolean, ADD COLUMN IF NOT EXISTS referee_grant_node int,
    ADD COLUMN IF NOT EXISTS referee_grant_gen bigint, ADD COLUMN IF NOT EXISTS referee_problem text;

CREATE UNLOGGED TABLE IF NOT EXISTS mtm.live_nodes (
    id int PRIMARY KEY,
    conninfo text NOT NULL,
    is_self boolean NOT NULL,
    enabled boolean NOT NULL,
    connected boolean NOT NULL,
    sender_pid int,
    receiver_pid int,
    n_workers text,
    receiver_mode text
);

-- mtm.status() (manual F.31.5.2): this node's status; refuses to answer from a view the node stopped refreshing
-- or whose writer is gone (the node's Karaf crashed or stopped). Refreshed: written (updated_at) or confirmed by its
-- writer's last statement (pg_stat_activity.state_change) within 5 seconds; the backends as they are now, not as the
-- calling transaction first saw them.
CREATE OR REPLACE FUNCTION mtm.status()
RETURNS TABLE (my_node_id int, status text, connected int[], gen_num int8, gen_members int[],
               gen_members_online int[], gen_configured int[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    last timestamptz;
    alive boolean;
BEGIN
    PERFORM pg_catalog.pg_stat_clear_snapshot();
    SELECT GREATEST(s.updated_at, a.state_change), a.pid IS NOT NULL INTO last, alive
      FROM mtm.live_status s LEFT JOIN pg_stat_activity a ON a.pid = s.writer_pid;
    IF last IS NULL OR NOT alive OR last < clock_timestamp() - interval '5 seconds' THEN
        RAISE EXCEPTION 'no mtm node is running beside this PostgreSQL (status last refreshed %)', coalesce(last::text, 'never')
            USING ERRCODE = '55000', HINT = 'Start the Karaf node of this server (./mtm start <i>) and retry.';
    END IF;
    RETURN QUERY SELECT s.my_node_id, s.status, s.connected, s.gen_num, s.gen_members, s.gen_members_online,
                        s.gen_configured FROM mtm.live_status s;
END
$fn$;

-- mtm.referee_status(): the referee of a 2+1 cluster as this node last saw it (a probe every second): its conninfo
-- (password hidden), whether it answered, the grant it holds (null: none) and why it could not be reached. No row
-- when no referee_connstring is configured. (mtm.status() keeps the manual's columns.)
CREATE OR REPLACE FUNCTION mtm.referee_status()
RETURNS TABLE (referee_connstring text, reachable boolean, grant_node int, grant_gen int8, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
    PERFORM 1 FROM mtm.status();
    RETURN QUERY SELECT s.referee_connstring, s.referee_reachable, s.referee_grant_node, s.referee_grant_gen,
                        s.referee_problem FROM mtm.live_status s WHERE s.referee_connstring IS NOT NULL;
END
$fn$;

-- mtm.nodes() (manual F.31.5.2): every configured node as this node sees it.
CREATE OR REPLACE FUNCTION mtm.nodes()
RETURNS TABLE (id int, conninfo text, is_self boolean, enabled boolean, connected boolean, sender_pid int,
               receiver_pid int, n_workers text, receiver_mode text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
    PERFORM 1 FROM mtm.status();
    RETURN QUERY SELECT n.id, n.conninfo, n.is_self, n.enabled, n.connected, n.sender_pid, n.receiver_pid,
                        n.n_workers, n.receiver_mode FROM mtm.live_nodes n ORDER BY n.id;
END
$fn$;

-- mtm.make_table_local(regclass) (manual F.31.5.2): stops replication of a table on every node. The insert
-- is itself replicated (mtm.local_tables is the one mtm table the appliers apply).
CREATE OR REPLACE FUNCTION mtm.make_table_local(relation regclass)
RETURNS void LANGUAGE sql AS $fn$
    INSERT INTO mtm.local_tables (rel_schema, rel_name)
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = relation
    ON CONFLICT DO NOTHING;
$fn$;

-- Two-phase transactions the applier applied here, by origin and the end LSN of their PREPARE in that
-- origin's stream; written inside the applied transaction, so "was gid committed here?" and "apply
-- exactly once" survive restarts. Kept a while past the durable replication progress.
CREATE TABLE IF NOT EXISTS mtm.applied_xacts (
    origin int NOT NULL,
    lsn pg_lsn NOT NULL,
    gid text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, lsn)
);
-- Not CREATE INDEX IF NOT EXISTS: that takes a SHARE lock on the table before it looks for the index, and a
-- prepared transaction holding a row lock there (an applied one waiting for its commit) would block the install.
DO $do$
BEGIN
    IF pg_catalog.to_regclass('mtm.applied_xacts_gid') IS NULL THEN
        CREATE INDEX applied_xacts_gid ON mtm.applied_xacts (gid);
    END IF;
END
$do$;

-- Tables without a primary key (and with default replica identity) get REPLICA IDENTITY FULL: the
-- publication is FOR ALL TABLES, and PostgreSQL refuses UPDATE/DELETE on a published table that has no
-- replica identity. Run after every global DDL statement, at the origin (by the gateway, as the client's role:
-- hence SECURITY DEFINER, a table may belong to someone else) and by each applier, and at init_cluster.
-- Returns the tables it changed. A user's explicit REPLICA IDENTITY DEFAULT on such a table is overridden.
-- The tables it made FULL are noted in mtm.replica_identity_full (each node notes its own: the same tables), so
-- that psql's \d+ can show them as PostgreSQL would (the gateway rewrites that one query of psql's), and a noted
-- table that has a primary key again goes back to DEFAULT. Unlogged, so that its rows are not decoded (the
-- publication is FOR ALL TABLES): after a crash of this node's PostgreSQL the notes are gone, and psql shows those
-- tables' FULL again (display only).
-- (mtm.ddl_internal: the event trigger below lets this upkeep through.)
CREATE UNLOGGED TABLE IF NOT EXISTS mtm.replica_identity_full (relid oid PRIMARY KEY);
GRANT SELECT ON mtm.replica_identity_full TO PUBLIC;
CREATE OR REPLACE FUNCTION mtm.ensure_replica_identity()
RETURNS SETOF regclass LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET mtm.ddl_internal = 'on' AS $fn$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND c.relreplident = 'd'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mtm') AND n.nspname NOT LIKE 'pg_toast%'
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
    LOOP
        EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel);
        INSERT INTO mtm.replica_identity_full VALUES (rel) ON CONFLICT DO NOTHING;
        RETURN NEXT rel;
    END LOOP;
    IF current_setting('transaction_isolation') = 'serializable' THEN
        -- SSI tracks reads of the notes (an ordinary table; the catalogs it does not): reading them all would make
        -- DDL in SERIALIZABLE blocks beside one another (one prepared) conflict (40001, the regression file
        -- prepared_xacts). Only the notes of tables that have a primary key and FULL again, each by its key; notes of
        -- dropped tables wait for the next upkeep outside SERIALIZABLE.
        FOR rel IN
            SELECT c.oid::regclass FROM pg_class c
            WHERE c.relreplident = 'f' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
        LOOP
            DELETE FROM mtm.replica_identity_full f WHERE f.relid = rel;
            IF FOUND THEN
                EXECUTE format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', rel);
            END IF;
        END LOOP;
    ELSIF EXISTS (SELECT 1 FROM mtm.replica_identity_full) THEN
        FOR rel IN
            DELETE FROM mtm.replica_identity_full f
            WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = f.relid AND c.relreplident = 'f')
               OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = f.relid AND i.indisprimary)
            RETURNING (SELECT c.oid::regclass FROM pg_class c WHERE c.oid = f.relid AND c.relreplident = 'f')
        LOOP
            IF rel IS NOT NULL THEN -- a primary key again: the identity PostgreSQL would have
                EXECUTE format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', rel);
            END IF;
        END LOOP;
    END IF;
END
$fn$;

-- Whether the event triggers below check this session's DDL: a client session through the gateway (mtm.via_gateway)
-- of an initialised cluster — not the cluster's own upkeep (mtm.ddl_internal) nor an mtm_admin session.
CREATE OR REPLACE FUNCTION mtm.checks_session_ddl()
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT current_setting('mtm.via_gateway', true) IS NOT DISTINCT FROM 'on'
       AND current_setting('mtm.ddl_internal', true) IS DISTINCT FROM 'on'
       AND current_setting('application_name') <> 'mtm_admin'
       AND EXISTS (SELECT 1 FROM mtm.cluster_nodes)
$fn$;
-- A safety net for DDL the gateway cannot see. The gateway announces every DDL statement a client sends it
-- (transaction-local mtm.ddl_seen, from its DDL message statement to its end statement); DDL run from inside a
-- function, procedure or DO block is not announced and would change this node only. In sessions that came
-- through the gateway (mtm.via_gateway, which it adds to every client's startup options) of an initialised
-- cluster, such DDL is refused with 0A000 — except on temporary relations and the stand-ins of a session's
-- temporary tables (schemas mtm_temp_...), subscriptions (local objects), REINDEX (node-local upkeep), inside an
-- extension's script, and the cluster's own upkeep (mtm.ddl_internal). Unlogged tables are on every node, so DDL on
-- them is refused too. The cluster's event triggers are ENABLE ALWAYS: a gateway session may SET
-- session_replication_role = replica (a superuser's; pg_restore --disable-triggers does), where ordinary event
-- triggers do not fire, and its DDL must be checked all the same; in the appliers (no mtm.via_gateway) they return at once.
CREATE OR REPLACE FUNCTION mtm.refuse_unannounced_ddl()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    c record;
BEGIN
    IF NOT mtm.checks_session_ddl() OR current_setting('mtm.ddl_seen', true) = 'on' THEN
        RETURN;
    END IF;
    IF tg_event = 'sql_drop' THEN
        FOR c IN SELECT d.object_identity FROM pg_event_trigger_dropped_objects() d
                 WHERE d.original AND NOT d.is_temporary AND d.object_type <> 'subscription' LOOP
            PERFORM mtm.unannounced_ddl(tg_tag, c.object_identity);
        END LOOP;
        RETURN;
    END IF;
    FOR c IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        -- REINDEX is node-local upkeep, not DDL to replicate (PostgreSQL 17 reports it here, 15 and 16 do not)
        CONTINUE WHEN c.in_extension OR c.object_type = 'subscription' OR c.command_tag = 'REINDEX'
            OR c.schema_name = 'pg_temp' OR c.schema_name LIKE 'pg\_temp\_%'
            OR c.schema_name ~ '^mtm_temp_[0-9]+_[0-9a-f]+$'
            OR (c.classid = 'pg_class'::regclass
                AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = c.objid AND r.relpersistence = 't'));
        PERFORM mtm.unannounced_ddl(c.command_tag, c.object_identity);
    END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION mtm.unannounced_ddl(command text, object text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
        MESSAGE = format('[multimaster] %s %s was not sent to the other nodes: DDL inside a function, procedure or DO '
                         'block is not replicated', command, coalesce(object, '')),
        HINT = 'Send the statement to the gateway as a statement of its own, so that every node runs it.';
END
$fn$;
-- Makes event trigger name on event running fn (WHEN TAG IN tags unless NULL; ENABLE ALWAYS when always: the
-- appliers run as replica), and makes it again when it exists with other tags (a schema of an earlier version).
-- Only a superuser may create event triggers: returns false, and makes nothing, for anyone else.
CREATE OR REPLACE FUNCTION mtm.ensure_event_trigger(name text, event text, fn text, tags text[] DEFAULT NULL,
                                                    always boolean DEFAULT false)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_event_trigger e WHERE e.evtname = name AND (SELECT array_agg(t ORDER BY t) FROM unnest(e.evttags) t)
               IS DISTINCT FROM (SELECT array_agg(t ORDER BY t) FROM unnest(tags) t)) THEN
        EXECUTE format('DROP EVENT TRIGGER %I', name);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger e WHERE e.evtname = name) THEN
        EXECUTE format('CREATE EVENT TRIGGER %I ON %I%s EXECUTE FUNCTION %s()', name, event,
                       CASE WHEN tags IS NULL THEN '' ELSE format(' WHEN TAG IN (%s)',
                           (SELECT string_agg(quote_literal(t), ', ') FROM unnest(tags) t)) END, fn);
        IF always THEN
            EXECUTE format('ALTER EVENT TRIGGER %I ENABLE ALWAYS', name);
        END IF;
    ELSIF always AND EXISTS (SELECT 1 FROM pg_event_trigger e WHERE e.evtname = name AND e.evtenabled <> 'A') THEN
        -- made by an older version without it: ALWAYS now too
        EXECUTE format('ALTER EVENT TRIGGER %I ENABLE ALWAYS', name);
    END IF;
    RETURN true;
END
$fn$;
-- Only a superuser may create event triggers: without one the node runs without the net (and says so).
DO $do$
BEGIN
    IF NOT (mtm.ensure_event_trigger('mtm_refuse_unannounced_ddl', 'ddl_command_end', 'mtm.refuse_unannounced_ddl', NULL, true)
            AND mtm.ensure_event_trigger('mtm_refuse_unannounced_drop', 'sql_drop', 'mtm.refuse_unannounced_ddl', NULL, true)) THEN
        RAISE WARNING '[multimaster] % is not a superuser: DDL inside functions, procedures and DO blocks will '
            'not be refused on this node (it is not replicated)', current_user;
    END IF;
END
$do$;

-- The schema of a gateway session's temporary-table stand-ins (the gateway's TempStandIns), made for the session's
-- current role as PostgreSQL makes its temporary schema: with the TEMPORARY privilege on the database, not CREATE,
-- which PostgreSQL 15 gives only the database's owner (the regression files privileges, maintain_every). Only the
-- calling backend's own schema (mtm_temp_<its pid>_<hex>), for a role its session may be (SET ROLE).
-- Like PostgreSQL's temporary schema it belongs to the cluster's own user, not the role, so that DROP ROLE, DROP
-- OWNED and REASSIGN OWNED treat the role as PostgreSQL does (only the objects the role made in it count). The role
-- gets USAGE and CREATE through a NOLOGIN role of the schema's name, granted to it: a membership, which DROP ROLE
-- removes, where a privilege on the schema would block it. Nobody else may use the schema. The sweep drops both.
-- Without CREATEROLE (or for a NOINHERIT role, which would not use the membership) the role owns the schema, as before.
CREATE OR REPLACE FUNCTION mtm.stand_in_schema(schema text, role name)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
    IF schema !~ ('^mtm_temp_' || pg_backend_pid() || '_[0-9a-f]+$') OR NOT pg_has_role(session_user, role, 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('[multimaster] %s is not the temporary tables'' schema of this session for role %s', schema, role);
    END IF;
    IF NOT has_database_privilege(role, current_database(), 'TEMPORARY') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('permission denied to create temporary tables in database "%s"', current_database());
    END IF;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = schema)
       AND has_schema_privilege(role, schema, 'USAGE, CREATE') THEN
        RETURN;
    END IF;
    BEGIN
        IF NOT (SELECT r.rolinherit FROM pg_roles r WHERE r.rolname = role) THEN
            RAISE insufficient_privilege;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = schema) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', schema);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = schema) THEN
            EXECUTE format('CREATE SCHEMA %I', schema);
            EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', schema, schema);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
                       WHERE g.rolname = schema AND r.rolname = role) THEN -- (again: PostgreSQL's NOTICE to the client)
            EXECUTE format('GRANT %I TO %I', schema, role);
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = schema) THEN
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', schema, role);
        END IF;
    END;
END
$fn$;

-- DISCARD TEMP / ALL of a gateway session: its stand-in schema dropped with everything in it, as PostgreSQL drops the
-- session's temporary objects whoever made them (the schema is the cluster user's). Only the calling backend's own.
CREATE OR REPLACE FUNCTION mtm.drop_stand_in_schema(schema text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
    IF schema !~ ('^mtm_temp_' || pg_backend_pid() || '_[0-9a-f]+$') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('[multimaster] %s is not the temporary tables'' schema of this session', schema);
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', schema);
END
$fn$;

-- A temporary table of a gateway session is a node-local stand-in (an unlogged table in a schema mtm_temp_<pid>_<hex>),
-- dropped with its schema (CASCADE) when the session ends. A permanent object that depends on one — a partition
-- attached to it or created as its partition, a table inheriting from it, a view over it, a sequence owned by it —
-- would be dropped with it on this node only. PostgreSQL refuses such links to its temporary tables; so does the
-- cluster, in gateway sessions, at the end of the statement that makes one.
CREATE OR REPLACE FUNCTION mtm.refuse_permanent_on_stand_in()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    link record;
BEGIN
    IF current_setting('mtm.via_gateway', true) IS DISTINCT FROM 'on' OR current_setting('application_name') = 'mtm_admin' THEN
        RETURN;
    END IF;
    FOR link IN
        SELECT pg_describe_object(d.classid, d.objid, 0) AS dependent, r.oid::regclass AS stand_in,
               r.relname AS parent, i.inhrelid IS NOT NULL AS inherits, c.relispartition AS partition
        FROM pg_namespace n
        JOIN pg_class r ON r.relnamespace = n.oid
        JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = r.oid AND d.deptype IN ('n', 'a')
        LEFT JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND w.oid = d.objid
        JOIN pg_class c ON c.oid = CASE WHEN d.classid = 'pg_class'::regclass THEN d.objid
                                        WHEN d.classid = 'pg_rewrite'::regclass THEN w.ev_class END
        JOIN pg_namespace cn ON cn.oid = c.relnamespace
        LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = r.oid
        WHERE n.nspname ~ '^mtm_temp_[0-9]+_[0-9a-f]+$' AND cn.nspname !~ '^mtm_temp_[0-9]+_[0-9a-f]+$'
          AND c.relpersistence <> 't' AND c.oid <> r.oid
        LIMIT 1
    LOOP
        -- a partition or a child table: PostgreSQL's own messages for its temporary tables
        IF link.inherits AND link.partition THEN
            RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
                MESSAGE = format('cannot %s a permanent relation as partition of temporary relation "%s"',
                                 CASE WHEN tg_tag = 'ALTER TABLE' THEN 'attach' ELSE 'create' END, link.parent);
        ELSIF link.inherits THEN
            RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
                MESSAGE = format('cannot inherit from temporary relation "%s"', link.parent);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
            MESSAGE = format('[multimaster] %s would depend on temporary table %s: a permanent object cannot depend on '
                             'a temporary one', link.dependent, link.stand_in),
            HINT = 'Temporary tables are this session''s and this node''s only; link permanent tables to permanent ones.';
    END LOOP;
    -- the other way round: a stand-in as a partition of a permanent table would take, on this node only, the rows
    -- routed to it (not replicated: unlogged); PostgreSQL refuses a temporary partition of a permanent table
    FOR link IN
        SELECT p.relname AS parent
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE c.relispartition AND n.nspname ~ '^mtm_temp_[0-9]+_[0-9a-f]+$'
          AND pn.nspname !~ '^mtm_temp_[0-9]+_[0-9a-f]+$' AND p.relpersistence <> 't'
        LIMIT 1
    LOOP
        RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
            MESSAGE = format('cannot %s a temporary relation as partition of permanent relation "%s"',
                             CASE WHEN tg_tag = 'ALTER TABLE' THEN 'attach' ELSE 'create' END, link.parent);
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_permanent_on_stand_in', 'ddl_command_end', 'mtm.refuse_permanent_on_stand_in',
    ARRAY['ALTER TABLE', 'CREATE TABLE', 'CREATE VIEW', 'CREATE MATERIALIZED VIEW', 'ALTER SEQUENCE', 'CREATE SEQUENCE',
          'CREATE TABLE AS', 'SELECT INTO'], true);
-- The stand-in schema of a session's temporary tables is on its search_path (at the end, see the gateway's
-- TempStandIns). When no schema before it exists (search_path = '', or only missing schemas), PostgreSQL would find
-- no schema to create in, nor for CURRENT_SCHEMA — it never creates in pg_temp unless pg_temp is named first — but
-- here the stand-in schema is found: a replicated statement would create its object there, on this node only, and
-- the other nodes (no such schema) would fail it (the regression file publication: CREATE PUBLICATION ... FOR TABLES
-- IN SCHEMA CURRENT_SCHEMA with search_path ''). Refused, in gateway sessions, for DDL the gateway replicates
-- (mtm.ddl_open: its DDL message was written), with PostgreSQL's own errors when the stand-in schema stood in for
-- "no schema", with 0A000 when it was named. Security invoker and no SET search_path: current_schema() is the
-- session's; every name is qualified. current_schema() is asked only then: with pg_temp first on the path it may
-- touch PostgreSQL's temporary schema, after which PREPARE TRANSACTION refuses the transaction.
CREATE OR REPLACE FUNCTION mtm.refuse_stand_in_schema_objects()
RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
    c record;
    by_default boolean;
BEGIN
    IF pg_catalog.current_setting('mtm.ddl_open', true) IS DISTINCT FROM 'on' THEN
        RETURN;
    END IF;
    FOR c IN SELECT e.command_tag, e.object_identity, e.schema_name FROM pg_catalog.pg_event_trigger_ddl_commands() e
             WHERE e.schema_name OPERATOR(pg_catalog.~) '^mtm_temp_[0-9]+_[0-9a-f]+$' LIMIT 1 LOOP
        by_default := COALESCE(pg_catalog.current_schema() OPERATOR(pg_catalog.~) '^mtm_temp_[0-9]+_[0-9a-f]+$', false);
        IF by_default THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name', MESSAGE = 'no schema has been selected to create in';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = pg_catalog.format('[multimaster] %s %s is not supported: schema %s holds a session''s temporary '
                                        'tables on this node only', c.command_tag, c.object_identity, c.schema_name),
            HINT = 'Create permanent objects in a permanent schema.';
    END LOOP;
    FOR c IN SELECT n.nspname FROM pg_catalog.pg_publication_namespace p
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pnnspid
             WHERE n.nspname OPERATOR(pg_catalog.~) '^mtm_temp_[0-9]+_[0-9a-f]+$' LIMIT 1 LOOP
        by_default := COALESCE(pg_catalog.current_schema() OPERATOR(pg_catalog.~) '^mtm_temp_[0-9]+_[0-9a-f]+$', false);
        IF by_default THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name', MESSAGE = 'no schema has been selected for CURRENT_SCHEMA';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = pg_catalog.format('[multimaster] a publication of schema %s is not supported: it holds a '
                                        'session''s temporary tables on this node only', c.nspname);
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_stand_in_schema_objects', 'ddl_command_end', 'mtm.refuse_stand_in_schema_objects',
    NULL, true);
-- An unlogged table is made on every node (its DDL is replicated), and its rows are each node's own: logical
-- decoding never carries them. ALTER TABLE ... SET UNLOGGED therefore runs on every node (the rows were the same;
-- from then on each node keeps its own), but SET LOGGED of an unlogged table that holds rows would make a replicated
-- table whose rows differ between the nodes: refused on each node where it has rows — at the origin in the client's
-- session, on another node where its applier runs the statement (ENABLE ALWAYS), which then votes the transaction
-- down. The table cannot be read while it is being rewritten: table_rewrite notes it, ddl_command_end asks.
CREATE OR REPLACE FUNCTION mtm.refuse_logging_node_rows()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    noted text;
    rel regclass;
BEGIN
    IF current_setting('mtm.ddl_internal', true) = 'on'
       OR (current_setting('mtm.via_gateway', true) IS DISTINCT FROM 'on'
           AND current_setting('session_replication_role') <> 'replica') THEN
        RETURN;
    END IF;
    IF tg_event = 'table_rewrite' THEN
        -- reason 1 (AT_REWRITE_ALTER_PERSISTENCE) of a table still unlogged: it is being made logged
        IF pg_event_trigger_table_rewrite_reason() & 1 <> 0 AND EXISTS (SELECT 1 FROM pg_class r
               WHERE r.oid = pg_event_trigger_table_rewrite_oid() AND r.relpersistence = 'u' AND r.relkind = 'r') THEN
            PERFORM set_config('mtm.logged_table', pg_event_trigger_table_rewrite_oid()::text, true);
        END IF;
        RETURN;
    END IF;
    noted := coalesce(current_setting('mtm.logged_table', true), '');
    IF noted = '' THEN
        RETURN;
    END IF;
    PERFORM set_config('mtm.logged_table', '', true);
    rel := noted::oid::regclass;
    IF mtm.has_rows(rel) THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('[multimaster] ALTER TABLE %s SET LOGGED is not supported while the unlogged table has rows '
                             'on node %s: an unlogged table''s rows are each node''s own, so the logged table would '
                             'hold different rows on each node', rel,
                             coalesce((SELECT id::text FROM mtm.cluster_nodes WHERE is_self), '?')),
            HINT = 'Empty it on every node first (TRUNCATE through each node''s gateway), or create a logged table and '
                   'INSERT ... SELECT the rows every node should have.';
    END IF;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_logging_node_rows', 'ddl_command_end', 'mtm.refuse_logging_node_rows',
    ARRAY['ALTER TABLE'], true);
SELECT mtm.ensure_event_trigger('mtm_refuse_logging_node_rewrite', 'table_rewrite', 'mtm.refuse_logging_node_rows', NULL, true);
-- A function, procedure or aggregate whose signature names a temporary table's row type (RETURNS SETOF t, an
-- argument of type t) depends on the stand-in's type, which is on this node only: the other nodes cannot create it
-- (type does not exist), and here it is dropped with the stand-in — as PostgreSQL drops such a routine with its
-- temporary table. So it is this node's only: when the gateway announced the statement (mtm.ddl_open), a message
-- mtm.ddl_local inside its bracket tells the other nodes not to run it, and the routine's oid is noted for the
-- session (mtm.local_routines) so that its DROP is local too (RETURNS SETOF t is not in the routine's identity). A
-- statement the gateway did not announce is refused, in gateway sessions, at the end of the statement.
CREATE OR REPLACE FUNCTION mtm.refuse_routine_on_stand_in()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    link record;
BEGIN
    IF current_setting('mtm.via_gateway', true) IS DISTINCT FROM 'on' OR current_setting('application_name') = 'mtm_admin' THEN
        RETURN;
    END IF;
    FOR link IN
        SELECT c.command_tag AS tag, c.object_identity AS routine, c.objid, r.relname AS stand_in
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_depend d ON d.classid = c.classid AND d.objid = c.objid AND d.refclassid = 'pg_type'::regclass
        JOIN pg_type t ON t.oid = d.refobjid
        JOIN pg_class r ON r.oid = t.typrelid
                        OR r.oid = (SELECT e.typrelid FROM pg_type e WHERE e.oid = t.typelem AND t.typelem <> 0)
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE c.classid = 'pg_proc'::regclass AND n.nspname ~ '^mtm_temp_[0-9]+_[0-9a-f]+$'
        LIMIT 1
    LOOP
        IF current_setting('mtm.ddl_open', true) = 'on' THEN
            PERFORM pg_logical_emit_message(true, 'mtm.ddl_local', ''::bytea);
            PERFORM set_config('mtm.local_routines',
                                coalesce(current_setting('mtm.local_routines', true), '') || ' ' || link.objid, false);
            RETURN;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('[multimaster] %s %s is not supported: it would depend on the row type of temporary table '
                             '"%s", which is on this node only', link.tag, link.routine, link.stand_in),
            HINT = 'Temporary tables are this session''s and this node''s only: give the routine a permanent table''s or '
                   'a composite type''s row type (CREATE TYPE ... AS (...)).';
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_routine_on_stand_in', 'ddl_command_end', 'mtm.refuse_routine_on_stand_in',
    ARRAY['CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE AGGREGATE', 'ALTER FUNCTION', 'ALTER PROCEDURE', 'COMMENT'], true);
-- DROP of routines made this node's only by mtm.refuse_routine_on_stand_in in this session: local too (mtm.ddl_local);
-- such routines and others in one DROP are refused, since the other nodes must drop the others.
CREATE OR REPLACE FUNCTION mtm.drop_local_routines()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    noted text[] := string_to_array(btrim(coalesce(current_setting('mtm.local_routines', true), '')), ' ');
    local_ones int;
    all_ones int;
BEGIN
    IF current_setting('mtm.via_gateway', true) IS DISTINCT FROM 'on' OR current_setting('mtm.ddl_open', true) IS DISTINCT FROM 'on'
       OR coalesce(cardinality(noted), 0) = 0 THEN
        RETURN;
    END IF;
    SELECT count(*) FILTER (WHERE d.objid::text = ANY (noted)), count(*) INTO local_ones, all_ones
    FROM pg_event_trigger_dropped_objects() d WHERE d.original AND d.classid = 'pg_proc'::regclass;
    IF local_ones = 0 THEN
        RETURN;
    END IF;
    IF local_ones < all_ones THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = '[multimaster] this DROP names routines of a temporary table''s row type, which are on this node only, '
                      'and others, which are on every node',
            HINT = 'Drop them in two statements.';
    END IF;
    PERFORM pg_logical_emit_message(true, 'mtm.ddl_local', ''::bytea);
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_drop_local_routines', 'sql_drop', 'mtm.drop_local_routines',
    ARRAY['DROP FUNCTION', 'DROP PROCEDURE', 'DROP AGGREGATE', 'DROP ROUTINE'], true);
-- A replicated table with a column of a type whose values cannot be written from their text (pg_node_tree and the
-- other internal types of the statistics and BRIN summaries: their input functions refuse every value): the other
-- nodes apply rows as text, so every row of it would fail there (CREATE TABLE ... AS SELECT * FROM pg_class of the
-- regression file create_table). Refused in gateway sessions at the end of the statement that makes such a column.
CREATE OR REPLACE FUNCTION mtm.refuse_unwritable_column()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    col record;
BEGIN
    IF current_setting('mtm.via_gateway', true) IS DISTINCT FROM 'on' OR current_setting('application_name') = 'mtm_admin' THEN
        RETURN;
    END IF;
    FOR col IN
        SELECT c.command_tag AS tag, c.object_identity AS rel, a.attname, a.atttypid::regtype AS type
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class r ON c.classid = 'pg_class'::regclass AND r.oid = c.objid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE r.relkind IN ('r', 'p') AND r.relpersistence = 'p' AND n.nspname !~ '^mtm_temp_[0-9]+_[0-9a-f]+$'
          AND (t.typinput IN ('pg_node_tree_in'::regproc, 'pg_ndistinct_in'::regproc, 'pg_dependencies_in'::regproc,
                              'pg_mcv_list_in'::regproc)
               OR t.typname IN ('pg_brin_bloom_summary', 'pg_brin_minmax_multi_summary'))
        LIMIT 1
    LOOP
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('[multimaster] %s %s is not supported: column "%s" has type %s, whose values cannot be '
                             'written from text, so the other nodes could not apply its rows', col.tag, col.rel,
                             col.attname, col.type),
            HINT = format('Cast the column to text (%s::text), or leave it out.', quote_ident(col.attname));
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_unwritable_column', 'ddl_command_end', 'mtm.refuse_unwritable_column',
    ARRAY['CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE'], true);
-- CREATE TABLE ... (LIKE source) of a source on this node only (a temporary table or its stand-in): the other nodes
-- have no such source (the regression file copy2), so the text they run has that LIKE element replaced by the source's
-- columns as PostgreSQL 15's LIKE copies them without options (transformTableLikeClause): name, type with typmod,
-- collation, NOT NULL. The gateway calls this in the statement that logs the DDL message, before the statement runs,
-- with the statement's text, each LIKE element's source, text and options in effect, and the text around the elements
-- (one more piece than elements; a piece before an element ends with its ( or , and one after starts with its , or )).
-- It returns the statement as it is when no source is node-local. Of the options, COMPRESSION is written out too
-- (a column's COMPRESSION clause); another one the source has something for (a default, a CHECK constraint, an
-- index, ...) is refused with 0A000 naming it: the text would have to name the objects the source's refer to, which
-- may be node-local themselves (a temporary sequence behind a serial column's default).
CREATE OR REPLACE FUNCTION mtm.like_text(statement text, sources text[], elements text[], in_effect text[],
                                         pieces text[])
RETURNS text LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    rel oid;
    opts text[];
    opt text;
    what text;
    cols text;
    any_local boolean := false;
    result text := pieces[1];
    after text;
BEGIN
    FOR i IN 1 .. pg_catalog.cardinality(sources) LOOP
        after := pieces[i OPERATOR(pg_catalog.+) 1];
        SELECT c.oid INTO rel FROM pg_catalog.pg_class c
        WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(sources[i]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (c.relpersistence OPERATOR(pg_catalog.=) 't'
               OR pg_catalog.starts_with(c.relnamespace::pg_catalog.regnamespace::pg_catalog.text, 'mtm_temp_'));
        IF NOT FOUND THEN
            result := result OPERATOR(pg_catalog.||) elements[i] OPERATOR(pg_catalog.||) after;
            CONTINUE;
        END IF;
        any_local := true;
        opts := pg_catalog.string_to_array(NULLIF(in_effect[i], ''), ' ');
        FOREACH opt IN ARRAY COALESCE(opts, '{}') LOOP
            what := CASE opt
                WHEN 'defaults' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                      AND a.atthasdef AND a.attgenerated OPERATOR(pg_catalog.=) '') THEN 'column defaults' END
                WHEN 'generated' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                      AND a.attgenerated OPERATOR(pg_catalog.<>) '') THEN 'generated columns' END
                WHEN 'identity' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                      AND a.attidentity OPERATOR(pg_catalog.<>) '') THEN 'identity columns' END
                WHEN 'constraints' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_constraint k
                    WHERE k.conrelid OPERATOR(pg_catalog.=) rel AND k.contype OPERATOR(pg_catalog.=) 'c')
                    THEN 'CHECK constraints' END
                WHEN 'indexes' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_index x
                    WHERE x.indrelid OPERATOR(pg_catalog.=) rel) THEN 'indexes' END
                WHEN 'statistics' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_statistic_ext x
                    WHERE x.stxrelid OPERATOR(pg_catalog.=) rel) THEN 'extended statistics' END
                WHEN 'comments' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_description d
                    WHERE d.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objoid OPERATOR(pg_catalog.=) rel AND d.objsubid OPERATOR(pg_catalog.>) 0)
                    THEN 'column comments' END
                WHEN 'storage' THEN CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
                    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                      AND a.attstorage OPERATOR(pg_catalog.<>) t.typstorage) THEN 'columns'' storage settings' END
                END;
            IF what IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                    MESSAGE = pg_catalog.format('[multimaster] CREATE TABLE ... (LIKE %s INCLUDING %s) is not supported: '
                                                '%s is temporary, which is on this node only, so the other nodes are '
                                                'given its columns written out, and its %s cannot be',
                                                sources[i], pg_catalog.upper(opt), sources[i], what),
                    HINT = pg_catalog.format('Leave out INCLUDING %s (or INCLUDING ALL) and add the %s with ALTER TABLE '
                                             'or CREATE INDEX afterwards.', pg_catalog.upper(opt), what);
            END IF;
        END LOOP;
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname::pg_catalog.text) OPERATOR(pg_catalog.||) ' '
                   OPERATOR(pg_catalog.||) pg_catalog.format_type(a.atttypid, a.atttypmod)
                   OPERATOR(pg_catalog.||) CASE WHEN 'compression' OPERATOR(pg_catalog.=) ANY (COALESCE(opts, '{}'))
                                                 AND a.attcompression OPERATOR(pg_catalog.<>) ''
                       THEN CASE a.attcompression WHEN 'l' THEN ' COMPRESSION lz4' ELSE ' COMPRESSION pglz' END ELSE '' END
                   OPERATOR(pg_catalog.||) CASE WHEN a.attcollation OPERATOR(pg_catalog.<>) t.typcollation
                       THEN ' COLLATE ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(cn.nspname::pg_catalog.text)
                            OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(co.collname::pg_catalog.text)
                       ELSE '' END
                   OPERATOR(pg_catalog.||) CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                   ', ' ORDER BY a.attnum)
        INTO cols
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
        LEFT JOIN pg_catalog.pg_collation co ON co.oid OPERATOR(pg_catalog.=) a.attcollation
        LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid OPERATOR(pg_catalog.=) co.collnamespace
        WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
        IF cols IS NOT NULL THEN
            result := result OPERATOR(pg_catalog.||) CASE WHEN pg_catalog.right(result, 1) OPERATOR(pg_catalog.=) ','
                THEN ' ' ELSE '' END OPERATOR(pg_catalog.||) cols OPERATOR(pg_catalog.||) after;
        ELSIF pg_catalog.right(result, 1) OPERATOR(pg_catalog.=) ',' THEN
            -- a source without columns: the element goes with a comma beside it
            result := pg_catalog.left(result, -1) OPERATOR(pg_catalog.||) after;
        ELSIF pg_catalog.left(after, 1) OPERATOR(pg_catalog.=) ',' THEN
            result := result OPERATOR(pg_catalog.||) pg_catalog.ltrim(pg_catalog.substr(after, 2), E' \t\r\n');
        ELSE
            result := result OPERATOR(pg_catalog.||) after;
        END IF;
    END LOOP;
    RETURN CASE WHEN any_local THEN result ELSE statement END;
END
$fn$;
DROP FUNCTION IF EXISTS mtm.refuse_node_local_like(text[]);
-- CREATE TABLE ... AS EXECUTE name (also under EXPLAIN ANALYZE): the other nodes have no such prepared statement, so
-- the text they run prepares its query under a name of their own first. The gateway calls this in the statement that
-- logs the DDL message, before the statement runs, with the statement's text where the name is already replaced by
-- mtm_ctas_execute, the name, and the query and text of the session's last PREPARE of that name the gateway saw (NULL
-- if none). That PREPARE's text must be in what PostgreSQL has for that name (its statement is the whole query string
-- the PREPARE came in), followed by nothing but white space before a semicolon or the end: the gateway also saw
-- PREPAREs that failed; a protocol-level prepared statement's statement is its query. Without a prepared
-- statement of that name the statement text is returned as it is: the statement then fails with PostgreSQL's own
-- error, and the message goes with the failed transaction.
CREATE OR REPLACE FUNCTION mtm.ctas_execute_text(statement text, prepared text, query text, prepare_text text)
RETURNS text LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    ps record;
    q text;
    rest text;
    k int;
    tail text;
BEGIN
    SELECT p.statement, p.from_sql, p.parameter_types INTO ps
    FROM pg_catalog.pg_prepared_statements p WHERE p.name OPERATOR(pg_catalog.=) prepared;
    IF NOT FOUND THEN
        RETURN statement;
    END IF;
    IF NOT ps.from_sql THEN
        q := ps.statement;
    ELSIF query IS NOT NULL AND prepare_text IS NOT NULL THEN
        rest := ps.statement;
        LOOP
            k := pg_catalog.strpos(rest, prepare_text);
            EXIT WHEN k OPERATOR(pg_catalog.=) 0;
            tail := pg_catalog.ltrim(pg_catalog.substr(rest, k OPERATOR(pg_catalog.+) pg_catalog.length(prepare_text)),
                                      E' \t\r\n');
            IF tail OPERATOR(pg_catalog.=) '' OR pg_catalog.left(tail, 1) OPERATOR(pg_catalog.=) ';' THEN
                q := query;
                EXIT;
            END IF;
            rest := pg_catalog.substr(rest, k OPERATOR(pg_catalog.+) 1);
        END LOOP;
    END IF;
    IF q IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = pg_catalog.format('[multimaster] CREATE TABLE ... AS EXECUTE %s cannot be replicated: the gateway '
                                        'did not see the PREPARE of %s in this session', prepared, prepared),
            HINT = 'Run the PREPARE through the gateway in this session, or write the query into the statement: '
                   'CREATE TABLE ... AS SELECT ...';
    END IF;
    -- one left by a failed run of such a text (prepared statements outlive the transaction) is forgotten first:
    -- the node that retries it in the same session must not fail with "already exists"
    RETURN 'DO $mtm$BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE name OPERATOR(pg_catalog.=) '
        '''mtm_ctas_execute'') THEN EXECUTE ''DEALLOCATE mtm_ctas_execute''; END IF; END$mtm$'
        OPERATOR(pg_catalog.||) E'\n;\nPREPARE mtm_ctas_execute'
        OPERATOR(pg_catalog.||) CASE WHEN pg_catalog.cardinality(ps.parameter_types) OPERATOR(pg_catalog.=) 0 THEN ''
            ELSE '(' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(ps.parameter_types::pg_catalog.text[], ', ')
                 OPERATOR(pg_catalog.||) ')' END
        OPERATOR(pg_catalog.||) ' AS ' OPERATOR(pg_catalog.||) q
        OPERATOR(pg_catalog.||) E'\n;\n' OPERATOR(pg_catalog.||) statement
        OPERATOR(pg_catalog.||) E'\n;\nDEALLOCATE mtm_ctas_execute';
END
$fn$;
-- A new column whose value for the rows already there each node would compute by itself, when it runs the
-- replicated ALTER TABLE (an empty table needs nothing: new rows travel as rows). A volatile default (random(),
-- clock_timestamp(), gen_random_uuid(), nextval(), a domain's) gives every row its own value in a rewrite, which is
-- not decoded: the origin carries each row's values to the other nodes (mtm.carry_row_values: transactional messages
-- mtm.ddl_value holding UPDATEs they run after the statement). A default that depends on the moment or the session
-- (now(), CURRENT_DATE, CURRENT_USER, a stable function) gives every row one value — kept as the rows' "missing"
-- value, or written into every row when another part of the statement rewrites the table (then carried row by row
-- like a volatile one): the origin carries that value (mtm.ddl_value holding an ALTER TABLE ... ALTER COLUMN ...
-- TYPE ... USING <the value>, which the others run after the statement: the same rows, though there the value is
-- written into every row; in an inheritance tree or a partitioned table, an UPDATE ONLY of each table with rows
-- where the column is new). Both are carried table by table: a child that had a column of that name keeps its own
-- values (PostgreSQL merges the two; mtm.new_column_tables). Which columns the statement added is known from the
-- relations' relnatts the gateway's DDL message statement noted just before it (mtm.ddl_relnatts: "oid:relnatts
-- ..."); without that note (the statement was not announced) the older rule refuses a volatile default's column of
-- a table with rows instead.
-- An identity or serial column numbers the rows already there from its new sequence, each node in its own physical
-- row order: carried row by row too (the sequences' rule, mtm.stride_new_sequences, then lets the statement be).
CREATE OR REPLACE FUNCTION mtm.has_rows(rel regclass)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', rel) INTO found;
    RETURN found;
END
$fn$;
-- The value of column col in the first row of rel (ONLY rel: a child may hold its own) as a literal, or SQL NULL when
-- rel has no rows; written in the ISO date style and 'postgres' interval style, which read back alike under any settings.
CREATE OR REPLACE FUNCTION mtm.column_value_literal(rel regclass, col name)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres'
    SET extra_float_digits = 3 SET bytea_output = 'hex' AS $fn$
DECLARE
    found_row boolean;
    v text;
BEGIN
    EXECUTE format('SELECT true, pg_catalog.quote_nullable(%I) FROM ONLY %s LIMIT 1', col, rel) INTO found_row, v;
    RETURN CASE WHEN found_row THEN v END;
END
$fn$;
-- A value as a literal, written like mtm.column_value_literal's.
CREATE OR REPLACE FUNCTION mtm.value_literal(v anyelement)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres'
    SET extra_float_digits = 3 SET bytea_output = 'hex' AS $fn$
BEGIN
    RETURN pg_catalog.quote_nullable(v);
END
$fn$;
-- An immutable expression's value as a literal (mtm.value_literal). The expression is read in the caller's settings,
-- in which pg_get_expr wrote it.
CREATE OR REPLACE FUNCTION mtm.expression_literal(expr text, type text)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
    v text;
BEGIN
    EXECUTE format('SELECT mtm.value_literal((%s)::%s)', expr, type) INTO v;
    RETURN v;
END
$fn$;
-- Whether a default expression (pg_attrdef.adbin) may give another value on another node or at another moment: a
-- SQL value function (CURRENT_DATE, CURRENT_USER ...) or a function that is not immutable.
CREATE OR REPLACE FUNCTION mtm.default_is_node_computed(adbin pg_node_tree)
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT adbin::text LIKE '%{SQLVALUEFUNCTION %'
        OR EXISTS (SELECT 1 FROM regexp_matches(adbin::text, ':(?:funcid|opfuncid) (\d+)', 'g') m
                   JOIN pg_proc p ON p.oid = m[1]::oid WHERE p.provolatile <> 'i')
$fn$;
-- An order-independent digest of rel's rows (ONLY rel): their count and two sums of halves of each row's md5, the
-- row written in fixed settings. The origin of a statement that rewrote a table sends it to the other nodes
-- (mtm.ddl_check), which compare their own after running the statement: an ALTER COLUMN ... TYPE ... USING whose
-- expression depends on the node or the moment (now(), random(), a setting) is refused instead of leaving each node
-- its own values.
-- Whether rel is a local table (mtm.make_table_local): each node's rows are its own.
CREATE OR REPLACE FUNCTION mtm.is_local_table(rel regclass)
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT EXISTS (SELECT 1 FROM mtm.local_tables l JOIN pg_class c ON c.relname = l.rel_name
                   JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = l.rel_schema WHERE c.oid = rel)
$fn$;
CREATE OR REPLACE FUNCTION mtm.rows_digest(rel regclass)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres'
    SET extra_float_digits = 3 SET bytea_output = 'hex' SET TimeZone = 'UTC' AS $fn$
DECLARE
    d text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || coalesce(sum((''x'' || substr(h, 1, 15))::bit(60)::bigint::numeric), 0)'
                   ' || '':'' || coalesce(sum((''x'' || substr(h, 16, 15))::bit(60)::bigint::numeric), 0)'
                   ' FROM (SELECT md5(r::text) AS h FROM ONLY %s r) m', rel) INTO d;
    RETURN d;
END
$fn$;
-- The values the rows already there in rel took in columns a statement added (added: their names), when each node
-- would compute its own: a default that is not immutable (random(), clock_timestamp(), gen_random_uuid(), nextval(),
-- now()), its own or its domain's. The table rewrite that computed them is not decoded, so the origin carries them
-- to the other nodes as UPDATEs (mtm.ddl_value) that give each of their rows the origin's values. A row is known by
-- the md5 of its other columns (those the statement did not add, generated ones aside), written in fixed settings,
-- and its rank among the rows of that md5: rows alike in all those columns are interchangeable, so any pairing of
-- them gives the same table. The values travel as text arrays (cheap to parse), at most 50000 rows per message,
-- each message taking a range of md5s. Returns the names of the columns carried. The function's settings are those
-- the other nodes run the message with (org.mtm.api.ReplicatedDdl.VALUE_SETTINGS).
-- An identity column (or serial) is carried too: each node numbered the rows from its own copy of the new sequence,
-- the same values in its own row order. One GENERATED ALWAYS takes no other value in an UPDATE: the other nodes switch
-- it to BY DEFAULT around the UPDATEs and back (mtm.set_identity_generation, messages of their own before and after).
CREATE OR REPLACE FUNCTION mtm.carry_row_values(rel regclass, added name[])
RETURNS name[] LANGUAGE plpgsql SET search_path = pg_catalog SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres'
    SET extra_float_digits = 3 SET bytea_output = 'hex' SET TimeZone = 'UTC' SET array_nulls = on AS $fn$
DECLARE
    col record;
    dflt pg_node_tree;
    typ oid;
    same boolean;
    carried name[] := '{}';
    sets text := '';
    aliases text := '';
    arrays text := '';
    keyed text;
    chunk record;
    always name[] := '{}';
    shifts text[] := '{}';
    lo numeric;
    hi numeric;
BEGIN
    FOR col IN
        SELECT a.attname, a.attnum, a.atttypid, format_type(a.atttypid, a.atttypmod) AS type, d.adbin,
               pg_get_expr(d.adbin, d.adrelid) AS expr, a.attidentity
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = rel AND a.attname = ANY (added) AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attgenerated = ''
        ORDER BY a.attnum
    LOOP
        dflt := col.adbin;
        IF col.attidentity <> '' THEN
            -- numbered from the new sequence: carried (always, when ALWAYS, switched around the UPDATEs)
            IF col.attidentity = 'a' THEN
                always := always || col.attname;
            END IF;
        ELSIF dflt IS NULL THEN
            -- no default of its own: its domain's, the nearest along the chain, as PostgreSQL takes it
            typ := col.atttypid;
            WHILE dflt IS NULL AND typ IS NOT NULL LOOP
                SELECT t.typdefaultbin, CASE WHEN t.typtype = 'd' THEN t.typbasetype END INTO dflt, typ
                FROM pg_type t WHERE t.oid = typ;
            END LOOP;
            -- NULL, or an immutable expression's value: the same on every node
            CONTINUE WHEN dflt IS NULL OR NOT mtm.default_is_node_computed(dflt);
        ELSIF NOT mtm.default_is_node_computed(dflt) THEN
            -- an immutable default: the same on every node when the rows hold its value (in doubt, carried)
            BEGIN
                same := mtm.column_value_literal(rel, col.attname) = mtm.expression_literal(col.expr, col.type);
            EXCEPTION WHEN OTHERS THEN
                same := false;
            END;
            CONTINUE WHEN same;
        END IF;
        carried := carried || col.attname;
        -- an integer column a unique index (or exclusion constraint) covers: its values on another node may be the
        -- origin's in another order (a new sequence's), and the UPDATE below, which checks each row as it changes it,
        -- would meet a value another row still holds there. The other nodes first move their own values above the
        -- origin's largest (below its smallest when the type has no room): a shift of them all, itself collision-free.
        IF col.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) AND EXISTS (
               SELECT 1 FROM pg_index i WHERE i.indrelid = rel AND (i.indisunique OR i.indisexclusion)
                 AND (col.attnum = ANY (i.indkey::int2[]) OR i.indexprs IS NOT NULL)) THEN
            EXECUTE format('SELECT min(%I)::numeric, max(%I)::numeric FROM ONLY %s', col.attname, col.attname, rel)
                INTO lo, hi;
            IF hi IS NOT NULL THEN
                shifts := shifts || format(
                    'UPDATE ONLY %s AS mtm_t SET %I = mtm_t.%I + mtm_d.d FROM (SELECT CASE WHEN %s + 1 + max(%I) - min(%I)'
                    ' <= %s THEN %s + 1 - min(%I) ELSE %s - 1 - max(%I) END AS d FROM ONLY %s) mtm_d',
                    rel, col.attname, col.attname, hi, col.attname, col.attname,
                    CASE col.atttypid WHEN 'int2'::regtype THEN '32767' WHEN 'int4'::regtype THEN '2147483647'
                        ELSE '9223372036854775807' END, hi, col.attname, lo, col.attname, rel);
            END IF;
        END IF;
        sets := sets || format('%s%I = mtm_v.c%s::%s', CASE WHEN sets = '' THEN '' ELSE ', ' END, col.attname,
                               cardinality(carried), col.type);
        aliases := aliases || format(', c%s', cardinality(carried));
        arrays := arrays || format(' || '', '' || quote_literal(array_agg(c%s ORDER BY h, n)::text) || ''::text[]''',
                                   cardinality(carried));
    END LOOP;
    IF cardinality(carried) = 0 THEN
        RETURN carried;
    END IF;
    SELECT format('md5(ROW(%s)::text) COLLATE "C"', coalesce(string_agg(format('o.%I', a.attname), ', ' ORDER BY a.attnum), ''))
    INTO keyed
    FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND NOT a.attname = ANY (added);
    FOR i IN 1 .. cardinality(always) LOOP
        PERFORM pg_logical_emit_message(true, 'mtm.ddl_value', format(
            'SELECT mtm.set_identity_generation(%L::pg_catalog.regclass, %L, false)', rel, always[i]));
    END LOOP;
    FOR i IN 1 .. cardinality(shifts) LOOP
        PERFORM pg_logical_emit_message(true, 'mtm.ddl_value', shifts[i]);
    END LOOP;
    FOR chunk IN EXECUTE format(
        'SELECT min(h) AS lo, max(h) AS hi, count(*) OVER () AS chunks, quote_literal(array_agg(h ORDER BY h, n)::text) || ''::text[], '''
        ' || quote_literal(array_agg(n ORDER BY h, n)::text) || ''::int8[]''%s AS arrays'
        ' FROM (SELECT *, min(k) OVER (PARTITION BY h) AS part FROM (SELECT *, (row_number() OVER (ORDER BY h, n) - 1)'
        ' / 50000 AS k FROM (SELECT %s AS h, row_number() OVER (PARTITION BY %s) AS n%s FROM ONLY %s o) r) r) r'
        ' GROUP BY part ORDER BY part',
        arrays, keyed, keyed,
        (SELECT string_agg(format(', o.%I::text AS c%s', c.name, c.i), '' ORDER BY c.i)
         FROM unnest(carried) WITH ORDINALITY AS c(name, i)), rel)
    LOOP
        PERFORM pg_logical_emit_message(true, 'mtm.ddl_value', format(
            'UPDATE ONLY %s AS mtm_t SET %s FROM (SELECT mtm_o.tid, mtm_o.h, row_number() OVER (PARTITION BY mtm_o.h) AS n'
            ' FROM (SELECT o.ctid AS tid, %s AS h FROM ONLY %s o) mtm_o%s) mtm_r, unnest(%s) AS mtm_v(h, n%s)'
            ' WHERE mtm_t.ctid = mtm_r.tid AND mtm_r.h = mtm_v.h AND mtm_r.n = mtm_v.n',
            rel, sets, keyed, rel,
            CASE WHEN chunk.chunks > 1 THEN format(' WHERE mtm_o.h BETWEEN %L AND %L', chunk.lo, chunk.hi) ELSE '' END,
            chunk.arrays, aliases));
    END LOOP;
    FOR i IN 1 .. cardinality(always) LOOP
        PERFORM pg_logical_emit_message(true, 'mtm.ddl_value', format(
            'SELECT mtm.set_identity_generation(%L::pg_catalog.regclass, %L, true)', rel, always[i]));
    END LOOP;
    RETURN carried;
END
$fn$;
-- An identity column's GENERATED ALWAYS (always) or BY DEFAULT, for the UPDATEs that carry the origin's values into
-- an ALWAYS one (mtm.carry_row_values): run by the other nodes inside the transaction of the statement that added it,
-- so the catalog ends as the statement left it. As the cluster's own upkeep (mtm.ddl_internal): the sequences' event
-- trigger leaves the column's sequence alone (an applier's session is not in mtm.volkswagen_mode, the origin's may be).
CREATE OR REPLACE FUNCTION mtm.set_identity_generation(rel regclass, col name, always boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog SET mtm.ddl_internal = 'on' AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE ONLY %s ALTER COLUMN %I SET GENERATED %s', rel, col,
                   CASE WHEN always THEN 'ALWAYS' ELSE 'BY DEFAULT' END);
END
$fn$;
-- The sequences that feed columns cols of rel: owned by one (serial, identity) or called by its default (a child's
-- copy of its parent's serial default).
CREATE OR REPLACE FUNCTION mtm.column_sequences(rel regclass, cols name[])
RETURNS SETOF oid LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT d.objid FROM pg_depend d
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = rel
      AND d.deptype IN ('a', 'i') AND a.attname = ANY (cols)
    UNION
    SELECT d.refobjid FROM pg_depend d
    JOIN pg_attrdef ad ON ad.oid = d.objid
    JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND ad.adrelid = rel
      AND a.attname = ANY (cols)
$fn$;
-- The tables of rel's tree (rel, its partitions, its children and theirs) to which the statement that added column col
-- to rel added it as a new column: the others had a column of that name and PostgreSQL merged the two ("merging
-- definition of column"), leaving their rows' values as they were. A table had it before when its column is its own
-- (attislocal, rel's aside), or one of its parents had it before or is outside rel's tree (a second parent's column).
CREATE OR REPLACE FUNCTION mtm.new_column_tables(rel regclass, col name)
RETURNS oid[] LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    WITH RECURSIVE tree(oid) AS (
        SELECT rel::oid UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid),
    had(oid) AS (
        SELECT t.oid FROM tree t
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = col AND NOT a.attisdropped
        WHERE t.oid <> rel::oid
          AND (a.attislocal OR EXISTS (SELECT 1 FROM pg_inherits i
                                       JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = col
                                            AND NOT pa.attisdropped
                                       WHERE i.inhrelid = t.oid AND NOT EXISTS (SELECT 1 FROM tree o WHERE o.oid = i.inhparent)))
        UNION SELECT i.inhrelid FROM pg_inherits i JOIN had h ON i.inhparent = h.oid)
    SELECT coalesce(array_agg(t.oid ORDER BY t.oid), '{}') FROM tree t WHERE NOT EXISTS (SELECT 1 FROM had h WHERE h.oid = t.oid)
$fn$;
CREATE OR REPLACE FUNCTION mtm.refuse_node_computed_column()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    rel regclass;
    col record;
    same boolean;
    noted text;
    natts text;
    before int;
    announced oid[] := '{}';
    literal text;
    leaf oid;
    added name[];
    fresh name[];
    carried_columns name[];
    lone boolean;
    sets text;
    carried_leaves oid[] := '{}';
    rewritten_new text;
BEGIN
    IF NOT mtm.checks_session_ddl() THEN
        RETURN;
    END IF;
    IF tg_event = 'table_rewrite' THEN
        rel := pg_event_trigger_table_rewrite_oid();
        -- reasons 2 (new columns' values) and 4 (a column's type, maybe USING an expression): the rows' values are
        -- computed again on every node; their digest is compared at the end of the statement (below)
        IF pg_event_trigger_table_rewrite_reason() & 6 <> 0 THEN
            PERFORM set_config('mtm.rewritten', coalesce(current_setting('mtm.rewritten', true), '') || ' ' || rel::oid, true);
        END IF;
        -- reason 2 (AT_REWRITE_DEFAULT_VAL): new columns' values are computed for every row; the tables rewritten so
        -- (mtm.rewritten_new) have them carried at the end of the statement (below). A volatile default's column is
        -- noted too, for the statements that are not announced: one of those this (sub)transaction wrote into
        -- pg_attribute along with the table's pg_class row (relnatts). Identity columns of such statements are the
        -- sequences' rule's (mtm.stride_new_sequences); generated columns are immutable.
        IF pg_event_trigger_table_rewrite_reason() & 2 = 0 THEN
            RETURN;
        END IF;
        PERFORM set_config('mtm.rewritten_new', coalesce(current_setting('mtm.rewritten_new', true), '') || ' ' || rel::oid,
                           true);
        FOR col IN
            SELECT a.attnum
            FROM pg_class r
            JOIN pg_attribute a ON a.attrelid = r.oid AND a.xmin = r.xmin AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE r.oid = rel AND r.relpersistence = 'p' AND a.attgenerated = '' AND a.attidentity = ''
              AND EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':(?:funcid|opfuncid) (\d+)', 'g') m
                          JOIN pg_proc p ON p.oid = m[1]::oid WHERE p.provolatile = 'v')
        LOOP
            -- the table cannot be read while it is being rewritten: whether it has rows, and whether its values were
            -- carried, is asked at the end of the statement (below), from the columns noted here
            PERFORM set_config('mtm.volatile_new_column', coalesce(current_setting('mtm.volatile_new_column', true), '')
                               || ' ' || rel::oid || ':' || col.attnum, true);
        END LOOP;
        RETURN;
    END IF;
    rewritten_new := coalesce(current_setting('mtm.rewritten_new', true), '');
    PERFORM set_config('mtm.rewritten_new', '', true);
    -- the columns this statement added to the relations it names, whose value in the rows already there each node
    -- would compute by itself: carried to the other nodes
    natts := coalesce(current_setting('mtm.ddl_relnatts', true), '');
    PERFORM set_config('mtm.ddl_relnatts', '', true);
    FOR rel, before IN
        SELECT DISTINCT c.objid, split_part(e, ':', 2)::int
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class r ON r.oid = c.objid
        JOIN unnest(string_to_array(natts, ' ')) AS e ON split_part(e, ':', 1)::oid = c.objid
        WHERE c.command_tag = 'ALTER TABLE' AND c.classid = 'pg_class'::regclass AND r.relkind IN ('r', 'p')
          AND r.relpersistence = 'p'
    LOOP
        announced := announced || rel::oid;
        CONTINUE WHEN mtm.is_local_table(rel); -- each node's own rows
        added := ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum > before
                       AND NOT a.attisdropped);
        CONTINUE WHEN cardinality(added) = 0;
        -- table by table (rel, or each partition or child: the new columns are known there by name), the columns new
        -- there: a child's column merged with the new one keeps its rows' values, which the others must not touch
        FOR leaf, fresh IN
            SELECT t.oid, array_agg(a.name ORDER BY a.i)
            FROM unnest(added) WITH ORDINALITY AS a(name, i)
            CROSS JOIN LATERAL unnest(mtm.new_column_tables(rel, a.name)) AS t(oid)
            JOIN pg_class r ON r.oid = t.oid
            WHERE r.relkind = 'r' AND r.relpersistence = 'p'
            GROUP BY t.oid ORDER BY t.oid
        LOOP
            CONTINUE WHEN (leaf <> rel::oid AND mtm.is_local_table(leaf)) OR NOT mtm.has_rows(leaf);
            -- rewritten to give its rows the new columns' values: each row's values, when each node would compute its own
            IF leaf::text = ANY (string_to_array(btrim(rewritten_new), ' ')) THEN
                carried_columns := mtm.carry_row_values(leaf, fresh);
                -- the new sequences that numbered the rows carried: the sequences' rule (mtm.stride_new_sequences,
                -- whose event trigger fires after this one: by name) lets the statement be
                PERFORM set_config('mtm.carried_sequences', coalesce(current_setting('mtm.carried_sequences', true), '')
                                   || coalesce((SELECT string_agg(' ' || s, '') FROM mtm.column_sequences(leaf, carried_columns) s), ''),
                                   true);
                carried_leaves := carried_leaves || leaf;
                CONTINUE;
            END IF;
            -- else one value in every row: a table without children (the common case) has it written by an ALTER
            -- COLUMN ... TYPE ... USING (a rewrite, no dead rows); in a tree, where that would recurse into the
            -- children (and is refused for a column a child inherits from a second parent), an UPDATE ONLY
            lone := leaf = rel::oid AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = rel);
            sets := '';
            FOR col IN
                SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
                       CASE WHEN a.attcollation <> 0 THEN
                           (SELECT format(' COLLATE %I.%I', n.nspname, co.collname) FROM pg_collation co
                            JOIN pg_namespace n ON n.oid = co.collnamespace WHERE co.oid = a.attcollation)
                       ELSE '' END AS collate,
                       pg_get_expr(d.adbin, d.adrelid) AS expr, d.adbin IS NOT NULL AND mtm.default_is_node_computed(d.adbin) AS computed
                FROM pg_attribute a
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = leaf AND a.attname = ANY (fresh) AND NOT a.attisdropped AND a.attgenerated = ''
                  AND a.attidentity = ''
                ORDER BY a.attnum
            LOOP
                literal := mtm.column_value_literal(leaf, col.attname);
                -- every node computes the same: no default and NULL, or an immutable default's value
                CONTINUE WHEN col.expr IS NULL AND literal = 'NULL';
                IF col.expr IS NOT NULL AND NOT col.computed THEN
                    BEGIN
                        same := literal = mtm.expression_literal(col.expr, col.type);
                    EXCEPTION WHEN OTHERS THEN
                        same := false; -- in doubt, carried
                    END;
                    CONTINUE WHEN same;
                END IF;
                IF EXISTS (SELECT 1 FROM pg_depend dep
                           JOIN pg_attrdef gd ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = gd.oid
                           JOIN pg_attribute ga ON ga.attrelid = gd.adrelid AND ga.attnum = gd.adnum AND ga.attgenerated <> ''
                           WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = leaf AND dep.refobjsubid = col.attnum)
                THEN
                    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                        MESSAGE = format('[multimaster] ALTER TABLE %s: the rows already there would take column %I''s '
                                         'default %s as each node computes it when it runs the statement, and a generated '
                                         'column of the same statement depends on it', leaf::regclass, col.attname, col.expr),
                        HINT = 'Add the generated column in a statement of its own.';
                END IF;
                IF lone THEN
                    PERFORM pg_logical_emit_message(true, 'mtm.ddl_value',
                        format('ALTER TABLE %s ALTER COLUMN %I TYPE %s%s USING %s::%s', rel, col.attname, col.type,
                               col.collate, literal, col.type));
                ELSE
                    sets := sets || format('%s%I = %s::%s', CASE WHEN sets = '' THEN '' ELSE ', ' END, col.attname,
                                           literal, col.type);
                END IF;
            END LOOP;
            IF sets <> '' THEN
                PERFORM pg_logical_emit_message(true, 'mtm.ddl_value', format('UPDATE ONLY %s SET %s', leaf::regclass, sets));
            END IF;
        END LOOP;
    END LOOP;
    -- a volatile default's column of a table with rows whose values were not carried (the statement was not
    -- announced): each node would compute its own
    noted := coalesce(current_setting('mtm.volatile_new_column', true), '');
    PERFORM set_config('mtm.volatile_new_column', '', true);
    FOR col IN
        SELECT a.attrelid::regclass AS rel, a.attname, pg_get_expr(d.adbin, d.adrelid) AS expr
        FROM unnest(string_to_array(btrim(noted), ' ')) AS e
        JOIN pg_attribute a ON a.attrelid = split_part(e, ':', 1)::oid AND a.attnum = split_part(e, ':', 2)::int2
        JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE NOT a.attrelid = ANY (carried_leaves)
    LOOP
        IF mtm.has_rows(col.rel) THEN
            RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                MESSAGE = format('[multimaster] ALTER TABLE %s: the rows already there would take column %I''s '
                                 'volatile default %s as each node computes it when it runs the statement: the '
                                 'nodes would hold different values', col.rel, col.attname, col.expr),
                HINT = 'Add the column without a default, fill it with an UPDATE, then ALTER COLUMN ... SET DEFAULT.';
        END IF;
    END LOOP;
    -- the relations the statement rewrote, with the values already carried: the other nodes check they computed the same
    noted := coalesce(current_setting('mtm.rewritten', true), '');
    PERFORM set_config('mtm.rewritten', '', true);
    FOR rel IN
        SELECT DISTINCT r.oid FROM unnest(string_to_array(btrim(noted), ' ')) AS e
        JOIN pg_class r ON r.oid = e::oid
        WHERE r.relkind = 'r' AND r.relpersistence = 'p' AND NOT mtm.is_local_table(r.oid) AND mtm.has_rows(r.oid)
    LOOP
        IF current_setting('mtm.ddl_open', true) = 'on' THEN
            PERFORM pg_logical_emit_message(true, 'mtm.ddl_check', rel::text || E'\n' || mtm.rows_digest(rel));
        END IF;
    END LOOP;
    -- a statement the gateway did not announce (no note): refused as before
    FOR rel IN
        WITH RECURSIVE t(oid) AS (
            SELECT c.objid FROM pg_event_trigger_ddl_commands() c
            WHERE c.command_tag = 'ALTER TABLE' AND c.classid = 'pg_class'::regclass
              AND NOT c.objid = ANY (announced)
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN t ON i.inhparent = t.oid)
        SELECT t.oid FROM t JOIN pg_class r ON r.oid = t.oid WHERE r.relkind = 'r' AND r.relpersistence = 'p'
    LOOP
        FOR col IN
            SELECT a.attname, a.attmissingval::text AS missing, pg_get_expr(d.adbin, d.adrelid) AS expr
            FROM pg_class r
            JOIN pg_attribute a ON a.attrelid = r.oid AND a.xmin = r.xmin -- added by this (sub)transaction
            JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE r.oid = rel AND a.atthasmissing AND NOT a.attisdropped
              AND (d.adbin::text LIKE '%{SQLVALUEFUNCTION %'
                   OR EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':(?:funcid|opfuncid) (\d+)', 'g') m
                              JOIN pg_proc p ON p.oid = m[1]::oid WHERE p.provolatile <> 'i'))
        LOOP
            -- the missing value is this statement's when the default, computed again now, gives it: an older
            -- column's (say, now() of an earlier transaction) is left alone
            EXECUTE format('SELECT ARRAY[(%s)]::text = $1', col.expr) INTO same USING col.missing;
            IF same AND mtm.has_rows(rel) THEN
                RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                    MESSAGE = format('[multimaster] ALTER TABLE %s: the rows already there would take column %I''s '
                                     'default %s as each node computes it when it runs the statement: the nodes would '
                                     'hold different values', rel, col.attname, col.expr),
                    HINT = 'Add the column without a default, fill it with an UPDATE, then ALTER COLUMN ... SET DEFAULT.';
            END IF;
        END LOOP;
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_node_computed_column', 'ddl_command_end', 'mtm.refuse_node_computed_column',
    ARRAY['ALTER TABLE'], true);
SELECT mtm.ensure_event_trigger('mtm_refuse_node_computed_rewrite', 'table_rewrite', 'mtm.refuse_node_computed_column',
    NULL, true);
-- A user's row trigger set to fire in replica mode (ALTER TABLE ... ENABLE ALWAYS / ENABLE REPLICA TRIGGER) on a
-- replicated table: the appliers run every other node's rows with session_replication_role = replica, so such a
-- trigger would fire once on the origin and again on each other node as it applies the rows; a trigger that writes
-- (an audit row) would leave every node with writes of its own, never replicated. Ordinary triggers fire on the
-- origin only, and their effects reach the other nodes as rows. A rule so set (ENABLE ALWAYS / ENABLE REPLICA RULE)
-- rewrites the appliers' writes the same way (a DO ALSO or DO INSTEAD rule: rows of each node's own, or rows missing).
-- Refused with 0A000 in gateway sessions of an initialised cluster, for the altered tables and their partitions and
-- children; local tables (each node's own rows) and temporary ones are left alone. ENABLE ALWAYS itself: a gateway
-- session may SET session_replication_role = replica (PostgreSQL's regression file rules does, then ENABLE REPLICA
-- RULE), where an ordinary event trigger does not fire; in the appliers it returns at once (no gateway session).
CREATE OR REPLACE FUNCTION mtm.refuse_replica_mode_trigger()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    found record;
BEGIN
    IF NOT mtm.checks_session_ddl() THEN
        RETURN;
    END IF;
    FOR found IN
        WITH RECURSIVE altered(oid) AS (
            SELECT c.objid FROM pg_event_trigger_ddl_commands() c
            WHERE c.command_tag = 'ALTER TABLE' AND c.classid = 'pg_class'::regclass
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN altered a ON i.inhparent = a.oid),
        fired(kind, rel, name, mode) AS (
            SELECT 'trigger', t.tgrelid, t.tgname, t.tgenabled FROM pg_trigger t
            WHERE NOT t.tgisinternal AND t.tgenabled IN ('A', 'R')
            UNION ALL
            SELECT 'rule', w.ev_class, w.rulename, w.ev_enabled FROM pg_rewrite w WHERE w.ev_enabled IN ('A', 'R'))
        SELECT f.kind, f.rel::regclass AS rel, f.name, f.mode
        FROM altered a
        JOIN fired f ON f.rel = a.oid
        JOIN pg_class r ON r.oid = f.rel
        WHERE r.relpersistence = 'p' AND NOT mtm.is_local_table(r.oid)
        LIMIT 1
    LOOP
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('[multimaster] %s %I on %s set to ENABLE %s is not supported: the other nodes apply '
                             'this table''s rows in replica mode, where it would fire again on each of them',
                             found.kind, found.name, found.rel,
                             CASE found.mode WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END),
            HINT = format('Use ENABLE %s: it fires on the node where the transaction runs, and what it writes '
                          'reaches the other nodes as rows.', upper(found.kind));
    END LOOP;
END
$fn$;
SELECT mtm.ensure_event_trigger('mtm_refuse_replica_mode_trigger', 'ddl_command_end', 'mtm.refuse_replica_mode_trigger',
    ARRAY['ALTER TABLE'], true);
-- The user triggers that fire in replica mode, where the appliers run the other nodes' rows and DDL: row triggers and
-- rules set ENABLE ALWAYS / ENABLE REPLICA on replicated tables, and event triggers so set (the gateway refuses ALTER EVENT
-- TRIGGER ... ENABLE ALWAYS/REPLICA, but not what was set before init_cluster or by a direct connection). The
-- cluster's own event triggers (functions of schema mtm) are ALWAYS on purpose and left out, as are internal
-- triggers (foreign keys) and those of local and temporary tables. Each row: what, its mode, and the statement that
-- makes it fire on the origin only. init_cluster, add_node and join_node refuse a node that has any.
CREATE OR REPLACE FUNCTION mtm.replica_mode_triggers()
RETURNS TABLE (what text, mode text, remedy text) LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT format('trigger %I on %s', t.tgname, t.tgrelid::regclass),
           CASE t.tgenabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END,
           format('ALTER TABLE %s ENABLE TRIGGER %I', t.tgrelid::regclass, t.tgname)
    FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
    WHERE NOT t.tgisinternal AND t.tgenabled IN ('A', 'R') AND r.relpersistence = 'p'
      AND r.relnamespace <> 'mtm'::regnamespace AND NOT mtm.is_local_table(r.oid)
    UNION ALL
    SELECT format('rule %I on %s', w.rulename, w.ev_class::regclass),
           CASE w.ev_enabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END,
           format('ALTER TABLE %s ENABLE RULE %I', w.ev_class::regclass, w.rulename)
    FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class
    WHERE w.ev_enabled IN ('A', 'R') AND r.relpersistence = 'p'
      AND r.relnamespace <> 'mtm'::regnamespace AND NOT mtm.is_local_table(r.oid)
    UNION ALL
    SELECT format('event trigger %I', e.evtname),
           CASE e.evtenabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END,
           format('ALTER EVENT TRIGGER %I ENABLE', e.evtname)
    FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid
    WHERE e.evtenabled IN ('A', 'R') AND p.pronamespace <> 'mtm'::regnamespace
    ORDER BY 1
$fn$;

-- mtm.volkswagen_mode (a session setting, default off; the original's multimaster.volkswagen_mode, "pretend to be
-- normal postgres"): sequences a statement of such a session creates or changes are not strided, here and — the
-- applier carries the origin session's value with the DDL text — on every other node, so every node holds the same
-- definition (increment 1, values 1, 2, 3... on the node that calls nextval). Several nodes taking values of one such
-- sequence get the same ones: a unique violation, never divergence (rows carry their values). For running
-- PostgreSQL's own regression suite as the original runs it (README).
CREATE OR REPLACE FUNCTION mtm.volkswagen_mode()
RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $fn$
DECLARE
    v text := pg_catalog.current_setting('mtm.volkswagen_mode', true);
BEGIN
    IF v IS NULL OR v = '' THEN
        RETURN false;
    END IF;
    RETURN v::pg_catalog.bool;
EXCEPTION WHEN invalid_text_representation THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
        MESSAGE = pg_catalog.format('invalid value for parameter "mtm.volkswagen_mode": "%s"', v),
        HINT = 'Use on or off.';
END
$fn$;

-- Node stride (manual F.31.1, monotonic_sequences = false): node i of a cluster whose largest node id is N hands
-- out i, i+N, i+2N... Each node strides its own sequences, so the DDL text every node runs stays identical: the
-- event trigger below strides each sequence a statement created or changed (serial, identity, CREATE/ALTER
-- SEQUENCE, ADD COLUMN), on the origin and — ENABLE ALWAYS — in the appliers, which run with
-- session_replication_role = replica; init_cluster and mtm.alter_sequences() stride the sequences that exist.
-- START is strided too, so ALTER SEQUENCE ... RESTART and TRUNCATE ... RESTART IDENTITY stay in the residue.
-- Returns whether it changed the sequence. floor: values up to it are taken (ascending sequences).
CREATE OR REPLACE FUNCTION mtm.stride_sequence(seq regclass, floor numeric DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET mtm.ddl_internal = 'on' AS $fn$
DECLARE
    n int;
    self int;
    s pg_sequence;
    last numeric;
    called boolean;
    step numeric;
    start numeric;
    bound numeric;
    target numeric;
    next numeric;
    role text;
BEGIN
    SELECT max(id), max(id) FILTER (WHERE is_self) INTO n, self FROM mtm.cluster_nodes;
    SELECT * INTO s FROM pg_sequence WHERE seqrelid = seq;
    IF self IS NULL OR s.seqrelid IS NULL THEN
        RETURN false; -- not initialised yet: init_cluster strides it
    END IF;
    EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last, called;
    IF s.seqincrement > 0 THEN
        step := n;
        start := s.seqstart + mod(mod(self - s.seqstart, n) + n, n);           -- first of the residue >= START
        bound := greatest(start, CASE WHEN called THEN last + 1 ELSE last END, floor + 1);
        target := bound + mod(mod(self - bound, n) + n, n);                  -- first of the residue >= bound
    ELSE
        step := -n;
        start := s.seqstart - mod(mod(s.seqstart - self, n) + n, n);           -- first of the residue <= START
        bound := least(start, CASE WHEN called THEN last - 1 ELSE last END);
        target := bound - mod(mod(bound - self, n) + n, n);
    END IF;
    next := CASE WHEN called THEN last + s.seqincrement ELSE last END;
    IF s.seqincrement = step AND s.seqstart = start AND next = target THEN
        RETURN false;
    END IF;
    IF s.seqincrement = step AND s.seqstart = start THEN
        -- only the position moves: with setval(), which a rollback does not undo (after a client's setval(),
        -- which it does not undo either, this node must stay in its residue whatever the transaction's outcome)
        PERFORM setval(seq, target::bigint, false);
        RETURN true;
    END IF;
    -- as replica, so that users' event triggers (enabled on origin) do not list the cluster's ALTER SEQUENCE
    -- beside the user's statement; the cluster's own fire always
    role := current_setting('session_replication_role');
    BEGIN
        PERFORM set_config('session_replication_role', 'replica', true);
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    EXECUTE format('ALTER SEQUENCE %s INCREMENT BY %s START WITH %s RESTART WITH %s', seq, step, start, target);
    IF current_setting('session_replication_role') <> role THEN
        PERFORM set_config('session_replication_role', role, true);
    END IF;
    RETURN true;
END
$fn$;

-- Strides every sequence of the database (init_cluster, mtm.alter_sequences()): restarts each above the largest
-- value any node issued (floors, by name as format('%I.%I') spells it) and any row of a column it feeds holds
-- (a column owning it, or one whose default calls it).
-- Returns the sequences it changed.
CREATE OR REPLACE FUNCTION mtm.stride_sequences(names text[] DEFAULT '{}', floors numeric[] DEFAULT '{}')
RETURNS SETOF regclass LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET mtm.ddl_internal = 'on' AS $fn$
DECLARE
    seq record;
    col record;
    floor numeric;
    taken numeric;
BEGIN
    FOR seq IN
        SELECT c.oid::regclass AS rel, format('%I.%I', n.nspname, c.relname) AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' AND c.relpersistence = 'p' AND n.nspname NOT IN ('mtm', 'pg_catalog', 'information_schema')
        ORDER BY 2
    LOOP
        floor := floors[array_position(names, seq.name)];
        FOR col IN
            SELECT a.attrelid::regclass AS rel, a.attname FROM pg_depend d
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = seq.rel AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i')
            UNION -- columns whose default calls nextval() of a sequence they do not own (integers; no temp tables)
            SELECT ad.adrelid::regclass, a.attname FROM pg_depend d
            JOIN pg_attrdef ad ON ad.oid = d.objid
            JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum AND NOT a.attisdropped
            JOIN pg_class r ON r.oid = ad.adrelid AND r.relpersistence <> 't'
            WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = seq.rel
              AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)
        LOOP
            EXECUTE format('SELECT max(%I)::numeric FROM %s', col.attname, col.rel) INTO taken;
            floor := greatest(floor, taken);
        END LOOP;
        IF mtm.stride_sequence(seq.rel, floor) THEN
            RETURN NEXT seq.rel;
        END IF;
    END LOOP;
END
$fn$;

-- After a SELECT that calls setval() through a gateway, which every node runs as text (README "Sequences"): each
-- node moves the sequences it left outside its residue (or its increment) to the first value of its residue at
-- or above their next value, so every node continues above the value set without colliding with another.
-- Returns the sequences it moved.
CREATE OR REPLACE FUNCTION mtm.restride_sequences()
RETURNS SETOF regclass LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET mtm.ddl_internal = 'on' AS $fn$
DECLARE
    n int;
    self int;
    seq record;
BEGIN
    SELECT max(id), max(id) FILTER (WHERE is_self) INTO n, self FROM mtm.cluster_nodes;
    IF self IS NULL OR mtm.volkswagen_mode() THEN
        RETURN; -- not initialised yet, or a session that wants its sequences as PostgreSQL leaves them
    END IF;
    FOR seq IN
        SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
        JOIN pg_sequence s ON s.seqrelid = c.oid, LATERAL (SELECT pg_sequence_last_value(c.oid) AS last) l
        WHERE c.relkind = 'S' AND c.relpersistence = 'p' AND ns.nspname NOT IN ('mtm', 'pg_catalog', 'information_schema')
          AND (l.last IS NULL OR abs(s.seqincrement) <> n OR mod(mod(l.last - self, n) + n, n) <> 0)
        ORDER BY c.oid
    LOOP
        IF mtm.stride_sequence(seq.rel) THEN
            RETURN NEXT seq.rel;
        END IF;
    END LOOP;
END
$fn$;

-- monotonic_sequences = true (manual F.31.5.1): a node skips the values of its residue below one another node
-- handed out. The applier calls this before it prepares a peer's transaction, with the largest value it wrote
-- into each column a sequence feeds (names as regclass text); each such sequence then continues above it, so a
-- value taken here after that transaction committed is larger. Never moves a sequence back. A short way up is
-- walked with nextval(), which is atomic against this node's own sessions taking values at the same moment; a
-- long one (1000 steps or more, which no concurrent session can cover meanwhile) jumps with setval(). Neither
-- is undone by a rollback: a transaction voted down leaves a gap. Descending sequences are left alone.
CREATE OR REPLACE FUNCTION mtm.advance_sequences(names text[], seen numeric[])
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    n int;
    self int;
    i int;
    seq regclass;
    s pg_sequence;
    last numeric;
    called boolean;
    next numeric;
    target numeric;
    moved int := 0;
BEGIN
    SELECT max(id), max(id) FILTER (WHERE is_self) INTO n, self FROM mtm.cluster_nodes;
    IF self IS NULL THEN
        RETURN 0;
    END IF;
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        seq := to_regclass(names[i]);
        SELECT * INTO s FROM pg_sequence WHERE seqrelid = seq;
        CONTINUE WHEN s.seqrelid IS NULL OR s.seqincrement < 0 OR seen[i] >= s.seqmax;
        EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last, called;
        next := CASE WHEN called THEN last + s.seqincrement ELSE last END;
        CONTINUE WHEN next > seen[i];
        IF (seen[i] - next) / s.seqincrement < 1000 THEN
            WHILE nextval(seq) <= seen[i] - s.seqincrement LOOP -- stops when the next value is above it
            END LOOP;
        ELSE
            target := seen[i] + 1 + mod(mod(self - seen[i] - 1, n) + n, n); -- first of the residue above it
            CONTINUE WHEN target > s.seqmax;
            PERFORM setval(seq, target::bigint, false);
        END IF;
        moved := moved + 1;
    END LOOP;
    RETURN moved;
END
$fn$;

-- What this node's sequences handed out so far (pg_sequences.last_value), for the floors above.
CREATE OR REPLACE FUNCTION mtm.sequence_last_values()
RETURNS TABLE (name text, last_value numeric) LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences
    WHERE last_value IS NOT NULL AND schemaname NOT IN ('mtm', 'pg_catalog', 'information_schema')
$fn$;

-- A sequence the statement created and already used (ALTER TABLE ... ADD COLUMN serial or identity on a table
-- with rows) numbered those rows before it was strided, in each node's own physical row order: the origin carries
-- each row's value to the other nodes (mtm.carry_row_values, noted in mtm.carried_sequences by the event trigger of
-- mtm.refuse_node_computed_column, which fires before this one). Every node numbered the same count of rows from
-- the same definition, so each continues above the values carried, strided from there like any new sequence. Such
-- a statement not carried (not announced by a gateway) is refused on its origin; a node applying another's
-- statement (session_replication_role = replica) follows its origin, which carried or refused it.
CREATE OR REPLACE FUNCTION mtm.stride_new_sequences()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
    seq record;
    called boolean;
    vw boolean;
    carried text[];
    applying boolean;
BEGIN
    IF current_setting('mtm.ddl_internal', true) = 'on' OR NOT EXISTS (SELECT 1 FROM mtm.cluster_nodes WHERE is_self) THEN
        RETURN; -- our own ALTER SEQUENCE, or a node not initialised yet
    END IF;
    carried := string_to_array(btrim(coalesce(current_setting('mtm.carried_sequences', true), '')), ' ');
    PERFORM set_config('mtm.carried_sequences', '', true);
    applying := current_setting('session_replication_role') = 'replica';
    vw := mtm.volkswagen_mode();
    FOR seq IN
        SELECT s.oid::regclass AS rel, bool_or(c.objid = s.oid AND c.command_tag = 'CREATE SEQUENCE') AS created,
               max(c.command_tag) FILTER (WHERE c.objid <> s.oid) AS via
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class s ON s.relkind = 'S' AND s.relpersistence = 'p'
             AND (s.oid = c.objid OR s.oid IN (SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.objid AND d.deptype IN ('a', 'i')))
        WHERE c.classid = 'pg_class'::regclass
        GROUP BY s.oid
    LOOP
        EXECUTE format('SELECT is_called FROM %s', seq.rel) INTO called;
        IF seq.created AND called AND NOT applying AND NOT seq.rel::oid::text = ANY (carried) THEN
            RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                MESSAGE = format('[multimaster] %s numbers existing rows with new sequence %s, which would give them '
                                 'different values on each node', coalesce(seq.via, 'this statement'), seq.rel),
                HINT = 'Run the statement through a gateway, whose node carries each row''s value to the others; or '
                       'add the column without a default, fill it with an UPDATE, then set its default (or identity).';
        END IF;
        CONTINUE WHEN vw; -- mtm.volkswagen_mode: left as the statement made it, on every node
        PERFORM mtm.stride_sequence(seq.rel);
    END LOOP;
END
$fn$;
DO $do$
BEGIN
    -- CREATE SCHEMA ... CREATE TABLE (serial) is tagged CREATE SCHEMA (a trigger made without it is made again)
    IF NOT mtm.ensure_event_trigger('mtm_stride_sequences', 'ddl_command_end', 'mtm.stride_new_sequences',
                                    ARRAY['CREATE SEQUENCE', 'ALTER SEQUENCE', 'CREATE TABLE', 'ALTER TABLE', 'CREATE SCHEMA'],
                                    true) THEN
        RAISE WARNING '[multimaster] % is not a superuser: new sequences will not be strided by node on this node; '
            'run SELECT mtm.alter_sequences() after creating one', current_user;
    END IF;
END
$do$;
