"""Authentication and tenant isolation over HTTP.

401 for a missing, malformed, unknown or revoked token; 403 for a suspended
store; neither writes anything. Two stores syncing the same WooCommerce ids
keep separate rows, and neither can reach the other's through the API.
"""

import json

import pytest

from service.batch.entities import ENTITIES
from service.http.auth import hash_token

from http_helpers import assert_error, nothing_written, record, stored


async def send(post, entity, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    return await post(f"/api/sync/{entity}", {entity: [record(entity, 1, "x")]}, headers=headers)


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic {token}",
        "Token {token}",
        "{token}",
        "Bearer unknown-token",
        "Bearer {token}x",
        "Bearer {token} extra",
    ],
)
@pytest.mark.gen_test
async def test_missing_malformed_or_unknown_token_is_401(post, store, query, entity, authorization):
    if authorization is not None:
        authorization = authorization.format(token=store.token)

    response = await send(post, entity, authorization)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert store.token not in response.body.decode()
    nothing_written(query, store.id)


@pytest.mark.parametrize("authorization", ["Bearer {token}", "bearer {token}", "BEARER   {token}  "])
@pytest.mark.gen_test
async def test_the_bearer_scheme_is_case_insensitive_and_spaces_are_trimmed(post, store, query, authorization):
    response = await send(post, "products", authorization.format(token=store.token))
    assert response.code == 200, response.body
    assert stored(query, "products", store.id) == {1: "x"}


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_revoked_token_is_401(post, store, query, entity):
    assert (await send(post, entity, f"Bearer {store.token}")).code == 200
    query("DELETE FROM sync_logs WHERE store_id = %s", (store.id,))
    query(f"DELETE FROM {entity} WHERE store_id = %s", (store.id,))
    query("UPDATE stores SET last_sync_at = NULL WHERE id = %s", (store.id,))

    assert query("SELECT revoke_api_token(%s) AS n", (hash_token(store.token),)) == [{"n": 1}]
    response = await send(post, entity, f"Bearer {store.token}")

    assert "revoked" in assert_error(response, 401, "unauthorized")
    nothing_written(query, store.id)


@pytest.mark.gen_test
async def test_revoking_one_token_leaves_the_stores_other_tokens_working(post, store, query):
    other_token = "second-token-of-the-same-store"
    query("INSERT INTO api_tokens (store_id, token_hash) VALUES (%s, %s)", (store.id, hash_token(other_token)))
    query("SELECT revoke_api_token(%s)", (hash_token(store.token),))

    assert (await send(post, "products", f"Bearer {store.token}")).code == 401
    assert (await send(post, "products", f"Bearer {other_token}")).code == 200
    assert stored(query, "products", store.id) == {1: "x"}


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_suspended_store_is_403(post, store, query, entity):
    query("UPDATE stores SET status = 'suspended' WHERE id = %s", (store.id,))

    response = await send(post, entity, f"Bearer {store.token}")

    assert "suspended" in assert_error(response, 403, "forbidden")
    nothing_written(query, store.id)


@pytest.mark.gen_test
async def test_auth_is_checked_before_the_body(post, store, query):
    """A bad body with a bad token says 401, not 400/415: nothing about the request is disclosed."""
    response = await post("/api/sync/products", b"{not json", "unknown-token")
    assert_error(response, 401, "unauthorized")
    response = await post("/api/sync/products", b"x", "unknown-token", headers={"Content-Type": "text/plain"})
    assert_error(response, 401, "unauthorized")


