"""End to end: build the real site and read Lab 01 as a learner would."""

from __future__ import annotations

import re

from conftest import ROOT, TEST_REPO_URL
from infralens.registry import load_registry
from pages import numbered_lines, resolve, section, soup, text_of

LAB = "lab-01-forward-noise-process"
LAB_URL = f"/labs/{LAB}/"


def starter_file():
    registry = load_registry(ROOT)
    lab = registry.lab(LAB)
    return registry, lab, (ROOT / lab.starter).read_text(encoding="utf-8").splitlines()


def block_items(lines: list[str], directive: str) -> list[str]:
    """`- item` entries of a `# lab:` block, read straight from the starter file."""
    start = lines.index(f"# lab:{directive}") + 1
    items: list[str] = []
    for line in lines[start:]:
        if not line.startswith("#") or line.startswith("# lab:"):
            break
        if line.startswith("# - "):
            items.append(line[4:])
        elif line.startswith("#   ") and not line.strip("# ").lower().startswith("answer:"):
            items[-1] += " " + line[4:].strip()
    return [item.replace("`", "") for item in items]


def test_one_lab_page_and_one_starter_page_per_registry_entry(site):
    registry = load_registry(ROOT)
    for lab in registry.labs:
        assert (site / "labs" / lab.id / "index.html").is_file()
        assert (site / "labs" / lab.id / "starter" / "index.html").is_file()
        assert (site / lab.starter).read_bytes() == (ROOT / lab.starter).read_bytes()
    generated = {path.parent.parent.name for path in (site / "labs").glob("*/starter/index.html")}
    assert generated == {lab.id for lab in registry.labs}


def test_excerpt_lines_equal_the_starter_lines_at_the_numbers_shown(site):
    _, _, lines = starter_file()
    page = soup(site, LAB_URL)
    blocks = page.select("div[id^=excerpt-]")
    assert blocks
    for block in blocks:
        shown = numbered_lines(block)
        numbers = [number for number, _ in shown]
        assert numbers and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        for number, text in shown:
            assert text == lines[number - 1], f"line {number} differs from the starter"


def test_annotation_markers_carry_the_starter_notes(site):
    _, _, lines = starter_file()
    notes = {int(m[1]): m[2] for line in lines if (m := re.match(r"^# \((\d+)\) (.*)$", line))}
    page = soup(site, LAB_URL)
    for block in page.select("div[id^=excerpt-]"):
        markers = [int(m) for span in block.select("span.c1")
                   for m in re.findall(r"\((\d+)\)\s*$", span.get_text())]
        items = block.find_next_sibling("ol").find_all("li", recursive=False)
        assert markers == list(range(1, len(items) + 1))
        for number, item in zip(markers, items, strict=False):
            # A note may continue on the next comment line of the starter.
            assert item.get_text(" ", strip=True).startswith(notes[number].replace("`", "")[:40])


def test_checkpoints_and_traps_are_shown(site):
    _, _, lines = starter_file()
    page = soup(site, LAB_URL)
    checkpoints = text_of(section(page, "what-to-notice"))
    traps = text_of(section(page, "common-misunderstandings"))
    for item in block_items(lines, "checkpoints"):
        assert item in checkpoints
    for item in block_items(lines, "traps"):
        assert item in traps
    assert page.select("#what-to-notice ~ details.question summary"), "checkpoint answers are collapsible"


def test_links_to_handbook_starter_and_neighbours_resolve(site):
    registry, lab, _ = starter_file()
    page = soup(site, LAB_URL)
    links = {a.get_text(strip=True): a["href"] for a in page.find("article").find_all("a", href=True)}
    handbook = page.select_one("a.il-handbook-link")
    handbook_path, anchor = resolve(site, LAB_URL, handbook["href"])
    assert handbook_path == "/handbook/diffusion/" and anchor == lab.handbook_anchor
    target = soup(site, handbook_path).find(id=anchor)
    assert handbook.get_text(strip=True) == target.get_text(strip=True).rstrip("¶"), "named after its section"
    starter_path, _ = resolve(site, LAB_URL, links["Open starter file"])
    assert starter_path == f"{LAB_URL}starter/"
    ordered = sorted(registry.labs, key=lambda item: item.number)
    following = ordered[ordered.index(lab) + 1] if ordered[-1] != lab else None
    next_links = [href for text, href in links.items() if text.startswith("Lab ") and
                  following and text.startswith(following.label)]
    if following:
        assert resolve(site, LAB_URL, next_links[0])[0] == f"/labs/{following.id}/"
    for anchor_link in page.select("a.il-lines"):
        resolve(site, LAB_URL, anchor_link["href"])


def test_edit_button_opens_the_starter(site):
    _, lab, _ = starter_file()
    edit = soup(site, LAB_URL).select_one("a[title='Edit this page']")
    assert edit["href"] == f"{TEST_REPO_URL}/edit/main/{lab.starter}"


def test_starter_page_shows_the_whole_file_and_a_download(site):
    _, lab, lines = starter_file()
    page = soup(site, f"{LAB_URL}starter/")
    shown = [span.get_text().rstrip("\n") for span in page.select("div#starter code > span[id^=__span-]")]
    assert shown == lines
    download = page.find("a", attrs={"download": True})
    path, _ = resolve(site, f"{LAB_URL}starter/", download["href"])
    assert path == f"/{lab.starter}"


def test_handbook_section_lists_its_labs(site):
    registry = load_registry(ROOT)
    for lab in registry.labs:
        page_url = "/" + lab.handbook_page.removesuffix(".md") + "/"
        page = soup(site, page_url)
        boxes = [box for box in page.select("div.admonition.example")
                 if "Labs for this section" in box.get_text()]
        targets = {resolve(site, page_url, a["href"])[0] for box in boxes for a in box.find_all("a")}
        assert f"/labs/{lab.id}/" in targets
        if lab.handbook_anchor:
            heading = page.find(id=lab.handbook_anchor)
            box = heading.find_next_sibling("div")
            assert f"labs/{lab.id}/" in box.find("a")["href"], "the box sits under its heading"


def test_labs_index_lists_every_lab(site):
    registry = load_registry(ROOT)
    page = soup(site, "/labs/")
    rows = page.select("article table tbody tr")
    assert len(rows) == len(registry.labs)
    targets = {resolve(site, "/labs/", row.find("a")["href"])[0] for row in rows}
    assert targets == {f"/labs/{lab.id}/" for lab in registry.labs}


def test_math_is_rendered_to_mathml_without_scripts(site):
    page = soup(site, "/handbook/diffusion/")
    assert page.find("math"), "formulas become MathML at build time"
    assert not page.select(".arithmatex"), "no formula is left for a script to render"
