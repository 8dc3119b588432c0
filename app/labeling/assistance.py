"""Does showing the model's ranking bias the crowd? Per campaign, votes cast
with the ranking on screen (Annotation.assisted) against votes cast without
it (blind campaigns, or clips with no prediction yet when dealt), each
compared with the settled label and with the model's top guess.

If assisted votes agree with the model much more often than blind ones
while agreeing with the settled label no more often, the ranking pulls
annotators towards the model. Both groups are measured against the same
references (the clip's live trusted label, the newest prediction), so the
comparison is fair even though each vote also helped make its clip's label.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from app.benchmarks.models import Prediction
from app.consensus.models import ConsensusLabel, LabelStatus
from app.labeling.models import Annotation

_AN, _L, _P = Annotation.__table__, ConsensusLabel.__table__, Prediction.__table__


@dataclass(frozen=True)
class AgreementRow:
    group: str  # "assisted" or "blind"
    votes: int  # expression votes on ordinary clips
    settled: int  # of them, on clips with a trusted label
    agree_label: int
    with_model: int  # of them, on clips with a model prediction
    agree_model: int

    @property
    def label_rate(self) -> float | None:
        return self.agree_label / self.settled if self.settled else None

    @property
    def model_rate(self) -> float | None:
        return self.agree_model / self.with_model if self.with_model else None


def agreement(session: Session, *, campaign_id: int) -> list[AgreementRow]:
    """One row per group (assisted first), also when a group has no votes."""
    top = (sa.select(_P.c.top).where(_P.c.clip_id == _AN.c.clip_id)
           .order_by(_P.c.created_at.desc(), _P.c.id.desc()).limit(1).scalar_subquery())
    settled = _L.c.status == LabelStatus.trusted.value

    def count_if(cond):
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    q = (sa.select(_AN.c.assisted, sa.func.count(), count_if(settled),
                   count_if(sa.and_(settled, _AN.c.expression == _L.c.label)),
                   count_if(top.is_not(None)), count_if(sa.func.lower(_AN.c.expression) == sa.func.lower(top)))
         .select_from(_AN.outerjoin(_L, sa.and_(_L.c.clip_id == _AN.c.clip_id, _L.c.run_id.is_(None))))
         .where(_AN.c.campaign_id == campaign_id, _AN.c.is_gold == sa.false(), _AN.c.expression.is_not(None),
                # votes a discarded batch set aside count for nothing
                ~sa.cast(_AN.c.flags, sa.String).like('%"excluded"%'))
         .group_by(_AN.c.assisted))
    found = {bool(r[0]): r[1:] for r in session.connection().execute(q)}
    return [AgreementRow("assisted" if assisted else "blind", *(int(v) for v in found.get(assisted, (0,) * 5)))
            for assisted in (True, False)]
