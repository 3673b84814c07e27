-- Orders: upsert_orders(store_id, records [, sync_log_id]).
--
-- Accepts the spec's fields and WooCommerce REST v3's: id for wc_order_id,
-- billing.email / billing.country for email / billing_country,
-- date_created_gmt, date_modified_gmt, date_paid_gmt, date_completed_gmt for
-- created_at, updated_at, paid_at, completed_at; money as strings.
-- line_items [{id, product_id, variation_id, quantity, subtotal, total,
-- price, sku, name}] are kept in order_items, replaced with the order.
--
-- Of the buyer only the email's hash (as customers') and the billing
-- country are kept: names, addresses, phones and IPs in the record are never
-- read.

-- The advisory lock key that orders a store's order batches against its
-- product and customer batches. An order batch holds it exclusively: it
-- writes items and orders waiting for products and customers; a product or
-- customer batch holds it shared, as it resolves those waiting rows. Without
-- it, an order written while a product batch runs could miss the product
-- (neither transaction sees the other's rows) and stay unresolved. Product
-- and customer batches still run in parallel with each other.
CREATE OR REPLACE FUNCTION order_lock_key(p_store_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('wcsync.orders.' || p_store_id::text, 0)
$$;

-- '<field>: <reason>' for the first invalid field of one line item, else
-- NULL; the fields in the order the HTTP layer checks them
-- (service/batch/entities.py, LINE_ITEM).
CREATE OR REPLACE FUNCTION line_item_error(item jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(item) <> 'object' THEN 'must be a JSON object'
    ELSE coalesce(
        id_error('id', item -> 'id', json_id(item -> 'id'), false),
        CASE WHEN is_absent(item -> 'product_id') THEN 'product_id: required field' END,
        integer_error('product_id', item -> 'product_id', json_bigint(item -> 'product_id'),
                      0, max_bigint()),
        integer_error('variation_id', item -> 'variation_id', json_bigint(item -> 'variation_id'),
                      0, max_bigint()),
        CASE WHEN is_absent(item -> 'quantity') THEN 'quantity: required field' END,
        integer_error('quantity', item -> 'quantity', json_bigint(item -> 'quantity'), 0, max_integer()),
        money_error('subtotal', item ->> 'subtotal', text_money(item ->> 'subtotal')),
        money_error('total', item ->> 'total', text_money(item ->> 'total')),
        money_error('price', item ->> 'price', text_money(item ->> 'price')),
        text_error('sku', item -> 'sku', json_string(item -> 'sku'), false),
        text_error('name', item -> 'name', json_string(item -> 'name'), false))
    END
$$;

-- Validates, deduplicates and upserts one batch; returns how many valid
-- records were older than the stored row (left unchanged) and the skipped
-- records as [{index, id, reason}]. One statement (after the lock): orders,
-- their items and the error list all come from the same parsed input.
CREATE OR REPLACE FUNCTION upsert_order_rows(p_store_id uuid, p_records jsonb,
                                             OUT unchanged integer, OUT errors jsonb)
-- plpgsql with a generic plan kept for the session, as upsert_product_rows (which says why).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- Order batches of one store run one at a time (see order_lock_key).
    PERFORM pg_advisory_xact_lock(order_lock_key(p_store_id));

    WITH raw AS MATERIALIZED (
        SELECT e.idx, e.record_error,
               record_id(e.r, 'wc_order_id') AS wc_order_id,
               e.r -> 'status' AS status,
               e.r -> 'currency' AS currency,
               e.r ->> 'total' AS total,
               e.r ->> 'subtotal' AS subtotal,
               e.r ->> 'total_tax' AS total_tax,
               e.r ->> 'shipping_total' AS shipping_total,
               e.r ->> 'discount_total' AS discount_total,
               e.r -> 'customer_id' AS customer_id,
               coalesce(nullif(e.r -> 'email', 'null'), e.r -> 'billing' -> 'email') AS email,
               coalesce(nullif(e.r -> 'billing_country', 'null'), e.r -> 'billing' -> 'country') AS billing_country,
               coalesce(e.r ->> 'created_at', e.r ->> 'date_created_gmt') AS created_at,
               coalesce(e.r ->> 'updated_at', e.r ->> 'date_modified_gmt') AS updated_at,
               coalesce(e.r ->> 'paid_at', e.r ->> 'date_paid_gmt') AS paid_at,
               coalesce(e.r ->> 'completed_at', e.r ->> 'date_completed_gmt') AS completed_at,
               nullif(e.r -> 'line_items', 'null') AS line_items,
               CASE WHEN jsonb_typeof(e.r -> 'line_items') = 'array'
                    THEN jsonb_array_length(e.r -> 'line_items') END AS items_length
          FROM batch_records(p_records) AS e
    ),
    -- Each value read once (materialised, so that the checks below reuse it).
    typed AS MATERIALIZED (
        SELECT raw.*,
               json_id(wc_order_id) AS t_wc_order_id,
               json_string(status) AS t_status,
               json_string(currency) AS t_currency,
               text_money(total) AS t_total,
               text_money(subtotal) AS t_subtotal,
               text_money(total_tax) AS t_total_tax,
               text_money(shipping_total) AS t_shipping_total,
               text_money(discount_total) AS t_discount_total,
               json_bigint(customer_id) AS t_customer_id,
               json_email(email) AS t_email,
               json_string(billing_country) AS t_billing_country,
               text_timestamptz(created_at) AS t_created_at,
               text_timestamptz(updated_at) AS t_updated_at,
               text_timestamptz(paid_at) AS t_paid_at,
               text_timestamptz(completed_at) AS t_completed_at,
               -- items are read only within the bound: a longer list is refused unread
               -- (OFFSET 0 keeps each item's check from being run twice, in WHERE and SELECT)
               CASE WHEN items_length <= max_line_items_per_order() THEN
                   (SELECT 'line_items: item ' || (i.ord - 1)::text || ': ' || i.error
                      FROM (SELECT ord, line_item_error(item) AS error
                              FROM jsonb_array_elements(line_items) WITH ORDINALITY AS e (item, ord) OFFSET 0) AS i
                     WHERE i.error IS NOT NULL
                     ORDER BY i.ord LIMIT 1)
               END AS line_items_error
          FROM raw
    ),
    checked AS MATERIALIZED (
        SELECT *,
               coalesce(
                   record_error,
                   id_error('wc_order_id', wc_order_id, t_wc_order_id, true),
                   text_error('status', status, t_status, true),
                   text_error('currency', currency, t_currency, false),
                   money_error('total', total, t_total),
                   money_error('subtotal', subtotal, t_subtotal),
                   money_error('total_tax', total_tax, t_total_tax),
                   money_error('shipping_total', shipping_total, t_shipping_total),
                   money_error('discount_total', discount_total, t_discount_total),
                   integer_error('customer_id', customer_id, t_customer_id, 0, max_bigint()),
                   email_error('email', email, t_email),
                   text_error('billing_country', billing_country, t_billing_country, false),
                   timestamp_error('created_at', created_at, t_created_at),
                   timestamp_error('updated_at', updated_at, t_updated_at),
                   timestamp_error('paid_at', paid_at, t_paid_at),
                   timestamp_error('completed_at', completed_at, t_completed_at),
                   CASE WHEN is_absent(line_items) THEN NULL
                        WHEN items_length IS NULL THEN 'line_items: must be a list'
                        WHEN items_length > max_line_items_per_order()
                        THEN 'line_items: more than ' || max_line_items_per_order()::text || ' items'
                        ELSE line_items_error
                   END) AS reason
          FROM typed
    ),
    -- Of each order's valid records, the last of those with the newest
    -- updated_at or none (as for products). In key order: concurrent
    -- batches lock their rows in the same order.
    latest AS (
        SELECT DISTINCT ON (t_wc_order_id) *
          FROM (SELECT *, max(t_updated_at) OVER (PARTITION BY t_wc_order_id) AS newest
                  FROM checked
                 WHERE reason IS NULL) AS valid
         WHERE t_updated_at IS NULL OR t_updated_at = newest
         ORDER BY t_wc_order_id, idx DESC
    ),
    -- A record older than the stored row leaves the order and its items as
    -- they are (record_replaces_row).
    written AS (
        INSERT INTO orders AS o (store_id, wc_order_id, status, currency, total, subtotal, total_tax,
                                 shipping_total, discount_total, wc_customer_id, customer_id, email_hash,
                                 billing_country, created_at, updated_at, paid_at, completed_at)
        SELECT p_store_id, l.t_wc_order_id, l.t_status, l.t_currency, l.t_total, l.t_subtotal, l.t_total_tax,
               l.t_shipping_total, l.t_discount_total, nullif(l.t_customer_id, 0), c.id, email_hash(l.t_email),
               l.t_billing_country, l.t_created_at, l.t_updated_at, l.t_paid_at, l.t_completed_at
          FROM latest l
          LEFT JOIN customers c ON c.store_id = p_store_id AND c.wc_customer_id = l.t_customer_id
         ORDER BY l.t_wc_order_id
        ON CONFLICT (store_id, wc_order_id) DO UPDATE
           SET status = excluded.status, currency = excluded.currency, total = excluded.total,
               subtotal = excluded.subtotal, total_tax = excluded.total_tax,
               shipping_total = excluded.shipping_total, discount_total = excluded.discount_total,
               wc_customer_id = excluded.wc_customer_id, customer_id = excluded.customer_id,
               email_hash = excluded.email_hash, billing_country = excluded.billing_country,
               created_at = excluded.created_at, paid_at = excluded.paid_at,
               completed_at = excluded.completed_at, synced_at = now(),
               -- a record without updated_at keeps the stored one, for the next stale check
               updated_at = coalesce(excluded.updated_at, o.updated_at),
               -- carried again: the store has it (a full sync run or a webhook had marked it deleted)
               deleted_at = NULL, deleted_by_webhook = false
         WHERE record_replaces_row(excluded.updated_at, o.updated_at, o.deleted_at, o.deleted_by_webhook)
        RETURNING o.id, o.wc_order_id
    ),
    -- Each order's line_items by its WooCommerce id, for the written ones to
    -- look theirs up (a join of written to latest, which the planner
    -- believes one row each, runs as a nested loop: quadratic in the batch).
    items_by_order AS (
        SELECT coalesce(jsonb_object_agg(t_wc_order_id::text, line_items), '{}') AS map
          FROM latest WHERE items_length > 0
    ),
    -- The written orders' items, at their positions as sent.
    items AS (
        SELECT w.id AS order_id, i.ord - 1 AS position, json_id(i.item -> 'id') AS wc_line_item_id,
               nullif(json_bigint(i.item -> 'product_id'), 0) AS wc_product_id,
               nullif(json_bigint(i.item -> 'variation_id'), 0) AS wc_variation_id,
               json_bigint(i.item -> 'quantity')::integer AS quantity,
               text_money(i.item ->> 'subtotal') AS subtotal,
               text_money(i.item ->> 'total') AS total,
               text_money(i.item ->> 'price') AS price,
               json_string(i.item -> 'sku') AS sku,
               json_string(i.item -> 'name') AS name
          FROM written w, items_by_order m,
               jsonb_array_elements(coalesce(m.map -> w.wc_order_id::text, '[]')) WITH ORDINALITY AS i (item, ord)
    ),
    -- The written orders' rows are locked, so their items are ours alone.
    -- The two statements below touch disjoint keys: positions past the new
    -- list, and those in it.
    removed AS (
        DELETE FROM order_items oi
         USING written w, items_by_order m
         WHERE oi.store_id = p_store_id AND oi.order_id = w.id
           AND oi.position >= coalesce(jsonb_array_length(m.map -> w.wc_order_id::text), 0)
    ),
    stored AS (
        INSERT INTO order_items AS oi (store_id, order_id, position, wc_line_item_id, wc_product_id, product_id,
                                       wc_variation_id, quantity, subtotal, total, price, sku, name)
        SELECT p_store_id, i.order_id, i.position, i.wc_line_item_id, i.wc_product_id, p.id,
               i.wc_variation_id, i.quantity, i.subtotal, i.total, i.price, i.sku, i.name
          FROM items i
          LEFT JOIN products p ON p.store_id = p_store_id AND p.wc_product_id = i.wc_product_id
        ON CONFLICT (store_id, order_id, position) DO UPDATE
           SET wc_line_item_id = excluded.wc_line_item_id, wc_product_id = excluded.wc_product_id,
               product_id = excluded.product_id, wc_variation_id = excluded.wc_variation_id,
               quantity = excluded.quantity, subtotal = excluded.subtotal, total = excluded.total,
               price = excluded.price, sku = excluded.sku, name = excluded.name
    )
    SELECT ((SELECT count(*) FROM latest) - (SELECT count(*) FROM written))::integer,
           (SELECT coalesce(jsonb_agg(skipped_record(idx, wc_order_id, reason) ORDER BY idx), '[]')
              FROM checked WHERE reason IS NOT NULL)
      INTO unchanged, errors;
END
$$;

CREATE OR REPLACE FUNCTION upsert_orders(p_store_id uuid, p_records jsonb, p_sync_log_id uuid DEFAULT NULL)
RETURNS sync_result
LANGUAGE sql AS $$
    SELECT sync_batch(p_store_id, 'orders', p_records, p_sync_log_id)
$$;
