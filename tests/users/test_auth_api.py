from app.users.models import Role
from tests.factories.users import PASSWORD, bearer, browser_login, make_user


def test_token_for_right_password_and_401_for_wrong(client, session):
    user = make_user(session, Role.admin)
    r = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("fvl_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == user.email

    wrong_pw = client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope-nope"})
    wrong_email = client.post("/api/v1/auth/token", json={"email": "who@example.org", "password": PASSWORD})
    assert wrong_pw.status_code == wrong_email.status_code == 401
    # The same words for both: nothing says which part was wrong.
    assert wrong_pw.json() == wrong_email.json() == {"detail": "Incorrect email or password."}


def test_no_token_401_bad_token_401_wrong_role_403(client, session):
    ann = make_user(session)
    assert client.get("/api/v1/users").status_code == 401
    assert client.get("/api/v1/users").json()["detail"].startswith("Not authenticated")
    assert client.get("/api/v1/users", headers={"Authorization": "Bearer fvl_bogus"}).status_code == 401
    r = client.get("/api/v1/users", headers=bearer(session, ann))
    assert r.status_code == 403 and r.json() == {"detail": "This needs the admin role."}


def test_tokens_are_stored_hashed_and_revocable(client, session):
    from sqlmodel import select

    from app.users.models import ApiToken

    user = make_user(session)
    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).json()["access_token"]
    rows = session.exec(select(ApiToken)).all()
    assert len(rows) == 1 and token not in rows[0].token_hash and len(rows[0].token_hash) == 64
    h = {"Authorization": f"Bearer {token}"}
    assert client.delete(f"/api/v1/auth/tokens/{rows[0].id}", headers=h).status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_admin_manages_users(client, session):
    admin = make_user(session, Role.admin)
    h = bearer(session, admin)
    r = client.post("/api/v1/users", json={"email": "New@Example.org", "password": "long-enough-pw", "role": "reviewer"},
                    headers=h)
    assert r.status_code == 201 and r.json()["email"] == "new@example.org" and r.json()["role"] == "reviewer"
    uid = r.json()["id"]
    dup = client.post("/api/v1/users", json={"email": "new@example.org", "password": "long-enough-pw"}, headers=h)
    assert dup.status_code == 409
    bad = client.post("/api/v1/users", json={"email": "not-an-email", "password": "x", "role": "king"}, headers=h)
    assert bad.status_code == 422 and isinstance(bad.json()["detail"], str) and "email" in bad.json()["detail"]
    r = client.patch(f"/api/v1/users/{uid}", json={"role": "annotator", "active": False}, headers=h)
    assert r.json()["role"] == "annotator" and r.json()["active"] is False
    # A deactivated account can no longer log in.
    assert client.post("/api/v1/auth/token", json={"email": "new@example.org", "password": "long-enough-pw"}).status_code == 401
    assert client.patch("/api/v1/users/9999", json={"active": True}, headers=h).status_code == 404
    emails = [u["email"] for u in client.get("/api/v1/users", headers=h).json()]
    assert emails == [admin.email, "new@example.org"]


def test_an_admin_cannot_demote_or_deactivate_themselves_over_the_api(client, session):
    """The service refuses, so the API and the people page agree."""
    admin, other = make_user(session, Role.admin), make_user(session, Role.admin)
    h = bearer(session, admin)
    for change in ({"role": "reviewer"}, {"role": "annotator", "active": True}, {"active": False}):
        r = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=h)
        assert r.status_code == 403 and r.json() == {"detail": "You cannot deactivate or demote yourself."}, change
    me = client.get("/api/v1/me", headers=h).json()
    assert me["role"] == "admin" and me["active"] is True
    # Harmless changes to oneself, and demoting another admin, still work.
    assert client.patch(f"/api/v1/users/{admin.id}", json={"role": "admin"}, headers=h).status_code == 200
    assert client.patch(f"/api/v1/users/{other.id}", json={"role": "reviewer"}, headers=h).json()["role"] == "reviewer"


def test_the_people_page_refuses_the_same(client, session):
    import re

    admin = make_user(session, Role.admin)
    assert browser_login(client, admin).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/users").text).group(1)
    r = client.post(f"/admin/users/{admin.id}", data={"csrf_token": token, "active": "0"},
                    headers={"HX-Request": "true"})
    assert "You cannot deactivate or demote yourself." in r.text
    assert client.get("/api/v1/me").json()["active"] is True
