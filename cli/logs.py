"""Where `serve` and `worker` write their log: one line per record on stderr, as JSON for a log
collector (the default when stderr is not a terminal) or as plain text for a person.

Every record carries the request id of the work in hand (engine/correlation.py), so a line of
the server's log, nginx's access log and the case's audit events can be matched."""

from __future__ import annotations

import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

from engine import correlation

FORMATS = ("json", "text")
LOGGERS = ("engine", "web", "estatedesk", "waitress")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = correlation.current()
        return True


class OneLineLogFormatter(logging.Formatter):
    """Log records as one line each, failures with their exception's type and message: no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record)} {record.levelname} {record.getMessage()}"
        if getattr(record, "request_id", None):
            text += f" [{record.request_id}]"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[0].__name__}: {record.exc_info[1]})"
        return text


def default_format() -> str:
    return os.environ.get("ESTATEDESK_LOG_FORMAT") or ("text" if sys.stderr.isatty() else "json")


def configure(fmt: str | None = None) -> None:
    """Send the app's loggers to stderr in `fmt` (json or text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if (fmt or default_format()) == "json":
        # `pid`: which of several app processes (`serve --processes`) wrote the line.
        handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{process}{message}", style="{",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                                                          "process": "pid"},
                                           json_ensure_ascii=False))
    else:
        handler.setFormatter(OneLineLogFormatter())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
