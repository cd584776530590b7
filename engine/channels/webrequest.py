"""One HTTP request to a robot or an SMS gateway, with a timeout, as the standard library makes it.

Transport failures (refused, timed out) and 5xx, 408 and 429 answers are worth trying
again; other 4xx answers mean the request itself is wrong and are permanent.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from engine.errors import DeliveryFailed

DEFAULT_TIMEOUT = 10.0
RETRYABLE_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def post_json(url: str, body: dict, timeout: float | None = None, headers: dict | None = None) -> Answer:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return request("POST", url, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                   timeout)


def request(method: str, url: str, data: bytes | None, headers: dict, timeout: float | None) -> Answer:
    """Send the request; return a 2xx answer, or raise `DeliveryFailed` saying what went wrong."""
    where = _where(url)
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout or DEFAULT_TIMEOUT) as response:  # noqa: S310
            return Answer(response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")[:300]
        permanent = 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX
        raise DeliveryFailed(f"{where} answered HTTP {exc.code}: {text}", permanent=permanent) from None
    except (TimeoutError, socket.timeout):
        raise DeliveryFailed(f"{where} did not answer within {timeout or DEFAULT_TIMEOUT:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise DeliveryFailed(f"{where} did not answer within {timeout or DEFAULT_TIMEOUT:g} s") from None
        raise DeliveryFailed(f"{where} unreachable: {reason}") from None
    except OSError as exc:  # a connection reset mid-answer
        raise DeliveryFailed(f"{where}: {exc}") from None


def _where(url: str) -> str:
    """The host and path of a URL without its query, which often holds the access token."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
