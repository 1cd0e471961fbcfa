"""A page's search entries come from the cache only when everything the search plugin reads of
the page is the same, they are the plugin's own entries, and the cache is in use only while a
build runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from infralens import search_cache, speedups
from infralens.cache import DiskCache
from material.plugins.search.plugin import SearchIndex
from mkdocs.structure.toc import AnchorLink

CONTENT = ('<h1 id="lab">Lab</h1><p>Intro</p><h2 id="goal">Goal</h2><p>Read the <code>q_sample</code> '
           'line.</p><div data-search-exclude><p>printed numbers</p></div>')


def page(content: str = CONTENT, meta: dict | None = None) -> SimpleNamespace:
    lab = AnchorLink("Lab", "lab", 1)
    lab.children = [AnchorLink("Goal", "goal", 2)]
    return SimpleNamespace(url="labs/x/", title="Lab", content=content, meta=meta or {}, toc=[lab])


def entries(*pages: SimpleNamespace) -> list[dict[str, str]]:
    index = SearchIndex()
    for each in pages:
        index.add_entry_from_context(each)
    return index.entries


def test_cached_entries_are_the_plugins_own(tmp_path: Path):
    plain = entries(page())
    speedups.install(search_cache.patches(), DiskCache(tmp_path))
    try:
        first, second = entries(page()), entries(page())
        other_text = entries(page(CONTENT.replace("Intro", "Introduction")))
        boosted = entries(page(meta={"search": {"boost": 2}}))
    finally:
        speedups.uninstall(search_cache.patches())
    assert first == second == plain and len(plain) == 2
    assert "printed numbers" not in str(plain)
    assert plain not in (other_text, boosted), "a page that reads differently is another entry"


def test_a_second_build_reads_what_the_first_wrote(tmp_path: Path, monkeypatch):
    parsed = []
    add = SearchIndex.add_entry_from_context

    def counted(index: SearchIndex, each: SimpleNamespace) -> None:
        parsed.append(each.url)
        add(index, each)

    monkeypatch.setattr(SearchIndex, "add_entry_from_context", counted)
    built = []
    for _build in range(2):
        speedups.install(search_cache.patches(), DiskCache(tmp_path))
        try:
            built.append(entries(page()))
        finally:
            speedups.uninstall(search_cache.patches())
    assert parsed == ["labs/x/"] and built[0] == built[1]


CODE = '''```python linenums="7" hl_lines="2"
def q_sample(x0, t):  # mixes <signal> & noise
    return alpha_bar[t] ** 0.5 * x0 + (1 - alpha_bar[t]) ** 0.5 * noise


    print("two blank lines above, one space: ' '")
```
'''


def highlighted(markdown_text: str) -> str:
    import markdown

    return markdown.markdown(markdown_text, extensions=["pymdownx.highlight", "pymdownx.superfences"],
                             extension_configs={"pymdownx.highlight": {
                                 "anchor_linenums": True, "line_spans": "__span", "pygments_lang_class": True,
                                 "linenums_style": "pymdownx-inline"}})


def test_code_and_formulas_are_parsed_with_fewer_tags_and_indexed_the_same(tmp_path: Path):
    from infralens.mathml import render_math

    marker = '<a class="il-marker" href="#note-1" aria-label="Note 1">(1)</a>'
    code = highlighted(CODE).replace("</code></pre>", f"{marker}</code></pre>")
    hidden = '<pre><code><span data-search-exclude>secret</span> shown</code></pre>'
    # MathML's thin and wide spaces are text of their own, which the plugin collapses.
    formulas, _ = render_math('<p>Noise <span class="arithmatex">\\(q(x_t) = \\mathcal{N}(x_0,\\; \\beta_t I)\\)'
                              '</span> costs <span class="arithmatex">\\(c\\ \\text{FLOP/byte}\\)</span>.</p>')
    content = (f'<h1 id="lab">Lab</h1><p>Intro</p><h2 id="goal">Goal</h2>{code}<p>After</p>{hidden}'
               f'<h2 id="math">Math</h2>{formulas}')

    lean = search_cache.with_fewer_tags(content)
    assert lean.count("<span") == 1 and "secret" in lean, "only the block with an excluded span keeps its tags"
    assert "<mi>" in content and "<mi>" not in lean and lean.count("<br>") < content.count("<m")

    plain = entries(page(content))
    speedups.install(search_cache.patches(), DiskCache(tmp_path))
    try:
        cached = entries(page(content))
    finally:
        speedups.uninstall(search_cache.patches())
    assert cached == plain
    assert "noise" in plain[1]["text"] and "secret" not in plain[1]["text"] and "(1)" in plain[1]["text"]
    assert "FLOP/byte" in plain[2]["text"] and "β" in plain[2]["text"]


def test_every_page_of_the_site_is_indexed_the_same_with_fewer_tags(site: Path):
    import re

    from material.plugins.search.plugin import Parser

    def sections(html: str) -> list[tuple[str | None, str, str]]:
        parser = Parser()
        parser.feed(html)
        parser.close()
        return [(section.id, "".join(section.title), "".join(section.text)) for section in parser.data]

    code = formulas = 0
    for path in site.rglob("index.html"):
        article = re.search(r"<article\b[^>]*>(.*)</article>", path.read_text(encoding="utf-8"), re.DOTALL)
        if article:
            content = article.group(1)
            assert sections(search_cache.with_fewer_tags(content)) == sections(content), path
            code, formulas = code + ("<pre" in content), formulas + ("<math" in content)
    assert code >= 60 and formulas >= 20, "the lab and starter pages have code; most lab pages, formulas"
