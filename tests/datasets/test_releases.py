"""Releases on the database: what goes in, immutability, diff, delete, and
every refusal with its message."""
from __future__ import annotations

import errno
from pathlib import Path

import pytest
from sqlmodel import select

from app.clips.models import Clip
from app.consensus.trusted import trusted_labels
from app.datasets import exports, service
from app.datasets.formats.ferv39k_writer import FrameWriter
from app.datasets.models import ReleaseClip


def _create(client, headers, name="v1", **body):
    return client.post("/api/v1/releases", headers=headers, json={"name": name, **body})


def test_a_release_holds_the_trusted_and_reviewed_clips_and_counts_the_rest(client, session, admin_h, labelled):
    clips, _ = labelled
    r = _create(client, admin_h)
    assert r.status_code == 201, r.text
    body = r.json()
    c = body["counts"]
    assert (c["clips"], c["included"], c["trusted"], c["reviewed"], c["rejected"], c["unlabelled"]) == (8, 6, 5, 1, 1, 1)
    rows = {row.clip_id: row for row in session.exec(select(ReleaseClip)).all()}
    assert set(rows) == set(trusted_labels(session))  # the same clips training uses
    assert rows[clips[6].id].expression == "Fear" and rows[clips[6].id].source == "review"
    assert rows[clips[0].id].votes == 3 and rows[clips[0].id].agreement == 1.0
    assert rows[clips[0].id].posterior > 0.9 and rows[clips[0].id].histogram == {"Happy": 3}
    assert clips[5].id not in rows  # rejected by the reviewer
    # The split is now stored on each clip (and the API shows it).
    session.expire_all()
    stored = {c.id: c.split for c in session.exec(select(Clip)).all()}
    assert all(stored[cid] in ("train", "test") for cid in rows)
    assert stored[clips[7].id] is None  # not in any release: not placed
    assert body["stats"]["splits"]["train"] + body["stats"]["splits"]["test"] == 6
    # The frozen votes: 3 per voted clip that is in.
    assert body["stats"]["frozen_votes"] == 18 and body["stats"]["annotators"] == 3


def test_later_votes_and_reviews_never_change_a_release_and_a_second_one_shows_its_diff(
        client, session, admin_h, reviewer_h, labelled):
    clips, _ = labelled
    assert _create(client, admin_h, "v1").status_code == 201
    before = client.get("/api/v1/releases/v1/clips", headers=admin_h).json()
    splits = {row["clip_id"]: row["split"] for row in before["items"]}
    r = client.post(f"/api/v1/clips/{clips[0].id}/review", headers=reviewer_h,
                    json={"decision": "label", "expression": "Surprise", "reason": "second look"})
    assert r.status_code == 201
    assert client.get("/api/v1/releases/v1/clips", headers=admin_h).json() == before
    r = _create(client, admin_h, "v2")
    assert r.status_code == 201, r.text
    assert r.json()["parent"] == "v1"
    after = {row["clip_id"]: row for row in client.get("/api/v1/releases/v2/clips", headers=admin_h).json()["items"]}
    assert {cid: row["split"] for cid, row in after.items()} == splits  # a clip keeps its split
    d = client.get("/api/v1/releases/v1/diff/v2", headers=admin_h).json()
    assert (d["added"], d["removed"], d["relabelled"], d["split_changed"]) == (0, 0, 1, 0)
    assert d["per_expression"]["Happy"]["relabelled_from"] == 1 and d["per_expression"]["Surprise"]["relabelled_to"] == 1
    assert d["examples"]["relabelled"][0]["clip"] == clips[0].key
    assert r.json()["stats"]["diff_to_parent"]["relabelled"] == 1


