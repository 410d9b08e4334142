-- Alerts keep all a detector knows of them (detect.Alert is store.Alert):
-- the window of the worst rate seen, the rate level the evidence showed and
-- the evidence itself; whether they page or are suppressed (inside a
-- maintenance window, a weekly recurrence, part of another alert's
-- incident) and since when they page.
--
-- A new-code alert is the memory that its code alerted: one per provider
-- and code, ever, looked up by the index below.

-- +goose Up
ALTER TABLE alerts
    ADD COLUMN observed_window   interval         NOT NULL DEFAULT '0',
    ADD COLUMN level             double precision NOT NULL DEFAULT 0,
    ADD COLUMN evidence          double precision NOT NULL DEFAULT 0,
    -- '' (pages), maintenance, recurring or joined; until when (NULL while
    -- the alert fires, for joined ones) and why, for people.
    ADD COLUMN suppressed        text             NOT NULL DEFAULT '',
    ADD COLUMN suppressed_until  timestamptz,
    ADD COLUMN suppressed_detail text             NOT NULL DEFAULT '',
    -- The alert whose incident a joined alert is part of.
    ADD COLUMN parent_id         bigint           REFERENCES alerts (id),
    -- When it was first sent: detected_at, or the end of its suppression
    -- when it outlasted it; NULL while suppressed.
    ADD COLUMN paged_at          timestamptz;

-- Alerts stored before paged.
UPDATE alerts SET paged_at = detected_at;

ALTER TABLE alerts
    ADD CONSTRAINT alerts_suppressed_check CHECK (suppressed IN ('', 'maintenance', 'recurring', 'joined')),
    ADD CONSTRAINT alerts_paged_check CHECK (suppressed <> '' OR paged_at IS NOT NULL);

CREATE INDEX alerts_new_code_idx ON alerts (provider, subject) WHERE rule = 'new_code';
CREATE INDEX alerts_parent_id_idx ON alerts (parent_id) WHERE parent_id IS NOT NULL;

-- +goose Down
DROP INDEX alerts_parent_id_idx;
DROP INDEX alerts_new_code_idx;
ALTER TABLE alerts
    DROP COLUMN paged_at,
    DROP COLUMN parent_id,
    DROP COLUMN suppressed_detail,
    DROP COLUMN suppressed_until,
    DROP COLUMN suppressed,
    DROP COLUMN evidence,
    DROP COLUMN level,
    DROP COLUMN observed_window;
