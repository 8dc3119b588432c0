"""Registering videos over the API and the ingest that follows (run in this
process: the Celery task is `workers.ingest.job.run_ingest` behind a thin
wrapper, tested end to end through a real worker in test_ingest_worker.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.clips.models import Clip
from app.users.models import Role
from app.videos.models import Video
from tests.factories.users import bearer, make_user
from tests.factories.videos import truncate, write_audio_only, write_plain_video
from workers.ingest.job import run_ingest


@pytest.fixture
def no_broker(monkeypatch):
    """Record enqueues instead of sending them; the test runs the job itself."""
    sent: list[int] = []
    monkeypatch.setattr("app.videos.service.enqueue_ingest", lambda video: sent.append(video.id))
    return sent


def _scene_id(client, name="Talkshow") -> int:
    tax = client.get("/api/v1/taxonomy").json()
    return next(s["id"] for sc in tax["scenarios"] for s in sc["scenes"] if s["name"] == name)


def _upload(client, headers, path: Path, scene_id: int):
    with open(path, "rb") as f:
        return client.post("/api/v1/videos", headers=headers, data={"scene_id": str(scene_id)},
                           files={"file": (path.name, f, "video/mp4")})


def test_upload_then_ingest_a_faceless_video(client, session, tmp_path, no_broker, settings):
    h = bearer(session, make_user(session, Role.admin))
    r = _upload(client, h, write_plain_video(tmp_path / "plain.mp4"), _scene_id(client))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["clips"] == 0 and no_broker == [body["video_id"]]
    video = session.get(Video, body["video_id"])
    assert (settings.media_root / video.path).read_bytes() == (tmp_path / "plain.mp4").read_bytes()  # original kept

    out = run_ingest(body["video_id"])
    assert out == {"video_id": body["video_id"], "status": "done", "clips": 0, "error": None}
    got = client.get(f"/api/v1/videos/{body['video_id']}", headers=h).json()
    assert got["status"] == "done" and got["progress"] == 1.0 and got["clips"] == 0
    # The page says so in words.
    from tests.factories.users import browser_login

    admin = make_user(session, Role.admin)
    browser_login(client, admin)
    assert "no faces found" in client.get("/admin/videos").text


def test_same_file_twice_is_one_video(client, session, tmp_path, no_broker):
    h = bearer(session, make_user(session, Role.admin))
    path = write_plain_video(tmp_path / "plain.mp4")
    a = _upload(client, h, path, _scene_id(client)).json()
    b = _upload(client, h, path, _scene_id(client)).json()
    assert a["video_id"] == b["video_id"] and no_broker == [a["video_id"]]


@pytest.mark.parametrize("kind,expect", [
    ("zero", "empty"), ("text", "not a video"), ("audio", "no video stream"),
])
def test_bad_files_get_a_clear_422_and_store_nothing(client, session, tmp_path, no_broker, kind, expect, settings):
    h = bearer(session, make_user(session, Role.admin))
    path = tmp_path / f"{kind}.mp4"
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 20)
    else:
        write_audio_only(path)
    r = _upload(client, h, path, _scene_id(client))
    assert r.status_code == 422
    assert expect in r.json()["detail"].lower() and path.name in r.json()["detail"]
    assert session.exec(select(Video)).all() == [] and no_broker == []
    assert not list((settings.media_root / "uploads" / "tmp").glob("*"))  # no stray half-file


def test_truncated_video_fails_with_clear_error_and_other_videos_unaffected(client, session, tmp_path, no_broker,
                                                                             shared_dir):
    h = bearer(session, make_user(session, Role.admin))
    good = shared_dir / "fixtures" / "videos" / "single_face.mp4"
    ok = _upload(client, h, good, _scene_id(client)).json()
    cut = truncate(good, tmp_path / "cut.mp4", 0.5)
    r = _upload(client, h, cut, _scene_id(client))
    if r.status_code == 422:  # caught at upload
        assert "truncated" in r.json()["detail"].lower()
    else:  # caught while decoding
        out = run_ingest(r.json()["video_id"])
        assert out["status"] == "failed" and "truncated" in out["error"].lower()
    done = run_ingest(ok["video_id"])
    assert done["status"] == "done" and done["clips"] >= 1


def test_over_size_and_unknown_scene_are_refused(client, session, tmp_path, no_broker, monkeypatch, settings):
    h = bearer(session, make_user(session, Role.admin))
    path = write_plain_video(tmp_path / "plain.mp4", seconds=2)
    monkeypatch.setattr(type(settings), "max_upload_bytes", property(lambda self: 1000))
    r = _upload(client, h, path, _scene_id(client))
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]
    monkeypatch.undo()
    r = _upload(client, h, path, 99999)
    assert r.status_code == 404 and "Scene 99999 does not exist" in r.json()["detail"]
    r = client.post("/api/v1/videos", headers=h, data={"scene_id": "x"}, files={"file": ("a.mp4", b"123")})
    assert r.status_code == 422


def test_annotators_cannot_upload(client, session, tmp_path, no_broker):
    h = bearer(session, make_user(session, Role.annotator))
    r = _upload(client, h, write_plain_video(tmp_path / "p.mp4"), _scene_id(client))
    assert r.status_code == 403


def test_real_face_video_yields_clips_listed_by_video_and_scene(client, session, no_broker, shared_dir):
    h = bearer(session, make_user(session, Role.admin))
    vid = _upload(client, h, shared_dir / "fixtures" / "videos" / "single_face.mp4", _scene_id(client)).json()["video_id"]
    first = run_ingest(vid)
    again = run_ingest(vid)  # a rerun is idempotent
    assert first["clips"] >= 1 and again["clips"] == first["clips"]
    assert len(session.exec(select(Clip)).all()) == first["clips"]
    listed = client.get(f"/api/v1/clips?video_id={vid}", headers=h).json()
    assert listed["total"] == first["clips"]
    clip = listed["items"][0]
    assert clip["frame_count"] >= 8 and clip["end_s"] > clip["start_s"] and clip["face_size"] > 0
    assert client.get(f"/api/v1/clips?scene_id={_scene_id(client, 'War')}", headers=h).json()["total"] == 0
