"""The site in a real browser (Chromium via Playwright), looked at the way a reader sees it.

The site is built for the address it is served at, as when published, so Material's instant
navigation runs (it only takes over links inside `site_url`). Every request to another host is
blocked and fails the test. Checks are made on geometry: what is inside the window and on top
at a point, not what the DOM merely contains.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, build, warning_lines
from infralens.explorations import sentences
from infralens.predictions import answer_of
from infralens.project import load_project

CHROMIUM = Path(os.environ.get("INFRALENS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROJECT = load_project(ROOT)
REGISTRY = PROJECT.registry
FIRST = REGISTRY.ordered_labs[0]
LAB = FIRST.id


def longest_excerpt_line(lab_id: str) -> int:
    return max(len(line) for excerpt in PROJECT.starters[lab_id].excerpts for line in excerpt.lines)


# Chosen from the registry by what they hold, so that adding or removing a lab changes the
# choice, never breaks the test: the labs with the longest excerpt lines and the most notes.
WIDEST_LABS = sorted(PROJECT.starters, key=lambda lab_id: (-longest_excerpt_line(lab_id), lab_id))
MOST_NOTES = max(PROJECT.starters, key=lambda lab_id: sum(len(e.annotations)
                                                            for e in PROJECT.starters[lab_id].excerpts))
# One lab for each kind of figure (the first to draw it), and a handbook page that places one.
FIGURE_LABS = list(dict.fromkeys(next(lab.id for lab in REGISTRY.ordered_labs
                                      if any(f.kind == kind for f in PROJECT.starters[lab.id].figures))
                                 for kind in sorted({f.kind for s in PROJECT.starters.values() for f in s.figures})))
MOST_FIGURES = max(REGISTRY.ordered_labs, key=lambda lab: len(PROJECT.starters[lab.id].figures)).id
LAB_PAGES = [f"/labs/{lab.id}/" for lab in REGISTRY.labs]
HANDBOOK_PAGES = sorted("/handbook/" + ("" if p.stem == "index" else p.stem + "/")
                        for p in (ROOT / "docs" / "handbook").glob("*.md"))
PAGES = {
    "home": "/",
    "labs index": "/labs/",
    "lab": f"/labs/{LAB}/",
    "handbook": "/handbook/diffusion/",
    "starter": f"/labs/{LAB}/starter/",
    "figure lab": f"/labs/{MOST_FIGURES}/",
    "interview": "/interview/",
    "practice": "/interview/practice/",
}
# Labs whose every marker is opened at both sizes: the first and those with the longest excerpt lines.
READ_LABS = list(dict.fromkeys([LAB, *WIDEST_LABS[:7]]))
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 812}

# Is the element's box inside the window, and is it what a reader sees at its corners (inset
# 2 px) and centre (only the centre with `true`: a round badge has no corners)? Returns what is
# wrong, or "" when nothing is.
UNCOVERED = """(element, centreOnly) => {
  const r = element.getBoundingClientRect();
  const header = document.querySelector('.md-header');
  const top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
  if (r.width === 0 || r.height === 0) return 'it has no size';
  if (r.top < top || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth)
    return `box ${JSON.stringify(r)} is not inside the window (header ends at ${top}, window ${innerWidth}x${innerHeight})`;
  const centre = [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
  const points = centreOnly ? [centre] : [[r.left + 2, r.top + 2], [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2],
                                          [r.right - 2, r.bottom - 2], centre];
  for (const [x, y] of points) {
    const seen = document.elementFromPoint(x, y);
    if (!seen || !(seen === element || element.contains(seen)))
      return `at (${Math.round(x)}, ${Math.round(y)}) the reader sees ${seen ? seen.outerHTML.slice(0, 120) : 'nothing'}`;
  }
  return '';
}"""

# Contrast of every piece of text inside `root` against the background it is drawn on.
COLOURS = """
  const rgba = text => { const m = text.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3]));
  const background = element => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] === 1) break; }
    }
    return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255]);
  };
  const contrast = (x, y) => { const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
"""
LOWEST_CONTRAST = """root => {""" + COLOURS + """
  let lowest = [99, ''];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element.getClientRects().length) continue;
    const bg = background(element);
    const ratio = contrast(over(rgba(getComputedStyle(element).color), bg), bg);
    if (ratio < lowest[0]) lowest = [ratio, node.textContent.trim().slice(0, 30)];
  }
  return lowest;
}"""


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, "
                "or set INFRALENS_CHROMIUM to another Chromium-based browser)")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")  # as GitHub Pages: assets load once per tab
        super().end_headers()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory):
    """(site directory, base URL): the site built for the address it is then served at."""
    site = tmp_path_factory.mktemp("served") / "site"
    site.mkdir()
    # Take the port first, then build for it: the server reads files per request.
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    result = build(ROOT, site, INFRALENS_SITE_URL=base_url + "/")
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == [], result.stderr
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, base_url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def base_url(served) -> str:
    return served[1]


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

    def __init__(self, browser, base_url: str, search: bool = True, **context_options) -> None:
        self.base_url = base_url
        self.search = search
        self.context = browser.new_context(**context_options)
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()

    def _route(self, route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if not self.search and url.endswith("/search/search_index.json"):
            route.abort()  # a tab that only looks at layout need not build the search index each time
        elif host in ("127.0.0.1", None) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: str, wait_until: str = "networkidle"):
        self.page.goto(self.base_url + path, wait_until=wait_until)
        return self.page

    def resize(self, viewport: dict[str, int]) -> None:
        """A new window size, with the layout and the site's script caught up with it."""
        self.page.set_viewport_size(viewport)
        self.page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")

    def look_at(self, path: str):
        """Open a page for its layout: styles and the site's script applied, one frame drawn."""
        page = self.open(path, wait_until="domcontentloaded")
        page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        return page


@pytest.fixture
def visit(browser, base_url):
    visits: list[Visit] = []

    def make(search: bool = True, **context_options) -> Visit:
        visits.append(Visit(browser, base_url, search, **context_options))
        return visits[-1]

    yield make
    for each in visits:
        assert each.blocked == [], f"pages asked another host for {each.blocked}"
        each.context.close()


