"""DFER verbs: models, train, evaluate, prerank, import-ferv39k."""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from app.cli import fail, run_or_enqueue

    @app.command()
    def models() -> None:
        """List the DFER model zoo with parameter counts."""
        from workers.dfer.models import list_models

        typer.echo(f"{'name':<28} {'kind':<11} {'params':>12}  description")
        for m in list_models():
            typer.echo(f"{m.name:<28} {m.kind:<11} {m.params:>12,}  {m.description}")

    @app.command()
    def train(model: str = typer.Option(..., help="A name from `fervlab models`."),
              epochs: int = typer.Option(1, min=1), batch_size: int = typer.Option(16, min=1),
              lr: float = typer.Option(1e-3), device: str = typer.Option(None, help="cpu | cuda (default: cuda if present)"),
              split: str = typer.Option("train"),
              release: str = typer.Option(None, help="Train on this dataset release (default: the live labels)."),
              enqueue: bool = False, wait: bool = False) -> None:
        """Train a model on trusted labels (or a release's); prints {"checkpoint": ID, ...} last."""
        from app.benchmarks.zoo import MODEL_NAMES

        if model not in MODEL_NAMES:
            fail(f"unknown model '{model}'; `fervlab models` lists them")
        if device not in (None, "cpu", "cuda"):
            fail("--device must be cpu or cuda")
        try:
            out = run_or_enqueue("train", {"model": model, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                                           "device": device, "split": split, "release": release},
                                 enqueue=enqueue, wait=wait, label="train")
        except ValueError as exc:
            fail(str(exc))
        typer.echo(json.dumps(out))

    @app.command()
    def evaluate(checkpoint: int = typer.Argument(..., help="Checkpoint id."), as_json: bool = typer.Option(False, "--json"),
                 device: str = typer.Option(None),
                 release: str = typer.Option(None, help="Test split of this release (default: the one it was "
                                                        "trained on, else the live labels)."),
                 enqueue: bool = False, wait: bool = False) -> None:
        """WAR/UAR overall, per scenario, per scene, per expression on the test split."""
        try:
            out = run_or_enqueue("evaluate", {"checkpoint": checkpoint, "device": device, "release": release},
                                 enqueue=enqueue, wait=wait,
                                 label="evaluate", quiet=as_json)
        except ValueError as exc:
            fail(str(exc))
        if as_json or "war" not in out:
            typer.echo(json.dumps(out))
            return
        typer.echo(f"checkpoint {out['checkpoint']}: WAR {out['war']:.2%}  UAR {out['uar']:.2%}  ({out['n']} clips)")
        for name, s in {**out["per_scenario"], **out["per_scene"]}.items():
            typer.echo(f"  {name:<32} WAR {s['war']:.2%}  UAR {s['uar']:.2%}  n={s['n']}")

    @app.command()
    def prerank(checkpoint: str = typer.Option("prior", help="Checkpoint id, or 'prior'."),
                all_clips: bool = typer.Option(False, "--all", help="Also clips that already have a prediction."),
                device: str = typer.Option(None), batch_size: int = typer.Option(32, min=1),
                enqueue: bool = False, wait: bool = False) -> None:
        """Pre-rank the seven expressions of clips; prints {"clips": N, "seconds": S} last."""
        try:
            out = run_or_enqueue("prerank", {"checkpoint": checkpoint, "all": all_clips, "device": device,
                                             "batch_size": batch_size}, enqueue=enqueue, wait=wait, label="prerank")
        except ValueError as exc:
            fail(str(exc))
        typer.echo(json.dumps(out))

    @app.command("import-ferv39k")
    def import_ferv39k(root: Path = typer.Argument(..., help="Folder holding 2_ClipsforFaceCrop and 4_setups."),
                       scenes: list[str] = typer.Option(None, "--scene", help="Only these scenes."),
                       limit: int = typer.Option(None, min=1), skip_missing: bool = False) -> None:
        """Import a FERV39k release: clips with trusted labels and the official split."""
        from app.cli import ProgressBar
        from app.clips.ferv39k import Ferv39kLayoutError
        from app.clips.ferv39k_import import import_ferv39k as run
        from app.core.db import session_scope

        try:
            with session_scope() as session:
                out = run(session, root, scenes=scenes or None, limit=limit, skip_missing=skip_missing,
                          progress=ProgressBar("import"))
        except (Ferv39kLayoutError, ValueError) as exc:
            fail(str(exc))
        typer.echo(json.dumps(out))
