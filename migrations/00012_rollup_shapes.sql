-- The shapes records arrive in (classify.Shape: contract, otlp_json,
-- otlp_proto, ecs, container, logger, mapped), counted per minute they
-- were read, so that `ingest status` shows what producers send now; a
-- producer whose records turn into dead letters shows beside them.
-- Written with each batch, in its transaction: exactly once like the rest.
-- Kept as long as the rollups (--rollup-keep).

-- +goose Up
CREATE TABLE rollup_shapes (
    minute  timestamptz NOT NULL,
    shape   text        NOT NULL,
    records bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, shape)
);

GRANT SELECT ON rollup_shapes TO faultline_writer, faultline_reader, faultline_alerter;
GRANT INSERT, UPDATE, DELETE ON rollup_shapes TO faultline_writer;

-- +goose Down
DROP TABLE rollup_shapes;
