-- The append-only event log (PostgreSQL).
-- payload/metadata are canonical JSON *text* (sorted keys), byte-for-byte what the hash chain
-- covers (jsonb would renormalise numbers/whitespace and break verification); cast to jsonb
-- for ad-hoc queries. Timestamps are timestamptz (microsecond precision).
CREATE TABLE events (
    position       BIGINT      NOT NULL CHECK (position >= 1),
    id             UUID        NOT NULL,
    stream         TEXT        NOT NULL CHECK (length(stream) > 0),
    version        BIGINT      NOT NULL CHECK (version >= 0),
    event_type     TEXT        NOT NULL,
    schema_version INTEGER     NOT NULL,
    payload        TEXT        NOT NULL,
    metadata       TEXT        NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    effective_at   TIMESTAMPTZ NOT NULL,
    prev_hash      TEXT        NOT NULL,
    hash           TEXT        NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (position),
    CONSTRAINT events_stream_version_key UNIQUE (stream, version),
    CONSTRAINT events_id_key UNIQUE (id)
);

CREATE INDEX events_recorded_at_idx ON events (recorded_at);

CREATE FUNCTION events_reject_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % rejected', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_reject_mutation();

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_reject_mutation();

CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_mutation();
