"""Who may fetch a clip's media, and where the file is.

A clip's preview and face frames go to the annotator holding a live lease on
it, and to reviewers and admins; to nobody else (the clips of a campaign are
not a public dataset, and gold clips must not be findable)."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from app.clips.models import Clip
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound
from app.labeling.models import Assignment, AssignmentStatus
from app.users.models import ROLE_RANK, Role, User


def _may_see(session: Session, *, clip_id: int, user: User) -> bool:
    if ROLE_RANK[Role(user.role)] >= ROLE_RANK[Role.reviewer]:
        return True
    lease = session.exec(select(Assignment.id).where(
        Assignment.clip_id == clip_id, Assignment.user_id == user.id,
        Assignment.status == AssignmentStatus.active, Assignment.expires_at > utcnow()).limit(1)).first()
    return lease is not None


def _inside_media_root(rel: str) -> Path | None:
    root = get_settings().media_root
    path = (root / rel).resolve()
    # A stored path never leaves MEDIA_ROOT, whatever it says.
    return path if path.is_relative_to(root) and path.is_file() else None


def _clip_for(session: Session, *, clip_id: int, user: User) -> Clip:
    clip = session.get(Clip, clip_id)
    allowed = _may_see(session, clip_id=clip_id, user=user)
    # End the read transaction now: the request's session lives until the
    # file has streamed to the browser, and on SQLite every transaction holds
    # the write lock (BEGIN IMMEDIATE).
    session.commit()
    if not allowed:
        # The same answer whether or not the clip exists.
        raise Forbidden("You hold no live lease on this clip.")
    if clip is None:
        raise NotFound(f"Clip {clip_id} does not exist.")
    return clip


def preview_file(session: Session, *, clip_id: int, user: User) -> Path:
    clip = _clip_for(session, clip_id=clip_id, user=user)
    path = _inside_media_root(clip.preview_path) if clip.preview_path else None
    if path is None:
        raise NotFound(f"Clip {clip_id} has no preview video.")
    return path


def face_file(session: Session, *, clip_id: int, index: int, user: User) -> Path:
    """Face frame `index` (1-based), as the ingest names them: 00001.jpg …"""
    clip = _clip_for(session, clip_id=clip_id, user=user)
    path = _inside_media_root(f"{clip.face_dir}/{index:05d}.jpg") if index >= 1 else None
    if path is None:
        raise NotFound(f"Clip {clip_id} has no face frame {index}.")
    return path
