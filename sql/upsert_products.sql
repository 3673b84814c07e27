-- Products: upsert_products(store_id, records [, sync_log_id]).
--
-- Accepts the spec's fields and WooCommerce REST v3's: id for
-- wc_product_id, categories [{id, name, slug}] (all kept in
-- product_categories; the first is the primary one unless category_id is
-- given), date_created_gmt / date_modified_gmt for created_at / updated_at,
-- prices as strings ("" meaning none).

-- Validates, deduplicates and upserts one batch; returns how many valid
-- records were older than the stored row (left unchanged) and the skipped
-- records as [{index, id, reason}]. One statement (after the locks): the product upsert, the
-- category links and the error list all come from the same parsed input; a second one deletes
-- the links the updated products left.
CREATE OR REPLACE FUNCTION upsert_product_rows(p_store_id uuid, p_records jsonb,
                                               OUT unchanged integer, OUT errors jsonb)
-- plpgsql, so that the statement's plan is kept for the session instead of made on
-- every call; generic, as a SQL function's always was (a plan for one store's values
-- can pick nested loops that cost a fresh store many times more).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_updated bigint[];  -- the ids of the products that were there and were written
BEGIN
    -- Waits for a running category batch of the store (see category_lock_key);
    -- the statement below then sees its categories.
    PERFORM pg_advisory_xact_lock_shared(category_lock_key(p_store_id));
    -- And for a running order batch (see order_lock_key): its items then resolve below.
    PERFORM pg_advisory_xact_lock_shared(order_lock_key(p_store_id));

    WITH raw AS MATERIALIZED (
        SELECT e.idx, e.record_error,
               record_id(e.r, 'wc_product_id') AS wc_product_id,
               e.r -> 'name' AS name,
               e.r -> 'sku' AS sku,
               e.r ->> 'price' AS price,
               e.r ->> 'regular_price' AS regular_price,
               e.r ->> 'sale_price' AS sale_price,
               coalesce(nullif(e.r -> 'category_id', 'null'), e.r -> 'categories' -> 0 -> 'id') AS category_id,
               -- categories[0]'s name only when it is the primary category
               coalesce(nullif(e.r -> 'category_name', 'null'),
                        CASE WHEN is_absent(e.r -> 'category_id') THEN e.r -> 'categories' -> 0 -> 'name' END)
                   AS category_name,
               e.r -> 'categories' AS categories,
               CASE WHEN jsonb_typeof(e.r -> 'categories') = 'array'
                    THEN jsonb_array_length(e.r -> 'categories') END AS categories_length,
               e.r -> 'stock_quantity' AS stock_quantity,
               e.r -> 'stock_status' AS stock_status,
               e.r -> 'status' AS status,
               e.r -> 'type' AS type,
               coalesce(e.r ->> 'created_at', e.r ->> 'date_created_gmt') AS created_at,
               coalesce(e.r ->> 'updated_at', e.r ->> 'date_modified_gmt') AS updated_at
          FROM batch_records(p_records) AS e
    ),
    -- Each value read once (materialised, so that the checks below reuse it).
    typed AS MATERIALIZED (
        SELECT raw.*,
               json_id(wc_product_id) AS t_wc_product_id,
               json_string(name) AS t_name,
               json_string(sku) AS t_sku,
               text_money(price) AS t_price,
               text_money(regular_price) AS t_regular_price,
               text_money(sale_price) AS t_sale_price,
               json_id(category_id) AS t_category_id,
               json_string(category_name) AS t_category_name,
               -- items are read only within the bound: a longer list is refused unread
               CASE WHEN categories_length <= max_categories_per_product() THEN
                   ARRAY(SELECT json_id(c.item -> 'id') FROM jsonb_array_elements(categories) AS c (item))
               END AS t_category_ids,
               -- every item's name, as the first one's may become category_name
               CASE WHEN categories_length <= max_categories_per_product() THEN
                   NOT EXISTS (SELECT FROM jsonb_array_elements(categories) AS c (item)
                                WHERE jsonb_typeof(c.item -> 'name') NOT IN ('string', 'null')
                                   OR longer_than(c.item ->> 'name', max_text_length()))
               END AS t_category_names_valid,
               json_bigint(stock_quantity) AS t_stock_quantity,
               json_string(stock_status) AS t_stock_status,
               json_string(status) AS t_status,
               json_string(type) AS t_type,
               text_timestamptz(created_at) AS t_created_at,
               text_timestamptz(updated_at) AS t_updated_at
          FROM raw
    ),
    checked AS MATERIALIZED (
        SELECT *,
               coalesce(
                   record_error,
                   id_error('wc_product_id', wc_product_id, t_wc_product_id, true),
                   text_error('name', name, t_name, true),
                   text_error('sku', sku, t_sku, false),
                   money_error('price', price, t_price),
                   money_error('regular_price', regular_price, t_regular_price),
                   money_error('sale_price', sale_price, t_sale_price),
                   CASE WHEN is_absent(categories) THEN NULL
                        WHEN categories_length IS NULL THEN 'categories: must be a list'
                        WHEN categories_length > max_categories_per_product()
                        THEN 'categories: more than ' || max_categories_per_product()::text || ' items'
                        WHEN array_position(t_category_ids, NULL) IS NOT NULL
                        THEN 'categories: every item must have a positive integer id'
                        WHEN NOT t_category_names_valid
                        THEN 'categories: every item''s name must be a string of at most '
                             || max_text_length()::text || ' characters'
                   END,
                   id_error('category_id', category_id, t_category_id, false),
                   text_error('category_name', category_name, t_category_name, false),
                   integer_error('stock_quantity', stock_quantity, t_stock_quantity, -max_integer() - 1, max_integer()),
                   text_error('stock_status', stock_status, t_stock_status, false),
                   text_error('status', status, t_status, false),
                   text_error('type', type, t_type, false),
                   timestamp_error('created_at', created_at, t_created_at),
                   timestamp_error('updated_at', updated_at, t_updated_at)) AS reason
          FROM typed
    ),
    -- Of each product's valid records, the last of those with the newest
    -- updated_at or none: one without beats the records before it, as it
    -- would the stored row. The winner then meets the stored row below.
    -- In key order: concurrent batches then lock their rows in the same
    -- order and cannot deadlock.
    -- Only what the insert reads goes through the sorts; the window's order is the one
    -- DISTINCT ON needs, so that one sort serves both.
    latest AS (
        SELECT DISTINCT ON (t_wc_product_id) *
          FROM (SELECT idx, t_wc_product_id, t_name, t_sku, t_price, t_regular_price, t_sale_price,
                       t_category_id, t_category_ids, t_category_name, t_stock_quantity, t_stock_status,
                       t_status, t_type, t_created_at, t_updated_at,
                       max(t_updated_at) OVER (PARTITION BY t_wc_product_id ORDER BY idx DESC
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS newest
                  FROM checked
                 WHERE reason IS NULL) AS valid
         WHERE t_updated_at IS NULL OR t_updated_at = newest
         ORDER BY t_wc_product_id, idx DESC
    ),
    -- A record older than the stored row leaves it as it is (record_replaces_row).
    written AS (
        INSERT INTO products AS p (store_id, wc_product_id, name, sku, price, regular_price, sale_price,
                                   wc_category_id, category_id, wc_category_ids, category_name,
                                   stock_quantity, stock_status, status, type, created_at, updated_at)
        SELECT p_store_id, l.t_wc_product_id, l.t_name, l.t_sku, l.t_price, l.t_regular_price, l.t_sale_price,
               l.t_category_id, c.id, coalesce(l.t_category_ids, '{}'), l.t_category_name,
               l.t_stock_quantity, l.t_stock_status, l.t_status, l.t_type, l.t_created_at, l.t_updated_at
          FROM latest l
          LEFT JOIN categories c ON c.store_id = p_store_id AND c.wc_category_id = l.t_category_id
         ORDER BY l.t_wc_product_id
        ON CONFLICT (store_id, wc_product_id) DO UPDATE
           SET name = excluded.name, sku = excluded.sku, price = excluded.price,
               regular_price = excluded.regular_price, sale_price = excluded.sale_price,
               wc_category_id = excluded.wc_category_id, category_id = excluded.category_id,
               wc_category_ids = excluded.wc_category_ids, category_name = excluded.category_name,
               stock_quantity = excluded.stock_quantity, stock_status = excluded.stock_status,
               status = excluded.status, type = excluded.type,
               created_at = excluded.created_at, synced_at = now(),
               -- a record without updated_at keeps the stored one, for the next stale check
               updated_at = coalesce(excluded.updated_at, p.updated_at),
               -- carried again: the store has it (a full sync run or a webhook had marked it deleted)
               deleted_at = NULL, deleted_by_webhook = false
         WHERE record_replaces_row(excluded.updated_at, p.updated_at, p.deleted_at, p.deleted_by_webhook)
        -- xmax is 0 on a row this statement inserted (PostgreSQL's mark of an ON CONFLICT insert)
        RETURNING p.id, p.wc_product_id, p.wc_category_id, p.wc_category_ids, p.xmax = 0 AS inserted
    ),
    -- Order items that were waiting for a product written now; none to look for in a store
    -- without items of products (as in an initial sync, which sends products first): the first
    -- one is read once, from an index (min(): EXISTS may scan the table), before the lookups.
    resolved AS (
        UPDATE order_items oi
           SET product_id = w.id
          FROM written w
         WHERE oi.store_id = p_store_id AND oi.wc_product_id = w.wc_product_id
           AND oi.product_id IS DISTINCT FROM w.id
           AND (SELECT min(x.wc_product_id) FROM order_items x WHERE x.store_id = p_store_id) IS NOT NULL
    ),
    -- Every category of each written product: the primary one at position 0,
    -- the n-th item of categories at n (the order as sent; a primary that is
    -- also in the list keeps 0, leaving its n unused).
    links AS (
        SELECT DISTINCT ON (w.id, link.wc_category_id)
               w.id AS product_id, link.wc_category_id, link.position, w.inserted
          FROM written w
         CROSS JOIN LATERAL (
                SELECT w.wc_category_id, 0::bigint WHERE w.wc_category_id IS NOT NULL
                UNION ALL
                SELECT * FROM unnest(w.wc_category_ids) WITH ORDINALITY
               ) AS link (wc_category_id, position)
         ORDER BY w.id, link.wc_category_id, link.position
    ),
    -- The current links of products that were there (upserted: a concurrent batch may have
    -- written some since this statement began), and those of products new to the table (which
    -- had none, so they are plain inserts: no conflict to look for). Their gone links are
    -- deleted by the next statement.
    relinked AS (
        INSERT INTO product_categories (store_id, product_id, wc_category_id, position)
        SELECT p_store_id, product_id, wc_category_id, position FROM links WHERE NOT inserted
        ON CONFLICT (store_id, product_id, wc_category_id) DO UPDATE SET position = excluded.position
    ),
    linked AS (
        INSERT INTO product_categories (store_id, product_id, wc_category_id, position)
        SELECT p_store_id, product_id, wc_category_id, position FROM links WHERE inserted
    )
    SELECT ((SELECT count(*) FROM latest) - (SELECT count(*) FROM written))::integer,
           (SELECT coalesce(jsonb_agg(skipped_record(idx, wc_product_id, reason) ORDER BY idx), '[]')
              FROM checked WHERE reason IS NOT NULL),
           (SELECT array_agg(id) FROM written WHERE NOT inserted)
      INTO unchanged, errors, v_updated;

    -- The links the updated products no longer have. A statement of its own, so that its snapshot
    -- is taken now that their rows are locked: the statement above began before it waited for a
    -- row a concurrent batch held, and could not see the links that batch committed meanwhile
    -- (they would have stayed). Whoever writes a product's links holds its row, so none change
    -- between here and the commit.
    IF v_updated IS NOT NULL THEN
        DELETE FROM product_categories pc
         USING products p
         WHERE p.store_id = p_store_id AND p.id = ANY (v_updated)
           AND pc.store_id = p_store_id AND pc.product_id = p.id
           AND pc.wc_category_id IS DISTINCT FROM p.wc_category_id
           AND pc.wc_category_id <> ALL (p.wc_category_ids);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION upsert_products(p_store_id uuid, p_records jsonb, p_sync_log_id uuid DEFAULT NULL)
RETURNS sync_result
LANGUAGE sql AS $$
    SELECT sync_batch(p_store_id, 'products', p_records, p_sync_log_id)
$$;
