"""Shared set-up for the labelling tests: people, clips, campaigns."""
from __future__ import annotations

import re

import pytest

from app.labeling import service
from app.labeling.models import CampaignCreate
from tests.factories.clips import make_clips
from tests.factories.users import browser_login


@pytest.fixture
def make_campaign(session):
    """A campaign over clips made for it (DailyLife unless told otherwise).
    No qualification and no gold mixing unless asked: most tests check one
    rule at a time."""

    def make(n_clips: int = 3, *, gold: dict[int, str] | None = None, **settings):
        clips = make_clips(session, n_clips)
        for i, expr in (gold or {}).items():
            from app.clips.models import GoldAnswer

            session.add(GoldAnswer(clip_id=clips[i].id, expression=expr))
        session.commit()
        defaults = {"overlap": 2, "gold_rate": 0.0, "qualification_clips": 0, "assisted": False}
        data = CampaignCreate(name=settings.pop("name", "Test campaign"), **{**defaults, **settings})
        campaign = service.create_campaign(session, data=data)
        return campaign, clips

    return make


def csrf_of(client, path: str = "/annotate") -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text).group(1)


def login(client, user) -> str:
    """Log in through the form; returns the page's CSRF token."""
    browser_login(client, user)
    return csrf_of(client)


def next_clip(client, campaign_id: int, headers: dict, **params):
    return client.get(f"/api/v1/campaigns/{campaign_id}/next", headers=headers, params=params)


def label(client, headers: dict, assignment_id: int, expression: str | None = "Happy", **extra):
    body = {"assignment_id": assignment_id, **({"expression": expression} if expression else {}), **extra}
    return client.post("/api/v1/annotations", headers=headers, json=body)


def fresh(session):
    """End the test session's read transaction (a snapshot, on SQLite WAL and
    PostgreSQL alike) so the next read sees what the server committed."""
    session.commit()
    session.expire_all()
    return session


@pytest.fixture(autouse=True)
def _sweep_every_call(monkeypatch):
    """Expired leases are reclaimed at most once a second per process in
    production; here, on every call, so a test sees its expiry at once."""
    from app.labeling import dealer

    monkeypatch.setattr(dealer, "RECLAIM_EVERY_S", 0.0)
