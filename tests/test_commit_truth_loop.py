"""Under a loop that terminates the backends of running batches, every answer agrees with the
database: a 200 means the batch's rows and a completed log are there, a 5xx that none of its
rows are and its log is not completed (its error names the log)."""

import asyncio
import json
import random

import pytest
from test_commit_truth import log_status, products, stored_ids

# One store's batches run side by side here: more than STORE_IN_FLIGHT's default of 2, each with a
# connection of its own, beside those authenticating and settling.
pytestmark = pytest.mark.parametrize("config", [{"store_in_flight": 8, "pool_size": 12}], indirect=True)


@pytest.mark.gen_test(timeout=120)
async def test_under_a_loop_killing_running_batches_every_answer_agrees_with_the_database(post, store, query):
    batches = [products(1 + n * 500, 500) for n in range(40)]
    answers, kills = {}, []
    done = asyncio.Event()

    async def client(numbers):
        for number in numbers:
            answers[number] = await post("/api/sync/products", {"products": batches[number]}, store.token)

    async def killer():
        while not done.is_set():
            # Shorter than one batch's statement (a 500-product upsert takes some 30 ms), so
            # that the loop catches batches running however fast the functions get.
            await asyncio.sleep(random.uniform(0.01, 0.04))
            kills.extend(
                query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE %s",
                    ("%upsert_products%",),
                )
            )

    killing = asyncio.ensure_future(killer())
    await asyncio.gather(*(client(range(c, len(batches), 4)) for c in range(4)))
    done.set()
    await killing

    stored = stored_ids(query, store.id)
    for number, response in answers.items():
        ids = {record["id"] for record in batches[number]}
        body = json.loads(response.body)
        if response.code == 200:
            assert ids <= stored, f"batch {number} was answered 200 but is not stored"
            assert log_status(query, store.id, body["data"]["syncLogId"]) == "completed"
        else:
            assert response.code in (500, 503), response.body
            assert not ids & stored, f"batch {number} was answered {response.code} but is stored"
            assert log_status(query, store.id, body["error"]["syncLogId"]) != "completed"
    assert kills, "the loop never caught a batch running"
