"""End to end: build the real site and read its first lab as a learner would."""

from __future__ import annotations

import json

from conftest import ROOT, TEST_REPO_URL
from infralens.project import load_project
from infralens.registry import load_registry
from infralens.render import MAX_PEEK_LINES
from pages import numbered_lines, resolve, section, soup, text_of

PROJECT = load_project(ROOT)
LAB = PROJECT.registry.ordered_labs[0].id
LAB_URL = f"/labs/{LAB}/"


def starter_file():
    registry = load_registry(ROOT)
    lab = registry.lab(LAB)
    return registry, lab, (ROOT / lab.starter).read_text(encoding="utf-8").splitlines()


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


def test_each_note_is_on_the_page_next_to_its_line(site):
    page = soup(site, LAB_URL)
    for excerpt in PROJECT.starters[LAB].excerpts:
        assert excerpt.annotations
        for note in excerpt.annotations:
            item = page.find(id=f"excerpt-{excerpt.name}-note-{note.number}")
            assert item is not None, f"note {note.number} of excerpt {excerpt.name}"
            assert item["data-il-line"] == str(note.line)
            before_math = " ".join(plain(note.text.split("$")[0]).split())[:30]
            assert " ".join(item.get_text(" ").split()).startswith(before_math)


def plain(text: str) -> str:
    """Author text as a page shows it, for text without math: code spans lose their backticks."""
    return text.replace("`", "")


def test_checkpoints_ask_and_keep_their_answers_closed(site):
    for lab in PROJECT.registry.labs:
        page = soup(site, f"/labs/{lab.id}/")
        questions = page.select("#what-to-notice ~ details.question")
        starter = PROJECT.starters[lab.id]
        assert len(questions) == len(starter.checkpoints) >= 3
        for details, checkpoint in zip(questions, starter.checkpoints, strict=True):
            assert not details.has_attr("open"), "the answer stays closed until the learner opens it"
            summary = " ".join(details.find("summary").get_text().split())
            assert summary.endswith("?")
            if "$" not in checkpoint.question:
                assert summary == plain(checkpoint.question).replace('"', "'")
            evidence = details.select_one("a.il-lines")
            assert evidence is not None, "the answer points at what settles it"
            resolve(site, f"/labs/{lab.id}/", evidence["href"])
            shown = checkpoint.evidence
            if shown.in_output:  # the answer quotes the printed line, so reading it needs no jump
                assert shown.output_text.strip() in details.get_text(), checkpoint.question
            elif shown.end - shown.start < MAX_PEEK_LINES:
                peek = details.select_one("div[id^=peek-]")
                assert peek is not None, f"{lab.id}: the answer shows lines {shown.start}-{shown.end}"
                assert numbered_lines(peek) == [(number, starter.lines[number - 1])
                                                for number in range(shown.start, shown.end + 1)]


def test_misunderstandings_are_refuted(site):
    page = soup(site, LAB_URL)
    items = [li.get_text(" ", strip=True) for li in section_items(page, "common-misunderstandings")]
    traps = PROJECT.starters[LAB].traps
    assert len(items) == len(traps) >= 2
    for shown, trap in zip(items, traps, strict=True):
        if "$" not in trap.belief + trap.why:
            assert shown.startswith(plain(trap.belief)) and plain(trap.why)[:40] in shown


def section_items(page, heading_id: str) -> list:
    return [li for element in section(page, heading_id) if element.name == "ul" for li in element.find_all("li")]


def test_figures_cover_the_labs_and_every_chapter(site):
    for lab in PROJECT.registry.labs:
        figures = soup(site, f"/labs/{lab.id}/").select("figure.il-figure")
        declared = PROJECT.starters[lab.id].figures
        assert len(figures) == len(declared) >= 1, lab.id
        explorations = [figure for figure in figures if figure.has_attr("data-il-variants")]
        assert len(explorations) == len([figure for figure in declared if figure.control]), lab.id
    for chapter in PROJECT.registry.chapters:
        page = soup(site, "/" + chapter.handbook.removesuffix(".md") + "/")
        assert page.select("figure.il-figure svg[role=img]"), f"{chapter.handbook} shows a lab's figure"


def test_each_figure_is_described_and_has_its_numbers(site):
    for lab in PROJECT.registry.labs:
        url = f"/labs/{lab.id}/"
        for figure in soup(site, url).select("figure.il-figure"):
            svg = figure.select_one(".il-figure-drawing svg")
            title, description = svg.find("title"), svg.find("desc")
            assert title.get_text(strip=True) and description.get_text(strip=True)
            assert svg["aria-labelledby"] == f"{title['id']} {description['id']}"
            assert figure.select(".il-figure-table tbody tr"), "the numbers are there as a table"
            if figure.has_attr("data-il-variants"):
                path, _ = resolve(site, url, figure["data-il-variants"])
                variants = json.loads((site / path.lstrip("/")).read_text(encoding="utf-8"))
                control = figure.select_one(".il-figure-control input, .il-figure-control select")
                assert len(variants["drawings"]) == len(variants["values"]) >= 2
                assert control.has_attr("data-il-values") or control.name == "select"


