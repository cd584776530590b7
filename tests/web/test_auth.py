"""Logging in and out, the login-required redirect, and CSRF on every POST."""

from __future__ import annotations

from itsdangerous import TimestampSigner
from sqlalchemy import select, update

from engine.accounts.users import check_password
from engine.store.models import User


def test_login_page_shows_a_form_with_a_csrf_token(web):
    page = web.get_text("/login")
    assert 'name="csrf_token"' in page
    assert 'name="password"' in page


def test_login_with_the_right_password_goes_to_the_inbox(web, client):
    response = web.login("reception1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["user"] == "reception1"
        assert session.permanent  # 12-hour lifetime, not a browser-session cookie


def test_login_with_a_wrong_password_is_refused(web, client):
    response = web.login("reception1", "wrong")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "user" not in session


def test_login_for_an_unknown_user_is_refused(web):
    assert web.login("nobody").status_code == 401


def stored_hash(runtime, username: str) -> str:
    with runtime.db.read_session() as session:
        return session.scalar(select(User.password_hash).where(User.username == username))


def test_an_old_scrypt_hash_logs_in_and_is_replaced_by_an_argon2_hash(web, runtime, scrypt_hash):
    old = scrypt_hash("s3cret")
    with runtime.transaction() as session:
        session.execute(update(User).where(User.username == "reception1").values(password_hash=old))
    assert web.login("reception1", "wrong").status_code == 401
    assert stored_hash(runtime, "reception1") == old  # a wrong password changes nothing

    response = web.login("reception1", "s3cret")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    fresh = stored_hash(runtime, "reception1")
    assert fresh.startswith("$argon2id$") and check_password("s3cret", fresh)
    assert not check_password("wrong", fresh)

    web.logout()
    assert web.login("reception1", "wrong").status_code == 401
    assert web.login("reception1", "s3cret").status_code == 302
    assert stored_hash(runtime, "reception1") == fresh  # a current hash is kept


def test_logout_ends_the_session(web, client):
    web.login("reception1")
    response = web.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_session_expires_after_its_twelve_hours(web, client, monkeypatch):
    """The signed cookie's age is checked by the server, so an old cookie is refused even if kept."""
    web.login("reception1")
    assert client.get("/").status_code == 200
    signed_at = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at(self) + 12 * 3600 + 60)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_login_required_redirects_to_login_and_back(web, client):
    response = client.get("/cases/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/cases/new")
    response = client.post("/login?next=/cases/new", data={"username": "reception1", "password": "demo",
                                                            "csrf_token": web.token()})
    assert response.headers["Location"] == "/cases/new"


def test_login_never_redirects_to_another_site(web, client):
    response = client.post("/login?next=https://evil.example/x", data={
        "username": "reception1", "password": "demo", "csrf_token": web.token()})
    assert response.headers["Location"] == "/"


def test_post_without_csrf_token_is_refused(web, client):
    response = client.post("/login", data={"username": "reception1", "password": "demo"})
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "user" not in session


def test_post_with_a_wrong_csrf_token_is_refused(web, client):
    web.login("reception1")
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
