-- Customers: upsert_customers(store_id, records [, sync_log_id]).
--
-- The email is personal data: it is hashed here, as
-- sha256(lower(trim(email))) in hex, and never stored, logged or reported.
-- (A materialised CTE below holds it for the length of the statement, in
-- this backend's memory, as the function's own argument does.)
-- A customer without an email (or with "") gets a NULL hash.
--
-- Accepts the spec's fields and WooCommerce REST v3's: id for
-- wc_customer_id, date_created_gmt / date_modified_gmt for created_at /
-- updated_at. A v3 customer has no display_name: it is derived from
-- first_name, last_name and username (derived_display_name), which are not
-- stored. Nor has it order figures: customer_order_stats derives them from
-- the synced orders (sql/assistant_views.sql).

-- One @ between two runs of anything but @ and ASCII whitespace. Spelled
-- out rather than [:space:], whose meaning beyond ASCII is the locale's;
-- service/batch/checks.py's EMAIL is the same class.
CREATE OR REPLACE FUNCTION email_address(trimmed text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN longer_than(trimmed, max_email_length()) THEN NULL
        WHEN trimmed ~ '^[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+$' THEN trimmed
    END
$$;

-- The address of a JSON string, trimmed; NULL for anything else. (A batch's
-- statement trims each value once and calls email_address() on it.)
CREATE OR REPLACE FUNCTION json_email(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT email_address(btrim(json_string(value)))
$$;

-- The stored form of an address json_email() accepted: the hex SHA-256 of
-- it lower-cased (as ad platforms hash emails). Orders use it too.
CREATE OR REPLACE FUNCTION email_hash(address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(digest(lower(address), 'sha256'), 'hex')
$$;

-- A display name like the spec's "John D.": the first name and the last
-- name's initial, else the username up to its first separator ("john.doe"
-- and "john@example.com" give "john"). A full last name is never kept.
CREATE OR REPLACE FUNCTION derived_display_name(first_name text, last_name text, username text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN btrim(first_name, E' \t\n\r') <> '' THEN
            btrim(first_name, E' \t\n\r')
            || coalesce(' ' || upper(left(nullif(btrim(last_name, E' \t\n\r'), ''), 1)) || '.', '')
        ELSE nullif(substring(btrim(username, E' \t\n\r') FROM '^[^@._+[:space:]-]+'), '')
    END
$$;

CREATE OR REPLACE FUNCTION email_error(field text, raw jsonb, typed text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed IS NOT NULL OR is_absent(raw) OR btrim(json_string(raw)) = '' THEN NULL
        WHEN json_string(raw) IS NULL THEN field || ': must be a string'
        ELSE field || ': must be an email address'
    END
$$;

-- Validates, deduplicates and upserts one batch; returns how many valid
-- records were older than the stored row (left unchanged) and the skipped
-- records as [{index, id, reason}].
CREATE OR REPLACE FUNCTION upsert_customer_rows(p_store_id uuid, p_records jsonb,
                                                OUT unchanged integer, OUT errors jsonb)
-- plpgsql, so that the statement's plan is kept for the session instead of made on
-- every call; generic, as a SQL function's always was (a plan for one store's values
-- can pick nested loops that cost a fresh store many times more).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- Waits for a running order batch of the store (see order_lock_key);
    -- the statement below then sees its orders.
    PERFORM pg_advisory_xact_lock_shared(order_lock_key(p_store_id));

    WITH raw AS MATERIALIZED (
        SELECT e.idx, e.record_error,
               record_id(e.r, 'wc_customer_id') AS wc_customer_id,
               e.r -> 'email' AS email,
               btrim(json_string(e.r -> 'email')) AS email_trimmed,
               e.r -> 'display_name' AS display_name,
               e.r -> 'first_name' AS first_name,
               e.r -> 'last_name' AS last_name,
               e.r -> 'username' AS username,
               e.r ->> 'total_spent' AS total_spent,
               e.r -> 'order_count' AS order_count,
               e.r ->> 'first_order_date' AS first_order_date,
               e.r ->> 'last_order_date' AS last_order_date,
               coalesce(e.r ->> 'created_at', e.r ->> 'date_created_gmt') AS created_at,
               coalesce(e.r ->> 'updated_at', e.r ->> 'date_modified_gmt') AS updated_at
          FROM batch_records(p_records) AS e
    ),
    -- Each value read once (materialised, so that the checks below reuse it).
    typed AS MATERIALIZED (
        SELECT raw.*,
               json_id(wc_customer_id) AS t_wc_customer_id,
               email_address(email_trimmed) AS t_email,
               json_string(display_name) AS t_display_name,
               json_string(first_name) AS t_first_name,
               json_string(last_name) AS t_last_name,
               json_string(username) AS t_username,
               text_money(total_spent) AS t_total_spent,
               json_bigint(order_count) AS t_order_count,
               text_timestamptz(first_order_date) AS t_first_order_date,
               text_timestamptz(last_order_date) AS t_last_order_date,
               text_timestamptz(created_at) AS t_created_at,
               text_timestamptz(updated_at) AS t_updated_at
          FROM raw
    ),
    checked AS MATERIALIZED (
        SELECT *,
               coalesce(
                   record_error,
                   id_error('wc_customer_id', wc_customer_id, t_wc_customer_id, true),
                   email_error('email', email, t_email),
                   text_error('display_name', display_name, t_display_name, false),
                   text_error('first_name', first_name, t_first_name, false),
                   text_error('last_name', last_name, t_last_name, false),
                   text_error('username', username, t_username, false),
                   money_error('total_spent', total_spent, t_total_spent),
                   integer_error('order_count', order_count, t_order_count, 0, max_integer()),
                   timestamp_error('first_order_date', first_order_date, t_first_order_date),
                   timestamp_error('last_order_date', last_order_date, t_last_order_date),
                   timestamp_error('created_at', created_at, t_created_at),
                   timestamp_error('updated_at', updated_at, t_updated_at)) AS reason
          FROM typed
    ),
    -- Of each customer's valid records, the last of those with the newest
    -- updated_at or none: one without beats the records before it, as it
    -- would the stored row. The winner then meets the stored row below.
    -- In key order: concurrent batches then lock their rows in the same
    -- order and cannot deadlock.
    -- Only what the insert reads goes through the sorts; the window's order is the one
    -- DISTINCT ON needs, so that one sort serves both.
    latest AS (
        SELECT DISTINCT ON (t_wc_customer_id) *
          FROM (SELECT idx, t_wc_customer_id, t_email, t_display_name, t_first_name, t_last_name, t_username,
                       t_total_spent, t_order_count, t_first_order_date, t_last_order_date, t_created_at,
                       t_updated_at,
                       max(t_updated_at) OVER (PARTITION BY t_wc_customer_id ORDER BY idx DESC
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS newest
                  FROM checked
                 WHERE reason IS NULL) AS valid
         WHERE t_updated_at IS NULL OR t_updated_at = newest
         ORDER BY t_wc_customer_id, idx DESC
    ),
    -- A record older than the stored row leaves it as it is (record_replaces_row).
    written AS (
        INSERT INTO customers AS c (store_id, wc_customer_id, email_hash, display_name, total_spent,
                                    order_count, first_order_date, last_order_date, created_at, updated_at)
        SELECT p_store_id, t_wc_customer_id, email_hash(t_email),
               coalesce(t_display_name, derived_display_name(t_first_name, t_last_name, t_username)),
               t_total_spent, t_order_count, t_first_order_date, t_last_order_date, t_created_at, t_updated_at
          FROM latest
         ORDER BY t_wc_customer_id
        ON CONFLICT (store_id, wc_customer_id) DO UPDATE
           SET email_hash = excluded.email_hash, display_name = excluded.display_name,
               total_spent = excluded.total_spent, order_count = excluded.order_count,
               first_order_date = excluded.first_order_date, last_order_date = excluded.last_order_date,
               created_at = excluded.created_at, synced_at = now(),
               -- a record without updated_at keeps the stored one, for the next stale check
               updated_at = coalesce(excluded.updated_at, c.updated_at),
               -- carried again: the store has it (a full sync run or a webhook had marked it deleted)
               deleted_at = NULL, deleted_by_webhook = false
         WHERE record_replaces_row(excluded.updated_at, c.updated_at, c.deleted_at, c.deleted_by_webhook)
        RETURNING c.id, c.wc_customer_id
    ),
    -- Orders that were waiting for a customer written now; none to look for in a store without
    -- orders of registered customers (as in an initial sync, which sends customers first): the first
    -- one is read once, from an index (min(): EXISTS may scan the table), before the lookups.
    resolved AS (
        UPDATE orders o
           SET customer_id = w.id
          FROM written w
         WHERE o.store_id = p_store_id AND o.wc_customer_id = w.wc_customer_id
           AND o.customer_id IS DISTINCT FROM w.id
           AND (SELECT min(x.wc_customer_id) FROM orders x WHERE x.store_id = p_store_id) IS NOT NULL
    )
    SELECT ((SELECT count(*) FROM latest) - (SELECT count(*) FROM written))::integer,
           (SELECT coalesce(jsonb_agg(skipped_record(idx, wc_customer_id, reason) ORDER BY idx), '[]')
              FROM checked WHERE reason IS NOT NULL)
      INTO unchanged, errors;
END
$$;

CREATE OR REPLACE FUNCTION upsert_customers(p_store_id uuid, p_records jsonb, p_sync_log_id uuid DEFAULT NULL)
RETURNS sync_result
LANGUAGE sql AS $$
    SELECT sync_batch(p_store_id, 'customers', p_records, p_sync_log_id)
$$;
