"""The configuration, read from the environment."""

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    # Empty: an embedded PostgreSQL, whose cluster lives in data_dir (service/db/embedded.py).
    database_url: str = ""
    data_dir: str = str(CHECKOUT / ".data")
    port: int = 8080
    # The interface the server listens on: this machine only, unless told otherwise ("" or 0.0.0.0:
    # every interface, as docker-compose.yml sets; or one address).
    bind_address: str = "127.0.0.1"
    # Request limits: a larger body or batch is refused with 413.
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_records: int = 5000
    # How much more of an over-limit body is read (and dropped) before the 413,
    # so that clients which send their whole body before reading (Python's
    # http.client, requests) get the answer instead of a reset connection.
    linger_bytes: int = 40 * 1024 * 1024
    # A webhook delivery's body (WooCommerce's largest resource, an order of hundreds of items,
    # is some hundreds of KB): larger is 413, answered at once, nothing lingered for.
    webhook_max_body_bytes: int = 2 * 1024 * 1024
    # The bytes of webhook bodies not yet verified (their signature unchecked) held at once by a
    # process; a delivery past it gets 503. Bounds what unauthenticated clients cost in memory.
    webhook_body_budget_bytes: int = 32 * 1024 * 1024
    # A request's headers, and then its body, must arrive within these; a
    # slow or half-open connection is closed.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    # How many skipped records a response lists (all are counted).
    max_reported_errors: int = 100
    # Bounds a stuck batch; the client gets 503 and may retry.
    statement_timeout_ms: int = 60_000
    pool_size: int = 10  # per worker process
    # A store's batches in flight at once, across every worker and instance sharing the database:
    # one more is answered 429 (docs/api.md, Limits). Each holds one of the pool's connections.
    store_in_flight: int = 2
    # How long a request waits for a connection of the pool at most; then 503 with Retry-After.
    pool_wait_s: float = 5.0
    # Server processes on the one port (service/http/workers.py); 0: one per core.
    workers: int = 1
    # How long SIGTERM waits for in-flight batches before closing.
    shutdown_timeout_s: float = 30.0
    # Encrypts the stores' webhook secrets in the database (docs/webhooks.md);
    # empty: no webhook secret can be created or read. Never shown in a repr.
    webhook_key: str = field(default="", repr=False)
    # text, or json: one JSON object a line (service/http/logs.py).
    log_format: str = "text"
    # Run even where the database role cannot turn PostgreSQL's statement log off (service/db,
    # keep_statements_out_of_the_server_log): batches, emails included, may then reach that log.
    allow_statement_logging: bool = False
    # Set: GET /metrics needs 'Authorization: Bearer <it>'. Empty: open, as Prometheus scrapes by default.
    metrics_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ=os.environ):
        """Each field from its upper-cased name (DATABASE_URL, PORT, ...)."""
        values = {}
        for setting in fields(cls):
            raw = environ.get(setting.name.upper())
            if raw is not None:
                values[setting.name] = flag(setting.name, raw) if setting.type is bool else setting.type(raw)
        return cls(**values)


def flag(name, raw):
    """A yes/no setting: 1 or 0 (true/false, yes/no, empty: no)."""
    value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}.get(raw.lower())
    if value is None:
        raise ValueError(f"{name.upper()} must be 1 or 0, not {raw!r}")
    return value
