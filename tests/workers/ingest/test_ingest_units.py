"""Small parts with exact expected output: shots, tracks, segments, detectors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from workers.ingest.config import IngestConfig
from workers.ingest.faces import Detection
from workers.ingest.segments import dedupe, plan_clips, split_evenly
from workers.ingest.shots import Shot, ShotBoundaryDetector, shots_from_cuts
from workers.ingest.synthetic import _background
from workers.ingest.tracks import Observation, Track, Tracker, dense_boxes, iou, nms

# --- shots -------------------------------------------------------------------

def _hsv(bgr):
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)


def test_shot_detector_cuts_on_scene_change_only():
    rng = np.random.default_rng(0)
    a, b = _background(rng, 64, 36), _background(rng, 64, 36)
    det = ShotBoundaryDetector(threshold=0.45, min_shot_frames=8)
    cuts = []
    for i in range(40):
        img = a if i < 20 else b
        img = np.roll(img, i, axis=1)  # motion inside a shot is not a cut
        if det.push(_hsv(img)):
            cuts.append(i)
    assert cuts == [20]
    assert shots_from_cuts(cuts, 40) == [Shot(0, 20), Shot(20, 40)]


def test_min_shot_length_suppresses_flashes():
    rng = np.random.default_rng(1)
    a, b = _background(rng, 64, 36), _background(rng, 64, 36)
    det = ShotBoundaryDetector(threshold=0.45, min_shot_frames=8)
    seq = [a] * 10 + [b] * 3 + [a] * 10
    assert [i for i, img in enumerate(seq) if det.push(_hsv(img))] == [10]


# --- tracks ------------------------------------------------------------------

def test_iou_and_nms():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    big, part = Detection((0, 0, 100, 100), 0.9), Detection((20, 20, 40, 40), 0.95)
    other = Detection((200, 0, 50, 50), 0.5)
    kept = nms([part, big, other])
    assert len(kept) == 2 and other in kept  # the nested box and its parent are one face


def test_tracker_associates_and_ends_tracks():
    tr = Tracker(iou_match=0.25, max_missed=1)
    tr.update(0, [Detection((0, 0, 50, 50), 1.0), Detection((200, 0, 50, 50), 1.0)])
    tr.update(3, [Detection((4, 0, 50, 50), 1.0)])  # second face missed once
    tr.update(6, [Detection((8, 0, 50, 50), 1.0)])  # ... twice: ends
    assert [len(t.obs) for t in tr.finished] == [1]
    tr.close_all()
    assert sorted(len(t.obs) for t in tr.finished) == [1, 3]


def test_dense_boxes_interpolates_between_samples():
    t = Track(0, [Observation(f, (float(f), 10.0, 40.0, 40.0), 1.0, "frontal") for f in (0, 3, 6, 9)])
    frames, boxes = dense_boxes(t, smooth_window=1)
    assert list(frames) == list(range(10))
    np.testing.assert_allclose(boxes[:, 0], np.arange(10.0))
    np.testing.assert_allclose(boxes[:, 2], 40.0)


def test_dense_boxes_smooths_size_jitter():
    sizes = [40, 50, 40, 50, 40, 50, 40, 50]
    t = Track(0, [Observation(3 * i, (0.0, 0.0, float(s), float(s)), 1.0, "frontal") for i, s in enumerate(sizes)])
    _, raw = dense_boxes(t, smooth_window=1)
    _, smooth = dense_boxes(t, smooth_window=5)
    assert np.ptp(smooth[6:-6, 2]) < 0.3 * np.ptp(raw[6:-6, 2])


# --- segments ----------------------------------------------------------------

def test_split_evenly():
    assert split_evenly(48, 48) == [(0, 48)]
    assert split_evenly(49, 48) == [(0, 25), (25, 24)]
    assert split_evenly(472, 48) == [(i * 47 + min(i, 2), 48 if i < 2 else 47) for i in range(10)]
    assert sum(n for _, n in split_evenly(1000, 48)) == 1000


def _track(tid, frames, box):
    return Track(tid, [Observation(f, box, 0.9, "frontal") for f in frames])


def test_plan_splits_long_tracks_without_overlap():
    cfg = IngestConfig()
    plans = plan_clips([_track(0, range(0, 100, 3), (10.0, 10.0, 60.0, 60.0))], scale=1.0, stride=3, config=cfg)
    spans = [(p.start_frame, p.end_frame) for p in plans]
    assert spans == [(0, 34), (34, 67), (67, 100)]  # 100 frames → 3 clips of ≤ 48
    assert all(p.hit_rate == 1.0 and p.median_face_px == pytest.approx(60) for p in plans)


def test_plan_filters_small_short_and_sparse_tracks():
    cfg = IngestConfig()
    small = _track(0, range(0, 60, 3), (0.0, 0.0, 30.0, 30.0))  # under min_face_px
    short = _track(1, range(0, 6, 3), (0.0, 0.0, 80.0, 80.0))  # 4 frames, 2 hits
    sparse = _track(2, [0, 30, 45], (0.0, 0.0, 80.0, 80.0))  # 3 hits in 16 samples
    assert plan_clips([small, short, sparse], scale=1.0, stride=3, config=cfg) == []
    # scale maps detection px to source px: 30 px at half size is a 60 px face
    assert len(plan_clips([small], scale=0.5, stride=3, config=cfg)) == 2  # 58 frames


def test_dedupe_keeps_one_clip_per_face():
    cfg = IngestConfig()
    a = _track(0, range(0, 45, 3), (10.0, 10.0, 60.0, 60.0))
    b = _track(1, range(3, 45, 3), (12.0, 10.0, 60.0, 60.0))  # same face, second track
    c = _track(2, range(0, 45, 3), (200.0, 10.0, 60.0, 60.0))  # another face
    plans = plan_clips([a, b, c], scale=1.0, stride=3, config=cfg)
    assert sorted(p.boxes[0][0] for p in plans) == [10.0, 200.0]  # b dropped: a has more hits
    assert dedupe(plans, iou_thr=0.5) == plans


def test_dense_pose_interpolates_roll_and_centre_between_landmarked_detections():
    from workers.ingest.tracks import dense_pose, roll_deg

    def lm(cx, cy, deg):  # eyes 20 px apart turned by `deg`, nose and mouth below the centre
        t = np.radians(deg)
        ex, ey = 10 * np.cos(t), 10 * np.sin(t)
        return (cx - ex, cy - ey, cx + ex, cy + ey, cx, cy + 5, cx - 6, cy + 10, cx + 6, cy + 10)

    box = (0.0, 0.0, 40.0, 40.0)
    t = Track(0, [Observation(0, box, 0.9, "frontal", lm(20, 20, 0.0)),
                  Observation(4, box, 0.9, "frontal", None),  # a near-window detection: box only
                  Observation(8, box, 0.9, "frontal", lm(20, 20, 10.0))])
    assert roll_deg(lm(0, 0, 10.0)) == pytest.approx(10.0)
    centres, roll = dense_pose(t, smooth_window=1)
    assert roll.shape == (9,) and roll[0] == pytest.approx(0.0) and roll[4] == pytest.approx(5.0)
    assert roll[8] == pytest.approx(10.0)
    # the five points' mean sits 5 px below the box centre (20, 20)
    np.testing.assert_allclose(centres[4], (20.0, 25.0), atol=0.2)
    assert dense_pose(Track(1, [Observation(0, box, 0.9, "frontal", None)])) is None
