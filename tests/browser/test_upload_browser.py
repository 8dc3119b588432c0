"""The upload form in Chromium: a refused file comes back as an error on the
page after a redirect (a reload re-sends nothing), with the chosen scene still
chosen."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.users.models import Role
from app.videos.models import Video
from tests.browser.chromium import MARKS, launch, log_in
from tests.factories.clips import scene_id
from tests.factories.users import PASSWORD, make_user
from tests.labeling.live import live_server

pytestmark = MARKS
ROOT = Path(__file__).resolve().parents[2]


def test_a_refused_upload_shows_its_error_and_a_reload_sends_nothing(app, session, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    admin = make_user(session, Role.admin)
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    talkshow = scene_id(session, "Talkshow")
    shots = Path(os.environ.get("FERVLAB_ARTIFACTS") or ROOT / "var" / "test-artifacts")
    shots.mkdir(parents=True, exist_ok=True)
    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, email=admin.email, password=PASSWORD, next="/admin/videos")
            page.select_option("select[name=scene_id]", label="Talkshow")
            page.set_input_files("input[name=files]", str(bad))
            with page.expect_navigation():
                page.click("form[enctype] button[type=submit]")
            assert page.url == f"{base}/admin/videos"  # redirected: the POST is not in the history entry
            error = page.wait_for_selector("p.error[role=alert]").inner_text()
            assert error.startswith("holiday.mp4: ")
            assert page.input_value("select[name=scene_id]") == str(talkshow)
            page.screenshot(path=str(shots / "upload-refused.png"), full_page=True)

            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.reload()
            assert dialogs == []  # no "resubmit the form?" question
            assert page.locator("p.error").count() == 0  # shown once
        finally:
            browser.close()
    session.commit()
    assert session.exec(select(func.count()).select_from(Video)).one() == 0
