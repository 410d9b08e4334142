-- Least privilege. Three group roles (NOLOGIN) hold faultline's grants;
-- operators create login users as their members, for example
--
--   CREATE ROLE faultline_ingest LOGIN PASSWORD '…' IN ROLE faultline_writer;
--   CREATE ROLE faultline_report LOGIN PASSWORD '…' IN ROLE faultline_reader;
--   CREATE ROLE faultline_alerts LOGIN PASSWORD '…' IN ROLE faultline_alerter;
--
-- and rotate a password with ALTER ROLE, without touching the schema.
--
-- faultline_writer (ingest run, replay, reclassify) writes events, rollups,
-- groups, offsets and dead letters, and deletes what retention ages out. It
-- owns nothing, so it cannot drop or truncate a table: the daily events
-- partitions are created and dropped through the two SECURITY DEFINER
-- functions below, which can touch nothing else.
-- faultline_reader (report lookup, trends, weekly, serve) only reads.
-- faultline_alerter (report alerts) reads, and writes the alerts it keeps.
--
-- Roles belong to the whole server: when several faultline databases share
-- one, they share these roles (each database holds its own grants).
-- Migrations run as the schema owner, which needs CREATEROLE the first
-- time (or create the three roles beforehand).

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['faultline_writer', 'faultline_reader', 'faultline_alerter'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by another database's migration
            END;
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION faultline_create_event_partitions(days date[]) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d date;
    name text;
BEGIN
    IF cardinality(days) > 3700 THEN
        RAISE EXCEPTION 'faultline_create_event_partitions: % days is too many at once', cardinality(days);
    END IF;
    -- Serialise partition DDL among faultline processes, and bound the wait
    -- for the events table's lock: writers queue behind it.
    PERFORM pg_advisory_xact_lock(7378423238785164398); -- "faultlin"
    PERFORM set_config('lock_timeout', '5s', true);
    FOREACH d IN ARRAY days LOOP
        name := 'events_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                name, to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
            RETURN NEXT name;
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION faultline_drop_event_partitions_before(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    name text;
BEGIN
    PERFORM pg_advisory_xact_lock(7378423238785164398);
    PERFORM set_config('lock_timeout', '5s', true);
    FOR name IN
        SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_p[0-9]{8}$' ORDER BY 1
    LOOP
        IF (to_date(substr(name, 9), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff THEN
            EXECUTE format('DROP TABLE IF EXISTS %I', name);
            RETURN NEXT name;
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION faultline_create_event_partitions(date[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION faultline_drop_event_partitions_before(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION faultline_create_event_partitions(date[]) TO faultline_writer;
GRANT EXECUTE ON FUNCTION faultline_drop_event_partitions_before(timestamptz) TO faultline_writer;

GRANT USAGE ON SCHEMA public TO faultline_writer, faultline_reader, faultline_alerter;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO faultline_writer, faultline_reader, faultline_alerter;
-- Events are written through the partitioned parent (COPY, UPDATE when
-- reclassifying); privileges on the parent are what is checked.
GRANT INSERT, UPDATE ON events TO faultline_writer;
GRANT INSERT, UPDATE, DELETE ON rollup_requests, rollup_errors, error_groups TO faultline_writer;
GRANT INSERT, UPDATE ON consumer_offsets TO faultline_writer;
GRANT INSERT, DELETE ON dead_letters TO faultline_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO faultline_writer;

-- +goose Down
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM faultline_writer, faultline_reader, faultline_alerter;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM faultline_writer, faultline_reader, faultline_alerter;
REVOKE ALL ON SCHEMA public FROM faultline_writer, faultline_reader, faultline_alerter;
DROP FUNCTION faultline_drop_event_partitions_before(timestamptz);
DROP FUNCTION faultline_create_event_partitions(date[]);
-- The roles stay: other databases on the server may hold grants to them.
