-- The error rollup carries the subcode (Finix failure_code, the first
-- Flexiti field_errors param, Paylera's field or decline code), so that
-- reports and decline alerts can count per subcode without reading events.
-- Rows written before this migration have subcode '' and keep counting as
-- they did.

-- +goose Up
ALTER TABLE rollup_errors ADD COLUMN subcode text NOT NULL DEFAULT '';
ALTER TABLE rollup_errors DROP CONSTRAINT rollup_errors_pkey;
ALTER TABLE rollup_errors ADD PRIMARY KEY (minute, provider, category, code, subcode);

-- +goose Down
-- Merge the subcodes back into one row per (minute, provider, category, code).
CREATE TEMPORARY TABLE rollup_errors_merged ON COMMIT DROP AS
    SELECT minute, provider, category, code, sum(count)::bigint AS count
    FROM rollup_errors GROUP BY minute, provider, category, code;
DELETE FROM rollup_errors;
ALTER TABLE rollup_errors DROP CONSTRAINT rollup_errors_pkey;
ALTER TABLE rollup_errors DROP COLUMN subcode;
INSERT INTO rollup_errors (minute, provider, category, code, count)
    SELECT minute, provider, category, code, count FROM rollup_errors_merged;
ALTER TABLE rollup_errors ADD PRIMARY KEY (minute, provider, category, code);
