"""`estatedesk serve --processes N`: N app processes on one port, and the timer worker beside them.

The supervisor binds the port once and starts N `estatedesk serve --no-worker` processes that
all accept connections from that one listening socket (handed down as a file descriptor), and,
unless `--no-worker`, one `estatedesk worker`. It serves nothing itself: Python runs one
thread's bytecode at a time, so a second core only helps a second process.

- A child that dies (a crash, an out-of-memory kill, `kill -9`) is started again; connections
  waiting on the socket meanwhile are taken by the others, since the socket stays open here.
- SIGTERM or Ctrl-C stops them all: each finishes the requests and the step in hand.
- The children share one session key (ESTATEDESK_SECRET_KEY; on SQLite, where it may be left
  unset, one drawn here for all of them), so a login made on one process holds on the others.
- Unless PROMETHEUS_MULTIPROC_DIR is set, the children count their metrics in a fresh folder
  made here, so `/metrics` on any of them sums all of them (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("estatedesk.serve")

CHILD_STOP_SECONDS = 30  # what a child gets to finish its requests after SIGTERM
RESTART_DELAY_SECONDS = 1.0  # a child that keeps dying is started again at most this often
POLL_SECONDS = 0.2
LISTEN_BACKLOG = 1024


@dataclass
class Child:
    """One supervised process: what it runs, and the process running it now."""

    name: str
    args: list[str]
    process: subprocess.Popen | None = None
    started_at: float = field(default=0.0)


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket every app process accepts on (inherited by the children)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)  # waitress's accept loop expects it; every child shares this flag
    sock.set_inheritable(True)
    return sock


def child_commands(library: list[str], fd: int, processes: int, worker: bool, log_format: str | None) -> list[Child]:
    """The app processes (and the worker) to run; `library` is the group's --processes/--forms."""
    base = [sys.executable, "-m", "cli", *library]
    logs = ["--log-format", log_format] if log_format else []
    children = [Child(f"app {n + 1}", [*base, "serve", "--no-worker", "--listen-fd", str(fd), *logs])
                for n in range(processes)]
    if worker:
        children.append(Child("timer worker", [*base, "worker", *logs]))
    return children


def child_environment(db_is_postgres: bool) -> tuple[dict, Path | None]:
    """The children's environment, and the metrics folder made for them (to remove at the end)."""
    env = dict(os.environ)
    if not env.get("ESTATEDESK_SECRET_KEY"):
        # Refused on PostgreSQL before this (web/serve.py); on SQLite one key for all children.
        assert not db_is_postgres
        env["ESTATEDESK_SECRET_KEY"] = secrets.token_hex(32)
    made = None
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        made = Path(tempfile.mkdtemp(prefix="estatedesk-metrics-"))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(made)
    return env, made


def run(host: str, port: int, processes: int, worker: bool, library: list[str], log_format: str | None,
        db_is_postgres: bool) -> int:
    """Supervise the children until SIGTERM or Ctrl-C; 0 once all have stopped."""
    sock = listening_socket(host, port)
    env, metrics_dir = child_environment(db_is_postgres)
    children = child_commands(library, sock.fileno(), processes, worker, log_format)
    stopping = threading.Event()

    def stop(signum, _frame):
        log.info("stopping on %s", signal.Signals(signum).name)
        stopping.set()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            _start(child, env, sock)
        print(f"EstateDesk on http://{host}:{sock.getsockname()[1]}/ with {processes} app processes"
              f"{' and the timer worker' if worker else ''} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        while not stopping.wait(POLL_SECONDS):
            for child in children:
                code = child.process.poll()
                if code is not None and time.monotonic() - child.started_at >= RESTART_DELAY_SECONDS:
                    log.warning("%s (pid %d) exited with %s; starting it again", child.name, child.process.pid, code,
                                extra={"child_pid": child.process.pid, "exit_code": code})
                    _forget_metrics(env, child.process.pid)
                    _start(child, env, sock)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_all(children)
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    print("EstateDesk stopped", file=sys.stderr, flush=True)
    return 0


def _start(child: Child, env: dict, sock: socket.socket) -> None:
    child.process = subprocess.Popen(child.args, env=env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL)
    child.started_at = time.monotonic()
    log.info("%s started (pid %d)", child.name, child.process.pid, extra={"child_pid": child.process.pid})


def _stop_all(children: list[Child]) -> None:
    """SIGTERM to each child still running, then wait; SIGKILL for any that outstays CHILD_STOP_SECONDS."""
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.terminate()
    end = time.monotonic() + CHILD_STOP_SECONDS
    for process in running:
        try:
            process.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("pid %d did not stop within %d s; killing it", process.pid, CHILD_STOP_SECONDS)
            process.kill()
            process.wait()


def _forget_metrics(env: dict, pid: int) -> None:
    """A dead child's gauges no longer count (its counters and histograms still do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, env["PROMETHEUS_MULTIPROC_DIR"])
