-- The functions of sql/sync_runs.sql and those whose signatures changed; the next
-- migrate applies the sql/ files of the checkout rolled back to.
DROP FUNCTION IF EXISTS sync_entities, sync_entity_key, run_batch_limit, record_ids, number_ranges,
    sync_run_is_running, sync_run_must_run, sync_run_start, sync_run_batch_check, sync_run_batch,
    sync_run_latest_attempts, sync_run_problems, describe_run_problems, sync_run_sweep, sync_run_release,
    sync_run_complete, sync_run_abort, sync_run_status, sync_status, store_must_be_active,
    sync_log_start(uuid, text, integer, uuid, integer, bigint[]), sync_log_fail(uuid, uuid, text, text);
DROP VIEW IF EXISTS customer_order_stats, category_sales, category_sales_rollup;  -- they read deleted_at
DELETE FROM _sql_files;
DROP INDEX sync_logs_failed_idx;
ALTER TABLE sync_logs DROP COLUMN run_id, DROP COLUMN run_batch, DROP COLUMN carried_ids, DROP COLUMN error_code;
DROP TABLE sync_runs;
ALTER TABLE products DROP COLUMN deleted_at;
ALTER TABLE customers DROP COLUMN deleted_at;
ALTER TABLE categories DROP COLUMN deleted_at;
ALTER TABLE orders DROP COLUMN deleted_at;
