-- Running one batch: its sync_logs row, its transaction, its outcome.
--
-- The HTTP service does it in three steps, each its own transaction:
--   1. sync_log_start()  commits a 'running' row, visible while the batch runs;
--   2. upsert_<entity>(store, records, sync_log_id)  writes the rows, completes
--      the log and sets stores.last_sync_at, all or nothing;
--   3. sync_log_fail()  only if step 2 died outright (connection lost,
--      statement timeout), to record the failure after the rollback.
-- From psql, upsert_<entity>(store, records) alone does all of it, creating
-- its own log row.

-- How long a log may stay 'running' without its batch holding it before it
-- counts as abandoned: far beyond the moment between a log's start and its
-- batch's first statement, and beyond any statement timeout.
CREATE OR REPLACE FUNCTION abandoned_after() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '1 hour' $$;

-- Raises unless the store exists and is active.
CREATE OR REPLACE FUNCTION store_must_be_active(p_store_id uuid) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_status text;
BEGIN
    SELECT status INTO v_status FROM stores WHERE id = p_store_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'store % does not exist', p_store_id USING ERRCODE = 'foreign_key_violation';
    ELSIF v_status <> 'active' THEN
        RAISE EXCEPTION 'store % is %', p_store_id, v_status USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- A batch of a full sync run (sql/sync_runs.sql) names its run and batch
