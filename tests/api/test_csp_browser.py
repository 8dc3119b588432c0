"""The Content-Security-Policy leaves every page working: Chromium loads
each page an admin and an annotator see and reports no CSP violation."""
from __future__ import annotations

import pytest

from app.labeling import service
from app.labeling.models import CampaignCreate
from app.users.models import Role
from tests.browser.chromium import MARKS, launch, log_in
from tests.factories.clips import make_clips
from tests.factories.users import PASSWORD, make_user
from tests.labeling.live import live_server

pytestmark = MARKS

ADMIN_PAGES = ["/admin", "/admin/videos", "/admin/campaigns", "/admin/users", "/admin/consensus", "/review",
               "/benchmarks", "/annotate", "/admin/campaigns/{cid}", "/admin/campaigns/{cid}/gold"]


def test_pages_raise_no_csp_violations(app, session):
    sync_api = pytest.importorskip("playwright.sync_api")
    make_clips(session, 3, size=64, frames=12)
    campaign = service.create_campaign(session, data=CampaignCreate(name="CSP round", qualification_clips=0,
                                                                    gold_rate=0.0))
    admin = make_user(session, Role.admin)
    violations: list[str] = []
    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
            log_in(page, base, email=admin.email, password=PASSWORD, next="/admin")
            # /docs once Swagger UI is served from /static (a CDN is refused).
            docs = ["/docs"] if "/static/" in page.request.get(f"{base}/docs").text() else []
            for path in ADMIN_PAGES + docs:
                page.goto(base + path.format(cid=campaign.id))
                page.wait_for_load_state("networkidle")
            # The labelling page runs labelling.js and plays the clip.
            page.goto(f"{base}/annotate/{campaign.id}")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("() => typeof htmx") == "object"  # the vendored script ran
        finally:
            browser.close()
    assert not violations, "\n".join(violations)
