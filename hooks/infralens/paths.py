"""Where things live: the site's URL scheme for generated pages, and the folders of a build.

Every generated page's address is decided here, so that pages, navigation, problem reports and
the command line agree on it. Page paths are docs-relative and use `/` on every platform.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig

from .model import Chapter, Lab

TEMPLATES = Path(__file__).parent / "templates"  # the package's page and starter templates
HOW_TO_READ = "how-to-read.md"  # the site-wide page on reading a lab, linked from every lab
LABS_INDEX = "labs/index.md"
LEARNING_PATH = "labs/path.md"
INTERVIEW = "interview/index.md"
PRACTICE = "interview/practice.md"
PRACTICE_QUESTIONS = "interview/questions.json"  # beside the practice page, which fetches it
HOME = "index.md"
HANDBOOK_INDEX = "handbook/index.md"
# The anchors of the headings under which the site inserts its generated lists, by page.
GENERATED_SECTIONS = {HOME: ("start-here", "chapters", "your-progress"), HANDBOOK_INDEX: ("chapters",)}
OUTPUT_BLOCK = "output"  # the id of the recorded output's code block on a lab page


def lab_uri(lab: Lab) -> str:
    return f"labs/{lab.id}/index.md"


def chapter_uri(chapter: Chapter) -> str:
    """The chapter's list of labs; chapter and lab ids share the labs/ URL space."""
    return f"labs/{chapter.id}/index.md"


def starter_page_uri(lab: Lab) -> str:
    return f"labs/{lab.id}/starter.md"


def starter_download_uri(lab: Lab) -> str:
    return lab.starter  # published at the same path it has in the repository: code/...


def output_path(starter: str) -> str:
    """Where the starter's recorded output lives: next to it, as <name>.output.txt."""
    return starter.removesuffix(".py") + ".output.txt"


def figure_data_path(starter: str) -> str:
    """Where the data of the starter's figures is recorded: next to it, as <name>.figures.json."""
    return starter.removesuffix(".py") + ".figures.json"


def planted_bugs_path(starter: str) -> str:
    """Where the lab's planted bugs live: next to its starter, as <name>.bugs.yaml."""
    return starter.removesuffix(".py") + ".bugs.yaml"


def recorded_lines_path(starter: str) -> str:
    """Where the code digest of the recording and the text of the lines a starter's comments point
    at are recorded: <name>.lines.json."""
    return starter.removesuffix(".py") + ".lines.json"


def figure_variants_uri(lab: Lab, figure: str) -> str:
    """The file an exploration's other drawings are fetched from when a learner moves its control."""
    return f"labs/{lab.id}/figures/{figure}.json"


def relative(target: str, source: str) -> str:
    """A Markdown link from the page `source` to the file `target` (both docs-relative)."""
    return posixpath.relpath(target, posixpath.dirname(source) or ".")


def page_url(uri: str, directory_urls: bool) -> str:
    """The site URL MkDocs gives the page at `uri` (docs-relative), with or without `use_directory_urls`."""
    stem = uri.removesuffix(".md")
    if not directory_urls:
        return stem + ".html"
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def url_relative(target: str, source: str, directory_urls: bool) -> str:
    """A link, in a file served at `source` (not a page: data a page fetches), to the page `target`:
    the URL MkDocs gives that page, since nothing converts links inside data files."""
    url = page_url(target, directory_urls)
    link = posixpath.relpath(url or ".", posixpath.dirname(source) or ".")
    return link + "/" if url.endswith("/") or not url else link


def line_anchor(block_id: str, line: int) -> str:
    """The id pymdownx.highlight gives a numbered line of the code block `block_id`."""
    return f"__codelineno-{block_id}-{line}"


def excerpt_id(name: str) -> str:
    """The id of an excerpt's code block on its lab page."""
    return f"excerpt-{name}"


@dataclass(frozen=True)
class SitePaths:
    """The folders of one build, from the MkDocs config: project root, docs and site."""

    root: Path
    docs_dir: Path
    site_dir: Path

    @classmethod
    def from_config(cls, config: MkDocsConfig) -> SitePaths:
        return cls(Path(config.config_file_path).parent, Path(config.docs_dir), Path(config.site_dir))

    def docs_from_root(self) -> str:
        """The docs folder relative to the project root, as edit links join it: `docs`."""
        return posixpath.relpath(self.docs_dir.as_posix(), self.root.as_posix())

    def page_source(self, src_uri: str) -> str:
        """How a problem names a page an author wrote: `docs/handbook/x.md`."""
        return posixpath.join(self.docs_dir.name, src_uri)