-- number; the ids of records its caller skipped with a valid id
-- (p_skipped_ids) count as carried, as the store still has them.
CREATE OR REPLACE FUNCTION sync_log_start(p_store_id uuid, p_entity_type text, p_records_received integer,
                                          p_run_id uuid DEFAULT NULL, p_run_batch integer DEFAULT NULL,
                                          p_skipped_ids bigint[] DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM store_must_be_active(p_store_id);
    IF p_run_id IS NOT NULL OR p_run_batch IS NOT NULL THEN
        PERFORM sync_run_batch_check(p_store_id, p_run_id, p_entity_type, p_run_batch);
    END IF;
    -- A batch that died without an outcome (its server killed, or the
    -- database away when its failure was to be recorded) left its log
    -- 'running'; the store's next batch ends it as failed. A live batch
    -- holds its log locked (sync_batch), so SKIP LOCKED passes it over.
    -- The outer condition repeats the inner one: the rows it reads are the
    -- store's abandoned logs (none, mostly), not all its logs, each of which
    -- a plan made while the table was small could pair with a scan of the
    -- whole table (quadratic in the logs).
    UPDATE sync_logs
       SET status = 'failed', completed_at = clock_timestamp(),
           error_message = 'abandoned: the batch ended without recording an outcome',
           error_code = 'abandoned', carried_ids = NULL,
           records_synced = 0, records_unchanged = 0, records_skipped = records_received
     WHERE store_id = p_store_id AND status = 'running'
       AND started_at < clock_timestamp() - abandoned_after()
       AND id IN (SELECT id FROM sync_logs
                   WHERE store_id = p_store_id AND status = 'running'
                     AND started_at < clock_timestamp() - abandoned_after()
                     FOR UPDATE SKIP LOCKED);
    INSERT INTO sync_logs (store_id, entity_type, records_received, run_id, run_batch, carried_ids)
    VALUES (p_store_id, p_entity_type, p_records_received, p_run_id, p_run_batch,
            CASE WHEN p_run_id IS NOT NULL THEN coalesce(p_skipped_ids, '{}') END)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- p_error_code: the SQLSTATE or error class, shown by sync_status(); the
-- message stays here, as it may quote data.
CREATE OR REPLACE FUNCTION sync_log_fail(p_store_id uuid, p_sync_log_id uuid, p_error_message text,
                                         p_error_code text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
    UPDATE sync_logs
       SET status = 'failed', error_message = p_error_message, error_code = p_error_code,
           completed_at = clock_timestamp(), carried_ids = NULL,
           records_synced = 0, records_unchanged = 0, records_skipped = records_received
     WHERE store_id = p_store_id AND id = p_sync_log_id AND status = 'running'
$$;

-- What became of a batch whose caller lost its connection or timed out:
-- its log, marked failed unless the batch completed. sync_log_fail() waits
-- for the batch if it still runs (its transaction holds the log's row lock,
-- and a backend notices a cut connection only when it answers), so what
-- this returns is final.
CREATE OR REPLACE FUNCTION sync_log_settle(p_store_id uuid, p_sync_log_id uuid, p_error_message text,
                                           p_error_code text, OUT status text, OUT records_synced integer,
                                           OUT records_unchanged integer, OUT records_skipped integer)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log_fail(p_store_id, p_sync_log_id, p_error_message, p_error_code);
    SELECT l.status, l.records_synced, l.records_unchanged, l.records_skipped
      INTO status, records_synced, records_unchanged, records_skipped
      FROM sync_logs l
     WHERE l.store_id = p_store_id AND l.id = p_sync_log_id;
END
$$;

-- Runs the entity's rows function (entities.rows_function: upsert_product_rows(store, records)
-- for products) for one batch and completes its log. Any error inside rolls the batch's rows
-- back (the inner block is a subtransaction) and ends the log as 'failed' with the error; the result
-- then says 'failed' instead of raising, so the failure is recorded even
-- when the caller's connection is the only thing that would have said so.
--
-- p_records may hold fewer records than the log received: the HTTP service
-- sends only those that passed its own validation, and counts the rest as
-- skipped through records_received.
CREATE OR REPLACE FUNCTION sync_batch(p_store_id uuid, p_entity_type text, p_records jsonb, p_sync_log_id uuid)
RETURNS sync_result
LANGUAGE plpgsql AS $$
DECLARE
    v_received integer;
    v_unchanged integer;
    v_errors jsonb;
    v_synced integer;
    v_skipped integer;
    v_message text;
    v_run_id uuid;
    v_rows_function text;  -- the entity's (the table entities)
    v_carried bigint[];
BEGIN
    IF jsonb_typeof(p_records) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'records must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_sync_log_id IS NULL THEN
        p_sync_log_id := sync_log_start(p_store_id, p_entity_type, jsonb_array_length(p_records));
    END IF;
    SELECT l.records_received, l.run_id, e.rows_function INTO v_received, v_run_id, v_rows_function
      FROM sync_logs l
      JOIN entities e ON e.name = l.entity_type
     WHERE l.store_id = p_store_id AND l.id = p_sync_log_id
       AND l.entity_type = p_entity_type AND l.status = 'running'
       FOR UPDATE OF l;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no running % sync % for store %', p_entity_type, p_sync_log_id, p_store_id
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_received < jsonb_array_length(p_records) THEN
        RAISE EXCEPTION 'sync % received % records, not %', p_sync_log_id, v_received, jsonb_array_length(p_records)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    BEGIN
        EXECUTE format('SELECT unchanged, errors FROM %I($1, $2)', v_rows_function)
           INTO v_unchanged, v_errors USING p_store_id, p_records;
        v_skipped := v_received - jsonb_array_length(p_records) + jsonb_array_length(v_errors);
        v_synced := v_received - v_skipped - v_unchanged;
        -- What a run's batch carried, in the batch's own transaction; kept only while the run
        -- runs (one aborted meanwhile has no use for it; an abort or a completion waits for this
        -- batch, sync_run_is_running() says why). Read here, not in the UPDATE below:
        -- a plan made for this call's values would read every record's id even for a batch of
        -- no run (the planner works out an immutable function of constants in advance).
        IF sync_run_is_running(p_store_id, v_run_id) THEN
            v_carried := record_ids(p_entity_type, p_records);
        END IF;

        UPDATE sync_logs
           SET status = 'completed', records_synced = v_synced, records_unchanged = v_unchanged,
               records_skipped = v_skipped, completed_at = clock_timestamp(),
               carried_ids = CASE WHEN v_carried IS NOT NULL THEN carried_ids || v_carried END
         WHERE store_id = p_store_id AND id = p_sync_log_id;
        UPDATE stores SET last_sync_at = greatest(last_sync_at, now()) WHERE id = p_store_id;
        RETURN (p_sync_log_id, 'completed', v_synced, v_unchanged, v_skipped, v_errors, NULL)::sync_result;
    EXCEPTION WHEN OTHERS THEN
        v_message := SQLERRM;
        PERFORM sync_log_fail(p_store_id, p_sync_log_id, v_message, SQLSTATE);
        RETURN (p_sync_log_id, 'failed', 0, 0, v_received, '[]'::jsonb, v_message)::sync_result;
    END;
END
$$;
