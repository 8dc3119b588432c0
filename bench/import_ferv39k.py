"""Import the whole FERV39k index (38,935 clips) with `fervlab import-ferv39k`'s
service, on a generated tree shaped by ../shared/ferv39k (real clip names and
split; one small synthetic frame per clip, since only the import is timed).

    .venv/bin/python bench/import_ferv39k.py [--database-url URL]

Prints the clip counts and seconds; by default on a fresh SQLite file.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fervlab-import-"))
    os.environ["FERVLAB_VAR_DIR"] = str(tmp)
    if args.database_url:
        os.environ["FERVLAB_DATABASE_URL"] = args.database_url

    from app.clips.ferv39k_import import import_ferv39k
    from app.core.db import session_scope
    from app.core.migrate import upgrade_head
    from app.taxonomy.service import seed_defaults
    from tests.factories.ferv39k_tree import make_ferv39k_tree

    t0 = time.perf_counter()
    written = make_ferv39k_tree(tmp / "ferv39k", limit=None, max_frames=1, size=32)
    t_tree = time.perf_counter() - t0
    upgrade_head()
    with session_scope() as s:
        seed_defaults(s)
    t1 = time.perf_counter()
    with session_scope() as s:
        out = import_ferv39k(s, tmp / "ferv39k")
    t_import = time.perf_counter() - t1
    t2 = time.perf_counter()
    with session_scope() as s:
        again = import_ferv39k(s, tmp / "ferv39k")
    t_again = time.perf_counter() - t2
    print("| clips in index | imported | train | test | import s | clips/s | rerun (all skipped) s | tree generation s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(written):,} | {out['clips']:,} | {out['train']:,} | {out['test']:,} | {t_import:.1f} | "
          f"{out['clips'] / t_import:,.0f} | {t_again:.1f} (skipped {again['skipped']:,}) | {t_tree:.1f} |")


if __name__ == "__main__":
    main()
