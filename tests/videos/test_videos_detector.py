"""Choosing the face detector: the upload form and API, `fervlab ingest
--detector`, and the clip recording which detector (and build) found it."""
from __future__ import annotations

import re
import subprocess
import sys
import os

import pytest
from sqlmodel import select

from app.clips.models import Clip
from app.users.models import Role
from app.videos.models import Video
from tests.factories.users import bearer, browser_login, make_user
from tests.factories.videos import write_plain_video
from workers.ingest.faces import default_detector
from workers.ingest.job import run_ingest


@pytest.fixture
def no_broker(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("app.videos.service.enqueue_ingest", lambda video: sent.append(video.id))
    return sent


def _scene_id(client, name="Talkshow") -> int:
    tax = client.get("/api/v1/taxonomy").json()
    return next(s["id"] for sc in tax["scenarios"] for s in sc["scenes"] if s["name"] == name)


def _upload(client, headers, path, scene_id, **data):
    with open(path, "rb") as f:
        return client.post("/api/v1/videos", headers=headers, data={"scene_id": str(scene_id), **data},
                           files={"file": (path.name, f, "video/mp4")})


def test_api_upload_with_a_detector_records_it_on_the_video_and_its_clips(client, session, no_broker, shared_dir):
    h = bearer(session, make_user(session, Role.admin))
    r = _upload(client, h, shared_dir / "fixtures" / "videos" / "single_face.mp4", _scene_id(client), detector="haar")
    assert r.status_code == 202, r.text
    assert r.json()["detector"] == "haar"
    out = run_ingest(r.json()["video_id"])
    assert out["status"] == "done" and out["clips"] >= 1
    clips = session.exec(select(Clip)).all()
    assert clips and {(c.detector, c.detector_version.split()[0]) for c in clips} == {("haar", "opencv-python-headless")}
    item = client.get(f"/api/v1/clips?video_id={r.json()['video_id']}", headers=h).json()["items"][0]
    assert item["detector"] == "haar" and item["detector_version"].startswith("opencv-python-headless ")


def test_without_a_choice_the_best_available_detector_finds_the_clips(client, session, no_broker, shared_dir):
    h = bearer(session, make_user(session, Role.admin))
    r = _upload(client, h, shared_dir / "fixtures" / "videos" / "single_face.mp4", _scene_id(client))
    assert r.json()["detector"] is None
    out = run_ingest(r.json()["video_id"])
    assert out["clips"] >= 1, out
    assert {c.detector for c in session.exec(select(Clip)).all()} == {default_detector()}


def test_an_unknown_detector_is_a_clear_422_that_lists_the_choices(client, session, tmp_path, no_broker):
    h = bearer(session, make_user(session, Role.admin))
    r = _upload(client, h, write_plain_video(tmp_path / "p.mp4"), _scene_id(client), detector="retinaface")
    assert r.status_code == 422
    assert "Unknown face detector 'retinaface'; available: " in r.text and "haar" in r.text
    assert session.exec(select(Video)).all() == [] and no_broker == []


def test_the_upload_form_offers_the_detectors_and_passes_the_choice(client, session, tmp_path, no_broker):
    admin = make_user(session, Role.admin)
    browser_login(client, admin)
    page = client.get("/admin/videos").text
    select_html = re.search(r'<select name="detector">(.*?)</select>', page, re.S).group(1)
    assert '<option value="">Best available' in select_html and '<option value="haar">haar</option>' in select_html
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    path = write_plain_video(tmp_path / "p.mp4")
    with open(path, "rb") as f:
        r = client.post("/admin/videos", data={"scene_id": str(_scene_id(client)), "detector": "haar",
                                               "csrf_token": token},
                        files={"files": (path.name, f, "video/mp4")})
    assert r.status_code < 400, r.text
    video = session.exec(select(Video)).one()
    assert video.detector == "haar" and no_broker == [video.id]


def _fervlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          timeout=300, env=os.environ.copy())


def test_cli_unknown_detector_lists_the_available_ones(tmp_path):
    out = _fervlab("ingest", str(write_plain_video(tmp_path / "p.mp4")), "--scene", "Talkshow",
                   "--detector", "retinaface")
    assert out.returncode == 1
    assert "unknown face detector 'retinaface'; available: " in out.stderr and "haar" in out.stderr


def test_cli_detector_choice_reaches_the_clips(session, shared_dir):
    out = _fervlab("ingest", str(shared_dir / "fixtures" / "videos" / "single_face.mp4"), "--scene", "Talkshow",
                   "--detector", "haar", "--json")
    assert out.returncode == 0, out.stderr
    assert session.exec(select(Video)).one().detector == "haar"
    assert {c.detector for c in session.exec(select(Clip)).all()} == {"haar"}
