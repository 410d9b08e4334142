-- Beyond one id (issue 20): search by tenant, service or provider and
-- time, and error groups over time.
--
-- Search. Support's most common question has no id: "merchant X says card
-- payments failed this morning". `report search` lists the events of a
-- tenant, a service or a provider (at least one of them) over a window,
-- newest first, a page at a time: keyset pagination on (ts, id), never
-- OFFSET. Each scope has an index (scope, ts, id) on events, built on every
-- daily partition (and on the partitions created later): a page is a
-- backward scan of the newest partition's index that stops after the
-- page's rows, then of the one before, in partition order. The tenant and
-- service indexes are partial: an event without a tenant (or service) is
-- never searched by it, and costs no index entry. Every index slows COPY
-- down: `make bench` part (d) measures by how much.
--
-- Error groups over time. error_groups has each group's total and its first
-- and last sighting; the groups page needs its count in any window and an
-- hourly sparkline. rollup_groups_hourly counts each group's events per UTC
-- hour, written with the batch like the other rollups (and folded, moved by
-- reclassification and kept like them): a week of 150 groups is 25,000
-- rows, where counting the week's events would read a million. Its second
-- index serves one group's chart and the hour a group was last seen before
-- a window (whether it regressed).
--
-- Building the indexes takes a lock that makes ingest wait (minutes over
-- months of events); the backfill reads every stored event once.

-- +goose Up
CREATE INDEX events_tenant_ts_idx ON events (tenant, ts, id) WHERE tenant <> '';
CREATE INDEX events_service_ts_idx ON events (service, ts, id) WHERE service <> '';
CREATE INDEX events_provider_ts_idx ON events (provider, ts, id);

CREATE TABLE rollup_groups_hourly (
    hour        timestamptz NOT NULL,
    fingerprint text        NOT NULL,
    count       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, fingerprint)
);
CREATE INDEX rollup_groups_hourly_fingerprint_idx ON rollup_groups_hourly (fingerprint, hour);

-- The events stored before this migration. date_trunc on timestamptz
-- truncates in the session's time zone: hours are UTC hours.
SET LOCAL timezone = 'UTC';
INSERT INTO rollup_groups_hourly (hour, fingerprint, count)
SELECT date_trunc('hour', ts), fingerprint, count(*) FROM events GROUP BY 1, 2;

-- The roles of 00006: the writer keeps the counts with its batches, folds,
-- reclassification and retention; everyone reads them.
GRANT SELECT ON rollup_groups_hourly TO faultline_writer, faultline_reader, faultline_alerter;
GRANT INSERT, UPDATE, DELETE ON rollup_groups_hourly TO faultline_writer;

-- +goose Down
DROP TABLE rollup_groups_hourly;
DROP INDEX events_provider_ts_idx;
DROP INDEX events_service_ts_idx;
DROP INDEX events_tenant_ts_idx;
