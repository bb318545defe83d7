-- The log chain (SQLite): one link per event position, each a SHA-256 over the event's
-- position, stream, version, hash and the previous link (crates/eventstore/src/hash.rs).
-- Written in the same transaction as the events; append-only like `events`. Links of a
-- log that existed before this table are back-filled by `EventStore::connect` (a
-- migration cannot hash), in position order.
CREATE TABLE log_chain (
    position INTEGER PRIMARY KEY NOT NULL CHECK (position >= 1),
    link     TEXT    NOT NULL CHECK (length(link) = 64)
);

CREATE TRIGGER log_chain_no_update BEFORE UPDATE ON log_chain
BEGIN
    SELECT RAISE(ABORT, 'log_chain is immutable: UPDATE rejected');
END;

CREATE TRIGGER log_chain_no_delete BEFORE DELETE ON log_chain
BEGIN
    SELECT RAISE(ABORT, 'log_chain is immutable: DELETE rejected');
END;
