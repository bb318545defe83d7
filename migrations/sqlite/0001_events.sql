-- The append-only event log (SQLite).
-- Timestamps are TEXT in the fixed format YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC, microseconds),
-- so lexicographic order is chronological order. payload/metadata are canonical JSON text
-- (sorted keys), byte-for-byte what the hash chain covers.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY NOT NULL CHECK (position >= 1),
    id             TEXT    NOT NULL,
    stream         TEXT    NOT NULL CHECK (length(stream) > 0),
    version        INTEGER NOT NULL CHECK (version >= 0),
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    effective_at   TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);

CREATE UNIQUE INDEX events_stream_version_key ON events (stream, version);
CREATE UNIQUE INDEX events_id_key ON events (id);
CREATE INDEX events_recorded_at_idx ON events (recorded_at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: UPDATE rejected');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: DELETE rejected');
END;
