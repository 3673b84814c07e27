-- Categories: upsert_categories(store_id, records [, sync_log_id]).
--
-- Accepts the spec's fields and WooCommerce REST v3's: id for
-- wc_category_id, parent for parent_id (0 meaning none), count for
-- product_count.

-- The advisory lock key that orders a store's category batches against its
-- other batches. A category batch holds it exclusively: it resolves parents
-- and products' category_id, updating rows outside the batch in an order no
-- sort can make safe against another category batch. A product batch holds
-- it shared: otherwise a product written while a category batch runs could
-- miss the category (neither transaction sees the other's rows) and stay
-- unresolved. Product batches still run in parallel with each other.
CREATE OR REPLACE FUNCTION category_lock_key(p_store_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('wcsync.categories.' || p_store_id::text, 0)
$$;

-- Validates, deduplicates and upserts one batch; returns how many valid
-- records were left unchanged (always 0: categories carry no timestamp) and
-- the skipped records as [{index, id, reason}].
CREATE OR REPLACE FUNCTION upsert_category_rows(p_store_id uuid, p_records jsonb,
                                                OUT unchanged integer, OUT errors jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_written bigint[];
BEGIN
    -- Category batches of one store run one at a time (see category_lock_key).
    PERFORM pg_advisory_xact_lock(category_lock_key(p_store_id));

    WITH raw AS MATERIALIZED (
        SELECT e.idx, e.record_error,
               record_id(e.r, 'wc_category_id') AS wc_category_id,
               e.r -> 'name' AS name,
               e.r -> 'slug' AS slug,
               coalesce(nullif(e.r -> 'parent_id', 'null'), e.r -> 'parent') AS parent_id,
               coalesce(nullif(e.r -> 'product_count', 'null'), e.r -> 'count') AS product_count
          FROM batch_records(p_records) AS e
    ),
    -- Each value read once (materialised, so that the checks below reuse it).
    typed AS MATERIALIZED (
        SELECT raw.*,
               json_id(wc_category_id) AS t_wc_category_id,
               json_string(name) AS t_name,
               json_string(slug) AS t_slug,
               json_bigint(parent_id) AS t_parent_id,
               json_bigint(product_count) AS t_product_count
          FROM raw
    ),
    checked AS MATERIALIZED (
        SELECT *,
               coalesce(
                   record_error,
                   id_error('wc_category_id', wc_category_id, t_wc_category_id, true),
                   text_error('name', name, t_name, true),
                   text_error('slug', slug, t_slug, false),
                   integer_error('parent_id', parent_id, t_parent_id, 0, max_bigint()),
                   CASE WHEN t_parent_id = t_wc_category_id
                        THEN 'parent_id: a category cannot be its own parent' END,
                   integer_error('product_count', product_count, t_product_count, 0, max_integer())) AS reason
          FROM typed
    ),
    -- The last valid record of each category wins, in key order.
    latest AS (
        SELECT DISTINCT ON (t_wc_category_id) *
          FROM checked
         WHERE reason IS NULL
         ORDER BY t_wc_category_id, idx DESC
    ),
    -- Each category's row id: the stored row's, else a new one, taken here so that a parent
    -- in this batch is known to its children as they are inserted. Updating them afterwards
    -- would check every foreign key of each row again (a row this transaction inserted is
    -- checked on any update). Category batches of a store run one at a time, so the rows
    -- found here are the rows the insert meets.
    identified AS (
        SELECT l.*, coalesce(stored.id, nextval(pg_get_serial_sequence('categories', 'id'))) AS id
          FROM latest l
          LEFT JOIN categories stored
                 ON stored.store_id = p_store_id AND stored.wc_category_id = l.t_wc_category_id
    ),
    -- {wc_category_id: id} of the batch, for its children to look their parent up in.
    batch_ids AS MATERIALIZED (
        SELECT jsonb_object_agg(t_wc_category_id::text, id) AS map FROM identified
    ),
    written AS (
        INSERT INTO categories AS c (store_id, id, wc_category_id, name, slug, wc_parent_id, parent_id, product_count)
        OVERRIDING SYSTEM VALUE
        SELECT p_store_id, i.id, i.t_wc_category_id, i.t_name, i.t_slug, nullif(i.t_parent_id, 0),
               coalesce((b.map ->> i.t_parent_id::text)::bigint, parent.id), i.t_product_count
          FROM identified i
         CROSS JOIN batch_ids b
          LEFT JOIN categories parent
                 ON parent.store_id = p_store_id AND parent.wc_category_id = i.t_parent_id
         ORDER BY i.t_wc_category_id
        ON CONFLICT (store_id, wc_category_id) DO UPDATE
           SET name = excluded.name, slug = excluded.slug, wc_parent_id = excluded.wc_parent_id,
               parent_id = excluded.parent_id, product_count = excluded.product_count, synced_at = now(),
               deleted_at = NULL, deleted_by_webhook = false  -- carried again: the store has it
        RETURNING c.wc_category_id
    )
    SELECT (SELECT array_agg(wc_category_id) FROM written),
           (SELECT coalesce(jsonb_agg(skipped_record(idx, wc_category_id, reason) ORDER BY idx), '[]')
              FROM checked WHERE reason IS NOT NULL)
      INTO v_written, errors;

    -- Children synced earlier that were waiting for a parent written now. Both lookups start from the
    -- written ids and go through indexes, so a batch costs the same however
    -- many categories the store already has.
    UPDATE categories child
       SET parent_id = parent.id
      FROM unnest(v_written) AS w (wc_category_id)
      JOIN categories parent ON parent.store_id = p_store_id AND parent.wc_category_id = w.wc_category_id
     WHERE child.store_id = p_store_id AND child.wc_parent_id = w.wc_category_id
       AND child.parent_id IS DISTINCT FROM parent.id;

    -- Products that were waiting for their primary category. Rows are
    -- locked in wc_product_id order, the order product batches use.
    UPDATE products p
       SET category_id = waiting.category_id
      FROM (SELECT p2.id, c.id AS category_id
              FROM unnest(v_written) AS w (wc_category_id)
              JOIN categories c ON c.store_id = p_store_id AND c.wc_category_id = w.wc_category_id
              JOIN products p2 ON p2.store_id = p_store_id AND p2.wc_category_id = w.wc_category_id
             WHERE p2.category_id IS DISTINCT FROM c.id
             ORDER BY p2.wc_product_id
               FOR NO KEY UPDATE OF p2) AS waiting
     WHERE p.store_id = p_store_id AND p.id = waiting.id;

    unchanged := 0;
END
$$;

CREATE OR REPLACE FUNCTION upsert_categories(p_store_id uuid, p_records jsonb, p_sync_log_id uuid DEFAULT NULL)
RETURNS sync_result
LANGUAGE sql AS $$
    SELECT sync_batch(p_store_id, 'categories', p_records, p_sync_log_id)
$$;
