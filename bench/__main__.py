"""Benchmark: records/second of the sync service, and what bounds it.

    make bench                                  # about 14 minutes on 2 cores (2026-11-26)
    BENCH_RECORDS=2000 BENCH_RUNS=3 make bench  # a quick look
    .venv/bin/python -m bench                   # the same, without make

Against its own database (BENCH_DATABASE_URL, e.g.
postgresql://localhost:5432/wcsync_bench, dropped and recreated on every
run; its name must contain "bench"; unset: a throwaway embedded PostgreSQL,
whose settings the report prints), it writes synthetic WooCommerce stores
(deterministic: products in 1-3 categories of a 3-level tree, customers with
emails, orders of 1-5 line items) five ways (orders: HTTP and function only;
their items have no one-row-per-record baseline), each case 5 times into fresh stores, and prints the median
records/second as a Markdown table:

    HTTP      POST /api/sync/<entity> to `python -m service serve`, started
              here once per case; its peak RSS (VmHWM) is reported per case
    function  upsert_<entity>(store_id, records::jsonb) called directly
    COPY      the same rows into an UNLOGGED scratch table without indexes
    COPY (real tables)  the same rows into the real tables, logged, with their
              indexes and keys (products: without their category links)
    naive     one INSERT ... ON CONFLICT DO UPDATE per record, autocommit

Every figure is of inserts into empty stores (the initial sync); every run
uses new stores. With C clients, C stores sync at once, each sending its own
catalogue in order; each client sends batch * ceil(BENCH_RECORDS / batch) records,
whole batches, whatever the number of clients (categories: each store's whole
tree): four clients sending three batches each would measure mostly the server
filling and draining its pipeline, not a sync of four stores.
An orders store holds 500 products and 500 customers first, which the items
and orders resolve to.
Before each case the tables are emptied and refilled with 20 other stores'
rows, then analysed, as in a live database.

Each case also reports records per CPU-second: the records over the CPU seconds
(from /proc, in nanoseconds) of the server's process tree (HTTP) and of the
PostgreSQL backends doing the writes, read before and after each run; other
load on the machine does not count, but slows both.

The service as it was before issue 14 (BENCH_BASELINE, default b861969; empty skips it) runs
the HTTP products and customers cases at 1,000-record batches from its own tree and database
(bench/baseline.py), its runs taking turns with today's (A B A B ...): records per CPU-second
vary from machine to machine and from one minute to the next on a shared one, so a speed-up
is a figure only when both are measured side by side.

Then: the ratios HTTP/function and function/naive at 1,000-record batches,
the time split of one 1,000-record products request, and the projected time
of a 100k-product + 200k-customer initial sync, which is also measured
through HTTP, one client (BENCH_INITIAL_SYNC=0 skips that).

Settings (environment): BENCH_RUNS (5), BENCH_RECORDS (10000), BENCH_NAIVE_RECORDS
(2000), BENCH_BATCHES (100,1000,5000), BENCH_CLIENTS (1,4), BENCH_WORKERS (1,2: server processes; 2 at 1,000-record batches only), BENCH_ENTITIES
(products,customers,categories,orders), BENCH_PATHS (http,function,copy,copy-logged,naive),
BENCH_CATEGORY_TREE (200: categories of each products store), BENCH_CATEGORY_RECORDS
(1000: categories of each categories store), BENCH_BACKGROUND_STORES (20), BENCH_POOL_SIZE (10),
BENCH_INITIAL_SYNC (1), BENCH_INITIAL_PRODUCTS (100000), BENCH_INITIAL_CUSTOMERS (200000),
BENCH_BASELINE (b861969).
"""

import asyncio
import atexit
import dataclasses
import functools
import json
import math
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass

from service.config import Config as ServiceConfig
from service.db import embedded

from . import baseline, cpu, data, database, machine, paths, report, split
from .server import Server

PATH_LABELS = {  # in the report's order
    "baseline": "HTTP before issue 14",
    "http": "HTTP",
    "function": "function",
    "copy": "COPY (unlogged)",
    "copy-logged": "COPY (real tables)",
    "naive": "naive per-record",
}
RATIO_BATCH = 1000  # the batch size of the ratios; the naive path runs at it only
ORDER_CATALOGUE = 500  # products and customers of an orders store, synced before its orders
BASELINE_ENTITIES = ("products", "customers")  # issue 14's measure: their HTTP records per CPU-second


