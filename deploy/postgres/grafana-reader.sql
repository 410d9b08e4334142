-- The role of Grafana's Postgres datasource: it may read the rollups and
-- nothing else (no events, bodies, dead letters or offsets), in read-only
-- transactions with a statement timeout. Run after `ingest migrate` (the
-- tables must exist); idempotent:
--
--   psql -v ON_ERROR_STOP=1 -v reader=grafana_reader -v password=... -f grafana-reader.sql
--
-- Tested by deploy/validate (TestDashboardsAgainstRealIngest runs every SQL
-- panel as this role, and checks what it cannot read or write).

SELECT format('CREATE ROLE %I LOGIN', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec

ALTER ROLE :"reader" WITH LOGIN PASSWORD :'password';
ALTER ROLE :"reader" SET default_transaction_read_only = on;
ALTER ROLE :"reader" SET statement_timeout = '30s';
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"reader";
GRANT CONNECT ON DATABASE :"DBNAME" TO :"reader";
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON rollup_errors, rollup_requests TO :"reader";
