"""`estatedesk serve`: the web app and, unless told not to, the timer worker beside it."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import threading

from waitress import create_server

from engine.channels.sender import ChannelSender
from engine.duty.desk import run_duty_pass
from engine.duty.oncall import RosterRecipients
from engine.errors import SecretKeyMissing
from engine.runtime.step import Runtime
from engine.runtime.timers import Wakeup, run_worker
from engine.store.db import Database
from web import create_app

WORKER_STOP_SECONDS = 10  # time the worker gets to finish the step in hand
# Requests served at once. Steps wait for SQLite's single writer anyway; more threads
# only let reads go on beside a slow step.
SERVER_THREADS = 8


def make_http_server(app, host: str, port: int, sock: socket.socket | None = None):
    """A production WSGI server (waitress) for `app`; port 0 picks a free one (`.effective_port`).

    With `sock`, it accepts on that listening socket instead (`serve --processes`: one socket
    shared by every app process, cli/supervisor.py).

    Werkzeug's development server spends about as long on each request as the app does.
    Behind a proxy that ends HTTPS, ESTATEDESK_TRUSTED_PROXY names its address: its
    X-Forwarded-Proto then says whether the request came over HTTPS (and so whether the
    session cookie is `Secure`), and its X-Forwarded-For who sent it (whom the login
    throttle counts); nobody else's are believed.
    """
    proxy = os.environ.get("ESTATEDESK_TRUSTED_PROXY")
    behind_proxy = {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
                    "clear_untrusted_proxy_headers": True} if proxy else {}
    where = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    return create_server(app, threads=SERVER_THREADS, ident="EstateDesk", **where, **behind_proxy)


def require_shared_secret(db: Database) -> None:
    """On PostgreSQL (several app processes behind nginx), refuse a per-process random session key."""
    if db.is_postgres and not os.environ.get("ESTATEDESK_SECRET_KEY"):
        raise SecretKeyMissing()


def main(args, db: Database | None = None) -> int:
    """Serve on args.host:args.port; run the timer worker in a daemon thread."""
    db = db or Database()
    app = create_app({"DATABASE": db, "PROCESSES_DIR": str(args.processes), "FORMS_DIR": str(args.forms)})
    # The modules and the app live as long as the process: out of the collector's sight, a full
    # collection walks only what requests made, a pause of some 20 ms instead of some 100 ms
    # that every request in flight on this process would wait out.
    gc.collect()
    gc.freeze()
    wakeup, worker = Wakeup(), None
    if not args.no_worker:
        # Its own Runtime so the worker's clock and sessions never mix with the app's; the
        # same Database, so a timer the app writes rings the worker at once.
        # It delivers the outbox over the channels of notifications.yaml.
        worker_runtime = Runtime(db, sender=ChannelSender(), recipients=RosterRecipients())
        worker = threading.Thread(target=run_worker, args=(worker_runtime, wakeup),
                                  kwargs={"passes": (run_duty_pass,)}, daemon=True, name="timer-worker")
        worker.start()
    if getattr(args, "listen_fd", None) is not None:
        server = make_http_server(app, args.host, args.port, sock=socket.socket(fileno=args.listen_fd))
        print(f"EstateDesk app process {os.getpid()} serving", file=sys.stderr)
    else:
        server = make_http_server(app, args.host, args.port)
        print(f"EstateDesk on http://{args.host}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops as cleanly as Ctrl-C
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
        wakeup.stop()
        if worker is not None:
            worker.join(WORKER_STOP_SECONDS)
        gc.unfreeze()  # serve run in-process (tests) hands the collector back its objects
    print("EstateDesk stopped", file=sys.stderr)
    return 0


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt
