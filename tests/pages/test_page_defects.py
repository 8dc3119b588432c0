"""Defects seen on the pages (issue 12), each with the test that shows it
fixed: words instead of Python names, the review reject, run timestamps,
bad clips counted apart, the upload's post/redirect/get, the job results,
and pages that poll while work runs."""
from __future__ import annotations

import re

from sqlmodel import select

from app.consensus import quality, runs
from app.consensus.models import ConsensusRun, LabelStatus
from app.jobs.models import Job, JobStatus
from app.review.models import Review
from app.videos.models import Video, VideoStatus
from tests.consensus_db.conftest import add_vote, live, vote
from tests.factories.clips import scene_id
from tests.factories.users import browser_login
from tests.factories.videos import write_plain_video

HTML = {"Accept": "text/html"}


def _token(page_text: str) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page_text).group(1)


# -- 2: the Clips column of the consensus page ------------------------------------------

def test_consensus_page_shows_clip_counts_not_a_method(client, session, make_campaign, crowd, admin):
    campaign, clips = make_campaign(2)
    for user, _ in crowd(2):
        for clip in clips:
            add_vote(session, campaign, clip.id, user, "Happy")
    session.commit()
    run = runs.run_consensus(session, method="mv")
    browser_login(client, admin)
    page = client.get("/admin/consensus").text
    assert "built-in method" not in page
    assert f'<td class="num">{run.items}</td><td class="num">{run.votes}</td>' in page  # the Runs table
    assert re.search(r'<td><b>All</b></td><td class="num">2</td><td class="num">4</td>', page)  # Agreement


# -- 9: bad clip is not "not a face"; a run ends after it starts -------------------------

def test_bad_clip_votes_are_counted_apart_from_not_a_face(client, session, make_campaign, crowd, admin):
    campaign, clips = make_campaign(3)
    (a, _), (b, _) = crowd(2)
    add_vote(session, campaign, clips[0].id, a, None, flags=["bad_clip"])
    add_vote(session, campaign, clips[1].id, a, None, flags=["bad_clip"])
    add_vote(session, campaign, clips[2].id, a, None, flags=["not_a_face"])
    add_vote(session, campaign, clips[0].id, b, "Sad")
    session.commit()
    row = next(r for r in quality.annotators(session) if r["user_id"] == a.id)
    assert (row["not_a_face"], row["bad_clip"]) == (1, 2)
    browser_login(client, admin)
    page = client.get("/admin/consensus").text
    assert '<th class="num">Bad clip</th>' in page
    assert f'{a.email}</td><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">2</td>' \
        in page


def test_a_run_is_created_when_it_starts_and_finishes_after(session, make_campaign, crowd):
    from app.core.db import utcnow

    campaign, clips = make_campaign(2)
    for user, _ in crowd(2):
        for clip in clips:
            add_vote(session, campaign, clip.id, user, "Happy")
    session.commit()
    marks = {}
    before = utcnow()
    run = runs.run_consensus(session, method="ds", progress=lambda f, stage="": marks.setdefault(stage, utcnow()))
    after = utcnow()
    session.expire_all()
    stored = session.get(ConsensusRun, run.id)  # as the database gives it back
    assert before <= stored.created_at <= marks["fitting"] <= stored.finished_at <= after
    assert stored.created_at.tzinfo is not None and stored.finished_at.tzinfo is not None


# -- 3: reject with the label drop-down pre-filled --------------------------------------

def test_reject_from_the_review_page_with_the_consensus_label_selected(client, session, make_campaign, crowd,
                                                                       reviewer):
    campaign, clips = make_campaign(1, overlap=3, max_overlap=3, trust_threshold=0.99)
    for (_, h), expr in zip(crowd(3), ["Happy", "Happy", "Sad"]):
        vote(client, campaign.id, h, expr)
    assert live(session, clips[0].id).status == LabelStatus.review
    browser_login(client, reviewer)
    page = client.get("/review")
    # The card's drop-down is pre-filled with the consensus label …
    assert re.search(r'<option value="Happy" selected>', page.text)
    # … and the browser sends it with "Reject clip".
    r = client.post(f"/review/{clips[0].id}", headers={"HX-Request": "true", "X-CSRF-Token": _token(page.text)},
                    data={"decision": "reject", "expression": "Happy", "reason": "two faces in the crop"})
    assert r.status_code == 200 and "rejected" in r.text and 'class="error"' not in r.text, r.text
    session.commit()  # a fresh snapshot: the app wrote through its own session
    review = session.exec(select(Review).where(Review.clip_id == clips[0].id)).one()
    assert review.decision == "reject" and review.expression is None and review.reason == "two faces in the crop"
    assert live(session, clips[0].id).status == LabelStatus.rejected


