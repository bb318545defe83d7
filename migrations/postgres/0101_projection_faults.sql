-- The event a live projection runner stopped at, because it could not fold or store it:
-- shown by `seguimiento projections`, /metrics and GraphQL until the runner folds past it.
CREATE TABLE IF NOT EXISTS projection_faults (
    projection TEXT   PRIMARY KEY NOT NULL,
    position   BIGINT NOT NULL,
    error      TEXT   NOT NULL
);
