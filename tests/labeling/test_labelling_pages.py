"""The annotator's pages and the admin pages for people and campaigns."""
from __future__ import annotations

import re

from sqlmodel import select

from app.labeling.models import Campaign
from app.users.models import Role, User
from tests.factories.clips import add_prediction, scene_id
from tests.labeling.conftest import csrf_of, fresh, login


def test_annotator_home_shows_progress_and_own_record(client, session, make_campaign, ann):
    campaign, _ = make_campaign(4, name="Faces of the week")
    login(client, ann)
    page = client.get("/annotate")
    assert page.status_code == 200
    assert "Faces of the week" in page.text and f'href="/annotate/{campaign.id}"' in page.text
    assert "0 / 4 complete" in page.text and "Start labelling" in page.text


def test_the_labelling_page_has_everything_the_script_needs(client, session, make_campaign, ann):
    campaign, clips = make_campaign(2, assisted=False)
    token = login(client, ann)
    page = client.get(f"/annotate/{campaign.id}")
    assert page.status_code == 200
    html = page.text
    assert '<video id="clip" muted autoplay loop playsinline' in html
    assert '<script src="/static/labelling.js" defer>' in html
    assert f'data-campaign="{campaign.id}"' in html and f'data-csrf="{token}"' in html
    names = re.findall(r'<div class="expr" data-expression="([^"]+)"', html)
    assert names == ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]  # taxonomy order
    assert 'data-descriptor="Cheerful"' in html and "<kbd>Z</kbd> Undo" in html
    assert 'id="counter">0<' in html
    assert client.get("/static/labelling.js").status_code == 200
    stats = client.get(f"/annotate/{campaign.id}/stats", headers={"HX-Request": "true"})
    assert stats.status_code == 200 and stats.text.lstrip().startswith('<div id="stats"')


