"""`estatedesk serve`: the CLI hands over to the web app and starts the timer worker."""

from __future__ import annotations

import os
import signal
import threading

from engine.cli import build_parser
from web import serve


def test_serve_runs_the_app_and_the_worker(monkeypatch, db):
    calls, worker_started = {}, threading.Event()
    monkeypatch.setattr(serve, "run_simple", lambda host, port, app, **kw: calls.update(host=host, port=port,
                                                                                       app=app, **kw))
    monkeypatch.setattr(serve, "run_worker", lambda runtime, stop: worker_started.set())
    args = build_parser().parse_args(["serve", "--host", "127.0.0.1", "--port", "8765"])
    assert serve.main(args, db) == 0
    assert (calls["host"], calls["port"], calls["threaded"]) == ("127.0.0.1", 8765, True)
    assert calls["app"].extensions["estatedesk"].db is db
    assert worker_started.wait(5)


def test_serve_without_worker(monkeypatch, db):
    started = []
    monkeypatch.setattr(serve, "run_simple", lambda *a, **kw: None)
    monkeypatch.setattr(serve, "run_worker", lambda *a: started.append(a))
    args = build_parser().parse_args(["serve", "--no-worker"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert serve.main(args, db) == 0
    assert started == []


def test_sigterm_stops_the_server_and_then_the_worker(monkeypatch, db):
    stopped = []

    def worker(runtime, wakeup):
        while not wakeup.stopping:
            wakeup.sleep(60)  # woken by the stop, not by the time
        stopped.append(True)

    monkeypatch.setattr(serve, "run_worker", worker)
    monkeypatch.setattr(serve, "run_simple", lambda *a, **kw: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    assert serve.main(build_parser().parse_args(["serve"]), db) == 0
    assert stopped == [True]
    assert signal.getsignal(signal.SIGTERM) is previous
