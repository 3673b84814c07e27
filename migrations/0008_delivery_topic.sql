-- depends: 0007_entities
-- A delivery is seen before when its delivery id, topic and body all match: the topic says what
-- the body does, so a signed body resent under another topic (refused as ignored) must not make
-- the genuine delivery, arriving after it, count as its duplicate.
DROP INDEX webhook_deliveries_seen_idx;
CREATE UNIQUE INDEX webhook_deliveries_seen_idx ON webhook_deliveries (store_id, delivery_id, topic, body_sha256)
    WHERE outcome <> 'duplicate';
DROP FUNCTION IF EXISTS webhook_delivery_seen(uuid, text, text);  -- sql/webhooks.sql has it with the topic
