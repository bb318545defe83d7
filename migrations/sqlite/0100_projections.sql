-- Read models of seguimiento-projections (not the log: rows here are upserted and deleted).
-- A projection is a keyed set of JSON documents per generation; exactly one generation per
-- projection is active (served). Rebuilds fill a fresh generation, then flip the pointer.
CREATE TABLE IF NOT EXISTS read_model_rows (
    projection TEXT   NOT NULL,
    generation BIGINT NOT NULL,
    key        TEXT   NOT NULL,
    doc        TEXT   NOT NULL,
    PRIMARY KEY (projection, generation, key)
);

-- Last global log position folded into (projection, generation).
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection TEXT   NOT NULL,
    generation BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    PRIMARY KEY (projection, generation)
);

-- The generation each projection serves.
CREATE TABLE IF NOT EXISTS projection_active (
    projection TEXT   PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL
);
