"""`fervlab release ...`: create, list, show, diff, export and delete releases."""
from __future__ import annotations

import json
from pathlib import Path

import typer

release_app = typer.Typer(help="Dataset releases: immutable snapshots of the trusted dataset, and their exports.",
                          no_args_is_help=True)


def _fail_domain(exc) -> None:
    from app.cli import fail

    fail(getattr(exc, "detail", None) or str(exc))


@release_app.command("create")
def create(name: str = typer.Argument(..., help="Folder-safe and new, e.g. v1 or 2026-12-dailylife."),
           min_posterior: float = typer.Option(None, min=0.0, max=1.0, help="Leave out consensus labels below this."),
           scenes: list[str] = typer.Option(None, "--scene", help="Only these scenes (repeat)."),
           parent: str = typer.Option(None, help="The release this one follows (default: the newest)."),
           test_share: float = typer.Option(0.2, min=0.0, max=1.0, help="Test share for clips without a split."),
           seed: int = typer.Option(0, min=0, help="Seed of the split of new clips."),
           licence: str = typer.Option("", help="Licence or terms written into the dataset card."),
           description: str = typer.Option("", help="A line for the dataset card.")) -> None:
    """Snapshot the trusted clips into a new release; prints its summary as JSON."""
    from pydantic import ValidationError

    from app.core.db import session_scope
    from app.core.errors import DomainError, validation_text
    from app.datasets import service

    try:
        data = service.ReleaseIn(name=name, min_posterior=min_posterior, scenes=scenes or None, parent=parent,
                                 test_share=test_share, seed=seed, licence=licence, description=description)
        with session_scope() as session:
            r = service.create_release(session, data=data)
            out = service.release_public(r)
    except ValidationError as exc:
        _fail_domain(validation_text(exc.errors()))
    except DomainError as exc:
        _fail_domain(exc)
    typer.echo(json.dumps(out, default=str))


@release_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every release, oldest first."""
    from app.core.db import session_scope
    from app.datasets import service

    with session_scope() as session:
        rows = [service.release_public(r) for r in service.list_releases(session)]
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    typer.echo(f"{'name':<24} {'clips':>7} {'train':>7} {'test':>6}  {'parent':<16} created")
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['clips']:>7} {r['splits'].get('train', 0):>7} {r['splits'].get('test', 0):>6}  "
                   f"{r['parent'] or '-':<16} {r['created_at']:%Y-%m-%d %H:%M}")


@release_app.command("show")
def show(name: str) -> None:
    """A release's summary, counts and figures as JSON."""
    from app.core.db import session_scope
    from app.core.errors import DomainError
    from app.datasets import service

    try:
        with session_scope() as session:
            r = service.get_release(session, name)
            out = {**service.release_public(r), "stats": r.stats}
    except DomainError as exc:
        _fail_domain(exc)
    typer.echo(json.dumps(out, default=str))


@release_app.command("diff")
def diff(a: str, b: str) -> None:
    """Clips added, removed, relabelled and moved between splits from A to B (JSON)."""
    from app.core.db import session_scope
    from app.core.errors import DomainError
    from app.datasets import service

    try:
        with session_scope() as session:
            out = service.diff(session, a=a, b=b)
    except DomainError as exc:
        _fail_domain(exc)
    typer.echo(json.dumps(out))


@release_app.command("export")
def export(name: str, dest: Path = typer.Argument(..., help="A new or empty folder."),
           fmt: str = typer.Option("all", "--format", help="ferv39k, manifest, votes, card or all (comma-separated)."),
           quiet: bool = typer.Option(False, "--quiet")) -> None:
    """Write a release into DEST atomically; prints what was written as JSON."""
    from app.cli import ProgressBar
    from app.core.db import session_scope
    from app.core.errors import DomainError
    from app.datasets import exports

    try:
        formats = exports.parse_formats(fmt)
        with session_scope() as session:
            out = exports.export_release(session, name=name, dest=dest, formats=formats,
                                         progress=ProgressBar("export", quiet=quiet))
    except DomainError as exc:
        _fail_domain(exc)
    typer.echo(json.dumps(out))


@release_app.command("delete")
def delete(name: str, yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Delete a release (its rows and frozen votes; clips and their splits stay)."""
    from app.core.db import session_scope
    from app.core.errors import DomainError
    from app.datasets import service

    if not yes:
        typer.confirm(f"Delete release '{name}'?", abort=True)
    try:
        with session_scope() as session:
            service.delete_release(session, name=name)
    except DomainError as exc:
        _fail_domain(exc)
    typer.echo(json.dumps({"deleted": name}))


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
