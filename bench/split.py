"""Where the time of one products request goes, measured in this process.

The request's three stages, run with the service's own functions as
BatchHandler.post runs them: parse the body (its UTF-8 checked, then
service.body.parse_batch, which counts the records too), validate
(service.validation.validate_batch), store (service.db.write_batch: sync_log_start,
then the SQL function).
"""

import statistics
import time

from service import db
from service.batch.body import is_utf8, parse_batch
from service.batch.entities import PRODUCTS
from service.batch.validation import validate_batch
from service.config import Config

STAGES = ("parse JSON", "validate", "database (SQL function)")


async def measure(url, body, fresh_store, runs):
    """Median seconds of each stage over runs, each run into a fresh store.

    body: the request body (bytes); fresh_store(): a new store's id, its
    categories already synced.
    """
    config = Config(database_url=url, pool_size=1)
    pool = await db.create_pool(config)
    timings = {stage: [] for stage in STAGES}
    try:
        for _ in range(runs + 1):  # the first run warms the pool and the caches
            store_id = fresh_store()
            began = time.perf_counter()
            if not is_utf8(body):
                raise RuntimeError("split run: the body is not UTF-8")
            records = parse_batch(body, PRODUCTS, config.max_batch_records)["products"]
            parsed = time.perf_counter()
            batch = validate_batch(PRODUCTS, records)
            validated = time.perf_counter()
            result = await db.write_batch(pool, store_id, PRODUCTS, batch.records_json, len(records))
            stored = time.perf_counter()
            if result.status != "completed" or result.synced_count != len(records):
                raise RuntimeError(f"split run: {result.status}, {result.synced_count} synced")
            for stage, seconds in zip(STAGES, (parsed - began, validated - parsed, stored - validated)):
                timings[stage].append(seconds)
    finally:
        pool.close()
        await pool.wait_closed()
    return {stage: statistics.median(values[1:]) for stage, values in timings.items()}
