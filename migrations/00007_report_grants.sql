-- The roles of 00006 on the report's tables (00004 event_ids, 00005 the
-- hourly rollups): the writer stores an event's ids and the hourly rollups
-- with its batch, and deletes them with retention; everyone reads them.
-- (00006 grants SELECT on every table that existed before it; this holds
-- on databases where the report's tables came later too.)

-- +goose Up
GRANT SELECT ON event_ids, rollup_requests_hourly, rollup_errors_hourly TO faultline_writer, faultline_reader, faultline_alerter;
GRANT INSERT, DELETE ON event_ids TO faultline_writer;
GRANT INSERT, UPDATE, DELETE ON rollup_requests_hourly, rollup_errors_hourly TO faultline_writer;

-- +goose Down
REVOKE INSERT, UPDATE, DELETE ON rollup_requests_hourly, rollup_errors_hourly FROM faultline_writer;
REVOKE INSERT, DELETE ON event_ids FROM faultline_writer;
