-- Tables of the sync service.
--
-- Tenancy: every table below `stores` carries store_id in its primary key,
-- its unique keys and its foreign keys, so no row can point across stores
-- and the schema can later be distributed by store_id.
--
-- References from WooCommerce (a product's category, a category's parent)
-- are kept twice: the WooCommerce id as sent (wc_*), and the resolved
-- internal key beside it. The internal key is filled in as soon as the
-- referenced row exists, whatever order the plugin sends things in.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE stores (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (btrim(name) <> ''),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    last_sync_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stored only as SHA-256 hex digests; the plain token is shown
-- once, when it is created.
CREATE TABLE api_tokens (
    store_id   uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (store_id, id)
);

CREATE TABLE categories (
    store_id       uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    wc_category_id bigint NOT NULL CHECK (wc_category_id > 0),
    name           text NOT NULL,
    slug           text,
    wc_parent_id   bigint CHECK (wc_parent_id > 0),
    parent_id      bigint,
    product_count  integer CHECK (product_count >= 0),
    synced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, wc_category_id),
    FOREIGN KEY (store_id, parent_id) REFERENCES categories (store_id, id)
        ON DELETE SET NULL (parent_id)
);
CREATE INDEX categories_wc_parent_idx ON categories (store_id, wc_parent_id);

CREATE TABLE products (
    store_id       uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    wc_product_id  bigint NOT NULL CHECK (wc_product_id > 0),
    name           text NOT NULL,
    sku            text,
    price          numeric CHECK (price >= 0),
    regular_price  numeric CHECK (regular_price >= 0),
    sale_price     numeric CHECK (sale_price >= 0),
    wc_category_id  bigint CHECK (wc_category_id > 0),  -- primary category, as sent
    category_id     bigint,                             -- the same, resolved
    wc_category_ids bigint[] NOT NULL DEFAULT '{}',     -- all its categories, as sent
    category_name  text,
    stock_quantity integer,  -- negative when backordered
    stock_status   text,
    status         text,
    type           text,
    created_at     timestamptz,  -- WooCommerce's timestamps
    updated_at     timestamptz,
    synced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, wc_product_id),
    FOREIGN KEY (store_id, category_id) REFERENCES categories (store_id, id)
        ON DELETE SET NULL (category_id)
);
CREATE INDEX products_wc_category_idx ON products (store_id, wc_category_id);

-- All of a product's categories; products.category_id is the primary one.
-- Joined to categories on (store_id, wc_category_id) when read: a category
-- sync then never has to lock these rows, which keeps concurrent product
-- and category batches free of lock-order cycles.
CREATE TABLE product_categories (
    store_id       uuid NOT NULL,
    product_id     bigint NOT NULL,
    wc_category_id bigint NOT NULL CHECK (wc_category_id > 0),
    position       integer NOT NULL,  -- order as sent; 0 is the primary category
    PRIMARY KEY (store_id, product_id, wc_category_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id) ON DELETE CASCADE
);
CREATE INDEX product_categories_wc_category_idx ON product_categories (store_id, wc_category_id);

-- No column holds a plain email: only its SHA-256 hex digest, enforced here.
CREATE TABLE customers (
    store_id         uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    wc_customer_id   bigint NOT NULL CHECK (wc_customer_id > 0),
    email_hash       text CHECK (email_hash ~ '^[0-9a-f]{64}$'),
    display_name     text,
    total_spent      numeric CHECK (total_spent >= 0),
    order_count      integer CHECK (order_count >= 0),
    first_order_date timestamptz,
    last_order_date  timestamptz,
    created_at       timestamptz,  -- WooCommerce's timestamps
    updated_at       timestamptz,
    synced_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, wc_customer_id)
);
CREATE INDEX customers_email_hash_idx ON customers (store_id, email_hash);

CREATE TABLE sync_logs (
    store_id          uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    entity_type       text NOT NULL CHECK (entity_type IN ('products', 'customers', 'categories')),
    status            text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    records_received  integer NOT NULL CHECK (records_received >= 0),
    records_synced    integer NOT NULL DEFAULT 0,
    records_unchanged integer NOT NULL DEFAULT 0,  -- valid, but older than the stored row
    records_skipped   integer NOT NULL DEFAULT 0,
    error_message     text,
    started_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at      timestamptz,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX sync_logs_started_idx ON sync_logs (store_id, started_at DESC);
-- The few logs still running, for sync_log_start()'s sweep of abandoned ones.
CREATE INDEX sync_logs_running_idx ON sync_logs (store_id, started_at) WHERE status = 'running';

-- What every sync function returns: the outcome of one batch.
CREATE TYPE sync_result AS (
    sync_log_id     uuid,
    status          text,     -- completed or failed
    synced_count    integer,
    unchanged_count integer,
    skipped_count   integer,
    errors          jsonb,    -- [{index, id, reason}] of the records this call skipped
    error_message   text      -- why a failed batch failed
);