def test_the_site_is_served_at_its_own_address_so_instant_navigation_runs(visit, base_url):
    page = visit().open(PAGES["lab"])
    assert page.locator("link[rel=canonical]").get_attribute("href") == f"{base_url}{PAGES['lab']}"
    page.evaluate("window.__stillHere = true")
    page.locator("article a", has_text="All labs").first.click()
    page.wait_for_url(re.compile(r"/labs/$"))
    assert page.evaluate("window.__stillHere === true"), "following a link reloaded the page: no instant navigation"


# Scroll marker `index` of the article to mid-window and say where to click it, what note it
# opens and what is wrong with it: covered, outside the window, a `#` shown before it, or wrapped
# onto a row of its own.
PREPARE_MARKER = f"""index => {{
  const marker = document.querySelectorAll('article a.il-marker')[index];
  window.scrollBy(0, marker.getBoundingClientRect().top - innerHeight / 2);
  const r = marker.getBoundingClientRect();
  const spans = Array.from(marker.closest('[id^=__span-]').querySelectorAll('span'))
    .filter(s => s.getClientRects().length && !s.contains(marker) && !s.querySelector('a.il-marker'));
  const before = spans.map(s => s.textContent).join('');
  // A marker with no words of its own must share a row with the code before it.
  const words = Array.from(marker.parentElement.childNodes).filter(n => n !== marker).map(n => n.textContent);
  const tokens = spans.filter(s => !marker.contains(s));
  const code = tokens.length ? Array.from(tokens[tokens.length - 1].getClientRects()).pop() : null;
  const alone = !words.join('').trim() && code && (r.top + r.bottom) / 2 > code.bottom;
  const problem = ({UNCOVERED})(marker, true) || (/#\\s*$/.test(before) ? 'a # is shown before it' : '')
    || (alone ? 'it starts a row of its own, away from its code' : '');
  return {{x: (r.left + r.right) / 2, y: (r.top + r.bottom) / 2, note: marker.hash.slice(1), problem}};
}}"""
CHECK_NOTE = f"""id => {{
  const note = document.getElementById(id);
  return note.classList.contains('il-note--active') ? ({UNCOVERED})(note, false) : 'it is not marked as opened';
}}"""


@pytest.mark.parametrize("lab", READ_LABS)
def test_every_marker_opens_its_note_fully_in_view(visit, lab):
    tab = visit(search=False, viewport=DESKTOP)
    page = tab.look_at(f"/labs/{lab}/")
    count = page.locator("article a.il-marker").count()
    notes = page.locator("article ol.il-notes > li").count()
    assert count > 0 and count == notes, f"{count} markers, {notes} notes"
    for viewport in (DESKTOP, PHONE):
        tab.resize(viewport)
        for index in range(count):
            marker = page.evaluate(PREPARE_MARKER, index)
            assert marker["problem"] == "", f"{lab} marker {index + 1} at {viewport['width']} px: {marker['problem']}"
            page.mouse.click(marker["x"], marker["y"])
            problem = page.evaluate(CHECK_NOTE, marker["note"])
            assert problem == "", f"{lab} note {marker['note']} at {viewport['width']} px: {problem}"


NOTE_ROWS = """async index => {
  const box = document.querySelectorAll('.il-annotated')[index];
  box.scrollIntoView();  // drawn (and aligned) as it comes into view, as a reader scrolls to it
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const code = box.querySelector('.highlight'), right = code.getBoundingClientRect().right;
  return Array.from(box.querySelectorAll('ol.il-notes > li')).map(note => {
    const line = document.getElementById(`__span-${code.id}-${note.dataset.ilLine}`);
    const n = note.getBoundingClientRect(), l = line.getBoundingClientRect();
    return {note: note.id, left: n.left, codeRight: right, top: n.top, bottom: n.bottom, lineTop: l.top};
  });
}"""


@pytest.mark.parametrize("lab", list(dict.fromkeys([LAB, MOST_NOTES])))
def test_notes_sit_beside_their_lines_on_a_wide_screen(visit, lab):
    page = visit(search=False, viewport=DESKTOP).look_at(f"/labs/{lab}/")
    for index in range(page.locator(".il-annotated").count()):
        notes = page.evaluate(NOTE_ROWS, index)
        for before, after in itertools.pairwise(notes):
            assert after["top"] >= before["bottom"], f"{after['note']} overlaps {before['note']}"
        for note in notes:
            assert note["left"] >= note["codeRight"], f"{note['note']} is not beside the code"
            assert note["top"] >= note["lineTop"] - 4, f"{note['note']} starts above its line"
        # The first note of a block is level with its line (later ones may be pushed down).
        assert abs(notes[0]["top"] - notes[0]["lineTop"]) <= 6, notes[0]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_show_lines_highlight_stays_and_keeps_contrast(visit, scheme):
    page = visit(viewport=DESKTOP, color_scheme=scheme).open(PAGES["lab"])
    link = page.locator("a.il-lines:visible").last  # the line-by-line section's; answers are closed
    block, start, end = (link.get_attribute(name) for name in ("data-il-block", "data-il-start", "data-il-end"))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight); window.__article = document.querySelector('article')")
    link.click()
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__article.isConnected"), "the page was drawn afresh"
    highlighted = page.locator("article .il-highlighted").evaluate_all("lines => lines.map(l => l.id)")
    assert highlighted == [f"__span-{block}-{n}" for n in range(int(start), int(end) + 1)]
    first = page.locator(f"#__span-{block}-{start}")
    assert first.evaluate(UNCOVERED) == "", "the first highlighted line is in view"
    ratio, text = page.locator(f"#{block}").evaluate(LOWEST_CONTRAST)
    assert ratio >= 4.5, f"'{text}' in the highlighted excerpt has contrast {ratio:.2f}"


