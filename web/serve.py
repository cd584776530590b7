"""`estatedesk serve`: the web app and, unless told not to, the timer worker beside it."""

from __future__ import annotations

import signal
import sys
import threading

from werkzeug.serving import run_simple

from engine.db import Database
from engine.runtime import Runtime
from engine.timers import Wakeup, run_worker

from . import create_app

WORKER_STOP_SECONDS = 10  # time the worker gets to finish the step in hand


def main(args, db: Database | None = None) -> int:
    """Serve on args.host:args.port; run the timer worker in a daemon thread."""
    db = db or Database()
    app = create_app({"DATABASE": db})
    wakeup, worker = Wakeup(), None
    if not args.no_worker:
        # Its own Runtime so the worker's clock and sessions never mix with the app's; the
        # same Database, so a timer the app writes rings the worker at once.
        worker = threading.Thread(target=run_worker, args=(Runtime(db), wakeup), daemon=True, name="timer-worker")
        worker.start()
    print(f"EstateDesk on http://{args.host}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops as cleanly as Ctrl-C
    try:
        run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        wakeup.stop()
        if worker is not None:
            worker.join(WORKER_STOP_SECONDS)
    print("EstateDesk stopped", file=sys.stderr)
    return 0


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt
