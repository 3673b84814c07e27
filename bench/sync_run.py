"""Benchmark: completing a full sync run of a 100,000-product store, the sweep included.

    .venv/bin/python -m bench.sync_run          # about a minute on 2 cores

On BENCH_DATABASE_URL (recreated, as make bench does; 20 other stores'
rows in it), one store syncs BENCH_RUN_PRODUCTS products (batches of
1,000, through upsert_products: untimed setup). Then, BENCH_RUNS times:
the same products go again without a run (timed: the baseline), then in a
run through sync_run_batch() without every 100th product (timed: the cost
of recording what each batch carried), then sync_run_complete() checks the
batches and marks those 1% deleted (timed: the figure). Between runs the
deleted products are sent again, which brings them back.
"""

import json
import os
import statistics
import time

from service.batch.entities import PRODUCTS

from . import data, database, paths, report

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://localhost:5432/wcsync_bench")
PRODUCTS_COUNT = int(os.environ.get("BENCH_RUN_PRODUCTS", 100_000))
RUNS = int(os.environ.get("BENCH_RUNS", 3))
BATCH = 1000
GONE_EVERY = 100  # the store no longer has every 100th product
BACKGROUND = {"stores": 20, "categories": 200, "products": 2000, "customers": 2000}


def batches(records):
    return paths.function_prepare(PRODUCTS.name, [[records[i : i + BATCH] for i in range(0, len(records), BATCH)]])[0]


def timed(cur, calls):
    """Seconds to run calls, [(statement, params)], each returning a batch's status first."""
    began = time.perf_counter()
    for statement, params in calls:
        cur.execute(statement, params)
        if cur.fetchone()[0] != "completed":
            raise paths.BenchError("a batch failed")
    return time.perf_counter() - began


def upserts(store_id, texts):
    return [("SELECT status FROM upsert_products(%s, %s::jsonb)", (store_id, text)) for text in texts]


def ms(seconds):
    return f"{seconds * 1000:,.0f} ms"


def main():
    database.recreate(URL)
    database.reset(URL, BACKGROUND)
    ((store_id, _),) = database.create_stores(URL, 1, "bench sync run")
    tree = data.category_tree(200, 0)
    database.load_categories(URL, [store_id], [json.dumps(tree)])
    products = data.products(PRODUCTS_COUNT, tree, 0)
    every, kept = batches(products), batches([p for i, p in enumerate(products) if i % GONE_EVERY])
    gone = batches(products[::GONE_EVERY])
    figures = []
    with database.connect(URL) as conn, conn.cursor() as cur:
        timed(cur, upserts(store_id, every))
        cur.execute("ANALYZE")
        for _ in range(RUNS):
            plain = timed(cur, upserts(store_id, kept))
            cur.execute("SELECT sync_run_start(%s, ARRAY['products'])", (store_id,))
            (run_id,) = cur.fetchone()
            in_run = timed(
                cur,
                [
                    (
                        "SELECT status FROM sync_run_batch(%s, %s, 'products', %s, %s::jsonb)",
                        (store_id, run_id, number, text),
                    )
                    for number, text in enumerate(kept, 1)
                ],
            )
            began = time.perf_counter()
            cur.execute(
                "SELECT rows_deleted FROM sync_run_complete(%s, %s, %s::jsonb)",
                (store_id, run_id, json.dumps({"products": len(kept)})),
            )
            complete = time.perf_counter() - began
            if cur.fetchone()[0] != len(products[::GONE_EVERY]):
                raise paths.BenchError("the sweep did not mark exactly the products gone")
            figures.append((plain, in_run, complete))
            timed(cur, upserts(store_id, gone))  # back, for the next run
    plain, in_run, complete = (statistics.median(column) for column in zip(*figures))
    spans = [f"{report.duration(min(column))} – {report.duration(max(column))}" for column in zip(*figures)]
    print(f"## Full sync run of {PRODUCTS_COUNT:,} products (median of {RUNS})\n")
    print(
        report.table(
            ["step", "time (median)", "min – max"],
            [
                [f"{len(kept)} batches of {BATCH:,}, no run", report.duration(plain), spans[0]],
                [f"the same batches in a run ({in_run / plain - 1:+.0%})", report.duration(in_run), spans[1]],
                [
                    f"complete: check {len(kept)} batches, mark {len(products[::GONE_EVERY]):,} "
                    f"of {PRODUCTS_COUNT:,} deleted",
                    ms(complete),
                    f"{ms(min(f[2] for f in figures))} – {ms(max(f[2] for f in figures))}",
                ],
            ],
            right={1},
        )
    )


if __name__ == "__main__":
    main()
