"""Logins under attack (issue #20, finding 5): guessing is throttled per account and per
address, in the database so every server process agrees; an unknown username costs a
password check like a known one; logging out or changing the password ends sessions on
the server, so a kept cookie no longer works."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.accounts import login
from engine.accounts.login import ACCOUNT_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW, end_sessions
from engine.audit.events import EventType
from engine.runtime.step import Runtime
from engine.store.logins import LoginSession
from engine.store.models import Event
from tests.web.conftest import TOKEN, Web, make_app

LOCKED = "登录失败次数过多，请 15 分钟后再试"


def attempt(web: Web, username: str, password: str, address: str = "10.0.0.1"):
    """A login form posted from `address`."""
    page = web.client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return web.client.post("/login", environ_base={"REMOTE_ADDR": address}, data={
        "username": username, "password": password, "csrf_token": TOKEN.search(page).group(1)})


def text(response) -> str:
    return response.get_data(as_text=True)


def test_thirty_wrong_passwords_lock_the_account_and_then_even_the_right_one_waits(web, clock):
    answers = [attempt(web, "reception1", f"guess{n}") for n in range(30)]
    # The failure that reaches the limit already says so.
    assert [a.status_code for a in answers] == [401] * (ACCOUNT_FAILURES - 1) + [429] * (31 - ACCOUNT_FAILURES)
    assert "用户名或密码不正确" in text(answers[0]) and LOCKED in text(answers[ACCOUNT_FAILURES - 1])
    assert LOCKED in text(answers[-1])
    assert answers[-1].headers["Retry-After"] == str(int(FAILURE_WINDOW.total_seconds()))
    locked = attempt(web, "reception1", "demo")
    assert locked.status_code == 429 and LOCKED in text(locked)
    clock.advance(minutes=14)
    later = attempt(web, "reception1", "demo")
    assert "请 1 分钟后再试" in text(later) and later.headers["Retry-After"] == "60"
    clock.advance(minutes=1, seconds=1)
    assert attempt(web, "reception1", "demo").status_code == 302


def test_the_lock_message_is_english_when_english_is_chosen(web):
    web.client.get("/lang/en")
    for n in range(ACCOUNT_FAILURES + 1):
        answer = attempt(web, "reception1", f"guess{n}")
    assert "Too many failed logins; try again in 15 minutes" in text(answer)


def test_a_locked_account_does_not_lock_the_others(web):
    for n in range(ACCOUNT_FAILURES):
        attempt(web, "reception1", f"guess{n}")
    assert attempt(web, "reception1", "demo").status_code == 429
    assert attempt(web, "reception2", "demo").status_code == 302


def test_one_address_guessing_many_accounts_is_locked_and_other_addresses_are_not(web):
    answers = [attempt(web, f"user{n}", "guess", address="203.0.113.9").status_code for n in range(ADDRESS_FAILURES)]
    assert answers == [401] * (ADDRESS_FAILURES - 1) + [429]
    assert attempt(web, "reception1", "demo", address="203.0.113.9").status_code == 429
    assert attempt(web, "reception1", "demo", address="10.0.0.2").status_code == 302


def test_an_unknown_username_is_locked_like_a_known_one(web):
    unknown = [attempt(web, "nobody", f"guess{n}").status_code for n in range(ACCOUNT_FAILURES + 1)]
    known = [attempt(web, "reception1", f"guess{n}").status_code for n in range(ACCOUNT_FAILURES + 1)]
    assert unknown == known == [401] * (ACCOUNT_FAILURES - 1) + [429, 429]


def test_an_unknown_username_costs_a_password_check_like_a_known_one(web, monkeypatch):
    checked = []
    check = login.check_password
    monkeypatch.setattr(login, "check_password", lambda password, stored: checked.append(stored) or
                        check(password, stored))
    attempt(web, "nobody", "guess")
    attempt(web, "reception1", "guess")
    assert len(checked) == 2 and all(stored.startswith("$argon2id$") for stored in checked)
    assert checked[0] != checked[1]  # a dummy hash, not someone's


def test_the_throttle_is_shared_by_every_server_process(runtime, clock):
    """Two apps over the same database, as two servers or workers of one site would be."""
    desks = [Web(make_app(Runtime(runtime.db, clock)).test_client()) for _ in range(2)]
    for n in range(ACCOUNT_FAILURES):
        attempt(desks[n % 2], "reception1", f"guess{n}")
    assert [attempt(desk, "reception1", "demo").status_code for desk in desks] == [429, 429]


def kept_cookie(web: Web) -> str:
    return web.client.get_cookie("session").value


def replay(web: Web, cookie: str):
    web.client.set_cookie("session", cookie)
    return web.client.get("/")


def test_a_cookie_kept_from_before_logout_no_longer_logs_in(web):
    web.login("reception1")
    cookie = kept_cookie(web)
    assert web.client.get("/").status_code == 200
    web.logout()
    response = replay(web, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logging_out_on_one_device_leaves_the_others_logged_in(runtime):
    desk, phone = (Web(make_app(runtime).test_client()) for _ in range(2))
    desk.login("reception1")
    phone.login("reception1")
    desk.logout()
    assert phone.client.get("/").status_code == 200


def test_a_session_ends_on_the_server_after_twelve_hours(web, clock):
    web.login("reception1")
    clock.advance(hours=11, minutes=59)
    assert web.client.get("/").status_code == 200
    clock.advance(minutes=2)
    assert web.client.get("/").status_code == 302


def change(web: Web, current: str, new: str, again: str | None = None):
    return web.post("/account/password", {"current_password": current, "new_password": new,
                                          "new_password_again": new if again is None else again})


def test_changing_the_password_ends_every_other_session_and_keeps_this_one(runtime, clock):
    desk, phone = (Web(make_app(runtime).test_client()) for _ in range(2))
    desk.login("reception1")
    phone.login("reception1")
    kept = kept_cookie(desk)
    response = change(desk, "demo", "a-new-secret")
    assert response.status_code == 302
    assert "密码已修改，其他设备上的登录已退出" in desk.get_text("/")
    assert phone.client.get("/").status_code == 302
    assert replay(Web(make_app(runtime).test_client()), kept).status_code == 302  # the old cookie of this desk
    assert phone.login("reception1", "demo").status_code == 401
    assert phone.login("reception1", "a-new-secret").status_code == 302
    with runtime.db.read_session() as session:
        [changed] = session.scalars(select(Event).where(Event.type == EventType.PASSWORD_CHANGED)).all()
    assert changed.actor == "reception1" and changed.data == {"user": "reception1", "sessions_ended": 2}


@pytest.mark.parametrize(("current", "new", "again", "status", "message"), [
    ("demo", "short", None, 400, "新密码至少 8 个字符"),
    ("demo", "a-new-secret", "another-one", 400, "两次输入的新密码不一致"),
    ("wrong", "a-new-secret", None, 401, "当前密码不正确"),
])
def test_a_refused_change_keeps_the_password_and_the_sessions(web, current, new, again, status, message):
    web.login("reception1")
    response = change(web, current, new, again)
    assert response.status_code == status and message in text(response)
    assert web.client.get("/").status_code == 200
    web.logout()
    assert web.login("reception1", "demo").status_code == 302


def test_guessing_the_current_password_on_the_change_page_is_throttled_too(web):
    web.login("reception1")
    answers = [change(web, f"guess{n}", "a-new-secret").status_code for n in range(ACCOUNT_FAILURES)]
    assert answers == [401] * (ACCOUNT_FAILURES - 1) + [429]


def test_ending_a_persons_sessions_logs_them_out_everywhere(runtime):
    """What a password set by an operator does besides storing the hash."""
    desk, phone = (Web(make_app(runtime).test_client()) for _ in range(2))
    desk.login("reception1")
    phone.login("reception1")
    with runtime.transaction() as session:
        assert end_sessions(session, "reception1") == 2
    assert [w.client.get("/").status_code for w in (desk, phone)] == [302, 302]


def test_the_database_keeps_only_a_hash_of_the_session_secret(web, runtime):
    web.login("reception1")
    with web.client.session_transaction() as session:
        secret = session["login"]
    with runtime.db.read_session() as session:
        stored = session.scalars(select(LoginSession.token_hash)).all()
    assert len(stored) == 1 and secret not in stored and re.fullmatch(r"[0-9a-f]{64}", stored[0])
    assert login._token_hash(secret) == stored[0]
