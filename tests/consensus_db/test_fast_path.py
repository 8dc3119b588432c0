"""The per-vote fast path: live labels, adaptive overlap, rejection, undo."""
from __future__ import annotations

from sqlalchemy import event
from sqlmodel import select

from app.consensus import service
from app.consensus.models import LabelStatus
from app.labeling.models import Annotation, Campaign
from tests.consensus_db.conftest import live, pool_row, vote
from tests.factories.clips import add_prediction


def test_agreeing_votes_move_a_clip_from_needs_votes_to_trusted(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1)
    people = crowd(3)
    vote(client, campaign.id, people[0][1], "Happy", clip_id=clip.id)
    row = live(session, clip.id)
    assert row.status == LabelStatus.needs_votes and row.label == "Happy" and row.votes == 1
    vote(client, campaign.id, people[1][1], "Happy")
    assert live(session, clip.id).status == LabelStatus.needs_votes  # min_votes is 3
    assert pool_row(session, campaign.id, clip.id).wanted == 3  # no extra vote asked while planned ones are due
    vote(client, campaign.id, people[2][1], "Happy")
    row = live(session, clip.id)
    assert row.status == LabelStatus.trusted and row.label == "Happy" and row.votes == 3
    assert row.confidence >= 0.9 and abs(sum(row.posterior.values()) - 1) < 1e-4
    cc = pool_row(session, campaign.id, clip.id)
    assert cc.closed and cc.wanted == 3


def test_disagreement_asks_for_more_votes_up_to_max_overlap_then_review(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1, overlap=3, max_overlap=5)
    people = crowd(6)
    for (_, h), expr in zip(people[:3], ["Happy", "Sad", "Angry"]):
        vote(client, campaign.id, h, expr)
    assert live(session, clip.id).status == LabelStatus.needs_votes
    cc = pool_row(session, campaign.id, clip.id)
    assert cc.wanted == 4 and not cc.closed  # adaptive overlap: one more vote
    vote(client, campaign.id, people[3][1], "Fear")
    assert pool_row(session, campaign.id, clip.id).wanted == 5
    vote(client, campaign.id, people[4][1], "Surprise")
    row = live(session, clip.id)
    assert row.status == LabelStatus.review and row.votes == 5
    assert "high_entropy" in row.flags
    cc = pool_row(session, campaign.id, clip.id)
    assert cc.wanted == 5 and cc.closed  # capped at max_overlap, then an expert decides
    r = client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=people[5][1])
    assert r.status_code == 204


def test_a_split_then_agreeing_vote_can_still_be_trusted(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1, overlap=3, max_overlap=7, trust_threshold=0.97)
    people = crowd(5)
    for (_, h), expr in zip(people, ["Happy", "Happy", "Sad", "Happy", "Happy"]):
        vote(client, campaign.id, h, expr)
        if live(session, clip.id).status == LabelStatus.trusted:
            break
    row = live(session, clip.id)
    assert row.status == LabelStatus.trusted and row.label == "Happy"
    assert 4 <= row.votes <= 5


def test_not_a_face_majority_rejects(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1)
    people = crowd(3)
    vote(client, campaign.id, people[0][1], None, flags=["not_a_face"])
    vote(client, campaign.id, people[1][1], "Happy")
    vote(client, campaign.id, people[2][1], None, flags=["not_a_face"])
    row = live(session, clip.id)
    assert row.status == LabelStatus.rejected and row.label is None
    assert pool_row(session, campaign.id, clip.id).closed


def test_a_pass_is_no_expression_vote(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1)
    people = crowd(4)
    vote(client, campaign.id, people[0][1], "Happy")
    vote(client, campaign.id, people[1][1], None, flags=["pass"])
    vote(client, campaign.id, people[2][1], "Happy")
    row = live(session, clip.id)
    assert row.status == LabelStatus.needs_votes  # 2 expression votes < min_votes
    vote(client, campaign.id, people[3][1], "Happy")  # the passed slot went to someone else
    assert live(session, clip.id).status == LabelStatus.trusted


