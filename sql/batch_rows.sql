-- What the entities' rows functions (upsert_<singular>_rows, sql/upsert_<entity>.sql)
-- share: how a batch's records are read and reported back, and when a record may
-- replace its stored row.
--
-- They run for every record, so, like the readers of sql/json_values.sql, each is
-- one SQL SELECT that the planner inlines into the statement that calls it (no SET
-- clause, not STRICT, no more immutable than its body): a batch costs what it
-- would with the expression written out.

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
