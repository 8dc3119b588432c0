"""Done-when, as a new user: label → consensus → review → release → download
the tar → `fervlab import-ferv39k` into a fresh instance → same labels and
splits; plus the CLI verbs."""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fresh_instance(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERVLAB_")}
    env.update(FERVLAB_ENV="test", FERVLAB_VAR_DIR=str(tmp), FERVLAB_MEDIA_ROOT=str(tmp / "media"),
               FERVLAB_DATABASE_URL=f"sqlite:///{tmp / 'fresh.db'}", PYTHONPATH=str(ROOT))
    return env


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_download_then_import_into_a_fresh_instance_gives_the_same_labels_and_splits(
        client, session, admin_h, reviewer_h, labelled, tmp_path):
    assert client.post("/api/v1/releases", headers=admin_h, json={"name": "v1"}).status_code == 201
    rows = {r["clip_key"]: r for r in client.get("/api/v1/releases/v1/clips", headers=admin_h).json()["items"]}
    with client.stream("GET", "/api/v1/releases/v1/download", headers=reviewer_h) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/x-tar"
        assert 'filename="v1-all.tar"' in r.headers["content-disposition"]
        data = b"".join(r.iter_bytes())
    assert len(data) == int(r.headers["content-length"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp_path / "got", filter="data")
    root = tmp_path / "got" / "v1-all"
    manifest = {m["clip"]: m for m in csv.DictReader((root / "clips.csv").open())}
    assert set(manifest) == set(rows)

    env = _fresh_instance(tmp_path / "fresh")
    assert _cli(env, "init").returncode == 0
    done = _cli(env, "import-ferv39k", str(root))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["clips"] == len(rows)
    with sqlite3.connect(tmp_path / "fresh" / "fresh.db") as db:
        got = {key: (label, split, n) for key, label, split, n in
               db.execute("SELECT key, source_label, split, frame_count FROM clip")}
    want = {f"ferv39k/{m['ferv39k_path']}": (rows[k]["expression"], rows[k]["split"], int(m["frame_count"]))
            for k, m in manifest.items()}
    assert got == want
    # No temporary export is left behind once the tar has been sent.
    assert not any((Path(os.environ["FERVLAB_VAR_DIR"]) / "tmp").glob("release-*"))


def test_release_verbs_on_the_command_line(client, session, labelled, tmp_path):
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT)
    session.commit()
    made = _cli(env, "release", "create", "cli1", "--licence", "terms here")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["clips"] == 6
    listed = _cli(env, "release", "list")
    assert "cli1" in listed.stdout
    shown = json.loads(_cli(env, "release", "show", "cli1").stdout)
    assert shown["stats"]["clips"] == 6 and shown["licence"] == "terms here"
    missing = _cli(env, "release", "show", "nope")
    assert missing.returncode == 1 and "Release 'nope' does not exist" in missing.stderr
    assert _cli(env, "release", "create", "cli2").returncode == 0
    d = json.loads(_cli(env, "release", "diff", "cli1", "cli2").stdout)
    assert d["unchanged"] == 6 and d["added"] == 0
    out = _cli(env, "release", "export", "cli1", str(tmp_path / "exp"), "--format", "card,votes", "--quiet")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["README.md", "votes.csv"]
    again = _cli(env, "release", "export", "cli1", str(tmp_path / "exp"))
    assert again.returncode == 1 and "not empty" in again.stderr
    bad = _cli(env, "release", "create", "no/slash")
    assert bad.returncode == 1 and "folder" in bad.stderr
    assert _cli(env, "release", "delete", "cli2", "--yes").returncode == 0
    assert "cli2" not in _cli(env, "release", "list").stdout
