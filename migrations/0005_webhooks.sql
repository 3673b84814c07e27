-- depends: 0004_sync_runs
-- WooCommerce's own webhooks (README, WooCommerce webhooks): each store's
-- secret, encrypted, and the deliveries received, without their bodies.

-- The secret WooCommerce signs deliveries with, pgp_sym_encrypt()ed under the
-- service's WEBHOOK_KEY: a dump of the database alone does not reveal it.
CREATE TABLE webhook_secrets (
    store_id   uuid PRIMARY KEY REFERENCES stores (id) ON DELETE CASCADE,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per signed delivery. body_sha256 tells two deliveries with one
-- delivery id apart (WooCommerce reuses it within a second); the body itself
-- is never kept (it holds personal data). A delivery already seen, same id
-- and same body, is recorded again as 'duplicate'.
CREATE TABLE webhook_deliveries (
    store_id     uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    delivery_id  text,    -- X-WC-Webhook-Delivery-ID; null when absent (never a duplicate)
    webhook_id   bigint,  -- X-WC-Webhook-ID: the webhook in WooCommerce's settings
    topic        text NOT NULL,
    body_sha256  text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
    outcome      text NOT NULL
                 CHECK (outcome IN ('applied', 'unchanged', 'deleted', 'duplicate', 'ignored', 'invalid')),
    reason       text,    -- why ignored, invalid or unchanged; never data
    wc_id        bigint,  -- the resource's WooCommerce id, when it has a valid one
    sync_log_id  uuid,    -- the batch of one that applied it
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sync_log_id) REFERENCES sync_logs (store_id, id)
);
CREATE UNIQUE INDEX webhook_deliveries_seen_idx ON webhook_deliveries (store_id, delivery_id, body_sha256)
    WHERE outcome <> 'duplicate';
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (store_id, received_at DESC);

-- A row a webhook said was deleted (trashed in WooCommerce) comes back only
-- with a record at least as new as the stored one; a row a full sync run
-- marked deleted, with any record (sql/upsert_*.sql).
ALTER TABLE products ADD COLUMN deleted_by_webhook boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT deleted_by_webhook OR deleted_at IS NOT NULL);
ALTER TABLE customers ADD COLUMN deleted_by_webhook boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT deleted_by_webhook OR deleted_at IS NOT NULL);
ALTER TABLE categories ADD COLUMN deleted_by_webhook boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT deleted_by_webhook OR deleted_at IS NOT NULL);
ALTER TABLE orders ADD COLUMN deleted_by_webhook boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT deleted_by_webhook OR deleted_at IS NOT NULL);
