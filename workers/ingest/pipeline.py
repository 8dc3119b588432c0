"""The ingest pipeline: one video in, candidate face clips out. No database,
no web: the Celery task persists what this returns.

The frames a clip needs are known only once its track has ended. Pass 1
reads the sampled frames downscaled, in colour or grey as the detector wants
(shots, detection, tracking) and, while the decoded frames
fit in `IngestConfig.frame_cache_mb`, keeps them; the clip-writing step then
crops from those (in YUV). A longer video is decoded a second time instead,
up to its last clip frame."""
from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workers.ingest.clips import ClipOutput, ClipWriter, check_name, clip_key, load_finished
from workers.ingest.config import IngestConfig
from workers.ingest.decode import Frame, detection_image, iter_frames, thumb_hsv
from workers.ingest.errors import CorruptVideoError, DetectorError, TruncatedVideoError
from workers.ingest.faces import Detection, FaceDetector, UnknownDetectorError, create_detector
from workers.ingest.preview import preview_format
from workers.ingest.probe import VideoInfo, probe_video
from workers.ingest.segments import ClipPlan, plan_clips
from workers.ingest.shots import ShotBoundaryDetector, shots_from_cuts
from workers.ingest.tracks import Track, Tracker, nms

Progress = Callable[[float, str], None]

_TMP_MAX_AGE_S = 24 * 3600


@dataclass
class IngestResult:
    clips: list[ClipOutput]
    duration_s: float
    frames: int  # frames decoded
    fps: float
    width: int
    height: int
    codec: str
    shots: list[tuple[int, int]]  # (first frame, one past last frame)
    tracks: int  # face tracks found (before the clip filters)
    detector: str
    detector_version: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["clips"] = [c.to_dict() for c in self.clips]
        d["shots"] = [list(s) for s in self.shots]
        return d


class _Progress:
    """Throttles the caller's callback to ~5 calls a second plus stage changes."""

    def __init__(self, fn: Progress | None) -> None:
        self.fn = fn
        self.last = 0.0
        self.stage = ""

    def __call__(self, fraction: float, stage: str) -> None:
        if self.fn is None:
            return
        now = time.monotonic()
        if stage != self.stage or now - self.last >= 0.2 or fraction >= 1.0:
            self.stage, self.last = stage, now
            self.fn(min(max(fraction, 0.0), 1.0), stage)


def detection_scale(width: int, height: int, native_min: int, config: IngestConfig) -> float:
    """Downscale factor for detection frames (see IngestConfig.detect_*)."""
    long_side = max(width, height)
    s = native_min / config.detect_min_face_px
    s = max(s, config.detect_min_side / long_side)
    s = min(s, config.detect_max_side / long_side)
    return min(1.0, s)


@dataclass
class _Pass1:
    frames: int
    times: list[float]
    cuts: list[int]
    tracks: list[Track]
    seconds_detect: float
    cache: list[Frame] | None  # every decoded frame, when they fitted the budget


