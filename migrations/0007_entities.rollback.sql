ALTER TABLE sync_logs DROP CONSTRAINT sync_logs_entity_type_fkey,
    ADD CONSTRAINT sync_logs_entity_type_check
        CHECK (entity_type IN ('products', 'customers', 'categories', 'orders'));
DROP TABLE entities;
