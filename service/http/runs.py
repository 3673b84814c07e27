"""The full sync run routes (docs/full-sync-runs.md) and the store's sync status.

POST /api/sync/runs                      start a run: 201 and the run
GET  /api/sync/runs/<runId>              the run's progress
POST /api/sync/runs/<runId>/complete     {"batches": {entity: n}}: sweep, or 409 naming the batches
POST /api/sync/runs/<runId>/abort        end it, deleting nothing
GET  /api/sync/status                    the store's rows, latest run and failed batches

Each POST's body is judged by its schema in service/http/openapi.json (run_bodies.py) before anything
reaches PostgreSQL; the SQL functions of sql/sync_runs.sql check every input again and refuse with
codes of their own (handlers.RUN_ERRORS). Complete and abort look the run up before the body.
"""

import uuid

import tornado.web

from .. import db
from ..batch.body import BodyBuffer, announces_body
from .base import ApiError, JsonHandler
from .run_bodies import RunBodySchema, counts_json

MAX_BODY_BYTES = 64 * 1024  # entity names and counts
# The run named in the path is unknown, or another store's: this store has no such resource.
RUN_IN_PATH = {"WR001": (404, "not_found")}


def no_such_run():
    return ApiError(404, "not_found", "This store has no such sync run.")


def run_id_of(text):
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise no_such_run() from None


class StoreHandler(JsonHandler):
    """A route of the authenticated store; a POST takes a small JSON object, a GET no body."""

    async def prepare(self):
        super().prepare()
        await self.authenticate()
        if self.request.method not in self.allowed_methods():
            raise tornado.web.HTTPError(405)
        if self.request.method != "POST":
            if announces_body(self.request.headers):
                raise ApiError(413, "payload_too_large", "This endpoint takes no request body.")
            return
        # (a POST without a body, as abort's may be, needs no Content-Type)
        self.body = BodyBuffer(MAX_BODY_BYTES, announces_body(self.request.headers) and self.gzipped())
        if int(self.request.headers.get("Content-Length", 0)) > MAX_BODY_BYTES:
            raise self.too_large()

    def too_large(self):
        return ApiError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")

    def data_received(self, chunk):
        self.body.add(chunk)
        if self.body.over and not self._finished:  # a chunked body that keeps coming: answer, and close
            error = self.too_large()
            self.send_error(error.status_code, exc_info=(ApiError, error, None))

    def json_body(self):
        """The request's JSON object, judged by the route's schema (run_bodies.py); an empty body is {}."""
        try:
            data = self.body.take()
        except ValueError as exc:  # its gzip is broken
            raise ApiError(400, "bad_request", str(exc)) from None
        return self.body_schema.read(data)

    def answer(self, data, status=200):
        self.set_status(status)
        self.write({"success": True, "data": data})

    async def run_status(self, run_id):
        status = await self.database(db.run_status(self.pool, self.store_id, run_id))
        if status is None:
            raise no_such_run()
        return status


class RunsHandler(StoreHandler):
    route = "/api/sync/runs"
    body_schema = RunBodySchema(route)

    async def post(self):
        body = self.json_body()
        expected = counts_json(body.get("expected"))
        run_id = await self.database(db.run_start(self.pool, self.store_id, body["entities"], expected))
        self.answer(await self.run_status(run_id), 201)


class RunHandler(StoreHandler):
    route = "/api/sync/runs/{runId}"

    async def get(self, run_id):
        self.answer(await self.run_status(run_id_of(run_id)))


class RunEndHandler(StoreHandler):
    """POST that ends a run: the run is looked up first (404 whatever the body), then the body judged."""

    async def post(self, run_id):
        run_id = run_id_of(run_id)
        await self.run_status(run_id)
        await self.database(self.end(run_id, self.json_body()), RUN_IN_PATH)
        self.answer(await self.run_status(run_id))


class RunCompleteHandler(RunEndHandler):
    route = "/api/sync/runs/{runId}/complete"
    body_schema = RunBodySchema(route)

    def end(self, run_id, body):
        return db.run_complete(self.pool, self.store_id, run_id, counts_json(body["batches"]))


class RunAbortHandler(RunEndHandler):
    route = "/api/sync/runs/{runId}/abort"
    body_schema = RunBodySchema(route)  # no member is read, but the body must be what the document says

    def end(self, run_id, body):
        return db.run_abort(self.pool, self.store_id, run_id)


class StatusHandler(StoreHandler):
    route = "/api/sync/status"

    async def get(self):
        self.answer(await self.database(db.sync_status(self.pool, self.store_id)))


ROUTES = [
    (r"/api/sync/runs", RunsHandler),
    (r"/api/sync/runs/([^/]+)", RunHandler),
    (r"/api/sync/runs/([^/]+)/complete", RunCompleteHandler),
    (r"/api/sync/runs/([^/]+)/abort", RunAbortHandler),
    (r"/api/sync/status", StatusHandler),
]
