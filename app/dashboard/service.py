"""Counts shown on the home pages."""
from __future__ import annotations

from sqlmodel import Session, func, select

from app.clips.models import Clip
from app.consensus.models import ConsensusLabel, LabelStatus
from app.labeling.models import Annotation, Campaign
from app.taxonomy.models import Scenario, Scene
from app.users.models import Role, User
from app.videos.models import Video


def _count(session: Session, model, *where) -> int:
    q = select(func.count()).select_from(model)
    for w in where:
        q = q.where(w)
    return int(session.exec(q).one())


def overview(session: Session) -> dict:
    return {
        "videos": _count(session, Video),
        "clips": _count(session, Clip),
        "annotators": _count(session, User, User.role == Role.annotator),
        "annotations": _count(session, Annotation),
        "campaigns": _count(session, Campaign),
        "trusted": _count(session, ConsensusLabel, ConsensusLabel.run_id.is_(None),
                          ConsensusLabel.status == LabelStatus.trusted),
    }


def clips_per_scene(session: Session) -> list[dict]:
    counts = dict(session.exec(select(Clip.scene_id, func.count()).group_by(Clip.scene_id)).all())
    rows = session.exec(
        select(Scene, Scenario).join(Scenario, Scene.scenario_id == Scenario.id).order_by(Scenario.position, Scene.position)
    ).all()
    return [{"scenario": sc.name, "scene": s.name, "scene_id": s.id, "clips": counts.get(s.id, 0)} for s, sc in rows]
