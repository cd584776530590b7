"""`estatedesk serve`: the web app and, unless told not to, the timer worker beside it."""

from __future__ import annotations

import sys
import threading

from werkzeug.serving import run_simple

from engine.db import Database
from engine.runtime import Runtime
from engine.timers import run_worker

from . import create_app


def main(args, db: Database | None = None) -> int:
    """Serve on args.host:args.port; run the timer worker in a daemon thread."""
    db = db or Database()
    app = create_app({"DATABASE": db})
    stop = threading.Event()
    if not args.no_worker:
        # Its own Runtime so the worker's clock and sessions never mix with the app's.
        worker = threading.Thread(target=run_worker, args=(Runtime(db), stop), daemon=True, name="timer-worker")
        worker.start()
    print(f"EstateDesk on http://{args.host}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    try:
        run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    return 0
