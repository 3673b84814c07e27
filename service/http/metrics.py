"""What GET /metrics reports, in Prometheus' text format (docs/operations.md).

Each Application has a registry of its own. Label values are few and never
name a store, a token or a record: routes are their patterns, entities and
outcomes fixed words.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

# A batch of 1,000 records takes about 150 ms; the statement timeout bounds the slowest.
BATCH_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self, pool, in_flight):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wcsync_http_requests",
            "HTTP requests answered, by route pattern and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.records = Counter(
            "wcsync_records",
            "Records of completed batches, by entity and outcome (synced, unchanged, skipped).",
            ["entity", "outcome"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "wcsync_batch_duration_seconds",
            "Time from a batch's body to its database outcome (completed or failed), by entity.",
            ["entity"],
            buckets=BATCH_SECONDS,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "wcsync_webhook_deliveries",
            "WooCommerce webhook deliveries recorded, by topic (those stored; any other is 'other') and outcome.",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.webhook_bodies_refused = Counter(
            "wcsync_webhook_bodies_refused",
            "Webhook deliveries answered 503 mid-body: the process's budget of unverified webhook bytes was spent.",
            registry=self.registry,
        )
        self.webhook_bodies_abandoned = Counter(
            "wcsync_webhook_bodies_abandoned",
            "Webhook deliveries whose client closed the connection before the whole body was sent.",
            registry=self.registry,
        )
        self.registry.register(StateCollector(pool, in_flight))

    def request(self, route, status):
        self.requests.labels(route, str(status)).inc()

    def batch(self, entity, seconds, result):
        self.batch_seconds.labels(entity).observe(seconds)
        if result.status == "completed":
            self.records.labels(entity, "synced").inc(result.synced_count)
            self.records.labels(entity, "unchanged").inc(result.unchanged_count)
            self.records.labels(entity, "skipped").inc(result.skipped_count)

    def delivery(self, topic, outcome):
        self.deliveries.labels(topic, outcome).inc()


class StateCollector:
    """Gauges read when scraped: the database pool's connections and the batches in flight."""

    def __init__(self, pool, in_flight):
        self.pool = pool
        self.in_flight = in_flight

    def collect(self):
        pool = self.pool
        yield GaugeMetricFamily("wcsync_db_pool_max", "The pool's most connections (POOL_SIZE).", pool.maxsize)
        connections = GaugeMetricFamily(
            "wcsync_db_pool_connections", "The pool's open connections, in use or idle.", labels=["state"]
        )
        connections.add_metric(["in_use"], pool.size - pool.freesize)
        connections.add_metric(["idle"], pool.freesize)
        yield connections
        yield GaugeMetricFamily("wcsync_db_pool_waiting", "Callers waiting for a connection of the pool.", pool.waiting)
        yield GaugeMetricFamily(
            "wcsync_batches_in_flight", "Sync requests accepted and not yet answered.", len(self.in_flight)
        )
