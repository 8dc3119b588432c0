"""The detector registry: optional backends, the fallback order, bad names,
a backend that fails mid-video, and the contract every backend keeps."""
from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest

from workers.ingest import IngestConfig, ingest_video
from workers.ingest import faces
from workers.ingest.errors import DetectorError
from workers.ingest.faces import (
    Detection,
    HaarFaceDetector,
    UnknownDetectorError,
    available_detectors,
    check_detector,
    create_detector,
    default_detector,
    installed_detectors,
)
from workers.ingest.synthetic import _background, draw_face
from workers.ingest.tracks import iou

REAL = ["yunet", "mtcnn", "haar"]


@pytest.fixture
def fresh_registry(monkeypatch):
    """A registry as a new process sees it, whose backend modules are imported
    again (and whose packages can be made to fail) without touching the
    real one: everything is restored after the test."""
    monkeypatch.setattr(faces, "_REGISTRY", {k: v for k, v in faces._REGISTRY.items()
                                             if k not in faces.OPTIONAL_BACKENDS})
    monkeypatch.setattr(faces, "_UNAVAILABLE", {})
    for module, _ in faces.OPTIONAL_BACKENDS.values():
        monkeypatch.delitem(sys.modules, module, raising=False)

    def block(*packages):
        for p in packages:
            monkeypatch.setitem(sys.modules, p, None)  # `import p` now raises ImportError

    return block


def test_registry_basics():
    assert "haar" in available_detectors()
    assert isinstance(create_detector("haar"), HaarFaceDetector)
    with pytest.raises(ValueError, match="unknown face detector 'nope'"):
        create_detector("nope")


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(UnknownDetectorError) as e:
        check_detector("retinaface")
    for name in available_detectors():
        assert name in str(e.value)


def test_default_is_the_best_available(fresh_registry):
    expected = next(n for n in REAL if n == "haar" or n in installed_detectors())
    assert default_detector() == expected
    assert check_detector(None) == check_detector("") == expected


def test_without_yuface_the_default_falls_back_to_mtcnn(fresh_registry):
    pytest.importorskip("facenet_pytorch")
    fresh_registry("yuface")
    assert default_detector() == "mtcnn"
    assert "yunet" not in available_detectors()
    with pytest.raises(UnknownDetectorError, match=r"'yunet' \(yuface does not import"):
        check_detector("yunet")


def test_without_either_package_the_default_is_haar(fresh_registry):
    fresh_registry("yuface", "facenet_pytorch")
    assert default_detector() == "haar"
    assert [n for n in available_detectors() if not n.startswith("test-")] == ["haar"]
    assert create_detector().name == "haar"


def test_a_missing_backend_in_the_config_fails_the_video_clearly(fresh_registry, tmp_path, square_video):
    fresh_registry("yuface")
    with pytest.raises(DetectorError, match="unknown face detector 'yunet'.*available:"):
        ingest_video(square_video[0], media_root=tmp_path, scene="Lab", video_key="sq",
                     config=IngestConfig(detector="yunet"))
    assert not (tmp_path / "clips").exists()


def test_installed_detectors_does_not_import_torch(fresh_registry, monkeypatch):
    """The web process lists the choices; it must not pull in torch for it."""
    for m in [m for m in sys.modules if m == "facenet_pytorch" or m.startswith("facenet_pytorch.")]:
        monkeypatch.delitem(sys.modules, m)
    names = installed_detectors()
    assert "haar" in names and "facenet_pytorch" not in sys.modules


class _FailsOnThirdCall:
    """Wraps a detector; raises on its third full-frame search."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.name, self.version = inner.name, "test"
        self.colour, self.native_min_size = inner.colour, inner.native_min_size

    def detect(self, image, **kw):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("out of memory in the backend")
        return self.inner.detect(image, **kw)

    def detect_near(self, image, box, **kw):
        return self.inner.detect_near(image, box, **kw)


def test_a_detector_failing_on_a_frame_fails_the_video_and_keeps_earlier_clips(tmp_path, square_video):
    cfg = IngestConfig(detector="test-blob", detect_fps=8.0)
    path, _ = square_video
    first = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg)
    published = sorted(p.name for p in (tmp_path / "clips" / "Lab").iterdir())
    assert published and len(published) == len(first.clips)
    with pytest.raises(DetectorError, match=r"face detector failed on frame \d+: RuntimeError: out of memory"):
        ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg,
                     detector=_FailsOnThirdCall(create_detector("test-blob")))
    assert sorted(p.name for p in (tmp_path / "clips" / "Lab").iterdir()) == published  # nothing lost
    assert not (tmp_path / "tmp").exists() or not any((tmp_path / "tmp").iterdir())  # nothing half written
    for c in first.clips:
        assert len(list((tmp_path / c.face_dir).iterdir())) == c.frame_count


@pytest.mark.parametrize("name", [n for n in available_detectors() if not n.startswith("test-")])
def test_detector_contract(name):
    """Every registered backend finds a drawn frontal face and nothing on a
    faceless scene (at the pipeline's threshold for it), with scores in
    0..1, in the kind of image it asks for; landmarks, when given, are five
    points on the face."""
    det = create_detector(name)
    thr = IngestConfig().threshold_for(name)
    rng = np.random.default_rng(3)
    scene = _background(rng, 320, 240)
    img = scene.copy()
    truth = draw_face(img, 160, 120, 80, smile=0.5)

    def view(a):
        return a if det.colour else cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)

    found = [d for d in det.detect(view(img), min_size=det.native_min_size) if d.score >= thr]
    assert len(found) >= 1 and max(iou(d.box, truth) for d in found) > 0.5
    assert all(0.0 <= d.score <= 1.0 for d in found)
    for d in found:
        if d.landmarks is not None:
            x, y, w, h = d.box
            pts = np.array(d.landmarks).reshape(5, 2)
            assert ((pts >= [x, y]) & (pts <= [x + w, y + h])).all()
    near = [d for d in det.detect_near(view(img), truth) if d.score >= thr]
    assert near and max(iou(d.box, truth) for d in near) > 0.5
    assert [d for d in det.detect(view(scene), min_size=det.native_min_size) if d.score >= thr] == []
    assert det.version.startswith(det.package)


def test_detection_moves_its_landmarks():
    d = Detection((10.0, 20.0, 30.0, 40.0), 0.9, landmarks=(11.0, 21.0, 12.0, 22.0, 13.0, 23.0, 14.0, 24.0, 15.0, 25.0))
    s = d.scaled(2.0).shifted(1.0, -1.0)
    assert s.box == (21.0, 39.0, 60.0, 80.0)
    assert s.landmarks == (23.0, 41.0, 25.0, 43.0, 27.0, 45.0, 29.0, 47.0, 31.0, 49.0)


def test_a_rerun_with_another_detector_replaces_the_clips(tmp_path, square_video):
    """Clips on disk are reused only if the same detector found them."""
    from tests.workers.ingest.conftest import BlobDetector

    class OtherBlob(BlobDetector):
        name = "test-blob-other"

    path, _ = square_video
    cfg = IngestConfig(detector="test-blob", detect_fps=8.0)
    first = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg)
    again = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg,
                         detector=OtherBlob())
    assert [c.clip_key for c in again.clips] == [c.clip_key for c in first.clips]
    assert all(not c.reused and c.detector == "test-blob-other" for c in again.clips)
    on_disk = [json.loads((tmp_path / c.face_dir).parent.joinpath("clip.json").read_text()) for c in again.clips]
    assert {d["detector"] for d in on_disk} == {"test-blob-other"}
    assert not any((tmp_path / "tmp").iterdir())
