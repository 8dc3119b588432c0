"""`fervlab consensus` (a full recompute on the database) and `fervlab
aggregate` (any votes CSV, no database)."""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from app.cli import fail, run_or_enqueue

    @app.command()
    def consensus(method: str = typer.Option("ds", help="Aggregator: mv, wawa, ds, onecoin, glad, mace."),
                  enqueue: bool = typer.Option(False, "--enqueue", help="Send to the workers instead."),
                  wait: bool = typer.Option(False, "--wait", help="With --enqueue: wait for the result."),
                  quiet: bool = typer.Option(False, "--quiet", help="No progress bar.")) -> None:
        """Recompute every clip's consensus from all votes (a new versioned run)."""
        from app.consensus.aggregators import available_aggregators
        from app.core.errors import DomainError

        method = method.strip().lower()
        if method not in available_aggregators():
            fail(f"unknown method '{method}'; choose one of {', '.join(available_aggregators())}")
        try:
            out = run_or_enqueue("consensus", {"method": method}, enqueue=enqueue, wait=wait, label="consensus",
                                 quiet=quiet)
        except DomainError as exc:
            fail(exc.detail)
        typer.echo(json.dumps(out, default=str))

    @app.command()
    def aggregate(answers: Path = typer.Argument(..., help="Votes CSV: question,worker,answer or task,worker,label."),
                  method: str = typer.Option("ds", help="Aggregator: mv, wawa, ds, onecoin, glad, mace."),
                  gold: Path = typer.Option(None, help="Truth CSV (question,truth): measure accuracy."),
                  out: Path = typer.Option(None, help="Write task,label,confidence here.")) -> None:
        """Aggregate a votes file; the last line printed is a JSON summary."""
        from app.consensus.aggregators import AggregationError
        from app.consensus.votes_csv import aggregate_file

        try:
            result = aggregate_file(answers, method=method, gold_path=gold, out_path=out)
        except AggregationError as exc:  # VotesFileError too: missing file, bad header, bad row
            fail(str(exc).splitlines()[0])
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename or answers}")
        typer.echo(json.dumps(result))
