"""Sessions end on the server: logout, a password change, deactivation and
"log out everywhere" refuse a replayed cookie or an old token at once."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.security import SESSION_COOKIE
from app.users.models import LoginSession
from tests.factories.users import PASSWORD, bearer, browser_login, make_user

NEW_PASSWORD = "a-brand-new-passphrase"


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text).group(1)


def _browser(app, user, password: str = PASSWORD) -> TestClient:
    c = TestClient(app)
    assert browser_login(c, user, password).status_code == 303
    return c


def _signed_in(c: TestClient) -> bool:
    me = c.get("/api/v1/me")
    page = c.get("/account", follow_redirects=False)
    assert (me.status_code == 200) == (page.status_code == 200), (me.status_code, page.status_code)
    return me.status_code == 200


def test_a_cookie_replayed_after_logout_is_refused(app, client, session):
    user = make_user(session)
    browser_login(client, user)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert _signed_in(client)  # and now remembered by the auth cache
    assert client.post("/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={SESSION_COOKIE: cookie})
    assert not _signed_in(replay)
    assert replay.get("/account", follow_redirects=False).headers["location"].startswith("/login")
    session.commit()
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].ended_at is not None and cookie not in rows[0].sid_hash


def test_logout_ends_only_that_browser(app, session):
    user = make_user(session)
    a, b = _browser(app, user), _browser(app, user)
    a.post("/logout", data={"csrf_token": _csrf(a)})
    assert not _signed_in(a) and _signed_in(b)


def test_changing_your_password_ends_every_other_session_and_token(app, session):
    user = make_user(session)
    here, elsewhere = _browser(app, user), _browser(app, user)
    token = bearer(session, user)
    assert TestClient(app).get("/api/v1/me", headers=token).status_code == 200
    r = here.post("/account/password", data={"csrf_token": _csrf(here), "current_password": PASSWORD,
                                            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert r.status_code == 200 and "Password changed" in r.text
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert TestClient(app).get("/api/v1/me", headers=token).status_code == 401
    # The new password works, the old one no longer does.
    assert browser_login(TestClient(app), user, PASSWORD).status_code == 401
    assert browser_login(TestClient(app), user, NEW_PASSWORD).status_code == 303


def test_a_wrong_current_password_changes_nothing(app, session):
    user = make_user(session)
    here, elsewhere = _browser(app, user), _browser(app, user)
    r = here.post("/account/password", data={"csrf_token": _csrf(here), "current_password": "not-my-password",
                                            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert r.status_code == 403 and "current password is wrong" in r.text
    r = here.post("/account/password", data={"csrf_token": _csrf(here), "current_password": PASSWORD,
                                            "new_password": NEW_PASSWORD, "confirm_password": "something-else"})
    assert r.status_code == 422 and "differ" in r.text
    assert _signed_in(here) and _signed_in(elsewhere)
    assert browser_login(TestClient(app), user, PASSWORD).status_code == 303


def test_password_change_over_the_api_keeps_the_calling_token_only(app, client, session):
    user = make_user(session)
    browser = _browser(app, user)
    mine, other = bearer(session, user), bearer(session, user)
    bad = client.post("/api/v1/me/password", json={"current_password": "nope-nope", "new_password": NEW_PASSWORD},
                      headers=mine)
    assert bad.status_code == 403 and bad.json() == {"detail": "Your current password is wrong."}
    r = client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                    headers=mine)
    assert r.status_code == 204, r.text
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert not _signed_in(browser)


def test_an_admin_setting_a_password_or_deactivating_ends_the_persons_access(app, session, admin_h):
    ann = make_user(session)
    browser, token = _browser(app, ann), bearer(session, ann)
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=token).status_code == 200
    assert api.patch(f"/api/v1/users/{ann.id}", json={"password": NEW_PASSWORD}, headers=admin_h).status_code == 200
    assert not _signed_in(browser) and api.get("/api/v1/me", headers=token).status_code == 401

    browser, token = _browser(app, ann, NEW_PASSWORD), bearer(session, ann)
    assert api.patch(f"/api/v1/users/{ann.id}", json={"active": False}, headers=admin_h).status_code == 200
    assert api.patch(f"/api/v1/users/{ann.id}", json={"active": True}, headers=admin_h).status_code == 200
    # Reactivation does not bring back what deactivation ended.
    assert not _signed_in(browser) and api.get("/api/v1/me", headers=token).status_code == 401
    assert browser_login(TestClient(app), ann, NEW_PASSWORD).status_code == 303


def test_log_out_everywhere_from_the_page(app, session):
    user = make_user(session)
    here, elsewhere, token = _browser(app, user), _browser(app, user), bearer(session, user)
    page = here.get("/account")
    assert "2 browser sessions" in page.text and "1 API token " in page.text
    r = here.post("/account/logout-everywhere", data={"csrf_token": _csrf(here)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not _signed_in(elsewhere)
    assert TestClient(app).get("/api/v1/me", headers=token).status_code == 401
    assert browser_login(TestClient(app), user).status_code == 303  # the password still works


def test_log_out_everywhere_over_the_api(app, client, session):
    user = make_user(session)
    browser, token = _browser(app, user), bearer(session, user)
    assert client.post("/api/v1/me/logout-everywhere", headers=token).status_code == 204
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert not _signed_in(browser)


def test_a_forged_or_old_style_cookie_is_refused(app, session):
    from itsdangerous import URLSafeTimedSerializer

    from app.core.config import get_settings

    user = make_user(session)
    # The cookie before server-side sessions named only the user: no longer enough.
    old = URLSafeTimedSerializer(get_settings().secret_key, salt="fervlab-session").dumps(
        {"uid": user.id, "csrf": "x"})
    assert not _signed_in(TestClient(app, cookies={SESSION_COOKIE: old}))
    made_up = URLSafeTimedSerializer(get_settings().secret_key, salt="fervlab-session").dumps(
        {"sid": "made-up", "csrf": "x"})
    assert not _signed_in(TestClient(app, cookies={SESSION_COOKIE: made_up}))
