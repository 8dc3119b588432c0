"""Remembered credentials (app/core/auth_cache.py): never longer than they are true."""
import sqlalchemy as sa

from app.core import auth_cache
from app.users.models import Role, User
from tests.factories.users import bearer, make_user


def test_a_deactivated_account_is_refused_at_once(client, session):
    admin, ann = make_user(session, Role.admin), make_user(session)
    h_admin, h_ann = bearer(session, admin), bearer(session, ann)
    assert client.get("/api/v1/me", headers=h_ann).status_code == 200  # now remembered
    assert client.patch(f"/api/v1/users/{ann.id}", json={"active": False}, headers=h_admin).status_code == 200
    r = client.get("/api/v1/me", headers=h_ann)
    # Deactivation revoked the token too (reactivation does not revive it).
    assert r.status_code == 401 and r.json() == {"detail": "Invalid or revoked API token."}


def test_a_change_made_elsewhere_is_seen_within_the_ttl(client, session, monkeypatch):
    """Another process (a second uvicorn worker) changes the user with no
    flush here: the remembered copy answers until it expires, then the
    database does."""
    ann = make_user(session)
    h = bearer(session, ann)
    assert client.get("/api/v1/me", headers=h).json()["role"] == "annotator"
    session.execute(sa.update(User.__table__).where(User.__table__.c.id == ann.id).values(role="reviewer"))
    session.commit()
    assert client.get("/api/v1/me", headers=h).json()["role"] == "annotator"  # within TTL_S
    monkeypatch.setattr(auth_cache, "TTL_S", 0.0)
    auth_cache.clear()
    assert client.get("/api/v1/me", headers=h).json()["role"] == "reviewer"


def test_a_route_can_still_change_the_remembered_user(client, session):
    """The cached copy is attached to each request's session: saving it is an
    UPDATE of the same row, not a second user."""
    admin = make_user(session, Role.admin)
    h = bearer(session, admin)
    client.get("/api/v1/me", headers=h)
    r = client.patch(f"/api/v1/users/{admin.id}", json={"password": "another-long-pw"}, headers=h)
    assert r.status_code == 200, r.text
    session.commit()
    assert session.exec(sa.select(sa.func.count()).select_from(User)).one()[0] == 1
