-- depends: 0003_orders
-- Full sync runs (README, Full sync runs): the run, which batch each sync log
-- is an attempt of, what each completed attempt carried, and soft deletion.

ALTER TABLE products ADD COLUMN deleted_at timestamptz;
ALTER TABLE customers ADD COLUMN deleted_at timestamptz;
ALTER TABLE categories ADD COLUMN deleted_at timestamptz;
ALTER TABLE orders ADD COLUMN deleted_at timestamptz;

CREATE TABLE sync_runs (
    store_id     uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    entities     text[] NOT NULL CHECK (cardinality(entities) > 0),
    expected     jsonb NOT NULL DEFAULT '{}',  -- {entity: records}, as the plugin announced
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'aborted')),
    batches      jsonb,  -- {entity: n}, as complete was told
    deleted      jsonb,  -- {entity: rows marked deleted}, once completed
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    PRIMARY KEY (store_id, id)
);
-- One run at a time per store.
CREATE UNIQUE INDEX sync_runs_one_running_idx ON sync_runs (store_id) WHERE status = 'running';
CREATE INDEX sync_runs_started_idx ON sync_runs (store_id, started_at DESC);

-- A batch of a run is one or more attempts, each a sync log; the latest
-- started is the one that counts. carried_ids: the WooCommerce ids a run's
-- attempt carried (stored, unchanged, or skipped with a valid id), kept
-- until the run finishes.
ALTER TABLE sync_logs
    ADD COLUMN run_id uuid,
    ADD COLUMN run_batch integer CHECK (run_batch > 0),
    ADD COLUMN carried_ids bigint[],
    ADD COLUMN error_code text,  -- SQLSTATE or error class of a failed batch; never data
    ADD CONSTRAINT sync_logs_run_fkey FOREIGN KEY (store_id, run_id) REFERENCES sync_runs (store_id, id),
    ADD CONSTRAINT sync_logs_run_check CHECK ((run_id IS NULL) = (run_batch IS NULL));
CREATE INDEX sync_logs_run_idx ON sync_logs (store_id, run_id, entity_type, run_batch, started_at)
    WHERE run_id IS NOT NULL;
CREATE INDEX sync_logs_failed_idx ON sync_logs (store_id, started_at DESC) WHERE status = 'failed';

-- The functions whose signatures change, in a database migrated before (sql/sync_batch.sql
-- creates the new ones).
DROP FUNCTION IF EXISTS sync_log_start(uuid, text, integer);
DROP FUNCTION IF EXISTS sync_log_fail(uuid, uuid, text);
