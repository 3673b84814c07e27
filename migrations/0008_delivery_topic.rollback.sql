DROP FUNCTION IF EXISTS webhook_delivery_seen(uuid, text, text, text);
DROP INDEX webhook_deliveries_seen_idx;
-- Deliveries that differ only by topic become duplicates of the first again.
UPDATE webhook_deliveries d SET outcome = 'duplicate'
 WHERE outcome <> 'duplicate'
   AND EXISTS (SELECT FROM webhook_deliveries e
                WHERE e.store_id = d.store_id AND e.delivery_id = d.delivery_id AND e.body_sha256 = d.body_sha256
                  AND e.outcome <> 'duplicate' AND (e.received_at, e.id) < (d.received_at, d.id));
CREATE UNIQUE INDEX webhook_deliveries_seen_idx ON webhook_deliveries (store_id, delivery_id, body_sha256)
    WHERE outcome <> 'duplicate';