def env_list(name, default, convert=str):
    return [convert(item) for item in os.environ.get(name, default).split(",") if item.strip()]


@dataclass(frozen=True)
class Config:
    url: str = os.environ.get("BENCH_DATABASE_URL")  # unset: an embedded PostgreSQL, thrown away after
    runs: int = int(os.environ.get("BENCH_RUNS", 5))
    records: int = int(os.environ.get("BENCH_RECORDS", 10_000))
    naive_records: int = int(os.environ.get("BENCH_NAIVE_RECORDS", 2_000))
    batches: tuple = tuple(env_list("BENCH_BATCHES", "100,1000,5000", int))
    clients: tuple = tuple(env_list("BENCH_CLIENTS", "1,4", int))
    # Server processes (WORKERS) of the HTTP cases; more than 1 only at RATIO_BATCH.
    workers: tuple = tuple(env_list("BENCH_WORKERS", "1,2", int))
    entities: tuple = tuple(env_list("BENCH_ENTITIES", "products,customers,categories,orders"))
    paths: tuple = tuple(env_list("BENCH_PATHS", "http,function,copy,copy-logged,naive"))
    category_tree: int = int(os.environ.get("BENCH_CATEGORY_TREE", 200))
    # A categories case sends each store a whole tree of this many (a large store's);
    # larger batches are not run for categories.
    category_records: int = int(os.environ.get("BENCH_CATEGORY_RECORDS", 1000))
    pool_size: int = int(os.environ.get("BENCH_POOL_SIZE", 10))
    # Other stores' rows in the database before each case, analysed: {stores, and per store
    # categories, products, customers, orders}. BENCH_BACKGROUND_STORES=0 runs on empty tables.
    background: tuple = (int(os.environ.get("BENCH_BACKGROUND_STORES", 20)), 200, 2000, 2000, 2000)
    initial_sync: bool = os.environ.get("BENCH_INITIAL_SYNC", "1") not in ("", "0")
    initial_products: int = int(os.environ.get("BENCH_INITIAL_PRODUCTS", 100_000))
    initial_customers: int = int(os.environ.get("BENCH_INITIAL_CUSTOMERS", 200_000))
    # The revision whose HTTP path is measured beside today's (bench/baseline.py); "" skips it.
    baseline: str = os.environ.get("BENCH_BASELINE", baseline.BEFORE_ISSUE_14)
    baseline_dir: str = None  # its tree, checked out by main()


def background(config):
    stores, categories, products, customers, orders = config.background
    return {"stores": stores, "categories": categories, "products": products, "customers": customers, "orders": orders}


@dataclass
class Result:
    path: str
    entity: str
    batch: int
    clients: int
    records_per_run: int
    rates: list  # records/second of each run
    cpu_rates: list  # records per CPU-second of each run: the server's (HTTP) and PostgreSQL's
    peak_rss_mib: float = None  # the server's (its largest process), HTTP only
    workers: int = 1  # the server's processes, HTTP only

    @property
    def median(self):
        return statistics.median(self.rates)

    @property
    def cpu_median(self):
        return statistics.median(self.cpu_rates) if self.cpu_rates else None


def log(message):
    """Progress, on stderr: stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


# --- the stores' data --------------------------------------------------------


@functools.cache
def tree(seed, count):
    return data.category_tree(count, seed)


@functools.cache
def tree_json(seed, count):
    return json.dumps(tree(seed, count))


@functools.cache
def catalogue(entity, count, seed, tree_size):
    """Client seed's records of entity; products are in the categories of tree(seed)."""
    if entity == "products":
        return data.products(count, tree(seed, tree_size), seed)
    if entity == "customers":
        return data.customers(count, seed)
    if entity == "orders":
        return data.orders(count, ORDER_CATALOGUE, ORDER_CATALOGUE, seed)
    return tree(seed, count)


@functools.cache
def order_catalogue_json():
    """The products and customers every orders store holds before its orders."""
    return (json.dumps(data.products(ORDER_CATALOGUE, tree(0, 20), 0)), json.dumps(data.customers(ORDER_CATALOGUE, 0)))


def chunks(records, size):
    return [records[start : start + size] for start in range(0, len(records), size)]


def per_client(records, batch):
    """Records each client sends: whole batches, at least records."""
    return batch * math.ceil(records / batch)


# --- one case ----------------------------------------------------------------


class Case:
    """One path x entity x batch size x client count, run config.runs times."""

    def __init__(self, config, path, entity, batch, clients, workers=1):
        self.config, self.path, self.entity, self.batch, self.clients = config, path, entity, batch, clients
        self.workers = workers
        # The baseline runs its own server from its own tree, on its own database.
        self.url = baseline.url_for(config.url) if path == "baseline" else config.url
        if entity == "categories":
            self.count = config.category_records  # each store's whole tree
        else:
            self.count = per_client(config.naive_records if path == "naive" else config.records, batch)
        self.records = [catalogue(entity, self.count, seed, config.category_tree) for seed in range(clients)]
        self.client_batches = [chunks(records, batch) for records in self.records]

    # From start() to stop(): the HTTP cases' server, the direct paths' connections, and the
    # event loop every run of the case runs in (an aiopg connection belongs to one loop).
    server = None
    connections = ()
    loop = None

    def fresh_stores(self):
        """One new store per client; a products store gets its category tree first, an orders
        store its products and customers."""
        stores = database.create_stores(self.url, self.clients, f"bench {self.entity}")
        store_ids = [store_id for store_id, _ in stores]
        if self.entity == "products":
            database.load_categories(
                self.url, store_ids, [tree_json(seed, self.config.category_tree) for seed in range(self.clients)]
            )
        if self.entity == "orders":
            products, customers = order_catalogue_json()
            database.load(self.url, "products", store_ids, products)
            database.load(self.url, "customers", store_ids, customers)
        return stores

    def prepare(self):
        if self.path in ("http", "baseline"):
            return paths.http_prepare(self.entity, self.client_batches)
        if self.path == "function":
            return paths.function_prepare(self.entity, self.client_batches)
        if self.path in ("copy", "copy-logged"):
            return paths.copy_prepare(self.entity, self.client_batches)
        return self.client_batches

    def execute(self, prepared, stores, server):
        """(elapsed seconds, CPU seconds) of one run's writes: the CPU of the server's process tree
        (HTTP) and of the PostgreSQL backends doing the work."""
        run = self.loop.run_until_complete
        if self.path in ("http", "baseline"):
            with cpu.Meter(lambda: cpu.process_tree(server.process.pid) + cpu.backends(self.url)) as meter:
                seconds = run(paths.http_run(server.base_url, self.entity, prepared, stores))
            return seconds, meter.seconds
        if self.path == "function":
            return run(paths.function_run(self.connections, self.entity, prepared, stores))
        if self.path in ("copy", "copy-logged"):
            table = database.scratch_table(self.entity) if self.path == "copy" else self.entity
            return paths.copy_run(self.connections, self.entity, prepared, stores, table)
        return run(paths.naive_run(self.connections, self.entity, prepared, stores))

    def open_connections(self):
        """The direct paths' connections, one per client, for the whole case: the HTTP server's
        pool keeps its own from the warm-up on, and so do these (paths.timed_per_store)."""
        if self.path in ("function", "naive"):
            return self.loop.run_until_complete(paths.open_connections(self.url, self.clients))
        if self.path in ("copy", "copy-logged"):
            return paths.copy_connections(self.url, self.clients)
        return []

    def verify(self, stores, sent):
        """Every record sent is stored once, in its store (and a product's categories linked)."""
        table = database.scratch_table(self.entity) if self.path == "copy" else self.entity
        store_ids = [store_id for store_id, _ in stores]
        expected = [len(records) for records in sent]
        stored = database.count_rows(self.url, table, store_ids)
        if stored != sum(expected):
            raise paths.BenchError(f"{self}: {stored} rows stored, {sum(expected)} sent")
        if self.entity == "products" and self.path not in ("copy", "copy-logged"):
            links = database.count_rows(self.url, "product_categories", store_ids)
            sent_links = sum(len(product["categories"]) for records in sent for product in records)
            if links != sent_links:
                raise paths.BenchError(f"{self}: {links} category links stored, {sent_links} sent")
        if self.entity == "orders":
            items = database.count_rows(self.url, "order_items", store_ids)
            sent_items = sum(len(order["line_items"]) for records in sent for order in records)
            if items != sent_items:
                raise paths.BenchError(f"{self}: {items} order items stored, {sent_items} sent")

    def __str__(self):
        workers = f", {self.workers} workers" if self.workers > 1 else ""
        path = f"HTTP {baseline.label(self.config.baseline)}" if self.path == "baseline" else self.path
        return f"{path} {self.entity} batch {self.batch} x {self.clients} client(s){workers}"

    def start(self):
        """Empties the tables, starts the server (HTTP), runs the untimed warm-up."""
        config = self.config
        self.prepared = self.prepare()
        self.rates, self.cpu_rates = [], []
        database.reset(self.url, background(config))
        self.server = None
        self.loop = asyncio.new_event_loop()
        self.connections = self.open_connections()
        if self.path in ("http", "baseline"):
            source = config.baseline_dir if self.path == "baseline" else None
            self.server = Server(self.url, config.pool_size, self.workers, cwd=source)
        # Warm-up, not counted: one batch per client (connections, plans, caches).
        first = [client[:1] for client in self.prepared]
        stores = self.fresh_stores()
        self.execute(first, stores, self.server)
        self.verify(stores, [client[0] for client in self.client_batches])

    def measure(self):
        """One timed run into new stores."""
        stores = self.fresh_stores()
        seconds, cpu_seconds = self.execute(self.prepared, stores, self.server)
        self.verify(stores, self.records)
        self.rates.append(self.clients * self.count / seconds)
        if cpu_seconds:  # none measured: no figure rather than a division by zero
            self.cpu_rates.append(self.clients * self.count / cpu_seconds)

    def finish(self):
        """Stops the server; the case's Result."""
        peak = self.server.peak_rss_mib() if self.server else None
        self.stop()
        result = Result(
            self.path,
            self.entity,
            self.batch,
            self.clients,
            self.clients * self.count,
            self.rates,
            self.cpu_rates,
            peak,
            self.workers,
        )
        log(
            f"  {self}: {report.rate(result.median)} records/s, "
            + (f"{report.rate(result.cpu_median)} per CPU-second" if result.cpu_median else "under a CPU tick")
            + (f", server peak RSS {peak:.0f} MiB" if peak else "")
        )
        return result

    def stop(self):
        if self.server:
            self.server.stop()
        for conn in self.connections:
            closed = conn.close()
            if closed is not None:  # aiopg's: closed within its loop, as it was opened
                self.loop.run_until_complete(closed)
        self.connections = ()
        if self.loop:
            self.loop.close()
            self.loop = None


def run_together(together, runs):
    """The cases' runs taken in turns (A B A B ...), so that a machine whose speed drifts over
    minutes weighs on each alike; their Results."""
    try:
        for case in together:
            case.start()
        for _ in range(runs):
            for case in together:
                case.measure()
        return [case.finish() for case in together]
    finally:
        for case in together:
            case.stop()


# The paths whose runs take turns when they measure the same entity, batch size and clients: the
# ratios between them (now / before, HTTP / function, function / naive) then compare runs taken
# minutes apart at most, on a shared machine whose speed drifts over a benchmark's length.
TOGETHER = ("baseline", "http", "function", "naive")


def sendable(config, entity, batch):
    """Whether a batch of entity this size is one the service takes: a categories batch is at most
    a store's tree; any batch's body must be within the service's MAX_BODY_BYTES (5,000 orders of
    the bench's shape are not)."""
    if entity == "categories":
        return batch <= config.category_records
    sample = catalogue(entity, 100, 0, config.category_tree)
    return len(json.dumps({entity: sample})) * batch / len(sample) <= ServiceConfig.from_env().max_body_bytes


def units(config):
    """What runs, in order: tuples of cases whose runs take turns (run_together)."""
    with_baseline = bool(config.baseline) and "http" in config.paths
    together_paths = [path for path in TOGETHER if path in config.paths or (path == "baseline" and with_baseline)]
    for entity in config.entities:
        for batch in sorted(set(config.batches) | ({RATIO_BATCH} if "naive" in config.paths else set())):
            if not sendable(config, entity, batch):
                continue
            for clients in config.clients:
                together = [
                    Case(config, path, entity, batch, clients)
                    for path in together_paths
                    if runs_at(config, path, entity, batch)
                ]
                if together:
                    yield tuple(together)
    for path in config.paths:
        for entity in config.entities:
            for batch in config.batches:
                if not sendable(config, entity, batch):
                    continue
                for clients in config.clients:
                    if path == "http" and batch == RATIO_BATCH:
                        yield from ((Case(config, path, entity, batch, clients, w),) for w in config.workers if w > 1)
                    elif path in ("copy", "copy-logged") and entity != "orders":  # one row per record
                        yield (Case(config, path, entity, batch, clients),)


def runs_at(config, path, entity, batch):
    """Whether path runs for entity at this batch size (among the paths run together)."""
    if path in ("baseline", "naive"):  # naive: one row per record, so no orders (their items)
        return batch == RATIO_BATCH and (path == "naive" or entity in BASELINE_ENTITIES) and entity != "orders"
    return batch in config.batches


# --- the report ----------------------------------------------------------------


def http_over_function(result, by_key):
    """An HTTP row's records/s and records per CPU-second over its function row's, as text."""
    function = by_key.get(("function", result.entity, result.batch, result.clients))
    if result.path != "http" or function is None or not (result.cpu_median and function.cpu_median):
        return "–"
    return f"{result.median / function.median:.2f} / {result.cpu_median / function.cpu_median:.2f}"


def results_table(results, config):
    by_key = {(r.path, r.entity, r.batch, r.clients): r for r in results if r.workers == 1}
    paths, entities = list(PATH_LABELS), list(config.entities)
    results = sorted(
        results, key=lambda r: (paths.index(r.path), r.workers, entities.index(r.entity), r.batch, r.clients)
    )
    rows = [
        [
            PATH_LABELS[r.path] + (f", {r.workers} workers" if r.workers > 1 else ""),
            r.entity,
            f"{r.batch:,}",
            r.clients,
            f"{r.records_per_run:,}",
            report.rate(r.median),
            f"{report.rate(min(r.rates))} – {report.rate(max(r.rates))}",
            report.rate(r.cpu_median) if r.cpu_median else "–",
            http_over_function(r, by_key),
            f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib else "–",
        ]
        for r in results
    ]
    headers = [
        "path",
        "entity",
        "batch",
        "clients",
        "records/run",
        "records/s (median)",
        "min – max",
        "records/CPU-s",
        "HTTP/function (s / CPU-s)",
        "server peak RSS MiB",
    ]
    return report.table(headers, rows, right={2, 3, 4, 5, 6, 7, 8, 9})


def ratios_table(results, config):
    by_key = {(r.path, r.entity, r.batch, r.clients): r for r in results if r.workers == 1}
    rows = []
    for entity in config.entities:
        for clients in config.clients:
            http, function, naive, before = (
                by_key.get((path, entity, RATIO_BATCH, clients)) for path in ("http", "function", "naive", "baseline")
            )
            rows.append(
                [
                    entity,
                    clients,
                    report.rate(before.cpu_median) if before and before.cpu_median else "–",
                    report.rate(http.cpu_median) if http else "–",
                    f"{http.cpu_median / before.cpu_median:.2f}"
                    if http and before and http.cpu_median and before.cpu_median
                    else "–",
                    f"{http.median / function.median:.2f}" if http and function else "–",
                    f"{http.cpu_median / function.cpu_median:.2f}"
                    if http and function and function.cpu_median
                    else "–",
                    f"{function.median / naive.median:.1f}" if function and naive else "–",
                ]
            )
    headers = [
        "entity",
        "clients",
        "HTTP records/CPU-s before issue 14",
        "HTTP records/CPU-s",
        "now / before",
        "HTTP / function",
        "HTTP / function per CPU-s",
        "function / naive",
    ]
    return report.table(headers, rows, right={1, 2, 3, 4, 5, 6, 7})


