"""`estatedesk serve`: the CLI hands over to the web app and starts the timer worker."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading

import pytest

import cli.context
from cli.main import main
from web import serve


class FakeServer:
    """Stands in for waitress: records how it was made, run and closed."""

    def __init__(self, app, host, port, on_run=None):
        self.app, self.host, self.port, self.on_run = app, host, port, on_run
        self.ran = self.closed = False

    def run(self):
        self.ran = True
        if self.on_run is not None:
            self.on_run()

    def close(self):
        self.closed = True


@pytest.fixture(autouse=True)
def cli_database(monkeypatch, db):
    """The command opens the test's database, wherever DATABASE_URL points, with the shared
    session key PostgreSQL asks for at start (tests/unit/test_serve_config.py)."""
    monkeypatch.setattr(cli.context, "Database", lambda: db)
    monkeypatch.setenv("ESTATEDESK_SECRET_KEY", "cd" * 32)


def fake_server(monkeypatch, on_run=None) -> list[FakeServer]:
    made = []
    monkeypatch.setattr(serve, "make_http_server",
                        lambda app, host, port: made.append(FakeServer(app, host, port, on_run)) or made[-1])
    return made


def test_serve_runs_the_app_and_the_worker(monkeypatch, db):
    made, worker_started = fake_server(monkeypatch), threading.Event()
    monkeypatch.setattr(serve, "run_worker", lambda runtime, stop, **_passes: worker_started.set())
    assert main(["serve", "--host", "127.0.0.1", "--port", "8765"]) == 0
    [server] = made
    assert (server.host, server.port, server.ran, server.closed) == ("127.0.0.1", 8765, True, True)
    assert server.app.extensions["estatedesk"].db is db
    assert worker_started.wait(5)


def test_the_server_answers_http(app):
    server = serve.make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
    try:
        connection.request("GET", "/api/v1/openapi.json")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["openapi"].startswith("3.")
        connection.request("GET", "/api/v1/me")  # the same kept-alive connection
        response = connection.getresponse()
        assert response.status == 401 and "error" in json.loads(response.read())
    finally:
        # Closed from inside the server's own loop: closing its sockets from this thread
        # could pull them from under a select() in progress. The loop ends once the
        # client's kept-alive connection is gone too.
        connection.close()
        server.trigger.pull_trigger(server.close)
        thread.join(5)
        assert not thread.is_alive()


def served(app, path: str, headers: dict):
    """(the answer's headers, its body) for GET `path` with `headers`, through waitress."""
    server = serve.make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.headers, response.read()
    finally:
        connection.close()
        server.trigger.pull_trigger(server.close)
        thread.join(5)


def served_login_cookie(app, headers: dict) -> str:
    """The session cookie the served login page sets, asked for with `headers`."""
    return served(app, "/login", headers)[0]["Set-Cookie"]


@pytest.mark.parametrize(("proxy", "secure"), [("127.0.0.1", True), (None, False), ("10.0.0.9", False)])
def test_only_the_trusted_proxy_says_the_request_came_over_https(app, monkeypatch, proxy, secure):
    if proxy:
        monkeypatch.setenv("ESTATEDESK_TRUSTED_PROXY", proxy)
    else:
        monkeypatch.delenv("ESTATEDESK_TRUSTED_PROXY", raising=False)
    cookie = served_login_cookie(app, {"X-Forwarded-Proto": "https"})
    assert cookie.startswith("session=") and ("; Secure" in cookie) == secure


def test_the_trusted_proxy_names_the_clients_address(monkeypatch):
    from flask import Flask, request

    echo = Flask(__name__)
    echo.add_url_rule("/", "address", lambda: request.remote_addr)
    monkeypatch.setenv("ESTATEDESK_TRUSTED_PROXY", "127.0.0.1")
    assert served(echo, "/", {"X-Forwarded-For": "203.0.113.7"})[1] == b"203.0.113.7"
    monkeypatch.setenv("ESTATEDESK_TRUSTED_PROXY", "10.0.0.9")
    assert served(echo, "/", {"X-Forwarded-For": "203.0.113.7"})[1] == b"127.0.0.1"


def test_serve_without_worker(monkeypatch, db):
    started = []
    monkeypatch.setattr(serve, "run_worker", lambda *a: started.append(a))
    made = fake_server(monkeypatch)
    assert main(["serve", "--no-worker"]) == 0
    assert (made[0].host, made[0].port) == ("127.0.0.1", 8000)
    assert started == []


def test_sigterm_stops_the_server_and_then_the_worker(monkeypatch, db):
    stopped = []

    def worker(runtime, wakeup, **_passes):
        while not wakeup.stopping:
            wakeup.sleep(60)  # woken by the stop, not by the time
        stopped.append(True)

    monkeypatch.setattr(serve, "run_worker", worker)
    made = fake_server(monkeypatch, on_run=lambda: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    assert main(["serve"]) == 0
    assert stopped == [True] and made[0].closed
    assert signal.getsignal(signal.SIGTERM) is previous
