-- Citizen keys are stored wrapped (AES-256-GCM) under a master key kept outside the
-- database, so that rotating the master key after a deletion leaves any copy of the
-- deleted row in old pages useless. `key_hex` remains only for rows written before this
-- change; the application wraps them (and clears it) the first time it loads the master key.
-- SQLite cannot drop NOT NULL in place: the table is rebuilt.
CREATE TABLE citizen_keys_wrapped (
    citizen_id  TEXT PRIMARY KEY,
    key_hex     TEXT,
    wrapped     TEXT,
    generation  BIGINT,
    created_at  TEXT NOT NULL
);
INSERT INTO citizen_keys_wrapped (citizen_id, key_hex, created_at)
    SELECT citizen_id, key_hex, created_at FROM citizen_keys;
DROP TABLE citizen_keys;
ALTER TABLE citizen_keys_wrapped RENAME TO citizen_keys;

-- Which master key the wrapped rows are under: its generation (bumped by every rotation)
-- and a one-way digest to recognise the key file, never the key itself.
CREATE TABLE IF NOT EXISTS citizen_key_master (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL,
    key_check   TEXT NOT NULL
);

-- Data-protection requests served (ARCO: access, rectification...): who read or changed
-- what a citizen's record holds, and when. Kept beside the log rather than in it: an
-- access changes no fact of the domain, and the log's readers (projections, import) know
-- only domain events. Rows are only ever inserted.
CREATE TABLE IF NOT EXISTS citizen_data_requests (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS citizen_data_requests_by_citizen
    ON citizen_data_requests (citizen_id, at);