# -- 6: enums as words ------------------------------------------------------------------

def test_enums_are_words_on_pages(client, session, admin):
    session.add(Video(scene_id=scene_id(session), filename="a.mp4", path="videos/a.mp4", status=VideoStatus.queued))
    session.add(Video(scene_id=scene_id(session), filename="b.mp4", path="videos/b.mp4", status=VideoStatus.failed,
                      error="not a video"))
    session.commit()
    browser_login(client, admin)
    page = client.get("/admin/videos").text
    assert "VideoStatus." not in page
    assert '<td class="status-queued">queued' in page and '<td class="status-failed">failed: not a video' in page
    assert f"{admin.email} (admin)" in page  # the role in the header, not Role.admin


def test_enum_instances_render_as_words():
    """Rows read back from the database hold plain strings; an object made in
    the request (a video just uploaded) or a value set in Python holds the
    enum, which Python ≥ 3.11 prints as `VideoStatus.queued`."""
    from app.core.templating import templates

    tpl = templates.env.get_template("videos/index.html")
    video = Video(id=1, scene_id=1, filename="a.mp4", path="videos/a.mp4", status=VideoStatus.queued)
    html = "".join(tpl.blocks["table"](tpl.new_context({"videos": [video], "scenes": {1: "School"}, "busy": True,
                                                        "csrf_token": ""})))
    assert "VideoStatus" not in html and '<td class="status-queued">queued' in html
    assert templates.env.from_string("{{ s }}").render(s=LabelStatus.needs_votes) == "needs_votes"


def test_words_and_job_results():
    from app.core import display

    assert display.words(LabelStatus.needs_votes) == "needs votes" and display.words(None) == "–"
    assert display.raw(VideoStatus.queued) == "queued"
    text = display.job_result("evaluate", {"checkpoint": 3, "war": 0.4521, "uar": 0.38, "n": 40, "per_scene": {}})
    assert text == "checkpoint 3: WAR 45.2%, UAR 38.0% on 40 test clips"
    assert display.job_result("prerank", {"clips": 1, "seconds": 0.5, "model": "prior"}) == \
        "1 clip ranked by the FER2013 prior in 0.5 s"
    assert display.job_result("consensus", {"id": 2, "method": "ds", "items": 8, "votes": 20,
                                            "counts": {"trusted": 3, "needs_votes": 0, "review": 4}}) == \
        "run 2 (ds): 8 clips, 20 votes; 3 trusted, 4 in review"
    assert "{" not in display.job_result("batch", {"accepted": 3, "rule": "gold", "detail": {"x": 1}})


# -- 12: upload: post/redirect/get, the scene kept, errors shown on the page ------------

