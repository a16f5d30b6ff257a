-- The referee's decision (2+1 mode), installed by the referee role (feature mtm-referee) in its own PostgreSQL.
-- Data nodes call these functions through referee_connstring; the rules are GrantRules' (a Java class of the referee
-- bundle, checked against these functions by RefereeGrantStoreTest). Statements are separated by lines of ';;'.
CREATE SCHEMA IF NOT EXISTS mtm
;;
CREATE TABLE IF NOT EXISTS mtm.referee_decision (key text PRIMARY KEY, node_id int NOT NULL, gen_num bigint NOT NULL)
;;
-- Grants generation gen to applicant (it may then work alone in it) or refuses; answers the grant held afterwards:
-- the request was granted when that is (applicant, gen). A grant below full_gen (a generation of both data nodes
-- the applicant is online in) is obsolete and gives way; the holder may renew for a higher generation.
CREATE OR REPLACE FUNCTION mtm.referee_request_grant(applicant int, gen bigint, full_gen bigint)
RETURNS TABLE (granted_node int, granted_gen bigint)
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
    h_node int;
    h_gen bigint;
BEGIN
    -- serialises deciders also while no row exists yet
    PERFORM pg_advisory_xact_lock(hashtext('mtm.referee_decision'));
    SELECT d.node_id, d.gen_num INTO h_node, h_gen FROM mtm.referee_decision d WHERE d.key = 'winner';
    IF h_node IS NULL OR h_gen < full_gen OR (h_node = applicant AND gen >= h_gen) THEN
        INSERT INTO mtm.referee_decision AS d (key, node_id, gen_num) VALUES ('winner', applicant, gen)
            ON CONFLICT (key) DO UPDATE SET node_id = excluded.node_id, gen_num = excluded.gen_num;
        h_node := applicant;
        h_gen := gen;
    END IF;
    RETURN QUERY SELECT h_node, h_gen;
END
$fn$
;;
-- Called by a node online in full generation full_gen that runs no election, last_vote its highest vote: drops a
-- grant below full_gen, or one of its own it never used (at most last_vote); true when one was dropped.
CREATE OR REPLACE FUNCTION mtm.referee_clear_grant(full_gen bigint, applicant int, last_vote bigint)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('mtm.referee_decision'));
    DELETE FROM mtm.referee_decision d WHERE d.key = 'winner'
        AND (d.gen_num < full_gen OR (d.node_id = applicant AND d.gen_num <= last_vote));
    RETURN FOUND;
END
$fn$
;;
-- The grant held now, if any (no row: none).
CREATE OR REPLACE FUNCTION mtm.referee_grant()
RETURNS TABLE (granted_node int, granted_gen bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT d.node_id, d.gen_num FROM mtm.referee_decision d WHERE d.key = 'winner'
$fn$
