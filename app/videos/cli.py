"""`fervlab ingest PATH... --scene NAME [--detector NAME] [--json] [--enqueue [--wait]]`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(paths: list[Path] = typer.Argument(..., help="Video files."),
               scene: str = typer.Option(..., help="Scene name, e.g. Talkshow."),
               as_json: bool = typer.Option(False, "--json", help="One JSON object per video on its own line."),
               enqueue: bool = typer.Option(False, help="Send to the workers instead of running here."),
               wait: bool = typer.Option(False, help="With --enqueue: wait for the results."),
               detector: str | None = typer.Option(
                   None, help="Face detector: yunet, mtcnn or haar (default: the best one installed).")) -> None:
        """Cut raw videos into candidate face clips."""
        from app.cli import ProgressBar, fail
        from app.core.db import session_scope
        from app.core.errors import DomainError
        from app.taxonomy.service import scene_by_name
        from app.videos import service, storage
        from app.videos.models import Video, VideoStatus

        with session_scope() as session:
            try:
                scene_id = scene_by_name(session, scene).id
            except DomainError as exc:
                fail(exc.detail)
        if detector:
            from workers.ingest.faces import UnknownDetectorError, check_detector

            try:
                check_detector(detector)
            except UnknownDetectorError as exc:
                fail(str(exc))

        results: list[dict] = []
        pending: list[int] = []

        def emit(row: dict) -> None:
            results.append(row)
            if as_json:
                typer.echo(json.dumps(row))
            elif row["status"] == "failed":
                typer.echo(f"{row.get('path', '')}: failed: {row['error']}", err=True)
            elif row["status"] == "done":
                typer.echo(f"video {row['video_id']}: {row['clips']} clips"
                           + ("" if row["clips"] else " (no faces found)"))
            else:
                typer.echo(f"video {row['video_id']}: {row['status']}")

        for path in paths:
            video_id = None
            try:
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no such file")
                staged = storage.stage_local(path)
                with session_scope() as session:
                    video, _ = service.register(session, scene_id=scene_id, staged=staged, detector=detector)
                    video_id = video.id
                    # Asked again: ingest again (a redelivered worker task skips a done video);
                    # `--detector` replaces the detector a video registered before had.
                    video = service.requeue(session, video_id=video_id, detector=detector or None)
                    if enqueue:
                        service.enqueue_ingest(video)
            except (DomainError, OSError) as exc:
                emit({"video_id": video_id, "status": "failed", "clips": 0,
                      "error": getattr(exc, "detail", None) or str(exc)})
                continue
            if enqueue:
                pending.append(video_id)
                if not wait:
                    emit({"video_id": video_id, "status": "queued", "clips": 0, "error": None})
                continue
            from workers.ingest.job import run_ingest

            emit(run_ingest(video_id, progress=ProgressBar(path.name, quiet=as_json)))

        if enqueue and wait:
            left = set(pending)
            while left:
                time.sleep(0.5)
                with session_scope() as session:
                    for vid in sorted(left):
                        v = session.get(Video, vid)
                        if v.status in (VideoStatus.done, VideoStatus.failed):
                            left.discard(vid)
                            emit({"video_id": vid, "status": v.status.value if hasattr(v.status, "value") else v.status,
                                  "clips": v.clips_count, "error": v.error})
        if any(r["status"] == "failed" for r in results):
            raise typer.Exit(1)
