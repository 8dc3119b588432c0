"""Every page the app serves, in Debian's Chromium, as each role, on a small
realistic instance (tests/factories/instance.py).

The pages come from the app's router, not from a list: every GET route that
is not the JSON API, static files or media is visited, its path parameters
filled from the seeded data, so a new page is covered the day it is added.
Links with a query string (compare two runs, the next page of a queue) are
visited too, once per path and set of query keys.

A page fails on: a 5xx; a body that is JSON; text that looks like leaked
Python (`object at 0x`, `<built-in`, `VideoStatus.queued`, a table cell that
says `None`); content wider than a 1280 px window; console errors; a link or
form action on it that answers 404. A page a role may not see must be the
HTML error page. A full-page screenshot of each lands in
$FERVLAB_ARTIFACTS (default var/test-artifacts/)/every-page/<role>/.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.browser.chromium import MARKS, launch, log_in
from tests.factories.instance import seed_instance
from tests.factories.users import PASSWORD
from tests.labeling.live import live_server

pytestmark = MARKS

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 900
SKIP_PREFIXES = ("/api/", "/static", "/media/", "/favicon.ico")
LEAKS = [
    (re.compile(r"object at 0x[0-9a-fA-F]+"), "a Python object's repr"),
    (re.compile(r"<(built-in|bound) method"), "a method instead of its value"),
    (re.compile(r"\b[A-Z]\w*(Status|Enum|Role|Decision|Source|Split|Flag|Action)\.\w+"), "an enum's Python name"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
]
# Pages that draw themselves with JavaScript: what shows they are drawn.
READY = {"/docs": ".opblock-summary", "/redoc": "[data-section-id]"}

WIDE_JS = """(vw) => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > vw + 1) out.push(`the page scrolls sideways (${doc.scrollWidth} px)`);
  // Inside the site's <main>: nothing may reach past its content box, not
  // even inside a scrolling box (columns hidden off to the side are missed).
  // The vendored docs pages have their own layout: for them only the page's
  // width counts.
  const main = document.querySelector('main');
  if (!main) return out;
  const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
  const seen = [];
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > edge + 1 && !seen.some(p => p.contains(el))) {  // the outermost only
      seen.push(el);
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push(`${name} reaches ${Math.round(r.right)} px, past the content's ${Math.round(edge)} px: ` +
               `"${(el.innerText || '').trim().slice(0, 40)}"`);
      if (out.length >= 4) break;
    }
  }
  return out;
}"""
NONE_CELLS_JS = """() => [...document.querySelectorAll('td, th')].filter(c => c.innerText.trim() === 'None')
  .map(c => c.parentElement.innerText.trim().slice(0, 80))"""
LINKS_JS = """() => {
  const here = location.origin;
  const out = [];
  for (const a of document.querySelectorAll('a[href]')) out.push(['link', 'GET', a.href]);
  for (const f of document.querySelectorAll('form'))
    out.push(['form action', (f.getAttribute('method') || 'get').toUpperCase(), f.action]);
  return out.filter(([k, m, u]) => u.startsWith(here + '/'));
}"""


def _walk(routes):
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # an included router
            yield from route.effective_route_contexts()
        else:
            yield route


def page_paths(app) -> list[str]:
    """GET routes that answer HTML pages: not the (documented) JSON API, not
    the OpenAPI document, static files or media."""
    out = []
    for route in _walk(app.routes):
        path = getattr(route, "path", "")
        if "GET" not in (getattr(route, "methods", None) or set()) or path == app.openapi_url:
            continue
        if path.startswith(SKIP_PREFIXES) or getattr(route, "include_in_schema", True):
            continue
        out.append(path)
    return sorted(set(out))


def fill(path: str, values: dict[str, int]) -> str:
    def one(m: re.Match) -> str:
        name = m.group(1).split(":")[0]
        if name not in values:
            pytest.fail(f"{path}: no seeded value for {{{name}}}; add one to Instance.path_values()")
        return str(values[name])

    return re.sub(r"\{([^}]+)\}", one, path)


def _slug(url: str) -> str:
    parts = urlsplit(url)
    text = (parts.path.strip("/") or "home") + (("_" + parts.query) if parts.query else "")
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text)[:120]


def _artifacts() -> Path:
    base = Path(os.environ.get("FERVLAB_ARTIFACTS") or ROOT / "var" / "test-artifacts")
    out = base / "every-page"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _known_error_load(msg, url: str) -> bool:
    """Chromium logs the page's own 4xx status as a console error; an error
    page that was expected is not a console error of the page."""
    return msg.text.startswith("Failed to load resource") and (msg.location or {}).get("url") == url


class Visit:
    """One role's browser context and what went wrong on its pages."""

    def __init__(self, context, base: str, role: str, shots: Path):
        self.context, self.base, self.role, self.shots = context, base, role, shots
        self.problems: list[str] = []
        self.links: dict[tuple[str, str, str], str] = {}
        self.extra: dict[tuple[str, tuple[str, ...]], str] = {}
        self.statuses: dict[str, int] = {}

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"[{self.role}] {where}: {what}")

    def page(self, url: str, *, page_paths: set[str]) -> None:
        page = self.context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
        where = url.removeprefix(self.base)
        try:
            resp = page.goto(url, wait_until="load")
            status = resp.status if resp else 0
            self.statuses[where] = status
            path = urlsplit(url).path
            if path in READY and status == 200:
                try:
                    page.wait_for_selector(READY[path], timeout=20000)
                except Exception:  # noqa: BLE001 - Playwright's TimeoutError: reported with the others
                    self.fail(where, f"never drew {READY[path]!r} (a script that did not load or failed)")
            page.wait_for_load_state("networkidle")
            ctype = (resp.headers.get("content-type", "") if resp else "")
            body = page.inner_text("body") if ctype.startswith("text/html") else ""
            if status >= 500:
                self.fail(where, f"answered {status}")
            if not ctype.startswith("text/html"):
                self.fail(where, f"answered {ctype or 'nothing'} (status {status}), not an HTML page")
            elif body.lstrip().startswith(("{", "[")):
                self.fail(where, f"the page's body is JSON: {body[:80]!r}")
            if status >= 400 and not (page.locator("section.error-page").count()
                                      and page.locator('section.error-page a[href="/"]').count()):
                self.fail(where, f"answered {status} without the HTML error page and its way back")
            for rx, what in LEAKS:
                m = rx.search(body)
                if m:
                    self.fail(where, f"{what} in the text: {m.group(0)!r}")
            for row in page.evaluate(NONE_CELLS_JS):
                self.fail(where, f"a table cell says None: {row!r}")
            for wide in page.evaluate(WIDE_JS, WIDTH):
                self.fail(where, f"too wide at {WIDTH} px: {wide}")
            for msg in console:
                if isinstance(msg, str):
                    self.fail(where, f"console: {msg}")
                elif not (status >= 400 and _known_error_load(msg, url)):
                    self.fail(where, f"console error: {msg.text} ({(msg.location or {}).get('url')})")
            for kind, method, link in page.evaluate(LINKS_JS):
                self.links.setdefault((kind, method, link.split("#")[0]), where)
                parts = urlsplit(link)
                if method == "GET" and parts.query and parts.path in page_paths:
                    keys = tuple(sorted({k for k, _ in parse_qsl(parts.query)}))
                    self.extra.setdefault((parts.path, keys), link.split("#")[0])
            page.screenshot(path=str(self.shots / f"{_slug(url)}.png"), full_page=True)
        finally:
            page.close()

    def check_links(self) -> None:
        """Each link and form action answers something other than 404 (a
        POST-only action answers 405 to GET, which shows it exists)."""
        for (kind, method, link), where in sorted(self.links.items()):
            resp = self.context.request.get(link, max_redirects=0, fail_on_status_code=False,
                                            headers={"Accept": "text/html"})
            if resp.status == 404 or resp.status >= 500:
                self.fail(where, f"{kind} {method} {link.removeprefix(self.base)} answers {resp.status}")


