"""An admin uploads a real face video on the videos page; once ingested, its
clips' H.264 previews play in Debian's Chromium."""
from __future__ import annotations

import re

import pytest

from app.users.models import Role
from tests.factories.users import PASSWORD, make_user
from tests.browser.chromium import MARKS, launch, log_in
from tests.labeling.live import live_server
from workers.ingest.job import run_ingest

pytestmark = MARKS


def test_upload_on_the_page_then_clips_play(app, session, shared_dir, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    video_file = shared_dir / "fixtures" / "videos" / "single_face.mp4"
    admin = make_user(session, Role.admin)
    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, email=admin.email, password=PASSWORD, next="/admin/videos")
            page.select_option("select[name=scene_id]", label="Talkshow")
            page.set_input_files("input[name=files]", str(video_file))
            page.click("form[enctype] button[type=submit]")
            notice = page.wait_for_selector("p.notice", timeout=30000).inner_text()
            video_id = int(re.search(r"queued as video (\d+)", notice).group(1))

            out = run_ingest(video_id)  # what the worker would do
            assert out["status"] == "done" and out["clips"] >= 1

            page.goto(f"{base}/admin/videos/{video_id}")
            page.wait_for_function("() => { const v = [...document.querySelectorAll('video')];"
                                   " return v.length > 0 && v.every(x => x.readyState >= 2 && x.videoWidth === 224); }",
                                   timeout=20000)
            page.screenshot(path=str(tmp_path / "video.png"))
        finally:
            browser.close()
