-- Hourly rollups: the per-minute rollups folded into hours, written by the
-- store in the same transaction. Reports over days and weeks read them:
-- a week is 168 hours of rows instead of 10,080 minutes of rows. They
-- read the per-minute rollups only for the minutes of an hour that a
-- period or a local day (in a time zone whose offset is not whole hours)
-- cuts. Alert evaluation reads its baseline hours from them too.

-- +goose Up
CREATE TABLE rollup_requests_hourly (
    hour     timestamptz NOT NULL,
    provider text        NOT NULL,
    endpoint text        NOT NULL,
    requests bigint      NOT NULL DEFAULT 0,
    errors   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, provider, endpoint)
);

CREATE TABLE rollup_errors_hourly (
    hour     timestamptz NOT NULL,
    provider text        NOT NULL,
    category text        NOT NULL,
    code     text        NOT NULL,
    subcode  text        NOT NULL,
    count    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, provider, category, code, subcode)
);

-- The rollups stored before this migration. date_trunc on timestamptz
-- truncates in the session's time zone: hours are UTC hours.
SET LOCAL timezone = 'UTC';
INSERT INTO rollup_requests_hourly (hour, provider, endpoint, requests, errors)
SELECT date_trunc('hour', minute), provider, endpoint, sum(requests), sum(errors)
FROM rollup_requests GROUP BY 1, 2, 3;
INSERT INTO rollup_errors_hourly (hour, provider, category, code, subcode, count)
SELECT date_trunc('hour', minute), provider, category, code, subcode, sum(count)
FROM rollup_errors GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP TABLE rollup_errors_hourly;
DROP TABLE rollup_requests_hourly;
