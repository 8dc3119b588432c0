"""DFER samples from a FERV39k-shaped tree (see ferv39k_tree)."""
from __future__ import annotations

from pathlib import Path

from app.clips.ferv39k import iter_entries
from workers.dfer.data import Sample
from workers.dfer.labels import class_index

# Made-up scenario names for the synthetic scenes; the real mapping is the taxonomy's.
SCENARIOS = {"DailyLife": "Daily Life", "Interview": "Weak-Interactive Show"}


def samples_from_tree(root: Path, *, with_scene: bool = False) -> list[Sample]:
    """One labelled Sample per clip; `with_scene` reuses the face frames as the scene stream."""
    return [
        Sample(clip_id=e.clip, face_dir=e.frame_dir, scene_dir=e.frame_dir if with_scene else None,
               label=class_index(e.label), scene=e.scene, scenario=SCENARIOS.get(e.scene, "Other"))
        for e in iter_entries(root)
    ]
