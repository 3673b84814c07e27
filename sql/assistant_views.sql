-- Views the assistant answers a store owner's questions from: customer
-- behaviour (customers by WooCommerce id or email hash, never by name) and
-- category performance. Each counts paid orders only, and each is queried
-- for one store (WHERE store_id = ...): the condition reaches every table
-- scan, through indexes whose first column is store_id
-- (tests/test_assistant_views.py checks the plans). Rows a full sync run
-- marked deleted are left out: deleted orders, customers and categories. A
-- deleted product's items still count: the sales happened.

-- WooCommerce's paid statuses (wc_get_is_paid_statuses()).
CREATE OR REPLACE FUNCTION paid_order_statuses() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY['processing', 'completed'] $$;

-- One row per registered customer (a synced customer, or a WooCommerce
-- customer id in paid orders) and per guest (an email hash in paid orders
-- without a customer id; guest orders without an email are in no row).
-- A registered customer's figures are the plugin's when it sent them (v2
-- and the spec send them, v3 does not), else those of the paid orders;
-- one without paid orders has 0 orders and 0 spent.
CREATE OR REPLACE VIEW customer_order_stats AS
WITH paid_by_customer AS NOT MATERIALIZED (
    SELECT store_id, wc_customer_id, count(*)::integer AS order_count, coalesce(sum(total), 0) AS total_spent,
           min(created_at) AS first_order_date, max(created_at) AS last_order_date,
           -- the address of the latest order that had one
           (array_agg(email_hash ORDER BY created_at DESC NULLS LAST, id DESC)
               FILTER (WHERE email_hash IS NOT NULL))[1] AS email_hash
      FROM orders
     WHERE status = ANY (paid_order_statuses()) AND deleted_at IS NULL AND wc_customer_id IS NOT NULL
     GROUP BY store_id, wc_customer_id
)
SELECT c.store_id, c.wc_customer_id, coalesce(c.email_hash, o.email_hash) AS email_hash,
       coalesce(c.order_count, o.order_count, 0) AS order_count,
       coalesce(c.total_spent, o.total_spent, 0) AS total_spent,
       coalesce(c.first_order_date, o.first_order_date) AS first_order_date,
       coalesce(c.last_order_date, o.last_order_date) AS last_order_date
  FROM customers c
  LEFT JOIN paid_by_customer o ON o.store_id = c.store_id AND o.wc_customer_id = c.wc_customer_id
 WHERE c.deleted_at IS NULL
UNION ALL
SELECT o.store_id, o.wc_customer_id, o.email_hash, o.order_count, o.total_spent, o.first_order_date,
       o.last_order_date
  FROM paid_by_customer o
 WHERE NOT EXISTS (SELECT FROM customers c WHERE c.store_id = o.store_id AND c.wc_customer_id = o.wc_customer_id)
UNION ALL
SELECT store_id, NULL, email_hash, count(*)::integer, coalesce(sum(total), 0), min(created_at), max(created_at)
  FROM orders
 WHERE status = ANY (paid_order_statuses()) AND deleted_at IS NULL AND wc_customer_id IS NULL
   AND email_hash IS NOT NULL
 GROUP BY store_id, email_hash;

-- One row per category with paid sales: every category of each item's
-- product counts (a product in two categories counts in both). An item
-- whose product is not synced yet counts nowhere until it is; a category
-- not synced yet has no name. revenue is the sum of line totals.
CREATE OR REPLACE VIEW category_sales AS
SELECT i.store_id, pc.wc_category_id, c.name AS category_name,
       count(DISTINCT i.order_id)::integer AS order_count, sum(i.quantity) AS units_sold,
       coalesce(sum(i.total), 0) AS revenue
  FROM order_items i
  JOIN orders o ON o.store_id = i.store_id AND o.id = i.order_id
  JOIN product_categories pc ON pc.store_id = i.store_id AND pc.product_id = i.product_id
  LEFT JOIN categories c ON c.store_id = pc.store_id AND c.wc_category_id = pc.wc_category_id
 WHERE o.status = ANY (paid_order_statuses()) AND o.deleted_at IS NULL AND c.deleted_at IS NULL
 GROUP BY i.store_id, pc.wc_category_id, c.name;

-- category_sales with each category's descendants included: a row for
-- every category with paid sales in itself or below, each item counted
-- once per category however many of its product's categories lie below it.
-- The walk up the tree is a recursive query, which a condition on the
-- view's store_id cannot enter; so it runs once per store (LATERAL), with
-- that store's id inside it. Following wc_parent_id, it also climbs through
-- parents not synced yet, and ends on a cycle in the tree.
CREATE OR REPLACE VIEW category_sales_rollup AS
SELECT s.id AS store_id, r.wc_category_id, r.category_name, r.order_count, r.units_sold, r.revenue
  FROM stores s
 CROSS JOIN LATERAL (
    WITH RECURSIVE item_categories (order_id, position, wc_category_id) AS (
        SELECT i.order_id, i.position, pc.wc_category_id
          FROM order_items i
          JOIN orders o ON o.store_id = i.store_id AND o.id = i.order_id
          JOIN product_categories pc ON pc.store_id = i.store_id AND pc.product_id = i.product_id
         WHERE i.store_id = s.id AND o.status = ANY (paid_order_statuses()) AND o.deleted_at IS NULL
        UNION  -- not ALL: an item reaches each ancestor once
        SELECT ic.order_id, ic.position, c.wc_parent_id
          FROM item_categories ic
          JOIN categories c ON c.store_id = s.id AND c.wc_category_id = ic.wc_category_id
         WHERE c.wc_parent_id IS NOT NULL
    )
    SELECT ic.wc_category_id, c.name AS category_name, count(DISTINCT ic.order_id)::integer AS order_count,
           sum(i.quantity) AS units_sold, coalesce(sum(i.total), 0) AS revenue
      FROM item_categories ic
      JOIN order_items i ON i.store_id = s.id AND i.order_id = ic.order_id AND i.position = ic.position
      LEFT JOIN categories c ON c.store_id = s.id AND c.wc_category_id = ic.wc_category_id
     WHERE c.deleted_at IS NULL
     GROUP BY ic.wc_category_id, c.name
 ) AS r;
