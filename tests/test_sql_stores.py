"""The store and token functions of sql/stores.sql, called as an operator does from psql."""

import psycopg2
import psycopg2.errors
import pytest

from service.http.auth import hash_token, new_token

from sql_helpers import suspend


def create_store(query, name, token_hash):
    [row] = query("SELECT create_store(%s, %s) AS id", (name, token_hash))
    return str(row["id"])


def stores_named(query, name):
    return query("SELECT * FROM stores WHERE name = %s", (name,))


def test_create_store_makes_an_active_store_with_its_hashed_token(query):
    token_hash = hash_token(new_token())
    store_id = create_store(query, "Create store test", token_hash)

    [store] = query("SELECT * FROM stores WHERE id = %s", (store_id,))
    assert (store["name"], store["status"], store["last_sync_at"]) == ("Create store test", "active", None)
    [token] = query("SELECT * FROM api_tokens WHERE store_id = %s", (store_id,))
    assert (token["token_hash"], token["revoked_at"]) == (token_hash, None)
    assert query("SELECT * FROM store_for_token(%s)", (token_hash,)) == [{"store_id": store["id"], "status": "active"}]


@pytest.mark.parametrize(
    "name, token_hash, error",
    [
        ("   ", "a" * 64, psycopg2.errors.CheckViolation),
        ("Bad hash store", "A" * 64, psycopg2.errors.CheckViolation),
        ("Bad hash store", "plain-token", psycopg2.errors.CheckViolation),
    ],
    ids=["blank name", "uppercase hash", "not a hash"],
)
def test_create_store_is_all_or_nothing(name, token_hash, error, query):
    stores_before = query("SELECT count(*) AS n FROM stores")
    with pytest.raises(error):
        create_store(query, name, token_hash)
    assert query("SELECT count(*) AS n FROM stores") == stores_before
    assert query("SELECT count(*) AS n FROM api_tokens WHERE token_hash = %s", (token_hash,)) == [{"n": 0}]


def test_create_store_with_a_token_hash_in_use_creates_no_store(store, query):
    token_hash = hash_token(store.token)
    with pytest.raises(psycopg2.errors.UniqueViolation):
        create_store(query, "Duplicate token store", token_hash)
    assert stores_named(query, "Duplicate token store") == []
    assert query("SELECT * FROM store_for_token(%s)", (token_hash,))[0]["store_id"] == store.id


def test_store_for_token_knows_only_live_tokens_and_reports_the_status(store, query):
    token_hash = hash_token(store.token)
    assert query("SELECT * FROM store_for_token(%s)", (hash_token("unknown"),)) == []
    suspend(query, store.id)
    assert query("SELECT store_id::text, status FROM store_for_token(%s)", (token_hash,)) == [
        {"store_id": store.id, "status": "suspended"}
    ]


def test_revoke_api_token_revokes_that_token_once(store, query):
    token_hash = hash_token(store.token)
    second_hash = hash_token(new_token())
    query("INSERT INTO api_tokens (store_id, token_hash) VALUES (%s, %s)", (store.id, second_hash))

    assert query("SELECT revoke_api_token(%s) AS n", (token_hash,)) == [{"n": 1}]
    assert query("SELECT revoke_api_token(%s) AS n", (token_hash,)) == [{"n": 0}]  # already revoked
    assert query("SELECT revoke_api_token(%s) AS n", (hash_token("unknown"),)) == [{"n": 0}]

    assert query("SELECT * FROM store_for_token(%s)", (token_hash,)) == []
    [revoked] = query("SELECT revoked_at FROM api_tokens WHERE token_hash = %s", (token_hash,))
    assert revoked["revoked_at"] is not None
    # The store's other token still works.
    assert query("SELECT store_id::text FROM store_for_token(%s)", (second_hash,)) == [{"store_id": store.id}]
