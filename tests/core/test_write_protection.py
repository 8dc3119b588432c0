"""Every route that changes state checks its role and, for cookie sessions,
the CSRF token (app/core/deps.py). The router is walked, so a route added
later cannot forget: it fails here until it uses a writer alias
(`Writer`, `ReviewerWriter`, `AdminWriter`, `PageWriter`, `ReviewerPageWriter`,
`AdminPageWriter`) or is listed below with the reason it needs none."""
from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from app.core.deps import get_current_user, get_page_user, verify_csrf
from app.main import create_app
from app.users.models import Role
from tests.factories.users import browser_login, make_user

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Writes that cannot carry a session's CSRF token, each with why.
NO_SESSION_YET = {
    ("POST", "/login"): "starts the session; checks its own login-form token (double-submit cookie)",
    ("POST", "/api/v1/auth/token"): "takes email and password in the body, never the session cookie",
}
# Writes that need the CSRF token but no signed-in user.
CSRF_ONLY = {
    ("POST", "/logout"): "ends whatever session the cookie names; nothing to refuse when there is none",
}


def _calls(dependant) -> set:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _write_routes() -> list[tuple[str, str, object]]:
    """(method, full path, route) of every write, through included routers
    (their prefixes and router-level dependencies applied)."""
    out = []
    for route in iter_route_contexts(create_app().routes):
        if route.methods and getattr(route, "dependant", None) is not None:
            out += [(m, route.path, route) for m in sorted(route.methods & WRITE_METHODS)]
    return out


WRITES = _write_routes()


def test_the_router_has_writes_to_walk():
    assert len(WRITES) >= 30  # the walk sees the whole app, not an empty list


@pytest.mark.parametrize(("method", "path", "route"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_every_write_checks_role_and_csrf(method, path, route):
    if (method, path) in NO_SESSION_YET:
        return
    calls = _calls(route.dependant)
    assert verify_csrf in calls, f"{method} {path} does not check the CSRF token: use a writer alias of app/core/deps.py"
    if (method, path) not in CSRF_ONLY:
        assert calls & {get_current_user, get_page_user}, f"{method} {path} does not authenticate"


def test_the_exemptions_name_real_routes():
    have = {(m, p) for m, p, _ in WRITES}
    assert set(NO_SESSION_YET) <= have and set(CSRF_ONLY) <= have


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_cookie_writes_without_the_token_answer_403(client, session):
    """Live: an admin's browser session (every role passes) sends each write
    with no CSRF token; each is refused before it does anything."""
    admin = make_user(session, Role.admin)
    assert browser_login(client, admin).status_code == 303
    checked = 0
    for method, path, _ in WRITES:
        if (method, path) in NO_SESSION_YET:
            continue
        r = client.request(method, _url(path), json={}, follow_redirects=False)
        assert r.status_code == 403, f"{method} {path}: {r.status_code} {r.text[:200]}"
        assert "CSRF" in r.json()["detail"], f"{method} {path}: {r.text[:200]}"
        checked += 1
    assert checked == len(WRITES) - len(NO_SESSION_YET)
    # Still signed in: nothing above ended the session or changed the admin.
    assert client.get("/api/v1/me").json()["role"] == "admin"


def test_a_wrong_token_is_refused_and_the_right_one_passes(client, session):
    admin = make_user(session, Role.admin)
    browser_login(client, admin)
    body = {"name": "Lab", "scenario": "Daily Life"}
    assert client.post("/api/v1/scenes", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text).group(1)
    r = client.post("/api/v1/scenes", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text


def test_bearer_writes_need_no_csrf_and_anonymous_writes_are_401(client, session, admin_h):
    body = {"name": "Lab", "scenario": "Daily Life"}
    assert client.post("/api/v1/scenes", json=body).status_code == 401
    assert client.post("/api/v1/scenes", json=body, headers=admin_h).status_code == 201
