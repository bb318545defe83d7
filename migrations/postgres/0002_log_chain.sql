-- The log chain (PostgreSQL): one link per event position, each a SHA-256 over the event's
-- position, stream, version, hash and the previous link (crates/eventstore/src/hash.rs).
-- Written in the same transaction as the events; append-only like `events`. Links of a
-- log that existed before this table are back-filled by `EventStore::connect` (a
-- migration cannot hash), in position order.
CREATE TABLE log_chain (
    position BIGINT NOT NULL CHECK (position >= 1),
    link     TEXT   NOT NULL CHECK (length(link) = 64),
    CONSTRAINT log_chain_pkey PRIMARY KEY (position)
);

CREATE FUNCTION log_chain_reject_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'log_chain is immutable: % rejected', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER log_chain_no_update BEFORE UPDATE ON log_chain
    FOR EACH ROW EXECUTE FUNCTION log_chain_reject_mutation();

CREATE TRIGGER log_chain_no_delete BEFORE DELETE ON log_chain
    FOR EACH ROW EXECUTE FUNCTION log_chain_reject_mutation();

CREATE TRIGGER log_chain_no_truncate BEFORE TRUNCATE ON log_chain
    FOR EACH STATEMENT EXECUTE FUNCTION log_chain_reject_mutation();