def test_every_page_as_every_role(app, session):
    sync_api = pytest.importorskip("playwright.sync_api")
    inst = seed_instance(session)
    paths = page_paths(app)
    # The walk finds the pages a person uses (a guard against a walk that finds nothing).
    for must in ("/admin", "/admin/videos/{video_id}", "/admin/consensus", "/review", "/benchmarks", "/docs",
                 "/annotate/{campaign_id}"):
        assert must in paths, (must, paths)
    values = inst.path_values()
    people = {"admin": inst.admin, "reviewer": inst.reviewer, "annotator": inst.annotators[0]}
    shots = _artifacts()
    problems: list[str] = []
    statuses: dict[str, dict[str, int]] = {}
    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            for role, user in people.items():
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
                login = context.new_page()
                log_in(login, base, email=user.email, password=PASSWORD, next="/annotate")
                login.close()
                (shots / role).mkdir(exist_ok=True)
                visit = Visit(context, base, role, shots / role)
                for path in paths:
                    visit.page(base + fill(path, values), page_paths=set(paths) | {fill(p, values) for p in paths})
                for link in list(visit.extra.values()):
                    visit.page(link, page_paths=set())
                visit.check_links()
                problems += visit.problems
                statuses[role] = visit.statuses
                context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
    # The admin sees every page; the others see theirs and the error page elsewhere.
    assert {p: s for p, s in statuses["admin"].items() if s != 200} == {}
    assert statuses["annotator"]["/admin"] == 403 and statuses["annotator"]["/review"] == 403
    assert statuses["reviewer"]["/review"] == 200 and statuses["reviewer"]["/admin/consensus"] == 403
    assert statuses["annotator"][f"/annotate/{inst.campaign.id}"] == 200
