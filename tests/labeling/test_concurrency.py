"""32 annotators at once against a real server and the configured database
(SQLite by default, PostgreSQL in CI's second run): no clip beyond its
overlap, no clip twice to anyone, no request failed."""
from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from app.labeling import service
from app.labeling.models import Annotation, CampaignClip, CampaignCreate
from app.users.models import User
from app.users.service import issue_token
from tests.factories.clips import make_clips
from tests.labeling.live import live_server

ANNOTATORS, CLIPS, OVERLAP = 32, 60, 3


@pytest.mark.slow
def test_32_annotators_at_once(app, session):
    make_clips(session, CLIPS)
    campaign = service.create_campaign(session, data=CampaignCreate(
        name="rush", overlap=OVERLAP, gold_rate=0.0, qualification_clips=0, assisted=False))
    tokens = []
    for i in range(ANNOTATORS):
        # A throw-away hash: these annotators only ever use their token.
        user = User(email=f"rush{i}@example.org", password_hash="-")
        session.add(user)
        session.commit()
        tokens.append(issue_token(session, user=user))

    errors: list[str] = []
    seen: dict[int, list[int]] = {}
    start = threading.Barrier(ANNOTATORS)

    def annotate(i: int, base: str) -> None:
        got: list[int] = []
        seen[i] = got
        held: list[dict] = []
        # Half work like the page (one clip on screen, one preloaded), half one at a time.
        prefetch = i % 2 == 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=30) as http:
            start.wait()
            while True:
                want = 2 if prefetch else 1
                while len(held) < want:
                    r = http.get(f"/api/v1/campaigns/{campaign.id}/next",
                                 params={"exclude": [h["assignment_id"] for h in held]})
                    if r.status_code == 204:
                        break
                    if r.status_code != 200:
                        errors.append(f"next {r.status_code} {r.text}")
                        return
                    held.append(r.json())
                    got.append(r.json()["clip_id"])
                if not held:
                    return
                lease = held.pop(0)
                r = http.post("/api/v1/annotations", json={"assignment_id": lease["assignment_id"],
                                                           "expression": "Neutral", "duration_ms": 10})
                if r.status_code != 201:
                    errors.append(f"label {r.status_code} {r.text}")
                    return

    with live_server(app) as base:
        threads = [threading.Thread(target=annotate, args=(i, base)) for i in range(ANNOTATORS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "an annotator hung"

    assert errors == []
    for i, clips in seen.items():
        assert len(clips) == len(set(clips)), f"annotator {i} saw a clip twice"
    session.commit()
    session.expire_all()
    votes = Counter(a.clip_id for a in session.exec(select(Annotation)).all())
    assert max(votes.values()) <= OVERLAP
    assert sum(votes.values()) == CLIPS * OVERLAP  # and every clip got all its votes
    pairs = session.exec(select(Annotation.clip_id, Annotation.user_id)).all()
    assert len(pairs) == len(set(pairs))
    rows = session.exec(select(CampaignClip).where(CampaignClip.campaign_id == campaign.id)).all()
    assert all((cc.active, cc.done) == (0, OVERLAP) for cc in rows)