def _detect_and_track(
    src: Path, info: VideoInfo, det: FaceDetector, config: IngestConfig, stride: int, scale: float, report: _Progress
) -> _Pass1:
    shot_det = ShotBoundaryDetector(threshold=config.shot_threshold, min_shot_frames=config.min_shot_frames)
    tracker = Tracker(iou_match=config.iou_match, max_missed=config.max_missed)
    det_size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
    min_size = max(det.native_min_size, round(config.detect_min_face_px * scale))
    threshold = config.threshold_for(det.name)
    times: list[float] = []
    cuts: list[int] = []
    t_det = 0.0
    sample_in_shot = 0
    expected = max(info.frames, 1)
    cache: list[Frame] | None = [] if config.frame_cache_mb > 0 else None
    budget = config.frame_cache_mb * 2**20
    cached_bytes = 0
    for fr in iter_frames(src):
        i = fr.index
        times.append(fr.time_s)
        if cache is not None:
            # Holding the decoded frame keeps its buffers alive: no copy.
            cached_bytes += sum(p.buffer_size for p in fr.av_frame.planes)
            if i == 0 and cached_bytes * expected > budget:
                cache = None  # would not fit: decode again later
            elif cached_bytes > budget:
                cache = None  # the container under-announced its length
            else:
                cache.append(fr)
        if shot_det.push(thumb_hsv(fr.av_frame)):
            cuts.append(i)
            tracker.close_all()
            sample_in_shot = 0
        if i % stride == 0:
            t0 = time.perf_counter()
            image = detection_image(fr.av_frame, det_size, colour=det.colour)
            every = config.full_detect_every if tracker.active else config.idle_detect_every
            full = sample_in_shot % every == 0
            dets = _sure(_run(det.detect, src, i, image, min_size=min_size), threshold) if full else []
            for t in tracker.unmatched(dets):
                # Boxes only: landmarks from the small rescaled window are
                # biased toward upright (YuNet: -3° for a face at -16° on
                # the full frame), so the crops' pose comes from full-frame
                # searches (tracks.dense_pose).
                dets.extend(d.without_landmarks() for d in
                            _sure(_run(det.detect_near, src, i, image, t.last_box), threshold))
            tracker.update(i, nms(dets))
            sample_in_shot += 1
            t_det += time.perf_counter() - t0
        report(0.8 * min(1.0, (i + 1) / expected), "detecting faces")
    tracker.close_all()
    return _Pass1(len(times), times, cuts, tracker.finished, t_det, cache)


def _sure(dets: list[Detection], threshold: float) -> list[Detection]:
    return nms([d for d in dets if d.score >= threshold])


