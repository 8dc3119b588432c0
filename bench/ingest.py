"""Ingest speed on the real fixtures: the whole pipeline against a bare PyAV
decode of the same file in the same run.

    .venv/bin/python bench/ingest.py [--repeat 3] [--write]

--write replaces the "Ingest" section of BENCHMARKS.md with the table."""
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.ingest import IngestConfig, create_detector, ingest_video  # noqa: E402
from workers.ingest.faces import default_detector  # noqa: E402
from workers.ingest.preview import preview_format  # noqa: E402
from bench.machine import cpu_model  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "fixtures" / "videos"
NAMES = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "no_face.mp4", "carphone.mp4"]


def bare_decode(path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            n += 1
    return time.perf_counter() - t, n


def run(repeat: int) -> list[dict]:
    cfg = IngestConfig()
    det = create_detector(cfg.detector)
    rows = []
    for name in NAMES:
        path = VIDEOS / name
        decode_s, walls, cpus, stages = [], [], [], []
        for _ in range(repeat):
            decode_s.append(bare_decode(path)[0])
            root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
            try:
                t, c = time.perf_counter(), time.process_time()
                r = ingest_video(path, media_root=root, scene="Bench", video_key="b", config=cfg, detector=det)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
                stages.append(r.timings)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        wall, dec = statistics.median(walls), statistics.median(decode_s)
        med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
        rows.append({
            "name": name, "size": f"{r.width}×{r.height}", "frames": r.frames, "duration": r.duration_s,
            "clips": len(r.clips), "wall": wall, "cpu": statistics.median(cpus),
            "fps": r.frames / wall, "xrt": r.duration_s / wall,
            "decode": dec, "decode_xrt": r.duration_s / dec, "ratio": wall / dec,
            "detect": med["detect"], "write": med["write"], "other": wall - med["detect"] - med["write"],
        })
    return rows


def table(rows: list[dict], repeat: int, load: float) -> str:
    cmd = "`.venv/bin/python bench/ingest.py --repeat %d --write`" % repeat
    head = [
        f"Machine: {len(os.sched_getaffinity(0))} cores (`nproc`), {cpu_model()}, load average {load:.1f} "
        f"when the run started (shared machine); "
        f"{dt.date.today().isoformat()}; PyAV {av.__version__}, preview encoder {preview_format().encoder}; "
        f"default `IngestConfig` ({default_detector()} detector, {IngestConfig().detect_fps:g} detection samples/s); "
        f"median of {repeat} runs. Command: {cmd}.",
        "",
        "| video | size | frames | clips | pipeline s | CPU s | frames/s | × real time | bare decode × real time "
        "| pipeline ÷ bare decode | detect+track s | clip writing s | rest s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head.append(
            f"| {r['name']} | {r['size']} | {r['frames']} | {r['clips']} | {r['wall']:.2f} | {r['cpu']:.2f} "
            f"| {r['fps']:.0f} "
            f"| {r['xrt']:.1f}× | {r['decode_xrt']:.0f}× | {r['ratio']:.1f} | {r['detect']:.2f} "
            f"| {r['write']:.2f} | {r['other']:.2f} |"
        )
    return "\n".join(head)


def write_section(text: str) -> None:
    bench = ROOT / "BENCHMARKS.md"
    content = bench.read_text()
    pattern = re.compile(r"(## Ingest[^\n]*\n)(.*?)(?=\n## |\Z)", re.S)
    if not pattern.search(content):
        raise SystemExit("no '## Ingest' section in BENCHMARKS.md")
    body = pattern.search(content).group(2)
    notes = body.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in body else ""
    new = "\n" + text + "\n" + ("\n<!-- notes -->" + notes if notes else "")
    bench.write_text(pattern.sub(lambda m: m.group(1) + new.rstrip("\n") + "\n", content, count=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="update the Ingest section of BENCHMARKS.md")
    args = ap.parse_args()
    if not VIDEOS.is_dir():
        raise SystemExit(f"fixtures not found: {VIDEOS}")
    load = os.getloadavg()[0]
    text = table(run(args.repeat), args.repeat, load)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
