-- Login users for faultline's three group roles (migration 00006 creates
-- faultline_writer, faultline_reader and faultline_alerter): one per
-- workload, each holding only what it needs. ingest (run, replay,
-- reclassify) writes; report (lookup, trends, weekly, serve) only reads,
-- in read-only transactions; report alerts reads and stores its alerts.
-- Run after `ingest migrate`, as the schema owner or a superuser;
-- idempotent, and how passwords are rotated:
--
--   psql -v ON_ERROR_STOP=1 \
--     -v ingest_user=faultline_ingest -v ingest_password=... \
--     -v report_user=faultline_report -v report_password=... \
--     -v alerts_user=faultline_alerts -v alerts_password=... \
--     -f login-roles.sql "$OWNER_DATABASE_URL"
--
-- Tested by deploy/validate (TestLoginRoles).

SELECT format('CREATE ROLE %I LOGIN', u)
FROM unnest(ARRAY[:'ingest_user', :'report_user', :'alerts_user']) AS u
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = u) \gexec

ALTER ROLE :"ingest_user" WITH LOGIN PASSWORD :'ingest_password';
ALTER ROLE :"report_user" WITH LOGIN PASSWORD :'report_password';
ALTER ROLE :"alerts_user" WITH LOGIN PASSWORD :'alerts_password';
GRANT faultline_writer TO :"ingest_user";
GRANT faultline_reader TO :"report_user";
GRANT faultline_alerter TO :"alerts_user";
ALTER ROLE :"report_user" SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"ingest_user", :"report_user", :"alerts_user";