def test_a_failed_upload_redirects_and_shows_its_error_once(client, session, admin, tmp_path):
    browser_login(client, admin)
    page = client.get("/admin/videos")
    talkshow = scene_id(session, "Talkshow")
    r = client.post("/admin/videos", data={"scene_id": str(talkshow), "csrf_token": _token(page.text)},
                    files={"files": ("notes.mp4", b"this is not a video", "video/mp4")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/videos"
    shown = client.get("/admin/videos")
    assert re.search(r'<p class="error" role="alert">notes.mp4: [^<]+</p>', shown.text), shown.text
    assert f'<option value="{talkshow}" selected>Talkshow</option>' in shown.text  # the scene kept
    # A poll of the table leaves the message alone; a reload shows it no more.
    again = client.get("/admin/videos")
    assert "notes.mp4" not in again.text and 'selected>' not in again.text


def test_a_good_upload_redirects_with_its_message(client, session, admin, tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr("app.videos.service.enqueue_ingest", lambda video: sent.append(video.id))
    browser_login(client, admin)
    token = _token(client.get("/admin/videos").text)
    school = scene_id(session, "School")
    path = write_plain_video(tmp_path / "lesson.mp4")
    with open(path, "rb") as f:
        r = client.post("/admin/videos", data={"scene_id": str(school), "csrf_token": token},
                        files={"files": ("lesson.mp4", f, "video/mp4")}, follow_redirects=False)
    assert r.status_code == 303
    session.commit()  # a fresh snapshot
    video = session.exec(select(Video).where(Video.filename == "lesson.mp4")).one()
    assert sent == [video.id] and video.scene_id == school
    page = client.get("/admin/videos", headers={"HX-Request": "true"})  # a poll first: the flash waits
    assert "queued as video" not in page.text
    page = client.get("/admin/videos")
    assert f"lesson.mp4: queued as video {video.id}." in page.text
    assert f'<option value="{school}" selected>School</option>' in page.text


# -- 7: job results in words; pages that poll while work runs ----------------------------

def test_running_jobs_poll_and_the_last_poll_reloads_the_page(client, session, admin):
    job = Job(kind="consensus", status=JobStatus.running, progress=0.4, params={"method": "ds"})
    session.add(job)
    session.commit()
    browser_login(client, admin)
    page = client.get("/admin/consensus").text
    assert 'hx-get="/admin/consensus" hx-trigger="every 2s"' in page and "reload</a>" not in page
    poll = client.get("/admin/consensus", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in poll.text and "HX-Refresh" not in poll.headers
    assert "<h2>Agreement</h2>" not in poll.text  # only the jobs block
    job.status, job.result = JobStatus.done, {"id": 1, "method": "ds", "items": 3, "votes": 9, "counts": {}}
    session.add(job)
    session.commit()
    poll = client.get("/admin/consensus", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true" and 'hx-trigger' not in poll.text


def test_benchmark_jobs_show_results_as_words_and_poll(client, session, admin, reviewer):
    session.add(Job(kind="evaluate", status=JobStatus.done, progress=1.0,
                    result={"checkpoint": 7, "war": 0.5, "uar": 0.25, "n": 12, "per_scene": {"War": {"war": 1}}}))
    session.add(Job(kind="train", status=JobStatus.queued, params={"model": "frame_cnn"}))
    session.commit()
    browser_login(client, admin)
    page = client.get("/benchmarks").text
    assert "checkpoint 7: WAR 50.0%, UAR 25.0% on 12 test clips" in page
    assert "per_scene" not in page and "&#34;" not in page  # no JSON dump
    assert 'hx-get="/benchmarks" hx-trigger="every 2s"' in page
    # The jobs are the admin's: a reviewer's poll gets none.
    client.cookies.clear()
    browser_login(client, reviewer)
    poll = client.get("/benchmarks", headers={"HX-Request": "true"})
    assert "checkpoint 7" not in poll.text and poll.headers.get("HX-Refresh") == "true"


def test_a_video_being_cut_polls_its_page(client, session, admin):
    video = Video(scene_id=scene_id(session), filename="a.mp4", path="videos/a.mp4", status=VideoStatus.processing,
                  progress=0.5, stage="faces")
    session.add(video)
    session.commit()
    browser_login(client, admin)
    page = client.get(f"/admin/videos/{video.id}").text
    assert f'hx-get="/admin/videos/{video.id}" hx-trigger="every 2s"' in page and "processing" in page
    video.status = VideoStatus.done
    session.add(video)
    session.commit()
    poll = client.get(f"/admin/videos/{video.id}", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"


def test_a_long_list_of_upload_errors_fits_its_cookie():
    import secrets

    from starlette.responses import Response

    from app.core.flash import COOKIE, set_flash

    resp = Response()
    set_flash(resp, path="/admin/videos", errors=[f"clip-{i:03}.mp4: " + secrets.token_hex(200) for i in range(50)], scene_id=3)
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(COOKIE) and len(cookie) < 4000  # incompressible text, the worst case
