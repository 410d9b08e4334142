-- Endpoint templates (issue 17).
--
-- endpoints lists every endpoint stored in the rollups, per provider and
-- the method of the calls it was stored for (''  for the rows stored
-- before this migration, whose method is not known). Ingestion adds to it
-- in each batch's transaction, and bounds it: at most --max-endpoints
-- distinct endpoints per provider, beyond which calls are stored under
-- '{other}'. It is what templates are learned from, and what the fold-in
-- pass finds stored literal endpoints by.
--
-- endpoint_templates holds the learned rules: in the paths of a
-- provider's calls with a method and the pattern's number of segments,
-- each '*' position is a parameter. Every ingest replica reads them.
--
-- The fold-in pass moves a literal endpoint's rollup rows to its template:
-- rollups get an index by provider and endpoint.

-- +goose Up
CREATE TABLE endpoints (
    provider   text        NOT NULL,
    method     text        NOT NULL,
    endpoint   text        NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, method, endpoint)
);
CREATE INDEX endpoints_provider_endpoint_idx ON endpoints (provider, endpoint);

CREATE TABLE endpoint_templates (
    provider        text        NOT NULL,
    method          text        NOT NULL,
    pattern         text        NOT NULL,
    distinct_values integer     NOT NULL CHECK (distinct_values > 0),
    learned_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, method, pattern)
);

CREATE INDEX rollup_requests_provider_endpoint_idx ON rollup_requests (provider, endpoint);
CREATE INDEX rollup_requests_hourly_provider_endpoint_idx ON rollup_requests_hourly (provider, endpoint);

INSERT INTO endpoints (provider, method, endpoint)
SELECT DISTINCT provider, '', endpoint FROM rollup_requests_hourly
UNION
SELECT DISTINCT provider, '', endpoint FROM rollup_requests
ON CONFLICT DO NOTHING;

GRANT SELECT ON endpoints, endpoint_templates TO faultline_writer, faultline_reader, faultline_alerter;
GRANT INSERT, UPDATE, DELETE ON endpoints, endpoint_templates TO faultline_writer;

-- +goose Down
REVOKE ALL ON endpoints, endpoint_templates FROM faultline_writer, faultline_reader, faultline_alerter;
DROP INDEX rollup_requests_hourly_provider_endpoint_idx;
DROP INDEX rollup_requests_provider_endpoint_idx;
DROP TABLE endpoint_templates;
DROP TABLE endpoints;
