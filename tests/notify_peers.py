"""Real protocol peers on loopback for the notification channels' tests.

`RobotPeer` is one local HTTP server playing the WeCom, DingTalk and Feishu group robots
(checking DingTalk's and Feishu's signatures as they do, and answering a bad one with
their error codes) and an SMS gateway; a test scripts what each path answers next
(an HTTP error, an error code in a 200 body, no answer in time, an answer held back).
`SmtpPeer` is aiosmtpd's SMTP server with STARTTLS or implicit TLS and a login.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DINGTALK_SECRET = "SECtest-dingtalk-signing-secret"
FEISHU_SECRET = "test-feishu-signing-secret"
SMTP_USER, SMTP_PASSWORD = "desk", "smtp-password"
OK_ANSWERS = {
    "/wecom": {"errcode": 0, "errmsg": "ok"},
    "/dingtalk": {"errcode": 0, "errmsg": "ok"},
    "/feishu": {"code": 0, "msg": "success", "data": {}},
    "/sms": {"code": "OK", "message": "queued", "request_id": "r-1"},
}


@dataclass
class Seen:
    """One request the peer received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


@dataclass
class Reply:
    status: int = 200
    body: object = None  # a dict is sent as JSON; None: the path's usual answer


@dataclass
class Hang:
    """No answer for `seconds` (longer than the client's timeout)."""

    seconds: float = 3.0


@dataclass
class Hold:
    """Take the request, say so (`received`), and answer only once `release` is set."""

    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class RobotPeer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[Seen] = []
        self.script: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def then(self, path: str, *behaviours) -> None:
        """What `path` answers to its next requests, in order (then its usual answer again)."""
        self.script[path].extend(behaviours)

    def requests(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def start(self) -> RobotPeer:
        threading.Thread(target=self.serve_forever, daemon=True, name="robot-peer").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for queue in self.script.values():
            for behaviour in queue:
                if isinstance(behaviour, Hold):
                    behaviour.release.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: RobotPeer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = Seen(parts.path, dict(urllib.parse.parse_qsl(parts.query)), dict(self.headers.items()), body)
        with self.server.lock:
            self.server.seen.append(seen)
            queue = self.server.script[parts.path]
            behaviour = queue.popleft() if queue else Reply()
        if isinstance(behaviour, Hang):
            self.server.stopping.wait(behaviour.seconds)
            behaviour = Reply()
        elif isinstance(behaviour, Hold):
            behaviour.received.set()
            behaviour.release.wait(30)
            behaviour = Reply()
        answer = behaviour.body if behaviour.body is not None else self._usual(seen)
        data = (json.dumps(answer) if isinstance(answer, dict) else str(answer)).encode()
        with contextlib.suppress(OSError):  # the client may have given up (timeout) or died
            self.send_response(behaviour.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _usual(self, seen: Seen) -> dict:
        if seen.path == "/dingtalk" and not dingtalk_signature_ok(seen.query):
            return {"errcode": 310000, "errmsg": "sign not match"}
        if seen.path == "/feishu" and not feishu_signature_ok(seen.json):
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        return OK_ANSWERS.get(seen.path, {"ok": True})


def dingtalk_signature_ok(query: dict) -> bool:
    """As DingTalk checks: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, within an hour."""
    stamp, sign = query.get("timestamp", ""), query.get("sign", "")
    if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > 3600_000:
        return False
    digest = hmac.new(DINGTALK_SECRET.encode(), f"{stamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def feishu_signature_ok(body: dict) -> bool:
    """As Feishu checks: HMAC-SHA256 of an empty message keyed by "timestamp\\nsecret", within an hour."""
    stamp, sign = str(body.get("timestamp", "")), body.get("sign", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 3600:
        return False
    digest = hmac.new(f"{stamp}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


# -- SMTP ---------------------------------------------------------------------------------

def make_certificate(folder: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with openssl; None without openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return cert, key


class MailBox:
    """An aiosmtpd handler keeping every message; `refuse` addresses get 550 at RCPT."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_peer(cert: tuple[Path, Path], implicit_tls: bool = False):
    """An SMTP server on loopback: STARTTLS required before a login (or TLS from the start)."""
    from aiosmtpd.controller import Controller

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    box = MailBox()
    port = free_port()
    options = dict(authenticator=_authenticate, auth_require_tls=not implicit_tls)
    if implicit_tls:  # aiosmtpd knows TLS only from STARTTLS, so it is told not to ask for it again
        controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=context, **options)
    else:
        controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, **options)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
