-- What the entities' rows functions (upsert_<singular>_rows, sql/upsert_<entity>.sql)
-- share: how a batch's records are read and reported back, and when a record may
-- replace its stored row.
--
-- They run for every record, so, like the readers of sql/json_values.sql, each is
-- one SQL SELECT that the planner inlines into the statement that calls it (no SET
-- clause, not STRICT, no more immutable than its body): a batch costs what it
-- would with the expression written out.

-- The batch's records, each with its index (from 0, as reported back) and, when
-- it is not a JSON object, the reason it is skipped. In a FROM clause, inlined as
-- a subquery of jsonb_array_elements.
CREATE OR REPLACE FUNCTION batch_records(records jsonb, OUT idx bigint, OUT r jsonb, OUT record_error text)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT e.ord - 1, e.r, CASE WHEN jsonb_typeof(e.r) <> 'object' THEN 'record: must be a JSON object' END
      FROM jsonb_array_elements(records) WITH ORDINALITY AS e (r, ord)
$$;

-- A record's WooCommerce id as sent: its id field (wc_product_id for a product),
-- else WooCommerce's own id; a JSON null counts as absent. record_ids()
-- (sql/sync_runs.sql) reads ids the same way.
CREATE OR REPLACE FUNCTION record_id(r jsonb, id_field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(r -> id_field, 'null'), r -> 'id')
$$;

-- The id of a record as reported back with its error: what was sent, when
-- it is a short scalar, so the client can find the record.
CREATE OR REPLACE FUNCTION reported_id(value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) IN ('number', 'string') AND length(value::text) <= 40 THEN value
    END
$$;

-- A skipped record as reported back: {index, id, reason}. (STABLE as
-- jsonb_build_object is.)
CREATE OR REPLACE FUNCTION skipped_record(idx bigint, id jsonb, reason text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('index', idx, 'id', reported_id(id), 'reason', reason)
$$;

-- Whether a record may replace its stored row (the WHERE of the upsert's ON
-- CONFLICT DO UPDATE): unless it is older than the row by updated_at (either
-- without one lets it through), so that a retried old batch cannot undo newer
-- data. A full sync run's deleted mark goes with any record; a webhook's
-- (WooCommerce trashed it) only with a record as new as the row, as for a live row.
CREATE OR REPLACE FUNCTION record_replaces_row(record_updated_at timestamptz, row_updated_at timestamptz,
                                               row_deleted_at timestamptz, row_deleted_by_webhook boolean)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT row_updated_at IS NULL OR record_updated_at IS NULL OR record_updated_at >= row_updated_at
        OR (row_deleted_at IS NOT NULL AND NOT row_deleted_by_webhook)
$$;