def split_section(config, results):
    database.reset(config.url, background(config))
    case = Case(config, "http", "products", RATIO_BATCH, 1)
    body = json.dumps({"products": case.client_batches[0][0]}).encode()
    stages = asyncio.run(split.measure(config.url, body, lambda: case.fresh_stores()[0][0], config.runs))
    total = sum(stages.values())
    rows = [[stage, f"{seconds * 1000:.1f}", f"{seconds / total:.0%}"] for stage, seconds in stages.items()]
    rows.append(["sum", f"{total * 1000:.1f}", "100%"])
    lines = [
        report.table(["stage (1,000 products, in-process)", "ms (median)", "share"], rows, right={1, 2}),
        f"\nrequest body: {len(body):,} bytes ({len(body) / RATIO_BATCH:,.0f} per product)",
    ]
    http = next(
        (r for r in results if (r.path, r.entity, r.batch, r.clients) == ("http", "products", RATIO_BATCH, 1)), None
    )
    if http:
        per_request = RATIO_BATCH / http.median
        lines.append(
            f"one such request through HTTP (1 client, median of the HTTP case above): "
            f"{per_request * 1000:.1f} ms; the difference from the sum, {(per_request - total) * 1000:+.1f} ms, "
            f"is HTTP, auth, Tornado and the client, plus run-to-run noise"
        )
    return "\n".join(lines)


def best(results, entity, clients=None):
    candidates = [
        r
        for r in results
        if r.path == "http" and r.entity == entity and r.workers == 1 and (clients is None or r.clients == clients)
    ]
    return max(candidates, key=lambda r: r.median) if candidates else None


def projection_section(config, results):
    lines = []
    for label, clients in (
        ("one plugin sending one batch at a time (1 client)", 1),
        ("best measured (any client count)", None),
    ):
        products, customers = best(results, "products", clients), best(results, "customers", clients)
        if not (products and customers):
            continue
        seconds = config.initial_products / products.median + config.initial_customers / customers.median
        lines.append(
            f"- {label}: {report.duration(seconds)} "
            f"(products at {report.rate(products.median)}/s, batch {products.batch:,} x {products.clients}; "
            f"customers at {report.rate(customers.median)}/s, batch {customers.batch:,} x {customers.clients})"
        )
    return "\n".join(lines) or "(needs HTTP results for products and customers)"


def initial_sync_seconds(config, url, batch_p, batch_c, cwd=None):
    """(seconds, server peak RSS MiB) of one store's category tree, products and customers sent
    through HTTP by one client, in that order, to the service of tree cwd on url's database."""
    database.reset(url, background(config))
    (store,) = database.create_stores(url, 1, "bench initial sync")
    sends = [
        ("categories", [tree(0, config.category_tree)]),
        ("products", chunks(data.products(config.initial_products, tree(0, config.category_tree), 0), batch_p)),
        ("customers", chunks(data.customers(config.initial_customers, 0), batch_c)),
    ]
    with Server(url, config.pool_size, cwd=cwd) as server:
        seconds = 0.0
        for entity, batches in sends:
            bodies = paths.http_prepare(entity, [batches])
            seconds += asyncio.run(paths.http_run(server.base_url, entity, bodies, [store]))
            stored = database.count_rows(url, entity, [store[0]])
            if stored != sum(map(len, batches)):
                raise paths.BenchError(f"initial sync: {stored} {entity} stored, {sum(map(len, batches))} sent")
        return seconds, server.peak_rss_mib()


def measure_initial_sync(config, results):
    """The initial sync through HTTP, 1 client; and by the service before issue 14, right before."""
    products, customers = best(results, "products", 1), best(results, "customers", 1)
    batch_p = products.batch if products else RATIO_BATCH
    batch_c = customers.batch if customers else RATIO_BATCH
    before = ""
    if config.baseline_dir:
        seconds, _ = initial_sync_seconds(config, baseline.url_for(config.url), batch_p, batch_c, config.baseline_dir)
        before = f" (before issue 14, measured just before: {report.duration(seconds)})"
    seconds, peak = initial_sync_seconds(config, config.url, batch_p, batch_c)
    return (
        f"- measured: {report.duration(seconds)}{before} for {config.category_tree} categories + "
        f"{config.initial_products:,} products (batch {batch_p:,}) + {config.initial_customers:,} customers "
        f"(batch {batch_c:,}), one store, 1 client, through HTTP; server peak RSS {peak:.0f} MiB"
    )