def test_refusals_name_what_is_wrong(client, session, admin_h, ann_h, labelled):
    r = client.get("/api/v1/releases/nope", headers=admin_h)
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get("/api/v1/releases/nope/download", headers=admin_h).status_code == 404
    assert client.get("/api/v1/releases/a/diff/nope", headers=admin_h).status_code == 404
    for bad in ("../x", "a b", "", ".hidden", "x" * 81):
        r = _create(client, admin_h, bad)
        assert r.status_code == 422, (bad, r.text)
    assert "folder" in _create(client, admin_h, "a/b").json()["detail"]
    assert _create(client, ann_h, "v1").status_code == 403
    assert _create(client, admin_h, "v1").status_code == 201
    r = _create(client, admin_h, "v1")
    assert r.status_code == 409 and "v1" in r.json()["detail"]
    r = _create(client, admin_h, "empty", scenes=["Interview"])
    assert r.status_code == 422
    assert "none is trusted" in r.json()["detail"] and "1 unlabelled" in r.json()["detail"]
    assert "7 other scenes" in r.json()["detail"]
    r = _create(client, admin_h, "x1", scenes=["Atlantis"])
    assert r.status_code == 422 and "Atlantis" in r.json()["detail"]
    assert client.get("/api/v1/releases/v1/download?format=zip", headers=admin_h).status_code == 422
    assert client.get("/api/v1/releases/v1/download", headers=ann_h).status_code == 403
    assert client.delete("/api/v1/releases/v1", headers=ann_h).status_code == 403


def test_delete_is_for_admins_and_leaves_the_clips(client, session, admin_h, reviewer_h, labelled, settings):
    assert _create(client, admin_h, "v1").status_code == 201
    assert (settings.media_root / "releases" / "v1" / "votes.csv").is_file()
    assert client.delete("/api/v1/releases/v1", headers=reviewer_h).status_code == 403
    assert client.delete("/api/v1/releases/v1", headers=admin_h).status_code == 204
    assert client.get("/api/v1/releases/v1", headers=admin_h).status_code == 404
    assert not (settings.media_root / "releases" / "v1").exists()
    assert session.exec(select(ReleaseClip)).all() == []
    assert _create(client, admin_h, "v1").status_code == 201  # the name is free again


def test_export_refuses_a_non_empty_folder_and_cleans_up_after_a_full_disk(client, session, admin_h, labelled,
                                                                          tmp_path):
    assert _create(client, admin_h, "v1").status_code == 201
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.txt").write_text("keep")
    with pytest.raises(exports.Conflict, match="not empty"):
        exports.export_release(session, name="v1", dest=full)
    assert [p.name for p in full.iterdir()] == ["mine.txt"]

    writer = FrameWriter()
    calls = []

    def disk_full(src, dst):
        calls.append(dst)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        Path(dst).write_bytes(Path(src).read_bytes())

    writer.link = disk_full
    dest = tmp_path / "out"
    with pytest.raises(exports.ExportFailed) as exc:
        exports.export_release(session, name="v1", dest=dest, writer=writer)
    assert exc.value.status_code == 507
    assert "disk filled up" in exc.value.detail and "removed" in exc.value.detail
    assert len(calls) == 4 and not dest.exists() and list(tmp_path.iterdir()) == [full]


def test_export_of_every_format(client, session, admin_h, labelled, tmp_path):
    assert _create(client, admin_h, "v1", licence="CC BY-NC 4.0").status_code == 201
    out = exports.export_release(session, name="v1", dest=tmp_path / "x")
    assert out["clips"] == 6 and out["linked"] == out["frames"] > 0
    names = sorted(p.name for p in (tmp_path / "x").iterdir())
    assert names == ["2_ClipsforFaceCrop", "4_setups", "README.md", "clips.csv", "votes.csv"]
    card = (tmp_path / "x" / "README.md").read_text()
    assert "CC BY-NC 4.0" in card and "| DailyLife |" in card and "Fleiss κ" in card
    votes = (tmp_path / "x" / "votes.csv").read_text().splitlines()
    assert votes[0] == "task,worker,label,assisted,duration_ms,created_at" and len(votes) == 19
    assert all("@" not in line for line in votes)  # no e-mail, no account id
    only = exports.export_release(session, name="v1", dest=tmp_path / "y", formats=exports.parse_formats("manifest"))
    assert only["formats"] == ["manifest"] and [p.name for p in (tmp_path / "y").iterdir()] == ["clips.csv"]


def test_the_service_refuses_a_bad_name_itself(session):
    with pytest.raises(service.Invalid, match="folder"):
        service.check_name("a/../b")
