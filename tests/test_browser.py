"""The site in a real browser (Chromium via Playwright), served from 127.0.0.1 with every
request to another host blocked: annotations, line links, self-check, progress, learning path,
search, mobile layout and accessibility."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT
from infralens.registry import load_registry

CHROMIUM = Path(os.environ.get("INFRALENS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB = "lab-01-forward-noise-process"
REGISTRY = load_registry(ROOT)
PAGES = {
    "home": "/",
    "labs index": "/labs/",
    "lab": f"/labs/{LAB}/",
    "handbook": "/handbook/diffusion/",
    "starter": f"/labs/{LAB}/starter/",
}


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, "
                "or set INFRALENS_CHROMIUM to another Chromium-based browser)")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def base_url(site: Path):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A browser tab on the local site; requests to any other host are blocked and recorded."""

    def __init__(self, browser, base_url: str, **context_options) -> None:
        self.base_url = base_url
        self.context = browser.new_context(**context_options)
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()

    def _route(self, route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, path: str):
        self.page.goto(self.base_url + path, wait_until="networkidle")
        return self.page


@pytest.fixture
def visit(browser, base_url):
    visits: list[Visit] = []

    def make(**context_options) -> Visit:
        visits.append(Visit(browser, base_url, **context_options))
        return visits[-1]

    yield make
    for each in visits:
        assert each.blocked == [], f"pages asked another host for {each.blocked}"
        each.context.close()


def test_annotation_marker_opens_its_note(visit):
    page = visit().open(PAGES["lab"])
    marker = page.locator("div[id^=excerpt-] .md-annotation__index").first
    marker.click()
    tooltip = page.locator("div[id^=excerpt-] .md-annotation .md-tooltip__inner").first
    tooltip.wait_for(state="visible", timeout=5000)
    first_note = REGISTRY and page.locator("div[id^=excerpt-] + ol li").first.inner_text(timeout=0) \
        if page.locator("div[id^=excerpt-] + ol li").count() else None
    text = tooltip.inner_text()
    assert text.strip(), "the note opened by the marker has text"
    if first_note:
        assert text.strip()[:30] == first_note.strip()[:30]


def test_line_link_scrolls_to_and_highlights_its_lines(visit):
    page = visit(viewport={"width": 1280, "height": 700}).open(PAGES["lab"])
    link = page.locator("a.il-lines").last
    block, start, end = (link.get_attribute(name) for name in ("data-il-block", "data-il-start", "data-il-end"))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    link.click()
    highlighted = page.locator(f"#{block} .il-highlighted")
    assert highlighted.count() == int(end) - int(start) + 1
    first = page.locator(f"#__span-{block}-{start}")
    assert "il-highlighted" in first.get_attribute("class")
    page.wait_for_function(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
        arg=first.element_handle(), timeout=5000)


def test_checkpoint_answer_stays_closed_until_opened(visit):
    page = visit().open(PAGES["lab"])
    question = page.locator("details.question").first
    answer = question.locator("p").first
    assert question.get_attribute("open") is None
    assert not answer.is_visible()
    question.locator("summary").click()
    answer.wait_for(state="visible", timeout=5000)


def test_progress_survives_reload_and_instant_navigation(visit):
    total = len(REGISTRY.labs)
    tab = visit()
    page = tab.open(PAGES["lab"])
    toggle = page.locator("button.il-done-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    page.reload(wait_until="networkidle")
    assert page.locator("button.il-done-toggle").get_attribute("aria-pressed") == "true"

    # Instant navigation: follow a link without a full page load.
    page.locator("article a", has_text="All labs").first.click()
    page.wait_for_url(re.compile(r"/labs/$"))
    counter = page.locator("article .il-progress")
    counter.wait_for(state="visible")
    page.wait_for_function("el => /of/.test(el.textContent)", arg=counter.element_handle())
    assert counter.inner_text() == f"1 of {total} done"
    assert page.locator(f"a.il-lab-done[data-il-lab={LAB}]").count() == 1

    home = tab.open(PAGES["home"])
    assert home.locator("article p.il-progress").inner_text() == f"1 of {total} done"


def test_learning_path_puts_each_lab_after_its_prerequisites(visit):
    page = visit().open("/labs/path/")
    order = page.locator("article ol > li > a[data-il-lab]").evaluate_all(
        "links => links.map(a => a.getAttribute('data-il-lab'))")
    assert sorted(order) == sorted(lab.id for lab in REGISTRY.labs)
    position = {lab_id: index for index, lab_id in enumerate(order)}
    for lab in REGISTRY.labs:
        for prerequisite in lab.prerequisites:
            assert position[prerequisite] < position[lab.id]
    page.locator(f"a[data-il-lab={LAB}]").click()
    page.wait_for_url(re.compile(f"/labs/{LAB}/$"))


def excerpt_only_word(site: Path) -> str:
    """A word of Lab 01's excerpt that no page but the lab and its starter page contains."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    elsewhere = " ".join(doc["text"] + " " + doc["title"] for doc in index["docs"]
                         if not doc["location"].startswith(f"labs/{LAB}/"))
    lines = REGISTRY and (ROOT / REGISTRY.lab(LAB).starter).read_text(encoding="utf-8").splitlines()
    start = lines.index("# lab:begin forward") + 1
    end = lines.index("# lab:end forward")
    words = re.findall(r"[A-Za-z]{6,}", " ".join(line.split("#")[0] for line in lines[start:end]))
    return next(word for word in words if word.lower() not in elsewhere.lower())


def test_search_finds_a_lab_by_a_word_only_in_its_excerpt(visit, site):
    word = excerpt_only_word(site)
    page = visit().open(PAGES["home"])
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator("input.md-search__input").press_sequentially(word, delay=20)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(state="attached", timeout=10000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(f"labs/{LAB}/" in href and "starter" not in href for href in hrefs), (word, hrefs)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_sideways_scrolling_at_375_px(visit, name):
    page = visit(viewport={"width": 375, "height": 812}).open(PAGES[name])
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(visit, name, scheme):
    from axe_playwright_python.sync_playwright import Axe

    page = visit(color_scheme=scheme).open(PAGES[name])
    expected = "slate" if scheme == "dark" else "default"
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == expected
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
