-- Alerts raised by `report alerts`: one row per incident of a rule, for a
-- provider and a subject (the code of a new-code alert, '' for the rate
-- rules), with a start and, once it is over, an end.
--
-- Evaluations run every minute over overlapping windows and continue an
-- incident instead of opening a new one: they update the row in place. An
-- advisory lock serialises evaluators; the partial unique index below makes
-- a second open row for the same rule, provider and subject impossible
-- anyway.

-- +goose Up
CREATE TABLE alerts (
    id                bigserial        PRIMARY KEY,
    rule              text             NOT NULL,
    provider          text             NOT NULL,
    subject           text             NOT NULL DEFAULT '',
    category          text             NOT NULL DEFAULT '',
    code              text             NOT NULL DEFAULT '',
    subcode           text             NOT NULL DEFAULT '',
    severity          text             NOT NULL,
    -- The series the detector follows for this incident (the provider's
    -- rate, or one decline code's) and the thresholds frozen when it
    -- opened: the baseline rate (expected) and the rate under which the
    -- incident counts as over (close_below).
    series            text             NOT NULL DEFAULT '',
    expected          double precision NOT NULL,
    close_below       double precision NOT NULL,
    -- The worst window seen: its rate, errors and requests.
    observed          double precision NOT NULL,
    observed_count    bigint           NOT NULL DEFAULT 0,
    observed_requests bigint           NOT NULL DEFAULT 0,
    -- starts_at and ends_at bound the incident (ends_at NULL while firing);
    -- detected_at and resolved_at are the ends of the minutes whose
    -- evaluation opened and closed it; last_evaluated is the end of the
    -- last minute evaluated while it was firing.
    starts_at         timestamptz      NOT NULL,
    ends_at           timestamptz,
    detected_at       timestamptz      NOT NULL,
    resolved_at       timestamptz,
    last_evaluated    timestamptz      NOT NULL,
    summary           text             NOT NULL DEFAULT '',
    -- What on-call needs: top codes and endpoints, tenants affected, a
    -- sample correlation id.
    context           jsonb            NOT NULL DEFAULT '{}',
    created_at        timestamptz      NOT NULL DEFAULT now(),
    updated_at        timestamptz      NOT NULL DEFAULT now(),
    CHECK ((ends_at IS NULL) = (resolved_at IS NULL)),
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
);

CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (rule, provider, subject) WHERE ends_at IS NULL;
CREATE INDEX alerts_key_starts_at_idx ON alerts (rule, provider, subject, starts_at);
CREATE INDEX alerts_starts_at_idx ON alerts (starts_at);

-- report alerts runs as a member of faultline_alerter (the roles migration,
-- 00006, makes the roles and the reading grants): it writes the alerts it
-- keeps. This migration may run before that one (a fresh database) or after
-- it (applied out of order), so it makes the role when missing, as that one
-- does, and grants what that one would have granted had the table existed
-- then.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'faultline_alerter') THEN
        BEGIN
            CREATE ROLE faultline_alerter NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by another database's migration
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'faultline_reader') THEN
        GRANT SELECT ON alerts TO faultline_reader;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'faultline_writer') THEN
        GRANT SELECT ON alerts TO faultline_writer;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT SELECT, INSERT, UPDATE ON alerts TO faultline_alerter;
GRANT USAGE ON SEQUENCE alerts_id_seq TO faultline_alerter;

-- +goose Down
DROP TABLE alerts;
