"""The `fervlab` command.

Every long-running verb runs in the calling process with a progress bar by
default; `--enqueue` sends it to the workers instead (`--wait` waits)."""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from importlib import import_module

import typer

app = typer.Typer(help="fervlab: build trusted video datasets of facial expressions.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)

# Verbs that live with their domain register themselves on `app` when imported.
VERB_MODULES: list[str] = [
    "app.videos.cli",
    "app.benchmarks.cli",
    "app.consensus.cli",
    "app.datasets.cli",
]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"fervlab: {message}", err=True)
    raise typer.Exit(code)


class ProgressBar:
    """A one-line progress bar on stderr (quiet when stderr is not a terminal
    and `quiet` is set, e.g. with --json)."""

    def __init__(self, label: str, *, quiet: bool = False):
        self.label, self.quiet, self._last = label, quiet, -1.0

    def __call__(self, frac: float, stage: str = "") -> None:
        if self.quiet:
            return
        frac = max(0.0, min(1.0, float(frac)))
        if frac - self._last < 0.01 and frac < 1.0:
            return
        self._last = frac
        n = int(frac * 30)
        sys.stderr.write(f"\r{self.label} [{'#' * n}{'.' * (30 - n)}] {frac * 100:5.1f}% {stage[:30]:<30}")
        if frac >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_or_enqueue(kind: str, params: dict, *, enqueue: bool, wait: bool, label: str, quiet: bool = False) -> dict:
    """Run job `kind` here, or hand it to the workers; return its result."""
    from workers.jobs import runner_for

    if not enqueue:
        return runner_for(kind)(params, ProgressBar(label, quiet=quiet))
    from app.core.db import session_scope
    from app.jobs import service as jobs
    from app.jobs.models import JobStatus

    with session_scope() as session:
        job = jobs.enqueue(session, kind=kind, params=params)
        if not wait:
            return {"job": job.id, "status": "queued"}
        bar = ProgressBar(label, quiet=quiet)
        while True:
            job = jobs.wait(session, job.id, timeout_s=1.0, poll_s=0.5)
            bar(job.progress)
            if job.status == JobStatus.done:
                return job.result
            if job.status == JobStatus.failed:
                fail(f"job {job.id} failed: {job.error}")


@app.command()
def init(admin_email: str = typer.Option(None, help="Create this admin if missing."),
         admin_password: str = typer.Option(None, help="Password for --admin-email.")) -> None:
    """Create or upgrade the database and seed the FERV39k taxonomy."""
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.core.migrate import upgrade_head
    from app.taxonomy.service import seed_defaults
    from app.users.models import Role
    from app.users.service import ensure_user

    s = get_settings()
    s.media_root.mkdir(parents=True, exist_ok=True)
    upgrade_head()
    with session_scope() as session:
        seed_defaults(session)
        if admin_email:
            if not admin_password or len(admin_password) < 8:
                fail("--admin-password of at least 8 characters is needed with --admin-email")
            ensure_user(session, email=admin_email, password=admin_password, role=Role.admin)
    typer.echo(f"database ready: {s.database_url.split('@')[-1]}")


@app.command("create-user")
def create_user(email: str, password: str = typer.Option(..., prompt=True, hide_input=True),
                role: str = typer.Option("annotator", help="admin | reviewer | annotator")) -> None:
    """Create a user account."""
    from app.core.db import session_scope
    from app.core.errors import DomainError
    from app.users.models import Role, UserCreate
    from app.users.service import create_user as create

    try:
        data = UserCreate(email=email, password=password, role=Role(role))
        with session_scope() as session:
            user = create(session, data=data)
    except (ValueError, DomainError) as exc:
        fail(str(getattr(exc, "detail", exc)).splitlines()[0])
    typer.echo(f"created user {user.id} <{user.email}> ({user.role})")


@app.command("seed-demo")
def seed_demo(clips: int = typer.Option(24, min=0, max=10000, help="How many generated clips.")) -> None:
    """Demo annotators, a reviewer, N small generated clips over the scenes and a demo campaign."""
    from app.clips import demo
    from app.core.db import session_scope

    with session_scope() as session:
        demo.seed_people(session)
        new = demo.seed_clips(session, clips, progress=ProgressBar("demo clips"))
        campaign = demo.seed_campaign(session)
    typer.echo(f"demo ready: {len(new)} new clips, campaign '{campaign}', annotators "
               f"{', '.join(demo.DEMO_ANNOTATORS)} / {demo.DEMO_PASSWORD}")


def _worker_argv(queues: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker",
            "-Q", queues, "-c", str(concurrency), "--loglevel", "INFO",
            "-n", f"fervlab-{queues.replace(',', '-')}-{uuid.uuid4().hex[:6]}@%h"]


@app.command()
def worker(queues: str = typer.Option("cpu,gpu", help="Comma-separated queues: cpu, gpu."),
           concurrency: int = typer.Option(1, min=1)) -> None:
    """Run a Celery worker on the given queues."""
    bad = [q for q in queues.split(",") if q not in ("cpu", "gpu")]
    if bad:
        fail(f"unknown queue(s): {', '.join(bad)}; use cpu and/or gpu")
    os.execv(sys.executable, _worker_argv(queues, concurrency))


@app.command()
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          embedded_worker: bool = typer.Option(True, help="Start a worker alongside when the broker is embedded.")) -> None:
    """Serve the web app (and an embedded worker when the broker needs no server)."""
    import uvicorn

    from app.core.config import get_settings

    from app import embedded_worker as embedded

    child = None
    if embedded_worker and get_settings().broker_is_embedded:
        child = embedded.start(_worker_argv("cpu,gpu", 1))
        typer.echo(f"embedded worker started (pid {child.pid})")
    try:
        with embedded.signals_unwind():
            uvicorn.run("app.main:create_app", factory=True, host=host, port=port)
    finally:
        if child is not None:
            embedded.stop(child)


@app.command()
def health(timeout: float = typer.Option(30.0, help="Seconds to wait for a worker.")) -> None:
    """Round trip a task through the broker and a worker."""
    from workers.tasks import health as health_task

    nonce = uuid.uuid4().hex
    t0 = time.monotonic()
    try:
        out = health_task.apply_async(args=[nonce], queue="cpu").get(timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        fail(f"no worker answered within {timeout:.0f} s ({type(exc).__name__}); start one with `fervlab worker`")
    typer.echo(json.dumps({"ok": out.get("pong") == nonce, "worker": out.get("worker"),
                           "seconds": round(time.monotonic() - t0, 3)}))


def _register_verbs() -> None:
    for name in VERB_MODULES:
        register: Callable[[typer.Typer], None] = import_module(name).register
        register(app)


def main() -> None:
    _register_verbs()
    app()


if __name__ == "__main__":
    main()