def test_search_finds_the_explanations_and_code_not_the_printed_numbers(site):
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    text = " ".join(doc["text"] for doc in docs if doc["location"].startswith(LAB_URL.lstrip("/")))
    starter = PROJECT.starters[LAB]
    output_line = next(line for line in PROJECT.outputs[LAB].splitlines() if len(line.strip()) > 20)
    code_line = next(line for line in starter.lines[starter.excerpts[0].start - 1:starter.excerpts[0].end]
                     if len(line.strip()) > 20 and not any(mark in line for mark in "#<>&'\""))
    assert output_line.strip() not in text and code_line.strip() in text
    assert PROJECT.starters[LAB].goal.split(".")[0][:40] in text, "the concept goal is found"
    plain = [note.text for excerpt in starter.excerpts for note in excerpt.annotations
             if not any(mark in note.text for mark in "$`*[")]
    assert plain and plain[0][:30] in text, "the notes beside the code are found"
    assert "data-search-exclude" in str(soup(site, LAB_URL).select_one("#output").attrs)


def test_search_finds_a_figure_by_its_title_and_never_indexes_its_drawing(site):
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    lab = PROJECT.registry.labs[0]
    title = PROJECT.starters[lab.id].figures[0].title
    assert any(doc["location"].startswith(f"labs/{lab.id}/") and title in doc["text"] for doc in docs)
    page = soup(site, f"/labs/{lab.id}/")
    description = page.select_one(".il-figure-drawing svg desc").get_text()
    assert not any(description in doc["text"] for doc in docs), "the drawing is not indexed"
    assert "il-figure-body" not in str(page), "every figure's drawing took the place of its marker"


def test_interview_prep_gathers_every_lab_and_practice_has_every_question(site):
    page = soup(site, "/interview/")
    links = {a["data-il-lab"] for a in page.select("a[data-il-lab]")}
    assert links == {lab.id for lab in PROJECT.registry.labs}
    for a in page.select("a[data-il-lab]"):
        resolve(site, "/interview/", a["href"])
    questions = json.loads((site / "interview" / "questions.json").read_text(encoding="utf-8"))
    assert len(questions) == sum(len(s.checkpoints) for s in PROJECT.starters.values())
    assert all(q["question"].endswith("?") and q["answer"] for q in questions)
    for question in questions:  # the practice page links each question to its lab's checkpoints
        assert resolve(site, "/interview/questions.json", question["href"]) == (f"/labs/{question['lab']}/",
                                                                               "what-to-notice")


def test_practice_shows_the_code_or_output_a_question_is_about(site):
    """Practice shows no excerpt, so a question settled by starter lines carries them, numbered as
    in the starter, and one settled by a printed line carries that line for the answer."""
    questions = {q["id"]: q for q in json.loads((site / "interview" / "questions.json").read_text(encoding="utf-8"))}
    for lab in PROJECT.registry.labs:
        starter = PROJECT.starters[lab.id]
        for index, checkpoint in enumerate(starter.checkpoints, 1):
            question, evidence = questions[f"{lab.id}#{index}"], checkpoint.evidence
            if evidence.in_output:
                assert question["output"] == evidence.output_text
                assert evidence.output_text in PROJECT.outputs[lab.id]
            else:
                assert question["code"]["first"] == evidence.start
                assert question["code"]["lines"] == list(starter.lines[evidence.start - 1:evidence.end])


def test_home_page_starts_people(site):
    page = soup(site, "/")
    start = text_of(section(page, "start-here"))
    assert "numpy" in start and "min" in start
    first = PROJECT.registry.learning_path()[0]
    assert page.select_one(f"#start-here ~ ol a[data-il-lab={first.id}]")
    cards = page.select("div.grid.cards li")
    assert len(cards) == len(PROJECT.registry.chapters)


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


def test_values_cited_from_figure_data_are_shown_as_numbers(site):
    """`{{figure.column|...}}` in a starter's prose reaches the page as the value, never as the reference."""
    for lab in PROJECT.registry.labs:
        assert "{{" not in soup(site, f"/labs/{lab.id}/").get_text(), lab.id


def test_the_home_page_and_how_to_read_give_the_same_reading_times(site):
    minutes = PROJECT.minutes.values()
    said = f"A lab takes {min(minutes)} to {max(minutes)} minutes"
    assert said in " ".join(text_of(soup(site, "/").select("article")).split())
    assert said in " ".join(text_of(soup(site, "/how-to-read/").select("article")).split())


def test_practice_is_the_last_page_a_learner_reaches(site):
    practice = soup(site, "/interview/practice/")
    assert practice.select_one("a.md-footer__link--next") is None, "no Next from practice into the authors' pages"
    assert practice.select_one("a.md-footer__link--prev") is not None
