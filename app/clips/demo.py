"""Demo material: small generated clips spread over the scenes, demo people
and a demo campaign, so a new user sees a working platform at once."""
from __future__ import annotations

from sqlmodel import Session, select

from app.clips import service as clips
from app.clips.models import Clip, ClipSource
from app.core.config import get_settings
from app.taxonomy.models import Scene
from app.users.models import Role
from app.users.service import ensure_user

DEMO_PASSWORD = "fervlab-demo"
DEMO_ANNOTATORS = [f"annotator{i}@fervlab.local" for i in (1, 2, 3)]
DEMO_REVIEWER = "reviewer@fervlab.local"


def seed_people(session: Session) -> None:
    for email in DEMO_ANNOTATORS:
        ensure_user(session, email=email, password=DEMO_PASSWORD, role=Role.annotator)
    ensure_user(session, email=DEMO_REVIEWER, password=DEMO_PASSWORD, role=Role.reviewer)
    session.commit()


def seed_clips(session: Session, n: int, progress=None) -> list[int]:
    """Write `n` demo clips (idempotent: keys demo-0001…), round-robin over the scenes."""
    from workers.ingest.job import clip_fields
    from workers.ingest.synthetic import write_synthetic_clip

    scenes = list(session.exec(select(Scene).order_by(Scene.scenario_id, Scene.position)).all())
    root = get_settings().media_root
    new_ids = []
    for i in range(n):
        scene = scenes[i % len(scenes)]
        key = f"demo-{i + 1:04d}"
        if session.exec(select(Clip.id).where(Clip.key == key)).first() is not None:
            continue
        out = write_synthetic_clip(root, scene.name, key, frames=16, seed=i)
        clip, created = clips.upsert_clip(session, key=key, scene_id=scene.id, video_id=None,
                                          source=ClipSource.demo, fields=clip_fields(out))
        if created:
            new_ids.append(clip.id)
        if progress:
            progress((i + 1) / n, "demo clips")
    session.commit()
    clips.after_new_clips(session, new_ids)
    session.commit()
    return new_ids


def seed_campaign(session: Session) -> str:
    """An open campaign over every scene (no qualification, so the demo
    annotators can label at once)."""
    from app.labeling.models import Campaign, CampaignCreate

    name = "Demo campaign"
    if session.exec(select(Campaign).where(Campaign.name == name)).first() is None:
        from app.labeling import service as labeling

        labeling.create_campaign(session, data=CampaignCreate(name=name, overlap=3, qualification_clips=0,
                                                              gold_rate=0.0, assisted=True))
    return name
