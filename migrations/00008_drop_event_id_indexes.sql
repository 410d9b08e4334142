-- Lookups by id read event_ids (00004), one index probe whatever the
-- number of partitions. The id indexes of events, which every stored event
-- paid for at ingest (a GIN index on refs among them), serve nothing any
-- more.

-- +goose Up
DROP INDEX IF EXISTS events_correlation_id_idx;
DROP INDEX IF EXISTS events_trace_id_idx;
DROP INDEX IF EXISTS events_refs_idx;

-- +goose Down
CREATE INDEX events_correlation_id_idx ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_trace_id_idx ON events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX events_refs_idx ON events USING gin (refs) WHERE refs IS NOT NULL;