def test_undo_unsettles_the_clip_and_deals_it_again(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1)
    people = crowd(3)
    vote(client, campaign.id, people[0][1], "Happy")
    vote(client, campaign.id, people[1][1], "Happy")
    last = vote(client, campaign.id, people[2][1], "Happy")
    assert live(session, clip.id).status == LabelStatus.trusted
    r = client.delete(f"/api/v1/annotations/{last['id']}", headers=people[2][1])
    assert r.status_code == 200, r.text
    row = live(session, clip.id)
    assert row.status == LabelStatus.needs_votes and row.votes == 2
    assert not pool_row(session, campaign.id, clip.id).closed
    # The annotator labels it anew on the same lease.
    r = client.post("/api/v1/annotations", headers=people[2][1],
                    json={"assignment_id": last["assignment_id"], "expression": "Happy"})
    assert r.status_code == 201, r.text
    assert live(session, clip.id).status == LabelStatus.trusted


def test_on_retract_directly(session, client, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1)
    people = crowd(4)  # one who has not voted may still give the missing vote
    for _, h in people[:3]:
        vote(client, campaign.id, h, "Sad")
    session.commit()
    ann = session.exec(select(Annotation).where(Annotation.clip_id == clip.id)).first()
    session.delete(ann)
    row = service.on_retract(session, clip_id=clip.id, campaign=session.get(Campaign, campaign.id))
    assert row.status == LabelStatus.needs_votes and row.votes == 2
    session.commit()


def test_gold_clip_label_is_its_answer_and_stays_dealable(client, session, make_campaign, crowd):
    campaign, (clip,) = make_campaign(1, gold={0: "Fear"}, gold_rate=1.0)
    people = crowd(3)
    for _, h in people:
        vote(client, campaign.id, h, "Happy")
    row = live(session, clip.id)
    assert row.status == LabelStatus.trusted and row.label == "Fear" and row.posterior == {"Fear": 1.0}
    assert not pool_row(session, campaign.id, clip.id).closed  # gold keeps measuring annotators


def test_model_disagreement_flag_on_vote_and_on_new_predictions(client, session, make_campaign, crowd):
    campaign, clips = make_campaign(2)
    a, b = clips
    add_prediction(session, a.id, {"sad": 0.9, "happy": 0.05, "angry": 0.05})
    people = crowd(3)
    for _, h in people:
        vote(client, campaign.id, h, "Happy", clip_id=None)
        vote(client, campaign.id, h, "Happy", clip_id=None)
    assert "model_disagrees" in live(session, a.id).flags
    assert "model_disagrees" not in live(session, b.id).flags
    pred = add_prediction(session, b.id, {"Angry": 0.85, "Happy": 0.15})
    assert service.on_predictions(session, [pred]) == 1
    session.commit()
    assert "model_disagrees" in live(session, b.id).flags
    agree = add_prediction(session, b.id, {"Happy": 0.95, "Angry": 0.05})
    service.on_predictions(session, [agree])
    session.commit()
    assert "model_disagrees" not in live(session, b.id).flags


def test_the_per_vote_path_costs_a_few_statements_however_many_votes(client, session, make_campaign, crowd):
    """on_annotation runs inside every vote's transaction: a fixed handful of
    statements (locked live row, tally, one-query context, pool row, write),
    not one per vote or per annotator. Its time is in BENCHMARKS.md."""
    campaign, (clip,) = make_campaign(1, overlap=5, max_overlap=9, trust_threshold=0.999)
    people = crowd(5)
    counts = []
    for (_, h), expr in zip(people, ["Happy", "Sad", "Happy", "Angry", "Happy"]):
        vote(client, campaign.id, h, expr)
        session.commit()
        ann = session.exec(select(Annotation).where(Annotation.clip_id == clip.id)
                           .order_by(Annotation.id.desc())).first()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", listener)
        try:
            service.on_annotation(session, annotation=ann, campaign=session.get(Campaign, campaign.id))
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listener)
            session.rollback()
        counts.append(len([s for s in statements if not s.lstrip().upper().startswith("BEGIN")]))
    assert max(counts) <= 6 and counts[-1] == counts[1], counts
