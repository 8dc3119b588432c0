"""`fervlab ingest` in the calling process and through a real worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.factories.videos import write_plain_video


def _fervlab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_ingest_json_in_process_reports_each_video_and_fails_on_bad_input(tmp_path):
    good = write_plain_video(tmp_path / "plain.mp4")
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello")
    out = _fervlab("ingest", str(good), str(bad), str(tmp_path / "missing.mp4"), "--scene", "Talkshow", "--json")
    rows = _lines(out.stdout)
    assert out.returncode == 1
    assert rows[0]["status"] == "done" and rows[0]["clips"] == 0 and rows[0]["error"] is None
    assert rows[1]["status"] == "failed" and "not a video" in rows[1]["error"]
    assert rows[2]["status"] == "failed" and "no such file" in rows[2]["error"]


def test_unknown_scene_is_a_clear_error(tmp_path):
    out = _fervlab("ingest", str(write_plain_video(tmp_path / "p.mp4")), "--scene", "Nowhere")
    assert out.returncode == 1 and "Scene 'Nowhere' does not exist" in out.stderr


def test_ingest_through_the_workers_with_enqueue_wait(tmp_path, worker_process, shared_dir):
    face = shared_dir / "fixtures" / "videos" / "single_face.mp4"
    plain = write_plain_video(tmp_path / "plain.mp4")
    out = _fervlab("ingest", str(face), str(plain), "--scene", "Talkshow", "--json", "--enqueue", "--wait")
    assert out.returncode == 0, out.stderr
    rows = {r["video_id"]: r for r in _lines(out.stdout)}
    assert len(rows) == 2
    clips = sorted(r["clips"] for r in rows.values())
    assert clips[0] == 0 and clips[1] >= 1 and all(r["status"] == "done" for r in rows.values())