def _run(fn, src: Path, frame_index: int, *args, **kwargs) -> list[Detection]:
    """A detector call; its failure fails the video with a message that says
    where (nothing is written before pass 1 ends, and published clips of an
    earlier run stay)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any backend error, reported in words
        raise DetectorError(
            src, f"the face detector failed on frame {frame_index}: {type(exc).__name__}: {exc}") from exc


def _sweep_tmp(tmp_base: Path) -> None:
    """Remove work dirs of runs killed long ago (they were never visible)."""
    if not tmp_base.is_dir():
        return
    now = time.time()
    for p in tmp_base.iterdir():
        try:
            if now - p.stat().st_mtime > _TMP_MAX_AGE_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _write_clips(
    src: Path, plans: list[ClipPlan], p1: _Pass1, *, media_root: Path, scene: str, video_key: str,
    info: VideoInfo, config: IngestConfig, report: _Progress, det: FaceDetector,
) -> list[ClipOutput]:
    tmp_base = media_root / "tmp"
    _sweep_tmp(tmp_base)
    tmp_root = tmp_base / uuid.uuid4().hex
    tmp_root.mkdir(parents=True)
    fmt = preview_format()
    pending = sorted(plans, key=lambda p: p.start_frame)
    stop = max(p.end_frame for p in plans)
    first = pending[0].start_frame
    active: list[ClipWriter] = []
    done: list[ClipOutput] = []
    frame_dt = 1.0 / info.fps
    frames = iter(p1.cache[:stop]) if p1.cache is not None else iter_frames(src, stop=stop)
    try:
        for fr in frames:
            i = fr.index
            while pending and pending[0].start_frame == i:
                plan = pending.pop(0)
                end_time = p1.times[plan.end_frame - 1] + frame_dt
                active.append(ClipWriter(
                    media_root=media_root, tmp_root=tmp_root, scene=scene, video_key=video_key,
                    key=clip_key(video_key, plan.track_index, plan.segment_index), plan=plan,
                    start_s=p1.times[plan.start_frame], end_s=end_time, rate=info.frame_rate,
                    config=config, preview_fmt=fmt, detector=det.name, detector_version=det.version,
                ))
            for w in active:
                w.add(i, fr.av_frame)
            for w in [w for w in active if w.complete]:
                done.append(w.finish())
                active.remove(w)
            report(0.8 + 0.2 * (i + 1 - first) / max(stop - first, 1), "writing clips")
        if active or pending:
            raise CorruptVideoError(src, "the video ended early on the second read")
    except BaseException:
        for w in active:
            w.abort()
        raise
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return done


def ingest_video(
    src: Path | str,
    *,
    media_root: Path | str,
    scene: str,
    video_key: str,
    config: IngestConfig | None = None,
    progress: Progress | None = None,
    detector: FaceDetector | None = None,
) -> IngestResult:
    """Decode `src`, cut shots, detect and track faces, and write each stable
    face track as one or more clips under `media_root` (see clips.py for the
    layout). Safe to run twice: clips already published under the same keys
    are reused, not rewritten.

    Raises an `IngestError` subclass for unusable input; a video without faces
    returns a result with no clips, and a detector that fails (or an unknown
    `config.detector`) a `DetectorError`, before anything is written.
    `detector` overrides `config.detector` (pass one to reuse it across
    videos); without either, the best available backend runs."""
    src = Path(src)
    media_root = Path(media_root)
    config = config or IngestConfig()
    check_name(scene, "scene")
    check_name(video_key, "video_key")
    report = _Progress(progress)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    report(0.0, "probing")
    info = probe_video(src)  # one frame decoded: its display rotation sets the upright size
    try:
        det = detector or create_detector(config.detector)
    except UnknownDetectorError as exc:
        raise DetectorError(src, str(exc)) from None
    stride = max(1, round(info.fps / config.detect_fps))
    scale = detection_scale(info.width, info.height, det.native_min_size, config)
    t1 = time.perf_counter()
    timings["probe"] = t1 - t0

    p1 = _detect_and_track(src, info, det, config, stride, scale, report)
    t2 = time.perf_counter()
    timings["detect"] = p1.seconds_detect
    timings["decode_and_shots"] = t2 - t1 - p1.seconds_detect
    if p1.frames == 0:
        raise TruncatedVideoError(src, "no frame could be decoded: the video data is missing or truncated")
    if info.frames_exact and p1.frames < 0.9 * info.frames - 2:
        raise TruncatedVideoError(
            src, f"only {p1.frames} of the {info.frames} frames the file announces could be decoded (truncated?)"
        )

    plans = plan_clips(p1.tracks, scale=scale, stride=stride, config=config)
    outputs: dict[str, ClipOutput] = {}
    todo: list[ClipPlan] = []
    for plan in plans:
        key = clip_key(video_key, plan.track_index, plan.segment_index)
        existing = load_finished(media_root, scene, key)
        # Reused only if the same detector found it: a rerun with another one
        # replaces the clip (its face boxes and crops would differ).
        if existing is not None and existing.detector == det.name:
            outputs[key] = existing
        else:
            todo.append(plan)
    t3 = time.perf_counter()
    timings["plan"] = t3 - t2
    if todo:
        for out in _write_clips(
            src, todo, p1, media_root=media_root, scene=scene, video_key=video_key,
            info=info, config=config, report=report, det=det,
        ):
            outputs[out.clip_key] = out
    timings["write"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    report(1.0, "done")

    clips = sorted(outputs.values(), key=lambda c: (c.start_frame, c.track_index))
    shots = shots_from_cuts(p1.cuts, p1.frames)
    return IngestResult(
        clips=clips,
        duration_s=p1.frames / info.fps if info.duration_s <= 0 else info.duration_s,
        frames=p1.frames,
        fps=info.fps,
        width=info.width,
        height=info.height,
        codec=info.codec,
        shots=[(s.start, s.end) for s in shots],
        tracks=len(p1.tracks),
        detector=det.name,
        detector_version=det.version,
        timings={k: round(v, 4) for k, v in timings.items()},
    )
