DROP FUNCTION IF EXISTS sync_log_start(uuid, text, integer, uuid, integer, bigint[]);
DROP FUNCTION IF EXISTS sync_log_fail(uuid, uuid, text, text);
ALTER TABLE sync_logs DROP COLUMN run_id, DROP COLUMN run_batch, DROP COLUMN carried_ids, DROP COLUMN error_code;
DROP TABLE sync_runs;
ALTER TABLE products DROP COLUMN deleted_at;
ALTER TABLE customers DROP COLUMN deleted_at;
ALTER TABLE categories DROP COLUMN deleted_at;
-- The sql/ files of the checkout rolled back to are applied again by the next migrate.
DELETE FROM _sql_files;
