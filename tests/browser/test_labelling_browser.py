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
            # The clip plays at once; the model's probabilities stand beside
            # the expressions, whose keys stay in the taxonomy's order.
            page.wait_for_function("() => { const v = document.getElementById('clip');"
                                   " return v.currentSrc && !v.paused && v.readyState >= 2; }", timeout=15000)
            page.wait_for_function("() => document.querySelector('#expressions .expr.top') !== null")
            rows = page.locator("#expressions .expr")
            assert [rows.nth(i).get_attribute("data-expression") for i in range(7)] == [
                "Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
            assert [rows.nth(i).locator(".key").inner_text() for i in range(7)] == [str(i) for i in range(1, 8)]
            happy = page.locator('#expressions .expr[data-expression="Happy"]')
            assert happy.locator(".p").inner_text() == "62%" and "top" in happy.get_attribute("class")

            shown = []
            for n, key in enumerate(["1", "2", "3"], 1):
                shown.append(page.inner_text("#clipinfo"))
                page.keyboard.press(key)
                page.wait_for_function(f"() => document.getElementById('counter').textContent === '{n}'")
                # "Your record" says the same as the counter the moment it changes.
                assert page.inner_text("#stats tr:nth-child(2) td.num") == str(n)
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
    # Fixed keys whatever the model says: 1 = Angry, 2 = Disgust, 3 = Fear; the third was undone.
    assert [v.expression for v in votes] == ["Angry", "Disgust"]
    assert all(v.assisted for v in votes)
    undone_clip = int(shown[-1].split()[-1])
    assert undone_clip not in {v.clip_id for v in votes}
    lease = session.exec(select(Assignment).where(Assignment.user_id == annotator.id,
                                                  Assignment.clip_id == undone_clip)).one()
    assert lease.status == "active"  # the annotator can label it again


def test_when_nothing_is_left_nothing_of_the_last_clip_stays(app, session, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    (clip,) = make_clips(session, 1, size=224, frames=24)
    add_prediction(session, clip.id, {"sad": 0.7, "happy": 0.3})
    campaign = service.create_campaign(session, data=CampaignCreate(
        name="Last clip", overlap=1, gold_rate=0.0, qualification_clips=0, assisted=True))
    annotator = make_user(session)

    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            log_in(page, base, email=annotator.email, password=PASSWORD, next=f"/annotate/{campaign.id}")
            page.wait_for_function("() => document.getElementById('clipinfo').textContent !== ''")
            page.keyboard.press("6")  # Sad
            page.wait_for_selector("#done", state="visible")
            assert "Nothing is left" in page.inner_text("#done")
            for gone in ("#expressions", ".stage .controls", "[data-flag=pass]", "[data-flag=not_a_face]", "#keyhelp"):
                assert not page.locator(gone).is_visible(), gone
            assert page.locator("#undo").is_visible()  # the last label can still be taken back
            shot_dir = Path(os.environ.get("FERVLAB_SCREENSHOT_DIR", tmp_path))
            page.screenshot(path=str(shot_dir / "labelling-nothing-left.png"))
            page.keyboard.press("z")
            page.wait_for_selector("#expressions", state="visible")
            assert page.locator(".stage .controls").is_visible() and page.inner_text("#counter") == "0"
        finally:
            browser.close()
