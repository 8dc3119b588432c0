"""Reading clips and turning pipeline output into Clip rows."""
from __future__ import annotations

from sqlmodel import Session, func, select

from app.clips.models import Clip, ClipPublic, ClipSource
from app.core.errors import NotFound

MAX_PAGE = 1000


def get_clip(session: Session, clip_id: int) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"Clip {clip_id} does not exist.")
    return clip


def list_clips(session: Session, *, video_id: int | None = None, scene_id: int | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[Clip], int]:
    q = select(Clip)
    cq = select(func.count()).select_from(Clip)
    for cond in ([Clip.video_id == video_id] if video_id is not None else []) + \
                ([Clip.scene_id == scene_id] if scene_id is not None else []):
        q, cq = q.where(cond), cq.where(cond)
    rows = session.exec(q.order_by(Clip.id).offset(offset).limit(min(limit, MAX_PAGE))).all()
    return list(rows), int(session.exec(cq).one())


def media_url(clip: Clip) -> str | None:
    return f"/media/clips/{clip.id}/preview.mp4" if clip.preview_path else None


def to_public(clip: Clip) -> ClipPublic:
    return ClipPublic.model_validate(clip, from_attributes=True, update={"media_url": media_url(clip)})


def upsert_clip(session: Session, *, key: str, scene_id: int, video_id: int | None, source: ClipSource,
                fields: dict) -> tuple[Clip, bool]:
    """Insert or update the clip named `key`; returns (clip, created). Keys are
    stable, so running the same ingest twice touches the same rows."""
    clip = session.exec(select(Clip).where(Clip.key == key)).first()
    created = clip is None
    if clip is None:
        clip = Clip(key=key, scene_id=scene_id, video_id=video_id, source=source, **fields)
    else:
        for k, v in fields.items():
            setattr(clip, k, v)
    session.add(clip)
    session.flush()
    return clip, created


def after_new_clips(session: Session, clip_ids: list[int]) -> None:
    """New clips join the pools of the campaigns over their scenes."""
    from app.labeling.pool import add_clips_to_campaigns

    if clip_ids:
        add_clips_to_campaigns(session, clip_ids)