# Each visible marker of the article: its pill against the code around it, its number against the
# pill, and the square around its centre in which a tap still reaches it.
MARKER_LOOKS = """() => {""" + COLOURS + """
  return [...document.querySelectorAll('article a.il-marker')].filter(m => m.getClientRects().length).map(marker => {
    const code = background(marker.parentElement);
    const pill = over(rgba(getComputedStyle(marker).backgroundColor), code);
    const text = over(rgba(getComputedStyle(marker).color), pill);
    const r = marker.getBoundingClientRect();
    const [x, y] = [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
    const reaches = d => [[x - d, y - d], [x + d, y - d], [x - d, y + d], [x + d, y + d], [x - d, y], [x + d, y],
                          [x, y - d], [x, y + d]].every(([px, py]) => marker.contains(document.elementFromPoint(px, py)));
    let half = 0;
    while (half < 30 && reaches(half + 1)) half += 1;
    return {note: marker.hash, pill: contrast(pill, code), text: contrast(text, pill), tap: 2 * half};
  });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_markers_stand_out_from_the_code_and_are_big_enough_to_tap(visit, scheme, viewport):
    """WCAG's non-text contrast (3:1) for the pill, text contrast (4.5:1) for its number, and a
    target of at least 24 x 24 CSS px (2.5.8), measured by where a tap lands."""
    page = visit(search=False, viewport=viewport, color_scheme=scheme).look_at(PAGES["lab"])
    looks = []
    for index in range(page.locator("article a.il-marker").count()):
        page.locator("article a.il-marker").nth(index).evaluate("m => m.scrollIntoView({block: 'center'})")
        looks.append(page.evaluate(MARKER_LOOKS)[index])
    assert looks
    for look in looks:
        assert look["pill"] >= 3, f"marker {look['note']} is {look['pill']:.2f}:1 against the code"
        assert look["text"] >= 4.5, f"marker {look['note']}'s number is {look['text']:.2f}:1 against its pill"
        assert look["tap"] >= 24, f"a tap reaches marker {look['note']} only within {look['tap']} px"


def test_note_links_back_to_its_line_on_a_phone(visit):
    page = visit(viewport=PHONE).open(PAGES["lab"])
    page.locator("article a.il-marker").nth(2).click()
    note = page.locator("article ol.il-notes > li.il-note--active")
    back = note.locator("a.il-note__line")
    line = int(back.get_attribute("data-il-start"))
    back.click()
    page.wait_for_timeout(1500)
    target = page.locator(f"#__span-{back.get_attribute('data-il-block')}-{line}")
    assert "il-highlighted" in target.get_attribute("class")
    assert target.evaluate(UNCOVERED) == ""


def test_copying_an_excerpt_gives_the_starters_lines(visit, base_url):
    tab = visit(viewport=DESKTOP)
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = tab.open(PAGES["lab"])
    lines = (ROOT / REGISTRY.lab(LAB).starter).read_text(encoding="utf-8").splitlines()
    blocks = page.locator("article .il-annotated > .highlight")
    assert blocks.count() > 0
    for index in range(blocks.count()):
        block = blocks.nth(index)
        numbers = block.locator(".linenos").evaluate_all("spans => spans.map(s => +s.dataset.linenos)")
        block.scroll_into_view_if_needed()  # the copy button is added when the block comes into view
        block.locator(".md-code__button").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == "\n".join(lines[numbers[0] - 1:numbers[-1]]).rstrip(), f"excerpt {index + 1}"


def test_open_starter_file_shows_the_excerpts_first_line(visit):
    page = visit(viewport=DESKTOP).open(PAGES["lab"])
    link = page.locator("article a.il-open-starter").first
    line = int(link.get_attribute("href").rsplit("-", 1)[1])
    # Material records the scroll position 100 ms after a scroll and, on arrival, restores a
    # recorded position instead of going to the link's line: click as a reader would, after
    # the page has settled.
    link.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    link.click()
    page.wait_for_url(re.compile(r"/starter/#__codelineno-starter-\d+$"))
    target = page.locator(f"#__span-starter-{line}")
    target.wait_for()
    page.wait_for_function("e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
                           arg=target.element_handle(), timeout=5000)
    assert target.locator(".linenos").get_attribute("data-linenos").strip() == str(line)


CODE_THAT_SCROLLS = """() => Array.from(document.querySelectorAll('article pre, article pre > code'))
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => (e.closest('[id]') || e).id || e.tagName)"""
WIDER_THAN_PHONE = """() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) found.push(`page is ${root.scrollWidth} px wide`);
  for (const math of document.querySelectorAll('article math[display=block]')) {
    const r = math.getBoundingClientRect();
    const scrolls = getComputedStyle(math).overflowX === 'auto';
    if (r.right > innerWidth || r.left < 0) found.push(`formula box ends at ${Math.round(r.right)} px`);
    else if (math.scrollWidth > math.clientWidth + 1 && !(scrolls && math.tabIndex === 0))
      found.push('a formula is cut off and cannot be scrolled by keyboard');
  }
  return found;
}"""


def test_nothing_is_hidden_sideways_at_1366_or_375_px(visit):
    """At 1366 px no code block of a lab needs sideways scrolling; at 375 px no page does, and
    every display formula fits or scrolls inside its own box. Each page is loaded once and
    looked at in both sizes."""
    tab = visit(search=False, viewport=DESKTOP)
    problems = {}
    lab_pages = {*LAB_PAGES, PAGES["starter"]}
    for path in [*PAGES.values(), "/labs/path/", "/authoring/", *HANDBOOK_PAGES, *LAB_PAGES]:
        page = tab.look_at(path)
        found = []
        if path in lab_pages:
            found += [f"at 1366 px code scrolls sideways: {block}" for block in page.evaluate(CODE_THAT_SCROLLS)]
        tab.resize(PHONE)
        found += [f"at 375 px {problem}" for problem in page.evaluate(WIDER_THAN_PHONE)]
        tab.resize(DESKTOP)
        if found:
            problems[path] = found
    assert problems == {}, problems




@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_a_jump_to_lines_is_a_history_entry_and_the_way_back_returns_there(visit, viewport):
    """A checkpoint's "Show line" link jumps to the code; Back, or the button it offers, returns
    to the question; the address it leaves highlights the same lines after a reload."""
    page = visit(search=False, viewport=viewport).open(PAGES["lab"])
    question = page.locator("article details.question").first
    question.locator("summary").click()
    link = question.locator("a.il-lines").first
    link.scroll_into_view_if_needed()
    top = lambda: link.evaluate("a => a.getBoundingClientRect().top")  # noqa: E731
    before, entries = top(), page.evaluate("history.length")
    link.click()
    page.wait_for_function("location.hash.startsWith('#__codelineno-')")
    assert page.evaluate("history.length") == entries + 1, "the jump is a history entry"
    assert abs(top() - before) > 200, "the lines were out of view"
    highlighted = page.locator(".il-highlighted").count()
    assert highlighted >= 1
    way_back = page.locator(".il-way-back")
    assert way_back.is_visible() and way_back.evaluate("b => b.getBoundingClientRect().height") >= 24
    way_back.click()
    page.wait_for_function("!location.hash.startsWith('#__codelineno-')")
    page.wait_for_function(f"a => Math.abs(a.getBoundingClientRect().top - {before}) < 5", arg=link.element_handle())
    page.go_forward()
    page.wait_for_function("location.hash.startsWith('#__codelineno-')")
    page.reload()
    page.wait_for_function("document.querySelectorAll('.il-highlighted').length > 0")
    assert page.locator(".il-highlighted").count() == highlighted, "the address restores the same lines"

# The lab whose recorded output has the longest line: where wrapping would scramble columns first.
WIDEST_OUTPUT = max(REGISTRY.labs, key=lambda lab: max(map(len, PROJECT.outputs[lab.id].splitlines()))).id


def test_program_output_keeps_its_columns_on_a_phone(visit):
    """At 375 px every output line stays one row (so columns stay under their headers) and the
    block scrolls sideways, by touch or by keyboard; the page itself does not."""
    page = visit(search=False, viewport=PHONE).look_at(f"/labs/{WIDEST_OUTPUT}/")
    block = page.locator("#output pre > code")
    block.scroll_into_view_if_needed()
    rows, lines, scrolls, width = block.evaluate("""code => {
      const height = parseFloat(getComputedStyle(code).lineHeight);
      const inner = code.getBoundingClientRect().height - parseFloat(getComputedStyle(code).paddingTop)
                    - parseFloat(getComputedStyle(code).paddingBottom);
      return [Math.round(inner / height), code.textContent.replace(/\\n$/, '').split('\\n').length,
              code.scrollWidth > code.clientWidth, document.documentElement.scrollWidth];
    }""")
    assert rows == lines, f"{rows} rows for {lines} lines: output lines wrap"
    assert scrolls and width <= PHONE["width"]
    assert block.evaluate("code => code.tabIndex") == 0, "a keyboard can scroll it"

def test_no_empty_banner(visit):
    page = visit(viewport=DESKTOP).open(PAGES["home"])
    assert page.locator(".md-banner").count() == 0
    assert page.locator("[data-md-component=announce]").evaluate("e => e.getBoundingClientRect().height") == 0


def test_checkpoint_answers_stay_closed_until_opened(visit):
    page = visit().open(PAGES["lab"])
    questions = page.locator("article details.question")
    assert questions.count() > 0
    for index in range(questions.count()):
        question = questions.nth(index)
        assert question.get_attribute("open") is None
        answer = question.locator(":scope > :not(summary)").first
        assert answer.evaluate("e => e.checkVisibility()") is False, "the answer is drawn before it is opened"
    first = questions.first
    first.locator("summary").click()
    answer = first.locator(":scope > :not(summary)").first
    answer.wait_for(state="visible", timeout=5000)
    assert answer.evaluate(UNCOVERED.replace("r.bottom > innerHeight", "false")) == ""


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
    lines = (ROOT / REGISTRY.lab(LAB).starter).read_text(encoding="utf-8").splitlines()
    start = lines.index("# lab:begin forward") + 1
    end = lines.index("# lab:end forward")
    words = re.findall(r"[A-Za-z]{6,}", " ".join(line.split("#")[0] for line in lines[start:end]))
    return next(word for word in words if word.lower() not in elsewhere.lower())


def search_index_requests(page) -> list[str]:
    """Every request for the search index this tab makes from now on."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url)
            if request.url.endswith("/search/search_index.json") else None)
    return asked


