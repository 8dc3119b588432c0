"""The labelling page in a real browser: Debian's Chromium driven by
Playwright against a real server. Log in through the login page, label three
clips with the keyboard, undo one, check the counter and the stored votes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from app.labeling import service
from app.labeling.models import Annotation, Assignment, CampaignCreate
from tests.factories.clips import add_prediction, make_clips
from tests.factories.users import PASSWORD, make_user
from tests.browser.chromium import MARKS, launch, log_in
from tests.labeling.live import live_server

pytestmark = MARKS


def test_label_three_clips_with_the_keyboard_and_undo_one(app, session, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    clips = make_clips(session, 5, size=224, frames=24)
    for clip in clips:
        add_prediction(session, clip.id, {"happy": 0.62, "neutral": 0.21, "surprise": 0.09, "sad": 0.04,
                                          "fear": 0.02, "angry": 0.01, "disgust": 0.01})
    campaign = service.create_campaign(session, data=CampaignCreate(
        name="Browser round", overlap=2, gold_rate=0.0, qualification_clips=0, assisted=True))
    annotator = make_user(session)

    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            log_in(page, base, email=annotator.email, password=PASSWORD, next=f"/annotate/{campaign.id}")
            # The clip plays at once, and the buttons follow the model's ranking.
            page.wait_for_function("() => { const v = document.getElementById('clip');"
                                   " return v.currentSrc && !v.paused && v.readyState >= 2; }", timeout=15000)
            assert page.locator("#expressions .expr").first.get_attribute("data-expression") == "Happy"
            assert page.locator("#expressions .expr .p").first.inner_text() == "62%"

            shown = []
            for n, key in enumerate(["1", "2", "3"], 1):
                shown.append(page.inner_text("#clipinfo"))
                page.keyboard.press(key)
                page.wait_for_function(f"() => document.getElementById('counter').textContent === '{n}'")
                page.wait_for_function(f"() => document.getElementById('clipinfo').textContent !== '{shown[-1]}'")
            page.keyboard.press("z")
            page.wait_for_function("() => document.getElementById('counter').textContent === '2'")
            # The undone clip is back on screen, playing.
            page.wait_for_function(f"() => document.getElementById('clipinfo').textContent === '{shown[-1]}'")
            page.wait_for_function("() => { const v = document.getElementById('clip');"
                                   " return !v.paused && v.readyState >= 2; }", timeout=15000)
            page.wait_for_timeout(400)  # let the stats fragment settle for the picture
            shot = Path(os.environ.get("FERVLAB_SCREENSHOT_DIR", tmp_path)) / "labelling-page.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    session.commit()
    session.expire_all()
    votes = session.exec(select(Annotation).where(Annotation.user_id == annotator.id)
                         .order_by(Annotation.id)).all()
    # Ranked order: 1 = Happy, 2 = Neutral, 3 = Surprise; the third was undone.
    assert [v.expression for v in votes] == ["Happy", "Neutral"]
    assert all(v.assisted for v in votes)
    undone_clip = int(shown[-1].split()[-1])
    assert undone_clip not in {v.clip_id for v in votes}
    lease = session.exec(select(Assignment).where(Assignment.user_id == annotator.id,
                                                  Assignment.clip_id == undone_clip)).one()
    assert lease.status == "active"  # the annotator can label it again
