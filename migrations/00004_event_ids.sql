-- event_ids finds an event by any of its ids in one index probe.
--
-- Looking an id up in events means probing the id indexes of every daily
-- partition (90 of them with the default retention, three indexes each).
-- event_ids is one narrow, unpartitioned table of (id, ts, event_id, kind):
-- its primary key covers every column, so a lookup is one index-only scan
-- that yields the events primary key (id, ts), and the event itself is then
-- read from its one partition. The store writes it in the same transaction
-- as the events (WriteBatch), and deletes the ids of dropped partitions with
-- them (retention): it never disagrees with events.
--
-- kind says which id of the event it is: 1 the provider's correlation id
-- (Finterra request_id, Finix logref, Paylera trace_id, a request id
-- header), 2 our own trace id, 3 a secondary reference (Finix authorization
-- or transfer id).

-- +goose Up
CREATE TABLE event_ids (
    id       text        COLLATE "C" NOT NULL, -- ids match byte for byte: no locale to compare them in
    ts       timestamptz NOT NULL,
    event_id bigint      NOT NULL,
    kind     smallint    NOT NULL CHECK (kind BETWEEN 1 AND 3),
    PRIMARY KEY (id, ts, event_id, kind)
);

-- Retention deletes by ts; rows arrive roughly in ts order, so a BRIN index
-- finds them for almost nothing on the write path.
CREATE INDEX event_ids_ts_brin ON event_ids USING brin (ts);

-- The events stored before this migration.
INSERT INTO event_ids (id, ts, event_id, kind)
SELECT correlation_id, ts, id, 1 FROM events WHERE correlation_id IS NOT NULL
UNION
SELECT trace_id, ts, id, 2 FROM events WHERE trace_id IS NOT NULL
UNION
SELECT r, ts, id, 3 FROM events, unnest(refs) AS r WHERE refs IS NOT NULL AND r <> '';

-- +goose Down
DROP TABLE event_ids;
