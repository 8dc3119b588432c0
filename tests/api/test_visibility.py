"""What an annotator may see over the API (issue 10, defect 11)."""
from __future__ import annotations

from app.labeling import service
from app.labeling.models import CampaignCreate, CampaignStatus, CampaignUpdate
from tests.factories.clips import make_clips


def test_annotators_cannot_list_clips(client, ann_h, reviewer_h, session):
    make_clips(session, 2)
    r = client.get("/api/v1/clips", headers=ann_h)
    assert r.status_code == 403, r.text
    r = client.get("/api/v1/clips", headers=reviewer_h)
    assert r.status_code == 200 and r.json()["total"] == 2


def test_a_closed_campaign_is_the_same_404_from_next_as_from_get(client, ann_h, admin_h, session):
    make_clips(session, 2)
    session.commit()
    campaign = service.create_campaign(session, data=CampaignCreate(name="Secret batch", qualification_clips=0))
    service.update_campaign(session, campaign_id=campaign.id, data=CampaignUpdate(status=CampaignStatus.closed))
    session.commit()
    got = client.get(f"/api/v1/campaigns/{campaign.id}", headers=ann_h)
    nxt = client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=ann_h)
    assert got.status_code == nxt.status_code == 404
    assert got.json() == nxt.json()
    assert "Secret batch" not in nxt.text
    # Admins still hear why nothing is dealt.
    r = client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=admin_h)
    assert r.status_code == 409 and "closed" in r.json()["detail"]
