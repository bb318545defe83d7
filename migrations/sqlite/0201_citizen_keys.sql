-- One encryption key per citizen (crypto-shredding). Deleting a row makes that citizen's
-- contact data in the event log unreadable while the events and their hash chain stay.
-- Not part of the event log: rows here are deleted on purpose by `forget-citizen`.
CREATE TABLE IF NOT EXISTS citizen_keys (
    citizen_id  TEXT PRIMARY KEY,
    key_hex     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
