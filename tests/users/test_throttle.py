"""Password guessing answers 429 with Retry-After, per (account, address) and
per address, counted in the database; the owner of an account still gets in
from their own address."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.core.db import utcnow
from app.core.errors import TooManyRequests
from app.users import throttle
from tests.factories.users import PASSWORD, make_user


@pytest.fixture(autouse=True)
def settings(settings, monkeypatch):
    """Small limits: every refused password costs an argon2 check."""
    monkeypatch.setattr(settings, "login_failures_per_account", 3)
    monkeypatch.setattr(settings, "login_failures_per_address", 50)
    return settings


def _from(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def _token(c, email, password):
    return c.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_guessing_over_the_api_gets_429_and_the_owner_elsewhere_gets_in(app, session, settings):
    user = make_user(session)
    guesser = _from(app, "203.0.113.7")
    codes = [_token(guesser, user.email, f"guess-{i}").status_code for i in range(settings.login_failures_per_account)]
    assert codes == [401] * settings.login_failures_per_account
    r = _token(guesser, user.email, "guess-again")
    assert r.status_code == 429 and r.json()["detail"].startswith("Too many failed logins; try again in")
    assert 0 < int(r.headers["Retry-After"]) <= settings.login_window_s
    # Even the right password waits, from that address...
    assert _token(guesser, user.email, PASSWORD).status_code == 429
    # ...but not from the owner's: no lock-out a stranger can cause.
    assert _token(_from(app, "198.51.100.20"), user.email, PASSWORD).status_code == 200


def test_guessing_through_the_login_form_gets_429(app, session, settings):
    user = make_user(session)
    guesser = _from(app, "203.0.113.8")

    def attempt(password):
        token = re.search(r'name="csrf_token" value="([^"]+)"', guesser.get("/login").text).group(1)
        return guesser.post("/login", data={"email": user.email, "password": password, "csrf_token": token},
                            follow_redirects=False)

    assert {attempt(f"guess-{i}").status_code for i in range(settings.login_failures_per_account)} == {401}
    r = attempt("guess-again")
    assert r.status_code == 429 and "Too many failed logins" in r.text and int(r.headers["Retry-After"]) > 0
    assert attempt(PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_limited_too(app, session, settings, monkeypatch):
    monkeypatch.setattr(settings, "login_failures_per_address", 3)
    people = [make_user(session) for _ in range(4)]
    guesser = _from(app, "2001:db8:1:2::5")
    codes = [_token(guesser, p.email, "guess").status_code for p in people]
    assert codes == [401] * 3 + [429]
    # Another address of the same /64 is the same machine; another /64 is not.
    assert _token(_from(app, "2001:db8:1:2::99"), people[0].email, PASSWORD).status_code == 429
    assert _token(_from(app, "2001:db8:1:3::5"), people[0].email, PASSWORD).status_code == 200


def test_a_correct_password_starts_its_pair_afresh(app, session, settings):
    user = make_user(session)
    c = _from(app, "203.0.113.9")
    n = settings.login_failures_per_account
    for round_ in range(2):
        assert {_token(c, user.email, f"typo-{round_}-{i}").status_code for i in range(n - 1)} == {401}
        assert _token(c, user.email, PASSWORD).status_code == 200


def test_the_window_slides(session, settings):
    """Failures leave the count as they age past login_window_s (times given
    explicitly: no sleeping)."""
    t0 = utcnow()
    n, window = settings.login_failures_per_account, settings.login_window_s
    for i in range(n):
        throttle.record_failure(session, email="x@example.org", address="192.0.2.1", now=t0 + timedelta(seconds=i))
    with pytest.raises(TooManyRequests) as err:
        throttle.check(session, email="X@example.org ", address="192.0.2.1", now=t0 + timedelta(seconds=n))
    # Room again when the oldest of the last n leaves the window.
    assert err.value.retry_after_s == window - n
    throttle.check(session, email="x@example.org", address="192.0.2.1", now=t0 + timedelta(seconds=window + 1))
    throttle.check(session, email="x@example.org", address="192.0.2.2", now=t0 + timedelta(seconds=n))


def test_attempts_are_counted_in_the_database_for_every_worker(app, session, settings):
    """What another uvicorn worker counted (rows written by another session
    here) refuses this one's next try."""
    user = make_user(session)
    for _ in range(settings.login_failures_per_account):
        throttle.record_failure(session, email=user.email, address="192.0.2.50")
    assert _token(_from(app, "192.0.2.50"), user.email, PASSWORD).status_code == 429
