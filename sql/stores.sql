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

-- The operator's commands (python -m service ...). Each returns whether the
-- store exists, so that a mistyped id is reported instead of doing nothing.

-- A new live token for an existing store; its older tokens stay as they are.
CREATE OR REPLACE FUNCTION create_api_token(p_store_id uuid, p_token_hash text) RETURNS boolean
LANGUAGE sql AS $$
    WITH token AS (
        INSERT INTO api_tokens (store_id, token_hash) SELECT id, p_token_hash FROM stores WHERE id = p_store_id
        RETURNING 1
    )
    SELECT EXISTS (SELECT FROM token)
$$;

-- 'active' or 'suspended' (a suspended store's requests get 403).
CREATE OR REPLACE FUNCTION set_store_status(p_store_id uuid, p_status text) RETURNS boolean
LANGUAGE sql AS $$
    WITH store AS (
        UPDATE stores SET status = p_status WHERE id = p_store_id RETURNING 1
    )
    SELECT EXISTS (SELECT FROM store)
$$;

-- Every store with its live token count; never a token or its hash.
CREATE OR REPLACE FUNCTION list_stores(OUT id uuid, OUT name text, OUT status text,
                                       OUT last_sync_at timestamptz, OUT live_tokens integer)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.name, s.status, s.last_sync_at,
           (SELECT count(*)::integer FROM api_tokens t WHERE t.store_id = s.id AND t.revoked_at IS NULL)
      FROM stores s
     ORDER BY s.created_at, s.id
$$;
