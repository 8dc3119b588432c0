"""/docs and /redoc are served from the vendored files under /static/docs:
they work without a CDN and need no inline script (rendering in Chromium is
checked by tests/browser/test_every_page.py)."""
from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path, assets", [
    ("/docs", ["/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css", "/static/docs/swagger-init.js"]),
    ("/redoc", ["/static/docs/redoc.standalone.js"]),
])
def test_docs_pages_load_only_local_assets(client, path, assets):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for asset in assets:
        assert f'"{asset}"' in r.text
        assert client.get(asset).status_code == 200
    assert not re.search(r'(src|href)="(https?:)?//', r.text)
    assert not re.search(r"<script>(?!</script>)", r.text)  # no inline script
    assert 'data-openapi-url="/openapi.json"' in r.text or 'spec-url="/openapi.json"' in r.text
    assert client.get("/openapi.json").json()["info"]["title"] == "fervlab"
