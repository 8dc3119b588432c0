"""Debian's Chromium under Playwright, as every browser test uses it."""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def log_in(page, base: str, *, email: str, password: str, next: str) -> None:
    """Through the login page, as a person would; ends on `next`."""
    page.goto(f"{base}/login?next={next}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next}")
