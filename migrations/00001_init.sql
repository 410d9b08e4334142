-- faultline's initial schema.
--
-- events holds classified, redacted error events, range-partitioned by day
-- on ts (partitions events_pYYYYMMDD are created by the store, ahead of the
-- rows that need them, and dropped whole for retention). Rollups and error
-- groups are small tables that reports and alerts read instead of events.
-- consumer_offsets is written in the same transaction as the data it
-- produced: it is what makes ingestion exactly once.

-- +goose Up
-- Ingestion takes its events' ids from events_id_seq before copying them
-- (so that error groups can point at events); other loads take the column
-- default. Ids are unique, not contiguous.
CREATE SEQUENCE events_id_seq AS bigint CACHE 100;

CREATE TABLE events (
    id             bigint           NOT NULL DEFAULT nextval('events_id_seq'),
    ts             timestamptz      NOT NULL,
    ingested_at    timestamptz      NOT NULL DEFAULT now(),
    provider       text             NOT NULL,
    category       text             NOT NULL,
    code           text             NOT NULL DEFAULT '',
    subcode        text             NOT NULL DEFAULT '',
    status         smallint         NOT NULL DEFAULT 0,
    retryable      boolean          NOT NULL DEFAULT false,
    known          boolean          NOT NULL DEFAULT false,
    correlation_id text,            -- the provider's request id; NULL when none
    trace_id       text,            -- our own trace id; NULL when none
    refs           text[],          -- secondary references; NULL when none
    fingerprint    text             NOT NULL,
    method         text             NOT NULL DEFAULT '',
    host           text             NOT NULL DEFAULT '',
    endpoint       text             NOT NULL DEFAULT '',
    service        text             NOT NULL DEFAULT '',
    env            text             NOT NULL DEFAULT '',
    tenant         text             NOT NULL DEFAULT '',
    duration_ms    double precision NOT NULL DEFAULT 0,
    message        text             NOT NULL DEFAULT '',
    body           text             NOT NULL DEFAULT '',
    src_topic      text             NOT NULL DEFAULT '',
    src_partition  integer          NOT NULL DEFAULT 0,
    src_offset     bigint           NOT NULL DEFAULT 0,
    PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);

ALTER SEQUENCE events_id_seq OWNED BY events.id;

-- An escalation looks an event up by any of its ids; none of these lookups
-- may scan. Few indexes, because every one slows COPY down.
CREATE INDEX events_correlation_id_idx ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_trace_id_idx ON events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX events_refs_idx ON events USING gin (refs) WHERE refs IS NOT NULL;
CREATE INDEX events_fingerprint_ts_idx ON events (fingerprint, ts);

CREATE TABLE rollup_requests (
    minute   timestamptz NOT NULL,
    provider text        NOT NULL,
    endpoint text        NOT NULL,
    requests bigint      NOT NULL DEFAULT 0,
    errors   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, provider, endpoint)
);

CREATE TABLE rollup_errors (
    minute   timestamptz NOT NULL,
    provider text        NOT NULL,
    category text        NOT NULL,
    code     text        NOT NULL,
    count    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, provider, category, code)
);

CREATE TABLE error_groups (
    fingerprint           text        PRIMARY KEY,
    provider              text        NOT NULL,
    code                  text        NOT NULL DEFAULT '',
    subcode               text        NOT NULL DEFAULT '',
    method                text        NOT NULL DEFAULT '',
    endpoint              text        NOT NULL DEFAULT '',
    category              text        NOT NULL,
    first_seen            timestamptz NOT NULL,
    last_seen             timestamptz NOT NULL,
    count                 bigint      NOT NULL DEFAULT 0,
    sample_correlation_id text,
    sample_message        text        NOT NULL DEFAULT '',
    -- A sample event of the group, by the events primary key (id, ts): one
    -- indexed lookup in one partition. NULL when none. Not a foreign key:
    -- retention drops events partitions whole, and the sample of a group
    -- not seen since goes with them.
    sample_event_id       bigint,
    sample_ts             timestamptz,
    CHECK ((sample_event_id IS NULL) = (sample_ts IS NULL))
);

-- The next offset to consume per consumer group, topic and partition (or
-- replayed file: group "replay", offsets are line numbers).
CREATE TABLE consumer_offsets (
    group_id    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Unusable records, never dropped silently. No unique key on the source
-- coordinates: a record is written once because its batch moves the
-- source's offset in the same transaction.
CREATE TABLE dead_letters (
    id            bigserial   PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    reason        text        NOT NULL,
    detail        text        NOT NULL DEFAULT '',
    raw           text        NOT NULL DEFAULT '',
    src_topic     text        NOT NULL DEFAULT '',
    src_partition integer     NOT NULL DEFAULT 0,
    src_offset    bigint      NOT NULL DEFAULT 0
);

CREATE INDEX dead_letters_received_at_idx ON dead_letters (received_at);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE consumer_offsets;
DROP TABLE error_groups;
DROP TABLE rollup_errors;
DROP TABLE rollup_requests;
DROP TABLE events;