@pytest.mark.parametrize("size", ["desktop by keyboard", "phone by the search button"])
def test_search_finds_a_lab_by_a_word_only_in_its_excerpt(visit, served, size):
    """The index is fetched only once the reader reaches for search, and search then works."""
    word = excerpt_only_word(served[0])
    page = visit(viewport=PHONE if size.startswith("phone") else DESKTOP).page
    asked = search_index_requests(page)
    page.goto(served[1] + PAGES["home"], wait_until="networkidle")
    page.wait_for_timeout(1000)
    assert asked == [], "the search index was fetched before the reader reached for search"
    if size.startswith("phone"):
        page.locator("label.md-header__button[for=__search]").click()
    else:
        page.keyboard.press("/")  # Material's shortcut: focus the search box
    page.locator("input.md-search__input").press_sequentially(word, delay=20)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(state="attached", timeout=10000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(f"labs/{LAB}/" in href and "starter" not in href for href in hrefs), (word, hrefs)
    assert len(asked) == 1, asked


def test_a_page_opened_from_a_search_result_highlights_the_words_at_once(visit):
    """A result opened in a new tab carries its words in `?h=`; they are marked without the reader
    touching search (the index they need is fetched for such a page straight away)."""
    page = visit().open(PAGES["lab"] + "?h=closed")
    marks = page.locator("article mark[data-md-highlight]")
    marks.first.wait_for(state="attached", timeout=10000)
    assert "closed" in marks.first.inner_text().lower()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(visit, name, scheme):
    from axe_playwright_python.sync_playwright import Axe

    page = visit(color_scheme=scheme).open(PAGES[name])
    expected = "slate" if scheme == "dark" else "default"
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == expected
    if name == "lab":
        # Check the colours a reader brings up too: highlighted lines and an opened note.
        page.locator("a.il-lines").first.click()
        page.locator("article a.il-marker").first.click()
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_colour_scheme_toggle_switches_and_is_remembered(visit, scheme):
    tab = visit(color_scheme=scheme)
    page = tab.open(PAGES["lab"])
    shown = "document.body.getAttribute('data-md-color-scheme')"
    other = "default" if scheme == "dark" else "slate"
    assert page.evaluate(shown) == ("slate" if scheme == "dark" else "default"), "the first visit follows the system"
    toggle = page.locator("form[data-il-palette] label:not([hidden])")
    assert toggle.count() == 1 and toggle.is_visible(), "one button, the one that switches to the other scheme"
    toggle.click()
    page.wait_for_timeout(300)
    assert page.evaluate(shown) == other
    assert not page.evaluate("document.body.hasAttribute('data-md-color-switching')"), "transitions come back"
    assert page.locator("meta[name=color-scheme]").get_attribute("content") == ("dark" if other == "slate" else "light")
    page = tab.open(PAGES["home"])
    assert page.evaluate(shown) == other, "the choice holds on the next page"
    page.locator("form[data-il-palette] input:checked").focus()  # where a keyboard reader's Tab lands
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.evaluate(shown) != other, "Enter on the toggle switches back"


LAYOUT_SHIFTS = """() => new Promise(resolve => {
    const shifts = [];
    new PerformanceObserver(list => shifts.push(...list.getEntries().map(entry => entry.value)))
        .observe({type: "layout-shift", buffered: true});
    setTimeout(() => resolve(shifts), 300);
})"""


@pytest.mark.parametrize("name", ["home", "lab"])
def test_nothing_on_screen_moves_while_a_page_loads(visit, name):
    page = visit(viewport=PHONE, is_mobile=True, has_touch=True).open(PAGES[name], wait_until="load")
    page.wait_for_timeout(500)
    assert page.evaluate(LAYOUT_SHIFTS) == [], "a layout shift: something the reader saw moved"


# Figures, practice and progress: what a learner sees and does with them.
EXPLORATION_LABS = sorted({lab.id for lab in PROJECT.registry.labs
                           for figure in PROJECT.starters[lab.id].figures if figure.control})


def heatmaps_on(path: str) -> list[str]:
    """The element ids of the heatmaps a page shows: a lab's own, or any lab's on a handbook page."""
    labs = [path.split("/")[2]] if path.startswith("/labs/") else list(PROJECT.starters)
    return [f"figure-{figure.name}" for lab in labs for figure in PROJECT.starters[lab].figures
            if figure.kind == "heatmap"]


FIGURE_PAGES = [*(f"/labs/{lab}/" for lab in FIGURE_LABS),
                "/" + next(iter(PROJECT.figure_references)).removesuffix(".md").removesuffix("index") + "/"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_each_figure_is_visible_inside_its_column(visit, viewport, scheme):
    tab = visit(search=False, viewport=viewport, color_scheme=scheme)
    for path in FIGURE_PAGES:
        page = tab.look_at(path)
        figures = page.locator("figure.il-figure")
        assert figures.count(), f"{path} shows a figure"
        for index in range(figures.count()):
            # The drawing's box stays in the column; a drawing wider than a phone scrolls inside it.
            drawing = figures.nth(index).locator(".il-figure-drawing")
            drawing.scroll_into_view_if_needed()
            box = drawing.evaluate("""box => { const r = box.getBoundingClientRect();
                const column = box.closest('article').getBoundingClientRect();
                const svg = box.querySelector('svg').getBoundingClientRect();
                return [r.width, svg.height, r.left - column.left, column.right - r.right, innerWidth - r.right,
                        svg.width - r.width]; }""")
            width, height, from_left, to_right, to_window, hidden = box
            assert width > 200 and height > 60, (path, index, box)
            assert from_left >= -1 and to_right >= -1 and to_window >= 0, (path, index, box)
            if hidden > 1:  # figures.js makes it focusable once the page's scripts have run
                page.wait_for_function("box => box.tabIndex === 0", arg=drawing.element_handle(), timeout=5000)
        wider = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wider <= 0, f"{path} scrolls sideways by {wider}px"


# Each drawing's smallest text, as drawn (CSS px), its width and the column's, and each series
# mark's colour against the page behind it.
FIGURE_LOOKS = """(heatmaps) => {""" + COLOURS + """
  return [...document.querySelectorAll('article .il-figure-drawing svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim() && t.getClientRects().length);
    const smallest = Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale));
    const page = background(svg.closest('.il-figure'));
    let lowest = [99, ''];
    // A heatmap's cells are coloured along a scale and labelled: they are not series; nor are labels.
    const heatmap = heatmaps.includes(svg.closest('figure').id);
    for (const mark of svg.querySelectorAll('.role-mark:not(.mark-text' + (heatmap ? ', .mark-rect' : '') + ') > *')) {
      const style = getComputedStyle(mark);
      for (const paint of [style.fill, style.stroke]) {
        if (!paint.startsWith('rgb') || rgba(paint)[3] === 0) continue;
        const ratio = contrast(over(rgba(paint), page), page);
        if (ratio < lowest[0]) lowest = [ratio, `${mark.tagName} painted ${paint}`];
      }
    }
    return {figure: svg.closest('figure').id, smallest, width: box.width,
            column: svg.closest('article').getBoundingClientRect().width, lowest};
  });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_figures_are_readable_at_the_width_they_are_shown(visit, viewport, scheme):
    """No chart text under 11 CSS px; on a wide screen a figure uses most of the column; every
    series is at least 3:1 against the page (WCAG's non-text contrast)."""
    tab = visit(search=False, viewport=viewport, color_scheme=scheme)
    for path in FIGURE_PAGES:
        page = tab.look_at(path)
        looks = page.evaluate(FIGURE_LOOKS, heatmaps_on(path))
        assert looks, f"{path} shows a figure"
        for look in looks:
            where = f"{path}#{look['figure']}"
            assert look["smallest"] >= 11, f"{where}: text drawn at {look['smallest']:.1f} px"
            if viewport is DESKTOP:
                assert look["width"] >= 0.75 * look["column"], f"{where} fills {look['width']:.0f} of {look['column']:.0f} px"
            ratio, mark = look["lowest"]
            assert ratio >= 3, f"{where}: '{mark}' is {ratio:.2f}:1 against the page"


# Pairs of a page's links and controls whose boxes (each line of a wrapped link on its own) overlap.
OVERLAPPING_TARGETS = """() => {
  const said = el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`;
  const boxes = [];
  for (const el of document.querySelectorAll('article :is(a[href], summary, button, input, select)'))
    if (el.checkVisibility())  // not inside a closed answer, which is laid out but never shown
      for (const box of el.getClientRects()) if (box.width && box.height) boxes.push([el, box]);
  boxes.sort((a, b) => a[1].top - b[1].top);
  const overlaps = [];
  boxes.forEach(([el, box], index) => {
    for (const [other, next] of boxes.slice(index + 1)) {
      if (next.top >= box.bottom - 1) break;
      if (el.contains(other) || other.contains(el)) continue;
      if (next.left < box.right - 1 && box.left < next.right - 1) overlaps.push(`${said(el)} and ${said(other)}`);
    }
  });
  return overlaps;
}"""


def test_no_link_or_control_of_a_lab_page_lies_over_another_on_a_phone(visit):
    """As a page loads, boxes far from the window are laid out from estimates: what they hold must
    not spill over the next link (a figure's "Show the numbers" lay over "Show lines 80-84")."""
    tab = visit(search=False, viewport=PHONE)
    for path in LAB_PAGES:
        page = tab.look_at(path)
        assert page.evaluate(OVERLAPPING_TARGETS) == [], path


# How many pixels of a screenshot have (nearly) the given colour, decoded in the page.
PIXELS_OF_COLOUR = """async ([shot, colour]) => {
  const image = await new Promise(done => { const i = new Image(); i.onload = () => done(i);
                                            i.src = 'data:image/png;base64,' + shot; });
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [image.width, image.height];
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  const [r, g, b] = colour.match(/[\\d.]+/g).map(Number);
  let count = 0;
  for (let i = 0; i < data.length; i += 4)
    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) <= 30) count += 1;
  return count;
}"""
# Each lab with line or point figures of several series, and those figures: one page visit a lab.
LINE_FIGURES = {lab.id: names for lab in REGISTRY.ordered_labs
                if (names := [figure.name for figure in PROJECT.starters[lab.id].figures
                              if figure.kind in ("line", "point") and "color" in figure.encodings])}


# Hide the marks painted in the given colours (those of some series), show the rest.
HIDE_SERIES = """(svg, hidden) => {
  let count = 0;
  for (const mark of svg.querySelectorAll('.role-mark > *')) {
    const style = getComputedStyle(mark);
    const hide = hidden.includes(style.fill) || hidden.includes(style.stroke);
    mark.style.visibility = hide ? 'hidden' : '';
    count += hide;
  }
  return count;
}"""


@pytest.mark.parametrize("lab", LINE_FIGURES)
def test_every_series_of_a_line_figure_shows(visit, lab):
    """A series drawn under another (a measurement on the formula it checks) still shows: at least
    a quarter of the pixels it paints in its colour when drawn alone keep that colour among the others."""
    page = visit(search=False, viewport=DESKTOP).look_at(f"/labs/{lab}/")
    for figure in LINE_FIGURES[lab]:
        svg = page.locator(f"#figure-{figure} .il-figure-drawing svg")
        # At the smallest scale a page shows a drawing (a phone's), whole: on a phone it scrolls.
        svg.evaluate("svg => { svg.style.minWidth = '0'; svg.style.width = 0.85 * svg.viewBox.baseVal.width + 'px'; }")
        svg.scroll_into_view_if_needed()
        key = page.locator(f"#figure-{figure} .il-figure-key-item")
        # The colour each series is drawn in, as the page paints it (the light scheme's own shades).
        keyed = {item.text_content().strip(): item.locator("svg > *").first.evaluate(
            "mark => { const style = getComputedStyle(mark); return mark.tagName === 'line' ? style.stroke : style.fill; }")
            for item in key.all()}
        # An exploration's key lists every series; the drawing shown holds those of one value.
        series = [value for value in keyed if svg.evaluate(HIDE_SERIES, [keyed[value]])]
        assert len(series) >= min(2, len(keyed)), f"the drawing's marks are painted in the colours of {list(keyed)}"

        def shot(hidden: list[str], svg=svg, keyed=keyed) -> str:
            svg.evaluate(HIDE_SERIES, [keyed[value] for value in hidden])
            return base64.b64encode(svg.screenshot()).decode()

        everything = shot([])
        for value in series:
            colour = keyed[value]
            seen = page.evaluate(PIXELS_OF_COLOUR, [everything, colour])
            alone = page.evaluate(PIXELS_OF_COLOUR, [shot([other for other in series if other != value]), colour])
            assert alone > 0 and seen >= 0.25 * alone, f"{lab}/{figure}: '{value}' shows {seen} of its {alone} pixels"


@pytest.mark.parametrize("lab", EXPLORATION_LABS)
def test_moving_an_exploration_changes_the_figure_and_its_numbers(visit, lab):
    tab = visit(search=False, viewport=DESKTOP)
    fetched: list[str] = []
    tab.page.on("request", lambda request: fetched.append(request.url))
    page = tab.open(f"/labs/{lab}/")
    assert not [url for url in fetched if "/figures/" in url], "an exploration loads nothing until it is reached"
    explorations = page.locator("figure.il-figure[data-il-variants]")
    assert explorations.count()
    for index in range(explorations.count()):
        figure = explorations.nth(index)
        control = figure.locator(".il-figure-control input, .il-figure-control select")
        control.scroll_into_view_if_needed()
        assert control.is_visible(), "the control shows once the script runs"
        before = (figure.locator(".il-figure-drawing").inner_html(), figure.locator(".il-figure-table").inner_html())
        if control.evaluate("c => c.tagName") == "SELECT":
            options = control.locator("option")
            current = int(control.input_value())
            target = (current + 1) % options.count()
            control.select_option(str(target))
        else:
            current = int(control.input_value())
            target = 0 if current else 1
            control.focus()
            control.press("Home" if target == 0 else "ArrowRight")
        page.wait_for_function(f"f => f.getAttribute('data-il-shown') === '{target}'",
                               arg=figure.element_handle(), timeout=5000)
        after = (figure.locator(".il-figure-drawing").inner_html(), figure.locator(".il-figure-table").inner_html())
        assert after[0] != before[0], "the drawing changes"
        assert after[1] != before[1], "the numbers change"
        name = figure.get_attribute("id").removeprefix("figure-")
        spec = next(each for each in PROJECT.starters[lab].figures if each.name == name)
        said = sentences(spec, PROJECT.figure_tables[lab][name])[0]
        says = figure.locator(".il-figure-says")
        assert says.is_visible() and says.inner_text() == said[target], "the answer beside the control follows it"
        assert said[target] != said[current] or len(set(said)) == 1
        assert figure.locator(".il-figure-drawing svg[role=img] title").count() == 1


def test_practice_asks_a_done_labs_question_and_remembers_the_answer(visit):
    tab = visit(search=False, viewport=PHONE)
    page = tab.open(f"/labs/{LAB}/")
    page.locator("button.il-done-toggle").click()
    page = tab.open("/interview/practice/")
    card = page.locator(".il-practice-card")
    card.wait_for(state="visible", timeout=5000)
    assert card.locator(".il-practice-lab a").inner_text().startswith(FIRST.label)
    answer = card.locator(".il-practice-answer")
    assert not answer.is_visible(), "the answer waits until asked for"
    page.get_by_role("button", name="Show the answer").click()
    assert answer.is_visible() and answer.inner_text().strip()
    page.get_by_role("button", name="I had it").click()
    total = len(PROJECT.starters[LAB].checkpoints)
    page.reload(wait_until="networkidle")
    score = page.locator(".il-practice-score")
    score.wait_for(state="visible", timeout=5000)
    assert score.inner_text() == f"1 of {total} questions answered right"


def test_done_labs_are_ticked_in_the_navigation_and_on_next_links(visit):
    tab = visit(search=False, viewport=DESKTOP)
    page = tab.open(f"/labs/{LAB}/")
    page.locator("button.il-done-toggle").click()
    here = page.locator(f".md-nav a.md-nav__link[href$='{LAB}/']").first
    assert "il-lab-done" in (here.get_attribute("class") or ""), "the navigation ticks the lab at once"
    following = PROJECT.registry.ordered_labs[1]
    page = tab.open(f"/labs/{following.id}/")
    nav = page.locator(f".md-nav a.md-nav__link[href$='{LAB}/']").first
    assert "il-lab-done" in (nav.get_attribute("class") or "")
    previous = page.locator("a.md-footer__link--prev")
    assert "il-lab-done" in (previous.get_attribute("class") or "")


PREDICTED = next((index, checkpoint) for index, checkpoint in enumerate(PROJECT.starters[LAB].checkpoints, 1)
                 if checkpoint.predict)


@pytest.mark.parametrize(("viewport", "scheme"), [(DESKTOP, "light"), (PHONE, "dark")], ids=["1366-light", "375-dark"])
def test_a_prediction_is_judged_against_the_recorded_output_then_the_answer_opens(visit, viewport, scheme):
    _, checkpoint = PREDICTED
    answer, _ = answer_of(checkpoint, PROJECT.outputs[LAB])
    assert answer is not None
    page = visit(search=False, viewport=viewport, color_scheme=scheme).open(PAGES["lab"])
    box = page.locator(".il-predict").first
    box.scroll_into_view_if_needed()
    details = box.locator("xpath=preceding-sibling::details[1]")
    assert box.is_visible() and not details.evaluate("d => d.open"), "the answer waits for the prediction"
    assert box.locator(".il-predict-blank").inner_text() == "____"
    assert box.locator(".il-predict-line").inner_text().replace("____", answer.shown) in PROJECT.outputs[LAB]
    box.locator("input").fill(str(answer.value * 3))
    box.get_by_role("button", name="Check").click()
    verdict = box.locator(".il-predict-result").inner_text()
    assert verdict.startswith("Not quite") and answer.shown in verdict and "200% too high" in verdict, verdict
    assert details.evaluate("d => d.open"), "checking opens the answer"
    assert box.locator(".il-predict-blank").inner_text() == answer.shown
    box.locator("input").fill(f"{answer.value * (1 + answer.tolerance / 2):,}")
    box.locator("input").press("Enter")
    assert box.locator(".il-predict-result").inner_text().startswith("Yes")
    ratio, text = box.evaluate(LOWEST_CONTRAST)
    assert ratio >= 4.5, f"'{text}' in the prediction box has contrast {ratio:.2f}"
    wider = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wider <= 0, f"the page scrolls sideways by {wider}px"


def test_practice_asks_for_the_number_first_and_schedules_what_you_had_for_later(visit):
    index, checkpoint = PREDICTED
    tab = visit(search=False, viewport=PHONE, accept_downloads=True)
    page = tab.open(f"/labs/{LAB}/")
    page.locator("button.il-done-toggle").click()
    # Every other question of the lab was had yesterday and comes back in two days.
    later = {f"{LAB}#{n}": {"right": True, "asked": 1, "box": 2, "due": 4102444800000}
             for n in range(1, len(PROJECT.starters[LAB].checkpoints) + 1) if n != index}
    page.evaluate("results => localStorage.setItem('infralens:practice', JSON.stringify(results))", later)
    page = tab.open("/interview/practice/")
    card = page.locator(".il-practice-card")
    card.wait_for(state="visible", timeout=5000)
    predict = card.locator(".il-practice-predict")
    assert predict.is_visible(), "the only question due asks for its number"
    answer, _ = answer_of(checkpoint, PROJECT.outputs[LAB])
    assert answer is not None
    predict.locator("input").fill(answer.shown)
    predict.get_by_role("button", name="Check").click()
    assert predict.locator(".il-predict-result").inner_text().startswith("Yes")
    assert card.locator(".il-practice-answer").is_visible(), "the verdict shows the answer"
    page.get_by_role("button", name="I had it").click()
    status = page.locator(".il-practice-status")
    status.wait_for(state="visible", timeout=5000)
    assert status.inner_text() == "Nothing is due: the next question comes back in 1 day.", status.inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export progress").click()
    saved = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert saved["done"] == [LAB]
    assert saved["practice"][f"{LAB}#{index}"]["box"] == 1


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_the_starter_page_opens_on_code_with_the_notes_folded(visit, viewport):
    first, last = PROJECT.starters[LAB].notes_span() or (0, 0)
    assert last - first >= 9, "the first lab's starter opens with its notes"
    tab = visit(search=False, viewport=viewport)
    page = tab.look_at(f"/labs/{LAB}/starter/")
    page.locator(".il-fold-line").wait_for(state="attached", timeout=5000)  # folded by the page's script
    heights = page.evaluate(f"""() => [{first}, {last}, {last + 1}].map(n =>
        document.getElementById('__span-starter-' + n).getBoundingClientRect().height)""")
    assert heights[0] == 0 and heights[1] == 0 and heights[2] > 0, heights
    fold = page.locator(".il-fold-line")
    assert fold.is_visible() and f"lines {first}\u2013{last}" in fold.evaluate(
        "mark => getComputedStyle(mark, '::before').content")
    page.get_by_role("button", name=f"Show lines {first}\u2013{last}").click()
    assert page.locator(f"#__span-starter-{first}").is_visible() and fold.count() == 0
    assert page.locator(".il-fold-toggle").get_attribute("aria-expanded") == "true"
    page.get_by_role("button", name=f"Fold lines {first}\u2013{last}").click()
    assert not page.locator(f"#__span-starter-{first}").is_visible()
    # A link to a folded line shows it.
    page = tab.open(f"/labs/{LAB}/starter/#__codelineno-starter-{first + 2}")
    page.locator(".il-fold-note:not([hidden])").wait_for(timeout=5000)
    assert page.locator(f"#__span-starter-{first + 2}").is_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pointing_at_a_note_marks_its_line_and_pointing_at_a_line_marks_its_note(visit, scheme):
    page = visit(search=False, viewport=DESKTOP, color_scheme=scheme).look_at(PAGES["lab"])
    note = page.locator("ol.il-notes > li").nth(1)
    note.scroll_into_view_if_needed()
    line_id = note.evaluate("n => document.querySelector(`a.il-marker[href$='#${n.id}']`).closest('[id^=__span-]').id")
    line = page.locator(f"#{line_id}")
    plain = line.evaluate("l => getComputedStyle(l).boxShadow")
    note.hover()
    assert "il-paired" in (line.get_attribute("class") or "")
    assert line.evaluate("l => getComputedStyle(l).boxShadow") != plain, "the line is drawn marked"
    page.mouse.move(0, 0)
    marker = line.locator("a.il-marker")
    marker.focus()
    assert "il-paired" in (note.get_attribute("class") or ""), "focusing a marker marks its note"
    others = page.locator(".il-paired").count()
    assert others == 3, "only the note, its marker and its line"


def test_every_column_of_a_figures_numbers_can_be_seen_on_a_phone(visit):
    lab = max(FIGURE_LABS, key=lambda each: max(len(figure.encodings) for figure in PROJECT.starters[each].figures))
    page = visit(search=False, viewport=PHONE).open(f"/labs/{lab}/")  # Material's script wraps tables in scroll boxes
    page.locator(".il-figure-table .md-typeset__scrollwrap").first.wait_for(state="attached")
    numbers = page.locator("details.il-figure-numbers").first
    numbers.scroll_into_view_if_needed()
    numbers.locator("summary").click()
    last = numbers.locator("table tr").first.locator("th, td").last
    # Swiped to the end of the table's own scroll box (the one the reader's finger moves).
    last.evaluate("""cell => { cell.scrollIntoView({block: 'center'});
        let box = cell.parentElement; while (getComputedStyle(box).overflowX !== 'auto') box = box.parentElement;
        box.scrollLeft = box.scrollWidth; }""")
    assert last.evaluate(UNCOVERED, True) == "", "the last column scrolls into view"
    # The table's scroll box, and so the end of its last column, lies inside the figure: past its
    # edge, a swipe would have to start outside the figure.
    overhang = last.evaluate("""cell => { let box = cell.parentElement;
        while (getComputedStyle(box).overflowX !== 'auto') box = box.parentElement;
        const figure = cell.closest('figure').getBoundingClientRect();
        return Math.max(box.getBoundingClientRect().right, cell.getBoundingClientRect().right) - figure.right; }""")
    assert overhang <= 1, f"the table's scroll box ends {overhang:.0f}px past the figure, where it is not drawn"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "375"])
def test_a_lab_page_keeps_its_height_while_the_reader_scrolls_through_it(visit, viewport):
    """Boxes laid out only near the window are sized beforehand from what they hold: the page's
    height, and so the scroll bar under the reader's thumb, moves by under 5% on the way down."""
    tab = visit(search=False, viewport=viewport)
    for lab in dict.fromkeys([LAB, MOST_FIGURES, WIDEST_LABS[0]]):
        page = tab.look_at(f"/labs/{lab}/")
        before = page.evaluate("document.documentElement.scrollHeight")
        page.evaluate("""async () => { for (let y = 0; y < document.documentElement.scrollHeight; y += 400) {
            scrollTo(0, y); await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done))); } }""")
        after = page.evaluate("document.documentElement.scrollHeight")
        assert abs(after - before) <= 0.05 * after, f"{lab}: {before}px before scrolling through, {after}px after"


def test_without_a_repository_a_lab_page_still_offers_its_source(visit):
    """The site served here is built without INFRALENS_REPO_URL, so there is no edit button."""
    page = visit(search=False, viewport=DESKTOP).open(PAGES["lab"])
    assert page.locator("a.md-content__button[rel=edit]").count() == 0
    source = page.locator("a.md-content__button[title='View the starter file']")
    assert source.is_visible()
    source.click()
    page.wait_for_url(f"**{PAGES['starter']}")
    # Instant navigation changes the address first, then swaps the content in.
    page.locator("#starter").wait_for(state="visible", timeout=5000)
