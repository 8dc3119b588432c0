"""Face detectors compared: recall and false positives on the fixtures and on
hard variants generated from them, CPU ms per frame, the clips each one
yields, and whole-pipeline ingest speed against a bare decode in the same run.

    .venv/bin/python bench/detect.py [--every 12] [--repeat 3] [--write]

Truth: on sampled frames of the plain face fixtures, a face is one that at
least two of the three backends find at full size (YuNet and MTCNN agree on
every face of the fixtures; Haar misses some of carphone's tilted ones). Each
variant moves the truth boxes with the picture (tiles scale and shift them,
rotation turns their centres). A detection matches a truth face when its
centre lies within half the face's side of the face's centre and its size is
within 0.5–2× (the backends draw boxes differently: Haar brows to chin, YuNet
forehead to chin). Every unmatched detection is a false positive; the no-face
cartoon (no_face.mp4) has no truth, so all its detections are false.

Detectors run as ingest runs them: the frame downscaled by the pipeline's
`detection_scale` for that backend, its smallest face, its colour or grey
input and `IngestConfig.detect_thresholds`; full-frame searches only (no
tracking). Faces below the pipeline's smallest face (`detect_min_face_px`,
source px) are counted apart: ingest never looks for them.

--write replaces the "Face detectors" section of BENCHMARKS.md."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import bare_decode  # noqa: E402
from bench.machine import cpu_model  # noqa: E402
from workers.ingest import IngestConfig, create_detector, ingest_video  # noqa: E402
from workers.ingest.decode import resize  # noqa: E402
from workers.ingest.faces import available_detectors, default_detector  # noqa: E402
from workers.ingest.pipeline import detection_scale  # noqa: E402
from workers.ingest.tracks import roll_deg  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "fixtures" / "videos"
FACE_VIDEOS = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "carphone.mp4"]
NO_FACE = "no_face.mp4"
ORDER = ["yunet", "mtcnn", "haar"]

Box = tuple[float, float, float, float]


# --- material -----------------------------------------------------------------

def sample_frames(path: Path, every: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for i, f in enumerate(c.decode(video=0)) if i % every == 0]


def tile(img: np.ndarray, boxes: list[Box], n: int) -> tuple[np.ndarray, list[Box]]:
    """n × n copies of the frame at 1/n size: faces at a third (fifth) of their size."""
    H, W = img.shape[:2]
    out, moved = np.empty_like(img), []
    for r in range(n):
        for c in range(n):
            y0, y1, x0, x1 = r * H // n, (r + 1) * H // n, c * W // n, (c + 1) * W // n
            out[y0:y1, x0:x1] = cv2.resize(img, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
            kx, ky = (x1 - x0) / W, (y1 - y0) / H
            moved += [(x0 + x * kx, y0 + y * ky, w * kx, h * ky) for x, y, w, h in boxes]
    return out, moved


def rotate(img: np.ndarray, boxes: list[Box], deg: float) -> tuple[np.ndarray, list[Box]]:
    """Turned about the first face's centre (the frame's without one), so the
    face stays in the picture; truth centres turn with it (sides kept)."""
    H, W = img.shape[:2]
    m = cv2.getRotationMatrix2D(_centre(boxes[0]) if boxes else (W / 2, H / 2), deg, 1.0)
    out = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    moved = []
    for x, y, w, h in boxes:
        cx, cy = m @ [x + w / 2, y + h / 2, 1.0]
        moved.append((cx - w / 2, cy - h / 2, w, h))
    return out, moved


def dark_noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A quarter of the light, plus sensor-like noise (σ = 6 grey levels)."""
    return np.clip(img.astype(np.float32) * 0.25 + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def blur(img: np.ndarray) -> np.ndarray:
    """Out of focus: Gaussian σ = width / 160 (4 px at 640, 1.1 px at 176)."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=img.shape[1] / 160)


def jpeg(img: np.ndarray, quality: int = 10) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


VARIANTS = ["plain", "tiled 3×3", "tiled 5×5", "blur", "dark + noise", "rotated +35°", "rotated −35°", "JPEG q10"]


def make_variant(name: str, img: np.ndarray, boxes: list[Box], rng) -> tuple[np.ndarray, list[Box], list[Box]]:
    """The variant image, its truth (faces whose box stays whole inside the
    frame) and the faces cut by the frame edge, which count neither as misses
    nor, when found, as false positives."""
    out, moved = _variant(name, img, boxes, rng)
    H, W = out.shape[:2]
    inside = [b for b in moved if b[0] >= 0 and b[1] >= 0 and b[0] + b[2] <= W and b[1] + b[3] <= H]
    return out, inside, [b for b in moved if b not in inside]


def _variant(name: str, img: np.ndarray, boxes: list[Box], rng) -> tuple[np.ndarray, list[Box]]:
    if name == "plain":
        return img, boxes
    if name.startswith("tiled"):
        return tile(img, boxes, int(name.split()[1][0]))
    if name == "blur":
        return blur(img), boxes
    if name == "dark + noise":
        return dark_noise(img, rng), boxes
    if name.startswith("rotated"):
        return rotate(img, boxes, 35.0 if "+" in name else -35.0)
    if name.startswith("JPEG"):
        return jpeg(img), boxes
    raise ValueError(name)


# --- detection as ingest runs it ---------------------------------------------------

class Runner:
    def __init__(self, name: str, cfg: IngestConfig) -> None:
        self.det = create_detector(name)
        self.cfg = cfg
        self.thr = cfg.threshold_for(name)
        self.cpu: list[float] = []

    def __call__(self, img: np.ndarray) -> list[Box]:
        H, W = img.shape[:2]
        s = detection_scale(W, H, self.det.native_min_size, self.cfg)
        size = (max(1, round(W * s)), max(1, round(H * s)))
        small = img if s == 1.0 else resize(img, size)
        if not self.det.colour:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        min_size = max(self.det.native_min_size, round(self.cfg.detect_min_face_px * s))
        t = time.process_time()
        found = self.det.detect(small, min_size=min_size)
        self.cpu.append(time.process_time() - t)
        return [tuple(v / s for v in d.box) for d in found if d.score >= self.thr]


def full_size(det, img: np.ndarray, thr: float) -> list[Box]:
    image = img if det.colour else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return [d.box for d in det.detect(image, min_size=det.native_min_size) if d.score >= thr]


def _centre(b: Box) -> tuple[float, float]:
    return b[0] + b[2] / 2, b[1] + b[3] / 2


def matches(det: Box, truth: Box) -> bool:
    (dx, dy), (tx, ty) = _centre(det), _centre(truth)
    ts, ds = max(truth[2], truth[3]), max(det[2], det[3])
    return np.hypot(dx - tx, dy - ty) <= 0.5 * ts and 0.5 <= ds / ts <= 2.0


def score(found: list[Box], truth: list[Box]) -> tuple[list[bool], int]:
    """(per truth face: found?, unmatched detections), greedy one-to-one."""
    used, hit = set(), []
    for t in truth:
        j = next((j for j, d in enumerate(found) if j not in used and matches(d, t)), None)
        hit.append(j is not None)
        if j is not None:
            used.add(j)
    return hit, len(found) - len(used)


def consensus_truth(frames: list[np.ndarray], names: list[str], cfg: IngestConfig) -> list[list[Box]]:
    """Faces that at least two backends find on the full-size plain frame
    (MTCNN's box where it has one: it sits between Haar's and YuNet's)."""
    dets = {n: create_detector(n) for n in names}
    truth = []
    for img in frames:
        per = {n: full_size(d, img, cfg.threshold_for(n)) for n, d in dets.items()}
        ref = per.get("mtcnn") or per.get("yunet") or []
        others = [n for n in names if n != ("mtcnn" if per.get("mtcnn") else "yunet")]
        faces = [b for b in ref if sum(any(matches(o, b) for o in per[n]) for n in others) >= 1]
        truth.append(faces)
    return truth


def detector_table(names: list[str], cfg: IngestConfig, every: int) -> tuple[str, dict]:
    rng = np.random.default_rng(0)
    material = []  # (video, frame, truth)
    for v in FACE_VIDEOS:
        frames = sample_frames(VIDEOS / v, every)
        material += [(v, f, t) for f, t in zip(frames, consensus_truth(frames, names, cfg))]
    cartoon = [(NO_FACE, f, []) for f in sample_frames(VIDEOS / NO_FACE, every)]
    runners = {n: Runner(n, cfg) for n in names}
    rows = []
    for var in VARIANTS:
        stats = {n: {"hit": 0, "faces": 0, "hit_small": 0, "small": 0, "fp": 0, "fp_cartoon": 0} for n in names}
        for video, img, truth in material + cartoon:
            vimg, vtruth, cut = make_variant(var, img, truth, rng)
            for n, run in runners.items():
                found = [d for d in run(vimg) if not any(matches(d, c) for c in cut)]
                hit, fp = score(found, vtruth)
                st = stats[n]
                for h, t in zip(hit, vtruth):
                    if max(t[2], t[3]) >= cfg.detect_min_face_px:
                        st["faces"] += 1
                        st["hit"] += h
                    else:
                        st["small"] += 1
                        st["hit_small"] += h
                st["fp_cartoon" if video == NO_FACE else "fp"] += fp
        rows.append((var, stats))
    head = ["| variant | faces ≥ {0} px | ".format(cfg.detect_min_face_px)
            + " | ".join(f"{n} recall" for n in names) + " | faces < {0} px | ".format(cfg.detect_min_face_px)
            + " | ".join(f"{n}" for n in names) + " | "
            + " | ".join(f"{n} false + (cartoon)" for n in names) + " |"]
    head.append("|" + "---|" * (2 + 2 * len(names) + 1 + len(names)))
    for var, st in rows:
        first = st[names[0]]
        cells = [var, str(first["faces"])]
        cells += [f"{st[n]['hit'] / max(first['faces'], 1):.1%} ({st[n]['hit']})" for n in names]
        cells.append(str(first["small"]))
        cells += [f"{st[n]['hit_small']}" for n in names]
        cells += [f"{st[n]['fp']} ({st[n]['fp_cartoon']})" for n in names]
        head.append("| " + " | ".join(cells) + " |")
    cpu = {n: 1000 * statistics.median(r.cpu) for n, r in runners.items()}
    n_frames = {v: sum(1 for m in material + cartoon if m[0] == v) for v in FACE_VIDEOS + [NO_FACE]}
    n_truth = sum(len(m[2]) for m in material)
    return "\n".join(head), {"cpu": cpu, "frames": n_frames, "truth": n_truth, "rows": rows}


# --- the pipeline with each detector -----------------------------------------------

def centring(root: Path, clips, referee) -> tuple[float, float, int, int]:
    """Median distance of the referee's landmark mean from the crop centre (as
    a share of the crop side), median |eye roll| (deg), crops seen, crops where
    the referee found no face: first, middle and last frame of each clip."""
    offs, rolls, seen, missed = [], [], 0, 0
    for c in clips:
        for j in sorted({1, c.frame_count // 2 + 1, c.frame_count}):
            img = cv2.imread(str(root / c.face_dir / f"{j:05d}.jpg"))
            seen += 1
            found = [d for d in referee.detect(img, min_size=40) if d.score >= 0.9 and d.landmarks]
            if not found:
                missed += 1
                continue
            d = max(found, key=lambda d: d.score)
            p = np.array(d.landmarks).reshape(5, 2)
            offs.append(float(np.hypot(*(p.mean(axis=0) - (img.shape[1] - 1) / 2))) / img.shape[1])
            rolls.append(abs(roll_deg(d.landmarks)))
    med = (lambda v: statistics.median(v) if v else float("nan"))
    return med(offs), med(rolls), seen, missed


def pipeline_table(names: list[str], repeat: int) -> str:
    referee = create_detector("mtcnn") if "mtcnn" in names else create_detector(names[0])
    head = ["| video | detector | clips | clip frames | pipeline s | CPU s | × real time | × real time per CPU s "
            "| bare decode × real time | pipeline ÷ bare decode | detect+track s | crop centre offset "
            "| crop eye roll | no face in crop |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in FACE_VIDEOS + [NO_FACE]:
        path = VIDEOS / v
        for n in names:
            det = create_detector(n)
            walls, cpus, decs, detect = [], [], [], []
            for k in range(repeat):
                decs.append(bare_decode(path)[0])
                root = Path(tempfile.mkdtemp(prefix="bench-detect-"))
                t, c0 = time.perf_counter(), time.process_time()
                r = ingest_video(path, media_root=root, scene="Bench", video_key="b", detector=det)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c0)
                detect.append(r.timings["detect"])
                if k == repeat - 1:
                    off, roll, seen, missed = centring(root, r.clips, referee)
                shutil.rmtree(root, ignore_errors=True)
            wall, dec, cpu = statistics.median(walls), statistics.median(decs), statistics.median(cpus)
            head.append(
                f"| {v} | {n} | {len(r.clips)} | {sum(c.frame_count for c in r.clips)} | {wall:.2f} | {cpu:.2f} "
                f"| {r.duration_s / wall:.1f}× | {r.duration_s / cpu:.1f}× | {r.duration_s / dec:.0f}× | {wall / dec:.1f} "
                f"| {statistics.median(detect):.2f} | {off:.3f} | {roll:.1f}° | {missed}/{seen} |")
    return "\n".join(head)


def write_section(text: str) -> None:
    bench = ROOT / "BENCHMARKS.md"
    content = bench.read_text()
    pattern = re.compile(r"(## Face detectors[^\n]*\n)(.*?)(?=\n## |\Z)", re.S)
    m = pattern.search(content)
    if not m:
        content = content.rstrip("\n") + "\n\n## Face detectors (clip mining)\n\n"
        m = pattern.search(content)
    body = m.group(2)
    notes = body.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in body else ""
    new = "\n" + text + "\n" + ("\n<!-- notes -->" + notes if notes else "")
    bench.write_text(pattern.sub(lambda m: m.group(1) + new.rstrip("\n") + "\n", content, count=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=12, help="sample every N-th frame for the detector table")
    ap.add_argument("--repeat", type=int, default=3, help="pipeline runs per video and detector (median)")
    ap.add_argument("--write", action="store_true", help="update the Face detectors section of BENCHMARKS.md")
    ap.add_argument("--no-pipeline", action="store_true", help="the detector table only")
    args = ap.parse_args()
    if not VIDEOS.is_dir():
        raise SystemExit(f"fixtures not found: {VIDEOS}")
    names = [n for n in ORDER if n in available_detectors()]
    cfg = IngestConfig()
    load = os.getloadavg()[0]
    t0 = time.time()
    det_text, info = detector_table(names, cfg, args.every)
    pipe_text = "(not run: --no-pipeline)" if args.no_pipeline else pipeline_table(names, args.repeat)
    load_end = os.getloadavg()[0]
    cmd = (f"`.venv/bin/python bench/detect.py --every {args.every} --repeat {args.repeat}"
           + (" --no-pipeline" if args.no_pipeline else "") + (" --write" if args.write else "") + "`")
    frames = ", ".join(f"{v} {k}" for v, k in info["frames"].items())
    text = "\n".join([
        f"Machine: {len(os.sched_getaffinity(0))} cores (`nproc`), {cpu_model()}, load average {load:.1f} at the "
        f"start and {load_end:.1f} at the end of the run (a machine shared with other jobs: compare ratios and CPU "
        f"times within this run, not wall times across runs); {dt.date.today().isoformat()}; "
        f"{', '.join(f'{n} = {create_detector(n).version}' for n in names)}; default detector here: "
        f"{default_detector()}; thresholds {dict(cfg.detect_thresholds)}; smallest face "
        f"{cfg.detect_min_face_px} px; {time.time() - t0:.0f} s in all. Command: {cmd}.",
        "",
        f"Recall and false positives, full-frame searches as ingest runs them, on every {args.every}th frame "
        f"({frames}; {info['truth']} truth faces before tiling, of which those cut by the frame edge are "
        "left out):",
        "",
        det_text,
        "",
        "CPU ms per full-frame search (median over every frame and variant above, one thread): "
        + ", ".join(f"{n} {info['cpu'][n]:.1f} ms" for n in names) + ".",
        "",
        f"The whole pipeline per detector (median of {args.repeat} runs; a bare PyAV decode of the same file "
        "measured before each run). Crop centring and roll are read by a referee (MTCNN's landmarks, "
        "threshold 0.9) on the first, middle and last face crop of every clip: the offset of the five points' "
        "mean from the crop centre, as a share of the crop side, and the eye line's tilt:",
        "",
        pipe_text,
    ])
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
