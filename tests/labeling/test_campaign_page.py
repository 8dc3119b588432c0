"""What the campaign page counts: labels that agree with each other, clips per
state, and assisted against blind votes (issue 12, defects 1, 9 and 10)."""
from __future__ import annotations

import re

from tests.factories.clips import add_prediction
from tests.factories.users import bearer, make_user
from tests.labeling.conftest import label, login, next_clip


def test_labels_and_labels_in_the_last_hour_count_the_same_things(client, session, make_campaign, ann, ann_h,
                                                                   admin, admin_h):
    campaign, _ = make_campaign(4, overlap=1)
    for flags in ([], [], ["pass"], ["not_a_face"]):
        deal = next_clip(client, campaign.id, ann_h).json()
        r = label(client, ann_h, deal["assignment_id"], None if flags else "Happy", flags=flags)
        assert r.status_code == 201
    progress = client.get(f"/api/v1/campaigns/{campaign.id}", headers=admin_h).json()["progress"]
    # A pass is no label (the annotator's counter says 3): every count agrees.
    assert (progress["labels"], progress["labels_last_hour"]) == (3, 3)
    (row,) = client.get(f"/api/v1/campaigns/{campaign.id}/annotators", headers=admin_h).json()
    assert (row["labels"], row["labels_last_hour"]) == (3, 3)
    login(client, admin)
    page = client.get(f"/admin/campaigns/{campaign.id}").text
    assert re.search(r'<div class="n">3</div><div class="l">labels ', page)
    assert re.search(r'<div class="n">3</div><div class="l">of them in the last hour', page)


def test_the_page_says_how_many_clips_wait_in_each_state_and_for_what(client, session, make_campaign, admin):
    campaign, clips = make_campaign(3, overlap=2, gold={2: "Fear"})
    h = bearer(session, make_user(session))
    make_user(session)  # may give the second vote later
    deal = next_clip(client, campaign.id, h).json()  # held: being labelled
    login(client, admin)
    frag = client.get(f"/admin/campaigns/{campaign.id}/progress", headers={"HX-Request": "true"}).text
    rows = dict(re.findall(r'<tr(?: class="muted")?><td>([^<]+)</td><td class="num">(\d+)</td><td>[^<]+</td></tr>',
                           frag))
    assert rows["being labelled"] == "1" and rows["not started"] == "1" and rows["gold"] == "1"
    assert rows["expert review"] == "0" and "a reviewer in the review queue" in frag
    assert label(client, h, deal["assignment_id"], "Sad").status_code == 201
    frag = client.get(f"/admin/campaigns/{campaign.id}/progress", headers={"HX-Request": "true"}).text
    rows = dict(re.findall(r'<tr(?: class="muted")?><td>([^<]+)</td><td class="num">(\d+)</td>', frag))
    assert rows["planned votes"] == "1" and rows["being labelled"] == "0"


def test_assisted_and_blind_votes_are_compared_with_the_label_and_the_model(client, session, make_campaign, admin,
                                                                           admin_h):
    # Clips 0 and 1 have the model's ranking when dealt (assisted votes),
    # clips 2 and 3 have none (blind votes); three annotators each.
    campaign, clips = make_campaign(4, overlap=3, max_overlap=3, assisted=True)
    for clip in clips[:2]:
        add_prediction(session, clip.id, {"happy": 0.7, "sad": 0.3})
    people = [bearer(session, make_user(session)) for _ in range(3)]
    answers = {clips[0].id: "Happy", clips[1].id: "Happy", clips[2].id: "Sad", clips[3].id: "Happy"}
    for k, h in enumerate(people):
        while (r := next_clip(client, campaign.id, h)).status_code == 200:
            deal = r.json()
            # Clip 3 is disputed (three different answers); the others agree.
            expr = ["Happy", "Sad", "Angry"][k] if deal["clip_id"] == clips[3].id else answers[deal["clip_id"]]
            assert label(client, h, deal["assignment_id"], expr).status_code == 201
    # Clip 3 learns its prediction later (the model says Sad), so blind votes
    # can be compared with the model too.
    add_prediction(session, clips[3].id, {"sad": 0.9, "happy": 0.1})
    from app.labeling import assistance

    session.commit()
    rows = {r.group: r for r in assistance.agreement(session, campaign_id=campaign.id)}
    a, b = rows["assisted"], rows["blind"]
    assert (a.votes, a.settled, a.agree_label, a.with_model, a.agree_model) == (6, 6, 6, 6, 6)
    # Clip 2 is trusted (Sad), clip 3 in review; on clip 3 one vote matches the model.
    assert (b.votes, b.settled, b.agree_label, b.with_model, b.agree_model) == (6, 3, 3, 3, 1)
    login(client, admin)
    page = client.get(f"/admin/campaigns/{campaign.id}").text
    assert "Does the model&#39;s ranking sway the crowd?" in page or "Does the model's ranking sway the crowd?" in page
    assert "ranking shown (assisted)" in page and "100.0% <span class=\"muted\">of 6</span>" in page
    assert "33.3% <span class=\"muted\">of 3</span>" in page