def test_the_labelling_page_needs_a_login(client, session, make_campaign):
    campaign, _ = make_campaign(1)
    r = client.get(f"/annotate/{campaign.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_admin_creates_an_annotator_and_deactivates_them(client, session, admin):
    login(client, admin)
    token = csrf_of(client, "/admin/users")
    r = client.post("/admin/users", data={"csrf_token": token, "email": "New.Person@example.org",
                                          "password": "long-enough-pw", "role": "annotator"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin/users").text
    assert "new.person@example.org" in page
    bad = client.post("/admin/users", data={"csrf_token": token, "email": "nobody", "password": "short"})
    assert bad.status_code == 422 and "email" in bad.text
    dup = client.post("/admin/users", data={"csrf_token": token, "email": "new.person@example.org",
                                            "password": "long-enough-pw"})
    assert dup.status_code == 422 and "already exists" in dup.text
    person = fresh(session).exec(select(User).where(User.email == "new.person@example.org")).one()
    row = client.post(f"/admin/users/{person.id}", data={"active": "0"}, headers={"HX-Request": "true",
                                                                                   "X-CSRF-Token": token})
    assert row.status_code == 200 and row.text.startswith(f'<tr id="user-{person.id}">') and "deactivated" in row.text
    row = client.post(f"/admin/users/{person.id}", data={"role": "reviewer"},
                      headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert 'value="reviewer" selected' in row.text
    fresh(session)
    person = session.get(User, person.id)
    assert (person.active, person.role) == (False, Role.reviewer)
    assert client.post(f"/admin/users/{person.id}", data={"active": "1"}).status_code == 403  # no CSRF


def test_an_admin_cannot_lock_themselves_out(client, session, admin):
    login(client, admin)
    token = csrf_of(client, "/admin/users")
    row = client.post(f"/admin/users/{admin.id}", data={"active": "0"}, headers={"HX-Request": "true",
                                                                                  "X-CSRF-Token": token})
    assert "cannot deactivate or demote yourself" in row.text
    fresh(session)
    assert session.get(User, admin.id).active is True


def test_annotators_cannot_open_admin_pages(client, session, ann):
    login(client, ann)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/campaigns").status_code == 403


def test_admin_creates_and_tunes_a_campaign_and_watches_it(client, session, admin, make_campaign):
    from tests.factories.clips import make_clips

    make_clips(session, 3)
    login(client, admin)
    token = csrf_of(client, "/admin/campaigns")
    page = client.get("/admin/campaigns")
    assert "New campaign" in page.text and "DailyLife" in page.text
    r = client.post("/admin/campaigns", data={
        "csrf_token": token, "name": "Week 1", "overlap": "3", "max_overlap": "5", "gold_rate": "0.1",
        "lease_seconds": "600", "qualification_clips": "0", "qualification_accuracy": "0.6",
        "pause_accuracy": "0.5", "assisted": "on", "scene_ids": str(scene_id(session, "DailyLife"))},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    campaign = fresh(session).exec(select(Campaign).where(Campaign.name == "Week 1")).one()
    assert (campaign.overlap, campaign.assisted, campaign.scene_ids) == (3, True, [scene_id(session, "DailyLife")])
    detail = client.get(r.headers["location"])
    assert detail.status_code == 200 and "clips settled of 3" in detail.text and 'hx-trigger="every 5s"' in detail.text
    frag = client.get(f"/admin/campaigns/{campaign.id}/progress", headers={"HX-Request": "true"})
    assert frag.text.lstrip().startswith('<div id="progress"')
    bad = client.post("/admin/campaigns", data={"csrf_token": token, "name": "x", "overlap": "0"})
    assert bad.status_code == 422 and "overlap" in bad.text
    r = client.post(f"/admin/campaigns/{campaign.id}", data={"csrf_token": token, "name": "Week 1b",
                                                             "overlap": "4", "status": "paused"},
                    follow_redirects=False)
    assert r.status_code == 303
    fresh(session)
    campaign = session.get(Campaign, campaign.id)
    assert (campaign.name, campaign.overlap, campaign.status, campaign.assisted) == ("Week 1b", 4, "paused", False)
    clip_id = make_clips(session, 1)[0].id
    g = client.post(f"/admin/campaigns/{campaign.id}/gold", data={"csrf_token": token, "clip_id": str(clip_id),
                                                                 "expression": "Sad"})
    assert g.status_code == 200 and "is now a gold clip" in g.text


def test_admin_reinstates_from_the_campaign_page(client, session, admin, make_campaign, ann):
    from tests.factories.users import bearer
    from tests.labeling.conftest import label, next_clip

    campaign, _ = make_campaign(3, gold={0: "Happy"}, qualification_clips=1)
    h = bearer(session, ann)
    label(client, h, next_clip(client, campaign.id, h).json()["assignment_id"], "Sad")
    assert next_clip(client, campaign.id, h).status_code == 403
    login(client, admin)
    token = csrf_of(client, "/admin")
    page = client.get(f"/admin/campaigns/{campaign.id}").text
    assert ann.email in page and "Reinstate" in page
    frag = client.post(f"/admin/campaigns/{campaign.id}/annotators/{ann.id}/reinstate",
                       headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert frag.status_code == 200 and "qualified" in frag.text and "Reinstate" not in frag.text
    assert next_clip(client, campaign.id, h).status_code == 200


def test_assisted_page_keeps_server_order_and_script_reorders(client, session, make_campaign, ann):
    # The ranking arrives with each clip (JSON); the page itself is the same.
    campaign, clips = make_campaign(1, assisted=True)
    add_prediction(session, clips[0].id, {"sad": 0.8, "happy": 0.2})
    login(client, ann)
    assert "model-assisted" in client.get(f"/annotate/{campaign.id}").text
    lease = client.get(f"/api/v1/campaigns/{campaign.id}/next").json()
    assert lease["ranking"][0] == {"expression": "Sad", "p": 0.8}


def test_admin_picks_gold_by_watching_clips(client, session, admin, ann, make_campaign):
    from app.clips.models import GoldAnswer
    from app.labeling.models import CampaignClip

    campaign, clips = make_campaign(14)
    add_prediction(session, clips[0].id, {"Sad": 0.8, "Happy": 0.2})
    login(client, admin)
    token = csrf_of(client, f"/admin/campaigns/{campaign.id}")
    assert f'href="/admin/campaigns/{campaign.id}/gold"' in client.get(f"/admin/campaigns/{campaign.id}").text
    page = client.get(f"/admin/campaigns/{campaign.id}/gold")
    assert page.status_code == 200 and "clips 1–12 of 14" in page.text
    assert page.text.count('preview.mp4" autoplay loop') == 12 and "model: Sad" in page.text
    assert "clips 13–14 of 14" in client.get(f"/admin/campaigns/{campaign.id}/gold?offset=12").text

    r = client.post(f"/admin/campaigns/{campaign.id}/gold/{clips[0].id}", headers={"HX-Request": "true"},
                    data={"csrf_token": token, "expression": "Sad", "offset": "0"})
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<div class="card gold-card" id="gold-{clips[0].id}"')
    assert "Gold: <strong>Sad</strong>" in r.text and "Change answer" in r.text
    session.commit()
    assert session.exec(select(GoldAnswer.expression).where(GoldAnswer.clip_id == clips[0].id)).one() == "Sad"
    assert session.exec(select(CampaignClip.is_gold).where(CampaignClip.clip_id == clips[0].id)).one() is True

    bad = client.post(f"/admin/campaigns/{campaign.id}/gold/{clips[1].id}", headers={"HX-Request": "true"},
                      data={"csrf_token": token, "expression": "Bored"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    no_csrf = client.post(f"/admin/campaigns/{campaign.id}/gold/{clips[1].id}", data={"expression": "Sad"})
    assert no_csrf.status_code == 403
    login(client, ann)
    assert client.get(f"/admin/campaigns/{campaign.id}/gold").status_code == 403


def test_admin_takes_a_gold_answer_back(client, session, admin, make_campaign):
    from app.clips.models import GoldAnswer

    campaign, clips = make_campaign(2, gold={1: "Fear"})
    login(client, admin)
    token = csrf_of(client, f"/admin/campaigns/{campaign.id}")
    r = client.post(f"/admin/campaigns/{campaign.id}/gold/{clips[1].id}/remove", headers={"HX-Request": "true"},
                    data={"csrf_token": token})
    assert r.status_code == 200 and "Mark as gold" in r.text and "Gold:" not in r.text
    session.commit()
    assert session.exec(select(GoldAnswer).where(GoldAnswer.clip_id == clips[1].id)).first() is None
    again = client.post(f"/admin/campaigns/{campaign.id}/gold/{clips[1].id}/remove", headers={"HX-Request": "true"},
                        data={"csrf_token": token})
    assert again.status_code == 422 and "is not a gold clip" in again.text
