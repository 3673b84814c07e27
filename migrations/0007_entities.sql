-- depends: 0006_digest_checks
-- The synced entities, one row each: the one list the database holds of them. sync_logs
-- references it; sql/sync_runs.sql's sync_entities() and sql/sync_batch.sql's dispatch read it;
-- the service refuses to start unless it names the entities of service/batch/entities.py. Adding an
-- entity adds its row, in the migration that creates its table (docs/architecture.md).
CREATE TABLE entities (
    name          text PRIMARY KEY,           -- its table, its route's last segment, sync_logs.entity_type
    id_column     text NOT NULL UNIQUE,       -- its WooCommerce id, the upsert key with store_id
    rows_function text NOT NULL UNIQUE,       -- <function>(store_id, records): validates and writes a batch
    position      smallint NOT NULL UNIQUE    -- the order a store's data goes in (what refers to what after it)
);
INSERT INTO entities (name, id_column, rows_function, position) VALUES
    ('categories', 'wc_category_id', 'upsert_category_rows', 1),
    ('products', 'wc_product_id', 'upsert_product_rows', 2),
    ('customers', 'wc_customer_id', 'upsert_customer_rows', 3),
    ('orders', 'wc_order_id', 'upsert_order_rows', 4);

ALTER TABLE sync_logs DROP CONSTRAINT sync_logs_entity_type_check,
    ADD CONSTRAINT sync_logs_entity_type_fkey FOREIGN KEY (entity_type) REFERENCES entities (name);
