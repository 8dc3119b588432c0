from app.users.models import Role
from tests.factories.users import browser_login, make_user


def test_admin_logs_in_and_sees_overview(client, session):
    admin = make_user(session, Role.admin)
    assert client.get("/admin", follow_redirects=False).headers["location"].startswith("/login")
    r = browser_login(client, admin)
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = client.get("/admin")
    assert page.status_code == 200 and "Overview" in page.text and "annotators" in page.text
    assert '<script src="/static/htmx.min.js"' in page.text
    assert client.get("/static/htmx.min.js").status_code == 200


def test_wrong_password_shows_clear_error(client, session):
    user = make_user(session)
    r = browser_login(client, user, password="wrong-password")
    assert r.status_code == 401 and "Incorrect email or password." in r.text


def test_login_form_without_csrf_is_refused(client, session):
    user = make_user(session)
    r = client.post("/login", data={"email": user.email, "password": "x", "csrf_token": "forged"})
    assert r.status_code == 403 and "expired" in r.text


def test_annotator_cannot_open_admin_pages(client, session):
    ann = make_user(session, Role.annotator)
    browser_login(client, ann)
    assert client.get("/", follow_redirects=False).headers["location"] == "/annotate"
    assert client.get("/admin").status_code == 403


def test_logout_needs_csrf(client, session):
    admin = make_user(session, Role.admin)
    browser_login(client, admin)
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text).group(1)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client, session):
    user = make_user(session)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"email": user.email, "password": "correct-horse-battery", "csrf_token": token,
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"
