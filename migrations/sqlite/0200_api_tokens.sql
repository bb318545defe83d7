-- Bearer tokens: only the SHA-256 of the secret is kept. Not part of the event log.
CREATE TABLE IF NOT EXISTS api_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL,
    agency      TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