def main():
    if Config.url:
        return benchmark(Config())
    # A bare machine: a PostgreSQL of its own (the embedded one, without fsync), removed afterwards.
    with embedded.throwaway() as cluster:
        return benchmark(Config(url=cluster.url("wcsync_bench")))


def benchmark(config):
    began = time.monotonic()
    log(f"recreating {config.url}")
    database.recreate(config.url)
    version, settings = database.server_facts(config.url)
    if config.baseline and "http" in config.paths:
        log(f"checking out {config.baseline} and migrating {baseline.url_for(config.url)} with it")
        config = dataclasses.replace(config, baseline_dir=baseline.checkout(config.baseline))
        atexit.register(shutil.rmtree, config.baseline_dir, ignore_errors=True)
        baseline.migrate(config.baseline_dir, baseline.url_for(config.url))

    all_units = list(units(config))
    results = []
    for number, together in enumerate(all_units, 1):
        log(
            f"[{number}/{len(all_units)}] "
            + " and ".join(map(str, together))
            + (" in turns" if len(together) > 1 else "")
        )
        results.extend(run_together(together, config.runs))

    log("time split of one request")
    split_text = split_section(config, results) if "products" in config.entities else "(products not run)"
    projection = projection_section(config, results)
    if config.initial_sync:
        log("initial sync, measured")
        projection += "\n" + measure_initial_sync(config, results)

    print("## wcsync benchmark\n")
    print("\n".join(f"- {line}" for line in machine.describe(version, settings)))
    print(
        f"- {config.runs} runs per case (after one untimed warm-up batch per client), median; inserts into "
        f"fresh stores: every run uses new stores, tables are emptied before each case"
    )
    stores, categories, products, customers, orders = config.background
    print(
        f"- before each case the database holds {stores} other stores ({categories} categories, {products:,} "
        f"products, {customers:,} customers, {orders:,} orders of 3 items each), analysed, as a live "
        f"database would"
    )
    print(
        "- C clients = C stores syncing at once, each sending its batches one after the other; records/s "
        "counts all clients' records over the run's wall time"
    )
    print(
        f"- a products store holds a {config.category_tree}-category, 3-level tree first; categories "
        f"cases send each store a {config.category_records:,}-category 3-level tree (so no larger batches); "
        f"a batch whose body would pass the service's MAX_BODY_BYTES is not run (5,000 orders); "
        f"an orders store holds {ORDER_CATALOGUE} products and {ORDER_CATALOGUE} customers first, and its orders "
        f"have 1-5 line items (3 on average); orders run through HTTP and the function only"
    )
    sizes = {
        entity: len(json.dumps(catalogue(entity, 100, 0, config.category_tree))) / 100 for entity in config.entities
    }
    print(
        "- average record as sent (WooCommerce REST shape): "
        + ", ".join(f"{entity} {size:,.0f} bytes" for entity, size in sizes.items())
    )
    print(
        "- function: the validated records the service would pass, one call per batch; COPY: the same rows "
        "as stored, one COPY per batch into an UNLOGGED table without indexes; naive: no validation, one "
        "autocommit INSERT ... ON CONFLICT per record (a product's category links in the same statement)"
    )
    print(
        "- server peak RSS: VmHWM of the `python -m service serve` process (with 2 workers: of the larger), started afresh for each HTTP case; records/CPU-s: records over the CPU seconds (/proc/<pid>/task/*/schedstat) of the server's processes and of the PostgreSQL backends writing, per run\n"
    )
    if config.baseline:
        print(
            f"- HTTP before issue 14: the service at {config.baseline} (the last commit before that issue's work), "
            f"run from its own tree on its own database ({baseline.url_for(config.url)}, migrated by its own "
            "code), its runs taking turns with today's HTTP runs of the same case (A B A B ...), products and "
            "customers only\n"
        )
    print(results_table(results, config))
    print(f"\n### Ratios at {RATIO_BATCH:,}-record batches\n")
    print(ratios_table(results, config))
    print("\n### Time split of one request\n")
    print(split_text)
    print(
        f"\n### Initial sync of {config.initial_products:,} products + {config.initial_customers:,} customers, "
        f"projected at the best HTTP rates above\n"
    )
    print(projection)
    print(f"\nbenchmark wall time: {report.duration(time.monotonic() - began)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
