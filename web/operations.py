"""What operators and load balancers ask of a node, and the request id every answer carries.

- `/healthz`: JSON; 200 while this node can serve (database answers, schema at the newest
  migration), 503 otherwise; the timer workers' heartbeat age is reported beside it.
- `/metrics`: Prometheus text (engine/runtime/metrics.py): the counters of this process, or
  of all processes when PROMETHEUS_MULTIPROC_DIR is set, plus gauges read from the database.
  Behind nginx only the monitoring network should reach it (deploy/nginx.conf); with
  ESTATEDESK_METRICS_TOKEN set, it also asks for `Authorization: Bearer <token>`.
- Every request gets an id (the proxy's X-Request-ID when it sends a well-formed one), which
  is answered in X-Request-ID, written on the request's log line and on the audit events its
  step appends.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Blueprint, Response, abort, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from engine import correlation
from engine.runtime import health
from engine.runtime.metrics import DatabaseGauges
from web.runtime import runtime

bp = Blueprint("operations", __name__)
access_log = logging.getLogger("estatedesk.access")


@bp.get("/healthz")
def healthz():
    rt = runtime()
    state = health.check(rt.db, rt.clock.now())
    response = jsonify(state.as_dict())
    response.status_code = 200 if state.serving else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics():
    token = os.environ.get("ESTATEDESK_METRICS_TOKEN")
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        abort(401)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    rt = runtime()
    database = CollectorRegistry()
    database.register(DatabaseGauges(rt.db, rt.clock.now()))
    return Response(generate_latest(processes) + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)


def _begin_request():
    g.request_started = time.perf_counter()
    g.request_id = correlation.new_id(request.headers.get("X-Request-ID"))
    g.request_id_token = correlation.bind(g.request_id)


def _answer_request(response):
    response.headers["X-Request-ID"] = g.request_id
    actor = getattr(g, "actor", None)
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "request_id": g.request_id, "status": response.status_code, "method": request.method,
        "path": request.path, "user": getattr(actor, "username", None),
        "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1)})
    return response


def _end_request(_error):
    token = g.pop("request_id_token", None)
    if token is not None:
        correlation.unbind(token)


def init_app(app) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)  # before the login check
    app.after_request(_answer_request)
    app.teardown_request(_end_request)
    app.register_blueprint(bp)
