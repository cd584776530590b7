"""What every answer tells the browser about itself, and when the session cookie is `Secure`.

The Content-Security-Policy lets a page run only the app's own scripts (/static, where
bpmn-js and ECharts are served from web/static/vendor), never inline ones; pages hand
their data to those scripts in `<script type="application/json">` blocks. Styles come
from /static too; an inline `<style>` (the monthly report, which is also written to a
file that must print on its own) carries the request's nonce, and style *attributes*
stay allowed because bpmn-js and ECharts position their overlays and tooltips with them.
No page may be framed (clickjacking), and no answer may be sniffed into another type.
"""

from __future__ import annotations

import secrets

from flask import g, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'{nonce}; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# For files people download (diagram versions): even opened in the app's origin they run nothing.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"
# SESSION_COOKIE_SECURE's default: `Secure` exactly when the request came over HTTPS.
AUTO = "auto"


def csp_nonce() -> str:
    """The nonce of this answer's Content-Security-Policy, for an inline `<style nonce=…>`."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(
        nonce=f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with SESSION_COOKIE_SECURE = "auto" meaning "over HTTPS"."""

    def get_cookie_secure(self, app) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        if setting == AUTO:
            return request.is_secure
        return bool(setting)


def cookie_secure_setting(text: str | None):
    """ESTATEDESK_SESSION_COOKIE_SECURE: "auto" (default), or always ("1", "true") / never ("0", "false")."""
    value = (text or AUTO).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value == AUTO:
        return AUTO
    raise ValueError(f"ESTATEDESK_SESSION_COOKIE_SECURE must be auto, true or false, not {text!r}")


def init_app(app) -> None:
    app.session_interface = SessionInterface()
    app.after_request(add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
