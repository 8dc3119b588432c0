"""Errors: a person in a browser gets a page in the site's layout with a way
back; API clients and htmx keep the JSON body `{"detail": ...}`."""
from __future__ import annotations

import pytest

from tests.factories.users import browser_login

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _is_error_page(r, status: int) -> None:
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert f'data-status="{status}"' in r.text
    assert 'href="/"' in r.text and "Back to your start page" in r.text
    assert '<header class="top">' in r.text  # the site's layout
    assert not r.text.lstrip().startswith("{")


def test_an_annotator_on_an_admin_page_gets_an_html_page(client, session, ann):
    browser_login(client, ann)
    r = client.get("/admin", headers=BROWSER)
    _is_error_page(r, 403)
    assert "This needs the admin role." in r.text
    assert ann.email in r.text  # the layout knows who is logged in


@pytest.mark.parametrize("path", ["/nope", "/annotate/999"])
def test_unknown_pages_answer_an_html_404(client, session, ann, path):
    browser_login(client, ann)
    _is_error_page(client.get(path, headers=BROWSER), 404)


def test_a_bad_query_on_a_page_is_an_html_422(client, session, admin):
    browser_login(client, admin)
    r = client.get("/admin/consensus?a=x", headers=BROWSER)
    _is_error_page(r, 422)
    assert "Invalid request" in r.text


def test_api_clients_keep_the_json_body(client, session, ann, ann_h):
    r = client.get("/api/v1/users", headers={**ann_h, **BROWSER})  # even when asking for HTML
    assert r.status_code == 403 and r.json() == {"detail": "This needs the admin role."}
    r = client.get("/api/v1/nope", headers=BROWSER)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    browser_login(client, ann)
    # No Accept: text/html (curl, scripts) → JSON.
    r = client.get("/nope", headers={"Accept": "*/*"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    # htmx swaps only 2xx: it gets the JSON detail, not a page to paste in.
    r = client.get("/admin", headers={**BROWSER, "HX-Request": "true"})
    assert r.status_code == 403 and r.json() == {"detail": "This needs the admin role."}


def test_an_unexpected_error_is_an_html_500_for_a_browser(session, admin, monkeypatch):
    from fastapi.testclient import TestClient

    from app.main import create_app

    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("app.consensus.views.quality.agreement", boom)
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        browser_login(c, admin)
        r = c.get("/admin/consensus", headers=BROWSER)
        _is_error_page(r, 500)
        assert "disk on fire" not in r.text  # the cause goes to the log, not to the page
        r = c.get("/admin/consensus")
        assert r.status_code == 500 and r.json() == {"detail": "Internal error; it has been logged."}


def test_the_favicon_is_served_where_browsers_look_for_it(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<svg")
