-- Full sync runs: the plugin sends everything, in numbered batches per
-- entity, then says how many it sent; the rows the store no longer has are
-- marked deleted (deleted_at). Modelled on S3's multipart upload: a batch may
-- be re-sent, and its latest attempt (the sync log started last) replaces
-- the earlier ones. Completing checks that the latest attempt of every batch
-- 1..n completed. From psql:
--
--   SELECT sync_run_start(store, ARRAY['products'], '{"products": 2500}');
--   SELECT * FROM sync_run_batch(store, run, 'products', 1, '[...]');   -- 1, 2, 3...
--   SELECT * FROM sync_run_complete(store, run, '{"products": 3}');
--   SELECT sync_run_abort(store, run);  SELECT sync_run_status(store, run);  SELECT sync_status(store);
--
-- Errors a client can act on have SQLSTATEs of their own (the HTTP layer
-- maps them, service/http/base.py); their messages quote ids and numbers only:
--   WR000 bad input   WR001 no such run in the store   WR002 the run is over
--   WR003 another run is running   WR004 batches missing or not completed
--   WR005 the run does not cover the entity
-- WR003's and WR004's DETAIL is JSON, for the client.

-- The entities a run may cover, with the column of their WooCommerce id (the
-- table is the entity's name), in the order a store's data goes in: the table
-- entities (migrations/0007_entities.sql), which the functions below read.
CREATE OR REPLACE FUNCTION sync_entities(OUT entity text, OUT id_column text)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT name, id_column FROM entities ORDER BY position
$$;

CREATE OR REPLACE FUNCTION sync_entity_key(p_entity text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT id_column FROM entities WHERE name = p_entity
$$;

-- Most batches one entity of a run may have.
CREATE OR REPLACE FUNCTION run_batch_limit() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000000 $$;

-- The valid WooCommerce ids of a batch's records, valid records or not (read
-- as the upsert functions read them, record_id()). The id column is looked up
-- once (OFFSET 0 keeps the planner from moving the lookup into every record's
-- expression, where json_id() could not be inlined either).
CREATE OR REPLACE FUNCTION record_ids(p_entity text, p_records jsonb) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(id), '{}')
      FROM (SELECT json_id(record_id(r, key.id_column)) AS id
              FROM jsonb_array_elements(p_records) AS r,
                   (SELECT sync_entity_key(p_entity) OFFSET 0) AS key (id_column)) AS ids
     WHERE id IS NOT NULL
$$;

-- [[first, last], ...]: distinct numbers as ranges ({3, 4, 5, 9} -> [[3, 5], [9, 9]]).
CREATE OR REPLACE FUNCTION number_ranges(p_numbers integer[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_array(first, last) ORDER BY first), '[]')
      FROM (SELECT min(n) AS first, max(n) AS last
              FROM (SELECT n, n - row_number() OVER (ORDER BY n) AS island FROM unnest(p_numbers) AS n) AS numbered
             GROUP BY island) AS ranges
$$;

-- Whether the run is running; if it is, its row stays key-share locked until the transaction
-- ends. A batch asks before it keeps what it carried: an abort or a completion (which lock the
-- row for update) then either committed first and is seen here, or waits for the batch and
-- releases what it carried, which would otherwise outlive the run.
CREATE OR REPLACE FUNCTION sync_run_is_running(p_store_id uuid, p_run_id uuid) RETURNS boolean
LANGUAGE sql AS $$
    SELECT EXISTS (SELECT FROM sync_runs
                    WHERE store_id = p_store_id AND id = p_run_id AND status = 'running' FOR KEY SHARE)
$$;

-- Raises unless p_run (the row read for p_run_id, NULL when none) is running.
CREATE OR REPLACE FUNCTION sync_run_must_run(p_run sync_runs, p_run_id uuid) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_run.id IS NULL THEN
        RAISE EXCEPTION 'there is no sync run % in this store', p_run_id USING ERRCODE = 'WR001';
    ELSIF p_run.status <> 'running' THEN
        RAISE EXCEPTION 'sync run % is %, no longer running', p_run_id, p_run.status USING ERRCODE = 'WR002';
    END IF;
