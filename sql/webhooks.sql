-- WooCommerce's own webhooks (service/http/webhooks.py; docs/webhooks.md).
--
-- The secret is kept encrypted under a key the service holds (WEBHOOK_KEY),
-- never in the clear: both cross pg_stat_activity only for the length of
-- one statement. A delivery's signature is checked in the service, before
-- anything of its body reaches the database.

-- Sets the store's webhook secret (replacing the one before); false for an unknown store.
CREATE OR REPLACE FUNCTION webhook_secret_set(p_store_id uuid, p_secret text, p_key text) RETURNS boolean
LANGUAGE sql AS $$
    WITH written AS (
        INSERT INTO webhook_secrets (store_id, secret)
        SELECT id, pgp_sym_encrypt(p_secret, p_key, 'cipher-algo=aes256') FROM stores WHERE id = p_store_id
        ON CONFLICT (store_id) DO UPDATE SET secret = excluded.secret, created_at = now()
        RETURNING 1
    )
    SELECT EXISTS (SELECT FROM written)
$$;

-- The store's status and its webhook secret (null when it has none); no row for an unknown store.
CREATE OR REPLACE FUNCTION webhook_secret(p_store_id uuid, p_key text, OUT status text, OUT secret text)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT s.status, pgp_sym_decrypt(w.secret, p_key)
      FROM stores s
      LEFT JOIN webhook_secrets w ON w.store_id = s.id
     WHERE s.id = p_store_id
$$;

-- Marks the store's row of the entity (one of sync_entities()) deleted, as
-- WooCommerce's `deleted` topic says (it fires when a product or an order is
-- trashed). Soft: the row stays; only a record at least as new as it brings
-- it back (sql/upsert_*.sql). Returns whether the store has such a row.
CREATE OR REPLACE FUNCTION mark_deleted(p_store_id uuid, p_entity text, p_wc_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_found integer;
BEGIN
    IF sync_entity_key(p_entity) IS NULL THEN
        RAISE EXCEPTION 'entity: one of %', (SELECT string_agg(entity, ', ') FROM sync_entities())
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('UPDATE %I SET deleted_at = coalesce(deleted_at, now()), deleted_by_webhook = true
                     WHERE store_id = $1 AND %I = $2', p_entity, sync_entity_key(p_entity))
       USING p_store_id, p_wc_id;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    RETURN v_found > 0;
END
$$;

-- Whether the store has recorded this delivery: the same delivery id, topic and body.
CREATE OR REPLACE FUNCTION webhook_delivery_seen(p_store_id uuid, p_delivery_id text, p_topic text,
                                                 p_body_sha256 text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM webhook_deliveries
                    WHERE store_id = p_store_id AND delivery_id = p_delivery_id AND topic = p_topic
                      AND body_sha256 = p_body_sha256 AND outcome <> 'duplicate')
$$;

-- Records a delivery and returns the outcome recorded: p_outcome, or
-- 'duplicate' when an identical delivery (one handled at the same time)
-- was recorded first.
CREATE OR REPLACE FUNCTION webhook_delivery_record(p_store_id uuid, p_delivery_id text, p_webhook_id bigint,
                                                   p_topic text, p_body_sha256 text, p_outcome text,
                                                   p_reason text, p_wc_id bigint, p_sync_log_id uuid)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (store_id, delivery_id, webhook_id, topic, body_sha256, outcome, reason,
                                    wc_id, sync_log_id)
    VALUES (p_store_id, p_delivery_id, p_webhook_id, p_topic, p_body_sha256, p_outcome, p_reason,
            p_wc_id, p_sync_log_id)
    ON CONFLICT (store_id, delivery_id, topic, body_sha256) WHERE outcome <> 'duplicate' DO NOTHING;
    IF FOUND THEN
        RETURN p_outcome;
    END IF;
    INSERT INTO webhook_deliveries (store_id, delivery_id, webhook_id, topic, body_sha256, outcome, reason,
                                    wc_id, sync_log_id)
    VALUES (p_store_id, p_delivery_id, p_webhook_id, p_topic, p_body_sha256, 'duplicate', 'handled twice at once',
            p_wc_id, p_sync_log_id);
    RETURN 'duplicate';
END
$$;