# --- Tenant isolation ---


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_two_stores_syncing_the_same_ids_keep_their_own_rows(post, make_store, query, entity):
    a, b = make_store("Store A"), make_store("Store B")
    batch_a = [record(entity, n, f"A{n}") for n in (1, 2, 3)]
    batch_b = [record(entity, n, f"B{n}") for n in (1, 2, 4)]

    response_a = await post(f"/api/sync/{entity}", {entity: batch_a}, a.token)
    response_b = await post(f"/api/sync/{entity}", {entity: batch_b}, b.token)
    assert (response_a.code, response_b.code) == (200, 200)

    assert stored(query, entity, a.id) == {1: "A1", 2: "A2", 3: "A3"}
    assert stored(query, entity, b.id) == {1: "B1", 2: "B2", 4: "B4"}

    # A re-sends B's ids (and one only B has): only A's rows change.
    response = await post(f"/api/sync/{entity}", {entity: [record(entity, n, "overwritten") for n in (1, 4)]}, a.token)
    assert response.code == 200
    assert json.loads(response.body)["data"]["syncedCount"] == 2
    assert stored(query, entity, a.id) == {1: "overwritten", 2: "A2", 3: "A3", 4: "overwritten"}
    assert stored(query, entity, b.id) == {1: "B1", 2: "B2", 4: "B4"}

    # Nothing in A's responses names B, its store or its rows.
    for body in (response_a.body, response.body):
        text = body.decode()
        assert b.id not in text and "B1" not in text and "Store B" not in text
    # Each store's sync logs and last_sync_at are its own.
    logs = query("SELECT store_id, count(*) AS n FROM sync_logs WHERE store_id IN (%s, %s) GROUP BY 1", (a.id, b.id))
    assert {str(row["store_id"]): row["n"] for row in logs} == {a.id: 2, b.id: 1}


@pytest.mark.gen_test
async def test_a_store_id_in_the_body_does_not_choose_the_store(post, make_store, query):
    a, b = make_store("Store A"), make_store("Store B")
    response = await post(
        "/api/sync/products",
        {"store_id": b.id, "products": [{"wc_product_id": 1, "name": "A's", "store_id": b.id}]},
        a.token,
    )
    assert response.code == 200, response.body
    assert stored(query, "products", a.id) == {1: "A's"}
    assert stored(query, "products", b.id) == {}


@pytest.mark.gen_test
async def test_references_never_resolve_to_another_stores_category(post, make_store, query):
    a, b = make_store("Store A"), make_store("Store B")
    assert (
        await post("/api/sync/categories", {"categories": [{"wc_category_id": 10, "name": "A's"}]}, a.token)
    ).code == 200
    assert (
        await post("/api/sync/products", {"products": [{"wc_product_id": 1, "name": "p", "category_id": 10}]}, b.token)
    ).code == 200
    assert (
        await post(
            "/api/sync/categories", {"categories": [{"wc_category_id": 11, "name": "c", "parent_id": 10}]}, b.token
        )
    ).code == 200

    assert query("SELECT wc_category_id, category_id FROM products WHERE store_id = %s", (b.id,)) == [
        {"wc_category_id": 10, "category_id": None}
    ]
    assert query("SELECT wc_parent_id, parent_id FROM categories WHERE store_id = %s", (b.id,)) == [
        {"wc_parent_id": 10, "parent_id": None}
    ]
    # A's later category sync does not reach B's waiting rows either.
    assert (
        await post("/api/sync/categories", {"categories": [{"wc_category_id": 10, "name": "A's again"}]}, a.token)
    ).code == 200
    assert query("SELECT category_id FROM products WHERE store_id = %s", (b.id,)) == [{"category_id": None}]
    assert query("SELECT parent_id FROM categories WHERE store_id = %s", (b.id,)) == [{"parent_id": None}]


@pytest.mark.gen_test
async def test_a_suspended_store_does_not_block_another(post, make_store, query):
    a, b = make_store("Store A"), make_store("Store B")
    query("UPDATE stores SET status = 'suspended' WHERE id = %s", (a.id,))
    assert (await send(post, "products", f"Bearer {a.token}")).code == 403
    assert (await send(post, "products", f"Bearer {b.token}")).code == 200
    assert stored(query, "products", b.id) == {1: "x"}
