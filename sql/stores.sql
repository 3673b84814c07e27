-- Stores and their API tokens. Tokens arrive here already hashed
-- (SHA-256 hex): the plain token never reaches the database.

CREATE OR REPLACE FUNCTION create_store(p_name text, p_token_hash text) RETURNS uuid
LANGUAGE sql AS $$
    WITH store AS (
        INSERT INTO stores (name) VALUES (p_name) RETURNING id
    ), token AS (
        INSERT INTO api_tokens (store_id, token_hash) SELECT id, p_token_hash FROM store
    )
    SELECT id FROM store
$$;

-- Returns how many tokens were revoked (0 or 1).
CREATE OR REPLACE FUNCTION revoke_api_token(p_token_hash text) RETURNS integer
LANGUAGE sql AS $$
    WITH revoked AS (
        UPDATE api_tokens SET revoked_at = now()
         WHERE token_hash = p_token_hash AND revoked_at IS NULL
        RETURNING 1
    )
    SELECT count(*)::integer FROM revoked
$$;

-- The store a live token belongs to, with its status; no row for an
-- unknown or revoked token.
CREATE OR REPLACE FUNCTION store_for_token(p_token_hash text, OUT store_id uuid, OUT status text)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.status
      FROM api_tokens t
      JOIN stores s ON s.id = t.store_id
     WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL
$$;
