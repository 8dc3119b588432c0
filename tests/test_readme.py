"""The README's quick start names every demo login that seed-demo creates."""
from __future__ import annotations

from pathlib import Path

from app.clips import demo

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_demo_login_is_in_the_readme():
    for email in [*demo.DEMO_ANNOTATORS, demo.DEMO_REVIEWER]:
        assert f"`{email}`" in README, email
    assert f"`{demo.DEMO_PASSWORD}`" in README
    assert "`admin@fervlab.local`" in README and "`fervlab-admin`" in README


def test_readme_says_how_to_serve_on_another_port():
    assert "make run PORT=" in README
