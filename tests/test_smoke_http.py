import json

import pytest


@pytest.mark.gen_test
async def test_products_batch_is_stored(post, store, query):
    response = await post("/api/sync/products", {"products": [{"wc_product_id": 1, "name": "A"}]}, store.token)
    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    assert data["syncedCount"] == 1
    assert query("SELECT name FROM products WHERE store_id = %s", (store.id,)) == [{"name": "A"}]
