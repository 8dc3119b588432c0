"""Every vendored file in static/ is the one static/VENDORED.md records."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_vendored_files_match_their_recorded_sha256():
    rows = re.findall(r"^\| (\S+) \| .*\| ([0-9a-f]{64}) \|$", (STATIC / "VENDORED.md").read_text(), re.M)
    names = {name for name, _ in rows}
    assert {"htmx.min.js", "docs/swagger-ui-bundle.js", "docs/swagger-ui.css", "docs/redoc.standalone.js"} <= names
    for name, digest in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


def test_no_page_loads_anything_from_another_site():
    templates = Path(__file__).resolve().parents[2] / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), path
