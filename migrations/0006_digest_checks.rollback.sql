ALTER TABLE api_tokens
    DROP CONSTRAINT api_tokens_token_hash_check,
    ADD CONSTRAINT api_tokens_token_hash_check CHECK (token_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE customers
    DROP CONSTRAINT customers_email_hash_check,
    ADD CONSTRAINT customers_email_hash_check CHECK (email_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE orders
    DROP CONSTRAINT orders_email_hash_check,
    ADD CONSTRAINT orders_email_hash_check CHECK (email_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_body_sha256_check,
    ADD CONSTRAINT webhook_deliveries_body_sha256_check CHECK (body_sha256 ~ '^[0-9a-f]{64}$');
