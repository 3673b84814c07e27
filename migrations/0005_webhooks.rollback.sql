-- The functions of sql/webhooks.sql; the next migrate applies the sql/ files of the
-- checkout rolled back to (the upserts of then do not know deleted_by_webhook).
DROP FUNCTION IF EXISTS webhook_secret_set, webhook_secret, mark_deleted, webhook_delivery_seen,
    webhook_delivery_record;
DELETE FROM _sql_files;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_secrets;
ALTER TABLE products DROP COLUMN deleted_by_webhook;
ALTER TABLE customers DROP COLUMN deleted_by_webhook;
ALTER TABLE categories DROP COLUMN deleted_by_webhook;
ALTER TABLE orders DROP COLUMN deleted_by_webhook;
