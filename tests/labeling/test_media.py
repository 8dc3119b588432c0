"""GET /media/clips/{id}/preview.mp4: only for the lease holder, with ranges."""
from __future__ import annotations

from datetime import timedelta

from app.clips.models import Clip
from app.core.config import get_settings
from app.core.db import utcnow
from app.labeling.models import Assignment
from app.users.models import Role
from tests.factories.users import bearer, make_user
from tests.labeling.conftest import login, next_clip


def test_the_lease_holder_streams_the_preview_with_ranges(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    whole = client.get(lease["media_url"], headers=ann_h)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    clip = session.get(Clip, lease["clip_id"])
    assert whole.content == (get_settings().media_root / clip.preview_path).read_bytes()
    part = client.get(lease["media_url"], headers={**ann_h, "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert part.content == whole.content[:100]
    assert "private" in whole.headers["cache-control"]


def test_others_are_refused(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1)
    url = f"/media/clips/{clips[0].id}/preview.mp4"
    stranger = bearer(session, make_user(session))
    assert client.get(url, headers=stranger).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get("/media/clips/99999/preview.mp4", headers=stranger).status_code == 403  # no probing
    lease = next_clip(client, campaign.id, ann_h).json()
    row = session.get(Assignment, lease["assignment_id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    assert client.get(url, headers=ann_h).status_code == 403


def test_reviewers_and_admins_may_look(client, session, make_campaign):
    _, clips = make_campaign(1)
    for role in (Role.reviewer, Role.admin):
        assert client.get(f"/media/clips/{clips[0].id}/preview.mp4",
                          headers=bearer(session, make_user(session, role))).status_code == 200
    admin = bearer(session, make_user(session, Role.admin))
    face = client.get(f"/media/clips/{clips[0].id}/faces/1.jpg", headers=admin)
    assert face.status_code == 200 and face.content[:2] == b"\xff\xd8"
    assert client.get(f"/media/clips/{clips[0].id}/faces/999.jpg", headers=admin).status_code == 404


def test_the_browser_session_is_enough(client, session, make_campaign, ann):
    campaign, _ = make_campaign(1)
    login(client, ann)
    lease = client.get(f"/api/v1/campaigns/{campaign.id}/next").json()
    assert client.get(lease["media_url"], headers={"Range": "bytes=10-"}).status_code == 206


def test_a_stored_path_never_leaves_the_media_root(client, session, make_campaign):
    _, clips = make_campaign(1)
    clip = session.get(Clip, clips[0].id)
    clip.preview_path = "../../../../etc/passwd"
    session.add(clip)
    session.commit()
    admin = bearer(session, make_user(session, Role.admin))
    assert client.get(f"/media/clips/{clip.id}/preview.mp4", headers=admin).status_code == 404
