"""What every answer tells the browser: a Content-Security-Policy with no inline script, no
framing, no sniffing; diagram versions as downloads; the session cookie `Secure` over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import make_app
from web.security import cookie_secure_setting

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def policy(response) -> dict[str, str]:
    return {name: value.strip() for name, _sep, value in
            (part.strip().partition(" ") for part in response.headers["Content-Security-Policy"].split(";"))}


@pytest.mark.parametrize("path", ["/login", "/", "/static/app.js", "/no-such-page", "/api/v1/openapi.json"])
def test_every_answer_forbids_inline_scripts_framing_and_sniffing(web, path):
    web.login("reception1")
    response = web.client.get(path)
    csp = policy(response)
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_template_has_an_inline_script_or_event_handler():
    """The policy would refuse them; data goes to scripts in <script type="application/json">."""
    found = []
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                found.append(f"{template.name}: {tag}")
        found += [f"{template.name}: {m}" for m in re.findall(r"<[^>]*\son[a-z]+\s*=", text)]
        found += [f"{template.name}: <style> without the nonce" for m in re.findall(r"<style(?![^>]*nonce)", text)]
    assert found == []


def test_the_printable_report_styles_itself_with_the_answers_nonce(web):
    web.login("manager1")
    response = web.client.get("/stats/report?month=2026-11")
    nonce = re.search(r'<style nonce="([^"]+)">', response.get_data(as_text=True)).group(1)
    assert policy(response)["style-src"] == f"'self' 'nonce-{nonce}'"
    assert nonce not in policy(web.client.get("/stats/report?month=2026-11"))["style-src"]  # one per answer


def test_a_diagram_version_is_a_download_that_runs_nothing(web):
    web.login("auditor1")
    response = web.client.get("/processes/water_leak/versions/1.bpmn")
    assert response.status_code == 200 and b'id="water_leak"' in response.data
    assert response.headers["Content-Disposition"] == "attachment; filename=water_leak.bpmn"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def login_over(client, scheme: str):
    base = f"{scheme}://localhost"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # Over HTTPS, Flask-WTF also wants the referrer a browser sends.
    response = client.post("/login", base_url=base, headers={"Referer": f"{base}/login"},
                           data={"username": "reception1", "password": "demo", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_the_session_cookie_is_secure_exactly_when_the_request_came_over_https(app):
    assert "Secure" in session_cookie(login_over(app.test_client(), "https"))
    assert "Secure" not in session_cookie(login_over(app.test_client(), "http"))


def test_secure_cookies_can_be_required_whatever_the_scheme(runtime):
    app = make_app(runtime)
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "Secure" in session_cookie(login_over(app.test_client(), "http"))


@pytest.mark.parametrize(("text", "setting"), [(None, "auto"), ("auto", "auto"), ("1", True), ("true", True),
                                               ("0", False), ("False", False)])
def test_the_cookie_setting_is_read_from_the_environment(text, setting):
    assert cookie_secure_setting(text) == setting


def test_an_unknown_cookie_setting_is_refused():
    with pytest.raises(ValueError, match="ESTATEDESK_SESSION_COOKIE_SECURE"):
        cookie_secure_setting("sometimes")
