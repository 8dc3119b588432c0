"""Quality control: qualification on gold clips, rolling gold accuracy, pausing.

A new annotator in a campaign with `qualification_clips > 0` first answers
only gold clips; once they have answered that many, accuracy at or above
`qualification_accuracy` qualifies them, below it pauses them. Qualified
annotators keep meeting gold at `gold_rate`; when their last
`rolling_window` gold answers fall below `pause_accuracy`, they are paused.
An admin can reinstate a paused annotator.

Gold answers stay secret (an annotator must not learn them by probing):
- every gold attempt counts: an expression, a flag or a pass; a gold lease
  left to expire counts as a wrong attempt when qualification is decided;
- the first answer to a gold clip is final (Assignment.gold_result): an undo
  does not take it back and a second answer is not scored;
- the annotator sees their gold record only in blocks of GOLD_BLOCK attempts
  (and once when qualification is decided), never moving with one clip;
  admins see the live record.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from app.core.db import utcnow
from app.core.errors import NotFound
from app.labeling.models import Campaign, CampaignMember
from app.users.models import User


# Locked, so read afresh even if this session saw the row before.
_MEMBER = (select(CampaignMember)
           .where(CampaignMember.campaign_id == sa.bindparam("campaign"), CampaignMember.user_id == sa.bindparam("user"))
           .with_for_update()
           .execution_options(populate_existing=True))


def _create_member(session: Session, campaign: Campaign, user_id: int) -> CampaignMember:
    dialect = session.get_bind().dialect.name
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(CampaignMember)
    # Two first requests at once: one insert wins, the other does nothing.
    session.execute(ins.values(
        campaign_id=campaign.id, user_id=user_id, qualified=campaign.qualification_clips == 0,
        gold_answered=0, gold_correct=0, recent_gold=[], labels=0, paused=False, updated_at=utcnow(),
        shown_answered=0, shown_correct=0, shown_rolling=None,
    ).on_conflict_do_nothing())
    return session.exec(_MEMBER, params={"campaign": campaign.id, "user": user_id}).one()


def member_for_update(session: Session, *, campaign: Campaign, user_id: int) -> CampaignMember:
    """The annotator's row in this campaign, created on first contact, locked
    until the end of the transaction (one request of an annotator at a time)."""
    member = session.exec(_MEMBER, params={"campaign": campaign.id, "user": user_id}).first()
    return member if member is not None else _create_member(session, campaign, user_id)


# -- the hot path's plain-data version (next and submit run it on every call) --

_M = CampaignMember.__table__
_C = Campaign.__table__
_FIELDS = ("id", "user_id", "qualified", "gold_answered", "gold_correct", "recent_gold", "labels", "paused",
           "shown_answered", "shown_correct", "shown_rolling")


@dataclass
class Standing:
    """An annotator's CampaignMember row as plain data, locked until the end
    of the transaction; `save_standing` writes it back. The quality rules
    below take it or a CampaignMember alike."""

    id: int
    user_id: int
    qualified: bool
    gold_answered: int
    gold_correct: int
    recent_gold: list
    labels: int
    paused: bool
    shown_answered: int
    shown_correct: int
    shown_rolling: float | None


_STANDING = (sa.select(*[_M.c[f].label(f"m_{f}") for f in _FIELDS], *_C.c)
             .join_from(_M, _C, _C.c.id == _M.c.campaign_id)
             .where(_M.c.campaign_id == sa.bindparam("campaign"), _M.c.user_id == sa.bindparam("user"))
             .with_for_update(of=_M))
_SAVE = sa.update(_M).where(_M.c.id == sa.bindparam("m_id")).values(
    **{f: sa.bindparam(f"m_{f}") for f in _FIELDS if f not in ("id", "user_id")}, updated_at=sa.bindparam("m_now"))


def standing_and_campaign(session: Session, *, campaign_id: int, user_id: int):
    """(the annotator's Standing, locked; the campaign's settings, read-only)
    in one read; the member row is created on first contact."""
    row = session.connection().execute(_STANDING, {"campaign": campaign_id, "user": user_id}).first()
    if row is None:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"Campaign {campaign_id} does not exist.")
        _create_member(session, campaign, user_id)
        row = session.connection().execute(_STANDING, {"campaign": campaign_id, "user": user_id}).one()
    m = row._mapping
    standing = Standing(**{f: m[f"m_{f}"] for f in _FIELDS})
    standing.recent_gold = list(standing.recent_gold or [])
    return standing, SimpleNamespace(**{c.name: m[c] for c in _C.c})


def save_standing(session: Session, standing: Standing) -> None:
    values = {f"m_{f}": getattr(standing, f) for f in _FIELDS}
    session.connection().execute(_SAVE, {**values, "m_now": utcnow()})


def qualifying(campaign: Campaign, member: CampaignMember) -> bool:
    return not member.qualified and campaign.qualification_clips > 0


def accuracy(correct: int, answered: int) -> float | None:
    return correct / answered if answered else None


def rolling_accuracy(member: CampaignMember) -> float | None:
    recent = list(member.recent_gold or [])
    return sum(recent) / len(recent) if recent else None


def decide_qualification(campaign: Campaign, member: CampaignMember, *, unanswered: int = 0) -> None:
    """Qualified or paused, on every gold attempt; `unanswered`: gold leases
    dealt to them that lapsed unanswered, each a wrong attempt (else letting
    the hard ones expire would raise the score)."""
    member.gold_answered += unanswered
    acc = accuracy(member.gold_correct, member.gold_answered)
    # No gold dealt at all (the campaign has none yet): let them through
    # rather than block them forever; the rolling check watches them once
    # gold clips exist.
    if acc is None or acc >= campaign.qualification_accuracy:
        member.qualified = True
    else:
        member.paused = True
    _show(member)


# Gold feedback to the annotator moves in steps of this many attempts (a step
# over fewer would let them tell single outcomes apart).
GOLD_BLOCK = 5


def _show(member: CampaignMember) -> None:
    member.shown_answered, member.shown_correct = member.gold_answered, member.gold_correct
    member.shown_rolling = rolling_accuracy(member)


def record_gold(campaign: Campaign, member: CampaignMember, *, correct: bool) -> None:
    """One scored gold attempt (the first answer to a gold lease)."""
    member.gold_answered += 1
    member.gold_correct += int(correct)
    # JSON columns are not change-tracked in place: assign a new list.
    member.recent_gold = (list(member.recent_gold or []) + [int(correct)])[-campaign.rolling_window:]
    # Each step of what they see sums up GOLD_BLOCK new attempts at least.
    if member.gold_answered - member.shown_answered >= GOLD_BLOCK:
        _show(member)
    if not member.qualified:
        if member.gold_answered >= campaign.qualification_clips:
            decide_qualification(campaign, member)
        return
    recent = member.recent_gold
    if len(recent) >= campaign.rolling_window and sum(recent) / len(recent) < campaign.pause_accuracy:
        member.paused = True
        _show(member)  # the pause message quotes the figures: show them too


def shown_record(member: CampaignMember) -> dict:
    """The gold record as the annotator may see it (see the module docstring)."""
    return {"gold_answered": member.shown_answered, "gold_correct": member.shown_correct,
            "gold_accuracy": accuracy(member.shown_correct, member.shown_answered),
            "rolling_accuracy": member.shown_rolling}


def live_record(member: CampaignMember) -> dict:
    """The gold record as it stands, for admins."""
    return {"gold_answered": member.gold_answered, "gold_correct": member.gold_correct,
            "gold_accuracy": accuracy(member.gold_correct, member.gold_answered),
            "rolling_accuracy": rolling_accuracy(member)}


def pause_message(campaign: Campaign, member: CampaignMember | None, user: User) -> str:
    if user.paused:
        why = f": {user.paused_reason}" if user.paused_reason else ""
        return f"Your account is paused{why}. An admin can reinstate you."
    assert member is not None
    if not member.qualified:
        acc = accuracy(member.gold_correct, member.gold_answered) or 0.0
        return (f"You are paused in campaign '{campaign.name}': {acc:.0%} of your qualification clips were "
                f"right ({member.gold_correct} of {member.gold_answered}); {campaign.qualification_accuracy:.0%} "
                "is needed. An admin can reinstate you.")
    acc = rolling_accuracy(member) or 0.0
    return (f"You are paused in campaign '{campaign.name}': your accuracy on check clips fell to {acc:.0%} "
            f"over your last {len(member.recent_gold or [])} (below {campaign.pause_accuracy:.0%}). "
            "An admin can reinstate you.")


def reinstate(member: CampaignMember) -> None:
    # The admin vouches for them: start a fresh rolling window, or the next
    # gold answer would pause them again at once.
    member.paused = False
    member.qualified = True
    member.recent_gold = []
    member.shown_rolling = None
    member.updated_at = utcnow()