END
$$;

-- Starts a run of the store over p_entities; p_expected: {entity: records}, optional.
CREATE OR REPLACE FUNCTION sync_run_start(p_store_id uuid, p_entities text[], p_expected jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM store_must_be_active(p_store_id);
    IF coalesce(cardinality(p_entities), 0) = 0
       OR EXISTS (SELECT FROM unnest(p_entities) AS e WHERE sync_entity_key(e) IS NULL)
       OR cardinality(p_entities) <> (SELECT count(DISTINCT e) FROM unnest(p_entities) AS e) THEN
        RAISE EXCEPTION 'entities: a list of distinct entities among %',
              (SELECT string_agg(entity, ', ') FROM sync_entities()) USING ERRCODE = 'WR000';
    END IF;
    p_expected := coalesce(p_expected, '{}');
    IF jsonb_typeof(p_expected) <> 'object'
       OR EXISTS (SELECT FROM jsonb_each(p_expected) AS x
                   WHERE x.key <> ALL (p_entities) OR NOT json_bigint(x.value) >= 0 OR json_bigint(x.value) IS NULL) THEN
        RAISE EXCEPTION 'expected: an object giving entities of the run a non-negative number of records'
              USING ERRCODE = 'WR000';
    END IF;
    BEGIN
        INSERT INTO sync_runs (store_id, entities, expected) VALUES (p_store_id, p_entities, p_expected)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- sync_runs_one_running_idx
        SELECT id INTO v_id FROM sync_runs WHERE store_id = p_store_id AND status = 'running';
        RAISE EXCEPTION 'sync run % of this store is running: complete or abort it first', v_id
              USING ERRCODE = 'WR003', DETAIL = jsonb_build_object('runId', v_id)::text;
    END;
    RETURN v_id;
END
$$;

-- Called by sync_log_start() for a batch of a run: raises unless the run
-- is the store's, running and covering the entity. The run row stays
-- key-share locked until the log's transaction ends, so a batch cannot
-- start while sync_run_complete() or sync_run_abort() holds it.
CREATE OR REPLACE FUNCTION sync_run_batch_check(p_store_id uuid, p_run_id uuid, p_entity text, p_batch integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_run sync_runs;
BEGIN
    IF p_run_id IS NULL OR p_batch IS NULL OR p_batch NOT BETWEEN 1 AND run_batch_limit() THEN
        RAISE EXCEPTION 'a batch of a run needs the run id and a batch number from 1 to %', run_batch_limit()
              USING ERRCODE = 'WR000';
    END IF;
    SELECT * INTO v_run FROM sync_runs WHERE store_id = p_store_id AND id = p_run_id FOR KEY SHARE;
    PERFORM sync_run_must_run(v_run, p_run_id);
    IF p_entity IS NULL OR p_entity <> ALL (v_run.entities) THEN
        RAISE EXCEPTION 'sync run % covers %, not this entity', p_run_id, array_to_string(v_run.entities, ', ')
              USING ERRCODE = 'WR005';
    END IF;
END
$$;

-- One batch of a run, as the HTTP service sends it (sync_log_start, then the upsert).
CREATE OR REPLACE FUNCTION sync_run_batch(p_store_id uuid, p_run_id uuid, p_entity text, p_batch integer,
                                          p_records jsonb)
RETURNS sync_result
LANGUAGE sql AS $$
    SELECT sync_batch(p_store_id, p_entity, p_records,
                      sync_log_start(p_store_id, p_entity, jsonb_array_length(p_records), p_run_id, p_batch))
$$;

-- The latest attempt (the sync log started last) of each batch of the run.
CREATE OR REPLACE FUNCTION sync_run_latest_attempts(p_store_id uuid, p_run_id uuid)
RETURNS TABLE (entity text, batch integer, status text, records_received integer, records_synced integer,
               records_unchanged integer, records_skipped integer, carried_ids bigint[])
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (l.entity_type, l.run_batch)
           l.entity_type, l.run_batch, l.status, l.records_received, l.records_synced,
           l.records_unchanged, l.records_skipped, l.carried_ids
      FROM sync_logs l
     WHERE l.store_id = p_store_id AND l.run_id = p_run_id
     ORDER BY l.entity_type, l.run_batch, l.started_at DESC, l.id DESC
$$;

-- What stops the run from completing with p_batches ({entity: n}), per
-- entity, as ranges of batch numbers: missing (no attempt), failed or
-- running (the latest attempt), unexpected (beyond n). '{}' when nothing.
CREATE OR REPLACE FUNCTION sync_run_problems(p_store_id uuid, p_run_id uuid, p_batches jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH latest AS MATERIALIZED (
        SELECT * FROM sync_run_latest_attempts(p_store_id, p_run_id)
    ),
    problems AS (
        SELECT b.key AS entity,
               ARRAY(SELECT g FROM generate_series(1, b.value::integer) AS g
                      WHERE g NOT IN (SELECT l.batch FROM latest l WHERE l.entity = b.key)) AS missing,
               ARRAY(SELECT l.batch FROM latest l
                      WHERE l.entity = b.key AND l.batch <= b.value::integer AND l.status = 'failed') AS failed,
               ARRAY(SELECT l.batch FROM latest l
                      WHERE l.entity = b.key AND l.batch <= b.value::integer AND l.status = 'running') AS running,
               ARRAY(SELECT l.batch FROM latest l WHERE l.entity = b.key AND l.batch > b.value::integer) AS unexpected
          FROM jsonb_each(p_batches) AS b
    )
    SELECT coalesce(jsonb_object_agg(entity, jsonb_strip_nulls(jsonb_build_object(
               'missing', CASE WHEN missing <> '{}' THEN number_ranges(missing) END,
               'failed', CASE WHEN failed <> '{}' THEN number_ranges(failed) END,
               'running', CASE WHEN running <> '{}' THEN number_ranges(running) END,
               'unexpected', CASE WHEN unexpected <> '{}' THEN number_ranges(unexpected) END))), '{}')
      FROM problems
     WHERE missing || failed || running || unexpected <> '{}'
$$;

-- sync_run_problems() in words: 'products batches missing 3, 7-9; failed 5'.
CREATE OR REPLACE FUNCTION describe_run_problems(p_problems jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(e.key || ' batches ' || (
               SELECT string_agg(k.kind || ' ' || (
                          SELECT string_agg(CASE WHEN r ->> 0 = r ->> 1 THEN r ->> 0 ELSE (r ->> 0) || '-' || (r ->> 1) END,
                                            ', ')
                            FROM jsonb_array_elements(e.value -> k.kind) AS r), '; ' ORDER BY k.position)
                 FROM unnest(ARRAY['missing', 'failed', 'running', 'unexpected']) WITH ORDINALITY AS k (kind, position)
                WHERE e.value ? k.kind), ' | ' ORDER BY e.key)
      FROM jsonb_each(p_problems) AS e
$$;

-- Marks deleted the live rows of the entity in the store that no latest
-- attempt of the run carried, except those a batch wrote since the run
-- started (the store had them then: a batch outside the run, or an attempt
-- since superseded). One set-based statement; returns how many.
CREATE OR REPLACE FUNCTION sync_run_sweep(p_store_id uuid, p_run sync_runs, p_entity text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    EXECUTE format($sql$
        WITH carried AS (
            SELECT DISTINCT unnest(a.carried_ids) AS wc_id
              FROM sync_run_latest_attempts($1, $2) AS a
             WHERE a.entity = $3 AND a.status = 'completed'
        )
        UPDATE %I AS t SET deleted_at = now()
         WHERE t.store_id = $1 AND t.deleted_at IS NULL AND t.synced_at < $4
           AND NOT EXISTS (SELECT FROM carried c WHERE c.wc_id = t.%I)
    $sql$, p_entity, sync_entity_key(p_entity))
    USING p_store_id, p_run.id, p_entity, p_run.started_at;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

-- A finished run's carried ids are of no more use.
CREATE OR REPLACE FUNCTION sync_run_release(p_store_id uuid, p_run_id uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE sync_logs SET carried_ids = NULL
     WHERE store_id = p_store_id AND run_id = p_run_id AND carried_ids IS NOT NULL AND status <> 'running'
$$;

-- Completes the run, p_batches saying how many batches of each of its
-- entities were sent. Refuses (WR004, naming the batches) unless the latest
-- attempt of every batch 1..n completed and none beyond n was sent; then,
-- in this one transaction, sweeps each entity and returns how many rows of
-- each it marked deleted.
CREATE OR REPLACE FUNCTION sync_run_complete(p_store_id uuid, p_run_id uuid, p_batches jsonb)
RETURNS TABLE (entity text, rows_deleted integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_run sync_runs;
    v_problems jsonb;
    v_deleted jsonb := '{}';
    v_entity text;
BEGIN
    -- Locked before anything is read: a batch of the run starting now waits,
    -- then finds the run over; one running now has a 'running' log, refused below.
    SELECT * INTO v_run FROM sync_runs AS r WHERE r.store_id = p_store_id AND r.id = p_run_id FOR UPDATE;
    PERFORM sync_run_must_run(v_run, p_run_id);
    IF jsonb_typeof(p_batches) IS DISTINCT FROM 'object'
       OR ARRAY(SELECT k FROM jsonb_object_keys(p_batches) AS k ORDER BY k)
          <> ARRAY(SELECT e FROM unnest(v_run.entities) AS e ORDER BY e)
       OR EXISTS (SELECT FROM jsonb_each(p_batches) AS b
                   WHERE json_bigint(b.value) IS NULL OR json_bigint(b.value) NOT BETWEEN 0 AND run_batch_limit()) THEN
        RAISE EXCEPTION 'batches: the number of batches sent (0 to %) of each entity of the run, and only those: %',
              run_batch_limit(), array_to_string(v_run.entities, ', ') USING ERRCODE = 'WR000';
    END IF;
    v_problems := sync_run_problems(p_store_id, p_run_id, p_batches);
    IF v_problems <> '{}' THEN
        RAISE EXCEPTION 'sync run % cannot complete: %', p_run_id, describe_run_problems(v_problems)
              USING ERRCODE = 'WR004', DETAIL = jsonb_build_object('batches', v_problems)::text;
    END IF;
    FOREACH v_entity IN ARRAY v_run.entities LOOP
        v_deleted := v_deleted || jsonb_build_object(v_entity, sync_run_sweep(p_store_id, v_run, v_entity));
    END LOOP;
    UPDATE sync_runs AS r
       SET status = 'completed', finished_at = clock_timestamp(), deleted = v_deleted,
           batches = (SELECT jsonb_object_agg(b.key, json_bigint(b.value)) FROM jsonb_each(p_batches) AS b)
     WHERE r.store_id = p_store_id AND r.id = p_run_id;
    PERFORM sync_run_release(p_store_id, p_run_id);
    RETURN QUERY SELECT d.key, d.value::integer FROM jsonb_each(v_deleted) AS d ORDER BY d.key;
END
$$;

-- Ends the run, marking nothing deleted.
CREATE OR REPLACE FUNCTION sync_run_abort(p_store_id uuid, p_run_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_run sync_runs;
BEGIN
    SELECT * INTO v_run FROM sync_runs WHERE store_id = p_store_id AND id = p_run_id FOR UPDATE;
    PERFORM sync_run_must_run(v_run, p_run_id);
    UPDATE sync_runs SET status = 'aborted', finished_at = clock_timestamp()
     WHERE store_id = p_store_id AND id = p_run_id;
    PERFORM sync_run_release(p_store_id, p_run_id);
END
$$;

-- The run as the API shows it (GET /api/sync/runs/<id>); NULL when the store has no such run.
-- Per entity, the latest attempt of each batch counts: a re-sent batch replaces the earlier.
-- progress: records received / expected, at most 1, when expected was given.
CREATE OR REPLACE FUNCTION sync_run_status(p_store_id uuid, p_run_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'runId', r.id, 'status', r.status, 'startedAt', r.started_at, 'finishedAt', r.finished_at,
               'batches', r.batches, 'deleted', r.deleted,
               'entities', (
                   SELECT jsonb_object_agg(s.entity, s.stats)
                     FROM (SELECT e.entity, jsonb_build_object(
                                  'batchesReceived', count(a.batch),
                                  'recordsReceived', coalesce(sum(a.records_received), 0),
                                  'recordsSynced', coalesce(sum(a.records_synced), 0),
                                  'recordsUnchanged', coalesce(sum(a.records_unchanged), 0),
                                  'recordsSkipped', coalesce(sum(a.records_skipped), 0),
                                  'failedBatches', coalesce(jsonb_agg(a.batch ORDER BY a.batch)
                                                                FILTER (WHERE a.status = 'failed'), '[]'),
                                  'runningBatches', coalesce(jsonb_agg(a.batch ORDER BY a.batch)
                                                                 FILTER (WHERE a.status = 'running'), '[]'),
                                  'expected', r.expected -> e.entity,
                                  'progress', CASE WHEN r.expected ? e.entity THEN
                                      round(least(1, coalesce(sum(a.records_received), 0)
                                                     / greatest((r.expected ->> e.entity)::numeric, 1)), 4) END
                              ) AS stats
                             FROM unnest(r.entities) AS e (entity)
                             LEFT JOIN sync_run_latest_attempts(r.store_id, r.id) AS a ON a.entity = e.entity
                            GROUP BY e.entity) AS s))
      FROM sync_runs r
     WHERE r.store_id = p_store_id AND r.id = p_run_id
$$;

-- The store's sync state (GET /api/sync/status): per entity the live and
-- deleted rows and the last completed batch; the latest run; the last 10
-- failed batches (their error code, never their message: it may quote data).
-- NULL for an unknown store.
CREATE OR REPLACE FUNCTION sync_status(p_store_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_entities jsonb := '{}';
    v_entity text;
    v_live bigint;
    v_deleted bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM stores WHERE id = p_store_id) THEN
        RETURN NULL;
    END IF;
    FOR v_entity IN SELECT entity FROM sync_entities() LOOP
        EXECUTE format('SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
                          FROM %I WHERE store_id = $1', v_entity)
           INTO v_live, v_deleted USING p_store_id;
        v_entities := v_entities || jsonb_build_object(v_entity, jsonb_build_object(
            'live', v_live, 'deleted', v_deleted,
            'lastSyncAt', (SELECT completed_at FROM sync_logs
                            WHERE store_id = p_store_id AND entity_type = v_entity AND status = 'completed'
                            ORDER BY started_at DESC LIMIT 1)));
    END LOOP;
    RETURN jsonb_build_object(
        'lastSyncAt', (SELECT last_sync_at FROM stores WHERE id = p_store_id),
        'entities', v_entities,
        'latestRun', sync_run_status(p_store_id, (SELECT id FROM sync_runs WHERE store_id = p_store_id
                                                  ORDER BY started_at DESC LIMIT 1)),
        'failedBatches', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'syncLogId', f.id, 'entity', f.entity_type, 'failedAt', f.completed_at,
                       'errorCode', f.error_code, 'runId', f.run_id, 'batch', f.run_batch) ORDER BY f.started_at DESC), '[]')
              FROM (SELECT * FROM sync_logs WHERE store_id = p_store_id AND status = 'failed'
                     ORDER BY started_at DESC LIMIT 10) AS f));
END
$$;
