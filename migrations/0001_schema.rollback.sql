DROP TYPE sync_result CASCADE;
DROP TABLE sync_logs, customers, product_categories, products, categories, api_tokens, stores;
