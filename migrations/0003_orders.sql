-- depends: 0002_sql_files
-- Orders and their line items (sql/upsert_orders.sql writes them).
--
-- As elsewhere, references are kept twice: the WooCommerce id as sent
-- (wc_customer_id, wc_product_id) and the internal key beside it, filled in
-- as soon as the customer or product exists, whichever arrives first.
-- No name, address, phone or IP of the buyer is stored: the email only as
-- its SHA-256 hex digest (as customers.email_hash), the country as sent.

CREATE TABLE orders (
    store_id        uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    wc_order_id     bigint NOT NULL CHECK (wc_order_id > 0),
    status          text NOT NULL,
    currency        text,
    total           numeric CHECK (total >= 0),
    subtotal        numeric CHECK (subtotal >= 0),
    total_tax       numeric CHECK (total_tax >= 0),
    shipping_total  numeric CHECK (shipping_total >= 0),
    discount_total  numeric CHECK (discount_total >= 0),
    wc_customer_id  bigint CHECK (wc_customer_id > 0),  -- as sent; NULL: a guest
    customer_id     bigint,                             -- the same, resolved
    email_hash      text CHECK (email_hash ~ '^[0-9a-f]{64}$'),
    billing_country text,
    created_at      timestamptz,  -- WooCommerce's timestamps
    updated_at      timestamptz,
    paid_at         timestamptz,
    completed_at    timestamptz,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, wc_order_id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id)
        ON DELETE SET NULL (customer_id)
);
-- A customer's orders: resolving them when the customer arrives, and their figures.
CREATE INDEX orders_wc_customer_idx ON orders (store_id, wc_customer_id);

-- An order's items, replaced whenever the order is written.
CREATE TABLE order_items (
    store_id        uuid NOT NULL,
    order_id        bigint NOT NULL,
    position        integer NOT NULL CHECK (position >= 0),  -- order as sent
    wc_line_item_id bigint CHECK (wc_line_item_id > 0),
    wc_product_id   bigint CHECK (wc_product_id > 0),  -- as sent; NULL: 0, a deleted product
    product_id      bigint,                            -- the same, resolved
    wc_variation_id bigint CHECK (wc_variation_id > 0),
    quantity        integer NOT NULL CHECK (quantity >= 0),
    subtotal        numeric CHECK (subtotal >= 0),
    total           numeric CHECK (total >= 0),
    price           numeric CHECK (price >= 0),
    sku             text,
    name            text,  -- the product's name when ordered
    PRIMARY KEY (store_id, order_id, position),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id) ON DELETE CASCADE,
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id) ON DELETE SET NULL (product_id)
);
-- Items waiting for their product, and a product's sales.
CREATE INDEX order_items_wc_product_idx ON order_items (store_id, wc_product_id);
CREATE INDEX order_items_product_idx ON order_items (store_id, product_id);

ALTER TABLE sync_logs DROP CONSTRAINT sync_logs_entity_type_check,
    ADD CONSTRAINT sync_logs_entity_type_check
        CHECK (entity_type IN ('products', 'customers', 'categories', 'orders'));
